"""Following the plan: each planned workout of the calendar matched to the activity that
fulfils it, and its state kept up to date.

After each nightly sync (and on demand) :func:`follow_up` pairs the workouts of the days up to
today with the activities of those days (:mod:`app.coach.matching`: same day, same sport family,
an optimal pairing on a double day, a token activity fulfils nothing) and records the result in
``planned_workout``: DONE with the activity, MISSED once the day is over without one; a workout
of today or later stays PLANNED (or PUSHED). A workout the owner marked SKIPPED is left alone,
and a pairing already recorded is kept (``fixed``) as long as its activity exists, so a later
activity of the same day never steals it. When a matched activity is deleted, its workout is
matched again. Compliance (duration, load, distance against Domestique's estimate) is computed
when a page shows it, from the same inputs, never stored; the **time in target** (the share of
the activity's time inside the planned steps' targets, :mod:`app.coach.time_in_target`) needs
the activity's samples, so it is worked out once, right after a workout is matched, and stored
on its row (again after the pairing or the workout's structure changes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.coach.estimate import Thresholds
from app.coach.matching import DoneActivity, MatchResult, PlannedSession, match
from app.coach.time_in_target import time_in_target
from app.models import Activity, ActivityMetrics, Lap, PlannedWorkout
from app.services.metrics.recompute import owner_today
from app.services.metrics.samples import read_samples
from app.services.plans import memo

OPEN_STATES = ("PLANNED", "PUSHED")


SAMPLE_BATCH = 40
"""Activities whose samples are read at once while working out times in target."""


@dataclass(frozen=True)
class FollowResult:
    done: int
    missed: int
    reopened: int
    in_target: int = 0
    """Workouts whose time in target was worked out."""


def planned_sessions(rows: Iterable[PlannedWorkout]) -> list[PlannedSession]:
    return [
        PlannedSession(
            r.workout_id, r.day, r.sport, float(r.duration_s), r.distance_m, float(r.load)
        )
        for r in rows
    ]


def activities_on(session: Session, first: date, last: date) -> list[DoneActivity]:
    """The activities of the local days ``first``…``last`` with their moving time, distance
    and Domestique's load."""
    rows = session.execute(
        select(
            Activity.id,
            Activity.local_date,
            Activity.sport,
            Activity.sub_sport,
            Activity.moving_s,
            Activity.elapsed_s,
            Activity.distance_m,
            ActivityMetrics.load,
        )
        .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .where(Activity.local_date >= first, Activity.local_date <= last)
    )
    return [
        DoneActivity(
            r.id,
            r.local_date,
            r.sport,
            r.sub_sport,
            float(r.moving_s or r.elapsed_s or 0.0),
            r.distance_m,
            r.load,
        )
        for r in rows
    ]


def match_rows(
    session: Session, rows: list[PlannedWorkout], today: date
) -> tuple[MatchResult, list[DoneActivity]]:
    """Matching of ``rows`` (one plan's workouts) to the activities of their days."""
    if not rows:
        return MatchResult((), (), (), ()), []
    first = min(r.day for r in rows)
    last = max(r.day for r in rows)
    done = activities_on(session, first, last)
    known = {a.activity_id for a in done}
    fixed = {
        r.workout_id: r.activity_id
        for r in rows
        if r.state == "DONE" and r.activity_id is not None and r.activity_id in known
    }
    skipped = [r.workout_id for r in rows if r.state == "SKIPPED"]
    return match(planned_sessions(rows), done, today=today, fixed=fixed, skipped=skipped), done


def follow_up(
    sessions: sessionmaker[Session], *, today: date | None = None, now: datetime | None = None
) -> FollowResult:
    """Match every planned workout up to ``today`` (the owner's today by default) and record
    DONE / MISSED; see the module docstring."""
    done_count = missed_count = reopened = 0
    with sessions.begin() as session:
        today = today or owner_today(session)
        rows = session.scalars(
            select(PlannedWorkout)
            .where(PlannedWorkout.day <= today)
            .order_by(PlannedWorkout.plan_id, PlannedWorkout.day)
            .with_for_update()
        ).all()
        by_plan: dict[int, list[PlannedWorkout]] = {}
        for row in rows:
            by_plan.setdefault(row.plan_id, []).append(row)
        for plan_rows in by_plan.values():
            result, _ = match_rows(session, plan_rows, today)
            matched = {m.workout_id: m.activity_id for m in result.matches}
            missed = set(result.missed)
            for row in plan_rows:
                if row.state == "SKIPPED":
                    continue
                if row.workout_id in matched:
                    if row.state != "DONE" or row.activity_id != matched[row.workout_id]:
                        row.state, row.activity_id = "DONE", matched[row.workout_id]
                        row.in_target_s = row.targeted_s = None
                        done_count += 1
                elif row.workout_id in missed:
                    if row.state != "MISSED":
                        row.state, row.activity_id = "MISSED", None
                        row.in_target_s = row.targeted_s = None
                        missed_count += 1
                elif row.state in ("DONE", "MISSED"):  # its activity is gone; today's again
                    row.state, row.activity_id = "PLANNED", None
                    row.in_target_s = row.targeted_s = None
                    reopened += 1
                if now is not None and session.is_modified(row):
                    row.updated_at = now
        worked_out = record_time_in_target(session, rows)
    return FollowResult(done_count, missed_count, reopened, worked_out)


def _activity_thresholds(used: dict[str, Any] | None) -> Thresholds:
    """The thresholds an activity's metrics used (``activity_metrics.thresholds_used``)."""
    return Thresholds.resolved(used)


def record_time_in_target(session: Session, rows: Iterable[PlannedWorkout]) -> int:
    """Work out and store the time in target of the DONE ``rows`` that have none yet: their
    workout's structure (from the revision they mirror) laid on the matched activity's samples
    and laps, against the thresholds the activity's metrics used. Returns how many."""
    wanted = [
        r for r in rows if r.state == "DONE" and r.activity_id is not None and r.targeted_s is None
    ]
    for at in range(0, len(wanted), SAMPLE_BATCH):
        batch = wanted[at : at + SAMPLE_BATCH]
        ids = sorted({r.activity_id for r in batch if r.activity_id is not None})
        facts = {
            activity_id: (start, used)
            for activity_id, start, used in session.execute(
                select(Activity.id, Activity.start_time, ActivityMetrics.thresholds_used)
                .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
                .where(Activity.id.in_(ids))
            )
        }
        laps: dict[int, list[datetime]] = {}
        for activity_id, start in session.execute(
            select(Lap.activity_id, Lap.start_time)
            .where(Lap.activity_id.in_(ids))
            .order_by(Lap.activity_id, Lap.lap_index)
        ):
            laps.setdefault(activity_id, []).append(start)
        samples = read_samples(session, ids)
        for row in batch:
            workout = memo.revision_workouts(session, row.revision_id).get(row.workout_id)
            start, used = facts.get(row.activity_id, (None, None))
            recorded = samples.get(row.activity_id) if row.activity_id is not None else None
            if workout is None or start is None or recorded is None:
                row.in_target_s, row.targeted_s = 0.0, 0.0
                continue
            origin = start.timestamp()
            found = time_in_target(
                workout.structure,
                _activity_thresholds(used),
                elapsed_s=recorded.time - origin,
                channels=recorded.channels,
                lap_starts_s=[lap.timestamp() - origin for lap in laps.get(row.activity_id, [])],
            )
            row.in_target_s, row.targeted_s = found.in_target_s, found.targeted_s
    return len(wanted)


class SkipRefused(ValueError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


def skip(sessions: sessionmaker[Session], workout_id: str, *, skipped: bool = True) -> None:
    """The owner skips a planned workout on purpose (it is then neither matched nor missed), or
    takes the skip back (it is matched again at the next follow-up). A workout already done
    cannot be skipped."""
    with sessions.begin() as session:
        rows = session.scalars(
            select(PlannedWorkout).where(PlannedWorkout.workout_id == workout_id).with_for_update()
        ).all()
        if not rows:
            raise SkipRefused("not_found")
        for row in rows:
            if skipped:
                if row.state == "DONE":
                    raise SkipRefused("already_done")
                row.state, row.activity_id = "SKIPPED", None
            elif row.state == "SKIPPED":
                row.state = "PLANNED"
