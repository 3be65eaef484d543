"""Per-activity training load: power (NP, IF, TSS), heart rate (TRIMP, HRSS) and pace (rTSS).

Inputs are sample streams: a time array in seconds (1 Hz or irregular, finite and
non-decreasing) and a value array of the same length. Conventions, stated once and shared with
``app.analytics.curves`` (mean-maximal, efficiency, running):

* **Gaps.** An interval of at most ``max_gap_s`` (10 s; Garmin smart recording, a lost
  packet) is bridged; a longer one is a pause and the time inside it is not counted.
* **Power** is put on a 1 s grid before NP, because the 30 s window is defined in seconds:
  grid seconds inside a bridged gap are interpolated linearly, seconds inside a pause are
  dropped, and seconds without a power value (a NaN sample, or interpolated towards one) are
  dropped too, so a dropout neither invents watts nor counts as 0 W (GoldenCheetah stores
  a missing value as 0 W; intervals.icu repairs single-sample dropouts). Recorded zeros
  (coasting) stay: the vectors' "duration includes zeros". Recordings faster than 1 Hz are
  sampled at whole seconds. A stream with no finite power means "no power meter": the
  results are ``None``.
* **Heart rate** is weighted by sample duration (:func:`app.analytics.samples.sample_durations`:
  the interval to the next sample, one nominal interval before a pause and for the last
  sample), so a regular 1 Hz recording of ``n`` samples lasts ``n`` s, as in GoldenCheetah and
  the reference vectors. Samples that are NaN or 0 bpm (no strap contact) are missing and their
  time is left out of every HR metric. A stream without valid HR gives ``None``, not 0, so that
  :func:`choose_load` can tell "no data" from "no load".

Sources are named on each function; NOTES.md in the shared reference set has the details.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.ndimage import uniform_filter1d

from app.analytics.samples import DEFAULT_MAX_GAP_S, FloatArray, sample_durations
from app.analytics.zones import GOLDENCHEETAH_LTHR_FRACTIONS, time_in_zones, valid_hr

NP_WINDOW_S = 30
"""Coggan's normalised-power rolling window (seconds)."""

NpConvention = Literal["standard", "goldencheetah"]
TrimpMethod = Literal["per_sample", "average"]
LoadModel = Literal["power", "pace", "hr"]

BANISTER_COEFFICIENTS: dict[str, tuple[float, float]] = {
    # (a, b) of TRIMP = minutes · x · a · e^(b·x).
    # Banister 1991; Morton, Fitz-Clarke & Banister 1990 (J Appl Physiol 69:1171).
    "male": (0.64, 1.92),
    "female": (0.86, 1.67),  # Morton et al. 1990
    # GoldenCheetah TRIMPPoints.cpp l.85-98 and Elevate activity-computer.ts l.175-178 keep
    # a = 0.64 for women.
    "female_goldencheetah": (0.64, 1.67),
    # Runalyze Trimp/Factor.php: female a normalised so the per-minute maximum equals the male
    # one; "unknown" is the midpoint used when sex is not set.
    "female_runalyze": (0.821776, 1.67),
    "unknown_runalyze": (0.725215, 1.795),
}

EDWARDS_HRMAX_FRACTIONS = (0.5, 0.6, 0.7, 0.8, 0.9)
"""Edwards 1993: zone lower bounds as fractions of HRmax, weighted 1..5 per minute."""
EDWARDS_WEIGHTS = (1.0, 2.0, 3.0, 4.0, 5.0)

GOLDENCHEETAH_ZONE_WEIGHTS = (0.9, 1.1, 1.2, 2.0, 5.0)
"""GoldenCheetah HrZones.cpp default per-minute TRIMP weights of its five LTHR zones."""


# --------------------------------------------------------------------------------------------
# Power


@dataclass(frozen=True)
class PowerLoad:
    """Power summary of one activity. ``None`` where a value is undefined."""

    convention: NpConvention
    duration_s: float
    average_w: float | None
    normalized_w: float | None
    intensity_factor: float | None
    tss: float | None
    variability_index: float | None
    work_kj: float | None


def power_per_second(
    time_s: ArrayLike, power_w: ArrayLike, *, max_gap_s: float = DEFAULT_MAX_GAP_S
) -> FloatArray | None:
    """Power on a 1 s grid with pauses and missing seconds removed; ``None`` without power.

    See the module docstring for the rules. A regular 1 Hz stream without NaN comes back
    unchanged; its length in seconds is the recording's duration for TSS.
    """
    t = np.asarray(time_s, dtype=np.float64)
    power = np.asarray(power_w, dtype=np.float64)
    if sample_durations(t, max_gap_s=max_gap_s).shape != power.shape:
        raise ValueError("time and power must have the same length")
    if not np.isfinite(power).any():
        return None
    # Collapse every pause to one second, then sample the bridged stream at whole seconds.
    steps = np.diff(t)
    elapsed = np.concatenate(([0.0], np.cumsum(np.where(steps > max_gap_s, 1.0, steps))))
    grid = np.arange(math.floor(elapsed[-1]) + 1, dtype=np.float64)
    values = np.interp(grid, elapsed, power)
    # A second that falls on a sample keeps that sample's value, even next to a NaN.
    nearest = np.minimum(np.searchsorted(elapsed, grid), elapsed.size - 1)
    on_sample = elapsed[nearest] == grid
    values[on_sample] = power[nearest[on_sample]]
    return values[np.isfinite(values)]


def coggan_normalized(values_1hz: ArrayLike) -> float | None:
    """Coggan's normalisation of a 1 Hz series: the 4th root of the mean 4th power of the 30 s
    trailing mean over full windows (Allen & Coggan, *Training and Racing with a Power Meter*).

    The one implementation behind NP (:func:`normalized_power`), NGP
    (``app.analytics.running``) and the normalised output of EF and decoupling
    (``app.analytics.efficiency``). Non-finite seconds are dropped first; ``None`` below 30 s.
    """
    values = np.asarray(values_1hz, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < NP_WINDOW_S:
        return None
    # The trailing 30 s mean ending on each second from the 30th on, by scipy's running mean
    # (one pass in C, a fifth of the time of a 30-tap convolution; equal to ~1e-14): with an
    # even size the window is [i - 15, i + 14], and the origin moves it to [i - 29, i]. The
    # 4th power as two squares (a quarter of the time of ``** 4``, the same to the last bits).
    rolling = uniform_filter1d(values, NP_WINDOW_S, origin=NP_WINDOW_S // 2 - 1)
    squared = np.square(rolling[NP_WINDOW_S - 1 :])
    return float(np.mean(np.square(squared, out=squared)) ** 0.25)


def _normalized_from_grid(power: FloatArray, convention: NpConvention) -> float | None:
    if convention == "standard":
        return coggan_normalized(power)
    if convention == "goldencheetah":
        if power.size == 0:
            return None
        window = np.ones(NP_WINDOW_S)
        rolling = np.convolve(power, window, mode="full")[: power.size] / NP_WINDOW_S
        return float(np.mean(rolling**4) ** 0.25)
    raise ValueError(f"unknown NP convention {convention!r}")


def normalized_power(
    time_s: ArrayLike,
    power_w: ArrayLike,
    *,
    convention: NpConvention = "standard",
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> float | None:
    """Normalized Power (Coggan): the 4th root of the mean 4th power of the 30 s rolling mean.

    ``"standard"`` (Coggan/TrainingPeaks; Allen & Coggan, *Training and Racing with a Power
    Meter*): the rolling mean starts at the 30 s mark, i.e. over full windows only; ``None``
    for fewer than 30 s of data.

    ``"goldencheetah"``: GoldenCheetah ``src/Metrics/Coggan.cpp`` IsoPower keeps the window in
    a ring buffer initialised with zeros and averages every sample, so the first 29 values are
    ramp-ins over zeros (about 0.15 % lower on a steady hour; defined for short rides).

    intervals.icu averages over moving time only and rounds to whole watts; that variant is not
    offered. Zeros (coasting) are part of the stream in both conventions.
    """
    power = power_per_second(time_s, power_w, max_gap_s=max_gap_s)
    if power is None:
        return None
    return _normalized_from_grid(power, convention)


def average_power(
    time_s: ArrayLike, power_w: ArrayLike, *, max_gap_s: float = DEFAULT_MAX_GAP_S
) -> float | None:
    """Mean power over the recorded time, zeros included (on the 1 s grid)."""
    power = power_per_second(time_s, power_w, max_gap_s=max_gap_s)
    if power is None:
        return None
    return float(np.mean(power))


def work_kj(
    time_s: ArrayLike, power_w: ArrayLike, *, max_gap_s: float = DEFAULT_MAX_GAP_S
) -> float | None:
    """Mechanical work in kJ: the sum of power over the 1 s grid / 1000."""
    power = power_per_second(time_s, power_w, max_gap_s=max_gap_s)
    if power is None:
        return None
    return float(np.sum(power) / 1000.0)


def intensity_factor(normalized_w: float | None, ftp_w: float | None) -> float | None:
    """IF = NP / FTP (Coggan). GoldenCheetah uses CP as the threshold by default."""
    if normalized_w is None or ftp_w is None:
        return None
    if ftp_w <= 0:
        raise ValueError("FTP must be positive")
    return normalized_w / ftp_w


def training_stress_score(
    duration_s: float, normalized_w: float | None, ftp_w: float | None
) -> float | None:
    """TSS = t · NP · IF / (FTP · 3600) · 100 = hours · IF² · 100 (Coggan; GC BikeStress).

    ``duration_s`` is the whole recording, zeros included.
    """
    factor = intensity_factor(normalized_w, ftp_w)
    if factor is None or normalized_w is None or ftp_w is None:
        return None
    return duration_s * normalized_w * factor / (ftp_w * 3600.0) * 100.0


def variability_index(normalized_w: float | None, average_w: float | None) -> float | None:
    """VI = NP / average power (Coggan); ``None`` when either is missing or the average is 0."""
    if normalized_w is None or average_w is None or average_w <= 0:
        return None
    return normalized_w / average_w


def power_load(
    time_s: ArrayLike,
    power_w: ArrayLike,
    *,
    ftp_w: float | None,
    convention: NpConvention = "standard",
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> PowerLoad:
    """Average, NP, IF, TSS, VI and work of one activity in one pass over the 1 s grid."""
    power = power_per_second(time_s, power_w, max_gap_s=max_gap_s)
    if power is None:
        return PowerLoad(convention, 0.0, None, None, None, None, None, None)
    duration_s = float(power.size)
    average = float(np.mean(power))
    normalized = _normalized_from_grid(power, convention)
    return PowerLoad(
        convention=convention,
        duration_s=duration_s,
        average_w=average,
        normalized_w=normalized,
        intensity_factor=intensity_factor(normalized, ftp_w),
        tss=training_stress_score(duration_s, normalized, ftp_w),
        variability_index=variability_index(normalized, average),
        work_kj=float(np.sum(power) / 1000.0),
    )


# --------------------------------------------------------------------------------------------
# Heart rate


def banister_coefficients(
    sex: str = "male", coefficients: tuple[float, float] | None = None
) -> tuple[float, float]:
    """(a, b) for Banister's TRIMP: ``coefficients`` if given, else the named sex variant."""
    if coefficients is not None:
        return coefficients
    try:
        return BANISTER_COEFFICIENTS[sex]
    except KeyError:
        raise ValueError(f"unknown TRIMP sex variant {sex!r}") from None


def _banister_weight(
    hr: FloatArray | float, hr_rest: float, hr_max: float, a: float, b: float
) -> FloatArray | float:
    if hr_max <= hr_rest:
        raise ValueError("HRmax must be above HRrest")
    reserve = np.maximum((np.asarray(hr) - hr_rest) / (hr_max - hr_rest), 0.0)
    return reserve * a * np.exp(b * reserve)


def banister_trimp_from_average(
    average_hr: float,
    minutes: float,
    *,
    hr_rest: float,
    hr_max: float,
    sex: str = "male",
    coefficients: tuple[float, float] | None = None,
) -> float:
    """Banister TRIMP from average HR: minutes · x · a · e^(b·x).

    x = (HR − HRrest)/(HRmax − HRrest), clipped at 0 (GoldenCheetah returns 0 below HRrest).
    This is GoldenCheetah ``TRIMPPoints.cpp`` and Elevate's form (average HR × moving time).
    """
    a, b = banister_coefficients(sex, coefficients)
    return float(minutes * _banister_weight(average_hr, hr_rest, hr_max, a, b))


def banister_trimp(
    time_s: ArrayLike,
    hr: ArrayLike,
    *,
    hr_rest: float,
    hr_max: float,
    sex: str = "male",
    coefficients: tuple[float, float] | None = None,
    method: TrimpMethod = "per_sample",
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> float | None:
    """Banister TRIMP of a heart-rate stream (Banister 1991; Morton et al. 1990).

    ``"per_sample"``: Σ Δt_min · x · a · e^(b·x) over the samples (Runalyze's per-HR
    histogram sum is the same quantity). ``"average"``: the time-weighted average HR over the
    HR-valid time, as GoldenCheetah and Elevate do; because of the exponential it is never
    above the per-sample value. ``sex`` names a row of :data:`BANISTER_COEFFICIENTS`;
    ``coefficients=(a, b)`` overrides it. ``None`` without valid HR.
    """
    values, mask = valid_hr(hr)
    durations = sample_durations(time_s, max_gap_s=max_gap_s)
    if durations.shape != values.shape:
        raise ValueError("time and heart rate must have the same length")
    if not mask.any():
        return None
    minutes = durations[mask] / 60.0
    if method == "average":
        average = float(np.sum(minutes * values[mask]) / np.sum(minutes))
        return banister_trimp_from_average(
            average,
            float(np.sum(minutes)),
            hr_rest=hr_rest,
            hr_max=hr_max,
            sex=sex,
            coefficients=coefficients,
        )
    if method != "per_sample":
        raise ValueError(f"unknown TRIMP method {method!r}")
    a, b = banister_coefficients(sex, coefficients)
    return float(np.sum(minutes * _banister_weight(values[mask], hr_rest, hr_max, a, b)))


def hrss(
    trimp: float | None,
    *,
    lthr: float,
    hr_rest: float,
    hr_max: float,
    sex: str = "male",
    coefficients: tuple[float, float] | None = None,
) -> float | None:
    """HRSS = 100 · TRIMP / TRIMP(60 min at LTHR): one hour at threshold HR scores 100.

    Elevate ``computeHeartRateStressScore`` and GoldenCheetah "TRIMP(100) Points" (both with
    their average-HR TRIMP). Use the same sex variant as the TRIMP. TrainingPeaks' hrTSS is
    proprietary and zone-based; this is not it.
    """
    if trimp is None:
        return None
    hour_at_threshold = banister_trimp_from_average(
        lthr, 60.0, hr_rest=hr_rest, hr_max=hr_max, sex=sex, coefficients=coefficients
    )
    if hour_at_threshold <= 0:
        raise ValueError("LTHR must be above HRrest")
    return 100.0 * trimp / hour_at_threshold


def _zonal_trimp(
    time_s: ArrayLike,
    hr: ArrayLike,
    lower_bpm: FloatArray,
    weights: tuple[float, ...],
    max_gap_s: float,
) -> float | None:
    _, mask = valid_hr(hr)
    seconds = time_in_zones(time_s, hr, lower_bpm, max_gap_s=max_gap_s)
    if not mask.any():
        return None
    return float(np.dot(seconds / 60.0, np.asarray(weights)))


def edwards_trimp(
    time_s: ArrayLike, hr: ArrayLike, *, hr_max: float, max_gap_s: float = DEFAULT_MAX_GAP_S
) -> float | None:
    """Edwards' TRIMP (Edwards 1993, *The Heart Rate Monitor Book*).

    Minutes in 50-60/60-70/70-80/80-90/90-100 % HRmax weighted 1..5; lower bounds inclusive,
    below 50 % scores 0, above HRmax counts as the top zone.
    """
    bounds = hr_max * np.asarray(EDWARDS_HRMAX_FRACTIONS)
    return _zonal_trimp(time_s, hr, bounds, EDWARDS_WEIGHTS, max_gap_s)


def goldencheetah_zonal_trimp(
    time_s: ArrayLike, hr: ArrayLike, *, lthr: float, max_gap_s: float = DEFAULT_MAX_GAP_S
) -> float | None:
    """GoldenCheetah's zonal TRIMP with its default zones (``src/Gui/HrZones.cpp`` l.39-44).

    Zones start at 0/68/83/94/105 % LTHR with weights 0.9/1.1/1.2/2.0/5.0 per minute.
    GoldenCheetah falls back to the average-HR zone × duration when no time in zone exists;
    here a stream without valid HR gives ``None`` instead.
    """
    bounds = np.asarray((0.0, *(lthr * f for f in GOLDENCHEETAH_LTHR_FRACTIONS)))
    return _zonal_trimp(time_s, hr, bounds, GOLDENCHEETAH_ZONE_WEIGHTS, max_gap_s)


# --------------------------------------------------------------------------------------------
# Running


def speed_from_pace(pace_s_per_km: float) -> float:
    """Metres per second from a pace in seconds per kilometre."""
    if pace_s_per_km <= 0:
        raise ValueError("pace must be positive")
    return 1000.0 / pace_s_per_km


def running_intensity_factor(ngp_speed_m_s: float, threshold_speed_m_s: float) -> float:
    """IF = v_NGP / v_threshold, with speeds (not paces) as TrainingPeaks defines rTSS."""
    if threshold_speed_m_s <= 0:
        raise ValueError("threshold speed must be positive")
    return ngp_speed_m_s / threshold_speed_m_s


def rtss(duration_s: float, *, ngp_speed_m_s: float, threshold_speed_m_s: float) -> float:
    """rTSS = t · v_NGP · IF / (v_threshold · 3600) · 100 = hours · IF² · 100 (TrainingPeaks).

    ``ngp_speed_m_s`` is the normalised grade-adjusted speed, computed elsewhere; TrainingPeaks'
    own NGP algorithm is unpublished. Elevate's "RSS" is the same formula with the average
    grade-adjusted speed.
    """
    factor = running_intensity_factor(ngp_speed_m_s, threshold_speed_m_s)
    return duration_s * ngp_speed_m_s * factor / (threshold_speed_m_s * 3600.0) * 100.0


# --------------------------------------------------------------------------------------------
# Choice


def _present(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def choose_load(
    power_tss: float | None, rtss: float | None, hrss: float | None
) -> tuple[float | None, LoadModel | None]:
    """The activity's load and the model that produced it.

    Power TSS when there is power, else rTSS (pass it only for runs with pace), else HRSS;
    ``(None, None)`` when none is available. ``None`` and NaN mean "not available"; 0 is a
    real load.
    """
    if _present(power_tss):
        return power_tss, "power"
    if _present(rtss):
        return rtss, "pace"
    if _present(hrss):
        return hrss, "hr"
    return None, None
