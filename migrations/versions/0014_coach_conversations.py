"""Ask the coach: the conversations kept (``coach_conversation``: title, language, model, the
tokens spent) and their messages (``coach_message``: the owner's question or the coach's
answer, the citations kept — library chunks that were among the retrieved passages — and the
ones dropped, or why no answer came). Both are deleted after the coach's retention.

Revision ID: 0014
Revises: 0012 (written beside 0013; renumbered when merged)
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coach_conversation",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("completion_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("language IN ('en', 'ko')", name=op.f("ck_coach_conversation_language")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coach_conversation")),
    )
    op.create_index("ix_coach_conversation_updated_at", "coach_conversation", ["updated_at"])
    op.create_table(
        "coach_message",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("citations", pg.JSONB(), server_default="[]", nullable=False),
        sa.Column("dropped_citations", pg.JSONB(), server_default="[]", nullable=False),
        sa.Column("failure_code", sa.String(48), nullable=True),
        sa.Column("call_id", sa.String(32), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("completion_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("role IN ('owner', 'coach')", name=op.f("ck_coach_message_role")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["coach_conversation.id"],
            name=op.f("fk_coach_message_conversation_id_coach_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coach_message")),
    )
    op.create_index("ix_coach_message_conversation_id", "coach_message", ["conversation_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_coach_message_conversation_id", table_name="coach_message")
    op.drop_table("coach_message")
    op.drop_index("ix_coach_conversation_updated_at", table_name="coach_conversation")
    op.drop_table("coach_conversation")
