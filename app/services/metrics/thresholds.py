"""The thresholds an activity is computed with: the owner's values valid on its date, else a
documented estimate from the history up to and including that date.

Estimates when a threshold is unset (each recorded in ``thresholds_used`` with its source and
the activities it came from, ``activity_ids``):

* ``hr_max_bpm`` — the highest *sustained* heart rate of any activity up to that day: the best
  20-s average once spikes, out-of-range readings and cadence lock are removed
  (``max_sustained_hr``; ``app.analytics.artifacts``, ``compute.SUSTAINED_HR_S``); an activity
  whose heart rate is mostly artifacts does not count. Without any, ``220 − age`` from the birth
  year (``age_formula``, Fox 1971).
* ``hr_rest_bpm`` — the median daily resting HR of ``daily_wellness`` over the 90 days up to that
  day (``median_resting_hr_90d``); without any, 60 bpm (``default``).
* ``lthr_bpm`` — 90 % of HRmax (``fraction_of_hr_max``; a rule of thumb, set the real one).
* ``ftp_w`` — eFTP (95 % of the 20-min power of a 2-parameter CP fit, "work_time_linear") of the
  ride power curves (spikes and dropouts repaired) of the 90 days up to that day
  (``eftp_90d``); its activities are the rides that hold the curve's best points in the fit's
  window.
* ``threshold_pace_s_per_km`` — Daniels T-pace (GoldenCheetah's formula) of the best VDOT of the
  run best efforts (1 mile and longer, GPS jumps removed, no faster than a human) of the 90
  days up to that day (``vdot_90d``).

An activity the owner excluded (``activity.excluded_from_estimates_at``) feeds none of them.
An estimate depends only on activities on or before the day, never after, so importing (or
excluding) an activity can only change the thresholds of activities on or after its date. Ties
go to the earliest activity, so a full rebuild and an incremental one agree exactly.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.analytics import estimates
from app.analytics.curves import DEFAULT_DURATIONS_S
from app.models import AthleteThreshold, DailyWellness
from app.models.owner import get_owner

WINDOW_DAYS = 90
LTHR_FRACTION_OF_HR_MAX = 0.9
DEFAULT_HR_REST_BPM = 60.0
CURVE_DURATIONS = np.asarray(DEFAULT_DURATIONS_S, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Profile:
    """The owner's settings that change how metrics are computed."""

    sex: str | None = None  # male | female
    birth_year: int | None = None
    hr_zone_model: str = "lthr"
    ctl_days: int = 42
    atl_days: int = 7

    @property
    def trimp_variant(self) -> str:
        """Banister's constants: the owner's sex, else Runalyze's midpoint."""
        return self.sex if self.sex in ("male", "female") else "unknown_runalyze"


def load_profile(session: Session) -> Profile:
    owner = get_owner(session)
    if owner is None:
        return Profile()
    return Profile(
        sex=owner.sex,
        birth_year=owner.birth_year,
        hr_zone_model=owner.hr_zone_model or "lthr",
        ctl_days=owner.ctl_days or 42,
        atl_days=owner.atl_days or 7,
    )


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """What estimates need from one activity (all independent of thresholds)."""

    activity_id: int
    day: date
    sustained_hr: float | None  # the best 20-s HR without artifacts; None: HR not usable
    ride_power_curve: NDArray[np.float64] | None  # cycling only, at CURVE_DURATIONS
    best_vdot: float | None  # runs only
    best_vdot_effort: dict[str, Any] | None
    excluded: bool = False  # the owner left it out of estimates


class Thresholds:
    """Resolves thresholds by date from the owner's values and the activity history."""

    def __init__(
        self,
        owner_values: list[tuple[str, date, float, str]],
        resting_hr: list[tuple[date, float]],
        profile: Profile,
    ) -> None:
        self.profile = profile
        self._owner: dict[str, list[tuple[date, int, float, str]]] = {}
        for kind, valid_from, value, source in owner_values:
            rank = 1 if source == "owner" else 0  # the owner's value wins on the same date
            self._owner.setdefault(kind, []).append((valid_from, rank, value, source))
        for values in self._owner.values():
            values.sort()
        resting = sorted(resting_hr)
        self._rest_days = np.array([d.toordinal() for d, _ in resting], dtype=np.int64)
        self._rest_values = np.array([v for _, v in resting], dtype=np.float64)
        self._rows: dict[int, HistoryRow] = {}
        self._arrays: tuple[NDArray[Any], ...] | None = None
        self._cache: dict[date, dict[str, dict[str, Any]]] = {}

    # --- history ----------------------------------------------------------------------------

    def add(self, row: HistoryRow) -> None:
        self._rows[row.activity_id] = row
        self._arrays = None
        self._cache.clear()

    def discard(self, activity_id: int) -> None:
        if self._rows.pop(activity_id, None) is not None:
            self._arrays = None
            self._cache.clear()

    def _history(self) -> tuple[NDArray[Any], ...]:
        """The included rows as arrays, ordered by day and id (ties go to the earliest)."""
        if self._arrays is None:
            rows = sorted(
                (r for r in self._rows.values() if not r.excluded),
                key=lambda r: (r.day, r.activity_id),
            )
            days = np.array([r.day.toordinal() for r in rows], dtype=np.int64)
            hr = np.array([np.nan if r.sustained_hr is None else r.sustained_hr for r in rows])
            curves = np.full((len(rows), CURVE_DURATIONS.size), np.nan)
            for i, r in enumerate(rows):
                if r.ride_power_curve is not None:
                    curves[i] = r.ride_power_curve
            vdot = np.array([np.nan if r.best_vdot is None else r.best_vdot for r in rows])
            ids = np.array([r.activity_id for r in rows], dtype=np.int64)
            self._arrays = (days, hr, curves, vdot, ids)
        return self._arrays

    def estimate_days(self) -> tuple[set[date], set[date]]:
        """Days with a ride power curve and days with a run VDOT: when estimates can change."""
        rows = [r for r in self._rows.values() if not r.excluded]
        rides = {r.day for r in rows if r.ride_power_curve is not None}
        runs = {r.day for r in rows if r.best_vdot is not None}
        return rides, runs

    # --- resolution -------------------------------------------------------------------------

    def _owner_value(self, kind: str, day: date) -> tuple[float, str] | None:
        values = self._owner.get(kind)
        if not values:
            return None
        at = bisect.bisect_right(values, (day, 2))
        if at == 0:
            return None
        valid_from, _, value, source = values[at - 1]
        return value, f"{source}:{valid_from.isoformat()}"

    def cycling_fit(self, day: date) -> tuple[estimates.CriticalPowerFit, dict[str, Any]] | None:
        """CP/W′ ("work_time_linear") of the 90-day ride power-curve envelope up to ``day``;
        ``activity_ids`` in the inputs are the rides holding its points in the fit's window."""
        days, _, curves, _, ids = self._history()
        end = day.toordinal()
        window = (days <= end) & (days > end - WINDOW_DAYS)
        if not window.any():
            return None
        chosen = curves[window]
        if np.isnan(chosen).all():
            return None
        filled = np.where(np.isnan(chosen), -np.inf, chosen)
        envelope = filled.max(axis=0)
        envelope = np.where(np.isfinite(envelope), envelope, np.nan)
        fit = estimates.fit_critical_power(CURVE_DURATIONS, envelope, method="work_time_linear")
        if fit is None or fit.cp_w <= 0 or fit.w_prime_j < 0:
            return None
        fitted = (
            np.isfinite(envelope)
            & (CURVE_DURATIONS > estimates.CP_MIN_DURATION_S)
            & (CURVE_DURATIONS <= estimates.CP_MAX_DURATION_S)
        )
        holders = ids[window][np.argmax(filled[:, fitted], axis=0)]  # the first of equals
        return fit, {
            "fit": fit.method,
            "points": fit.points,
            "window_days": WINDOW_DAYS,
            "activities": int(window.sum()),
            "activity_ids": sorted({int(i) for i in holders.tolist()}),
        }

    def best_vdot(self, day: date) -> tuple[float, dict[str, Any]] | None:
        """The best run VDOT of the 90 days up to ``day`` and the effort it came from."""
        days, _, _, vdot, ids = self._history()
        end = day.toordinal()
        window = (days <= end) & (days > end - WINDOW_DAYS) & np.isfinite(vdot)
        if not window.any():
            return None
        index = np.flatnonzero(window)[int(np.argmax(vdot[window]))]
        row = self._rows[int(ids[index])]
        effort = dict(row.best_vdot_effort or {})
        return float(vdot[index]), {
            **effort,
            "activity_id": row.activity_id,
            "day": row.day.isoformat(),
            "window_days": WINDOW_DAYS,
        }

    def max_sustained_hr(self, day: date) -> tuple[float, int] | None:
        """The highest sustained HR of the activities up to ``day`` and the activity's id."""
        days, hr, _, _, ids = self._history()
        upto = np.flatnonzero((days <= day.toordinal()) & np.isfinite(hr))
        if upto.size == 0:
            return None
        best = upto[int(np.argmax(hr[upto]))]
        return float(hr[best]), int(ids[best])

    def median_resting_hr(self, day: date) -> float | None:
        end = day.toordinal()
        lo = np.searchsorted(self._rest_days, end - WINDOW_DAYS, side="right")
        hi = np.searchsorted(self._rest_days, end, side="right")
        return float(np.median(self._rest_values[lo:hi])) if hi > lo else None

    def resolve(self, day: date) -> dict[str, dict[str, Any]]:
        """``{kind: {"value": v, "source": s}}`` for every threshold known on ``day``."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        used: dict[str, dict[str, Any]] = {}

        def put(kind: str, value: float | None, source: str, **extra: Any) -> None:
            if value is not None and np.isfinite(value):
                used[kind] = {"value": round(float(value), 6), "source": source, **extra}

        def owner(kind: str) -> bool:
            found = self._owner_value(kind, day)
            if found is not None:
                put(kind, found[0], found[1])
            return found is not None

        if not owner("hr_max_bpm"):
            sustained = self.max_sustained_hr(day)
            if sustained is not None:
                value, activity = sustained
                put("hr_max_bpm", value, "estimated:max_sustained_hr", activity_ids=[activity])
            elif self.profile.birth_year:
                put("hr_max_bpm", 220.0 - (day.year - self.profile.birth_year), "age_formula")
        if not owner("hr_rest_bpm"):
            median = self.median_resting_hr(day)
            if median is not None:
                put("hr_rest_bpm", median, "estimated:median_resting_hr_90d")
            else:
                put("hr_rest_bpm", DEFAULT_HR_REST_BPM, "default")
        if not owner("lthr_bpm") and "hr_max_bpm" in used:
            hr_max = used["hr_max_bpm"]
            value = LTHR_FRACTION_OF_HR_MAX * hr_max["value"]
            extra = {"activity_ids": hr_max["activity_ids"]} if "activity_ids" in hr_max else {}
            put("lthr_bpm", value, "estimated:fraction_of_hr_max", **extra)
        if not owner("ftp_w"):
            fit = self.cycling_fit(day)
            if fit is not None:
                eftp = estimates.estimated_ftp(fit[0].cp_w, fit[0].w_prime_j)
                put("ftp_w", eftp, "estimated:eftp_90d", activity_ids=fit[1]["activity_ids"])
        if not owner("threshold_pace_s_per_km"):
            best = self.best_vdot(day)
            if best is not None:
                pace = float(estimates.threshold_pace_goldencheetah(best[0]))
                put(
                    "threshold_pace_s_per_km",
                    pace,
                    "estimated:vdot_90d",
                    activity_ids=[best[1]["activity_id"]],
                )
        owner("weight_kg")
        self._cache[day] = used
        return used


def load_thresholds(
    session: Session, profile: Profile | None = None, *, resolved_on: date | None = None
) -> Thresholds:
    """Owner thresholds and resting HR from the database; no activity history yet.
    ``resolved_on``: only the resting HR a resolution on that day reads (its
    ``WINDOW_DAYS``), not ten years of it."""
    owner_values = [
        (kind, valid_from, value, source)
        for kind, valid_from, value, source in session.execute(
            select(
                AthleteThreshold.kind,
                AthleteThreshold.valid_from,
                AthleteThreshold.value,
                AthleteThreshold.source,
            )
        )
    ]
    resting = [
        (day, value)
        for day, value in session.execute(
            select(DailyWellness.day, DailyWellness.resting_hr).where(
                DailyWellness.resting_hr.is_not(None),
                *(
                    ()
                    if resolved_on is None
                    else (
                        DailyWellness.day > resolved_on - timedelta(days=WINDOW_DAYS),
                        DailyWellness.day <= resolved_on,
                    )
                ),
            )
        )
    ]
    return Thresholds(owner_values, resting, profile or load_profile(session))
