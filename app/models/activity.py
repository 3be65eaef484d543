"""Activities and what hangs off them: sources, laps, R-R intervals and per-second samples.

``sample`` is a TimescaleDB hypertable (when TimescaleDB is installed) without a primary key; it
is a Core table, written with binary COPY (``app.db.copy``) and read with Core queries.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    REAL,
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base

SUMMARY_FIELDS = (
    "elapsed_s",
    "moving_s",
    "distance_m",
    "ascent_m",
    "descent_m",
    "calories",
    "avg_hr",
    "max_hr",
    "avg_power",
    "max_power",
    "avg_cadence",
    "avg_speed",
)


class Summary:
    """The summary values an activity and each of its laps carry (``SUMMARY_FIELDS``)."""

    elapsed_s: Mapped[float | None] = mapped_column(Float)
    moving_s: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    ascent_m: Mapped[float | None] = mapped_column(Float)
    descent_m: Mapped[float | None] = mapped_column(Float)
    calories: Mapped[float | None] = mapped_column(Float)
    avg_hr: Mapped[float | None] = mapped_column(Float)
    max_hr: Mapped[float | None] = mapped_column(Float)
    avg_power: Mapped[float | None] = mapped_column(Float)
    max_power: Mapped[float | None] = mapped_column(Float)
    avg_cadence: Mapped[float | None] = mapped_column(Float)
    avg_speed: Mapped[float | None] = mapped_column(Float)


class RawFile(Base):
    """An original file kept forever under ``data/raw/`` (content-addressed by SHA-256)."""

    __tablename__ = "raw_file"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)  # relative to data/raw
    size: Mapped[int] = mapped_column(BigInteger)
    original_name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Activity(Summary, Base):
    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    sport: Mapped[str] = mapped_column(String(40))
    sub_sport: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    local_date: Mapped[date] = mapped_column(Date, index=True)
    utc_offset_s: Mapped[int | None] = mapped_column(Integer)
    device: Mapped[str | None] = mapped_column(Text)
    multisport_parent_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("activity.id", ondelete="SET NULL")
    )
    multisport_index: Mapped[int | None] = mapped_column(SmallInteger)
    sample_count: Mapped[int] = mapped_column(Integer, server_default="0")
    developer_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    extras: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # The owner left this activity out of threshold estimates (HRmax, eFTP, VDOT …) at this time.
    excluded_from_estimates_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    sources: Mapped[list[ActivitySource]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", passive_deletes=True
    )
    laps: Mapped[list[Lap]] = relationship(
        order_by="Lap.lap_index", cascade="all, delete-orphan", passive_deletes=True
    )


class ActivitySource(Base):
    """One source that carried an activity (a FIT file, the Garmin export, Strava…)."""

    __tablename__ = "activity_source"
    __table_args__ = (UniqueConstraint("source", "source_key"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("activity.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(32))
    source_key: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    raw_file_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("raw_file.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    activity: Mapped[Activity] = relationship(back_populates="sources")


class Lap(Summary, Base):
    __tablename__ = "lap"

    activity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    lap_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ActivityRR(Base):
    """Beat-to-beat (R-R) intervals recorded during an activity, in milliseconds."""

    __tablename__ = "activity_rr"

    activity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    rr_ms: Mapped[list[float]] = mapped_column(ARRAY(REAL))


sample_table = Table(
    "sample",
    Base.metadata,
    # No foreign key (a per-row check would halve COPY speed): whoever deletes an activity
    # deletes its samples in the same transaction.
    Column("activity_id", BigInteger, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("heart_rate", REAL),
    Column("power", REAL),
    Column("cadence", REAL),
    Column("speed", REAL),
    Column("distance", Float),
    Column("lat", Float),
    Column("lon", Float),
    Column("altitude", REAL),
    Column("temperature", REAL),
    Index("ix_sample_activity_id", "activity_id", "time"),
)
