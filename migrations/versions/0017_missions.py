"""Missions: a goal event with its season, stored as the validated mission document
(``app.coach.missions.Mission`` as JSON) and its lifecycle state, and every move of the
lifecycle (``mission_transition``: who made it — the owner or the clock — and, for the clock's,
the midnight it became due), and the owner's corrections of stages (``stage_correction``:
the activity that rode a stage and/or the mode to count, with the reason). One active mission at a time is enforced by a partial unique index
as well as by the service.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = "('prep', 'training', 'event_active', 'mission_complete', 'archived')"


def upgrade() -> None:
    op.create_table(
        "mission",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("state", sa.String(20), server_default="prep", nullable=False),
        sa.Column("document", pg.JSONB(), nullable=False),
        sa.Column("origin", sa.String(12), server_default="import", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(f"state IN {STATES}", name=op.f("ck_mission_state")),
        sa.CheckConstraint("origin IN ('import', 'form', 'llm')", name=op.f("ck_mission_origin")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mission")),
    )
    op.create_index(
        "uq_mission_one_active",
        "mission",
        [sa.text("(true)")],
        unique=True,
        postgresql_where=sa.text("state IN ('training', 'event_active')"),
    )
    op.create_table(
        "mission_transition",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("mission_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("target", sa.String(20), nullable=False),
        sa.Column("trigger", sa.String(8), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "trigger IN ('owner', 'clock')", name=op.f("ck_mission_transition_trigger")
        ),
        sa.ForeignKeyConstraint(
            ["mission_id"],
            ["mission.id"],
            name=op.f("fk_mission_transition_mission_id_mission"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mission_transition")),
    )
    op.create_index("ix_mission_transition_mission_id", "mission_transition", ["mission_id", "at"])
    op.create_table(
        "stage_correction",
        sa.Column("mission_id", sa.BigInteger(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.BigInteger(), nullable=True),
        sa.Column("mode", sa.String(12), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "activity_id IS NOT NULL OR mode IS NOT NULL",
            name=op.f("ck_stage_correction_changes_something"),
        ),
        sa.ForeignKeyConstraint(
            ["mission_id"],
            ["mission.id"],
            name=op.f("fk_stage_correction_mission_id_mission"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_stage_correction_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mission_id", "stage", name=op.f("pk_stage_correction")),
    )


def downgrade() -> None:
    op.drop_table("stage_correction")
    op.drop_table("mission_transition")
    op.drop_table("mission")
