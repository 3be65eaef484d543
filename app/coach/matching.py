"""Which completed activity fulfils which planned workout, and how closely.

Pure: the service passes the approved revision's workouts (with Domestique's estimates) and the
activities of the same days; nothing here reads a clock or a database.

**Matching.** A planned workout can only be fulfilled by an activity **on the same local day**
of the **same sport family** (a trail run or a treadmill run fulfils a planned run; an indoor
ride a planned ride; a strength session a planned strength workout) — the rule intervals.icu and
TrainingPeaks follow. When a day holds several candidates of one family (a double day, a warm-up
jog recorded apart), workouts and activities are paired by an optimal assignment
(:func:`scipy.optimize.linear_sum_assignment`)
minimising ``|ln(actual / planned)|`` over duration (load only breaks ties: a load depends on
thresholds that may be off, a duration does not), so the 20-minute shake-out is not taken for
the two-hour long run. Pairs the owner fixed by hand (``fixed``) are kept as they are and take
their activity out of the pool. An activity too short to count — under
:data:`MIN_FULFIL_FRACTION` of the planned duration — fulfils nothing: the workout stays open
(and becomes missed after its day), the activity shows as unplanned.

**Compliance** follows TrainingPeaks' colour bands on the ratio actual / planned of the
deciding measure (load when both sides have one, else duration, else distance): *on target*
80–120 %, *close* 50–79 % or 121–150 %, *off* below 50 % or above 150 % (TrainingPeaks, "Plan
compliance" help article, 2023: green/yellow/orange/red). The three ratios are kept so a page
can show each.

**States**: a matched workout is DONE; an unmatched one is MISSED once its day is over
(``day < today``), open otherwise. Skipped workouts (the owner said so) are passed in ``skipped``
and never matched or missed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
from scipy.optimize import linear_sum_assignment

Family = Literal["run", "ride", "swim", "strength", "other"]
Band = Literal["on_target", "close", "off"]

MIN_FULFIL_FRACTION = 0.2
"""An activity shorter than this share of the planned duration fulfils nothing (a warm-up jog
recorded on its own is not the session). Domestique's heuristic."""

ON_TARGET = (0.8, 1.2)
CLOSE = (0.5, 1.5)

# FIT sport names (``activity.sport``) → the plan's sport families. Walking, hiking and the
# like fulfil no planned workout but "other".
_FAMILIES: Mapping[str, Family] = {
    "running": "run",
    "cycling": "ride",
    "e_biking": "ride",
    "swimming": "swim",
    "training": "strength",
    "fitness_equipment": "strength",
}
_STRENGTH_SUB_SPORTS = frozenset({"strength_training", "cardio_training", "hiit"})


def family_of(sport: str, sub_sport: str | None = None) -> Family:
    """The plan's sport family of a recorded activity (FIT ``sport``/``sub_sport`` names)."""
    family = _FAMILIES.get(sport, "other")
    if family == "strength" and sport == "training" and sub_sport not in _STRENGTH_SUB_SPORTS:
        return "other"  # yoga, pilates, breathwork
    return family


@dataclass(frozen=True, slots=True)
class PlannedSession:
    """A planned workout as matching sees it (from the plan and its estimate)."""

    workout_id: str
    day: date
    sport: Family
    duration_s: float
    distance_m: float | None = None
    load: float | None = None


@dataclass(frozen=True, slots=True)
class DoneActivity:
    """A completed activity as matching sees it (moving time, the activity's own load)."""

    activity_id: int
    day: date
    sport: str
    sub_sport: str | None
    duration_s: float
    distance_m: float | None = None
    load: float | None = None

    @property
    def family(self) -> Family:
        return family_of(self.sport, self.sub_sport)


@dataclass(frozen=True, slots=True)
class Compliance:
    """How closely an activity followed its planned workout."""

    duration_ratio: float | None
    load_ratio: float | None
    distance_ratio: float | None
    measure: Literal["load", "duration", "distance"]
    ratio: float
    band: Band


@dataclass(frozen=True, slots=True)
class Match:
    workout_id: str
    activity_id: int
    compliance: Compliance
    fixed: bool = False


@dataclass(frozen=True, slots=True)
class MatchResult:
    matches: tuple[Match, ...]
    missed: tuple[str, ...]
    """Workouts whose day is over without an activity (and not skipped)."""
    open: tuple[str, ...]
    """Workouts of today or later without an activity yet."""
    unplanned: tuple[int, ...]
    """Activities of the given days that fulfil no workout."""

    def by_workout(self) -> dict[str, Match]:
        return {match.workout_id: match for match in self.matches}


def _ratio(actual: float | None, planned: float | None) -> float | None:
    if actual is None or planned is None or planned <= 0 or actual < 0:
        return None
    if not (math.isfinite(actual) and math.isfinite(planned)):
        return None
    return actual / planned


def band_of(ratio: float) -> Band:
    if ON_TARGET[0] <= ratio <= ON_TARGET[1]:
        return "on_target"
    if CLOSE[0] <= ratio <= CLOSE[1]:
        return "close"
    return "off"


def compliance(planned: PlannedSession, done: DoneActivity) -> Compliance:
    """Ratios of what was done to what was planned, and the band of the deciding one."""
    duration = _ratio(done.duration_s, planned.duration_s)
    load = _ratio(done.load, planned.load)
    distance = _ratio(done.distance_m, planned.distance_m)
    if load is not None:
        measure, ratio = "load", load
    elif duration is not None:
        measure, ratio = "duration", duration
    elif distance is not None:
        measure, ratio = "distance", distance
    else:
        measure, ratio = "duration", 0.0
    return Compliance(duration, load, distance, measure, ratio, band_of(ratio))


def _counts(planned: PlannedSession, done: DoneActivity) -> bool:
    if planned.duration_s <= 0:
        return True
    return done.duration_s >= MIN_FULFIL_FRACTION * planned.duration_s


def _cost(planned: PlannedSession, done: DoneActivity) -> float:
    """How far an activity is from a workout: the log ratio of durations, plus a hundredth of
    the log ratio of loads to break ties."""
    duration = _ratio(done.duration_s, planned.duration_s)
    cost = abs(math.log(duration)) if duration else 10.0
    load = _ratio(done.load, planned.load)
    if load:
        cost += 0.01 * abs(math.log(load))
    return cost


def match(
    planned: Iterable[PlannedSession],
    done: Iterable[DoneActivity],
    *,
    today: date,
    fixed: Mapping[str, int] | None = None,
    skipped: Iterable[str] = (),
) -> MatchResult:
    """Pair planned workouts with the activities that fulfil them (see the module docstring)."""
    fixed = dict(fixed or {})
    skipped_ids = set(skipped)
    workouts = [p for p in planned if p.workout_id not in skipped_ids]
    activities = {a.activity_id: a for a in done}
    matches: list[Match] = []
    taken: set[int] = set()
    for workout in workouts:
        activity_id = fixed.get(workout.workout_id)
        if activity_id is not None and activity_id in activities and activity_id not in taken:
            taken.add(activity_id)
            comp = compliance(workout, activities[activity_id])
            matches.append(Match(workout.workout_id, activity_id, comp, fixed=True))
    matched = {m.workout_id for m in matches}

    groups_planned: dict[tuple[date, Family], list[PlannedSession]] = defaultdict(list)
    groups_done: dict[tuple[date, Family], list[DoneActivity]] = defaultdict(list)
    for workout in workouts:
        if workout.workout_id not in matched:
            groups_planned[(workout.day, workout.sport)].append(workout)
    for activity in activities.values():
        if activity.activity_id not in taken:
            groups_done[(activity.day, activity.family)].append(activity)

    for key, candidates in groups_planned.items():
        pool = groups_done.get(key)
        if not pool:
            continue
        cost = np.array([[_cost(p, a) for a in pool] for p in candidates], dtype=np.float64)
        allowed = np.array([[_counts(p, a) for a in pool] for p in candidates], dtype=bool)
        # Pairs that may not be matched cost more than any allowed pair could.
        cost = np.where(allowed, cost, 1e6)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if not allowed[r, c]:
                continue
            workout, activity = candidates[r], pool[c]
            matches.append(
                Match(workout.workout_id, activity.activity_id, compliance(workout, activity))
            )
            taken.add(activity.activity_id)
            matched.add(workout.workout_id)

    missed = tuple(w.workout_id for w in workouts if w.workout_id not in matched and w.day < today)
    still_open = tuple(
        w.workout_id for w in workouts if w.workout_id not in matched and w.day >= today
    )
    unplanned = tuple(sorted(a for a in activities if a not in taken))
    order = {w.workout_id: (w.day, i) for i, w in enumerate(workouts)}
    matches.sort(key=lambda m: order[m.workout_id])
    return MatchResult(tuple(matches), missed, still_open, unplanned)
