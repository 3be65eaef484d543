"""Workouts on Garmin Connect: what Domestique did there for each approved workout
(``garmin_push``, by plan and stable workout id): Garmin's workout id, the revision Garmin holds
and whether it was read back, the schedule id and day, and the differences the read-back found.
Kept apart from ``planned_workout`` so a workout dropped from the plan can still be removed from
Garmin.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "garmin_push",
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("workout_id", sa.String(40), nullable=False),
        sa.Column("garmin_workout_id", sa.BigInteger(), nullable=True),
        sa.Column("revision", sa.String(64), nullable=True),
        sa.Column("checked", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("schedule_id", sa.BigInteger(), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("differences", pg.JSONB(), server_default="[]", nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("plan_id", "workout_id", name=op.f("pk_garmin_push")),
    )


def downgrade() -> None:
    op.drop_table("garmin_push")
