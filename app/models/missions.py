"""Missions and the moves of their lifecycle (migration 0017). The mission itself is the
validated document of :class:`app.coach.missions.Mission`; ``name`` and ``state`` are kept as
columns for lists and the one-active rule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class MissionRow(Base):
    __tablename__ = "mission"
    __table_args__ = (
        CheckConstraint(
            "state IN ('prep', 'training', 'event_active', 'mission_complete', 'archived')",
            name="state",
        ),
        CheckConstraint("origin IN ('import', 'form', 'llm')", name="origin"),
        Index(
            "uq_mission_one_active",
            text("(true)"),
            unique=True,
            postgresql_where=text("state IN ('training', 'event_active')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), server_default="prep")
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)
    origin: Mapped[str] = mapped_column(String(12), server_default="import")
    wrap_up: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MissionTransitionRow(Base):
    __tablename__ = "mission_transition"
    __table_args__ = (
        CheckConstraint("trigger IN ('owner', 'clock')", name="trigger"),
        Index("ix_mission_transition_mission_id", "mission_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("mission.id", ondelete="CASCADE")
    )
    source: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StageCorrectionRow(Base):
    """The owner's correction of a stage: the activity that rode it and/or the mode to count."""

    __tablename__ = "stage_correction"
    __table_args__ = (
        CheckConstraint("activity_id IS NOT NULL OR mode IS NOT NULL", name="changes_something"),
    )

    mission_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("mission.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("activity.id", ondelete="CASCADE")
    )
    mode: Mapped[str | None] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
