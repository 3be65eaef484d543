"""The coach's guideline library: documents, their chunks and the chunks' lexical terms
(migration 0011 says why the vector column has no fixed dimension, 0013 why the terms have a
table of their own)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    ARRAY,
    REAL,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class LibraryDocument(Base):
    """One document of the library in one language: a shipped one (``slug``; its twin in the
    other language is another row) or one the owner added (``file_name``). ``sha256`` is the
    file's, ``analyzer`` what tokenised it: either changing re-indexes the document."""

    __tablename__ = "library_document"
    __table_args__ = (
        CheckConstraint("origin IN ('shipped', 'owner')", name="origin"),
        CheckConstraint("lang IN ('en', 'ko')", name="lang"),
        CheckConstraint("kind IN ('markdown', 'text', 'pdf')", name="kind"),
        CheckConstraint("origin = 'owner' OR slug IS NOT NULL", name="shipped_slug"),
        Index(
            "uq_library_document_shipped",
            "slug",
            "lang",
            unique=True,
            postgresql_where=text("origin = 'shipped'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    origin: Mapped[str] = mapped_column(String(10))
    slug: Mapped[str | None] = mapped_column(String(100))
    lang: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(Text)
    topics: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    sources: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    sha256: Mapped[str] = mapped_column(String(64))
    analyzer: Mapped[str] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LibraryChunk(Base):
    """One section (or part of a long one, or a PDF page) of a document: what retrieval ranks
    and the coach cites."""

    __tablename__ = "library_chunk"
    __table_args__ = (
        CheckConstraint("lang IN ('en', 'ko')", name="lang"),
        UniqueConstraint("document_id", "position"),
        Index("ix_library_chunk_lang", "lang"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    document_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("library_document.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text)
    page: Mapped[int | None] = mapped_column(Integer)
    lang: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)
    tsv_en: Mapped[str | None] = mapped_column(TSVECTOR)
    tsv_ko: Mapped[str | None] = mapped_column(TSVECTOR)
    embedding: Mapped[object | None] = mapped_column(Vector())
    embedding_model: Mapped[str | None] = mapped_column(Text)
    embedding_dim: Mapped[int | None] = mapped_column(Integer)


class LibraryTerm(Base):
    """One lexeme of one chunk (its ``tsv_en`` or ``tsv_ko``) with the chunk's rank for it,
    computed when the chunk is indexed: what lexical search sums (``app.services.coach.library``
    says how)."""

    __tablename__ = "library_term"
    __table_args__ = (
        Index("ix_library_term_lookup", "lang", "term", postgresql_include=["chunk_id", "weight"]),
    )

    chunk_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("library_chunk.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(Text, primary_key=True)
    lang: Mapped[str] = mapped_column(String(2))
    weight: Mapped[float] = mapped_column(REAL)


class CoachConversation(Base):
    """One conversation of *Ask the coach*: its title (the first question), its language, the
    model that answered and the tokens spent. Deleted after the coach's retention."""

    __tablename__ = "coach_conversation"
    __table_args__ = (
        CheckConstraint("language IN ('en', 'ko')", name="language"),
        Index("ix_coach_conversation_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    model: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    completion_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CoachMessage(Base):
    """A question (``owner``) or an answer (``coach``). An answer keeps its citations (the
    library chunks it cites that were among the retrieved passages: id, document, section,
    language) and the ids it cited that were not (dropped); a failed call keeps its code and the
    sentence the owner read as ``content``. A question is ``pending`` while the work runner
    answers it."""

    __tablename__ = "coach_message"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'coach')", name="role"),
        CheckConstraint("state IN ('pending', 'answered', 'failed')", name="state"),
        Index("ix_coach_message_conversation_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("coach_conversation.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(8))
    content: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[dict]] = mapped_column(JSONB, server_default="[]")
    dropped_citations: Mapped[list[int]] = mapped_column(JSONB, server_default="[]")
    failure_code: Mapped[str | None] = mapped_column(String(48))
    call_id: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    completion_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    # A question: pending until its reply is kept, then answered or failed (the reply holds
    # the failure's sentence). A reply: answered.
    state: Mapped[str] = mapped_column(String(8), server_default="answered")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CoachDay(Base):
    """The daily coach's decision of one day (migration 0018): ``proposed`` is the model's,
    ``decision`` what the safety rules left, ``findings`` every overrule; a failed day keeps
    its ``failure_code`` instead."""

    __tablename__ = "coach_day"
    __table_args__ = (CheckConstraint("status IN ('decided', 'failed')", name="status"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(8))
    mission_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("mission.id", ondelete="SET NULL")
    )
    phase: Mapped[str | None] = mapped_column(String(12))
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))
    proposed: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    failure_code: Mapped[str | None] = mapped_column(String(48))
    failure_params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    call_id: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    completion_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
