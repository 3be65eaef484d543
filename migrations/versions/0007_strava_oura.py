"""Strava and Oura: the owner's own OAuth application credentials (encrypted), the pending OAuth
state, and the status of each activity's upload to Strava.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("connection", sa.Column("app_credentials_encrypted", sa.Text(), nullable=True))
    op.add_column("connection", sa.Column("oauth_state_hash", sa.String(64), nullable=True))
    op.add_column(
        "connection",
        sa.Column("oauth_state_expires_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "connection",
        sa.Column("options", sa.dialects.postgresql.JSONB(), server_default="{}", nullable=False),
    )
    op.create_table(
        "strava_upload",
        sa.Column(
            "activity_id",
            sa.BigInteger(),
            sa.ForeignKey("activity.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("upload_id", sa.BigInteger(), nullable=True),
        sa.Column("strava_activity_id", sa.BigInteger(), nullable=True),
        sa.Column("error_code", sa.String(48), nullable=True),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    )
    op.create_index("ix_strava_upload_status", "strava_upload", ["status"])


def downgrade() -> None:
    op.drop_index("ix_strava_upload_status", table_name="strava_upload")
    op.drop_table("strava_upload")
    for column in ("options", "oauth_state_expires_at", "oauth_state_hash"):
        op.drop_column("connection", column)
    op.drop_column("connection", "app_credentials_encrypted")
