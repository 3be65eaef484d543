"""The plan a mission seeded (``plan.mission_id``; the plan stays when the mission is deleted),
and the owner's time of the morning decision (``owner.morning_time``, HH:MM; NULL: 06:00).

Chained after 0022 for now: 0023 belongs to another branch, and the lead rechains this one
after it when both are merged.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "plan",
        sa.Column(
            "mission_id",
            sa.BigInteger(),
            sa.ForeignKey("mission.id", ondelete="SET NULL", name="fk_plan_mission_id_mission"),
            nullable=True,
        ),
    )
    op.create_index("ix_plan_mission_id", "plan", ["mission_id"])
    op.add_column("owner", sa.Column("morning_time", sa.String(5), nullable=True))


def downgrade() -> None:
    op.drop_column("owner", "morning_time")
    op.drop_index("ix_plan_mission_id", table_name="plan")
    op.drop_column("plan", "mission_id")
