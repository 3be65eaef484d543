"""Thresholds one bad sample cannot poison: the owner can leave an activity out of threshold
estimates (``activity.excluded_from_estimates_at``), and each activity's metrics keep the
highest heart rate it sustained once artifacts are removed (``sustained_hr_bpm``, what the
HRmax estimate is taken from) and what was removed (``artifacts``).

The metrics' algorithm version rises with this change, so every activity is recomputed at the
next import or sync (or ``domestique recompute``); nothing is computed here.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "activity",
        sa.Column("excluded_from_estimates_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column("activity_metrics", sa.Column("sustained_hr_bpm", sa.Float(), nullable=True))
    # {"heart_rate": {"spikes": 2, …, "share": 0.001, "usable": true}, "power": {…}, …}
    op.add_column(
        "activity_metrics",
        sa.Column("artifacts", pg.JSONB(), server_default="{}", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("activity_metrics", "artifacts")
    op.drop_column("activity_metrics", "sustained_hr_bpm")
    op.drop_column("activity", "excluded_from_estimates_at")
