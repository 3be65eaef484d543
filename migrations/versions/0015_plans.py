"""Training plans: ``plan`` (title and goal in words), ``plan_revision`` (every version of a
plan in the import/export format as the guardrails left it, their report, its state —
DRAFT, PROPOSED, APPROVED, REJECTED, SUPERSEDED — and its origin; at most one APPROVED per
plan) and ``planned_workout`` (the approved revision's workouts on the calendar, one row per
stable workout id, with Domestique's estimate, their state and the activity that did them).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=None if nullable else sa.func.now(),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "plan",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("goal_summary", sa.Text(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
    )
    op.create_table(
        "plan_revision",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("origin", sa.String(12), nullable=False),
        sa.Column("content", pg.JSONB(), nullable=False),
        sa.Column("report", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("blocked", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("blocks_accepted", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("change_set", pg.JSONB(), nullable=True),
        sa.Column("base_revision_id", sa.BigInteger(), nullable=True),
        _now("created_at"),
        _now("approved_at", nullable=True),
        _now("decided_at", nullable=True),
        sa.CheckConstraint(
            "state IN ('DRAFT', 'PROPOSED', 'APPROVED', 'REJECTED', 'SUPERSEDED')",
            name=op.f("ck_plan_revision_state"),
        ),
        sa.CheckConstraint(
            "origin IN ('import', 'llm', 'chat', 'edit', 'adaptation')",
            name=op.f("ck_plan_revision_origin"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_plan_revision_plan_id_plan"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["base_revision_id"],
            ["plan_revision.id"],
            name=op.f("fk_plan_revision_base_revision_id_plan_revision"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_revision")),
        sa.UniqueConstraint("plan_id", "number", name=op.f("uq_plan_revision_plan_id")),
    )
    op.create_index(
        "uq_plan_revision_approved",
        "plan_revision",
        ["plan_id"],
        unique=True,
        postgresql_where=sa.text("state = 'APPROVED'"),
    )
    op.create_table(
        "planned_workout",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("revision_id", sa.BigInteger(), nullable=False),
        sa.Column("workout_id", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sport", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("load", sa.Float(), nullable=False),
        sa.Column("load_model", sa.String(12), nullable=False),
        sa.Column("assumed_steps", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("state", sa.String(8), server_default="PLANNED", nullable=False),
        sa.Column("activity_id", sa.BigInteger(), nullable=True),
        _now("updated_at"),
        sa.CheckConstraint(
            "state IN ('PLANNED', 'PUSHED', 'DONE', 'SKIPPED', 'MISSED')",
            name=op.f("ck_planned_workout_state"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan.id"],
            name=op.f("fk_planned_workout_plan_id_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["plan_revision.id"],
            name=op.f("fk_planned_workout_revision_id_plan_revision"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_planned_workout_activity_id_activity"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_workout")),
        sa.UniqueConstraint("plan_id", "workout_id", name=op.f("uq_planned_workout_plan_id")),
    )
    op.create_index("ix_planned_workout_day", "planned_workout", ["day"])


def downgrade() -> None:
    op.drop_index("ix_planned_workout_day", table_name="planned_workout")
    op.drop_table("planned_workout")
    op.drop_index("uq_plan_revision_approved", table_name="plan_revision")
    op.drop_table("plan_revision")
    op.drop_table("plan")
