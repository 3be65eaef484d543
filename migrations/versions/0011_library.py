"""The coach's guideline library: documents (the shipped ones in both languages and the
owner's) and their chunks, one per section, indexed for lexical search in both languages and,
when an embedding model is configured, for vector search.

- ``tsv_en``: English chunks through PostgreSQL's ``english`` configuration (title and heading
  weighted A, topics B, text D); ``tsv_ko``: Korean chunks as Kiwi's morphemes through the
  ``simple`` configuration (``app/coach/retrieval.py`` says which morphemes). Both GIN.
- ``embedding``: a pgvector ``vector`` without a fixed dimension, with the model and dimension
  that produced it. The HNSW index is made per dimension by the library service when vectors of
  that dimension first arrive (an expression ``embedding::vector(N)`` partial index ``WHERE
  embedding_dim = N``, the form pgvector documents for mixed dimensions), so changing to a model
  of another dimension needs no migration.

Revision ID: 0011
Revises: 0009 (0010 is being written at the same time: the lead renumbers at merge)
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql as pg

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "library_document",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("slug", sa.String(100), nullable=True),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("topics", pg.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("sources", pg.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("analyzer", sa.Text(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("origin IN ('shipped', 'owner')", name="origin"),
        sa.CheckConstraint("lang IN ('en', 'ko')", name="lang"),
        sa.CheckConstraint("kind IN ('markdown', 'text', 'pdf')", name="kind"),
        sa.CheckConstraint("origin = 'owner' OR slug IS NOT NULL", name="shipped_slug"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_document")),
    )
    op.create_index(
        "uq_library_document_shipped",
        "library_document",
        ["slug", "lang"],
        unique=True,
        postgresql_where=sa.text("origin = 'shipped'"),
    )
    op.create_table(
        "library_chunk",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("document_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading", sa.Text(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=True),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tsv_en", pg.TSVECTOR(), nullable=True),
        sa.Column("tsv_ko", pg.TSVECTOR(), nullable=True),
        sa.Column("embedding", Vector(), nullable=True),
        sa.Column("embedding_model", sa.Text(), nullable=True),
        sa.Column("embedding_dim", sa.Integer(), nullable=True),
        sa.CheckConstraint("lang IN ('en', 'ko')", name="lang"),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["library_document.id"],
            name=op.f("fk_library_chunk_document_id_library_document"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_chunk")),
        sa.UniqueConstraint("document_id", "position", name=op.f("uq_library_chunk_document_id")),
    )
    op.create_index("ix_library_chunk_tsv_en", "library_chunk", ["tsv_en"], postgresql_using="gin")
    op.create_index("ix_library_chunk_tsv_ko", "library_chunk", ["tsv_ko"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_table("library_chunk")
    op.drop_index("uq_library_document_shipped", table_name="library_document")
    op.drop_table("library_document")
