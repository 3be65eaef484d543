"""The coach's language model: the settings entered in Settings → Coach (``coach_settings``,
one row; the API key Fernet-encrypted) and the audit of every request sent to the model
(``llm_call``: purpose, model, prompt version, tokens, latency, status, error code, cost, the
prompt's SHA-256, and the redacted request and answer until the audit retention ends).

Revision ID: 0012
Revises: 0009 (written beside 0010 and 0011; renumbered when merged)
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coach_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("api_key_last4", sa.String(4), nullable=True),
        sa.Column("embedding_model", sa.Text(), nullable=True),
        sa.Column("timeout_s", sa.Float(), nullable=True),
        sa.Column("monthly_token_budget", sa.BigInteger(), nullable=True),
        sa.Column("monthly_cost_budget_usd", sa.Float(), nullable=True),
        sa.Column("audit_retention_days", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("prices", pg.JSONB(), server_default="{}", nullable=False),
        sa.Column("withheld", pg.JSONB(), server_default="[]", nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_coach_settings_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coach_settings")),
    )
    op.create_table(
        "llm_call",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("prompt_version", sa.String(40), nullable=True),
        sa.Column("attempt", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("error_code", sa.String(48), nullable=True),
        sa.Column("http_status", sa.SmallInteger(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("prompt_sha256", sa.String(64), nullable=True),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("finish_reason", sa.String(24), nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.Column("request", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('ok', 'invalid', 'error', 'refused')", name=op.f("ck_llm_call_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_call")),
    )
    op.create_index("ix_llm_call_created_at", "llm_call", ["created_at"])
    op.create_index("ix_llm_call_purpose_created_at", "llm_call", ["purpose", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_llm_call_purpose_created_at", table_name="llm_call")
    op.drop_index("ix_llm_call_created_at", table_name="llm_call")
    op.drop_table("llm_call")
    op.drop_table("coach_settings")
