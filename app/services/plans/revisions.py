"""Plans stored as revisions: parse and check a plan file, import it as a PROPOSED revision,
make a revision from a change set, approve or reject a revision (see the package docstring).

Every writing function takes a sessionmaker and owns its unit of work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.coach import changes as change_sets
from app.coach.estimate import PlanEstimates, estimate_plan
from app.coach.guardrails import GuardrailLimits, GuardrailReport, check_plan
from app.coach.llm_schema import errors_from_validation
from app.coach.messages import describe_error, describe_finding
from app.coach.plans import Plan
from app.i18n import _
from app.models import PlannedWorkout, PlanRevision, TrainingPlan
from app.services.plans import memo
from app.services.plans.athlete import guardrail_inputs
from app.services.plans.limits import load_limits

MAX_PLAN_BYTES = 4 * 1024 * 1024
"""A 104-week plan of 1,500 workouts is well under 2 MB of JSON."""


class PlanInvalid(ValueError):
    """The text is not a plan in the format; ``problems`` say where and why."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p['where']}: {p['message']}" for p in problems))


class PlanError(Exception):
    """A request about a stored plan that cannot be done: ``code`` says which."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(code)


def error_sentence(code: str, **params: Any) -> str:
    """The owner's sentence for a :class:`PlanError`'s code."""
    if code == "not_found":
        return _("There is no such plan or revision.")
    if code == "not_proposed":
        return _(
            "Only a proposed revision can be approved or rejected; this one is %(state)s.",
            state=params.get("state", ""),
        )
    if code == "blocked":
        return _(
            "The plan check blocked this revision. Read the findings, change the plan, or "
            "approve it anyway by accepting the blocks."
        )
    if code == "no_base":
        return _("This plan has no revision to change yet.")
    if code == "change_set_invalid":
        return _("The change cannot be applied: %(reason)s", reason=params.get("reason", ""))
    return _("The plan request failed (%(code)s).", code=code)


def missing_file_sentence() -> str:
    return _("Choose a plan file (JSON) to import.")


# --- parsing and checking -------------------------------------------------------------------


def parse_plan(text: str | bytes) -> Plan:
    """The plan in ``text`` (JSON in the format), or :class:`PlanInvalid` with every problem
    in the owner's language."""
    if len(text) > MAX_PLAN_BYTES:
        raise PlanInvalid(
            [
                {
                    "where": "",
                    "code": "too_large",
                    "message": _(
                        "The file is larger than %(mb)s MB; a plan is much smaller.",
                        mb=MAX_PLAN_BYTES // (1024 * 1024),
                    ),
                }
            ]
        )
    try:
        return Plan.model_validate_json(text)
    except ValidationError as error:
        problems = []
        for item in errors_from_validation(error):
            where = ".".join(str(part) for part in item.loc)
            if item.code == "json_invalid":
                message = _("The file is not JSON: %(reason)s", reason=item.message)
            else:
                message = describe_error(item.code, item.params, fallback=item.message)
            problems.append({"where": where, "code": item.code, "message": message})
        raise PlanInvalid(problems) from None


@dataclass(frozen=True)
class Checked:
    """A plan as the guardrails leave it, its estimates and the findings."""

    submitted: Plan
    report: GuardrailReport

    @property
    def plan(self) -> Plan:
        return self.report.plan

    @property
    def estimates(self) -> PlanEstimates:
        return self.report.estimates

    @property
    def blocked(self) -> bool:
        return self.report.blocked

    @property
    def exit_code(self) -> int:
        return self.report.exit_code

    def report_json(self) -> dict[str, Any]:
        return report_json(self.report)


def report_json(report: GuardrailReport) -> dict[str, Any]:
    return {
        "blocked": report.blocked,
        "adjusted": report.adjusted,
        "passes": report.passes,
        "findings": [finding.as_dict() for finding in report.findings],
    }


def finding_sentences(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored report's findings with their sentence in the current language."""
    return [
        {**finding, "sentence": describe_finding(finding["code"], finding["params"])}
        for finding in report.get("findings", [])
    ]


def _check(
    session: Session, plan: Plan, today: date | None, limits: GuardrailLimits | None
) -> Checked:
    thresholds, context = guardrail_inputs(session, today=today)
    limits = limits or load_limits(session)
    report = check_plan(plan, estimate_plan(plan, thresholds), context, limits)
    return Checked(plan, report)


def check(
    sessions: sessionmaker[Session],
    plan: Plan,
    *,
    today: date | None = None,
    limits: GuardrailLimits | None = None,
) -> Checked:
    """The guardrails on ``plan`` against the owner's data; nothing is stored."""
    with sessions() as session:
        return _check(session, plan, today, limits)


# --- storing ---------------------------------------------------------------------------------


def goal_summary(plan: Plan) -> str:
    goal = plan.goal
    parts = [goal.name, goal.sport]
    if goal.event_date is not None:
        parts.append(goal.event_date.isoformat())
    if goal.target:
        parts.append(goal.target)
    return " · ".join(parts)


def content_json(plan: Plan) -> dict[str, Any]:
    return json.loads(plan.model_dump_json())


@dataclass(frozen=True)
class Stored:
    plan_id: int
    revision_id: int
    number: int
    blocked: bool
    findings: int


def _approved(session: Session, plan_id: int) -> PlanRevision | None:
    return session.execute(
        select(PlanRevision).where(
            PlanRevision.plan_id == plan_id, PlanRevision.state == "APPROVED"
        )
    ).scalar_one_or_none()


def _store(
    session: Session,
    checked: Checked,
    *,
    origin: str,
    plan_id: int | None,
    change_set: dict[str, Any] | None = None,
    mission_id: int | None = None,
) -> Stored:
    now = datetime.now(UTC)
    if plan_id is None:
        row = TrainingPlan(
            title=checked.plan.title,
            goal_summary=goal_summary(checked.plan),
            mission_id=mission_id,
            updated_at=now,
        )
        session.add(row)
        session.flush()
    else:
        row = session.get(TrainingPlan, plan_id, with_for_update=True)
        if row is None:
            raise PlanError("not_found")
        row.title, row.goal_summary, row.updated_at = (
            checked.plan.title,
            goal_summary(checked.plan),
            now,
        )
    number = (
        session.execute(
            select(func.coalesce(func.max(PlanRevision.number), 0)).where(
                PlanRevision.plan_id == row.id
            )
        ).scalar_one()
        + 1
    )
    base = _approved(session, row.id)
    revision = PlanRevision(
        plan_id=row.id,
        number=number,
        state="PROPOSED",
        origin=origin,
        content=content_json(checked.plan),
        report=checked.report_json(),
        blocked=checked.blocked,
        change_set=change_set,
        base_revision_id=None if base is None else base.id,
        created_at=now,
    )
    session.add(revision)
    session.flush()
    return Stored(row.id, revision.id, number, checked.blocked, len(checked.report.findings))


def import_plan(
    sessions: sessionmaker[Session],
    plan: Plan,
    *,
    plan_id: int | None = None,
    origin: str = "import",
    today: date | None = None,
    limits: GuardrailLimits | None = None,
    mission_id: int | None = None,
) -> Stored:
    """Check ``plan`` and store it as a PROPOSED revision with its report: of a new plan (the
    plan of ``mission_id`` when a mission seeded it), or of ``plan_id`` (compared with that
    plan's approved revision)."""
    with sessions.begin() as session:
        checked = _check(session, plan, today, limits)
        return _store(session, checked, origin=origin, plan_id=plan_id, mission_id=mission_id)


def apply_change_set(
    sessions: sessionmaker[Session],
    plan_id: int,
    change_set: change_sets.ChangeSet,
    *,
    origin: str = "chat",
    today: date | None = None,
    limits: GuardrailLimits | None = None,
) -> Stored:
    """Apply ``change_set`` to the plan's approved revision (its newest revision when none is
    approved yet) and store the result as a new PROPOSED revision, checked by the guardrails.
    Raises :class:`PlanError` (``not_found``, ``no_base``, ``change_set_invalid``)."""
    with sessions.begin() as session:
        if session.get(TrainingPlan, plan_id) is None:
            raise PlanError("not_found")
        base = (
            _approved(session, plan_id)
            or session.execute(
                select(PlanRevision)
                .where(PlanRevision.plan_id == plan_id)
                .order_by(PlanRevision.number.desc())
                .limit(1)
            ).scalar_one_or_none()
        )
        if base is None:
            raise PlanError("no_base")
        thresholds, context = guardrail_inputs(session, today=today)
        try:
            changed = change_sets.apply(
                Plan.model_validate(base.content), change_set, today=context.today
            )
        except change_sets.ChangeSetInvalid as error:
            raise PlanError("change_set_invalid", reason=str(error)) from None
        limits = limits or load_limits(session)
        report = check_plan(changed, estimate_plan(changed, thresholds), context, limits)
        return _store(
            session,
            Checked(changed, report),
            origin=origin,
            plan_id=plan_id,
            change_set=json.loads(change_set.model_dump_json()),
        )


def _proposed(session: Session, revision_id: int) -> PlanRevision:
    revision = session.get(PlanRevision, revision_id, with_for_update=True)
    if revision is None:
        raise PlanError("not_found")
    if revision.state != "PROPOSED":
        raise PlanError("not_proposed", state=revision.state)
    return revision


def approve(
    sessions: sessionmaker[Session],
    revision_id: int,
    *,
    accept_blocks: bool = False,
    today: date | None = None,
) -> Stored:
    """Approve a PROPOSED revision. A blocked one only with ``accept_blocks`` (the owner read
    the blocks and takes them; recorded on the revision). The plan's previous APPROVED revision
    becomes SUPERSEDED; the calendar follows the new one, keeping each workout's state by its
    stable id; another plan's approved revision is superseded too (one plan is followed at a
    time) and its workouts from today on leave the calendar."""
    with sessions.begin() as session:
        revision = _proposed(session, revision_id)
        if revision.blocked and not accept_blocks:
            raise PlanError("blocked")
        now = datetime.now(UTC)
        thresholds, context = guardrail_inputs(session, today=today)
        others = session.execute(
            select(PlanRevision.id, PlanRevision.plan_id).where(PlanRevision.state == "APPROVED")
        ).all()
        for other_id, other_plan in others:
            session.execute(
                update(PlanRevision)
                .where(PlanRevision.id == other_id)
                .values(state="SUPERSEDED", decided_at=now)
            )
            if other_plan != revision.plan_id:
                session.execute(
                    delete(PlannedWorkout).where(
                        PlannedWorkout.plan_id == other_plan,
                        PlannedWorkout.day >= context.today,
                    )
                )
        session.flush()
        revision.state = "APPROVED"
        revision.approved_at = revision.decided_at = now
        revision.blocks_accepted = revision.blocked
        plan = Plan.model_validate(revision.content)
        _follow(session, revision, plan, estimate_plan(plan, thresholds), now)
        session.execute(
            update(TrainingPlan).where(TrainingPlan.id == revision.plan_id).values(updated_at=now)
        )
        return Stored(
            revision.plan_id,
            revision.id,
            revision.number,
            revision.blocked,
            len(revision.report.get("findings", [])),
        )


def _follow(
    session: Session,
    revision: PlanRevision,
    plan: Plan,
    estimates: PlanEstimates,
    now: datetime,
) -> None:
    """``planned_workout`` mirrors ``plan``: rows updated in place by stable id (their state
    and matched activity kept; their time in target forgotten when the steps changed), new ones
    PLANNED, workouts no longer planned removed."""
    existing = {
        row.workout_id: row
        for row in session.execute(
            select(PlannedWorkout).where(PlannedWorkout.plan_id == revision.plan_id)
        ).scalars()
    }
    for workout in plan.workouts:
        estimate = estimates[workout.id]
        values = {
            "revision_id": revision.id,
            "day": workout.date,
            "sport": workout.sport,
            "name": workout.name,
            "key": workout.key or workout.race,
            "duration_s": estimate.duration_s,
            "distance_m": estimate.distance_m,
            "load": estimate.load,
            "load_model": estimate.load_model,
            "assumed_steps": estimate.assumed_steps,
            "updated_at": now,
        }
        row = existing.pop(workout.id, None)
        if row is not None and row.targeted_s is not None and row.revision_id != revision.id:
            before = memo.revision_workouts(session, row.revision_id).get(workout.id)
            if before is None or before.structure != workout.structure:
                values |= {"in_target_s": None, "targeted_s": None}  # worked out again
        if row is None:
            session.add(
                PlannedWorkout(
                    plan_id=revision.plan_id, workout_id=workout.id, state="PLANNED", **values
                )
            )
        else:
            for name, value in values.items():
                setattr(row, name, value)
    for row in existing.values():
        session.delete(row)


def reject(sessions: sessionmaker[Session], revision_id: int) -> Stored:
    """Reject a PROPOSED revision (it is kept, REJECTED; the calendar does not change)."""
    with sessions.begin() as session:
        revision = _proposed(session, revision_id)
        revision.state = "REJECTED"
        revision.decided_at = datetime.now(UTC)
        return Stored(
            revision.plan_id,
            revision.id,
            revision.number,
            revision.blocked,
            len(revision.report.get("findings", [])),
        )
