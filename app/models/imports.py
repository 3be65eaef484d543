"""Import jobs and their per-file results (they drive the progress bar and the summary)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base

JOB_STATUSES = ("queued", "running", "done", "failed")
ITEM_STATUSES = ("pending", "ok", "duplicate", "skipped", "failed")


class ImportJob(Base):
    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    origin: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    total: Mapped[int] = mapped_column(Integer, server_default="0")
    done: Mapped[int] = mapped_column(Integer, server_default="0")
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    items: Mapped[list[ImportItem]] = relationship(
        order_by="ImportItem.position", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


class ImportItem(Base):
    __tablename__ = "import_item"
    __table_args__ = (UniqueConstraint("job_id", "position"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("import_job.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(Text)
    raw_file_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("raw_file.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    activities_added: Mapped[int] = mapped_column(Integer, server_default="0")
    activities_duplicate: Mapped[int] = mapped_column(Integer, server_default="0")
    wellness_days: Mapped[int] = mapped_column(Integer, server_default="0")
    wellness_dates: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    samples: Mapped[int] = mapped_column(BigInteger, server_default="0")
    health_samples: Mapped[int] = mapped_column(BigInteger, server_default="0")
    error_code: Mapped[str | None] = mapped_column(String(48))
    error_params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    notices: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
