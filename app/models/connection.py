"""A connection to an outside service: its status, encrypted tokens, sync cursors and the
cooldown that keeps a refused login from being retried in a loop."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

STATUSES = ("disconnected", "connected", "needs_reconnect")
LOGIN_STATES = ("signing_in", "mfa", "failed")  # NULL: no sign-in under way
RUN_STATUSES = ("running", "done", "partial", "paused", "cooling_down", "needs_reconnect", "failed")


class Connection(Base):
    __tablename__ = "connection"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), server_default="disconnected")
    account: Mapped[str | None] = mapped_column(Text)
    tokens_encrypted: Mapped[str | None] = mapped_column(Text)
    cursors: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    login_failures: Mapped[int] = mapped_column(Integer, server_default="0")
    cooldown_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error_code: Mapped[str | None] = mapped_column(String(48))
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    login_state: Mapped[str | None] = mapped_column(String(16))
    # The pending MFA challenge (SSO cookies, never the password), encrypted, short-lived.
    mfa_state_encrypted: Mapped[str | None] = mapped_column(Text)
    mfa_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    backfill_paused: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # OAuth sources (Strava, Oura): the owner's own application's client id and secret, as
    # encrypted JSON; they outlive a disconnect. The pending authorization's state is kept only
    # as a SHA-256 digest, valid until ``oauth_state_expires_at``.
    app_credentials_encrypted: Mapped[str | None] = mapped_column(Text)
    oauth_state_hash: Mapped[str | None] = mapped_column(String(64))
    oauth_state_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")  # per source
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class SyncRun(Base):
    """One sync of one source: what it did, what failed, how it ended — the detail record of
    its background run (``work_run_id``, set when the runner runs it; none for rows from before
    migration 0025 and for syncs run outside the runner)."""

    __tablename__ = "sync_run"
    __table_args__ = (
        Index("ix_sync_run_source", "source", "started_at"),
        Index("ix_sync_run_work_run", "work_run_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    work_run_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("work_run.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20))
    items_done: Mapped[int] = mapped_column(Integer, server_default="0")
    items_total: Mapped[int | None] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    error_code: Mapped[str | None] = mapped_column(String(48))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StravaUpload(Base):
    """One activity's upload to Strava: ``queued`` → ``processing`` (Strava is reading the file)
    → ``done`` (``strava_activity_id`` known), ``duplicate`` (Strava already had it) or
    ``failed`` (``error_code``; the owner can retry)."""

    __tablename__ = "strava_upload"

    activity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("activity.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), index=True)
    external_id: Mapped[str] = mapped_column(Text)
    upload_id: Mapped[int | None] = mapped_column(BigInteger)
    strava_activity_id: Mapped[int | None] = mapped_column(BigInteger)
    error_code: Mapped[str | None] = mapped_column(String(48))
    error_detail: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
