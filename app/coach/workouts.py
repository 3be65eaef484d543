"""A workout's structure: steps with a duration and a target, and repeat groups of steps.

This is the contract the planner, the Garmin and FIT mappings (issue 19), the daily coach and
missions (issue 20) share. It mirrors what a Garmin watch, a FIT workout file and most head
units understand:

* a **step** has a type (``warmup``, ``interval``, ``recovery``, ``rest``, ``cooldown``,
  ``other``), a **duration** (``time`` in seconds, ``distance`` in metres, ``lap_button``: until
  the athlete presses lap, ``open``: no end condition) and a **target** (``none``, ``hr_zone``
  1–5, ``hr_range`` in bpm, ``pace_range`` in seconds per km, ``power_zone`` 1–7,
  ``power_range`` in W, ``cadence`` in rpm — steps per minute for runs) and an optional note;
* a **repeat group** repeats its steps ``times`` times (2–99). Repeat groups hold steps only:
  **one level of nesting**, which covers interval sessions such as 3 × (5 × 400 m / 200 m) as
  three groups, and is what every device maps without surprises.

Every model forbids unknown fields, and every rule the validators enforce raises a
:class:`pydantic_core.PydanticCustomError` whose ``type`` is a stable code (``hr_range_order``,
…) with the numbers in its context, so a service can show the error in the owner's language
(``app.coach.messages``). Which durations and targets a sport allows is checked with the
workout's sport (:func:`sport_errors`), since a pace of 1:50/100 m is fine in a pool and absurd
on a run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

StepType = Literal["warmup", "interval", "recovery", "rest", "cooldown", "other"]
STEP_TYPES: tuple[StepType, ...] = ("warmup", "interval", "recovery", "rest", "cooldown", "other")

WorkoutSport = Literal["run", "ride", "swim", "strength", "other"]
SPORTS: tuple[WorkoutSport, ...] = ("run", "ride", "swim", "strength", "other")

MAX_STEP_SECONDS = 24 * 3600
MAX_STEP_METERS = 500_000
HR_LIMITS_BPM = (30, 230)
POWER_LIMITS_W = (0, 2500)
CADENCE_LIMITS = (0, 250)
PACE_LIMITS_S_PER_KM = (60.0, 3600.0)
"""The widest pace any sport accepts (1:00/km to 60:00/km); each sport narrows it below."""

SPORT_PACE_LIMITS_S_PER_KM: dict[str, tuple[float, float]] = {
    "run": (120.0, 1200.0),  # 2:00/km (faster than the world record) to 20:00/km (a walk)
    "swim": (500.0, 3000.0),  # 0:50/100 m to 5:00/100 m
}
SPORT_CADENCE_LIMITS: dict[str, tuple[int, int]] = {
    "ride": (20, 200),  # crank revolutions per minute
    "run": (60, 240),  # steps per minute (Garmin shows running cadence in spm)
}
MAX_REPEAT_TIMES = 99
MAX_STEPS = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _error(code: str, message: str, **context: object) -> PydanticCustomError:
    return PydanticCustomError(code, message, context)


def format_pace(seconds_per_km: float) -> str:
    """``4:05/km``: how the English error messages show a pace."""
    whole = round(seconds_per_km)
    return f"{whole // 60}:{whole % 60:02d}/km"


# --------------------------------------------------------------------------------------------
# Durations


class TimeDuration(_Strict):
    """The step ends after a number of seconds."""

    kind: Literal["time"] = Field(description="Ends after `seconds`.")
    seconds: int = Field(
        ge=1, le=MAX_STEP_SECONDS, description="Length of the step in seconds (1 s to 24 h)."
    )


class DistanceDuration(_Strict):
    """The step ends after a distance (the usual duration for swims)."""

    kind: Literal["distance"] = Field(description="Ends after `meters`.")
    meters: float = Field(
        gt=0, le=MAX_STEP_METERS, description="Length of the step in metres (up to 500 km)."
    )


class LapButtonDuration(_Strict):
    """The step ends when the athlete presses the lap button."""

    kind: Literal["lap_button"] = Field(description="Ends when the lap button is pressed.")


class OpenDuration(_Strict):
    """The step has no end condition (the athlete moves on by hand)."""

    kind: Literal["open"] = Field(description="No end condition.")


Duration = Annotated[
    TimeDuration | DistanceDuration | LapButtonDuration | OpenDuration,
    Field(discriminator="kind"),
]


# --------------------------------------------------------------------------------------------
# Targets


class NoTarget(_Strict):
    """No target: the athlete goes by feel (or by the step type)."""

    kind: Literal["none"] = Field(description="No target.")


class HrZoneTarget(_Strict):
    """Stay in a heart-rate zone of the watch's five zones."""

    kind: Literal["hr_zone"] = Field(description="Heart-rate zone.")
    zone: int = Field(ge=1, le=5, description="Heart-rate zone number, 1 (easiest) to 5.")


class HrRangeTarget(_Strict):
    """Stay between two heart rates."""

    kind: Literal["hr_range"] = Field(description="Heart-rate range in beats per minute.")
    low_bpm: int = Field(
        ge=HR_LIMITS_BPM[0], le=HR_LIMITS_BPM[1], description="Lowest heart rate (30–230 bpm)."
    )
    high_bpm: int = Field(
        ge=HR_LIMITS_BPM[0], le=HR_LIMITS_BPM[1], description="Highest heart rate (30–230 bpm)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> HrRangeTarget:
        if self.low_bpm > self.high_bpm:
            raise _error(
                "hr_range_order",
                "heart-rate range: low_bpm {low} is above high_bpm {high}",
                low=self.low_bpm,
                high=self.high_bpm,
            )
        return self


class PaceRangeTarget(_Strict):
    """Run (or swim) between two paces, in seconds per kilometre.

    The bounds are named by what they mean, not low/high, because a faster pace is a smaller
    number: ``fast_s_per_km`` 240 and ``slow_s_per_km`` 255 mean 4:00–4:15/km.
    """

    kind: Literal["pace_range"] = Field(description="Pace range in seconds per kilometre.")
    fast_s_per_km: float = Field(
        ge=PACE_LIMITS_S_PER_KM[0],
        le=PACE_LIMITS_S_PER_KM[1],
        description=(
            "The fast end of the range in seconds per km (the smaller number): 240 is 4:00/km. "
            "Swims use seconds per km too: 1:50/100 m is 1100."
        ),
    )
    slow_s_per_km: float = Field(
        ge=PACE_LIMITS_S_PER_KM[0],
        le=PACE_LIMITS_S_PER_KM[1],
        description="The slow end of the range in seconds per km (the larger number).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> PaceRangeTarget:
        if self.fast_s_per_km > self.slow_s_per_km:
            raise _error(
                "pace_range_order",
                "pace range: fast_s_per_km {fast} is slower than slow_s_per_km {slow} "
                "(a faster pace is a smaller number of seconds per km)",
                fast=format_pace(self.fast_s_per_km),
                slow=format_pace(self.slow_s_per_km),
            )
        return self

    @property
    def mid_s_per_km(self) -> float:
        """The middle of the range, which the athlete aims for."""
        return (self.fast_s_per_km + self.slow_s_per_km) / 2.0


class PowerZoneTarget(_Strict):
    """Ride in a power zone of Coggan's seven levels (from FTP)."""

    kind: Literal["power_zone"] = Field(description="Power zone (Coggan's levels).")
    zone: int = Field(
        ge=1, le=7, description="Power zone, 1 (active recovery) to 7 (neuromuscular)."
    )


class PowerRangeTarget(_Strict):
    """Ride between two powers, in watts."""

    kind: Literal["power_range"] = Field(description="Power range in watts.")
    low_w: int = Field(
        ge=POWER_LIMITS_W[0], le=POWER_LIMITS_W[1], description="Lowest power (0–2500 W)."
    )
    high_w: int = Field(
        ge=POWER_LIMITS_W[0], le=POWER_LIMITS_W[1], description="Highest power (0–2500 W)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> PowerRangeTarget:
        if self.low_w > self.high_w:
            raise _error(
                "power_range_order",
                "power range: low_w {low} is above high_w {high}",
                low=self.low_w,
                high=self.high_w,
            )
        return self


class CadenceTarget(_Strict):
    """Pedal (rpm) or step (steps per minute, runs) at a cadence range."""

    kind: Literal["cadence"] = Field(description="Cadence range.")
    low_rpm: int = Field(
        ge=CADENCE_LIMITS[0],
        le=CADENCE_LIMITS[1],
        description="Lowest cadence: rpm for rides, steps per minute for runs.",
    )
    high_rpm: int = Field(
        ge=CADENCE_LIMITS[0],
        le=CADENCE_LIMITS[1],
        description="Highest cadence: rpm for rides, steps per minute for runs.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> CadenceTarget:
        if self.low_rpm > self.high_rpm:
            raise _error(
                "cadence_range_order",
                "cadence range: low_rpm {low} is above high_rpm {high}",
                low=self.low_rpm,
                high=self.high_rpm,
            )
        return self


Target = Annotated[
    NoTarget
    | HrZoneTarget
    | HrRangeTarget
    | PaceRangeTarget
    | PowerZoneTarget
    | PowerRangeTarget
    | CadenceTarget,
    Field(discriminator="kind"),
]
TargetKind = Literal[
    "none", "hr_zone", "hr_range", "pace_range", "power_zone", "power_range", "cadence"
]


# --------------------------------------------------------------------------------------------
# Steps and repeat groups


class Step(_Strict):
    """One step of a workout: a type, how long, at what target, and an optional note."""

    kind: Literal["step"] = Field(description="A single step.")
    type: StepType = Field(
        description=(
            "warmup, interval (the work: shown on a watch as Run/Bike/Swim), recovery "
            "(easy between intervals), rest (standing still), cooldown or other."
        )
    )
    duration: Duration = Field(description="When the step ends.")
    target: Target = Field(
        default_factory=lambda: NoTarget(kind="none"), description="What to aim for."
    )
    note: str | None = Field(
        default=None, max_length=200, description="A short cue shown with the step."
    )


class RepeatGroup(_Strict):
    """Steps repeated ``times`` times. Holds steps only (one level of nesting)."""

    kind: Literal["repeat"] = Field(description="A repeat group.")
    times: int = Field(
        ge=2, le=MAX_REPEAT_TIMES, description="How many times the steps are done (2–99)."
    )
    steps: list[Step] = Field(
        min_length=1,
        max_length=20,
        description="The steps of one repetition, in order (steps only: no nested repeats).",
    )


StructureItem = Annotated[Step | RepeatGroup, Field(discriminator="kind")]


class WorkoutStructure(_Strict):
    """The steps of a workout in order; repeat groups may appear among them."""

    steps: list[StructureItem] = Field(
        min_length=1,
        max_length=MAX_STEPS,
        description="Steps and repeat groups in the order they are done.",
    )

    @model_validator(mode="after")
    def _bounded(self) -> WorkoutStructure:
        total = sum(
            item.times * len(item.steps) if isinstance(item, RepeatGroup) else 1
            for item in self.steps
        )
        if total > 1000:
            raise _error(
                "structure_too_long",
                "the workout unrolls to {steps} steps; at most 1000 are allowed",
                steps=total,
            )
        return self

    def unrolled(self) -> Iterator[Step]:
        """Every step in the order it is done, repeat groups written out."""
        for item in self.steps:
            if isinstance(item, RepeatGroup):
                for _ in range(item.times):
                    yield from item.steps
            else:
                yield item

    def distinct_steps(self) -> Iterator[Step]:
        """Every step as written (a repeat group's steps once each)."""
        for item in self.steps:
            if isinstance(item, RepeatGroup):
                yield from item.steps
            else:
                yield item


# --------------------------------------------------------------------------------------------
# What each sport allows

SPORT_TARGETS: dict[str, frozenset[str]] = {
    "run": frozenset({"none", "hr_zone", "hr_range", "pace_range", "cadence"}),
    "ride": frozenset({"none", "hr_zone", "hr_range", "power_zone", "power_range", "cadence"}),
    "swim": frozenset({"none", "hr_zone", "hr_range", "pace_range"}),
    "strength": frozenset({"none", "hr_zone", "hr_range"}),
    "other": frozenset({"none", "hr_zone", "hr_range"}),
}
"""Targets each sport accepts. Power is a cycling target (FTP is a cycling threshold, so a
running power target would have no load model); pace is for runs and swims."""


def sport_errors(sport: str, structure: WorkoutStructure) -> list[PydanticCustomError]:
    """What the structure does that ``sport`` does not allow (empty when it is fine).

    Swims go by distance: their steps end by distance, the lap button or nothing — only rest
    steps may last a time (15 s between 100s). Strength and other sessions go by time, the lap
    button or nothing (Domestique has no speed to turn their distance into time).
    """
    found: list[PydanticCustomError] = []
    allowed = SPORT_TARGETS[sport]
    for number, step in enumerate(structure.distinct_steps(), start=1):
        kind = step.target.kind
        if kind not in allowed:
            found.append(
                _error(
                    "target_not_for_sport",
                    "step {step}: a {target} target is not available for a {sport} workout",
                    step=number,
                    target=kind,
                    sport=sport,
                )
            )
        duration = step.duration.kind
        if sport == "swim" and duration == "time" and step.type != "rest":
            found.append(
                _error(
                    "swim_step_by_time",
                    "step {step}: swim steps end by distance, the lap button or nothing; only "
                    "rest steps last a time",
                    step=number,
                )
            )
        if sport in ("strength", "other") and duration == "distance":
            found.append(
                _error(
                    "distance_not_for_sport",
                    "step {step}: a {sport} workout cannot have steps by distance",
                    step=number,
                    sport=sport,
                )
            )
        target = step.target
        if isinstance(target, PaceRangeTarget) and sport in SPORT_PACE_LIMITS_S_PER_KM:
            low, high = SPORT_PACE_LIMITS_S_PER_KM[sport]
            if target.fast_s_per_km < low or target.slow_s_per_km > high:
                found.append(
                    _error(
                        "pace_out_of_range",
                        "step {step}: a {sport} pace must lie between {fastest} and {slowest}",
                        step=number,
                        sport=sport,
                        fastest=format_pace(low),
                        slowest=format_pace(high),
                    )
                )
        if isinstance(target, CadenceTarget) and sport in SPORT_CADENCE_LIMITS:
            low_c, high_c = SPORT_CADENCE_LIMITS[sport]
            if target.low_rpm < low_c or target.high_rpm > high_c:
                found.append(
                    _error(
                        "cadence_out_of_range",
                        "step {step}: a {sport} cadence must lie between {low} and {high}",
                        step=number,
                        sport=sport,
                        low=low_c,
                        high=high_c,
                    )
                )
    return found


# --------------------------------------------------------------------------------------------
# Changing a structure (used by the guardrails)


def _scaled_duration(duration: TimeDuration | DistanceDuration, factor: float, sport: str):
    if isinstance(duration, TimeDuration):
        # Whole 5 s under a minute, whole 15 s above: what a coach would write.
        grain = 5 if duration.seconds < 120 else 15
        seconds = max(grain, int(duration.seconds * factor // grain * grain))
        return TimeDuration(kind="time", seconds=min(seconds, duration.seconds))
    grain_m = 25.0 if sport == "swim" else 10.0
    meters = max(grain_m, duration.meters * factor // grain_m * grain_m)
    return DistanceDuration(kind="distance", meters=min(meters, duration.meters))


def scale_structure(structure: WorkoutStructure, factor: float, sport: str) -> WorkoutStructure:
    """The structure with every timed and measured step shortened by ``factor`` (0 < f ≤ 1).

    Targets, step types and repeat counts stay: the session keeps its intensity and its shape
    and gets shorter, as a volume cut should (Bosquet 2007 for tapers; recovery weeks likewise).
    Lengths are rounded down to whole 5 s (15 s above two minutes), 10 m, or 25 m (a pool
    length) for swims, never below one grain. Lap-button and open steps are unchanged.
    """
    if not 0 < factor <= 1:
        raise ValueError("factor must be in (0, 1]")

    def scale_step(step: Step) -> Step:
        if isinstance(step.duration, TimeDuration | DistanceDuration):
            return step.model_copy(
                update={"duration": _scaled_duration(step.duration, factor, sport)}
            )
        return step

    items: list[Step | RepeatGroup] = []
    for item in structure.steps:
        if isinstance(item, RepeatGroup):
            items.append(item.model_copy(update={"steps": [scale_step(s) for s in item.steps]}))
        else:
            items.append(scale_step(item))
    return structure.model_copy(update={"steps": items})
