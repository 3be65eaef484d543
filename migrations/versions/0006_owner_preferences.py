"""The owner's units, nightly sync time and fitness/fatigue time constants.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "owner", sa.Column("units", sa.String(8), server_default="metric", nullable=False)
    )
    op.add_column("owner", sa.Column("sync_time", sa.String(5), nullable=True))
    op.add_column(
        "owner", sa.Column("ctl_days", sa.SmallInteger(), server_default="42", nullable=False)
    )
    op.add_column(
        "owner", sa.Column("atl_days", sa.SmallInteger(), server_default="7", nullable=False)
    )
    op.add_column(
        "owner",
        sa.Column("tsb_variant", sa.String(10), server_default="yesterday", nullable=False),
    )


def downgrade() -> None:
    for column in ("tsb_variant", "atl_days", "ctl_days", "sync_time", "units"):
        op.drop_column("owner", column)
