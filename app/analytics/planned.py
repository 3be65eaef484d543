"""Load of a planned session from its steps, by the same models as recorded activities.

A planned session is a sequence of steps, each with a length in seconds and an intensity. Its
load is computed as if the steps were ridden or run exactly: a 1 Hz stream is written from the
steps and handed to the functions in :mod:`app.analytics.load`, so that a workout executed as
planned scores what its activity will score:

* :func:`planned_power_tss` — Coggan's NP over the stream, then TSS (rides with power targets);
* :func:`planned_rtss` — the same normalisation over speed (NGP on flat ground), then rTSS
  (runs with pace targets);
* :func:`planned_hrss` — Banister TRIMP per step (constant heart rate: the per-sample sum
  equals minutes × weight), then HRSS (sessions with heart-rate targets);
* :func:`planned_intensity_load` — the TSS formula over an intensity-factor stream (threshold
  = 1), for sessions whose steps only have default intensities. With one intensity it is
  ``hours · IF² · 100``.

Intensities are expressed as an **intensity factor** (IF: power / FTP, speed / threshold
speed). Heart rate and IF are linked by Coggan's training levels (Allen & Coggan, *Training and
Racing with a Power Meter*, table of levels with their %FTP and %LTHR bounds): 55, 75, 90 and
105 % FTP sit at 68, 83, 94 and 105 % LTHR. The same bounds are GoldenCheetah's default HR
zones (:data:`app.analytics.zones.GOLDENCHEETAH_LTHR_FRACTIONS`). Between them the relation is
linear; outside it is extended with the slope of the nearest segment. This is a population
rule of thumb, labelled as such where it is used.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from app.analytics.load import (
    banister_trimp_from_average,
    coggan_normalized,
    hrss,
    rtss,
    training_stress_score,
)
from app.analytics.zones import GOLDENCHEETAH_LTHR_FRACTIONS

COGGAN_LEVEL_IF = (0.55, 0.75, 0.90, 1.05)
"""Upper %FTP bounds of Coggan's levels 1-4 (active recovery, endurance, tempo, threshold)."""
COGGAN_LEVEL_LTHR = GOLDENCHEETAH_LTHR_FRACTIONS
"""The %LTHR bounds Coggan gives for the same levels (68, 83, 94, 105 %)."""

POWER_ZONE_FTP_FRACTIONS: dict[int, tuple[float, float]] = {
    # Coggan's seven levels as fractions of FTP (Allen & Coggan). Level 1 has no lower bound
    # and level 7 no upper bound in the source; 0.40 and 2.00 are Domestique's, so that every
    # zone has a midpoint.
    1: (0.40, 0.55),
    2: (0.56, 0.75),
    3: (0.76, 0.90),
    4: (0.91, 1.05),
    5: (1.06, 1.20),
    6: (1.21, 1.50),
    7: (1.51, 2.00),
}

HRMAX_FIVE_ZONES = (0.50, 0.60, 0.70, 0.80, 0.90, 1.00)
"""Bounds of the five %HRmax zones Garmin watches use by default (50-60-70-80-90-100 %);
:data:`app.analytics.zones.FIVE_ZONE_FRACTIONS` holds the same lower bounds of zones 2-5."""

LTHR_PER_HRMAX = 0.90
"""LTHR as a fraction of HRmax when LTHR is unknown — the same fallback the activity metrics
use (README, Training science: LTHR = 90 % of HRmax)."""

THREE_ZONE_IF = (0.80, 0.95)
"""Bounds of the three-zone model (Seiler 2010, IJSPP 5:276) in IF: below the first threshold
under 0.80, above the second from 0.95. The thresholds differ between athletes; these are
Domestique's labelled defaults (LT1 near Coggan's tempo level, LT2 just under FTP)."""


def _extended_interp(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    """Piecewise-linear through (xs, ys), extended beyond the ends by the end segments.

    Plain Python: it is called per step with scalars, where numpy's call overhead would
    dominate."""
    index = min(max(bisect_right(xs, x), 1), len(xs) - 1)
    x0, x1, y0, y1 = xs[index - 1], xs[index], ys[index - 1], ys[index]
    return y0 + (x - x0) * (y1 - y0) / (x1 - x0)


def lthr_fraction_from_if(intensity: float) -> float:
    """Heart rate as a fraction of LTHR at an intensity factor (Coggan's levels, see above)."""
    return _extended_interp(intensity, COGGAN_LEVEL_IF, COGGAN_LEVEL_LTHR)


def if_from_lthr_fraction(fraction: float) -> float:
    """The intensity factor at a heart rate given as a fraction of LTHR (inverse of the above)."""
    return max(0.0, _extended_interp(fraction, COGGAN_LEVEL_LTHR, COGGAN_LEVEL_IF))


def power_zone_midpoint(zone: int) -> float:
    """The middle of a Coggan power level as a fraction of FTP."""
    low, high = POWER_ZONE_FTP_FRACTIONS[zone]
    return (low + high) / 2.0


def three_zone(intensity: float, bounds: tuple[float, float] = THREE_ZONE_IF) -> int:
    """Zone 1, 2 or 3 of the three-zone model for an intensity factor."""
    if intensity < bounds[0]:
        return 1
    if intensity < bounds[1]:
        return 2
    return 3


def _stream(durations_s: ArrayLike, values: ArrayLike) -> np.ndarray:
    seconds = np.rint(np.asarray(durations_s, dtype=np.float64)).astype(np.int64)
    if (seconds < 0).any():
        raise ValueError("step durations must not be negative")
    return np.repeat(np.asarray(values, dtype=np.float64), seconds)


def _normalized(stream: np.ndarray) -> float:
    """Coggan's normalisation; a session shorter than the 30 s window uses its mean."""
    value = coggan_normalized(stream)
    if value is None:
        return float(np.mean(stream)) if stream.size else 0.0
    return value


def planned_power_tss(durations_s: ArrayLike, watts: ArrayLike, *, ftp_w: float) -> float:
    """TSS of steps ridden exactly at ``watts`` for ``durations_s`` (NP over the 1 Hz stream)."""
    stream = _stream(durations_s, watts)
    if stream.size == 0:
        return 0.0
    tss = training_stress_score(float(stream.size), _normalized(stream), ftp_w)
    return float(tss or 0.0)


def planned_rtss(
    durations_s: ArrayLike, speeds_m_s: ArrayLike, *, threshold_speed_m_s: float
) -> float:
    """rTSS of steps run exactly at ``speeds_m_s`` on flat ground (NGP = normalised speed)."""
    stream = _stream(durations_s, speeds_m_s)
    if stream.size == 0:
        return 0.0
    normalized = _normalized(stream)
    if normalized <= 0:
        return 0.0
    return rtss(
        float(stream.size), ngp_speed_m_s=normalized, threshold_speed_m_s=threshold_speed_m_s
    )


def planned_hrss(
    durations_s: ArrayLike,
    heart_rates: ArrayLike,
    *,
    lthr: float,
    hr_rest: float,
    hr_max: float,
    sex: str = "male",
) -> float:
    """HRSS of steps held at constant ``heart_rates`` (per-sample Banister TRIMP, as activities).

    The minutes of steps at the same heart rate are added first, so a workout of repeats
    costs one TRIMP evaluation per distinct heart rate."""
    minutes: dict[float, float] = {}
    for seconds, bpm in zip(durations_s, heart_rates, strict=True):
        if seconds > 0:
            minutes[float(bpm)] = minutes.get(float(bpm), 0.0) + float(seconds) / 60.0
    trimp = sum(
        banister_trimp_from_average(bpm, total, hr_rest=hr_rest, hr_max=hr_max, sex=sex)
        for bpm, total in minutes.items()
    )
    return float(hrss(trimp, lthr=lthr, hr_rest=hr_rest, hr_max=hr_max, sex=sex) or 0.0)


def planned_intensity_load(durations_s: ArrayLike, intensities: ArrayLike) -> float:
    """The TSS formula over an intensity-factor stream: ``hours · IF_N² · 100`` where ``IF_N``
    is Coggan's normalisation of the per-second intensity (so the result equals power TSS of
    the same steps at ``IF × FTP`` watts)."""
    stream = _stream(durations_s, intensities)
    if stream.size == 0:
        return 0.0
    return float(training_stress_score(float(stream.size), _normalized(stream), 1.0) or 0.0)
