"""Connections to outside services (tokens encrypted, cursors, login cooldown) and sync runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connection",
        sa.Column("source", sa.String(32), nullable=False),
        # disconnected | connected | needs_reconnect
        sa.Column("status", sa.String(20), server_default="disconnected", nullable=False),
        sa.Column("account", sa.Text(), nullable=True),  # shown to the owner (e.g. the email)
        sa.Column("tokens_encrypted", sa.Text(), nullable=True),
        sa.Column("cursors", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("login_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cooldown_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_code", sa.String(48), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_connection")),
    )
    op.create_table(
        "sync_run",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),  # backfill | incremental
        # running | done | partial | cooling_down | needs_reconnect | failed
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("items_done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("items_total", sa.Integer(), nullable=True),
        sa.Column("counts", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("failures", pg.JSONB(), server_default="[]", nullable=False),
        sa.Column("error_code", sa.String(48), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_run")),
    )
    op.create_index(op.f("ix_sync_run_source"), "sync_run", ["source", "started_at"])


def downgrade() -> None:
    op.drop_table("sync_run")
    op.drop_table("connection")
