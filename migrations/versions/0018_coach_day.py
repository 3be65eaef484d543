"""The daily coach: one decision per day (``coach_day``) — the model's proposal, the decision
after the safety rules, every overrule, the snapshot's hash, the mission and phase it was made
in, the tokens spent — or, when no decision could be made, why.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coach_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("mission_id", sa.BigInteger(), nullable=True),
        sa.Column("phase", sa.String(12), nullable=True),
        sa.Column("snapshot_sha256", sa.String(64), nullable=True),
        sa.Column("proposed", pg.JSONB(), nullable=True),
        sa.Column("decision", pg.JSONB(), nullable=True),
        sa.Column("findings", pg.JSONB(), server_default="[]", nullable=False),
        sa.Column("failure_code", sa.String(48), nullable=True),
        sa.Column("failure_params", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("call_id", sa.String(32), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("completion_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("status IN ('decided', 'failed')", name=op.f("ck_coach_day_status")),
        sa.ForeignKeyConstraint(
            ["mission_id"],
            ["mission.id"],
            name=op.f("fk_coach_day_mission_id_mission"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_coach_day")),
    )


def downgrade() -> None:
    op.drop_table("coach_day")
