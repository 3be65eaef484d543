"""The connect flow (sign-in state, the pending MFA challenge encrypted and short-lived) and
pausing a backfill.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # signing_in | mfa | failed; NULL when no sign-in is under way
    op.add_column("connection", sa.Column("login_state", sa.String(16), nullable=True))
    op.add_column("connection", sa.Column("mfa_state_encrypted", sa.Text(), nullable=True))
    op.add_column(
        "connection", sa.Column("mfa_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "connection",
        sa.Column("backfill_paused", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    for column in ("backfill_paused", "mfa_expires_at", "mfa_state_encrypted", "login_state"):
        op.drop_column("connection", column)
