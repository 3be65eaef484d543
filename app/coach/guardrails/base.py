"""What every guardrail shares: the owner's limits, the athlete context, findings, the plan
state the rules pass along, and the edits rules make (shorten, make easy, move, remove).

Everything here is pure: the context carries ``today`` and the history as values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from app.analytics.pmc import ATL_DAYS, CTL_DAYS, DailyLoad
from app.coach.estimate import (
    PlanEstimates,
    Thresholds,
    WorkoutEstimate,
    estimate_workout,
)
from app.coach.plans import HealthReport, Plan, PlannedWorkout, Week
from app.coach.workouts import (
    DistanceDuration,
    HrZoneTarget,
    NoTarget,
    Step,
    TimeDuration,
    WorkoutStructure,
    scale_structure,
)

Severity = Literal["adjust", "block", "report"]

TAPER_DAYS: Mapping[str, int] = MappingProxyType(
    {
        # The shorter end of each range in the library's "Taper length by event" (coaching
        # conventions built around Bosquet 2007's two weeks; marathons: Smyth & Lawlor 2021).
        "run_5k": 7,
        "run_10k": 7,
        "half_marathon": 10,
        "marathon": 14,
        "ultramarathon": 14,
        "gran_fondo": 7,
        "road_race": 7,
        "time_trial": 7,
        "stage_race": 7,
        "triathlon_sprint": 7,
        "triathlon_olympic": 10,
        "triathlon_half": 14,
        "triathlon_full": 14,
        "open_water_swim": 7,
        "other": 7,
    }
)


@dataclass(frozen=True)
class GuardrailLimits:
    """Every limit the guardrails apply, with its default (Settings → Coach overrides them).

    Sources are on each rule's function; the defaults follow ``COACH.md``'s evidence table.
    """

    # Weekly CTL ramp (Friel; Couzens): 5 CTL/week at CTL ≤ 45 rising to 8 at CTL ≥ 70.
    ramp_low_ctl: float = 45.0
    ramp_at_low_ctl: float = 5.0
    ramp_high_ctl: float = 70.0
    ramp_at_high_ctl: float = 8.0
    ramp_min_scale: float = 0.5
    """Non-key sessions are not cut below this fraction; a steeper ramp blocks instead."""
    # Session spike (Frandsen et al. 2025): 110 % of the longest run of the previous 30 days.
    spike_ratio: float = 1.10
    spike_window_days: int = 30
    spike_floor_m: float = 5000.0
    """Longest first run when there was no run at all in the window (heuristic)."""
    # Hard days.
    max_hard_days_in_row: int = 2
    hard_min_s: float = 300.0
    """A session is hard with at least this much time above the first threshold (or key)."""
    easy_max_s: int = 3600
    """An easy session that replaces a hard one lasts at most this long."""
    # Recovery weeks (coaching convention): one every 3-4 weeks, volume -30-40 %.
    max_loading_weeks: int = 3
    recovery_cut: float = 0.35
    recovery_cut_min: float = 0.25
    # Taper (Bosquet 2007): volume -41-60 %, progressive, intensity and frequency kept.
    taper_days: Mapping[str, int] = TAPER_DAYS
    taper_cut_min: float = 0.30
    """A taper cutting less than this on average over its days is made deeper."""
    taper_cut_max: float = 0.60
    """Deeper than this (plus 5 points) is reported."""
    taper_first_half_cut: float = 0.30
    taper_second_half_cut: float = 0.55
    """The cuts a made taper gets in its first and second half (progressive, 42 % on average)."""
    taper_reference_days: int = 28
    # Intensity distribution (Seiler 2010; Rosenblat 2025): about 80 % easy.
    easy_share_target: float = 0.80
    easy_share_tolerance: float = 0.05
    # Availability.
    hours_tolerance: float = 0.0
    move_unavailable: bool = True
    """Move a workout off an unavailable day (True) or block (False)."""
    # Readiness (Plews 2013; Javaloyes 2019; Lanterne Rouge's readiness < 70).
    readiness_min: float = 70.0
    readiness_window_days: int = 1
    """Days from today in which the next hard session is eased (1: today's session)."""
    hrv_min_readings: int = 3

    def ramp_limit(self, ctl: float) -> float:
        """The largest CTL rise a week may bring, from the CTL the week starts at."""
        return float(
            np.interp(
                ctl,
                [self.ramp_low_ctl, self.ramp_high_ctl],
                [self.ramp_at_low_ctl, self.ramp_at_high_ctl],
            )
        )


@dataclass(frozen=True)
class AthleteContext:
    """What the guardrails know about the athlete, all passed in (no clock, no database).

    ``loads`` is the dense daily load series of the last ~120 days, ending on the last day with
    recorded training counted (today or yesterday); ``ctl`` and ``atl`` are the stored values
    on that day. Planned workouts after ``loads.end`` (and not before ``today``) are the future:
    only they are projected and only they are changed. ``longest_run_m`` maps each day of the
    last 30 days or more to the longest run recorded on it. ``hrv_7d`` is the 7-day mean of the
    nightly HRV in the same unit as ``hrv_band`` (the owner's normal band: baseline ± 0.5 SD of
    ln rMSSD in the coach's rule), from ``hrv_readings_7d`` nights. ``readiness`` is today's
    readiness score (0-100). ``health`` holds illnesses and injuries reported outside the plan.
    """

    today: date
    loads: DailyLoad
    ctl: float
    atl: float
    thresholds: Thresholds = field(default_factory=Thresholds)
    longest_run_m: Mapping[date, float] = field(default_factory=dict)
    hrv_7d: float | None = None
    hrv_readings_7d: int = 0
    hrv_band: tuple[float, float] | None = None
    readiness: float | None = None
    health: tuple[HealthReport, ...] = ()
    ctl_days: float = CTL_DAYS
    atl_days: float = ATL_DAYS

    def __post_init__(self) -> None:
        if self.loads.load.size == 0:
            raise ValueError("the context needs at least one day of recorded loads")
        if self.loads.end > self.today:
            raise ValueError("recorded loads cannot end after today")
        # Cached: every rule asks for it for every workout.
        object.__setattr__(self, "_loads_end", self.loads.end)
        object.__setattr__(
            self, "_first_open_day", max(self.today, self.loads.end + timedelta(days=1))
        )

    @property
    def loads_end(self) -> date:
        """The last recorded day."""
        return self._loads_end  # type: ignore[attr-defined,no-any-return]

    @property
    def first_open_day(self) -> date:
        """The first day whose workouts are still to come."""
        return self._first_open_day  # type: ignore[attr-defined,no-any-return]

    def history_load(self, day: date) -> float:
        offset = (day - self.loads.start).days
        if 0 <= offset < self.loads.load.size:
            return float(self.loads.load[offset])
        return 0.0


@dataclass(frozen=True)
class Finding:
    """One result of a guardrail: what it found, what it did, and what it concerns.

    ``code`` and ``params`` make the sentence (``app.coach.messages``); params are plain JSON
    values (dates as ISO strings).
    """

    rule: str
    severity: Severity
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    workout_id: str | None = None
    week_start: date | None = None
    day: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "code": self.code,
            "params": dict(self.params),
            "workout_id": self.workout_id,
            "week_start": None if self.week_start is None else self.week_start.isoformat(),
            "day": None if self.day is None else self.day.isoformat(),
        }


class PlanState:
    """A plan with its estimates and what the guardrails changed so far (treated as immutable:
    edits return a new state). Indexes are built on first use."""

    __slots__ = ("_by_date", "_by_week", "_sorted", "adjusted", "estimates", "plan")

    def __init__(
        self,
        plan: Plan,
        estimates: PlanEstimates,
        adjusted: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.plan = plan
        self.estimates = estimates
        self.adjusted: Mapping[str, frozenset[str]] = adjusted or {}
        self._sorted: list[PlannedWorkout] | None = None
        self._by_date: dict[date, list[PlannedWorkout]] | None = None
        self._by_week: dict[date, list[PlannedWorkout]] | None = None

    @property
    def workouts(self) -> list[PlannedWorkout]:
        if self._sorted is None:
            self._sorted = self.plan.sorted_workouts()
        return self._sorted

    def on(self, day: date) -> list[PlannedWorkout]:
        if self._by_date is None:
            index: dict[date, list[PlannedWorkout]] = {}
            for workout in self.workouts:
                index.setdefault(workout.date, []).append(workout)
            self._by_date = index
        return self._by_date.get(day, [])

    def estimate(self, workout: PlannedWorkout) -> WorkoutEstimate:
        return self.estimates[workout.id]

    def adjusted_by(self, workout_id: str) -> frozenset[str]:
        return self.adjusted.get(workout_id, frozenset())

    def week_workouts(self, week: Week) -> list[PlannedWorkout]:
        if self._by_week is None:
            index: dict[date, list[PlannedWorkout]] = {}
            first = self.plan.first_day
            for workout in self.workouts:
                start = first + timedelta(days=(workout.date - first).days // 7 * 7)
                index.setdefault(start, []).append(workout)
            self._by_week = index
        return self._by_week.get(week.start, [])

    def day_load(self, day: date) -> float:
        return sum(self.estimates[w.id].load for w in self.on(day))

    def edit(
        self,
        changes: Mapping[str, PlannedWorkout | None],
        rule: str,
        thresholds: Thresholds,
        *,
        weeks: list[Week] | None = None,
        estimates: Mapping[str, WorkoutEstimate] | None = None,
    ) -> PlanState:
        """A new state with workouts replaced (``None`` removes one), re-estimated (unless
        ``estimates`` has them already), and the rule recorded against each changed workout.
        ``weeks`` replaces the plan's weeks."""
        workouts = []
        for workout in self.plan.workouts:
            if workout.id not in changes:
                workouts.append(workout)
            elif (replacement := changes[workout.id]) is not None:
                workouts.append(replacement)
        update: dict[str, Any] = {"workouts": workouts}
        if weeks is not None:
            update["weeks"] = weeks
        plan = self.plan.model_copy(update=update)
        known = estimates or {}
        new_estimates = self.estimates.replaced(
            {
                key: None
                if value is None
                else known.get(key) or estimate_workout(value, thresholds)
                for key, value in changes.items()
            }
        )
        adjusted = dict(self.adjusted)
        for key in changes:
            adjusted[key] = adjusted.get(key, frozenset()) | {rule}
        return PlanState(plan, new_estimates, adjusted)


@dataclass(frozen=True)
class RuleOutcome:
    state: PlanState
    findings: tuple[Finding, ...] = ()


# --------------------------------------------------------------------------------------------
# Judgements and edits every rule uses


def is_open(workout: PlannedWorkout, context: AthleteContext) -> bool:
    """Still to come, so a guardrail may change it."""
    return workout.date >= context.first_open_day


def is_hard(workout: PlannedWorkout, estimate: WorkoutEstimate, limits: GuardrailLimits) -> bool:
    """Key sessions, races, and sessions with ``hard_min_s`` or more above the first threshold
    (the session-goal reading of Seiler's zones: strides do not make a session hard)."""
    return workout.key or workout.race or estimate.hard_s >= limits.hard_min_s


def day_is_hard(state: PlanState, day: date, limits: GuardrailLimits) -> bool:
    return any(is_hard(w, state.estimate(w), limits) for w in state.on(day))


def day_is_key(state: PlanState, day: date) -> bool:
    return any(w.key or w.race for w in state.on(day))


def _rounded(seconds: float, grain: int) -> int:
    return max(grain, int(seconds // grain * grain))


def easy_version(
    workout: PlannedWorkout, estimate: WorkoutEstimate, limits: GuardrailLimits
) -> PlannedWorkout:
    """The workout as an easy session of the same sport on the same day.

    Runs, rides and other sessions: one steady step in heart-rate zone 2, as long as the
    planned session (whole 5 minutes) but at most ``easy_max_s``. Swims: one easy continuous
    swim by distance (whole 50 m, at most 1,500 m). Strength: one step by time without a target.
    The name and purpose stay (they are the owner's or the model's words); the finding that made
    the change says why.
    """
    seconds = min(_rounded(estimate.duration_s, 300), limits.easy_max_s)
    step: Step
    if workout.sport == "swim":
        meters = min(float(_rounded(estimate.distance_m or 1000.0, 50)), 1500.0)
        step = Step(
            kind="step",
            type="other",
            duration=DistanceDuration(kind="distance", meters=meters),
            target=NoTarget(kind="none"),
        )
    elif workout.sport == "strength":
        step = Step(
            kind="step",
            type="other",
            duration=TimeDuration(kind="time", seconds=seconds),
            target=NoTarget(kind="none"),
        )
    else:
        step = Step(
            kind="step",
            type="interval" if workout.sport in ("run", "ride") else "other",
            duration=TimeDuration(kind="time", seconds=seconds),
            target=HrZoneTarget(kind="hr_zone", zone=2),
        )
    return workout.model_copy(update={"structure": WorkoutStructure(steps=[step]), "key": False})


def scaled(workout: PlannedWorkout, factor: float) -> PlannedWorkout:
    """The workout with its timed and measured steps shortened by ``factor``."""
    return workout.model_copy(
        update={"structure": scale_structure(workout.structure, factor, workout.sport)}
    )


def days(start: date, end: date) -> Iterable[date]:
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def r1(value: float) -> float:
    return round(float(value), 1)


def workout_params(workout: PlannedWorkout) -> dict[str, Any]:
    return {"name": workout.name, "date": workout.date.isoformat(), "sport": workout.sport}
