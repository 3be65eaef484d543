"""The read model of the Plan page: the followed plan week by week with Domestique's
estimates and each workout's state, the proposed revisions with their guardrail report and
their differences from the approved revision; and the upload that imports a plan file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from babel import dates
from sqlalchemy import bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, defer, sessionmaker

from app import i18n
from app.coach.describe import describe_workout, sport_words
from app.coach.estimate import PlanEstimates, Thresholds, estimate_workouts
from app.coach.plans import WEEKDAYS, Week
from app.coach.plans import PlannedWorkout as PlanWorkout
from app.i18n import _, format_date
from app.models import PlannedWorkout, PlanRevision, TrainingPlan
from app.services.plans import memo, revisions
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


@dataclass(frozen=True)
class _Shown:
    """The weeks a page shows of a revision and their workouts (validated, by date then id)."""

    first_day: date
    weeks: tuple[Week, ...]
    workouts: tuple[PlanWorkout, ...]


_SHOWN: memo.Recent[tuple[Any, int, int, int], _Shown] = memo.Recent(16)
_ESTIMATES: memo.Recent[tuple[Any, int, int, int, Thresholds], PlanEstimates] = memo.Recent(16)

_WEEKS_SHOWN = literal_column("'$.weeks[$first to $last]'::jsonpath")
_WORKOUTS_SHOWN = literal_column("'$.workouts[*] ? (@.date >= $from && @.date < $to)'::jsonpath")


def shown_weeks(first_day: date, count: int, today: date) -> range:
    """The indexes of the weeks shown of a plan whose ``count`` weeks start on ``first_day``
    (weeks follow one another): from last week to eight ahead, or the first weeks of a plan
    that has not started, or the last ones of a plan that has ended."""
    monday = today - timedelta(days=today.weekday())
    since = monday - timedelta(weeks=WEEKS_BEFORE)
    first = max(0, (since - first_day).days // 7)  # the first week that ends after ``since``
    if first >= count:
        first = max(0, count - WEEKS_AHEAD)
    return range(first, min(count, first + WEEKS_BEFORE + WEEKS_AHEAD))


def _read_shown(session: Session, revision_id: int, first_day: date, shown: range) -> _Shown:
    """Only the shown weeks and their workouts out of the revision's content: the database
    picks them (JSON path), so a two-year plan costs the page what a nine-week one does."""
    since = first_day + timedelta(weeks=shown.start)
    until = first_day + timedelta(weeks=shown.stop)
    weeks, workouts = session.execute(
        select(
            func.jsonb_path_query_array(
                PlanRevision.content,
                _WEEKS_SHOWN,
                bindparam("weeks", {"first": shown.start, "last": shown.stop - 1}, JSONB),
            ),
            func.jsonb_path_query_array(
                PlanRevision.content,
                _WORKOUTS_SHOWN,
                bindparam("days", {"from": since.isoformat(), "to": until.isoformat()}, JSONB),
            ),
        ).where(PlanRevision.id == revision_id)
    ).one()
    found = sorted(
        (PlanWorkout.model_validate(workout) for workout in workouts),
        key=lambda w: (w.date, w.id),
    )
    return _Shown(
        since,
        tuple(Week.model_validate(week) for week in weeks),
        tuple(found),
    )


def _weeks(
    session: Session, revision_id: int, plan_id: int, first_day: date, count: int, today: date
) -> tuple[list[WeekView], int, int]:
    shown = shown_weeks(first_day, count, today)
    database = memo.database_of(session)
    part = _SHOWN.get(
        (database, revision_id, shown.start, shown.stop),
        lambda: _read_shown(session, revision_id, first_day, shown),
    )
    thresholds = thresholds_on(session, today)
    estimates = _ESTIMATES.get(
        (database, revision_id, shown.start, shown.stop, thresholds),
        lambda: PlanEstimates(estimate_workouts(part.workouts, thresholds)),
    )
    until = part.first_day + timedelta(weeks=len(shown))
    states = dict(
        session.execute(
            select(PlannedWorkout.workout_id, PlannedWorkout.state).where(
                PlannedWorkout.plan_id == plan_id,
                PlannedWorkout.day >= part.first_day,
                PlannedWorkout.day < until,
            )
        ).all()
    )
    grouped: dict[int, list[WorkoutLine]] = {}
    hours = [0.0] * len(part.weeks)
    loads = [0.0] * len(part.weeks)
    for workout in part.workouts:
        index = (workout.date - part.first_day).days // 7
        estimate = estimates.get(workout.id)
        if estimate is not None:
            hours[index] += estimate.duration_s / 3600
            loads[index] += estimate.load
        grouped.setdefault(index, []).append(
            WorkoutLine(
                workout.id,
                workout.date,
                workout.sport,
                sport_words(workout.sport),
                workout.name,
                workout.purpose,
                workout.key or workout.race,
                describe_workout(workout, estimate),
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
            round(hours[index], 1),
            round(loads[index]),
            grouped.get(index, []),
            focus_words(week.focus),
        )
        for index, week in enumerate(part.weeks)
    ]
    return weeks, shown.start, count - shown.stop


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
            select(
                PlanRevision.id,
                PlanRevision.plan_id,
                TrainingPlan.title,
                TrainingPlan.goal_summary,
            )
            .join(TrainingPlan, TrainingPlan.id == PlanRevision.plan_id)
            .where(PlanRevision.state == "APPROVED")
            .order_by(PlanRevision.approved_at.desc())
            .limit(1)
        ).first()
        if approved is not None:
            revision_id, plan_id, page.title, page.goal = approved
            page.current_plan_id, page.current_revision_id = plan_id, revision_id
            first_day, count = memo.revision_weeks(session, revision_id)
            page.weeks, page.weeks_before, page.weeks_after = _weeks(
                session, revision_id, plan_id, first_day, count, today
            )
        proposed = session.execute(
            select(PlanRevision, TrainingPlan.title)
            .options(defer(PlanRevision.content), defer(PlanRevision.change_set))
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
