"""The calendar feed's secret: one row holding the SHA-256 of the feed address's token (the
token itself is shown once, when it is made) and this install's id, from which every event's
UID derives, so a calendar app keeps the same event across revisions.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feed",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("install_id", sa.String(36), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_calendar_feed_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feed")),
    )


def downgrade() -> None:
    op.drop_table("calendar_feed")
