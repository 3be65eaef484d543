"""Every run of the background-work runner is recorded (``work_run``): syncs, sign-ins, Strava
upload passes, recomputes, backups and restores — what was asked, when it was queued, started and
finished, how it ended (an error code and its parameters) and a small result. The Settings page
reads the last backup and restore from it, so their outcome survives a restart; a run a killed
process left ``queued`` or ``running`` is marked ``interrupted`` at the next start.

The id is a UUID made by the app, not a sequence: a restore replaces the database under a run in
flight, and its outcome is written into the restored database by that id without ever meeting
another run's row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_run",
        sa.Column("id", sa.Uuid(), nullable=False),
        # sync | sign_in | uploads | recompute | backup | restore
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("parameters", pg.JSONB(), server_default="{}", nullable=False),
        # queued | running | done | failed | interrupted
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_code", sa.String(48), nullable=True),
        sa.Column("error_params", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("result", pg.JSONB(), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_run")),
    )
    op.create_index(op.f("ix_work_run_kind"), "work_run", ["kind", "queued_at"])
    op.create_index(
        op.f("ix_work_run_unfinished"),
        "work_run",
        ["status"],
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )


def downgrade() -> None:
    op.drop_table("work_run")
