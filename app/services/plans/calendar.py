"""The calendar: planned workouts next to the activities actually done, by week or month.

Each planned workout shows its state and, once done, the activity that fulfilled it with its
compliance (:func:`app.coach.matching.compliance`: duration, load and distance against
Domestique's estimate, and TrainingPeaks' band) and its time in target (stored by the
follow-up). Activities that fulfil no workout appear as
unplanned. The pairing shown is the one :func:`app.services.plans.follow.follow_up` recorded,
and for the days it has not looked at yet (today, a page opened before the nightly run) the
same matching computed on the fly, so the page never disagrees with itself. Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from app.coach.matching import Compliance, DoneActivity, compliance, family_of, match
from app.coach.messages import describe_difference
from app.i18n import _
from app.models import Activity, PlannedWorkout, PlanRevision
from app.services.metrics.recompute import owner_today
from app.services.plans.devices import feed_state
from app.services.plans.follow import activities_on, planned_sessions
from app.services.plans.garmin_push import attention as garmin_attention

VIEWS = ("week", "month")


@dataclass(frozen=True)
class ActivityCell:
    id: int
    name: str
    sport: str
    duration_s: float
    distance_m: float | None
    load: float | None


@dataclass(frozen=True)
class WorkoutCell:
    workout_id: str
    name: str
    sport: str
    key: bool
    state: str
    duration_s: float
    distance_m: float | None
    load: float
    activity: ActivityCell | None = None
    compliance: Compliance | None = None
    attention: tuple[str, ...] = ()
    """How the workout Garmin stored differs from the one sent (needs attention), in words."""
    in_target: float | None = None
    """Share of the matched activity's targeted time inside the steps' targets (stored by the
    follow-up; ``None`` when not worked out or the steps have no target it counts)."""

    @property
    def state_label(self) -> str:
        return state_words(self.state)

    @property
    def band_label(self) -> str | None:
        if self.compliance is None:
            return None
        return band_words(self.compliance.band)


@dataclass(frozen=True)
class DayCell:
    day: date
    today: bool
    in_range: bool
    workouts: list[WorkoutCell] = field(default_factory=list)
    unplanned: list[ActivityCell] = field(default_factory=list)


@dataclass(frozen=True)
class CalendarView:
    view: str
    start: date
    end: date
    today: date
    days: list[DayCell]
    previous: date
    following: date
    feed_since: datetime | None = None
    """When the calendar feed's current address was made (``None``: no feed)."""

    @property
    def weeks(self) -> list[list[DayCell]]:
        return [self.days[i : i + 7] for i in range(0, len(self.days), 7)]

    @property
    def planned_load(self) -> float:
        return sum(w.load for d in self.days if d.in_range for w in d.workouts)

    @property
    def done_load(self) -> float:
        total = 0.0
        for d in self.days:
            if d.in_range:
                total += sum((w.activity.load or 0.0) for w in d.workouts if w.activity)
                total += sum((a.load or 0.0) for a in d.unplanned)
        return total


def state_words(state: str) -> str:
    names = {
        "PLANNED": _("Planned"),
        "PUSHED": _("On the watch"),
        "DONE": _("Done"),
        "SKIPPED": _("Skipped"),
        "MISSED": _("Missed"),
    }
    return names.get(state, state)


def band_words(band: str) -> str:
    names = {"on_target": _("On target"), "close": _("Close"), "off": _("Off target")}
    return names.get(band, band)


def _range(view: str, anchor: date) -> tuple[date, date, date, date, date, date]:
    """(grid start, grid end, range start, range end, previous anchor, next anchor)."""
    if view == "month":
        first = anchor.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        last = following - timedelta(days=1)
        grid_start = first - timedelta(days=first.weekday())
        grid_end = last + timedelta(days=6 - last.weekday())
        previous = (first - timedelta(days=1)).replace(day=1)
        return grid_start, grid_end, first, last, previous, following
    monday = anchor - timedelta(days=anchor.weekday())
    sunday = monday + timedelta(days=6)
    return monday, sunday, monday, sunday, monday - timedelta(days=7), monday + timedelta(days=7)


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(Activity.id, Activity.name).where(Activity.id.in_(ids))).all()
    )


def calendar_view(
    session: Session, *, view: str = "week", anchor: date | None = None, today: date | None = None
) -> CalendarView:
    """The week (Monday to Sunday) or month (whole weeks around it) holding ``anchor``."""
    today = today or owner_today(session)
    view = view if view in VIEWS else "week"
    grid_start, grid_end, first, last, previous, following = _range(view, anchor or today)
    rows = session.scalars(
        select(PlannedWorkout)
        .where(PlannedWorkout.day >= grid_start, PlannedWorkout.day <= grid_end)
        .order_by(PlannedWorkout.day, PlannedWorkout.plan_id, PlannedWorkout.id)
    ).all()
    done = activities_on(session, grid_start, grid_end)
    by_id = {a.activity_id: a for a in done}
    names = _names(session, set(by_id))
    # The pairing recorded, and for what is not recorded yet, the same matching on the fly.
    fixed = {
        r.workout_id: r.activity_id
        for r in rows
        if r.state == "DONE" and r.activity_id is not None and r.activity_id in by_id
    }
    skipped = [r.workout_id for r in rows if r.state == "SKIPPED"]
    result = match(planned_sessions(rows), done, today=today, fixed=fixed, skipped=skipped)
    pairs = {m.workout_id: m for m in result.matches}
    flagged = garmin_attention(session)
    sessions_by_id = {s.workout_id: s for s in planned_sessions(rows)}

    def cell(a: DoneActivity) -> ActivityCell:
        return ActivityCell(
            a.activity_id,
            names.get(a.activity_id) or "",
            family_of(a.sport, a.sub_sport),
            a.duration_s,
            a.distance_m,
            a.load,
        )

    days: dict[date, DayCell] = {}
    day = grid_start
    while day <= grid_end:
        days[day] = DayCell(day, day == today, first <= day <= last)
        day += timedelta(days=1)
    used: set[int] = set()
    for r in rows:
        paired = pairs.get(r.workout_id)
        activity = by_id.get(paired.activity_id) if paired else None
        state = r.state
        if activity is not None:
            used.add(activity.activity_id)
            state = "DONE" if state != "SKIPPED" else state
        elif state == "DONE":  # recorded, but its activity is gone
            state = "MISSED" if r.day < today else "PLANNED"
        elif state in ("PLANNED", "PUSHED") and r.day < today:
            state = "MISSED"
        days[r.day].workouts.append(
            WorkoutCell(
                r.workout_id,
                r.name,
                r.sport,
                r.key,
                state,
                float(r.duration_s),
                r.distance_m,
                float(r.load),
                cell(activity) if activity else None,
                compliance(sessions_by_id[r.workout_id], activity) if activity else None,
                tuple(
                    describe_difference(d["code"], d.get("params") or {})
                    for d in flagged.get((r.plan_id, r.workout_id), [])
                ),
                _in_target(r, activity),
            )
        )
    for a in done:
        if a.activity_id not in used:
            days[a.day].unplanned.append(cell(a))
    return CalendarView(
        view, first, last, today, list(days.values()), previous, following, feed_state(session)
    )


def _in_target(row: PlannedWorkout, activity: DoneActivity | None) -> float | None:
    """The stored time in target, when it is of the activity shown."""
    if activity is None or row.activity_id != activity.activity_id or not row.targeted_s:
        return None
    return (row.in_target_s or 0.0) / row.targeted_s


@dataclass(frozen=True)
class PlanToday:
    """The dashboard's plan card: today's planned workouts and the proposals waiting."""

    workouts: list[WorkoutCell]
    proposals: int


def plan_today(session: Session, today: date) -> PlanToday | None:
    """Today's workouts of the followed plan and how many revisions wait for approval, in one
    statement; ``None`` when there is neither."""
    waiting = (
        select(func.count(PlanRevision.id))
        .where(PlanRevision.state == "PROPOSED")
        .scalar_subquery()
    )
    anchor = select(literal(1).label("one")).subquery()
    rows = session.execute(
        select(PlannedWorkout, waiting)
        .select_from(anchor)
        .outerjoin(PlannedWorkout, PlannedWorkout.day == today)
        .order_by(PlannedWorkout.key.desc(), PlannedWorkout.duration_s.desc())
    ).all()
    proposals = int(rows[0][1]) if rows else 0
    workouts = [
        WorkoutCell(
            r.workout_id,
            r.name,
            r.sport,
            r.key,
            r.state,
            float(r.duration_s),
            r.distance_m,
            float(r.load),
        )
        for r, _count in rows
        if r is not None
    ]
    if not workouts and not proposals:
        return None
    return PlanToday(workouts, proposals)
