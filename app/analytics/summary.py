"""Per-activity summary: moving time, distance, ascent/descent, averages and maxima.

Inputs are the stored channels (``app.records.Samples``): ``time`` in Unix seconds,
strictly increasing; other channels as float arrays of the same length, ``NaN`` = not recorded.

Conventions (our choices, each documented where it is made):

* **Moving time** counts an interval between two samples when its speed is at least
  ``min_speed_mps`` (0.5 m/s = 1.8 km/h, below any walk). The speed is the distance covered
  over the interval (``Δd/Δt``; a long interval that covered ground — smart recording, a GPS
  dropout — counts). Without distance it is the speed channel at the interval's end, and the
  interval must also be at most ``max_interval_s`` long (an instantaneous speed cannot vouch
  for a pause before it). Without either (indoor trainer, strength) an interval counts unless
  it is a pause, i.e. longer than ``max_interval_s``.
* **Averages** are time-weighted: each sample stands for the interval to the next one, capped
  at the typical (median) interval when the next interval is a pause, so smart recording does
  not over-weight steady stretches and a pause does not weigh at all
  (:func:`app.analytics.samples.sample_durations`). HR ignores zeros (0 bpm =
  no strap signal); power includes zeros (coasting is part of the ride); cadence excludes zeros
  (coasting is not a cadence) — as Garmin Edge's default data-averaging settings do.
* **Average speed** is distance ÷ moving time (pace is its inverse); maxima are plain maxima.
* **Ascent/descent**: see :func:`ascent_descent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.analytics.running import interval_speed
from app.analytics.samples import DEFAULT_MAX_GAP_S, sample_durations

FloatArray = NDArray[np.float64]

#: Slowest speed (m/s) that counts as moving.
MIN_MOVING_SPEED_MPS = 0.5
#: Longest interval (s) between samples that is not a pause (used when there is no speed).
MAX_INTERVAL_S = DEFAULT_MAX_GAP_S
#: Centred moving-average window (s) applied to altitude before counting climbs.
ALTITUDE_SMOOTHING_S = 10.0
#: Smallest rise or drop (m) counted as a climb or descent (GoldenCheetah's default threshold).
ELEVATION_HYSTERESIS_M = 3.0


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def moving_time(
    time: ArrayLike,
    *,
    distance: ArrayLike | None = None,
    speed: ArrayLike | None = None,
    min_speed_mps: float = MIN_MOVING_SPEED_MPS,
    max_interval_s: float = MAX_INTERVAL_S,
) -> float:
    """Seconds spent moving (see the module doc for the rule).

    Interval speed comes from ``distance`` where both ends have one, else from ``speed`` at the
    interval's end (short intervals only), else the interval counts when it is at most
    ``max_interval_s`` long.
    """
    t = np.asarray(time, dtype=np.float64)
    if t.size < 2:
        return 0.0
    dt = np.diff(t)
    short = dt <= max_interval_s
    moving = short.copy()
    if speed is not None:
        at_end = np.asarray(speed, dtype=np.float64)[1:]
        # An instantaneous speed says nothing about a pause before it: short intervals only.
        moving = np.where(np.isfinite(at_end), short & (at_end >= min_speed_mps), moving)
    if distance is not None:
        over_interval = interval_speed(t, distance)[1:]
        moving = np.where(np.isfinite(over_interval), over_interval >= min_speed_mps, moving)
    return float(dt[moving].sum())


def total_distance(distance: ArrayLike) -> float | None:
    """Distance covered (m): the sum of the forward steps of the cumulative distance channel.

    Robust to a channel that does not start at 0 (a split multisport leg) and to small
    backward GPS glitches (ignored). ``None`` without any distance.
    """
    d = np.asarray(distance, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return None
    return float(np.maximum.accumulate(d)[-1] - d[0])


def smooth_altitude(
    time: ArrayLike, altitude: ArrayLike, *, window_s: float = ALTITUDE_SMOOTHING_S
) -> FloatArray:
    """Centred moving average of altitude over ``window_s`` seconds of *time*.

    Near the ends the window shrinks symmetrically (the first and last samples are kept as
    recorded), so a straight-line profile is left unchanged. ``NaN`` samples must be removed by
    the caller. Vectorised with cumulative sums and :func:`numpy.searchsorted`.
    """
    t = np.asarray(time, dtype=np.float64)
    a = np.asarray(altitude, dtype=np.float64)
    if a.size == 0 or window_s <= 0:
        return a.copy()
    half = np.minimum(np.minimum(t - t[0], t[-1] - t), window_s / 2.0)
    lo = np.searchsorted(t, t - half, side="left")
    hi = np.searchsorted(t, t + half, side="right")
    cumulative = np.concatenate(([0.0], np.cumsum(a)))
    return (cumulative[hi] - cumulative[lo]) / (hi - lo)


def _turning_points(values: FloatArray) -> FloatArray:
    """The first value, every local extremum (plateaus collapsed) and the last value."""
    if values.size < 3:
        return values
    changed = np.concatenate(([True], np.diff(values) != 0))
    distinct = values[changed]
    if distinct.size < 3:
        return distinct
    direction = np.sign(np.diff(distinct))
    turns = np.flatnonzero(direction[1:] != direction[:-1]) + 1
    return np.concatenate((distinct[:1], distinct[turns], distinct[-1:]))


def _peak_valley(points: FloatArray, threshold: float) -> tuple[float, float]:
    """Sum of rises and of drops between alternating extrema at least ``threshold`` apart.

    Runs over turning points only (a few per cent of the samples once smoothed).
    """
    ascent = descent = 0.0
    if points.size < 2:
        return ascent, descent
    low = high = float(points[0])  # extremes seen before the first confirmed swing
    anchor = candidate = 0.0
    rising: bool | None = None
    for value in points[1:].tolist():
        if rising is None:
            low, high = min(low, value), max(high, value)
            if value - low >= threshold:
                rising, anchor, candidate = True, low, value
            elif high - value >= threshold:
                rising, anchor, candidate = False, high, value
        elif rising:
            if value > candidate:
                candidate = value
            elif candidate - value >= threshold:
                ascent += candidate - anchor
                rising, anchor, candidate = False, candidate, value
        else:
            if value < candidate:
                candidate = value
            elif value - candidate >= threshold:
                descent += anchor - candidate
                rising, anchor, candidate = True, candidate, value
    if rising is True:
        ascent += candidate - anchor
    elif rising is False:
        descent += anchor - candidate
    return ascent, descent


@dataclass(frozen=True, slots=True)
class Elevation:
    ascent_m: float
    descent_m: float


def ascent_descent(
    time: ArrayLike,
    altitude: ArrayLike,
    *,
    smoothing_s: float = ALTITUDE_SMOOTHING_S,
    hysteresis_m: float = ELEVATION_HYSTERESIS_M,
) -> Elevation | None:
    """Total ascent and descent (m): smoothed altitude, then peak–valley hysteresis.

    1. :func:`smooth_altitude` over ``smoothing_s`` (10 s) takes out altimeter jitter;
    2. the profile is reduced to alternating peaks and valleys, dropping every swing smaller
       than ``hysteresis_m`` (3 m); ascent is the sum of the remaining rises, descent of the
       drops. A climb that clears the threshold counts in full, a wobble below it not at all.

    Compared with others: GoldenCheetah (``BasicRideMetrics.cpp`` ``ElevationGain``) uses the
    same 3 m default but on raw altitude with a ratchet — it adds a rise when altitude exceeds
    the last reference by more than 3 m — so it counts in steps and loses up to 3 m at the top
    of each climb; on a clean climb it reads slightly lower than this. Garmin does not publish
    its method; its totals behave like smoothing plus a hysteresis of a few metres, so on
    barometric data expect agreement within a few per cent, and larger gaps on GPS-only altitude
    (noisier; raise ``smoothing_s``). ``None`` without altitude.
    """
    t = np.asarray(time, dtype=np.float64)
    a = np.asarray(altitude, dtype=np.float64)
    keep = np.isfinite(t) & np.isfinite(a)
    if not keep.any():
        return None
    smoothed = smooth_altitude(t[keep], a[keep], window_s=smoothing_s)
    ascent, descent = _peak_valley(_turning_points(smoothed), hysteresis_m)
    return Elevation(ascent_m=ascent, descent_m=descent)


def average_and_max(
    time: ArrayLike,
    values: ArrayLike,
    *,
    include_zeros: bool = True,
    max_interval_s: float = MAX_INTERVAL_S,
) -> tuple[float | None, float | None]:
    """Time-weighted average and maximum of a channel (see the module doc); ``None`` if empty."""
    t = np.asarray(time, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    weights = sample_durations(t, max_gap_s=max_interval_s)
    mask = np.isfinite(v)
    if not include_zeros:
        mask &= v != 0
    if not mask.any() or weights[mask].sum() <= 0:
        return None, None
    average = float(np.average(v[mask], weights=weights[mask]))
    return average, float(v[mask].max())


@dataclass(frozen=True, slots=True)
class ActivitySummary:
    """Headline numbers of one activity; ``None`` = the channel was not recorded."""

    elapsed_s: float
    moving_s: float
    distance_m: float | None
    ascent_m: float | None
    descent_m: float | None
    avg_hr: float | None
    max_hr: float | None
    avg_power: float | None
    max_power: float | None
    avg_cadence: float | None
    max_cadence: float | None
    avg_speed_mps: float | None
    max_speed_mps: float | None
    avg_pace_s_per_km: float | None


def summarize(
    time: ArrayLike,
    channels: Mapping[str, ArrayLike],
    *,
    min_speed_mps: float = MIN_MOVING_SPEED_MPS,
    max_interval_s: float = MAX_INTERVAL_S,
    smoothing_s: float = ALTITUDE_SMOOTHING_S,
    hysteresis_m: float = ELEVATION_HYSTERESIS_M,
) -> ActivitySummary:
    """Summary of one activity from ``time`` and channels named as in ``SAMPLE_CHANNELS``
    (``summarize(samples.time, samples.channels)``); a missing key = not recorded."""
    t = np.asarray(time, dtype=np.float64)

    def channel(name: str) -> FloatArray | None:
        values = channels.get(name)
        if values is None:
            return None
        array = np.asarray(values, dtype=np.float64)
        return array if np.isfinite(array).any() else None

    distance = channel("distance")
    speed = channel("speed")
    altitude = channel("altitude")
    moving = moving_time(
        t,
        distance=distance,
        speed=speed,
        min_speed_mps=min_speed_mps,
        max_interval_s=max_interval_s,
    )
    covered = total_distance(distance) if distance is not None else None
    elevation = (
        ascent_descent(t, altitude, smoothing_s=smoothing_s, hysteresis_m=hysteresis_m)
        if altitude is not None
        else None
    )

    def stats(name: str, include_zeros: bool) -> tuple[float | None, float | None]:
        values = channel(name)
        if values is None:
            return None, None
        return average_and_max(
            t, values, include_zeros=include_zeros, max_interval_s=max_interval_s
        )

    avg_hr, max_hr = stats("heart_rate", include_zeros=False)
    avg_power, max_power = stats("power", include_zeros=True)
    avg_cadence, max_cadence = stats("cadence", include_zeros=False)
    if speed is not None:
        max_speed = _finite_or_none(np.nanmax(speed))
    elif distance is not None and t.size > 1:
        max_speed = _finite_or_none(np.nanmax(interval_speed(t, distance)))
    else:
        max_speed = None
    avg_speed = covered / moving if covered is not None and moving > 0 else None
    return ActivitySummary(
        elapsed_s=float(t[-1] - t[0]) if t.size else 0.0,
        moving_s=moving,
        distance_m=covered,
        ascent_m=elevation.ascent_m if elevation else None,
        descent_m=elevation.descent_m if elevation else None,
        avg_hr=avg_hr,
        max_hr=max_hr,
        avg_power=avg_power,
        max_power=max_power,
        avg_cadence=avg_cadence,
        max_cadence=max_cadence,
        avg_speed_mps=avg_speed,
        max_speed_mps=max_speed,
        avg_pace_s_per_km=1000.0 / avg_speed if avg_speed else None,
    )
