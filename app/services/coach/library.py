"""The guideline library in the database: the shipped documents loaded when they change, the
owner's documents added and removed, and hybrid retrieval over both.

**Ingestion.** ``sync_shipped`` compares each shipped file's SHA-256 (and, for Korean, the
analyser's name) with what the database holds and re-indexes only what changed; unchanged, it
reads 56 small files and runs one query. ``add_document`` takes an owner's Markdown, text or PDF
file through the same path (``app.coach.library_files`` reads it; a bad file raises
``LibraryFileError`` and nothing is stored). Each chunk is one section, with its document,
heading, language and, for shipped documents, the topics and sources.

**Lexical retrieval.** English chunks are indexed with PostgreSQL's ``english`` configuration
(Snowball stems, stop words dropped), Korean chunks as Kiwi morphemes (``app.coach.retrieval``)
through the ``simple`` configuration, each in its own ``tsvector`` column. The title and heading
weigh A, the topics B, the text D. A question is turned into the same lexemes and OR-ed (a
question's words are never all in the answer), and every chunk holding any of them is ranked
BM25-like: Σ over the query's terms of idf(term) · ``ts_rank`` (chunk, term). PostgreSQL's own
``ts_rank`` and ``ts_rank_cd`` know no document frequency, so on a question of ordinary words
("week", "training", "run") the chunk that repeats the commonest word won; the idf
(``ln(1 + (N − df + 0.5) / (df + 0.5))``, BM25's, counted over the chunks of the language in the
same query) lets the rare, telling word decide. ``ts_rank`` of one term is already a saturating
function of how often it occurs, weighted by where (weights 0.3 text, 0.5 topics, 1.0 title and
heading; the defaults 0.1/0.4/1.0 gave a lower recall on the evaluation set), and is divided by
``1 + log(length)`` (flag 1). The weights were chosen among four sets on the evaluation set
itself (README, "The coach").

A chunk's ``ts_rank`` for one term depends on that chunk and term alone, so it is computed once,
when the chunk is indexed, into ``library_term`` (chunk, term, language, weight; migration
0013): a search reads each query term's rows through one index-only btree scan and sums, instead
of calling ``ts_rank`` on thousands of (chunk, term) pairs and reading each chunk's ``tsvector``
(on 5,000 chunks, about five times faster, with the same ranking). The query's lexemes, the df,
N and the sum are one SQL statement.

A result holds at most ``PER_DOCUMENT`` passages of one document, so five passages cover at
least three documents (the coach sees the neighbouring guidance, not one document's every
section).

**Which language.** A query searches the chunks of its own language (detected from its letters,
or given): the shipped library holds the same content in both, so searching the other language
too would only return each answer twice. An owner's document is found in the language it is
written in; a PDF that mixes languages is tagged chunk by chunk. Every passage says its
language, and a citation names the document and section in that language.

**Vector retrieval**, when an embedding model is configured (an ``Embedder``): chunks carry the
vector, the model and its dimension; an HNSW index (cosine, m=16, ef_construction=64) per
dimension is created when vectors of that dimension first arrive. A query sets
``hnsw.ef_search`` to the depth it needs and, on pgvector ≥ 0.8, ``hnsw.iterative_scan`` so the
language filter does not starve the result. ``reembed`` fills or replaces the vectors of every
chunk whose model differs, with progress, for the background runner.

**Fusion.** Lexical and vector rankings are fused by reciprocal rank (k = 60; Cormack, Clarke &
Büttcher 2009). Without an embedding model, or when the embedding call fails, the ranking is
the lexical one alone.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.coach.library_files import (
    KOREAN_SHARE,
    LANGUAGES,
    Language,
    LibraryFileError,
    LibraryText,
    hangul_share,
    read_owner_file,
    read_shipped,
)
from app.coach.retrieval import korean_analyzer, reciprocal_rank_fusion, token_string
from app.db.locks import lock_key
from app.i18n import _
from app.models.coach import LibraryChunk, LibraryDocument, LibraryTerm

log = logging.getLogger(__name__)

LIBRARY_DIR = Path(__file__).resolve().parents[2] / "coach" / "library"
ENGLISH_ANALYZER = "postgresql english"
DEFAULT_K = 5
PER_DOCUMENT = 2
DEPTH = 50
"""How many chunks each ranking contributes to the fusion."""
EMBED_BATCH = 64
MAX_QUERY_TERMS = 32
LENGTH_NORMALIZATION = 1
"""``ts_rank``'s flag: 1 divides by ``1 + log(length)``."""
WEIGHTS = (0.3, 0.3, 0.5, 1.0)
"""``ts_rank``'s weights of D (text), C, B (topics) and A (title, heading). They are applied when
a chunk is indexed (``library_term``): changing them needs a migration that recomputes the
stored weights (as 0013 computed them)."""
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64
VECTOR_MAX_DIM = 2000
"""pgvector indexes ``vector`` up to 2,000 dimensions; larger models are indexed as ``halfvec``
(up to 4,000)."""
HALFVEC_MAX_DIM = 4000


@dataclass(frozen=True, slots=True)
class Embedder:
    """An embedding model: its name and a function from texts to one vector each (raising on
    failure). ``from_client`` wraps ``app.sources.llm.LlmClient``; tests pass the deterministic
    test embedder."""

    model: str
    embed: Callable[[Sequence[str]], Sequence[Sequence[float]]]

    @classmethod
    def from_client(cls, client) -> Embedder:
        if client.embedding_model is None:
            raise ValueError("the LLM client has no embedding model")
        return cls(
            client.embedding_model,
            lambda texts: client.embed(list(texts), purpose="library").unwrap(),
        )


@dataclass(frozen=True, slots=True)
class Passage:
    """One retrieved chunk: where it is from (document, section, language, PDF page), its text,
    the fused score and the rank it had in each ranking (None: not in that ranking)."""

    chunk_id: int
    document_id: int
    origin: str
    slug: str | None
    title: str
    heading: str
    lang: str
    page: int | None
    text: str
    score: float
    lexical_rank: int | None
    vector_rank: int | None

    def as_dict(self) -> dict[str, object]:
        return {
            "chunk_id": self.chunk_id,
            "document_id": self.document_id,
            "origin": self.origin,
            "slug": self.slug,
            "title": self.title,
            "section": self.heading,
            "lang": self.lang,
            "page": self.page,
            "score": round(self.score, 6),
            "lexical_rank": self.lexical_rank,
            "vector_rank": self.vector_rank,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    id: int
    origin: str
    slug: str | None
    title: str
    lang: str
    kind: str
    file_name: str | None
    pages: int
    chunks: int
    size_bytes: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SyncResult:
    added: int
    updated: int
    removed: int
    unchanged: int
    pages: int
    seconds: float


class LibraryError(ValueError):
    """A library operation refused (``code``: ``not_found``, ``shipped``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# --- ingestion -------------------------------------------------------------------------------


def shipped_files(root: Path = LIBRARY_DIR) -> dict[tuple[str, Language], Path]:
    """``(slug, lang) → path`` of every shipped document."""
    return {
        (path.stem, lang): path for lang in LANGUAGES for path in sorted((root / lang).glob("*.md"))
    }


def _analyzer_for(langs: set[str]) -> str:
    return korean_analyzer().name if "ko" in langs else ENGLISH_ANALYZER


def sync_shipped(sessions: sessionmaker[Session], *, root: Path = LIBRARY_DIR) -> SyncResult:
    """Bring the shipped library in the database to what ``root`` holds: new and changed
    documents (re)indexed, removed ones dropped, unchanged ones left alone; owner documents
    whose Korean analyser changed are re-tokenised from their stored text. Idempotent; one
    transaction, serialised across processes by an advisory lock."""
    started = time.perf_counter()
    files = shipped_files(root)
    contents = {key: path.read_bytes() for key, path in files.items()}
    hashes = {key: hashlib.sha256(data).hexdigest() for key, data in contents.items()}
    ko_name = korean_analyzer().name
    added = updated = removed = unchanged = pages = 0
    with sessions.begin() as session:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("library")})
        held = {
            (row.slug, row.lang): row
            for row in session.execute(
                select(
                    LibraryDocument.id,
                    LibraryDocument.slug,
                    LibraryDocument.lang,
                    LibraryDocument.sha256,
                    LibraryDocument.analyzer,
                ).where(LibraryDocument.origin == "shipped")
            )
        }
        for key, data in contents.items():
            slug, lang = key
            wanted_analyzer = ko_name if lang == "ko" else ENGLISH_ANALYZER
            row = held.get(key)
            if row is not None and row.sha256 == hashes[key] and row.analyzer == wanted_analyzer:
                unchanged += 1
                continue
            document = read_shipped(data, slug=slug, lang=lang)
            if row is not None:
                session.execute(delete(LibraryDocument).where(LibraryDocument.id == row.id))
                updated += 1
            else:
                added += 1
            _store(session, document, origin="shipped", file_name=None, size=len(data))
            pages += document.pages
        for key, row in held.items():
            if key not in contents:
                session.execute(delete(LibraryDocument).where(LibraryDocument.id == row.id))
                removed += 1
        stale = session.scalars(
            select(LibraryDocument.id).where(
                LibraryDocument.origin == "owner",
                LibraryDocument.analyzer != ENGLISH_ANALYZER,
                LibraryDocument.analyzer != ko_name,
            )
        ).all()
        for document_id in stale:
            _retokenise_korean(session, document_id, ko_name)
        if added or updated or removed or stale:
            _analyze(session)
    result = SyncResult(added, updated, removed, unchanged, pages, time.perf_counter() - started)
    if added or updated or removed:
        log.info(
            "library: %d added, %d updated, %d removed, %d unchanged (%.1f s)",
            added,
            updated,
            removed,
            unchanged,
            result.seconds,
        )
    return result


def _analyze(session: Session) -> None:
    """Give the planner the library's statistics as soon as it changed, in the same transaction
    (ANALYZE counts the rows this transaction wrote). Without them a table whose last statistics
    said *empty* — a fresh install, or autovacuum after an indexing that was rolled back — is
    planned as holding no rows, and a search over ~200,000 term rows took minutes, not
    milliseconds, until autovacuum caught up."""
    session.execute(text("ANALYZE library_document, library_chunk, library_term"))


def sync_in_background(sessions: sessionmaker[Session]) -> threading.Thread:
    """Start ``sync_shipped`` in a daemon thread (the app's start-up: pages answer meanwhile,
    and a search finds what was loaded before). Kiwi's model is freed when it is done."""

    def run() -> None:
        try:
            sync_shipped(sessions)
        except Exception:
            log.exception(
                "library: loading the shipped documents failed; searches use what was there"
            )
        finally:
            korean_analyzer().unload()

    thread = threading.Thread(target=run, name="library-sync", daemon=True)
    thread.start()
    return thread


_INSERT_CHUNK = text(
    """
    INSERT INTO library_chunk (document_id, position, heading, page, lang, text, tsv_en, tsv_ko)
    VALUES (
        :document_id, :position, :heading, :page, :lang, :text,
        CASE WHEN CAST(:lang AS varchar) = 'en' THEN
            setweight(to_tsvector('english', :title), 'A')
            || setweight(to_tsvector('english', :heading), 'A')
            || setweight(to_tsvector('english', :topics), 'B')
            || setweight(to_tsvector('english', :text), 'D')
        END,
        CASE WHEN CAST(:lang AS varchar) = 'ko' THEN
            setweight(to_tsvector('simple', :ko_title), 'A')
            || setweight(to_tsvector('simple', :ko_heading), 'A')
            || setweight(to_tsvector('simple', :ko_text), 'D')
        END
    )
    """
)


def _store(
    session: Session, document: LibraryText, *, origin: str, file_name: str | None, size: int
) -> int:
    """Insert one read document and its chunks; returns its id."""
    langs = {section.lang for section in document.sections}
    row = LibraryDocument(
        origin=origin,
        slug=document.slug,
        lang=document.lang,
        kind=document.kind,
        title=document.title,
        file_name=file_name,
        topics=list(document.topics),
        sources=list(document.sources),
        sha256=document.sha256,
        analyzer=_analyzer_for(langs),
        pages=document.pages,
        size_bytes=size,
    )
    session.add(row)
    session.flush()
    analyzer = korean_analyzer() if "ko" in langs else None
    ko_title = token_string(analyzer.tokens(document.title)) if analyzer else ""
    topics = " ".join(t.replace("-", " ") for t in document.topics)
    params = []
    for position, section in enumerate(document.sections):
        korean = section.lang == "ko"
        params.append(
            {
                "document_id": row.id,
                "position": position,
                "heading": section.heading,
                "page": section.page,
                "lang": section.lang,
                "text": section.text,
                "title": document.title,
                "topics": topics,
                "ko_title": ko_title if korean else "",
                "ko_heading": token_string(analyzer.tokens(section.heading)) if korean else "",
                "ko_text": token_string(analyzer.tokens(section.text)) if korean else "",
            }
        )
    if params:
        session.execute(_INSERT_CHUNK, params)
        _index_terms(session, row.id)
    return row.id


_INDEX_TERMS = text(
    """
    INSERT INTO library_term (chunk_id, term, lang, weight)
    SELECT c.id, u.lexeme, c.lang,
           ts_rank(CAST(:weights AS float4[]), v.tsv, CAST(quote_literal(u.lexeme) AS tsquery),
                   :norm)
    FROM library_chunk c
    CROSS JOIN LATERAL (SELECT coalesce(c.tsv_en, c.tsv_ko) AS tsv) v
    CROSS JOIN LATERAL unnest(v.tsv) u
    WHERE c.document_id = :document_id
    """
)


def _index_terms(session: Session, document_id: int) -> None:
    """(Re)write the ``library_term`` rows of a document's chunks from their ``tsvector``: each
    lexeme with the chunk's ``ts_rank`` for it (the module's docstring says why)."""
    session.execute(
        delete(LibraryTerm).where(
            LibraryTerm.chunk_id.in_(
                select(LibraryChunk.id).where(LibraryChunk.document_id == document_id)
            )
        )
    )
    session.execute(
        _INDEX_TERMS,
        {"document_id": document_id, "weights": list(WEIGHTS), "norm": LENGTH_NORMALIZATION},
    )


def _retokenise_korean(session: Session, document_id: int, analyzer_name: str) -> None:
    analyzer = korean_analyzer()
    title = session.scalar(select(LibraryDocument.title).where(LibraryDocument.id == document_id))
    ko_title = token_string(analyzer.tokens(title or ""))
    rows = session.execute(
        select(LibraryChunk.id, LibraryChunk.heading, LibraryChunk.text).where(
            LibraryChunk.document_id == document_id, LibraryChunk.lang == "ko"
        )
    ).all()
    for row in rows:
        session.execute(
            text(
                "UPDATE library_chunk SET tsv_ko = setweight(to_tsvector('simple', :t), 'A') "
                "|| setweight(to_tsvector('simple', :h), 'A') "
                "|| setweight(to_tsvector('simple', :x), 'D') WHERE id = :id"
            ),
            {
                "t": ko_title,
                "h": token_string(analyzer.tokens(row.heading)),
                "x": token_string(analyzer.tokens(row.text)),
                "id": row.id,
            },
        )
    _index_terms(session, document_id)
    session.execute(
        update(LibraryDocument)
        .where(LibraryDocument.id == document_id)
        .values(analyzer=analyzer_name)
    )


def add_document(
    sessions: sessionmaker[Session],
    file_name: str,
    data: bytes,
    *,
    embedder: Embedder | None = None,
) -> DocumentInfo:
    """Add an owner's file (Markdown, text or PDF) to the library. A bad file raises
    ``LibraryFileError`` (``error_sentence`` words it) and stores nothing. With an embedder, the
    new chunks are embedded too (a failure there leaves them lexical; ``reembed`` retries)."""
    document = read_owner_file(file_name, data)  # raises before anything is stored
    with sessions.begin() as session:
        document_id = _store(
            session, document, origin="owner", file_name=file_name[:255], size=len(data)
        )
        _analyze(session)
    if embedder is not None:
        try:
            reembed(sessions, embedder, document_id=document_id)
        except Exception:
            log.warning("library: embedding %s failed; it is searched lexically", file_name)
    with sessions() as session:
        info = next(d for d in list_documents(session) if d.id == document_id)
    log.info("library: added %s (%d chunks)", file_name, info.chunks)
    return info


def remove_document(sessions: sessionmaker[Session], document_id: int) -> DocumentInfo:
    """Remove one of the owner's documents (the shipped ones cannot be removed)."""
    with sessions.begin() as session:
        info = next((d for d in list_documents(session) if d.id == document_id), None)
        if info is None:
            raise LibraryError("not_found", f"no library document {document_id}")
        if info.origin != "owner":
            raise LibraryError("shipped", f"document {document_id} ships with Domestique")
        session.execute(delete(LibraryDocument).where(LibraryDocument.id == document_id))
    log.info("library: removed document %d (%s)", document_id, info.file_name)
    return info


def list_documents(session: Session) -> list[DocumentInfo]:
    """Every document: the owner's first (newest first), then the shipped ones by title."""
    rows = session.execute(
        text(
            """
            SELECT d.id, d.origin, d.slug, d.title, d.lang, d.kind, d.file_name, d.pages,
                   d.size_bytes, d.created_at,
                   (SELECT count(*) FROM library_chunk c WHERE c.document_id = d.id) AS chunks
            FROM library_document d
            ORDER BY d.origin = 'shipped', CASE WHEN d.origin = 'owner' THEN d.id END DESC,
                     d.lang, d.title, d.id
            """
        )
    ).all()
    return [
        DocumentInfo(
            id=r.id,
            origin=r.origin,
            slug=r.slug,
            title=r.title,
            lang=r.lang,
            kind=r.kind,
            file_name=r.file_name,
            pages=r.pages,
            chunks=r.chunks,
            size_bytes=r.size_bytes,
            created_at=r.created_at,
        )
        for r in rows
    ]


# --- vectors ---------------------------------------------------------------------------------


def _vector_type(dimension: int) -> tuple[str, str]:
    """(the SQL type the index and queries cast to, its cosine operator class)."""
    if dimension <= VECTOR_MAX_DIM:
        return f"vector({dimension})", "vector_cosine_ops"
    if dimension <= HALFVEC_MAX_DIM:
        return f"halfvec({dimension})", "halfvec_cosine_ops"
    raise ValueError(f"pgvector cannot index vectors of {dimension} dimensions")


def _ensure_index(session: Session, dimension: int) -> None:
    cast, ops = _vector_type(dimension)
    session.execute(
        text(
            f"CREATE INDEX IF NOT EXISTS ix_library_chunk_embedding_{dimension:d} "
            f"ON library_chunk USING hnsw ((embedding::{cast}) {ops}) "
            f"WITH (m = {HNSW_M:d}, ef_construction = {HNSW_EF_CONSTRUCTION:d}) "
            f"WHERE embedding_dim = {dimension:d}"
        )
    )


def reembed(
    sessions: sessionmaker[Session],
    embedder: Embedder,
    progress: Callable[[int, int], None] | None = None,
    *,
    document_id: int | None = None,
    batch: int = EMBED_BATCH,
) -> int:
    """Embed every chunk that has no vector from ``embedder.model`` (all of them after a model
    change), ``batch`` texts per call, one transaction per batch (an interruption keeps what was
    done; the next run continues). ``progress(done, total)`` after each batch. Returns how many
    chunks were embedded. Raises what the embedder raises."""
    with sessions() as session:
        query = select(LibraryChunk.id).where(
            LibraryChunk.embedding_model.is_distinct_from(embedder.model)
            | LibraryChunk.embedding.is_(None)
        )
        if document_id is not None:
            query = query.where(LibraryChunk.document_id == document_id)
        ids = session.scalars(query.order_by(LibraryChunk.id)).all()
    total, done = len(ids), 0
    if progress is not None:
        progress(0, total)
    indexed: set[int] = set()
    for start in range(0, total, batch):
        part = ids[start : start + batch]
        with sessions.begin() as session:
            rows = session.execute(
                select(
                    LibraryChunk.id, LibraryChunk.heading, LibraryChunk.text, LibraryDocument.title
                )
                .join(LibraryDocument, LibraryDocument.id == LibraryChunk.document_id)
                .where(LibraryChunk.id.in_(part))
                .order_by(LibraryChunk.id)
            ).all()
            vectors = embedder.embed([_embedding_text(r.title, r.heading, r.text) for r in rows])
            if len(vectors) != len(rows):
                raise ValueError(f"{len(vectors)} vectors for {len(rows)} texts")
            dimensions = {len(v) for v in vectors}
            if len(dimensions) > 1:
                raise ValueError(f"vectors of several dimensions: {sorted(dimensions)}")
            for dimension in dimensions - indexed:
                _ensure_index(session, dimension)
                indexed.add(dimension)
            table = LibraryChunk.__table__
            session.execute(
                update(table)
                .where(table.c.id == bindparam("chunk_id"))
                .values(
                    embedding=bindparam("vector"),
                    embedding_model=embedder.model,
                    embedding_dim=bindparam("dim"),
                ),
                [
                    {"chunk_id": r.id, "vector": list(v), "dim": len(v)}
                    for r, v in zip(rows, vectors, strict=True)
                ],
            )
        done += len(part)
        if progress is not None:
            progress(done, total)
    return done


def _embedding_text(title: str, heading: str, body: str) -> str:
    return f"{title}\n{heading}\n{body}".strip()


_VECTOR_SETTINGS = text(
    """
    SELECT set_config('hnsw.ef_search', :ef_search, true),
           CASE WHEN CAST(string_to_array(extversion, '.') AS int[]) >= '{0,8}'
                THEN set_config('hnsw.iterative_scan', 'relaxed_order', true) END
    FROM pg_extension WHERE extname = 'vector'
    """
)
"""The HNSW search depth and, on pgvector ≥ 0.8, its iterative scan (so the language filter
does not starve the result), for the transaction: one round trip."""


# --- retrieval -------------------------------------------------------------------------------


def _lexeme_source(query: str, lang: Language) -> tuple[str, str]:
    """(the text, the text-search configuration) that turn a query into the same lexemes as the
    indexed text: English through ``english``; Korean as Kiwi's morphemes through ``simple``."""
    if lang == "ko":
        return token_string(korean_analyzer().tokens(query)), "simple"
    return query, "english"


def query_lexemes(session: Session, query: str, lang: Language) -> list[str]:
    """The lexemes a query is searched by (the same path as the indexed text)."""
    source, config = _lexeme_source(query, lang)
    if not source.strip():
        return []
    lexemes = session.scalars(
        text("SELECT unnest(tsvector_to_array(to_tsvector(CAST(:c AS regconfig), :q)))"),
        {"c": config, "q": source},
    ).all()
    return list(lexemes)


_LEXICAL_RANKING = text(
    """
    WITH q AS (
        SELECT u.lexeme FROM unnest(tsvector_to_array(to_tsvector(CAST(:config AS regconfig), :q)))
            WITH ORDINALITY AS u(lexeme, n)
        ORDER BY u.n LIMIT :max_terms),
    total AS (SELECT CAST(count(*) AS float8) AS n FROM library_chunk WHERE lang = :lang),
    idf AS (
        SELECT t.term, ln(1 + (total.n - count(*) + 0.5) / (count(*) + 0.5)) AS w
        FROM q JOIN library_term t ON t.lang = :lang AND t.term = q.lexeme CROSS JOIN total
        GROUP BY t.term, total.n)
    SELECT t.chunk_id FROM idf JOIN library_term t ON t.lang = :lang AND t.term = idf.term
    GROUP BY t.chunk_id
    ORDER BY sum(idf.w * t.weight) DESC, t.chunk_id
    LIMIT :depth
    """
)


def lexical_ranking(
    session: Session, query: str, lang: Language, *, depth: int = DEPTH
) -> list[int]:
    """Chunk ids of ``lang`` best first: every chunk holding any of the query's lexemes (at most
    ``MAX_QUERY_TERMS``), scored Σ idf(term) · ts_rank(chunk, term) from ``library_term`` (see
    the module's docstring)."""
    source, config = _lexeme_source(query, lang)
    if not source.strip():
        return []
    params = {
        "config": config,
        "q": source,
        "lang": lang,
        "max_terms": MAX_QUERY_TERMS,
        "depth": depth,
    }
    return list(session.scalars(_LEXICAL_RANKING, params).all())


def vector_ranking(
    session: Session, vector: Sequence[float], model: str, lang: Language, *, depth: int = DEPTH
) -> list[int]:
    """Chunk ids of ``lang`` embedded by ``model``, nearest (cosine) first, through the HNSW
    index of the vector's dimension."""
    dimension = len(vector)
    cast, _ops = _vector_type(dimension)
    session.execute(_VECTOR_SETTINGS, {"ef_search": str(max(40, depth * 2))})
    # relaxed_order may return neighbours slightly out of order: re-sorted by exact distance
    return list(
        session.scalars(
            text(
                # the type is "vector(N)" or "halfvec(N)" with N an int: S608 is moot
                f"WITH nearest AS MATERIALIZED ("  # noqa: S608
                f" SELECT id, embedding::{cast} <=> CAST(:v AS {cast}) AS distance"
                f" FROM library_chunk"
                f" WHERE embedding_dim = {dimension:d} AND embedding_model = :model"
                f" AND lang = :lang"
                f" ORDER BY embedding::{cast} <=> CAST(:v AS {cast}) LIMIT :depth)"
                f" SELECT id FROM nearest ORDER BY distance, id"
            ),
            {"v": str(list(map(float, vector))), "model": model, "lang": lang, "depth": depth},
        ).all()
    )


def query_language(query: str) -> Language:
    """A question's language: Korean when at least ``KOREAN_SHARE`` of its letters are Hangul,
    however short it is (a question has too few letters for the documents' minimum)."""
    share, letters = hangul_share(query)
    return "ko" if letters and share >= KOREAN_SHARE else "en"


def search(
    session: Session,
    query: str,
    *,
    lang: Language | None = None,
    k: int = DEFAULT_K,
    embedder: Embedder | None = None,
    depth: int = DEPTH,
) -> list[Passage]:
    """The ``k`` passages that best answer ``query``, in ``lang`` (default: the query's own
    language), lexical and — with an embedder — vector rankings fused by reciprocal rank. A
    failing embedder is logged and the search is lexical."""
    query = query.strip()
    if not query or k < 1:
        return []
    lang = lang or query_language(query)
    depth = max(depth, k)
    rankings = [lexical_ranking(session, query, lang, depth=depth)]
    if embedder is not None:
        try:
            vector = embedder.embed([query])[0]
        except Exception as error:
            log.warning("library: the query's embedding failed (%s); lexical only", error)
        else:
            rankings.append(vector_ranking(session, vector, embedder.model, lang, depth=depth))
    fused = reciprocal_rank_fusion(rankings)
    if not fused:
        return []
    ranks = [{chunk: rank for rank, chunk in enumerate(r, start=1)} for r in rankings]
    scores = dict(fused)
    rows = session.execute(
        _PASSAGES,
        {"ids": [chunk for chunk, _ in fused], "per_document": PER_DOCUMENT, "k": k},
    ).all()
    return [
        Passage(
            chunk_id=row.id,
            document_id=row.document_id,
            origin=row.origin,
            slug=row.slug,
            title=row.title,
            heading=row.heading,
            lang=row.lang,
            page=row.page,
            text=row.text,
            score=scores[row.id],
            lexical_rank=ranks[0].get(row.id),
            vector_rank=ranks[1].get(row.id) if len(ranks) > 1 else None,
        )
        for row in rows
    ]


_PASSAGES = text(
    """
    WITH fused AS (
        SELECT f.id, f.n FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS f(id, n)),
    placed AS (
        SELECT fused.id, fused.n,
               row_number() OVER (PARTITION BY c.document_id ORDER BY fused.n) AS nth
        FROM fused JOIN library_chunk c ON c.id = fused.id),
    kept AS (SELECT id, n FROM placed WHERE nth <= :per_document ORDER BY n LIMIT :k)
    SELECT c.id, c.document_id, c.heading, c.lang, c.page, c.text, d.origin, d.slug, d.title
    FROM kept
        JOIN library_chunk c ON c.id = kept.id
        JOIN library_document d ON d.id = c.document_id
    ORDER BY kept.n
    """
)
"""The fused chunks, best first, at most ``per_document`` of one document, the first ``k``:
only those are read whole (the text is what a passage costs to fetch)."""


# --- the owner's sentences -------------------------------------------------------------------


def error_sentence(error: LibraryFileError | LibraryError) -> str:
    """What the owner reads when a file is refused or a removal is not possible."""
    params = getattr(error, "params", {})
    name = str(params.get("name", ""))
    sentences = {
        "unsupported": lambda: _(
            "%(name)s is not a Markdown, text or PDF file; the library takes .md, .txt and .pdf.",
            name=name,
        ),
        "too_big": lambda: _(
            "%(name)s is too big for the library (at most %(limit)s MB).",
            name=name,
            limit=params.get("limit_mb", ""),
        ),
        "empty": lambda: _("%(name)s has no text to add.", name=name),
        "not_utf8": lambda: _(
            "%(name)s is not UTF-8 text; save it as UTF-8 and add it again.", name=name
        ),
        "binary": lambda: _("%(name)s is not a text file.", name=name),
        "pdf_encrypted": lambda: _(
            "%(name)s is protected by a password; save a copy without one and add that.",
            name=name,
        ),
        "pdf_malformed": lambda: _(
            "%(name)s is not a readable PDF (it may be damaged).", name=name
        ),
        "pdf_no_text": lambda: _(
            "%(name)s has no text layer (a scan?); the library needs a PDF with text.", name=name
        ),
        "too_many_pages": lambda: _(
            "%(name)s has more than %(limit)s pages.", name=name, limit=params.get("limit", "")
        ),
        "shape": lambda: _("A shipped library document is malformed."),
        "not_found": lambda: _("That document is no longer in the library."),
        "shipped": lambda: _("The documents that ship with Domestique cannot be removed."),
    }
    sentence = sentences.get(error.code)
    return sentence() if sentence else str(error)


# --- one passage ---------------------------------------------------------------------------------


def passage(session: Session, chunk_id: int) -> Passage | None:
    """One chunk as a citation links to it (None when the document was removed since)."""
    row = session.execute(
        select(
            LibraryChunk.id,
            LibraryChunk.document_id,
            LibraryChunk.heading,
            LibraryChunk.lang,
            LibraryChunk.page,
            LibraryChunk.text,
            LibraryDocument.origin,
            LibraryDocument.slug,
            LibraryDocument.title,
        )
        .join(LibraryDocument, LibraryDocument.id == LibraryChunk.document_id)
        .where(LibraryChunk.id == chunk_id)
    ).one_or_none()
    if row is None:
        return None
    return Passage(
        chunk_id=row.id,
        document_id=row.document_id,
        origin=row.origin,
        slug=row.slug,
        title=row.title,
        heading=row.heading,
        lang=row.lang,
        page=row.page,
        text=row.text,
        score=0.0,
        lexical_rank=None,
        vector_rank=None,
    )
