"""Settings → Coach → Library: the documents (the owner's first, then the shipped ones), an
owner's file added or removed, and the vectors brought up to the embedding model in force — in
the background, on the work runner, with progress (``WorkRunner.last_reembed``).

The embedder here calls the embedding model through ``llm.embed``: under the monthly budget,
every request recorded (purpose ``library_index``). A failed call raises, so the runner's
progress says ``failed`` and the chunks it did not reach stay as they were (searched lexically;
the next run continues).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.coach import library_files
from app.config import Settings
from app.i18n import _
from app.security.keys import SecretBox
from app.services.coach import library, llm
from app.services.coach.config import load_config

INDEX_PURPOSE = "library_index"
MAX_FILE_BYTES = library_files.MAX_FILE_BYTES
LibraryError = library.LibraryError
LibraryFileError = library_files.LibraryFileError


class ReembedRunner(Protocol):
    last_reembed: dict | None

    def submit_reembed(self, work: Callable[[Callable[[int, int], None]], int]) -> Future: ...


class EmbeddingFailed(RuntimeError):
    """The embedding model gave no vectors (its failure's sentence is the message)."""


def make_embedder(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    *,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> library.Embedder | None:
    """The embedding model in force as a library ``Embedder``; None when none is set."""
    with sessions() as session:
        config = load_config(session, settings)
    model = config.embedding_model.value
    if not (config.configured and model):
        return None

    def embed(texts: Sequence[str]) -> Sequence[Sequence[float]]:
        result = llm.embed(
            sessions, settings, box, purpose=INDEX_PURPOSE, texts=list(texts), clock=clock
        )
        if result.failure is not None:
            raise EmbeddingFailed(result.failure.sentence)
        return result.vectors

    return library.Embedder(str(model), embed)


def queue_reembed(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    runner: ReembedRunner,
    *,
    clock: llm.Clock = llm.SYSTEM_CLOCK,
) -> Future | None:
    """Queue the re-embedding of every chunk without a vector of the model in force; None
    when no embedding model is set (the library is lexical)."""
    embedder = make_embedder(sessions, settings, box, clock=clock)
    if embedder is None:
        return None
    return runner.submit_reembed(lambda progress: library.reembed(sessions, embedder, progress))


@dataclass(frozen=True)
class LibraryPage:
    documents: list[library.DocumentInfo]
    embedding_model: str | None
    chunks: int
    embedded: int  # chunks with a vector of the model in force
    progress: dict | None
    error: str | None = None
    added: str | None = None

    @property
    def owner_documents(self) -> list[library.DocumentInfo]:
        return [d for d in self.documents if d.origin == "owner"]

    @property
    def shipped_documents(self) -> list[library.DocumentInfo]:
        return [d for d in self.documents if d.origin == "shipped"]

    @property
    def running(self) -> bool:
        return bool(self.progress and self.progress.get("status") == "running")

    @property
    def missing(self) -> int:
        return self.chunks - self.embedded if self.embedding_model else 0


def library_page(
    sessions: sessionmaker[Session],
    settings: Settings,
    runner: ReembedRunner | None,
    *,
    error: str | None = None,
    added: str | None = None,
) -> LibraryPage:
    with sessions() as session:
        config = load_config(session, settings)
        model = config.embedding_model.value if config.configured else None
        documents = library.list_documents(session)
        chunks = session.scalar(select(func.count()).select_from(library.LibraryChunk)) or 0
        embedded = 0
        if model:
            embedded = (
                session.scalar(
                    select(func.count())
                    .select_from(library.LibraryChunk)
                    .where(
                        library.LibraryChunk.embedding_model == model,
                        library.LibraryChunk.embedding.is_not(None),
                    )
                )
                or 0
            )
    progress = getattr(runner, "last_reembed", None) if runner is not None else None
    return LibraryPage(documents, model, chunks, embedded, progress, error, added)


def add(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    runner: ReembedRunner | None,
    file_name: str,
    data: bytes,
) -> library.DocumentInfo:
    """Add an owner's file (``LibraryFileError`` when it cannot be: nothing stored); its
    chunks are embedded in the background when an embedding model is set."""
    info = library.add_document(sessions, file_name, data)
    if runner is not None:
        queue_reembed(sessions, settings, box, runner)
    return info


def remove(sessions: sessionmaker[Session], document_id: int) -> library.DocumentInfo:
    return library.remove_document(sessions, document_id)


def error_sentence(error: LibraryFileError | library.LibraryError) -> str:
    return library.error_sentence(error)


def missing_file_sentence() -> str:
    return _("Choose a Markdown, text or PDF file first.")
