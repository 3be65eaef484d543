"""HRV against its own baseline, day by day.

The baseline follows the 7-day rolling average of Plews et al. 2013 ("Training adaptation and
heart rate variability in elite endurance athletes: opening the door to effective monitoring",
Sports Med 43:773-781) against the 60-day normal range of HRV4Training (Altini, "Heart rate
variability normal values"): the *7-day average* (at least 3 nights of the 7) is compared with
the *normal range*, the mean ± 1 SD (sample SD) of the nightly values of the 60 days ending
that day (at least 20 nights). Below the range, within it (the boundaries included) or above
it.

rMSSD is used when any night has it, otherwise SDNN (Apple Health): the two are different
statistics and are never mixed in one series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from app.analytics.rolling import FloatArray, rolling_mean, rolling_sd

SHORT_DAYS = 7
SHORT_MIN = 3
BASELINE_DAYS = 60
BASELINE_MIN = 20


@dataclass(frozen=True)
class HrvBand:
    """HRV against its baseline, day by day (see the module docstring for the rule)."""

    statistic: str  # "rmssd" | "sdnn" | "" (no HRV at all)
    nightly: FloatArray
    short: FloatArray  # 7-day average
    low: FloatArray  # normal range: 60-day mean − 1 SD
    high: FloatArray  # 60-day mean + 1 SD


def hrv_band(rmssd: ArrayLike, sdnn: ArrayLike) -> HrvBand:
    """The nightly series (rMSSD, else SDNN), its 7-day average and its normal range."""
    rmssd = np.asarray(rmssd, dtype=np.float64)
    sdnn = np.asarray(sdnn, dtype=np.float64)
    if np.isfinite(rmssd).any():
        statistic, nightly = "rmssd", rmssd
    elif np.isfinite(sdnn).any():
        statistic, nightly = "sdnn", sdnn
    else:
        statistic, nightly = "", rmssd
    short = rolling_mean(nightly, SHORT_DAYS, min_count=SHORT_MIN)
    mean = rolling_mean(nightly, BASELINE_DAYS, min_count=BASELINE_MIN)
    sd = rolling_sd(nightly, BASELINE_DAYS, min_count=BASELINE_MIN)
    return HrvBand(statistic, nightly, short, mean - sd, mean + sd)


def hrv_status(short: float, low: float, high: float) -> Literal["below", "within", "above"] | None:
    """``below``, ``within`` or ``above`` the normal range; None without a baseline."""
    if not (np.isfinite(short) and np.isfinite(low) and np.isfinite(high)):
        return None
    if short < low:
        return "below"
    if short > high:
        return "above"
    return "within"
