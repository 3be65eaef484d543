"""A mission's wrap-up after its event (``mission.wrap_up``): the coach's headline, what went
well and what to change, next to the event's numbers computed by Domestique.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("mission", sa.Column("wrap_up", pg.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("mission", "wrap_up")
