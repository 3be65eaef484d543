"""Time in target of a done planned workout (``planned_workout.in_target_s`` and
``targeted_s``): the seconds of its matched activity spent inside the planned steps' targets,
of the seconds the targets covered; worked out once after matching (NULL until then).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("planned_workout", sa.Column("in_target_s", sa.Float(), nullable=True))
    op.add_column("planned_workout", sa.Column("targeted_s", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("planned_workout", "targeted_s")
    op.drop_column("planned_workout", "in_target_s")
