"""The read model of the Plan page: the followed plan week by week with Domestique's
estimates and each workout's state, the proposed revisions with their guardrail report and
their differences from the approved revision; and the upload that imports a plan file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from babel import dates
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import i18n
from app.coach.describe import describe_workout, sport_words
from app.coach.estimate import estimate_plan, week_totals
from app.coach.plans import WEEKDAYS, Plan
from app.i18n import _, format_date
from app.models import PlannedWorkout, PlanRevision, TrainingPlan
from app.services.plans import revisions
from app.services.plans.athlete import thresholds_on
from app.services.plans.views import revision_diff

MAX_PROPOSED_SHOWN = 5


@dataclass(frozen=True)
class WorkoutLine:
    workout_id: str
    day: date
    sport: str
    sport_label: str
    name: str
    purpose: str
    key: bool
    words: str
    state: str | None
    day_label: str = ""
    state_label: str = ""


@dataclass(frozen=True)
class WeekView:
    start: date
    focus: str
    rationale: str
    hours: float
    load: float
    workouts: list[WorkoutLine]
    focus_label: str = ""


@dataclass(frozen=True)
class ProposedView:
    revision_id: int
    plan_id: int
    number: int
    origin: str
    title: str
    created_at: Any
    blocked: bool
    adjustments: list[str]
    blocks: list[str]
    reports: list[str]
    changes: list[str] | None
    """What it changes against the approved revision; ``None`` when there is none."""
    origin_label: str = ""


@dataclass
class PlanPage:
    """``ask`` is the "ask the coach" part of the page (:mod:`app.services.coach.ask`)."""

    current_plan_id: int | None = None
    current_revision_id: int | None = None
    title: str = ""
    goal: str = ""
    weeks: list[WeekView] = field(default_factory=list)
    weeks_before: int = 0
    """Weeks of the followed plan before the ones shown (the calendar has them)."""
    weeks_after: int = 0
    proposed: list[ProposedView] = field(default_factory=list)
    import_error: list[str] = field(default_factory=list)
    ask: Any = None
    chat: Any = None
    """The plan chat's last exchange (:class:`app.services.plans.chat.ChatOutcome`)."""
    draft: dict[str, Any] | None = None
    """The plan being drafted (``WorkRunner.last_plan_draft``)."""
    sports: list[tuple[str, str]] = field(default_factory=list)
    event_types: list[tuple[str, str]] = field(default_factory=list)
    weekdays: list[tuple[str, str]] = field(default_factory=list)


def focus_words(focus: str) -> str:
    names = {
        "base": _("Base"),
        "build": _("Build"),
        "peak": _("Peak"),
        "taper": _("Taper"),
        "recovery": _("Recovery"),
    }
    return names.get(focus, focus)


def state_words(state: str) -> str:
    names = {
        "PLANNED": _("Planned"),
        "PUSHED": _("On the watch"),
        "DONE": _("Done"),
        "SKIPPED": _("Skipped"),
        "MISSED": _("Missed"),
        "PROPOSED": _("Proposed"),
        "APPROVED": _("Approved"),
        "REJECTED": _("Rejected"),
        "SUPERSEDED": _("Superseded"),
    }
    return names.get(state, state)


def origin_words(origin: str) -> str:
    names = {
        "import": _("imported file"),
        "llm": _("drafted by the coach"),
        "chat": _("changed in the chat"),
        "edit": _("edited on this page"),
        "adaptation": _("adapted to your training"),
    }
    return names.get(origin, origin)


def day_words(day: date) -> str:
    """``Mon, Jan 4`` / ``1월 4일 (월)``."""
    return dates.format_skeleton("MMMEd", day, locale=i18n.current_locale.get())


EVENT_TYPES_OFFERED = (
    "other",
    "run_5k",
    "run_10k",
    "half_marathon",
    "marathon",
    "ultramarathon",
    "gran_fondo",
    "triathlon_olympic",
    "triathlon_half",
)


def event_type_words(kind: str) -> str:
    names = {
        "other": _("No event (fitness)"),
        "run_5k": _("5 k run"),
        "run_10k": _("10 k run"),
        "half_marathon": _("Half marathon"),
        "marathon": _("Marathon"),
        "ultramarathon": _("Ultramarathon"),
        "gran_fondo": _("Gran fondo"),
        "triathlon_olympic": _("Olympic triathlon"),
        "triathlon_half": _("Half-distance triathlon"),
    }
    return names.get(kind, kind)


def weekday_names() -> list[tuple[str, str]]:
    """``(mon, Mon)`` … in the owner's language, Monday first."""
    names = dates.get_day_names("abbreviated", locale=i18n.current_locale.get())
    return [(key, names[index]) for index, key in enumerate(WEEKDAYS)]


def _day(value: str | None) -> str:
    return "" if value is None else format_date(date.fromisoformat(value), "medium")


def change_words(change: dict[str, Any]) -> str:
    """One difference between two revisions (:func:`app.coach.diff.diff`) in words."""
    kind = change["kind"]
    if kind == "plan_changed":
        parts = {
            "title": _("the title"),
            "goal": _("the goal"),
            "availability": _("the availability"),
            "constraints": _("the constraints"),
            "health": _("the health reports"),
        }
        return _("Changed %(part)s of the plan.", part=parts.get(change["field"], change["field"]))
    if kind in ("week_added", "week_removed", "week_changed"):
        week = _day(change["week_start"])
        if kind == "week_added":
            return _("Added the week of %(day)s.", day=week)
        if kind == "week_removed":
            return _("Removed the week of %(day)s.", day=week)
        return _("Changed the week of %(day)s.", day=week)
    if kind == "workout_added":
        name = change["new"]["name"]
        return _("Added %(name)s on %(day)s.", name=name, day=_day(change["day"]))
    if kind == "workout_removed":
        name = change["old"]["name"]
        return _("Removed %(name)s on %(day)s.", name=name, day=_day(change["day"]))
    if kind == "workout_moved":
        return _(
            "Moved %(id)s from %(old)s to %(new)s.",
            id=change["workout_id"],
            old=_day(change["old"]),
            new=_day(change["new"]),
        )
    return _(
        "Changed %(id)s on %(day)s (%(field)s).",
        id=change["workout_id"],
        day=_day(change["day"]),
        field=change["field"],
    )


WEEKS_BEFORE = 1
WEEKS_AHEAD = 8
"""The Plan page shows last week and the next eight; the calendar has every week."""


_PLANS: dict[int, Plan] = {}
"""Validated plans by revision id (a revision's content never changes after it is stored)."""


def _plan_of(revision: PlanRevision) -> Plan:
    """A revision's plan, validated once: a two-year plan takes longer to validate than the page
    takes to render."""
    plan = _PLANS.get(revision.id)
    if plan is None:
        if len(_PLANS) >= 8:
            _PLANS.pop(next(iter(_PLANS)))
        plan = _PLANS[revision.id] = Plan.model_validate(revision.content)
    return plan


def _window(plan: Plan, today: date) -> range:
    """The indexes of the weeks shown: from last week to eight ahead, or the first weeks of a
    plan that has not started, or the last ones of a plan that has ended."""
    monday = today - timedelta(days=today.weekday())
    starts = [week.start for week in plan.weeks]
    first = next(
        (
            i
            for i, s in enumerate(starts)
            if s + timedelta(days=7) > monday - timedelta(weeks=WEEKS_BEFORE)
        ),
        max(0, len(starts) - WEEKS_AHEAD),
    )
    return range(first, min(len(starts), first + WEEKS_BEFORE + WEEKS_AHEAD))


def _weeks(
    session: Session, revision: PlanRevision, today: date
) -> tuple[list[WeekView], int, int]:
    plan = _plan_of(revision)
    shown = _window(plan, today)
    estimates = estimate_plan(plan, thresholds_on(session, today))
    states = dict(
        session.execute(
            select(PlannedWorkout.workout_id, PlannedWorkout.state).where(
                PlannedWorkout.plan_id == revision.plan_id
            )
        ).all()
    )
    totals = week_totals(plan, estimates)
    grouped: dict[int, list[WorkoutLine]] = {}
    for workout in plan.sorted_workouts():
        index = plan.week_index(workout.date)
        if index is None or index not in shown:
            continue
        grouped.setdefault(index, []).append(
            WorkoutLine(
                workout.id,
                workout.date,
                workout.sport,
                sport_words(workout.sport),
                workout.name,
                workout.purpose,
                workout.key or workout.race,
                describe_workout(workout, estimates.get(workout.id)),
                states.get(workout.id),
                day_words(workout.date),
                state_words(states[workout.id]) if workout.id in states else "",
            )
        )
    weeks = [
        WeekView(
            week.start,
            week.focus,
            week.rationale,
            round(total.duration_s / 3600, 1),
            round(total.load),
            grouped.get(index, []),
            focus_words(week.focus),
        )
        for index, (week, total) in enumerate(zip(plan.weeks, totals, strict=True))
        if index in shown
    ]
    return weeks, shown.start, len(plan.weeks) - shown.stop


def _proposed(session: Session, revision: PlanRevision, title: str) -> ProposedView:
    findings = revisions.finding_sentences(revision.report)
    changes = revision_diff(session, revision)
    return ProposedView(
        revision.id,
        revision.plan_id,
        revision.number,
        revision.origin,
        title,
        revision.created_at,
        revision.blocked,
        [f["sentence"] for f in findings if f["severity"] == "adjust"],
        [f["sentence"] for f in findings if f["severity"] == "block"],
        [f["sentence"] for f in findings if f["severity"] == "report"],
        None if changes is None else [change_words(c) for c in changes],
        origin_words(revision.origin),
    )


def plan_page(
    sessions: sessionmaker[Session],
    *,
    ask: Any = None,
    import_error: list[str] | None = None,
    chat: Any = None,
    draft: dict[str, Any] | None = None,
    today: date | None = None,
) -> PlanPage:
    """The followed plan (the newest approved revision) and the proposals waiting; ``ask`` is
    the page's "ask the coach" part, ``import_error`` what was wrong with an uploaded file."""
    from app.services.metrics.recompute import owner_today

    page = PlanPage(
        ask=ask,
        import_error=list(import_error or []),
        chat=chat,
        draft=draft,
        sports=[(sport, sport_words(sport)) for sport in ("run", "ride", "swim", "other")],
        event_types=[(kind, event_type_words(kind)) for kind in EVENT_TYPES_OFFERED],
        weekdays=weekday_names(),
    )
    with sessions() as session:
        today = today or owner_today(session)
        approved = session.execute(
            select(PlanRevision, TrainingPlan.title, TrainingPlan.goal_summary)
            .join(TrainingPlan, TrainingPlan.id == PlanRevision.plan_id)
            .where(PlanRevision.state == "APPROVED")
            .order_by(PlanRevision.approved_at.desc())
            .limit(1)
        ).first()
        if approved is not None:
            revision, page.title, page.goal = approved
            page.current_plan_id, page.current_revision_id = revision.plan_id, revision.id
            page.weeks, page.weeks_before, page.weeks_after = _weeks(session, revision, today)
        proposed = session.execute(
            select(PlanRevision, TrainingPlan.title)
            .join(TrainingPlan, TrainingPlan.id == PlanRevision.plan_id)
            .where(PlanRevision.state == "PROPOSED")
            .order_by(PlanRevision.created_at.desc(), PlanRevision.id.desc())
            .limit(MAX_PROPOSED_SHOWN)
        ).all()
        page.proposed = [_proposed(session, revision, title) for revision, title in proposed]
    return page


def import_upload(
    sessions: sessionmaker[Session], data: bytes, *, plan_id: int | None
) -> revisions.Stored:
    """An uploaded plan file as a PROPOSED revision (of ``plan_id``, or a new plan). Raises
    :class:`revisions.PlanInvalid` with the problems in the owner's language."""
    return revisions.import_plan(sessions, revisions.parse_plan(data), plan_id=plan_id)


def export_text(sessions: sessionmaker[Session], revision_id: int, kind: str) -> str:
    """The revision's export: ``json`` in the plan format, ``md`` the chat summary."""
    from app.services.plans.views import export_json, export_markdown, revision_plan

    if kind == "md":
        return export_markdown(sessions, revision_id)
    return export_json(revision_plan(sessions, revision_id)[1])
