"""Daily wellness: every source's values per local date (``daily_wellness_source``) and the
resolved row the pages read (``daily_wellness``, one per date); intraday health samples (a
hypertable)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, DateTime, Float, Index, String, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.records import WELLNESS_FIELDS


class DailyWellness(Base):
    __tablename__ = "daily_wellness"
    __table_args__ = (Index("ix_daily_wellness_updated_at", "updated_at"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    resting_hr: Mapped[float | None] = mapped_column(Float)
    hrv_rmssd_ms: Mapped[float | None] = mapped_column(Float)
    hrv_sdnn_ms: Mapped[float | None] = mapped_column(Float)
    sleep_s: Mapped[float | None] = mapped_column(Float)
    sleep_deep_s: Mapped[float | None] = mapped_column(Float)
    sleep_light_s: Mapped[float | None] = mapped_column(Float)
    sleep_rem_s: Mapped[float | None] = mapped_column(Float)
    sleep_awake_s: Mapped[float | None] = mapped_column(Float)
    sleep_score: Mapped[float | None] = mapped_column(Float)
    stress_avg: Mapped[float | None] = mapped_column(Float)
    body_battery_high: Mapped[float | None] = mapped_column(Float)
    body_battery_low: Mapped[float | None] = mapped_column(Float)
    steps: Mapped[float | None] = mapped_column(Float)
    weight_kg: Mapped[float | None] = mapped_column(Float)
    body_fat_pct: Mapped[float | None] = mapped_column(Float)
    vo2max_running: Mapped[float | None] = mapped_column(Float)
    vo2max_cycling: Mapped[float | None] = mapped_column(Float)
    training_readiness: Mapped[float | None] = mapped_column(Float)
    respiratory_rate: Mapped[float | None] = mapped_column(Float)
    spo2_avg: Mapped[float | None] = mapped_column(Float)
    active_kcal: Mapped[float | None] = mapped_column(Float)
    sources: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class DailyWellnessSource(Base):
    """One source's values for one local date, kept whichever source wins the day's row
    (``app.services.wellness.origins`` resolves ``daily_wellness`` from these)."""

    __tablename__ = "daily_wellness_source"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    values: Mapped[dict[str, float]] = mapped_column(JSONB)  # keys from WELLNESS_FIELDS
    extras: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


missing = set(WELLNESS_FIELDS) - set(DailyWellness.__table__.columns.keys())
assert not missing, f"daily_wellness lacks columns for {missing}"

health_sample_table = Table(
    "health_sample",
    Base.metadata,
    Column("time", DateTime(timezone=True), nullable=False),
    Column("metric", String(32), nullable=False),
    Column("source", String(32), nullable=False),
    Column("device", Text, nullable=False, server_default=""),
    Column("value", Float, nullable=False),
    Column("end_time", DateTime(timezone=True)),
    Index("ix_health_sample_metric", "metric", "source", "device", "time", unique=True),
)
