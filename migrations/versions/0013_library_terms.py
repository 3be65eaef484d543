"""The library's lexical index as a term table: one row per (chunk, lexeme) with the chunk's
precomputed rank for that lexeme, looked up through a btree.

A search used to find every chunk holding any of the question's lexemes through the GIN indexes
of ``tsv_en``/``tsv_ko`` and call ``ts_rank`` on each (chunk, lexeme): thousands of calls, each
reading the chunk's whole ``tsvector``, on a 5,000-chunk library (tens of milliseconds). The
rank of one chunk for one lexeme depends on nothing else, so it is now computed once, when the
chunk is indexed, and a search only sums ``idf · weight`` over a few index-only scans of
``ix_library_term_lookup`` (``lang, term`` → ``chunk_id, weight``). ``ix_library_chunk_lang``
counts a language's chunks (the idf's N) without reading the table. The GIN indexes served only
the old query and are dropped; the ``tsvector`` columns stay (the terms are drawn from them).

The weights here are the library service's ``WEIGHTS`` and ``LENGTH_NORMALIZATION`` at the time
of writing (a migration must not follow later code): text 0.3, topics 0.5, title and heading
1.0, divided by ``1 + log(length)``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "library_term",
        sa.Column("chunk_id", sa.BigInteger(), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(2), nullable=False),
        sa.Column("weight", sa.REAL(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chunk_id"],
            ["library_chunk.id"],
            name=op.f("fk_library_term_chunk_id_library_chunk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chunk_id", "term", name=op.f("pk_library_term")),
    )
    op.create_index(
        "ix_library_term_lookup",
        "library_term",
        ["lang", "term"],
        postgresql_include=["chunk_id", "weight"],
    )
    op.create_index("ix_library_chunk_lang", "library_chunk", ["lang"])
    op.execute(
        """
        INSERT INTO library_term (chunk_id, term, lang, weight)
        SELECT c.id, u.lexeme, c.lang,
               ts_rank('{0.3,0.3,0.5,1.0}'::float4[], v.tsv, quote_literal(u.lexeme)::tsquery, 1)
        FROM library_chunk c
        CROSS JOIN LATERAL (SELECT coalesce(c.tsv_en, c.tsv_ko) AS tsv) v
        CROSS JOIN LATERAL unnest(v.tsv) u
        """
    )
    op.drop_index("ix_library_chunk_tsv_en", table_name="library_chunk")
    op.drop_index("ix_library_chunk_tsv_ko", table_name="library_chunk")


def downgrade() -> None:
    op.create_index("ix_library_chunk_tsv_ko", "library_chunk", ["tsv_ko"], postgresql_using="gin")
    op.create_index("ix_library_chunk_tsv_en", "library_chunk", ["tsv_en"], postgresql_using="gin")
    op.drop_index("ix_library_chunk_lang", table_name="library_chunk")
    op.drop_table("library_term")
