"""A sync's run (``sync_run``) is the detail record of its background run (``work_run``): the
runner's record says queued, running or how it ended, the sync's row what it did. Rows from
before, and syncs run outside the runner, keep no link.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sync_run", sa.Column("work_run_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        "fk_sync_run_work_run_id_work_run",
        "sync_run",
        "work_run",
        ["work_run_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index("ix_sync_run_work_run", "sync_run", ["work_run_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_sync_run_work_run", table_name="sync_run")
    op.drop_constraint("fk_sync_run_work_run_id_work_run", "sync_run", type_="foreignkey")
    op.drop_column("sync_run", "work_run_id")
