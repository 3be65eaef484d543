"""Duration, distance and load of planned workouts, computed by Domestique — never by a model.

Each step gets a length and an **intensity factor** (IF: power / FTP for rides, speed /
threshold speed for runs and swims) from its target, or a default by sport and step type when it
has none. Then the workout's load is computed by the model its targets call for, the same
models recorded activities use (:mod:`app.analytics.planned` over :mod:`app.analytics.load`):

================  =======================================================================
model             when
================  =======================================================================
``power``         a ride with power targets and an FTP: TSS from NP (targets' midpoints)
``pace``          a run with pace targets and a threshold pace: rTSS (flat ground)
``hr``            heart-rate targets and LTHR, HRrest, HRmax: HRSS (per-step TRIMP)
``default``       anything else: the TSS formula over the steps' intensity factors
================  =======================================================================

Inside a workout, steps without the deciding target take their intensity from the other
targets' conversions or the defaults below, so a warm-up without a target still counts.

Lengths: a time step lasts its seconds, a distance step its metres; the other follows from the
step's speed — the target pace, or the intensity times the threshold speed (runs, swims), or
for rides ``speed at FTP × IF^(1/3)`` (air drag makes power grow with the cube of speed on the
flat). Lap-button and open steps last :data:`ASSUMED_STEP_S` by step type, and the estimate
counts them in ``assumed_steps`` so a page can say so.

Defaults are **Domestique's labelled heuristics**, chosen to sit inside published bands:
rides by Coggan's levels (Allen & Coggan: endurance 56-75 % FTP, recovery < 55 %), runs by
Daniels' tables (easy pace runs at about 76-80 % of threshold speed), swims relative to the
critical swim speed, strength at an hour ≈ 36 (IF 0.6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from app.analytics.planned import (
    HRMAX_FIVE_ZONES,
    LTHR_PER_HRMAX,
    THREE_ZONE_IF,
    if_from_lthr_fraction,
    lthr_fraction_from_if,
    planned_hrss,
    planned_intensity_load,
    planned_power_tss,
    planned_rtss,
    power_zone_midpoint,
    three_zone,
)
from app.coach.workouts import (
    DistanceDuration,
    HrRangeTarget,
    HrZoneTarget,
    PaceRangeTarget,
    PowerRangeTarget,
    PowerZoneTarget,
    Step,
    TimeDuration,
)

if TYPE_CHECKING:
    from app.coach.plans import Plan, PlannedWorkout

LoadModel = Literal["power", "pace", "hr", "default"]

DEFAULT_STEP_IF: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        # Rides, IF = power / FTP (Coggan's levels): warm-up and "other" in endurance, recovery
        # in active recovery, an untargeted interval at upper tempo.
        "ride": {
            "warmup": 0.60,
            "interval": 0.90,
            "recovery": 0.50,
            "rest": 0.0,
            "cooldown": 0.55,
            "other": 0.65,
        },
        # Runs, IF = speed / threshold speed: "other" is an easy run (Daniels' E pace at about
        # 0.78 of T speed), a recovery jog slower, an untargeted interval near threshold.
        "run": {
            "warmup": 0.72,
            "interval": 0.95,
            "recovery": 0.60,
            "rest": 0.0,
            "cooldown": 0.70,
            "other": 0.78,
        },
        # Swims, IF = speed / critical swim speed: "other" is an easy continuous swim (about
        # 2:35/100 m for a 2:00/100 m CSS).
        "swim": {
            "warmup": 0.75,
            "interval": 0.95,
            "recovery": 0.65,
            "rest": 0.0,
            "cooldown": 0.70,
            "other": 0.78,
        },
        "strength": {
            "warmup": 0.50,
            "interval": 0.60,
            "recovery": 0.40,
            "rest": 0.0,
            "cooldown": 0.45,
            "other": 0.60,
        },
        "other": {
            "warmup": 0.55,
            "interval": 0.80,
            "recovery": 0.50,
            "rest": 0.0,
            "cooldown": 0.50,
            "other": 0.60,
        },
    }
)
"""Intensity factor of a step without a usable target, by sport and step type (heuristic)."""

ASSUMED_STEP_S: Mapping[str, int] = MappingProxyType(
    {"warmup": 600, "interval": 300, "recovery": 120, "rest": 60, "cooldown": 600, "other": 1800}
)
"""Length assumed for a lap-button or open step, by step type (seconds; heuristic)."""

DEFAULT_RUN_THRESHOLD_PACE_S_PER_KM = 300.0
"""5:00/km, used only to turn times into distances (and back) when no threshold pace is set."""
DEFAULT_SWIM_THRESHOLD_PACE_S_PER_KM = 1200.0
"""2:00/100 m, a recreational critical swim speed, when none is set."""
DEFAULT_RIDE_SPEED_AT_FTP_M_S = 10.0
"""36 km/h on flat road at FTP (heuristic), to turn ride times into distances and back."""


@dataclass(frozen=True)
class Thresholds:
    """The owner's thresholds on the plan's days (the service passes the values, set or
    estimated, that activities of those days would use). ``sex`` names the TRIMP variant
    (a key of :data:`app.analytics.load.BANISTER_COEFFICIENTS`, as in the owner's profile);
    ``hr_zone_bounds_bpm`` are the six bounds of the watch's five heart-rate zones (zone 1's
    lower bound … zone 5's upper bound); unset, Garmin's default %HRmax zones are assumed."""

    ftp_w: float | None = None
    lthr_bpm: float | None = None
    hr_max_bpm: float | None = None
    hr_rest_bpm: float | None = None
    threshold_pace_s_per_km: float | None = None
    swim_threshold_pace_s_per_km: float | None = None
    sex: str = "male"
    hr_zone_bounds_bpm: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        bounds = self.hr_zone_bounds_bpm
        if bounds is not None and (len(bounds) != 6 or any(b <= a for a, b in pairwise(bounds))):
            raise ValueError("hr_zone_bounds_bpm needs six ascending bounds")

    @classmethod
    def resolved(cls, values: Mapping[str, Any] | None, *, sex: str = "male") -> Thresholds:
        """From the metrics' resolution (``{kind: {"value": …, …}}``, as stored in
        ``activity_metrics.thresholds_used``); a kind that is absent stays unset."""

        def value(kind: str) -> float | None:
            entry = (values or {}).get(kind)
            return None if entry is None else float(entry["value"])

        return cls(
            ftp_w=value("ftp_w"),
            lthr_bpm=value("lthr_bpm"),
            hr_max_bpm=value("hr_max_bpm"),
            hr_rest_bpm=value("hr_rest_bpm"),
            threshold_pace_s_per_km=value("threshold_pace_s_per_km"),
            sex=sex,
        )

    @property
    def effective_lthr(self) -> float | None:
        if self.lthr_bpm is not None:
            return self.lthr_bpm
        if self.hr_max_bpm is not None:
            return LTHR_PER_HRMAX * self.hr_max_bpm
        return None

    @property
    def hrss_ready(self) -> bool:
        lthr, rest, top = self.lthr_bpm, self.hr_rest_bpm, self.hr_max_bpm
        return lthr is not None and rest is not None and top is not None and rest < lthr <= top


@dataclass(frozen=True)
class WorkoutEstimate:
    """What Domestique expects a planned workout to take and to cost."""

    workout_id: str
    duration_s: float
    distance_m: float | None
    load: float
    load_model: LoadModel
    intensity_factor: float
    """The session's normalised intensity: ``sqrt(load / (hours · 100))``."""
    zone_s: tuple[float, float, float]
    """Seconds in zones 1-3 of the three-zone model (:data:`THREE_ZONE_IF`)."""
    assumed_steps: int = 0
    missing: tuple[str, ...] = ()
    """Thresholds the targets needed but the owner has none for (defaults were used)."""

    @property
    def hard_s(self) -> float:
        """Seconds above the first threshold (zones 2 and 3)."""
        return self.zone_s[1] + self.zone_s[2]


@dataclass(frozen=True)
class PlanEstimates:
    """Estimates of every workout of a plan, by workout id."""

    workouts: Mapping[str, WorkoutEstimate] = field(default_factory=dict)

    def __getitem__(self, workout_id: str) -> WorkoutEstimate:
        return self.workouts[workout_id]

    def get(self, workout_id: str) -> WorkoutEstimate | None:
        return self.workouts.get(workout_id)

    def replaced(self, changed: Mapping[str, WorkoutEstimate | None]) -> PlanEstimates:
        """A copy with some estimates replaced (``None`` removes one)."""
        merged = dict(self.workouts)
        for key, value in changed.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return PlanEstimates(merged)


@dataclass(frozen=True)
class WeekTotals:
    """A week's planned duration, distance per sport and load."""

    start: date
    duration_s: float
    load: float
    distance_m: Mapping[str, float]
    workouts: int


@dataclass(frozen=True)
class _StepPlan:
    seconds: float
    meters: float | None
    intensity: float
    bpm: float | None
    watts: float | None
    speed: float | None
    assumed: bool


def _threshold_speed(sport: str, thresholds: Thresholds) -> tuple[float | None, bool]:
    """(threshold speed in m/s, whether it is the default)."""
    if sport == "run":
        pace = thresholds.threshold_pace_s_per_km
        return 1000.0 / (pace or DEFAULT_RUN_THRESHOLD_PACE_S_PER_KM), pace is None
    if sport == "swim":
        pace = thresholds.swim_threshold_pace_s_per_km
        return 1000.0 / (pace or DEFAULT_SWIM_THRESHOLD_PACE_S_PER_KM), pace is None
    return None, False


def _speed_at(sport: str, intensity: float, threshold_speed: float | None) -> float | None:
    if sport == "ride":
        return DEFAULT_RIDE_SPEED_AT_FTP_M_S * max(intensity, 0.0) ** (1.0 / 3.0)
    if threshold_speed is None:
        return None
    return threshold_speed * intensity


def _hr_zone_bpm(zone: int, thresholds: Thresholds) -> float | None:
    bounds = thresholds.hr_zone_bounds_bpm
    if bounds is not None:
        return (bounds[zone - 1] + bounds[zone]) / 2.0
    if thresholds.hr_max_bpm is not None:
        return thresholds.hr_max_bpm * (HRMAX_FIVE_ZONES[zone - 1] + HRMAX_FIVE_ZONES[zone]) / 2
    return None


def _intensity_from_bpm(bpm: float, thresholds: Thresholds) -> float | None:
    lthr = thresholds.effective_lthr
    if lthr is None:
        return None
    return if_from_lthr_fraction(bpm / lthr)


def _step_plan(
    step: Step,
    sport: str,
    thresholds: Thresholds,
    threshold_speed: float | None,
    missing: set[str],
) -> _StepPlan:
    defaults = DEFAULT_STEP_IF[sport]
    target = step.target
    intensity: float | None = None
    bpm: float | None = None
    watts: float | None = None
    speed: float | None = None
    if isinstance(target, PowerRangeTarget):
        watts = (target.low_w + target.high_w) / 2.0
        if thresholds.ftp_w:
            intensity = watts / thresholds.ftp_w
        else:
            missing.add("ftp")
    elif isinstance(target, PowerZoneTarget):
        intensity = power_zone_midpoint(target.zone)
    elif isinstance(target, PaceRangeTarget):
        speed = 1000.0 / target.mid_s_per_km
        if threshold_speed is not None:
            intensity = speed / threshold_speed
        if sport == "run" and thresholds.threshold_pace_s_per_km is None:
            missing.add("threshold_pace")
    elif isinstance(target, HrRangeTarget):
        bpm = (target.low_bpm + target.high_bpm) / 2.0
        intensity = _intensity_from_bpm(bpm, thresholds)
        if intensity is None:
            missing.add("lthr")
    elif isinstance(target, HrZoneTarget):
        bpm = _hr_zone_bpm(target.zone, thresholds)
        if bpm is not None and thresholds.effective_lthr is not None:
            intensity = _intensity_from_bpm(bpm, thresholds)
        else:
            # No heart rates known: the zone's %HRmax midpoint, with LTHR at 90 % of HRmax.
            middle = (HRMAX_FIVE_ZONES[target.zone - 1] + HRMAX_FIVE_ZONES[target.zone]) / 2
            intensity = if_from_lthr_fraction(middle / LTHR_PER_HRMAX)
    if step.type == "rest":
        intensity = 0.0
    if intensity is None:
        intensity = defaults[step.type]
    if speed is None:
        moving = intensity if step.type != "rest" else defaults["recovery"]
        speed = _speed_at(sport, moving, threshold_speed)
    duration = step.duration
    assumed = False
    if isinstance(duration, TimeDuration):
        seconds = float(duration.seconds)
        meters = None if speed is None else (0.0 if step.type == "rest" else speed * seconds)
    elif isinstance(duration, DistanceDuration):
        meters = duration.meters
        seconds = meters / speed if speed else float(ASSUMED_STEP_S[step.type])
    else:
        assumed = True
        seconds = float(ASSUMED_STEP_S[step.type])
        meters = None if speed is None else (0.0 if step.type == "rest" else speed * seconds)
    return _StepPlan(seconds, meters, intensity, bpm, watts, speed, assumed)


def _choose_model(workout: PlannedWorkout, thresholds: Thresholds) -> LoadModel:
    kinds = {step.target.kind for step in workout.structure.distinct_steps()}
    if workout.sport == "ride" and thresholds.ftp_w and kinds & {"power_range", "power_zone"}:
        return "power"
    if workout.sport == "run" and thresholds.threshold_pace_s_per_km and "pace_range" in kinds:
        return "pace"
    if kinds & {"hr_zone", "hr_range"} and thresholds.hrss_ready:
        return "hr"
    return "default"


def estimate_workout(workout: PlannedWorkout, thresholds: Thresholds) -> WorkoutEstimate:
    """Duration, distance, load (with its model) and time per intensity zone of a workout."""
    sport = workout.sport
    threshold_speed, speed_is_default = _threshold_speed(sport, thresholds)
    missing: set[str] = set()
    cache: dict[int, _StepPlan] = {}
    plans: list[_StepPlan] = []
    for step in workout.structure.unrolled():
        key = id(step)
        if key not in cache:
            cache[key] = _step_plan(step, sport, thresholds, threshold_speed, missing)
        plans.append(cache[key])
    seconds = np.array([p.seconds for p in plans])
    intensity = np.array([p.intensity for p in plans])
    model = _choose_model(workout, thresholds)
    if model == "power":
        assert thresholds.ftp_w is not None
        ftp = thresholds.ftp_w
        watts = [p.watts if p.watts is not None else p.intensity * ftp for p in plans]
        load = planned_power_tss(seconds, watts, ftp_w=ftp)
    elif model == "pace":
        assert threshold_speed is not None
        speeds = [p.speed if p.speed is not None else 0.0 for p in plans]
        rests = [p.intensity == 0.0 for p in plans]
        speeds = [0.0 if rest else value for value, rest in zip(speeds, rests, strict=True)]
        load = planned_rtss(seconds, speeds, threshold_speed_m_s=threshold_speed)
    elif model == "hr":
        lthr, rest_hr, top = thresholds.lthr_bpm, thresholds.hr_rest_bpm, thresholds.hr_max_bpm
        assert lthr is not None and rest_hr is not None and top is not None
        heart_rates = [
            p.bpm if p.bpm is not None else min(top, lthr * lthr_fraction_from_if(p.intensity))
            for p in plans
        ]
        load = planned_hrss(
            seconds, heart_rates, lthr=lthr, hr_rest=rest_hr, hr_max=top, sex=thresholds.sex
        )
    else:
        load = planned_intensity_load(seconds, intensity)
    total = float(seconds.sum())
    zone_s = [0.0, 0.0, 0.0]
    for plan in plans:
        zone_s[three_zone(plan.intensity, THREE_ZONE_IF) - 1] += plan.seconds
    meters = [p.meters for p in plans]
    distance = None if any(m is None for m in meters) else float(sum(m or 0.0 for m in meters))
    if speed_is_default and sport in ("run", "swim") and distance:
        missing.add("threshold_pace" if sport == "run" else "swim_threshold_pace")
    hours = total / 3600.0
    factor = float(np.sqrt(load / (hours * 100.0))) if hours > 0 and load > 0 else 0.0
    return WorkoutEstimate(
        workout_id=workout.id,
        duration_s=total,
        distance_m=distance,
        load=float(load),
        load_model=model,
        intensity_factor=factor,
        zone_s=(zone_s[0], zone_s[1], zone_s[2]),
        assumed_steps=sum(p.assumed for p in plans),
        missing=tuple(sorted(missing)),
    )


def estimate_workouts(
    workouts: Iterable[PlannedWorkout], thresholds: Thresholds
) -> dict[str, WorkoutEstimate]:
    return {w.id: estimate_workout(w, thresholds) for w in workouts}


def estimate_plan(plan: Plan, thresholds: Thresholds) -> PlanEstimates:
    """Estimates of every workout of ``plan``."""
    return PlanEstimates(estimate_workouts(plan.workouts, thresholds))


def week_totals(plan: Plan, estimates: PlanEstimates) -> list[WeekTotals]:
    """Planned duration, load and distance per sport of each week of ``plan``."""
    size = len(plan.weeks)
    durations, loads, counts = [0.0] * size, [0.0] * size, [0] * size
    distances: list[dict[str, float]] = [{} for _ in range(size)]
    for workout in plan.workouts:
        index = plan.week_index(workout.date)
        estimate = estimates.get(workout.id)
        if index is None or estimate is None:
            continue
        durations[index] += estimate.duration_s
        loads[index] += estimate.load
        counts[index] += 1
        if estimate.distance_m is not None:
            by_sport = distances[index]
            by_sport[workout.sport] = by_sport.get(workout.sport, 0.0) + estimate.distance_m
    return [
        WeekTotals(
            start=week.start,
            duration_s=durations[index],
            load=loads[index],
            distance_m=MappingProxyType(distances[index]),
            workouts=counts[index],
        )
        for index, week in enumerate(plan.weeks)
    ]
