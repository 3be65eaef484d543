"""Sensor artifacts: what a recording says that no body did, found and repaired before
thresholds are estimated from it.

A recording's extremes are exactly what estimates are made of (the highest heart rate, the best
20 minutes of power, the fastest mile), so one bad sample there moves an estimate that every
later activity's load and zones are computed with. Each cleaner below takes one channel as
recorded (``time`` in seconds, ``NaN`` = not recorded), finds the samples no body produced, and
returns a repaired copy and how many samples each rule caught:

* :func:`clean_heart_rate` — outside 30–220 bpm; spikes (a value far above or below its
  neighbourhood for up to 5 s: a heart cannot rise or fall by 20 bpm and come back that fast);
  optical HR locked onto the running cadence.
* :func:`clean_power` — outside 0–3000 W; spikes (a second or two far above the neighbourhood);
  dropouts (0 W while the cranks keep turning).
* :func:`clean_run_distance` — GPS or distance jumps (a speed no runner reaches).

Repair is GoldenCheetah's (``FixHRSpikes``, ``FixSpikes``, ``FixGaps``): a caught sample is
replaced by linear interpolation between the good samples either side, when those are at most
:data:`~app.analytics.samples.DEFAULT_MAX_GAP_S` apart (the project's rule for bridging a gap);
a longer stretch stays ``NaN`` and a mean-maximal window never spans it. Values missing in the
recording are bridged by the same rule, so a lost second does not break a 20-minute window.

Spikes are found with the **Hampel identifier** (Hampel 1974, *J. Am. Stat. Assoc.* 69:383–393;
as a filter: Pearson 2002, *IEEE Trans. Control Syst. Technol.* 10:55–63): a sample is an
outlier when it is farther from the median of its neighbourhood (``half_window`` samples either
side) than ``n_sigmas`` robust standard deviations (1.4826 × the neighbourhood's median absolute
deviation). A run of at most ``half_window`` bad samples cannot move that median, so it is
caught; a longer change is real. A ``floor`` in the channel's units keeps a steady stretch
(deviation ≈ 0) from turning every small wiggle into an outlier. Pure numpy: no database,
network or clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import median_filter

from app.analytics.samples import DEFAULT_MAX_GAP_S

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Scale of the median absolute deviation to a standard deviation for normal data.
MAD_TO_SIGMA = 1.4826

#: Heart rates a working heart can have (bpm). Above 220: GoldenCheetah's ``FixHRSpikes``
#: absolute maximum (its default), and the age-predicted maximum of a newborn by Fox's
#: ``220 − age``; recorded maxima of endurance athletes sit well below. Below 30 bpm no
#: exercising heart beats; a strap losing contact reads 0 (= missing) or a few beats.
HR_MIN_BPM = 30.0
HR_MAX_BPM = 220.0
#: Hampel neighbourhood for heart rate: 5 samples either side (≈ 5 s), 3 robust sigmas, and at
#: least 20 bpm. Heart rate follows work with a time constant of tens of seconds (the fast
#: vagal phase at the onset of exercise lasts about 10 s; recovery starts slower still), so a
#: rise or fall of 20 bpm that comes back within 5 s is the sensor, not the heart.
HR_SPIKE_HALF_WINDOW = 5
HR_SPIKE_FLOOR_BPM = 20.0
#: Optical heart rate locked onto the cadence: the reading follows the step (or stride) rate
#: within 3 bpm for at least 90 % of a minute (a known failure of wrist-worn optical sensors,
#: which pick up the arm's swing or the footstrike instead of the pulse).
CADENCE_LOCK_TOLERANCE_BPM = 3.0
CADENCE_LOCK_WINDOW = 60
CADENCE_LOCK_SHARE = 0.9
#: A change of heart rate no heart makes: 20 bpm within 5 samples (≈ 5 s), the same bound as
#: the spikes'; a cadence lock starts or ends with one, within 10 samples of its ends.
HR_STEP_BPM = 20.0
HR_STEP_SAMPLES = 5
HR_STEP_MARGIN = 10
#: An activity whose heart rate is more than this share artifacts says nothing about the
#: athlete's maximum: none of its heart rate feeds an estimate.
MAX_ARTIFACT_SHARE = 0.1

#: Power a human can produce (W). World-class track sprinters averaged about 1,600 W of maximal
#: power in Dorel et al. (2005, *Int J Sports Med* 26:739–746); the strongest riders are
#: reported near 2,500 W for a second. 3,000 W is beyond anyone.
POWER_MAX_W = 3000.0
#: Power spikes: up to 2 samples either side; a spike is more than 500 W *and* more than its
#: neighbourhood's median above it (twice the surrounding power) — legs cannot produce that and
#: stop again within a second or two; a real sprint builds up and lasts several seconds.
#: GoldenCheetah's ``FixSpikes`` flags values above a rolling average by a set variance.
POWER_SPIKE_HALF_WINDOW = 2
POWER_SPIKE_FLOOR_W = 500.0
POWER_SPIKE_RELATIVE = 1.0
#: Cadence (rpm) at which the cranks are turning: 0 W then is a dropout, not coasting.
PEDALLING_RPM = 1.0

#: No runner is faster (m/s): Usain Bolt's peak speed in the 100 m world record of 2009 was
#: 12.4 m/s (IAAF biomechanics report, Berlin 2009). A faster interval is a GPS or distance jump.
MAX_RUNNING_SPEED_MPS = 12.5
#: Intervals either side whose median speed replaces a jump's.
JUMP_SPEED_HALF_WINDOW = 30


@dataclass(frozen=True, slots=True)
class Cleaned:
    """A channel with its artifacts repaired.

    ``values``: the repaired series (``NaN`` where nothing trustworthy is left); ``artifacts``:
    samples (or, for distance, intervals) each rule caught; ``checked``: samples with a recorded
    value. ``share`` is the caught fraction of ``checked``.
    """

    values: FloatArray
    artifacts: dict[str, int] = field(default_factory=dict)
    checked: int = 0

    @property
    def count(self) -> int:
        return int(sum(self.artifacts.values()))

    @property
    def share(self) -> float:
        return self.count / self.checked if self.checked else 0.0


def hampel_outliers(
    values: ArrayLike,
    *,
    half_window: int,
    n_sigmas: float = 3.0,
    floor: float = 0.0,
    relative: float = 0.0,
    direction: str = "both",
) -> BoolArray:
    """Samples the Hampel identifier marks as outliers (``NaN`` samples are never marked).

    The neighbourhood of a sample is the ``half_window`` recorded (finite) samples either side.
    An outlier deviates from the neighbourhood's median ``m`` by more than
    ``max(n_sigmas · 1.4826 · MAD, floor, relative · |m|)``; ``direction`` ``"up"`` or
    ``"down"`` only looks one way. The first and last ``half_window`` samples are not judged:
    with a neighbourhood on one side only, a steady rise or fall there looks like an outlier.
    One SciPy median filter over the recorded samples; the MAD is taken only for the samples
    beyond ``floor`` and ``relative · |m|``, which every limit is at least.
    """
    x = np.asarray(values, dtype=np.float64)
    if half_window < 1:
        raise ValueError("half_window must be at least 1")
    if direction not in ("both", "up", "down"):
        raise ValueError("direction must be both, up or down")
    found = np.zeros(x.shape, dtype=bool)
    known = np.flatnonzero(np.isfinite(x))
    if known.size < 2 * half_window + 1:
        return found
    v = x[known]
    size = 2 * half_window + 1
    inner = slice(half_window, v.size - half_window)
    median = median_filter(v, size=size, mode="nearest")[inner]
    deviation = v[inner] - median
    if direction == "up":
        beyond = deviation
    elif direction == "down":
        beyond = -deviation
    else:
        beyond = np.abs(deviation)
    # Every limit is at least ``floor`` and ``relative · |m|``: only those samples need the
    # neighbourhood's MAD (few), so the full identifier costs one median filter.
    candidates = np.flatnonzero(beyond > np.maximum(floor, relative * np.abs(median)))
    outlier = np.zeros(beyond.shape, dtype=bool)
    if candidates.size:
        windows = sliding_window_view(v, size)[candidates]
        mad = np.median(np.abs(windows - median[candidates, None]), axis=1)
        outlier[candidates] = beyond[candidates] > n_sigmas * MAD_TO_SIGMA * mad
    found[known[half_window : v.size - half_window]] = outlier
    return found


def bridge(
    time: ArrayLike, values: ArrayLike, *, max_gap_s: float = DEFAULT_MAX_GAP_S
) -> FloatArray:
    """``values`` with each run of ``NaN`` samples filled by linear interpolation between the
    recorded samples either side, when those are at most ``max_gap_s`` apart in time; longer
    runs, and runs at either end, stay ``NaN``."""
    t = np.asarray(time, dtype=np.float64)
    v = np.array(values, dtype=np.float64)
    missing = ~np.isfinite(v)
    if not missing.any():
        return v
    good = np.flatnonzero(~missing)
    if good.size < 2:
        return v
    holes = np.flatnonzero(missing)
    after = np.searchsorted(good, holes)  # the next good sample's position in ``good``
    inside = (after > 0) & (after < good.size)
    holes, after = holes[inside], after[inside]
    left, right = good[after - 1], good[after]
    span = t[right] - t[left]
    ok = span <= max_gap_s
    holes, left, right, span = holes[ok], left[ok], right[ok], span[ok]
    weight = (t[holes] - t[left]) / np.where(span > 0, span, 1.0)
    v[holes] = v[left] + (v[right] - v[left]) * weight
    return v


def _repair(
    time: FloatArray, values: FloatArray, caught: BoolArray, artifacts: dict[str, int]
) -> Cleaned:
    recorded = int(np.isfinite(values).sum())
    marked = np.where(caught, np.nan, values)
    return Cleaned(values=bridge(time, marked), artifacts=artifacts, checked=recorded)


def _series(time: ArrayLike, values: ArrayLike) -> tuple[FloatArray, FloatArray]:
    t = np.asarray(time, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.shape != v.shape or t.ndim != 1:
        raise ValueError("time and values must be 1-D arrays of the same length")
    return t, v


def clean_heart_rate(
    time: ArrayLike,
    heart_rate: ArrayLike,
    *,
    cadence: ArrayLike | None = None,
    foot: bool = False,
) -> Cleaned:
    """Heart rate without what no heart does (rules and sources in the module doc).

    A reading of 0 is "no signal" (missing, not an artifact). Then, in order: readings outside
    :data:`HR_MIN_BPM`–:data:`HR_MAX_BPM` (``out_of_range``); Hampel spikes, ±5 samples, 3
    sigmas, at least 20 bpm (``spikes``); for foot sports with a cadence, readings within 3 bpm
    of the step or stride rate for 90 % of a minute (``cadence_lock``). Caught samples and
    recording gaps up to 10 s are bridged by interpolation.
    """
    t, hr = _series(time, heart_rate)
    hr = np.where(hr > 0, hr, np.nan)
    out_of_range = (hr < HR_MIN_BPM) | (hr > HR_MAX_BPM)
    plausible = np.where(out_of_range, np.nan, hr)
    spikes = hampel_outliers(plausible, half_window=HR_SPIKE_HALF_WINDOW, floor=HR_SPIKE_FLOOR_BPM)
    locked = np.zeros(hr.shape, dtype=bool)
    if foot and cadence is not None:
        steady = np.where(spikes, np.nan, plausible)
        locked = cadence_lock(steady, np.asarray(cadence, dtype=np.float64))
    artifacts = {
        "out_of_range": int(out_of_range.sum()),
        "spikes": int(spikes.sum()),
        "cadence_lock": int(locked.sum()),
    }
    return _repair(t, hr, out_of_range | spikes | locked, artifacts)


def cadence_lock(
    heart_rate: ArrayLike,
    cadence_rpm: ArrayLike,
    *,
    tolerance_bpm: float = CADENCE_LOCK_TOLERANCE_BPM,
    window: int = CADENCE_LOCK_WINDOW,
    share: float = CADENCE_LOCK_SHARE,
) -> BoolArray:
    """Samples where a running heart rate reads the cadence instead of the pulse.

    ``cadence_rpm`` is the recorded running cadence in strides per minute (FIT's unit); a
    sensor locks onto the stride rate or the step rate (twice it). A stretch is a candidate
    where, in every ``window`` samples, at least ``share`` match either within
    ``tolerance_bpm``. It is a lock only when the heart rate jumps into or out of it by a step
    no heart makes (:data:`HR_STEP_BPM` within :data:`HR_STEP_SAMPLES`, near either end): a
    heart rate that climbs steadily to the cadence and stays there — a race run at 170 bpm and
    170 steps per minute — is the heart's. The matching samples of a lock are returned.
    """
    hr = np.asarray(heart_rate, dtype=np.float64)
    rpm = np.asarray(cadence_rpm, dtype=np.float64)
    found = np.zeros(hr.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        matches = (np.abs(hr - rpm) <= tolerance_bpm) | (np.abs(hr - 2.0 * rpm) <= tolerance_bpm)
    matches &= np.isfinite(hr) & np.isfinite(rpm) & (rpm > 0)
    if hr.size < window or not matches.any():
        return found
    counts = np.concatenate(([0], np.cumsum(matches)))
    full = np.flatnonzero((counts[window:] - counts[:-window]) >= share * window)
    if full.size == 0:
        return found
    depth = np.zeros(hr.size + 1, dtype=np.int64)
    np.add.at(depth, full, 1)
    np.add.at(depth, full + window, -1)
    covered = np.cumsum(depth[:-1]) > 0
    near_step = _near(fast_changes(hr), HR_STEP_MARGIN)
    edges = np.diff(np.concatenate(([0], covered.astype(np.int8), [0])))
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if near_step[start] or near_step[stop - 1]:
            found[start:stop] = matches[start:stop]
    return found


def fast_changes(heart_rate: ArrayLike, *, step_bpm: float = 0.0, samples: int = 0) -> BoolArray:
    """Samples that start a change of at least ``step_bpm`` (default :data:`HR_STEP_BPM`)
    within ``samples`` (default :data:`HR_STEP_SAMPLES`) samples: faster than a heart."""
    hr = np.asarray(heart_rate, dtype=np.float64)
    step = step_bpm or HR_STEP_BPM
    k = samples or HR_STEP_SAMPLES
    found = np.zeros(hr.shape, dtype=bool)
    if hr.size <= k:
        return found
    with np.errstate(invalid="ignore"):
        found[:-k] = np.abs(hr[k:] - hr[:-k]) >= step
    return found


def _near(mask: BoolArray, margin: int) -> BoolArray:
    """``mask`` widened by ``margin`` samples either side."""
    counts = np.concatenate(([0], np.cumsum(mask)))
    idx = np.arange(mask.size)
    lo = np.clip(idx - margin, 0, mask.size)
    hi = np.clip(idx + margin + 1, 0, mask.size)
    return (counts[hi] - counts[lo]) > 0


def clean_power(time: ArrayLike, power: ArrayLike, *, cadence: ArrayLike | None = None) -> Cleaned:
    """Power without what no rider does (rules and sources in the module doc).

    In order: readings below 0 or above :data:`POWER_MAX_W` (``out_of_range``); Hampel spikes
    upward, ±2 samples, more than 500 W and more than the neighbourhood's median above it
    (``spikes``); 0 W while the cadence says the cranks turn, bridged like a gap
    (``dropouts``). Caught samples and recording gaps up to 10 s are bridged. A stretch of 0 W
    too long to bridge, or without a cadence to vouch for pedalling, is coasting and stays.
    """
    t, p = _series(time, power)
    out_of_range = (p < 0) | (p > POWER_MAX_W)
    plausible = np.where(out_of_range, np.nan, p)
    spikes = hampel_outliers(
        plausible,
        half_window=POWER_SPIKE_HALF_WINDOW,
        floor=POWER_SPIKE_FLOOR_W,
        relative=POWER_SPIKE_RELATIVE,
        direction="up",
    )
    zero_pedalling = np.zeros(p.shape, dtype=bool)
    if cadence is not None:
        rpm = np.asarray(cadence, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            zero_pedalling = (plausible == 0) & (rpm >= PEDALLING_RPM)
    repaired = bridge(t, np.where(out_of_range | spikes | zero_pedalling, np.nan, p))
    dropouts = zero_pedalling & np.isfinite(repaired)
    values = np.where(zero_pedalling & ~dropouts, 0.0, repaired)  # unbridged: coasting after all
    artifacts = {
        "out_of_range": int(out_of_range.sum()),
        "spikes": int(spikes.sum()),
        "dropouts": int(dropouts.sum()),
    }
    return Cleaned(values=values, artifacts=artifacts, checked=int(np.isfinite(p).sum()))


def clean_run_distance(time: ArrayLike, distance: ArrayLike) -> Cleaned:
    """A run's cumulative distance without GPS or distance jumps.

    An interval covered faster than :data:`MAX_RUNNING_SPEED_MPS` is a jump (``jumps``): its
    distance is replaced by its duration times the median speed of the plausible intervals
    around it (:data:`JUMP_SPEED_HALF_WINDOW` either side). A distance that goes backwards
    counts as no progress, as in ``app.analytics.curves.best_efforts``. ``NaN`` distances stay.
    """
    t, d = _series(time, distance)
    known = np.flatnonzero(np.isfinite(d))
    out = d.copy()
    if known.size < 2:
        return Cleaned(values=out, artifacts={"jumps": 0}, checked=int(known.size))
    dt = np.diff(t[known])
    step = np.maximum(np.diff(d[known]), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(dt > 0, step / np.where(dt > 0, dt, 1.0), np.inf)
    jumps = (speed > MAX_RUNNING_SPEED_MPS) & (step > 0)
    if jumps.any():
        plausible = np.where(jumps, np.nan, speed)
        at = np.flatnonzero(jumps)
        local = _local_median(plausible, at, JUMP_SPEED_HALF_WINDOW)
        step[at] = np.nan_to_num(local, nan=0.0) * dt[at]
    out[known] = d[known[0]] + np.concatenate(([0.0], np.cumsum(step)))
    return Cleaned(values=out, artifacts={"jumps": int(jumps.sum())}, checked=int(known.size))


def _local_median(values: FloatArray, at: NDArray[np.intp], half_window: int) -> FloatArray:
    """At each index of ``at``, the median of the finite ``values`` among the ``half_window``
    samples either side (``NaN`` where there are none)."""
    padded = np.pad(values, half_window, constant_values=np.nan)
    windows = sliding_window_view(padded, 2 * half_window + 1)[at]
    out = np.full(at.shape, np.nan)
    has = np.isfinite(windows).any(axis=1)
    if has.any():
        out[has] = np.nanmedian(windows[has], axis=1)
    return out
