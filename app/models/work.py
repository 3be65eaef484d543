from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

WORK_STATUSES = ("queued", "running", "done", "failed", "interrupted")


class WorkRun(Base):
    """One run of the background-work runner (``app.services.work.runner``): a sync, a sign-in,
    a Strava upload pass, a recompute, a backup or a restore. ``parameters`` say what was asked
    (never a secret), ``result`` is a small JSON summary; see migration 0010."""

    __tablename__ = "work_run"
    __table_args__ = (
        Index("ix_work_run_kind", "kind", "queued_at"),
        Index(
            "ix_work_run_unfinished",
            "status",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    status: Mapped[str] = mapped_column(String(16))
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_code: Mapped[str | None] = mapped_column(String(48))
    error_params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
