"""How much of a done workout's time was spent inside its planned steps' targets.

Pure: the service passes the workout's structure, the thresholds the activity's metrics used,
and the activity's samples (elapsed seconds from its start, channels as arrays) with the
elapsed seconds at which its laps began; nothing here reads a clock or a database.

**Laying the steps on the activity.** The steps, repeat groups written out, are laid one after
the other from the activity's start by elapsed time: a *time* step ends after its seconds; a
*distance* step once the recorded distance has grown by its meters (an activity without a
distance channel cannot place it: the steps from there on are not laid); a *lap-button* or
*open* step ends where the athlete's next lap began — without laps there is nothing to end it
by, so it is skipped (it takes no time and the next step starts where it would have). Steps
that would begin after the activity ended are not laid; the last one laid ends with it.

**Counting.** Each sample counts for the time until the next one (at most
:data:`MAX_SAMPLE_GAP_S`, so a pause or a gap in the recording does not count; the last sample
counts one second). A sample of a step with a target counts as *targeted* when it has a value
for the target's channel, and *in target* when that value lies within the target's bounds
(inclusive, as a watch's alert does): heart-rate range (bpm), heart-rate zone (the watch's
zones, or Garmin's default %HRmax zones from the HRmax the activity's metrics used), pace range
(speed between the slow and fast ends), power range (W) and power zone (Coggan's levels as
fractions of FTP, Allen & Coggan). Steps without a target, and cadence targets, count for
neither; a target whose threshold is unknown (a power zone without FTP) neither.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from app.analytics.planned import HRMAX_FIVE_ZONES, POWER_ZONE_FTP_FRACTIONS
from app.coach.estimate import Thresholds
from app.coach.workouts import (
    DistanceDuration,
    HrRangeTarget,
    HrZoneTarget,
    PaceRangeTarget,
    PowerRangeTarget,
    PowerZoneTarget,
    Step,
    TimeDuration,
    WorkoutStructure,
)

Channel = Literal["heart_rate", "power", "speed"]

MAX_SAMPLE_GAP_S = 5.0
"""Longest time one sample counts for (1 Hz recordings; smart recording writes every few
seconds). Domestique's choice."""


@dataclass(frozen=True)
class TargetBounds:
    channel: Channel
    low: float
    high: float


@dataclass(frozen=True)
class TimeInTarget:
    """Seconds of targeted steps with a value for their target's channel, and of those the
    seconds inside the target."""

    in_target_s: float
    targeted_s: float

    @property
    def share(self) -> float | None:
        """``in_target_s / targeted_s``; ``None`` when nothing was targeted."""
        return self.in_target_s / self.targeted_s if self.targeted_s > 0 else None


def target_bounds(step: Step, thresholds: Thresholds) -> TargetBounds | None:
    """The channel and bounds a step's target asks for; ``None`` when it asks for none this
    module counts, or a threshold it needs is unknown."""
    target = step.target
    if isinstance(target, HrRangeTarget):
        return TargetBounds("heart_rate", float(target.low_bpm), float(target.high_bpm))
    if isinstance(target, HrZoneTarget):
        bounds = thresholds.hr_zone_bounds_bpm
        if bounds is not None:
            return TargetBounds("heart_rate", bounds[target.zone - 1], bounds[target.zone])
        if thresholds.hr_max_bpm is None:
            return None
        top = thresholds.hr_max_bpm
        low, high = HRMAX_FIVE_ZONES[target.zone - 1], HRMAX_FIVE_ZONES[target.zone]
        return TargetBounds("heart_rate", low * top, high * top)
    if isinstance(target, PaceRangeTarget):
        return TargetBounds("speed", 1000.0 / target.slow_s_per_km, 1000.0 / target.fast_s_per_km)
    if isinstance(target, PowerRangeTarget):
        return TargetBounds("power", float(target.low_w), float(target.high_w))
    if isinstance(target, PowerZoneTarget):
        if not thresholds.ftp_w:
            return None
        low, high = POWER_ZONE_FTP_FRACTIONS[target.zone]
        return TargetBounds("power", low * thresholds.ftp_w, high * thresholds.ftp_w)
    return None


@dataclass(frozen=True)
class LaidStep:
    """A step placed on the activity: ``start_s`` ≤ elapsed < ``end_s``."""

    step: Step
    start_s: float
    end_s: float


def lay_steps(
    structure: WorkoutStructure,
    elapsed_s: NDArray[np.float64],
    distance_m: NDArray[np.float64] | None,
    lap_starts_s: Sequence[float],
) -> list[LaidStep]:
    """The steps placed on the activity's elapsed time (see the module's docstring)."""
    if elapsed_s.size == 0:
        return []
    finish = float(elapsed_s[-1]) + 1.0
    known_distance = None
    if distance_m is not None:
        finite = np.isfinite(distance_m)
        if finite.any():
            # Cumulative distance never shrinks; a recording glitch must not end a step early.
            known_distance = (elapsed_s[finite], np.maximum.accumulate(distance_m[finite]))
    boundaries = sorted(s for s in lap_starts_s if s > 0.0)
    laid: list[LaidStep] = []
    cursor = 0.0
    for step in structure.unrolled():
        if cursor >= finish:
            break
        duration = step.duration
        if isinstance(duration, TimeDuration):
            end = cursor + duration.seconds
        elif isinstance(duration, DistanceDuration):
            if known_distance is None:
                break
            times, meters = known_distance
            goal = float(np.interp(cursor, times, meters)) + duration.meters
            index = int(np.searchsorted(meters, goal, side="left"))
            end = float(times[index]) if index < times.size else finish
        else:  # lap button or open: the next lap the athlete began
            if not boundaries:
                continue
            end = next((s for s in boundaries if s > cursor + 0.5), finish)
        end = min(end, finish)
        laid.append(LaidStep(step, cursor, end))
        cursor = end
    return laid


def time_in_target(
    structure: WorkoutStructure,
    thresholds: Thresholds,
    *,
    elapsed_s: NDArray[np.float64],
    channels: Mapping[str, NDArray[np.float64]],
    lap_starts_s: Sequence[float] = (),
) -> TimeInTarget:
    """Seconds targeted and seconds in target of a done workout (see the module's docstring).
    ``elapsed_s`` ascending, ``channels`` the samples' ``heart_rate``, ``power``, ``speed`` and
    ``distance`` (NaN where a sample has none)."""
    elapsed = np.asarray(elapsed_s, dtype=np.float64)
    if elapsed.size == 0:
        return TimeInTarget(0.0, 0.0)
    weights = np.minimum(np.diff(elapsed, append=elapsed[-1] + 1.0), MAX_SAMPLE_GAP_S)
    laid = lay_steps(structure, elapsed, channels.get("distance"), lap_starts_s)
    in_target = targeted = 0.0
    for placed in laid:
        bounds = target_bounds(placed.step, thresholds)
        values = channels.get(bounds.channel) if bounds is not None else None
        if bounds is None or values is None:
            continue
        first = int(np.searchsorted(elapsed, placed.start_s, side="left"))
        last = int(np.searchsorted(elapsed, placed.end_s, side="left"))
        part, weight = values[first:last], weights[first:last]
        known = np.isfinite(part)
        targeted += float(weight[known].sum())
        inside = known & (part >= bounds.low) & (part <= bounds.high)
        in_target += float(weight[inside].sum())
    return TimeInTarget(in_target, targeted)
