"""Training plans: a plan (``plan``), its revisions (``plan_revision``: the plan in the
import/export format as the guardrails left it, their report, the state and where it came
from) and the approved revision's workouts on the calendar (``planned_workout``: one row per
stable workout id, with Domestique's estimate and what became of it). See migration 0015 and
``app.services.plans``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

REVISION_STATES = ("DRAFT", "PROPOSED", "APPROVED", "REJECTED", "SUPERSEDED")
REVISION_ORIGINS = ("import", "llm", "chat", "edit", "adaptation")
WORKOUT_STATES = ("PLANNED", "PUSHED", "DONE", "SKIPPED", "MISSED")


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


class TrainingPlan(Base):
    """One plan the owner follows or considered; its content lives in its revisions."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    goal_summary: Mapped[str] = mapped_column(Text)
    # The mission the plan was drafted for (migration 0024); NULL for a plan of its own.
    mission_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("mission.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PlanRevision(Base):
    """One version of a plan. ``content`` is the plan (``app.coach.plans.Plan`` as JSON) after
    the guardrails' adjustments; ``report`` their findings; ``blocked`` whether any blocks.
    ``base_revision_id`` is the approved revision it was compared with when it was made. At most
    one revision of a plan is APPROVED."""

    __tablename__ = "plan_revision"
    __table_args__ = (
        CheckConstraint(f"state IN ({_in(REVISION_STATES)})", name="state"),
        CheckConstraint(f"origin IN ({_in(REVISION_ORIGINS)})", name="origin"),
        UniqueConstraint("plan_id", "number"),
        Index(
            "uq_plan_revision_approved",
            "plan_id",
            unique=True,
            postgresql_where=text("state = 'APPROVED'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    plan_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("plan.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12))
    origin: Mapped[str] = mapped_column(String(12))
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    blocked: Mapped[bool] = mapped_column(Boolean, server_default="false")
    blocks_accepted: Mapped[bool] = mapped_column(Boolean, server_default="false")
    change_set: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    base_revision_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("plan_revision.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PlannedWorkout(Base):
    """A workout of a plan's APPROVED revision on the calendar. ``workout_id`` is the plan's
    stable id: a new approved revision updates the row and keeps its ``state``."""

    __tablename__ = "planned_workout"
    __table_args__ = (
        CheckConstraint(f"state IN ({_in(WORKOUT_STATES)})", name="state"),
        UniqueConstraint("plan_id", "workout_id"),
        Index("ix_planned_workout_day", "day"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    plan_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("plan.id", ondelete="CASCADE"))
    revision_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("plan_revision.id", ondelete="CASCADE")
    )
    workout_id: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    sport: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    key: Mapped[bool] = mapped_column(Boolean, server_default="false")
    duration_s: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    load: Mapped[float] = mapped_column(Float)
    load_model: Mapped[str] = mapped_column(String(12))
    assumed_steps: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    state: Mapped[str] = mapped_column(String(8), server_default="PLANNED")
    activity_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("activity.id", ondelete="SET NULL")
    )
    in_target_s: Mapped[float | None] = mapped_column(Float)
    targeted_s: Mapped[float | None] = mapped_column(Float)
    """Time in target of the matched activity (migration 0023): the seconds inside the planned
    steps' targets of the seconds they covered (:mod:`app.coach.time_in_target`); NULL until
    worked out after matching, and again when the pairing or the workout changes."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CalendarFeed(Base):
    """The calendar feed's secret (one row): the SHA-256 of the token in the feed's address,
    and the install's id every event UID derives from (migration 0019)."""

    __tablename__ = "calendar_feed"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    install_id: Mapped[str] = mapped_column(String(36))
    token_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class GarminPush(Base):
    """What Domestique did on Garmin Connect for one workout of a plan (migration 0020): no
    foreign key to ``plan``'s workouts, so a workout dropped from the plan can still be removed
    from Garmin. ``differences`` are the read-back's findings (codes and params)."""

    __tablename__ = "garmin_push"

    plan_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    workout_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    garmin_workout_id: Mapped[int | None] = mapped_column(BigInteger)
    revision: Mapped[str | None] = mapped_column(String(64))
    checked: Mapped[bool] = mapped_column(Boolean, server_default="false")
    schedule_id: Mapped[int | None] = mapped_column(BigInteger)
    day: Mapped[date | None] = mapped_column(Date)
    differences: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
