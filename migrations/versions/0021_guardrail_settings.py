"""Settings → Coach → Guardrails: the owner's own limits for the plan guardrails (``guardrails``:
only the values that differ from the defaults) and whether an adaptation that only makes
training easier is approved by itself (``auto_approve_easier``, off by default).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "coach_settings",
        sa.Column("guardrails", pg.JSONB(), server_default="{}", nullable=False),
    )
    op.add_column(
        "coach_settings",
        sa.Column("auto_approve_easier", sa.Boolean(), server_default="false", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("coach_settings", "auto_approve_easier")
    op.drop_column("coach_settings", "guardrails")
