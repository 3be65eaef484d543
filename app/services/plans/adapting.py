"""Adapting followed plans after the nightly sync: a proposal, never a change.

For each plan with an approved revision, the workouts up to today are matched to the activities
(:mod:`app.services.plans.follow`), today's context is read (:mod:`app.services.plans.athlete`)
and :func:`app.coach.adaptation.adapt` says whether the plan still fits — a missed key session
moved once, the guardrails re-run on the loads actually done, HRV and readiness. A change
becomes a PROPOSED revision of origin ``adaptation`` (with its reasons in ``change_set``) that
the owner approves or rejects on the Plan page like any other; while one is pending, no second
is made. Nothing reaches the calendar or the watch before approval — unless the owner chose, in
Settings → Coach → Guardrails, that a proposal which only eases training (every future workout
on its day with no more load, none added) applies by itself; it is then approved at once, and
kept in the revisions like any other.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.coach.adaptation import adapt
from app.coach.estimate import estimate_plan
from app.coach.guardrails import GuardrailLimits
from app.coach.messages import describe_adaptation
from app.coach.plans import Plan
from app.models import PlannedWorkout, PlanRevision
from app.services.metrics.recompute import owner_today
from app.services.plans.athlete import guardrail_inputs
from app.services.plans.follow import match_rows
from app.services.plans.limits import auto_approve_easier, load_limits
from app.services.plans.revisions import Checked, Stored, _store, approve


def _pending(session: Session, plan_id: int) -> bool:
    return (
        session.execute(
            select(PlanRevision.id).where(
                PlanRevision.plan_id == plan_id,
                PlanRevision.state == "PROPOSED",
                PlanRevision.origin == "adaptation",
            )
        ).first()
        is not None
    )


def propose_adaptations(
    sessions: sessionmaker[Session],
    *,
    today: date | None = None,
    limits: GuardrailLimits | None = None,
) -> list[Stored]:
    """A PROPOSED revision for every followed plan that no longer fits (see the module
    docstring); returns what was stored."""
    stored: list[Stored] = []
    easier: list[int] = []
    with sessions.begin() as session:
        today = today or owner_today(session)
        approved = session.scalars(
            select(PlanRevision).where(PlanRevision.state == "APPROVED").order_by(PlanRevision.id)
        ).all()
        if not approved:
            return stored
        thresholds, context = guardrail_inputs(session, today=today)
        limits = limits or load_limits(session)
        auto = auto_approve_easier(session)
        for revision in approved:
            if _pending(session, revision.plan_id):
                continue
            plan = Plan.model_validate(revision.content)
            estimates = estimate_plan(plan, thresholds)
            rows = session.scalars(
                select(PlannedWorkout).where(
                    PlannedWorkout.plan_id == revision.plan_id, PlannedWorkout.day <= today
                )
            ).all()
            matched, _ = match_rows(session, list(rows), today)
            proposal = adapt(plan, estimates, matched, context, limits)
            if proposal is None:
                continue
            reasons = [
                {
                    "code": r.code,
                    "params": dict(r.params),
                    "workout_id": r.workout_id,
                    "text": describe_adaptation(r.code, dict(r.params)),
                }
                for r in proposal.reasons
            ]
            made = _store(
                session,
                Checked(proposal.plan, proposal.report),
                origin="adaptation",
                plan_id=revision.plan_id,
                change_set={
                    "adaptation": {"reasons": reasons, "easier_only": proposal.easier_only}
                },
            )
            stored.append(made)
            if auto and proposal.easier_only and not made.blocked:
                easier.append(made.revision_id)
    # The owner let changes that only ease training apply by themselves (Settings → Coach).
    for revision_id in easier:
        approve(sessions, revision_id, today=today)
    return stored
