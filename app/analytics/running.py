"""Grade-adjusted pace (GAP) from the Minetti et al. 2002 energy-cost curve, and NGP.

Source: Minetti, Moia, Roi, Susta & Ferretti (2002), "Energy cost of walking and running at
extreme uphill and downhill slopes", J Appl Physiol 93:1039–1046. The cost of running is

    C(i) = 155.4 i⁵ − 30.4 i⁴ − 43.3 i³ + 46.3 i² + 19.5 i + 3.6   [J·kg⁻¹·m⁻¹]

with ``i`` the gradient as a fraction (rise/run, 0.10 = 10 %), fitted over −0.45…+0.45.

GAP convention (``shared/reference/gap_vectors.json``): equal metabolic power, so the flat
speed that costs the same is ``v_flat = v · C(i)/C(0)`` and the GAP pace is
``pace · C(0)/C(i)``, with ``C(0) = 3.6``. Minetti over-credits descents compared with the
HR-based Strava model (at −10 % a 5:00/km becomes 8:22/km; reference NOTES §3.2): show GAP on
steep downhills with that caveat.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.analytics.curves import resample_to_1hz
from app.analytics.load import coggan_normalized
from app.analytics.samples import DEFAULT_MAX_GAP_S

FloatArray = NDArray[np.float64]

#: Minetti 2002 running-cost polynomial, highest power first (for :func:`numpy.polyval`).
MINETTI_RUNNING_COEFFICIENTS: tuple[float, ...] = (155.4, -30.4, -43.3, 46.3, 19.5, 3.6)
#: Cost of running on the flat, C(0), J·kg⁻¹·m⁻¹.
MINETTI_FLAT_COST = 3.6
#: The gradient range (fraction) the polynomial was fitted on; outside it, it is not physiology.
MINETTI_GRADE_RANGE: tuple[float, float] = (-0.45, 0.45)

#: Default width (m) of the distance window the grade is fitted over (NOTES §3.3: 10–50 m).
DEFAULT_GRADE_WINDOW_M = 50.0
#: Below this span of distance (m) inside a window the runner is standing: grade 0.
MIN_GRADE_SPAN_M = 1.0


def _as_output(values: NDArray[np.float64]) -> float | FloatArray:
    return float(values) if values.ndim == 0 else values


def minetti_cost(grade: ArrayLike, *, clamp: bool = True) -> float | FloatArray:
    """Energy cost of running C(i) in J·kg⁻¹·m⁻¹ at gradient ``grade`` (fraction).

    Minetti et al. 2002. With ``clamp`` (default) the gradient is first limited to
    :data:`MINETTI_GRADE_RANGE`, the range the polynomial was fitted on (it turns negative below
    about −0.7).
    """
    i = np.asarray(grade, dtype=np.float64)
    if clamp:
        i = np.clip(i, *MINETTI_GRADE_RANGE)
    return _as_output(np.polyval(MINETTI_RUNNING_COEFFICIENTS, i))


def minetti_cost_ratio(grade: ArrayLike, *, clamp: bool = True) -> float | FloatArray:
    """C(i)/C(0): the cost of running at ``grade`` relative to the flat (Minetti 2002)."""
    return _as_output(np.asarray(minetti_cost(grade, clamp=clamp)) / MINETTI_FLAT_COST)


def gap_speed_factor(grade: ArrayLike, *, clamp: bool = True) -> float | FloatArray:
    """Multiply a speed on ``grade`` by this to get the equal-cost flat speed: C(i)/C(0)."""
    return minetti_cost_ratio(grade, clamp=clamp)


def gap_pace_factor(grade: ArrayLike, *, clamp: bool = True) -> float | FloatArray:
    """Multiply a pace on ``grade`` by this to get the grade-adjusted pace: C(0)/C(i)."""
    return _as_output(1.0 / np.asarray(minetti_cost_ratio(grade, clamp=clamp)))


def grade_adjusted_pace(pace_s_per_km: ArrayLike, grade: ArrayLike) -> float | FloatArray:
    """GAP (s/km) of an actual pace on ``grade``: ``pace · C(0)/C(i)`` (Minetti 2002)."""
    pace = np.asarray(pace_s_per_km, dtype=np.float64)
    return _as_output(pace * np.asarray(gap_pace_factor(grade)))


def minetti_minimum() -> tuple[float, float]:
    """``(grade, cost)`` of the cheapest gradient of the Minetti running curve (≈ −0.181, 1.781).

    Found from the real roots of C′(i) inside the fitted range.
    """
    derivative = np.polyder(np.asarray(MINETTI_RUNNING_COEFFICIENTS))
    roots = np.roots(derivative)
    real = roots[np.isclose(roots.imag, 0.0)].real
    low, high = MINETTI_GRADE_RANGE
    inside = real[(real >= low) & (real <= high)]
    candidates = np.concatenate((inside, [low, high]))
    costs = np.polyval(MINETTI_RUNNING_COEFFICIENTS, candidates)
    k = int(np.argmin(costs))
    return float(candidates[k]), float(costs[k])


def grade(
    distance: ArrayLike,
    altitude: ArrayLike,
    *,
    window_m: float = DEFAULT_GRADE_WINDOW_M,
    clamp: tuple[float, float] | None = MINETTI_GRADE_RANGE,
) -> FloatArray:
    """Gradient (fraction) at each sample from altitude smoothed over a **distance** window.

    At each sample the grade is the slope of the least-squares line through every altitude
    sample whose distance lies within ±``window_m``/2 — a first-order Savitzky–Golay smoother
    in the distance domain. It is exact for a constant slope (also at the ends, where the
    window is cut short), averages altimeter noise over the window, and does not depend on the
    sampling rate or on standing still (a stop adds samples at one distance, not slope). All
    windows are evaluated at once from cumulative sums located with :func:`numpy.searchsorted`.

    Rules (NOTES §3.3): the grade is 0 where the window spans less than
    :data:`MIN_GRADE_SPAN_M` of distance (standing), clamped to ``clamp`` (by default Minetti's
    fitted range ±0.45; ``None`` = no clamp), and ``NaN`` where the distance is unknown or the
    activity has fewer than two samples with altitude. The distance is made non-decreasing
    first (GPS distance glitches).
    """
    d = np.asarray(distance, dtype=np.float64)
    a = np.asarray(altitude, dtype=np.float64)
    if d.shape != a.shape or d.ndim != 1:
        raise ValueError("distance and altitude must be 1-D arrays of the same length")
    out = np.full(d.shape, np.nan)
    known = np.isfinite(d)
    if not known.any():
        return out
    d = d.copy()
    d[known] = np.maximum.accumulate(d[known])
    usable = known & np.isfinite(a)
    if usable.sum() < 2:
        return out
    x0 = d[usable][0]
    x = d[usable] - x0  # small numbers keep the sums well conditioned
    y = a[usable] - a[usable].mean()
    s_x = np.concatenate(([0.0], np.cumsum(x)))
    s_xx = np.concatenate(([0.0], np.cumsum(x * x)))
    s_y = np.concatenate(([0.0], np.cumsum(y)))
    s_xy = np.concatenate(([0.0], np.cumsum(x * y)))
    q = d[known] - x0
    half = window_m / 2.0
    lo = np.searchsorted(x, q - half, side="left")
    hi = np.searchsorted(x, q + half, side="right")
    n = (hi - lo).astype(np.float64)
    sx = s_x[hi] - s_x[lo]
    sxx = s_xx[hi] - s_xx[lo]
    sy = s_y[hi] - s_y[lo]
    sxy = s_xy[hi] - s_xy[lo]
    spread = n * sxx - sx * sx
    span = np.where(hi > lo, x[np.maximum(hi - 1, 0)] - x[np.minimum(lo, x.size - 1)], 0.0)
    moving = (n >= 2) & (span >= MIN_GRADE_SPAN_M) & (spread > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(moving, (n * sxy - sx * sy) / np.where(moving, spread, 1.0), 0.0)
    if clamp is not None:
        slope = np.clip(slope, *clamp)
    out[known] = slope
    return out


def interval_speed(time: ArrayLike, distance: ArrayLike) -> FloatArray:
    """Speed (m/s) over the interval ending at each sample, ``Δdistance/Δtime``.

    The first sample takes the first interval's speed. Distance is made non-decreasing first;
    ``NaN`` where either end of an interval has no distance.
    """
    t = np.asarray(time, dtype=np.float64)
    d = np.asarray(distance, dtype=np.float64).copy()
    known = np.isfinite(d)
    d[known] = np.maximum.accumulate(d[known])
    if t.size < 2:
        return np.zeros(t.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.diff(d) / np.diff(t)
    return np.concatenate((v[:1], v))


def gap_speed(
    time: ArrayLike,
    distance: ArrayLike,
    altitude: ArrayLike,
    *,
    window_m: float = DEFAULT_GRADE_WINDOW_M,
) -> FloatArray:
    """Grade-adjusted speed (m/s) at each sample: ``v · C(i)/C(0)`` (Minetti 2002).

    ``v`` is :func:`interval_speed` and ``i`` is :func:`grade` over ``window_m``. Where the
    grade is unknown (no altitude) the sample counts as flat. Average GAP as **speed** (then
    convert to pace), never by averaging paces.
    """
    v = interval_speed(time, distance)
    i = np.nan_to_num(grade(distance, altitude, window_m=window_m), nan=0.0)
    return v * np.asarray(minetti_cost_ratio(i))


def normalized_graded_speed(
    time: ArrayLike,
    distance: ArrayLike,
    altitude: ArrayLike,
    *,
    window_m: float = DEFAULT_GRADE_WINDOW_M,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> float | None:
    """NGP as a speed (m/s): Coggan's normalisation applied to the GAP speed.

    TrainingPeaks does not publish its NGP algorithm (NOTES §2.3). Ours is the NP recipe
    (Coggan): resample :func:`gap_speed` to 1 Hz, drop pauses longer than ``max_gap_s``, take
    the 30 s trailing mean over full windows, raise to the 4th power, average, take the 4th
    root. Standing still inside the recording counts as zero speed, like zeros in NP; the
    interval spanning a pause does not count at all.
    ``None`` when fewer than 30 s remain.
    """
    t = np.asarray(time, dtype=np.float64)
    speed = gap_speed(t, distance, altitude, window_m=window_m)
    if t.size > 1:  # the interval that ends a pause is the pause, not running
        speed[1:] = np.where(np.diff(t) > max_gap_s, np.nan, speed[1:])
    _, series = resample_to_1hz(t, speed, max_gap_s=max_gap_s)
    return coggan_normalized(series)


def normalized_graded_pace(
    time: ArrayLike,
    distance: ArrayLike,
    altitude: ArrayLike,
    *,
    window_m: float = DEFAULT_GRADE_WINDOW_M,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> float | None:
    """NGP in s/km: ``1000 / normalized_graded_speed`` (see there for the convention)."""
    speed = normalized_graded_speed(
        time, distance, altitude, window_m=window_m, max_gap_s=max_gap_s
    )
    if speed is None or speed <= 0:
        return None
    return 1000.0 / speed
