"""What the Insights page shows besides the correlations: the best power and pace of a season
against another, and the athlete's estimates (VO2max, VDOT, CP, eFTP, race predictions) over
time, each with its inputs and date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.analytics.curves import BEST_EFFORT_DISTANCES_M, DEFAULT_DURATIONS_S
from app.models import Activity
from app.models.metrics import ActivityMetrics, AthleteEstimate

RACES = ("5k", "10k", "half_marathon", "marathon")
TREND_KINDS = ("vo2max_runalyze", "vdot", "vo2max_uth_sorensen", "cp_w", "eftp_w")


@dataclass(frozen=True)
class Season:
    key: str
    start: date
    end: date


@dataclass(frozen=True)
class Curves:
    durations_s: tuple[int, ...]
    power: dict[str, list[float | None]]  # season key -> best watts per duration
    pace: dict[str, dict[str, float]]  # season key -> distance name -> best time (s)
    distances: dict[str, float]


def seasons(today: date) -> list[Season]:
    """The last 90 days, this calendar year, last calendar year and all time."""
    return [
        Season("90d", today - timedelta(days=89), today),
        Season("this_year", date(today.year, 1, 1), today),
        Season("last_year", date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
        Season("all", date.min, today),
    ]


def curves(session: Session, today: date) -> Curves:
    """Season bests from every activity's stored power curve and pace bests (one query)."""
    rows = session.execute(
        select(Activity.local_date, ActivityMetrics.power_curve_w, ActivityMetrics.pace_bests)
        .join(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .where((ActivityMetrics.power_curve_w.is_not(None)) | (ActivityMetrics.pace_bests != {}))
    ).all()
    width = len(DEFAULT_DURATIONS_S)
    days = np.array([row[0].toordinal() for row in rows], dtype=np.int64)
    power = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        if row[1]:
            values = np.asarray(row[1], dtype=np.float64)[:width]
            power[i, : values.size] = values
    power_out: dict[str, list[float | None]] = {}
    pace_out: dict[str, dict[str, float]] = {}
    for season in seasons(today):
        inside = (days >= season.start.toordinal()) & (days <= season.end.toordinal())
        chosen = power[inside]
        if chosen.size and np.isfinite(chosen).any():
            with np.errstate(all="ignore"):
                best = np.nanmax(np.where(np.isfinite(chosen), chosen, -np.inf), axis=0)
            power_out[season.key] = [float(v) if np.isfinite(v) and v > 0 else None for v in best]
        bests: dict[str, float] = {}
        for index in np.flatnonzero(inside):
            for name, effort in (rows[index][2] or {}).items():
                time_s = effort.get("time_s") if isinstance(effort, dict) else None
                if time_s and (name not in bests or time_s < bests[name]):
                    bests[name] = float(time_s)
        if bests:
            pace_out[season.key] = bests
    return Curves(DEFAULT_DURATIONS_S, power_out, pace_out, BEST_EFFORT_DISTANCES_M)


@dataclass(frozen=True)
class Estimate:
    kind: str
    day: date
    value: float
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Estimates:
    latest: dict[str, Estimate]
    trends: dict[str, tuple[list[date], list[float]]]


def estimates(session: Session) -> Estimates:
    """The newest value of every estimate, and the trend of the headline ones."""
    rows = session.execute(
        select(AthleteEstimate.kind, AthleteEstimate.day, AthleteEstimate.value,
               AthleteEstimate.inputs)
        .order_by(AthleteEstimate.kind, AthleteEstimate.day)
    ).all()  # fmt: skip
    latest: dict[str, Estimate] = {}
    trends: dict[str, tuple[list[date], list[float]]] = {}
    for kind, day, value, inputs in rows:
        latest[kind] = Estimate(kind, day, value, inputs or {})
        if kind in TREND_KINDS:
            days, values = trends.setdefault(kind, ([], []))
            days.append(day)
            values.append(value)
    return Estimates(latest, trends)
