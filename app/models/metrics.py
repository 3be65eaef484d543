"""Stored training metrics: thresholds by date, per-activity metrics, the daily series and
athlete estimates. Everything here except ``athlete_threshold`` rows the owner entered is
derived and rebuilt by ``domestique recompute`` (``app.services.metrics``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

THRESHOLD_KINDS = (
    "ftp_w",
    "lthr_bpm",
    "hr_max_bpm",
    "hr_rest_bpm",
    "threshold_pace_s_per_km",
    "weight_kg",
)


class AthleteThreshold(Base):
    """A threshold value valid from a date until the next value of the same kind.

    ``source`` is ``owner`` (entered on the Settings page) or ``estimated`` (an estimate the
    owner accepted); on the same date the owner's value wins.
    """

    __tablename__ = "athlete_threshold"
    __table_args__ = (
        UniqueConstraint("kind", "valid_from", "source"),
        CheckConstraint("source IN ('owner', 'estimated')", name="source"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    valid_from: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16), server_default="owner")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


PACE_BEST_EFFORTS = ("400m", "1k", "1mile", "5k", "10k", "half_marathon", "marathon")
"""The keys of ``app.analytics.curves.BEST_EFFORT_DISTANCES_M``, in its order (a test keeps them
equal; models do not import the analytics)."""


def pace_bests_array(field: str) -> str:
    """SQL: ``field`` of each best effort in ``pace_bests``, in the order of
    :data:`PACE_BEST_EFFORTS` (NULL where an effort is missing; NULL without any)."""
    items = ", ".join(
        f"CAST(pace_bests -> '{name}' ->> '{field}' AS double precision)"
        for name in PACE_BEST_EFFORTS
    )
    return f"CASE WHEN pace_bests = '{{}}'::jsonb THEN NULL ELSE ARRAY[{items}] END"


class ActivityMetrics(Base):
    """Metrics of one activity (``None`` = not defined for its data). Curves are sampled at
    ``app.analytics.curves.DEFAULT_DURATIONS_S`` (power, HR); pace bests are keyed by the names
    of ``BEST_EFFORT_DISTANCES_M``."""

    __tablename__ = "activity_metrics"
    # max(computed_at) is part of the data version the Insights page and the coach key on
    __table_args__ = (Index("ix_activity_metrics_computed_at", "computed_at"),)

    activity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    load: Mapped[float | None] = mapped_column(Float)
    load_model: Mapped[str | None] = mapped_column(String(8))  # power | pace | hr
    # power
    avg_power_w: Mapped[float | None] = mapped_column(Float)
    normalized_power_w: Mapped[float | None] = mapped_column(Float)
    intensity_factor: Mapped[float | None] = mapped_column(Float)
    tss: Mapped[float | None] = mapped_column(Float)
    variability_index: Mapped[float | None] = mapped_column(Float)
    work_kj: Mapped[float | None] = mapped_column(Float)
    # heart rate
    max_hr_bpm: Mapped[float | None] = mapped_column(Float)  # the highest sample, as recorded
    # the best 20-s HR once artifacts are removed (what HRmax is estimated from); None when the
    # recording's heart rate is mostly artifacts
    sustained_hr_bpm: Mapped[float | None] = mapped_column(Float)
    trimp: Mapped[float | None] = mapped_column(Float)
    hrss: Mapped[float | None] = mapped_column(Float)
    hr_zone_s: Mapped[list[float] | None] = mapped_column(ARRAY(REAL))
    # running
    ngp_s_per_km: Mapped[float | None] = mapped_column(Float)
    gap_avg_s_per_km: Mapped[float | None] = mapped_column(Float)
    rtss: Mapped[float | None] = mapped_column(Float)
    effective_vo2max: Mapped[float | None] = mapped_column(Float)
    # efficiency
    efficiency_factor: Mapped[float | None] = mapped_column(Float)
    decoupling_pct: Mapped[float | None] = mapped_column(Float)
    steady: Mapped[bool | None] = mapped_column(Boolean)
    decoupled: Mapped[bool | None] = mapped_column(Boolean)
    # summary
    moving_s: Mapped[float | None] = mapped_column(Float)
    ascent_m: Mapped[float | None] = mapped_column(Float)
    descent_m: Mapped[float | None] = mapped_column(Float)
    # best efforts
    power_curve_w: Mapped[list[float] | None] = mapped_column(ARRAY(REAL))
    hr_curve_bpm: Mapped[list[float] | None] = mapped_column(ARRAY(REAL))
    pace_bests: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # the same bests as arrays in the order of BEST_EFFORT_DISTANCES_M (kept by PostgreSQL):
    # the coach's snapshot takes each period's best of every distance from them in one pass
    pace_best_times_s: Mapped[list[float | None] | None] = mapped_column(
        ARRAY(Float), Computed(pace_bests_array("time_s"), persisted=True)
    )
    pace_best_vdots: Mapped[list[float | None] | None] = mapped_column(
        ARRAY(Float), Computed(pace_bests_array("vdot"), persisted=True)
    )
    # what app.analytics.artifacts removed before curves and bests were taken, per channel:
    # {"heart_rate": {"spikes": 2, "share": 0.001, "usable": true, …}, "power": {…}, …}
    artifacts: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # what was used: {"ftp_w": {"value": 250, "source": "owner:…"|"estimated:eftp_90d",
    # "activity_ids": [the rides the estimate came from]}, …}
    thresholds_used: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    algorithm_version: Mapped[int] = mapped_column(SmallInteger)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DailyMetrics(Base):
    """The daily series (one row per local date from the first activity on): load and the
    PMC (GoldenCheetah defaults: 42/7 days, exponential; ``tsb`` from yesterday's values,
    ``tsb_today`` the same-day variant), ramp (CTL change over 7 days), ACWR (EWMA 7/28 and
    rolling coupled 7/28), Foster monotony and strain (7 days, population SD)."""

    __tablename__ = "daily_metrics"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    load: Mapped[float] = mapped_column(Float)
    activities: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    ctl: Mapped[float] = mapped_column(Float)
    atl: Mapped[float] = mapped_column(Float)
    tsb: Mapped[float] = mapped_column(Float)
    tsb_today: Mapped[float] = mapped_column(Float)
    ramp: Mapped[float] = mapped_column(Float)
    acwr_ewma: Mapped[float | None] = mapped_column(Float)
    acwr_rolling: Mapped[float | None] = mapped_column(Float)
    monotony: Mapped[float | None] = mapped_column(Float)
    strain: Mapped[float | None] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class AthleteEstimate(Base):
    """An estimate as of a day (VDOT, VO2max, race predictions, CP/W′, eFTP) with its inputs."""

    __tablename__ = "athlete_estimate"
    __table_args__ = (
        UniqueConstraint("kind", "day"),
        Index("ix_athlete_estimate_computed_at", "computed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
