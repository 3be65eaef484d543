"""Daily load series, the Performance Management Chart (CTL/ATL/TSB), ramp rate, ACWR and
Foster monotony/strain.

Every function works on a dense daily series: index 0 is the first day, one value per calendar
day, days without activity present as 0 (:func:`daily_load` builds it). A "day" is the
owner's local calendar date, fixed when the activity is stored.

The PMC recursion is one sequential pass (:func:`itertools.accumulate`): a ten-year series
takes about half a millisecond per line, and continuing from a stored day with
:func:`continue_pmc` is bit-identical to recomputing the whole history. It gives the same bits
as :func:`scipy.signal.lfilter` (the same two products, summed in the same order); lfilter was
used until importing ``scipy.signal`` turned out to cost every process that computes metrics
0.3 s and 25 MB (a cold ``domestique import`` pays it, and the server holds it), for 0.03 ms.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from itertools import accumulate
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

from app.analytics.rolling import rolling_mean

FloatArray = NDArray[np.float64]

Decay = Literal["exponential", "trainingpeaks", "runalyze"]
TsbConvention = Literal["yesterday", "today"]
AcwrMethod = Literal["ewma", "rolling_coupled", "rolling_uncoupled"]

CTL_DAYS = 42.0
ATL_DAYS = 7.0
"""GoldenCheetah defaults (``src/Gui/AthletePages.h``: ``defaultLTSavg = 42``,
``defaultSTSavg = 7``), also TrainingPeaks' and intervals.icu's."""


# --------------------------------------------------------------------------------------------
# Daily series


@dataclass(frozen=True)
class DailyLoad:
    """A dense daily load series starting on ``start`` (one value per calendar day)."""

    start: date
    load: FloatArray

    @property
    def end(self) -> date:
        """The last day of the series (the day before ``start`` when empty)."""
        return date.fromordinal(self.start.toordinal() + self.load.size - 1)

    @property
    def dates(self) -> NDArray[np.datetime64]:
        """The calendar dates of the series as ``datetime64[D]``."""
        return np.datetime64(self.start, "D") + np.arange(self.load.size)


def daily_load(
    entries: Iterable[tuple[date, float]],
    *,
    start: date | None = None,
    end: date | None = None,
) -> DailyLoad:
    """Sum the loads of each local date into a dense series over ``[start, end]``.

    ``entries`` are ``(local date, load)`` pairs, one per activity; several activities on a day
    are summed (GoldenCheetah ``PMCData.cpp``: ``stress_[offset] += value``). NaN and infinite
    loads are skipped (as GoldenCheetah does), entries outside ``[start, end]`` are ignored, and
    days without activity are 0. ``start``/``end`` default to the first/last date with a finite
    load; pass ``end=today`` to let the series decay up to today. ``datetime`` values are
    refused: convert to the owner's local date first.
    """
    pairs = list(entries)
    if any(isinstance(day, datetime) for day, _ in pairs):
        raise ValueError("pass local calendar dates, not datetimes")
    days = np.array([day for day, _ in pairs], dtype="datetime64[D]")
    loads = np.array([value for _, value in pairs], dtype=np.float64)
    finite = np.isfinite(loads)
    if (start is None or end is None) and not finite.any():
        raise ValueError("no finite loads to infer the date range from; pass start and end")
    first = np.datetime64(start, "D") if start is not None else days[finite].min()
    last = np.datetime64(end, "D") if end is not None else days[finite].max()
    size = int((last - first).astype(np.int64)) + 1
    if size < 0:
        raise ValueError("end is before start")
    offset = (days - first).astype(np.int64)
    inside = finite & (offset >= 0) & (offset < size)
    series = np.bincount(offset[inside], weights=loads[inside], minlength=size).astype(np.float64)
    return DailyLoad(start=first.item(), load=series)


# --------------------------------------------------------------------------------------------
# PMC


@dataclass(frozen=True)
class Pmc:
    """CTL, ATL and TSB per day of the load series, with the conventions that made them."""

    ctl: FloatArray
    atl: FloatArray
    tsb: FloatArray
    ctl_days: float
    atl_days: float
    decay: Decay
    tsb_convention: TsbConvention


def smoothing_factor(days: float, decay: Decay = "exponential") -> float:
    """The weight α of today's load in ``x[d] = x[d-1] + α·(L[d] − x[d-1])``.

    * ``"exponential"``: α = 1 − e^(−1/N), GoldenCheetah ``PMCData::calculateMetrics``
      (``lte = exp(-1/ltsDays)``), Elevate and intervals.icu; the exact discretisation of
      Banister's continuous impulse-response.
    * ``"trainingpeaks"``: α = 1/N (TrainingPeaks help "Fitness (CTL)"; Coggan).
    * ``"runalyze"``: α = 2/(N+1), the "span" EMA of Runalyze ``TsbModel.php``; its effective
      time constants are about half of N, so values are not comparable with the others.
    """
    if days <= 0:
        raise ValueError("time constant must be positive")
    if decay == "exponential":
        return 1.0 - math.exp(-1.0 / days)
    if decay == "trainingpeaks":
        return 1.0 / days
    if decay == "runalyze":
        return 2.0 / (days + 1.0)
    raise ValueError(f"unknown decay convention {decay!r}")


def _as_daily(load: ArrayLike) -> FloatArray:
    values = np.asarray(load, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError("load must be a 1-D daily series")
    return np.where(np.isfinite(values), values, 0.0)


def _ewma(load: FloatArray, alpha: float, before: float) -> FloatArray:
    """x[d] = α·L[d] + (1−α)·x[d−1] with x[−1] = ``before``, in one sequential pass."""
    keep = 1.0 - alpha
    steps = accumulate(load.tolist(), lambda x, value: alpha * value + keep * x, initial=before)
    return np.fromiter(steps, dtype=np.float64, count=load.size + 1)[1:]


def continue_pmc(
    load: ArrayLike,
    *,
    ctl_before: float,
    atl_before: float,
    ctl_days: float = CTL_DAYS,
    atl_days: float = ATL_DAYS,
    decay: Decay = "exponential",
    tsb: TsbConvention = "yesterday",
) -> Pmc:
    """Continue a PMC from the CTL/ATL of the day before ``load[0]``.

    This is the incremental entry point: a service that changed loads from a date ``S``
    onward reads the stored CTL/ATL of ``S − 1`` and passes the loads from ``S``; the result
    equals, bit for bit, the tail of :func:`pmc` over the full history. The same seeds are
    GoldenCheetah's season "seed" and intervals.icu's "Set Fitness".

    ``tsb="yesterday"`` (GoldenCheetah default, TrainingPeaks): TSB[d] = CTL[d−1] − ATL[d−1],
    so TSB[0] = ``ctl_before − atl_before``. ``tsb="today"`` (GoldenCheetah "Stress Balance
    Today", intervals.icu Form, Runalyze): TSB[d] = CTL[d] − ATL[d]. Non-finite loads count as
    rest days.
    """
    if tsb not in ("yesterday", "today"):
        raise ValueError(f"unknown TSB convention {tsb!r}")
    daily = _as_daily(load)
    ctl = _ewma(daily, smoothing_factor(ctl_days, decay), ctl_before)
    atl = _ewma(daily, smoothing_factor(atl_days, decay), atl_before)
    if tsb == "today":
        balance = ctl - atl
    else:
        balance = np.empty_like(ctl)
        if balance.size:
            balance[0] = ctl_before - atl_before
            balance[1:] = ctl[:-1] - atl[:-1]
    return Pmc(ctl, atl, balance, ctl_days, atl_days, decay, tsb)


def pmc(
    load: ArrayLike,
    *,
    ctl_days: float = CTL_DAYS,
    atl_days: float = ATL_DAYS,
    decay: Decay = "exponential",
    tsb: TsbConvention = "yesterday",
) -> Pmc:
    """CTL ("fitness"), ATL ("fatigue") and TSB ("form") of a dense daily load series.

    Default: GoldenCheetah ``src/Metrics/PMCData.cpp`` (GC@c0eac1dd, ``calculateMetrics``):
    CTL[d] = CTL[d−1]·e^(−1/42) + L[d]·(1 − e^(−1/42)), ATL likewise with 7 days, both 0 on
    the day before ``load[0]``, today's load included today, rest days decay, and
    TSB[d] = CTL[d−1] − ATL[d−1]. ``decay`` selects the TrainingPeaks (1/N) or Runalyze
    (2/(N+1)) factor (see :func:`smoothing_factor`); ``tsb`` the same-day variant.
    """
    return continue_pmc(
        load,
        ctl_before=0.0,
        atl_before=0.0,
        ctl_days=ctl_days,
        atl_days=atl_days,
        decay=decay,
        tsb=tsb,
    )


def ramp_rate(ctl: ArrayLike, *, days: int = 7, ctl_before: float = 0.0) -> FloatArray:
    """CTL change over ``days`` days: ramp[d] = CTL[d] − CTL[d − days] (CTL points per week).

    GoldenCheetah ``rr``: a running sum of daily CTL deltas over ``stsDays`` = 7 days, with
    every day before the series taking the pre-day value ``ctl_before`` (0 for a full history).
    To continue from a stored day, pass the stored CTL of the previous ``days`` days in front
    of the new values and drop them from the result.
    """
    values = np.asarray(ctl, dtype=np.float64)
    if days < 1:
        raise ValueError("days must be at least 1")
    earlier = np.concatenate((np.full(min(days, values.size), ctl_before), values))
    return values - earlier[: values.size]


# --------------------------------------------------------------------------------------------
# ACWR, monotony, strain


@dataclass(frozen=True)
class Acwr:
    """Acute and chronic load and their ratio per day; NaN where undefined."""

    method: AcwrMethod
    acute: FloatArray
    chronic: FloatArray
    ratio: FloatArray


def _safe_ratio(acute: FloatArray, chronic: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(chronic > 0, acute / np.where(chronic > 0, chronic, 1.0), np.nan)


def _seeded_ewma(load: FloatArray, days: int) -> FloatArray:
    result = np.empty_like(load)
    if load.size:
        result[0] = load[0]
        result[1:] = _ewma(load[1:], 2.0 / (days + 1.0), load[0])
    return result


def acwr(
    load: ArrayLike,
    *,
    method: AcwrMethod = "ewma",
    acute_days: int = 7,
    chronic_days: int = 28,
) -> Acwr:
    """Acute:chronic workload ratio (Hulin et al. 2014; Gabbett 2016, BJSM 50:273).

    * ``"ewma"`` (Williams et al. 2017, BJSM, doi:10.1136/bjsports-2016-096589): EWMAs with
      λ = 2/(N+1), seeded with the first day's load as CRAN ``ACWR::EWMA`` does; defined from
      day 0.
    * ``"rolling_coupled"``: mean of the last ``acute_days`` days / mean of the last
      ``chronic_days`` days, both including today (the chronic window contains the acute one).
    * ``"rolling_uncoupled"``: the chronic mean is over the ``chronic_days − acute_days`` days
      before the acute window (Lolli et al. 2019).

    The rolling acute mean is defined from day ``acute_days − 1``, the rolling chronic mean and
    ratio from day ``chronic_days − 1`` (NaN before); a ratio with zero chronic load is NaN.
    Gabbett's "sweet spot" 0.8-1.3 and "danger zone" ≥ 1.5 come from team-sport rolling
    averages; treat the ratio as descriptive (Impellizzeri et al. 2020).
    """
    daily = _as_daily(load)
    if not 0 < acute_days < chronic_days:
        raise ValueError("need 0 < acute_days < chronic_days")
    if method == "ewma":
        acute = _seeded_ewma(daily, acute_days)
        chronic = _seeded_ewma(daily, chronic_days)
    elif method == "rolling_coupled":
        acute = rolling_mean(daily, acute_days)
        chronic = rolling_mean(daily, chronic_days)
    elif method == "rolling_uncoupled":
        acute = rolling_mean(daily, acute_days)
        before_acute = rolling_mean(daily, chronic_days - acute_days)
        chronic = np.full(daily.size, np.nan)
        if daily.size > acute_days:
            chronic[acute_days:] = before_acute[: daily.size - acute_days]
    else:
        raise ValueError(f"unknown ACWR method {method!r}")
    return Acwr(method, acute, chronic, _safe_ratio(acute, chronic))


@dataclass(frozen=True)
class Monotony:
    """Foster's weekly load, monotony and strain per day (window ending that day)."""

    week_load: FloatArray
    monotony: FloatArray
    strain: FloatArray
    ddof: int


def monotony_strain(
    load: ArrayLike, *, days: int = 7, ddof: Literal[0, 1] = 0, cap: float | None = None
) -> Monotony:
    """Foster monotony = mean / SD of the last ``days`` daily loads; strain = week load × monotony.

    Foster 1998 (Med Sci Sports Exerc 30:1164-1168); rest days count as 0. ``ddof=0`` is the
    population SD (Runalyze ``Monotony.php``), ``ddof=1`` the sample SD many spreadsheets use.
    Defined from day ``days − 1``; with SD = 0 monotony is undefined (NaN). ``cap`` reproduces
    Runalyze, which clips monotony to [0, cap] (10) and reports ``cap`` when SD = 0.
    """
    daily = _as_daily(load)
    week_load = np.full(daily.size, np.nan)
    monotony = np.full(daily.size, np.nan)
    if daily.size >= days:
        windows = sliding_window_view(daily, days)
        week_load[days - 1 :] = windows.sum(axis=1)
        spread = np.std(windows, axis=1, ddof=ddof)
        constant = np.ptp(windows, axis=1) == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(constant, np.nan, windows.mean(axis=1) / spread)
        if cap is not None:
            ratio = np.where(constant, cap, np.clip(ratio, 0.0, cap))
        monotony[days - 1 :] = ratio
    return Monotony(week_load, monotony, week_load * monotony, ddof)
