"""The coach's language model: the owner's settings entered in Settings → Coach
(``coach_settings``, one row) and the audit of every request sent to the model (``llm_call``).

Reusable queries live in ``app.services.coach`` (usage of a month, the last call of a purpose),
which owns both tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

CALL_STATUSES = ("ok", "invalid", "error", "refused")
"""``ok``/``invalid``/``error``: what one HTTP request gave (the adapter's ``LlmAttempt``);
``refused``: the call was stopped before any request (the monthly budget)."""


class CoachSettings(Base):
    """What the owner entered in Settings → Coach. ``NULL`` means "not entered here": the
    environment's value (``DOMESTIQUE_LLM_*``) or the default is in force. The API key is
    Fernet-encrypted with the secret key; only its last four characters are kept in clear, to
    tell keys apart on the page."""

    __tablename__ = "coach_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    base_url: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    api_key_last4: Mapped[str | None] = mapped_column(String(4))
    embedding_model: Mapped[str | None] = mapped_column(Text)
    timeout_s: Mapped[float | None] = mapped_column(Float)
    monthly_token_budget: Mapped[int | None] = mapped_column(BigInteger)
    monthly_cost_budget_usd: Mapped[float | None] = mapped_column(Float)
    audit_retention_days: Mapped[int | None] = mapped_column(Integer)
    # "ko" | "en"; NULL: the coach speaks the language of the interface.
    language: Mapped[str | None] = mapped_column(String(8))
    # {model: {"prompt": USD per 1 M prompt tokens, "completion": USD per 1 M completion tokens}}
    prices: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # Groups of data the owner keeps from the model (app.coach.context.GROUPS).
    withheld: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    guardrails: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    auto_approve_easier: Mapped[bool] = mapped_column(Boolean, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class LlmCall(Base):
    """One HTTP request to the model (an attempt: a re-ask or a retry is another row with the
    same ``call_id``), or a call the budget refused before any request (``refused``).

    ``request`` and ``response`` are the texts as sent and received, without credentials and
    redacted; they are emptied after the audit retention (``purged_at``) while the figures stay
    for the monthly usage. ``cost_usd`` is computed when the model's price was known at the
    time of the call."""

    __tablename__ = "llm_call"
    __table_args__ = (
        Index("ix_llm_call_created_at", "created_at"),
        Index("ix_llm_call_purpose_created_at", "purpose", "created_at"),
        CheckConstraint("status IN ('ok', 'invalid', 'error', 'refused')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    purpose: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))  # chat | embedding | models
    model: Mapped[str] = mapped_column(Text)
    prompt_version: Mapped[str | None] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[str | None] = mapped_column(String(48))
    http_status: Mapped[int | None] = mapped_column(SmallInteger)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    prompt_sha256: Mapped[str | None] = mapped_column(String(64))
    temperature: Mapped[float | None] = mapped_column(Float)
    finish_reason: Mapped[str | None] = mapped_column(String(24))
    wait_s: Mapped[float | None] = mapped_column(Float)
    request: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
