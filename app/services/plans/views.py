"""Plans read back: the list (plans, revisions, calendar workouts with their ids and states),
one plan, a revision's diff against the approved one, and the export (the plan's JSON in the
format, and a Markdown block with the context to paste into an outside chat)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.coach.describe import describe_workout
from app.coach.diff import diff
from app.coach.estimate import estimate_plan, week_totals
from app.coach.plans import Plan
from app.i18n import _, format_number
from app.models import PlannedWorkout, PlanRevision, TrainingPlan
from app.services.plans import memo
from app.services.plans.athlete import guardrail_inputs
from app.services.plans.revisions import PlanError, finding_sentences


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def revision_summary(revision: PlanRevision) -> dict[str, Any]:
    report = revision.report or {}
    findings = report.get("findings", [])
    return {
        "id": revision.id,
        "plan_id": revision.plan_id,
        "number": revision.number,
        "state": revision.state,
        "origin": revision.origin,
        "blocked": revision.blocked,
        "blocks_accepted": revision.blocks_accepted,
        "adjustments": sum(1 for f in findings if f["severity"] == "adjust"),
        "blocks": sum(1 for f in findings if f["severity"] == "block"),
        "reports": sum(1 for f in findings if f["severity"] == "report"),
        "base_revision_id": revision.base_revision_id,
        "created_at": _iso(revision.created_at),
        "approved_at": _iso(revision.approved_at),
        "decided_at": _iso(revision.decided_at),
    }


def workout_row(row: PlannedWorkout) -> dict[str, Any]:
    return {
        "id": row.id,
        "workout_id": row.workout_id,
        "revision_id": row.revision_id,
        "date": row.day.isoformat(),
        "sport": row.sport,
        "name": row.name,
        "key": row.key,
        "duration_s": round(row.duration_s, 1),
        "distance_m": None if row.distance_m is None else round(row.distance_m, 1),
        "load": round(row.load, 1),
        "load_model": row.load_model,
        "state": row.state,
        "activity_id": row.activity_id,
        "in_target": (
            round((row.in_target_s or 0.0) / row.targeted_s, 3) if row.targeted_s else None
        ),
    }


def _plan_dict(session: Session, plan: TrainingPlan, *, workouts: bool) -> dict[str, Any]:
    revisions = session.execute(
        select(PlanRevision).where(PlanRevision.plan_id == plan.id).order_by(PlanRevision.number)
    ).scalars()
    found: dict[str, Any] = {
        "id": plan.id,
        "title": plan.title,
        "goal": plan.goal_summary,
        "created_at": _iso(plan.created_at),
        "updated_at": _iso(plan.updated_at),
        "revisions": [revision_summary(r) for r in revisions],
    }
    if workouts:
        found["workouts"] = [
            workout_row(row)
            for row in session.execute(
                select(PlannedWorkout)
                .where(PlannedWorkout.plan_id == plan.id)
                .order_by(PlannedWorkout.day, PlannedWorkout.workout_id)
            ).scalars()
        ]
    return found


def list_plans(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    """Every plan, newest first, with its revisions and calendar workouts."""
    with sessions() as session:
        plans = session.execute(
            select(TrainingPlan).order_by(TrainingPlan.updated_at.desc(), TrainingPlan.id.desc())
        ).scalars()
        return [_plan_dict(session, plan, workouts=True) for plan in plans]


def show_plan(sessions: sessionmaker[Session], plan_id: int) -> dict[str, Any]:
    """One plan: its revisions (each with its report), the calendar workouts, and the newest
    revision's plan in the format."""
    with sessions() as session:
        plan = session.get(TrainingPlan, plan_id)
        if plan is None:
            raise PlanError("not_found")
        found = _plan_dict(session, plan, workouts=True)
        rows = session.execute(
            select(PlanRevision)
            .where(PlanRevision.plan_id == plan_id)
            .order_by(PlanRevision.number)
        ).scalars()
        for summary, revision in zip(found["revisions"], rows, strict=True):
            summary["findings"] = finding_sentences(revision.report)
        return found


def revision_plan(sessions: sessionmaker[Session], revision_id: int) -> tuple[dict, Plan]:
    with sessions() as session:
        revision = session.get(PlanRevision, revision_id)
        if revision is None:
            raise PlanError("not_found")
        return revision_summary(revision) | {"report": revision.report}, Plan.model_validate(
            revision.content
        )


_DIFFS: memo.Recent[tuple[Any, int, int], list[dict[str, Any]]] = memo.Recent(16)


def revision_diff(session: Session, revision: PlanRevision) -> list[dict[str, Any]] | None:
    """What the revision changes against its plan's approved revision (``None`` when there is
    none, or it is the approved one). Two stored revisions' difference never changes: it is
    worked out once."""
    approved = session.execute(
        select(PlanRevision.id).where(
            PlanRevision.plan_id == revision.plan_id, PlanRevision.state == "APPROVED"
        )
    ).scalar_one_or_none()
    if approved is None or approved == revision.id:
        return None

    def changes() -> list[dict[str, Any]]:
        old = memo.revision_plan(session, approved)
        new = memo.revision_plan(session, revision.id)
        return [change.as_dict() for change in diff(old, new)]

    return _DIFFS.get((memo.database_of(session), approved, revision.id), changes)


def export_json(plan: Plan) -> str:
    """The plan in the import/export format (``domestique plan import`` reads it back)."""
    return plan.model_dump_json(indent=2, exclude_defaults=False) + "\n"


def export_markdown(sessions: sessionmaker[Session], revision_id: int) -> str:
    """A Markdown block to paste into an outside chat: the athlete's numbers, the plan week by
    week with Domestique's estimates, the guardrails' findings, and what to answer with."""
    summary, plan = revision_plan(sessions, revision_id)
    with sessions() as session:
        thresholds, context = guardrail_inputs(session)
    estimates = estimate_plan(plan, thresholds)
    longest = max(context.longest_run_m.values(), default=None)
    lines = [
        f"## {plan.title}",
        "",
        _("Goal: %(goal)s", goal=plan.goal.name)
        + (f" ({plan.goal.event_date.isoformat()})" if plan.goal.event_date else ""),
        _("Revision %(number)s, %(state)s", number=summary["number"], state=summary["state"]),
        "",
        "### " + _("Athlete today (%(day)s)", day=context.today.isoformat()),
        "",
        f"- CTL {format_number(round(context.ctl, 1))} · "
        f"ATL {format_number(round(context.atl, 1))}",
    ]
    if longest is not None:
        lines.append(
            "- "
            + _(
                "Longest run of the last 30 days: %(km)s km",
                km=format_number(round(longest / 1000, 1)),
            )
        )
    for name, value in (
        ("FTP", thresholds.ftp_w),
        ("LTHR", thresholds.lthr_bpm),
        ("HRmax", thresholds.hr_max_bpm),
        ("HRrest", thresholds.hr_rest_bpm),
        ("threshold pace s/km", thresholds.threshold_pace_s_per_km),
    ):
        if value is not None:
            lines.append(f"- {name} {format_number(round(value))}")
    lines += ["", "### " + _("Weeks"), ""]
    totals = week_totals(plan, estimates)
    by_week: dict[date, list] = {}
    for workout in plan.sorted_workouts():
        index = plan.week_index(workout.date)
        if index is not None:
            by_week.setdefault(plan.weeks[index].start, []).append(workout)
    for week, total in zip(plan.weeks, totals, strict=True):
        lines.append(
            f"#### {week.start.isoformat()} · {week.focus} · "
            + _(
                "%(hours)s h, load %(load)s",
                hours=format_number(round(total.duration_s / 3600, 1)),
                load=format_number(round(total.load)),
            )
        )
        if week.rationale:
            lines.append(week.rationale)
        for workout in by_week.get(week.start, []):
            text = describe_workout(workout, estimates.get(workout.id))
            lines.append(f"- {workout.date.isoformat()} {workout.sport} **{workout.name}**: {text}")
        lines.append("")
    findings = finding_sentences(summary["report"])
    if findings:
        lines += ["### " + _("Plan check"), ""]
        lines += [f"- [{f['severity']}] {f['sentence']}" for f in findings]
        lines.append("")
    lines.append(
        _(
            "Answer with the whole plan as JSON in Domestique's plan format "
            "(`domestique plan example` shows one; the schema is %(schema)s).",
            schema="urn:domestique:schema:plan:1",
        )
    )
    return "\n".join(lines) + "\n"
