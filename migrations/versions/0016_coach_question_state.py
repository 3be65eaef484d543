"""Ask the coach without holding the request open: a question is kept at once in state
``pending`` and answered on the app's work runner, then ``answered`` or ``failed`` (the reply
holds the answer or the failure's sentence). Every message kept so far was answered in its
request: ``answered``.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "coach_message",
        sa.Column("state", sa.String(8), server_default="answered", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_coach_message_state"),
        "coach_message",
        "state IN ('pending', 'answered', 'failed')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_coach_message_state"), "coach_message", type_="check")
    op.drop_column("coach_message", "state")
