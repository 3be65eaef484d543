"""What the guardrails and the estimates know about the owner, read from the database in one
place: :func:`guardrail_inputs` returns the :class:`~app.coach.estimate.Thresholds` (the
thresholds in force today, set or estimated, as activities of today would use them) and the
:class:`~app.coach.guardrails.AthleteContext` (the last 120 days of daily load with the stored
CTL and ATL, the longest run of each of the last 35 days, the 7-day HRV against the owner's
normal band, today's readiness).

Every activity counts here, Strava's too: nothing of this reaches a language model, the
guardrails only read it.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.analytics import hrv
from app.analytics.pmc import DailyLoad
from app.coach.estimate import Thresholds
from app.coach.guardrails import AthleteContext
from app.models import Activity, DailyMetrics, DailyWellness
from app.services.metrics.compute import RUNNING_SPORTS
from app.services.metrics.recompute import owner_today, thresholds_as_of
from app.services.metrics.thresholds import load_profile

LOAD_DAYS = 120
LONGEST_RUN_DAYS = 35
HRV_DAYS = hrv.BASELINE_DAYS + 7


def thresholds_on(session: Session, day: date) -> Thresholds:
    """The owner's thresholds on ``day``: the owner's values, else what the metrics estimate
    from every activity up to ``day`` (the coach's snapshot resolves them the same way, from
    the activities a model may see)."""
    profile = load_profile(session)
    resolved = thresholds_as_of(session, day)
    return Thresholds.resolved(resolved, sex=profile.trimp_variant)


def _loads(session: Session, today: date) -> tuple[DailyLoad, float, float]:
    first = today - timedelta(days=LOAD_DAYS)
    rows = session.execute(
        select(DailyMetrics.day, DailyMetrics.load, DailyMetrics.ctl, DailyMetrics.atl)
        .where(DailyMetrics.day >= first, DailyMetrics.day <= today)
        .order_by(DailyMetrics.day)
    ).all()
    if not rows:  # a new owner: one rest day yesterday, no fitness yet
        return DailyLoad(today - timedelta(days=1), np.zeros(1)), 0.0, 0.0
    start, end = rows[0].day, rows[-1].day
    series = np.zeros((end - start).days + 1)
    for row in rows:
        series[(row.day - start).days] = float(row.load or 0.0)
    return DailyLoad(start, series), float(rows[-1].ctl), float(rows[-1].atl)


def _longest_runs(session: Session, today: date) -> dict[date, float]:
    rows = session.execute(
        select(Activity.local_date, func.max(Activity.distance_m))
        .where(
            Activity.sport.in_(RUNNING_SPORTS),
            Activity.local_date > today - timedelta(days=LONGEST_RUN_DAYS),
            Activity.local_date <= today,
            Activity.distance_m.is_not(None),
        )
        .group_by(Activity.local_date)
    ).all()
    return {day: float(meters) for day, meters in rows}


def _wellness(session: Session, today: date) -> dict[str, object]:
    start = today - timedelta(days=HRV_DAYS - 1)
    rows = session.execute(
        select(
            DailyWellness.day,
            DailyWellness.hrv_rmssd_ms,
            DailyWellness.hrv_sdnn_ms,
            DailyWellness.training_readiness,
        ).where(DailyWellness.day >= start, DailyWellness.day <= today)
    ).all()
    rmssd = np.full(HRV_DAYS, np.nan)
    sdnn = np.full(HRV_DAYS, np.nan)
    readiness = None
    for day, r, s, ready in rows:
        index = (day - start).days
        rmssd[index] = np.nan if r is None else float(r)
        sdnn[index] = np.nan if s is None else float(s)
        if day == today and ready is not None:
            readiness = float(ready)
    band = hrv.hrv_band(rmssd, sdnn)
    found: dict[str, object] = {"readiness": readiness}
    short, low, high = band.short[-1], band.low[-1], band.high[-1]
    if np.isfinite(short):
        found["hrv_7d"] = float(short)
        found["hrv_readings_7d"] = int(np.isfinite(band.nightly[-7:]).sum())
    if np.isfinite(low) and np.isfinite(high):
        found["hrv_band"] = (float(low), float(high))
    return found


def guardrail_inputs(
    session: Session, *, today: date | None = None
) -> tuple[Thresholds, AthleteContext]:
    """The thresholds and the athlete context as of ``today`` (the owner's today by default).
    Read-only; a fixed handful of queries whatever the history."""
    today = today or owner_today(session)
    profile = load_profile(session)
    thresholds = thresholds_on(session, today)
    loads, ctl, atl = _loads(session, today)
    context = AthleteContext(
        today=today,
        loads=loads,
        ctl=ctl,
        atl=atl,
        thresholds=thresholds,
        longest_run_m=_longest_runs(session, today),
        ctl_days=profile.ctl_days,
        atl_days=profile.atl_days,
        **_wellness(session, today),  # type: ignore[arg-type]
    )
    return thresholds, context
