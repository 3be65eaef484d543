from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ScheduledJobState(Base):
    """The last run of each scheduled job, so a run missed while the NAS was off runs once at the
    next start (see app.jobs.scheduler)."""

    __tablename__ = "scheduled_job_state"

    job_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[str | None] = mapped_column(String(20))  # running | ok | failed
    last_error: Mapped[str | None] = mapped_column(Text)
