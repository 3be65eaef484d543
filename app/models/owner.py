from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Integer, SmallInteger, String, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.models.base import Base


class Owner(Base):
    """The single owner of this installation (the athlete)."""

    __tablename__ = "owner"
    __table_args__ = (CheckConstraint("id = 1", name="single_owner"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    display_name: Mapped[str] = mapped_column(String(80))
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    # Bumped to sign out every browser (logout everywhere, password change).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    # For training science (app.services.metrics): TRIMP's sex constants, age, HR-zone model
    # ("lthr" Friel, "hrmax", "hrr" Karvonen). NULL = not set; thresholds by date live in
    # athlete_threshold.
    sex: Mapped[str | None] = mapped_column(String(8))  # male | female
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    hr_zone_model: Mapped[str | None] = mapped_column(String(8))
    units: Mapped[str] = mapped_column(String(8), server_default="metric")  # metric | imperial
    # The nightly sync's local time (HH:MM); NULL = DOMESTIQUE_SYNC_TIME.
    sync_time: Mapped[str | None] = mapped_column(String(5))
    # The daily coach's morning decision, local time (HH:MM); NULL = 06:00 (migration 0024).
    morning_time: Mapped[str | None] = mapped_column(String(5))
    # Fitness/fatigue time constants (GoldenCheetah's 42/7 by default) and which form is shown:
    # "yesterday" (TSB from yesterday's CTL and ATL, GoldenCheetah/TrainingPeaks) or "today".
    ctl_days: Mapped[int] = mapped_column(SmallInteger, server_default="42")
    atl_days: Mapped[int] = mapped_column(SmallInteger, server_default="7")
    tsb_variant: Mapped[str] = mapped_column(String(10), server_default="yesterday")
    # Which source wins each wellness metric group ({"sleep": "oura", …}); a group left out is
    # automatic (app.services.wellness.origins).
    wellness_preference: Mapped[dict[str, str]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


def get_owner(session: Session) -> Owner | None:
    return session.scalars(select(Owner).limit(1)).first()
