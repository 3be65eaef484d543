"""Foundation: extensions (when the server has them), the owner, scheduled job state.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _available(name: str) -> bool:
    bind = op.get_bind()
    found = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = :name"), {"name": name}
    ).scalar()
    return found is not None


def upgrade() -> None:
    # Detect, never assume: the Docker image has both, a plain PostgreSQL may have neither.
    for extension in ("timescaledb", "vector"):
        if _available(extension):
            op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")

    op.create_table(
        "owner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(80), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("locale", sa.String(8), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_owner_single_owner")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owner")),
        sa.UniqueConstraint("username", name=op.f("uq_owner_username")),
    )
    op.create_table(
        "scheduled_job_state",
        sa.Column("job_id", sa.String(100), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(20), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_scheduled_job_state")),
    )


def downgrade() -> None:
    op.drop_table("scheduled_job_state")
    op.drop_table("owner")
    # Extensions stay: other databases' objects may depend on them, and they are harmless.
