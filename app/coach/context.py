"""What the coach sees: the context snapshot, shaped from what the service read.

Pure, like the rest of ``app.coach``: the service (``app.services.coach.context``) reads the
analytics tables — only the activities ``app.services.coach.ai_policy.ai_usable`` lets through — and
fills :class:`ContextInputs`; this module computes the day's load figures from the daily loads
(the same ``app.analytics.pmc`` functions the stored series comes from), summarises the periods
(weekly volume by sport, longest sessions, best efforts, VDOT, CP/W′, eFTP, race predictions),
compares the last 14 days of wellness with the owner's baseline, drops the groups the owner
withholds, and returns compact JSON-ready values. Nothing here ever holds a raw sample or a
position, so none can reach a prompt.

The shape is versioned (:data:`SNAPSHOT_VERSION`; raise it when a key changes meaning or goes)
and hashed (:func:`snapshot_sha256`, SHA-256 of the canonical JSON), so an audited call names
exactly what it was sent. Units are in the keys: ``_min``, ``_km``, ``_s``, ``_w``, ``_bpm``,
``_kg``, ``_h``, ``_ms``, ``_pct``.

Extension point: ``ContextInputs.sections`` carries the later parts — ``mission`` and ``plan``
are always present (``None`` until a feature provides them, see
``app.services.coach.context.register_section``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.analytics import estimates, pmc
from app.analytics.curves import DEFAULT_DURATIONS_S

SNAPSHOT_VERSION = 1
#: Groups the owner can keep from the model (Settings → Coach → What the coach sees).
GROUPS = ("wellness", "body_weight", "notes")
#: Sections later features fill; always present so a prompt can rely on the key.
SECTIONS = ("mission", "plan")
RECENT_DAYS = 14
TREND_DAYS = (7, 28, 90)
PERIODS: tuple[tuple[str, int | None], ...] = (("6w", 42), ("12w", 84), ("lifetime", None))
BEST_POWER_S: dict[str, int] = {"5s": 5, "1min": 60, "5min": 300, "20min": 1200, "60min": 3600}
#: Findings whose input or outcome is one of these series come from activities (and so go when
#: any activity is kept from the model), from wellness, or from body weight.
ACTIVITY_SERIES = frozenset({"load", "fitness", "form", "ef_run", "ef_ride", "decoupling"})
WEIGHT_SERIES = frozenset({"weight_kg"})
WELLNESS_SERIES = frozenset(
    {
        "sleep_h",
        "sleep_score",
        "deep_sleep_h",
        "rem_sleep_h",
        "hrv_ms",
        "resting_hr",
        "stress",
        "body_battery",
        "body_battery_low",
        "respiration",
        "readiness",
        "steps",
    }
)
#: An estimated threshold made from wellness data, withheld with it.
WELLNESS_THRESHOLD_METHODS = frozenset({"median_resting_hr_90d"})
_CURVE = np.asarray(DEFAULT_DURATIONS_S, dtype=np.float64)

FloatArray = NDArray[np.float64]


# --- inputs --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One recorded session of the last days (figures as stored; ``None`` = not defined)."""

    day: date
    sport: str
    duration_s: float | None
    distance_m: float | None
    load: float | None
    load_model: str | None
    intensity_factor: float | None
    efficiency_factor: float | None
    decoupling_pct: float | None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Longest:
    day: date
    duration_s: float
    distance_m: float | None


@dataclass(frozen=True, slots=True)
class SportPeriod:
    """One sport's totals over a period and its longest session."""

    sport: str
    sessions: int
    seconds: float
    meters: float
    load: float
    longest: Longest | None = None


@dataclass(frozen=True, slots=True)
class PaceBest:
    distance_m: float
    time_s: float
    vdot: float | None  # Daniels, from a mile up


@dataclass(frozen=True, slots=True)
class PeriodInputs:
    """A period ending today: ``days`` calendar days from ``first_day`` (the first activity's
    day for the lifetime). ``power_curve_w`` is the best mean power of the period's rides at
    ``app.analytics.curves.DEFAULT_DURATIONS_S`` (NaN where none); ``pace_bests`` the fastest
    run of each best-effort distance."""

    key: str
    first_day: date
    days: int
    sports: Sequence[SportPeriod]
    power_curve_w: FloatArray | None = None
    pace_bests: Mapping[str, PaceBest] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WellnessInputs:
    """Dense daily values from ``start`` to today (NaN = no value): the 14 days shown and the
    days before them that make the baseline. The HRV band is the Wellness page's (its 7-day
    mean against the 60-day mean ± 1 SD), computed by the service for every day."""

    start: date
    columns: Mapping[str, FloatArray]  # hrv_ms, resting_hr, sleep_h, sleep_score, readiness
    hrv_statistic: str  # rmssd | sdnn | ""
    hrv_7d: FloatArray
    hrv_low: FloatArray
    hrv_high: FloatArray
    hrv_status: Sequence[str | None]


@dataclass(frozen=True, slots=True)
class BodyWeight:
    latest_kg: float
    day: date
    mean_28d_kg: float | None


@dataclass(frozen=True, slots=True)
class FindingRow:
    """A "what is working" finding as the Insights page shows it."""

    input: str
    outcome: str
    lag_days: int
    r: float
    n: int
    q: float
    difference: float
    difference_pct: float | None
    high_threshold: float
    working: bool
    sentence: str


@dataclass(frozen=True, slots=True)
class ContextInputs:
    today: date
    sex: str | None = None
    birth_year: int | None = None
    sports: Sequence[str] = ()
    # {kind: {"value": v, "source": "owner:2025-01-01" | "estimated:eftp_90d" | "age_formula"
    # | "default"}} as app.services.metrics.thresholds resolves them for today
    thresholds: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    load_start: date | None = None  # the first day of ``loads`` (None: no activity)
    loads: FloatArray = field(default_factory=lambda: np.zeros(0))  # one value a day to today
    ctl_days: int = 42
    atl_days: int = 7
    tsb_variant: str = "yesterday"
    sessions: Sequence[SessionRow] = ()
    periods: Sequence[PeriodInputs] = ()
    wellness: WellnessInputs | None = None
    body_weight: BodyWeight | None = None
    findings: Sequence[FindingRow] = ()
    sections: Mapping[str, Any] = field(default_factory=dict)


# --- the snapshot --------------------------------------------------------------------------


def snapshot(inputs: ContextInputs, *, withheld: Sequence[str] = ()) -> dict[str, Any]:
    """The snapshot as a JSON-ready dict; the groups in ``withheld`` are left out entirely (the
    data, and what is derived from it: an estimate from wellness, a finding about sleep)."""
    unknown = set(withheld) - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown groups {sorted(unknown)}; known: {GROUPS}")
    kept = set(GROUPS) - set(withheld)
    data: dict[str, Any] = {
        "snapshot_version": SNAPSHOT_VERSION,
        "today": inputs.today.isoformat(),
        "profile": _profile(inputs),
        "thresholds": _thresholds(inputs.thresholds, kept),
        "load": _load(inputs),
        "recent_sessions": [_session(row, names="notes" in kept) for row in inputs.sessions],
        "periods": {p.key: _period(p) for p in inputs.periods},
    }
    if "wellness" in kept:
        data["wellness"] = _wellness(inputs.wellness)
    if "body_weight" in kept:
        data["body_weight"] = _body_weight(inputs.body_weight)
    data["findings"] = [_finding(f) for f in inputs.findings if _finding_kept(f, kept)]
    for name in SECTIONS:
        data[name] = inputs.sections.get(name)
    for name, value in inputs.sections.items():
        if name not in SECTIONS:
            data[name] = value
    data["withheld"] = [group for group in GROUPS if group not in kept]
    return data


def canonical_json(data: Any) -> str:
    """The snapshot as sent and hashed: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def snapshot_sha256(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def age_band(birth_year: int | None, today: date) -> str | None:
    """Five-year bands (``"40-44"``): enough for the coach, less than the birth year."""
    if not birth_year or birth_year > today.year:
        return None
    age = today.year - birth_year
    low = age - age % 5
    return f"{low}-{low + 4}"


# --- parts ---------------------------------------------------------------------------------


def _round(value: float | None, digits: int = 1) -> float | int | None:
    if value is None or not math.isfinite(value):
        return None
    rounded = round(float(value), digits) + 0.0  # never -0.0
    return int(rounded) if digits <= 0 else rounded


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _profile(inputs: ContextInputs) -> dict[str, Any]:
    return {
        "sex": inputs.sex if inputs.sex in ("male", "female") else None,
        "age_band": age_band(inputs.birth_year, inputs.today),
        "sports": list(inputs.sports),
    }


_THRESHOLD_DIGITS = {"threshold_pace_s_per_km": 0, "weight_kg": 1}


def _thresholds(used: Mapping[str, Mapping[str, Any]], kept: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, entry in sorted(used.items()):
        source = str(entry.get("source", ""))
        head, _sep, tail = source.partition(":")
        if kind == "weight_kg" and "body_weight" not in kept:
            continue
        if head == "estimated" and tail in WELLNESS_THRESHOLD_METHODS and "wellness" not in kept:
            continue
        item: dict[str, Any] = {
            "value": _round(entry.get("value"), _THRESHOLD_DIGITS.get(kind, 0)),
        }
        if head in ("owner", "estimated") and _is_date(tail):
            item.update(source="owner" if head == "owner" else "accepted_estimate", since=tail)
        elif head == "estimated":
            item.update(source="estimated", method=tail)
        else:
            item["source"] = source or "default"
        out[kind] = item
    return out


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


_LOAD_KEYS = ("ctl", "atl", "tsb", "ramp_7d", "acwr_ewma", "acwr_rolling", "monotony", "strain")
_LOAD_DIGITS = {"acwr_ewma": 2, "acwr_rolling": 2, "monotony": 2, "strain": 0}


def _load(inputs: ContextInputs) -> dict[str, Any] | None:
    """Today's CTL/ATL/TSB, ramp, ACWR, monotony and strain, and the same 7, 28 and 90 days
    earlier; the conventions they were computed with."""
    loads = np.asarray(inputs.loads, dtype=np.float64)
    if inputs.load_start is None or loads.size == 0:
        return None
    curve = pmc.pmc(
        loads,
        ctl_days=inputs.ctl_days,
        atl_days=inputs.atl_days,
        tsb="today" if inputs.tsb_variant == "today" else "yesterday",
    )
    series = {
        "ctl": curve.ctl,
        "atl": curve.atl,
        "tsb": curve.tsb,
        "ramp_7d": pmc.ramp_rate(curve.ctl),
        "acwr_ewma": pmc.acwr(loads, method="ewma").ratio,
        "acwr_rolling": pmc.acwr(loads, method="rolling_coupled").ratio,
    }
    foster = pmc.monotony_strain(loads)
    series["monotony"], series["strain"] = foster.monotony, foster.strain
    last = loads.size - 1

    def at(index: int) -> dict[str, Any] | None:
        if index < 0:
            return None
        return {key: _round(series[key][index], _LOAD_DIGITS.get(key, 1)) for key in _LOAD_KEYS}

    week = loads[max(0, last - 6) :]
    return {
        "conventions": {
            "ctl_days": inputs.ctl_days,
            "atl_days": inputs.atl_days,
            "tsb": "today" if inputs.tsb_variant == "today" else "yesterday",
            "acwr": "ewma 7/28 and rolling 7/28",
        },
        "today": at(last),
        "load_last_7d": _round(float(week.sum()), 0),
        "trend": {f"{days}d_ago": at(last - days) for days in TREND_DAYS},
    }


def _session(row: SessionRow, *, names: bool) -> dict[str, Any]:
    values = {
        "date": row.day.isoformat(),
        "sport": row.sport,
        "name": row.name if names and row.name else None,
        "duration_min": _round(None if row.duration_s is None else row.duration_s / 60, 0),
        "distance_km": _round(None if row.distance_m is None else row.distance_m / 1000, 2),
        "load": _round(row.load, 0),
        "load_model": row.load_model,
        "if": _round(row.intensity_factor, 2),
        "ef": _round(row.efficiency_factor, 3),
        "decoupling_pct": _round(row.decoupling_pct, 1),
    }
    return _compact(values)


def _period(period: PeriodInputs) -> dict[str, Any]:
    weeks = max(period.days, 1) / 7
    weekly = {
        s.sport: {
            "sessions": _round(s.sessions / weeks, 1),
            "minutes": _round(s.seconds / 60 / weeks, 0),
            "km": _round(s.meters / 1000 / weeks, 1),
            "load": _round(s.load / weeks, 0),
        }
        for s in period.sports
    }
    longest = {
        s.sport: _compact(
            {
                "date": s.longest.day.isoformat(),
                "duration_min": _round(s.longest.duration_s / 60, 0),
                "distance_km": _round(
                    None if s.longest.distance_m is None else s.longest.distance_m / 1000, 2
                ),
            }
        )
        for s in period.sports
        if s.longest is not None
    }
    out: dict[str, Any] = {
        "from": period.first_day.isoformat(),
        "weeks": _round(weeks, 1),
        "weekly_by_sport": weekly,
        "longest": longest,
    }
    out.update(_power(period.power_curve_w))
    out.update(_running(period.pace_bests))
    return _compact(out)


def _power(curve: FloatArray | None) -> dict[str, Any]:
    """Best mean powers, and CP/W′ with eFTP fitted to them (``work_time_linear``, the fit the
    app's estimates use)."""
    if curve is None:
        return {}
    values = np.asarray(curve, dtype=np.float64)
    if values.size != _CURVE.size or not np.isfinite(values).any():
        return {}
    best = {
        name: _round(float(values[DEFAULT_DURATIONS_S.index(seconds)]), 0)
        for name, seconds in BEST_POWER_S.items()
    }
    out: dict[str, Any] = {"best_power_w": _compact(best)}
    fit = estimates.fit_critical_power(_CURVE, values, method="work_time_linear")
    if fit is not None and fit.cp_w > 0 and fit.w_prime_j >= 0:
        out["cp_w"] = _round(fit.cp_w, 0)
        out["w_prime_j"] = _round(fit.w_prime_j, -2)
        out["eftp_w"] = _round(estimates.estimated_ftp(fit.cp_w, fit.w_prime_j), 0)
    return out


def _running(bests: Mapping[str, PaceBest]) -> dict[str, Any]:
    """Fastest efforts by distance; the best VDOT and the race predictions from its effort
    (Riegel and VDOT equivalence)."""
    if not bests:
        return {}
    efforts = {
        name: {
            "time_s": _round(b.time_s, 0),
            "pace_s_per_km": _round(b.time_s / b.distance_m * 1000, 0),
        }
        for name, b in sorted(bests.items(), key=lambda item: item[1].distance_m)
    }
    out: dict[str, Any] = {"best_efforts": efforts}
    rated = [b for b in bests.values() if b.vdot is not None and math.isfinite(b.vdot)]
    if rated:
        top = max(rated, key=lambda b: (b.vdot, -b.distance_m))
        out["vdot"] = _round(top.vdot, 1)
        predictions = _race_predictions(float(top.distance_m), float(top.time_s))
        out["race_predictions_s"] = {
            name: {"riegel": _round(p.riegel_s, 0), "vdot": _round(p.vdot_s, 0)}
            for name, p in predictions.items()
        }
    return out


@functools.lru_cache(maxsize=256)
def _race_predictions(distance_m: float, time_s: float) -> Mapping[str, Any]:
    """Riegel and VDOT equivalents (a root search each: kept, as bests rarely change)."""
    return MappingProxyType(estimates.race_predictions(distance_m, time_s))


def _stats(values: FloatArray) -> dict[str, Any] | None:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    return {
        "mean": float(finite.mean()),
        "sd": float(finite.std(ddof=1)) if finite.size > 1 else None,
        "days": int(finite.size),
    }


_WELLNESS_DIGITS = {"hrv_ms": 0, "resting_hr": 0, "sleep_h": 1, "sleep_score": 0, "readiness": 0}


def _wellness(inputs: WellnessInputs | None) -> dict[str, Any] | None:
    """The last 14 days against the owner's baseline: the days before them (mean and SD of each
    value) and, for HRV, the Wellness page's band."""
    if inputs is None:
        return None
    n = next(iter(inputs.columns.values())).size if inputs.columns else 0
    if n == 0:
        return None
    shown = min(RECENT_DAYS, n)
    first = n - shown
    baseline: dict[str, Any] = {}
    for key, values in inputs.columns.items():
        stats = _stats(np.asarray(values[:first], dtype=np.float64))
        if stats is not None:
            digits = _WELLNESS_DIGITS.get(key, 1)
            baseline[key] = _compact(
                {
                    "mean": _round(stats["mean"], digits),
                    "sd": _round(stats["sd"], max(digits, 1)),
                    "days": stats["days"],
                }
            )
    if inputs.hrv_statistic:
        baseline["hrv_band_ms"] = _compact(
            {
                "statistic": inputs.hrv_statistic,
                "low": _round(inputs.hrv_low[-1], 0),
                "high": _round(inputs.hrv_high[-1], 0),
            }
        )
    days = []
    for i in range(first, n):
        row = {
            key: _round(values[i], _WELLNESS_DIGITS.get(key, 1))
            for key, values in inputs.columns.items()
        }
        row["hrv_7d_ms"] = _round(inputs.hrv_7d[i], 0)
        row["hrv_status"] = inputs.hrv_status[i]
        compact = _compact(row)
        if compact:
            days.append({"date": (inputs.start + timedelta(days=i)).isoformat(), **compact})
    if not days and not baseline:
        return None
    return {"baseline_from": inputs.start.isoformat(), "baseline": baseline, "days": days}


def _body_weight(weight: BodyWeight | None) -> dict[str, Any] | None:
    if weight is None:
        return None
    return _compact(
        {
            "latest_kg": _round(weight.latest_kg, 1),
            "date": weight.day.isoformat(),
            "mean_28d_kg": _round(weight.mean_28d_kg, 1),
        }
    )


def _finding_kept(finding: FindingRow, kept: set[str]) -> bool:
    series = {finding.input, finding.outcome}
    if "wellness" not in kept and series & WELLNESS_SERIES:
        return False
    return not ("body_weight" not in kept and series & WEIGHT_SERIES)


def _finding(finding: FindingRow) -> dict[str, Any]:
    return _compact(
        {
            "input": finding.input,
            "outcome": finding.outcome,
            "lag_days": finding.lag_days,
            "r": _round(finding.r, 2),
            "n": finding.n,
            "q": _round(finding.q, 4),
            "input_at_least": _round(finding.high_threshold, 2),
            "difference": _round(finding.difference, 3),
            "difference_pct": _round(finding.difference_pct, 1),
            "working": finding.working,
            "sentence": finding.sentence,
        }
    )
