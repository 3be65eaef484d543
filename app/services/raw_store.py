"""The raw store: every original file, kept forever under ``data/raw/``, content-addressed.

``data/raw/<sha[:2]>/<sha256><suffix>``: the same bytes are stored once however often they
arrive, and ``domestique rebuild`` (later) can replay every table from here. Files are written
to ``data/raw/.incoming/`` first, hashed while streaming, fsynced, then renamed into place, so a
crash never leaves a half-written file under its final name.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, make_transient_to_detached

from app.config import Settings
from app.models import RawFile

CHUNK = 1024 * 1024
KNOWN_SUFFIXES = {".fit", ".zip", ".xml", ".gpx", ".json"}


class TooLarge(ValueError):
    """The input is bigger than the configured limit; nothing was kept."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"larger than {limit_bytes} bytes")
        self.limit_mb = limit_bytes // (1024 * 1024)


def _suffix(original_name: str | None) -> str:
    suffix = PurePath(original_name or "").suffix.lower()
    return suffix if suffix in KNOWN_SUFFIXES else ""


def _relative(sha: str, original_name: str | None, namespace: str) -> str:
    """``<namespace>/<sha[:2]>/<sha><ext>`` (``garmin/…`` for API responses)."""
    prefix = f"{namespace}/" if namespace else ""
    return f"{prefix}{sha[:2]}/{sha}{_suffix(original_name)}"


def raw_path(settings: Settings, raw: RawFile) -> Path | None:
    """Where a stored raw file is on disk; ``None`` when its recorded path would leave the raw
    store (a row from a crafted backup: ``../secret.key``, an absolute path, a symlink out).
    Every reader of a raw file goes through here."""
    root = settings.raw_dir.resolve()
    path = (root / raw.path).resolve()
    return path if path.is_relative_to(root) else None


def _record(
    session: Session, sha: str, relative: str, size: int, kind: str, original_name: str | None
) -> RawFile:
    table = RawFile.__table__
    added = session.execute(
        insert(table)
        .values(sha256=sha, kind=kind, path=relative, size=size, original_name=original_name)
        .on_conflict_do_nothing(index_elements=["sha256"])
        .returning(*table.c)
    ).first()
    if added is None:  # kept before
        return session.execute(select(RawFile).where(RawFile.sha256 == sha)).scalar_one()
    # The row as the session would have loaded it, without loading it again (an ORM INSERT
    # returning the entity costs several times this).
    raw = RawFile(**added._asdict())
    make_transient_to_detached(raw)
    session.add(raw)
    return raw


class IncomingFile:
    """A file being received (an upload): written to ``.incoming`` and hashed as it streams,
    then ``keep()``-ed into the store or ``discard()``-ed."""

    def __init__(
        self,
        settings: Settings,
        original_name: str | None,
        max_bytes: int | None,
        namespace: str = "",
    ):
        incoming = settings.raw_dir / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.original_name = original_name
        self.max_bytes = max_bytes
        self.namespace = namespace
        self.path = incoming / uuid.uuid4().hex
        self.size = 0
        self._digest = hashlib.sha256()
        self._out: BinaryIO | None = self.path.open("wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.max_bytes is not None and self.size > self.max_bytes:
            self.discard()
            raise TooLarge(self.max_bytes)
        self._digest.update(chunk)
        assert self._out is not None
        self._out.write(chunk)

    def finish(self) -> Path:
        """Close the received file and hand over its path (it is not kept in the store)."""
        if self._out is not None:
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            self._out = None
        return self.path

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        self.path.unlink(missing_ok=True)

    def keep(self, session: Session, *, kind: str = "upload") -> RawFile:
        assert self._out is not None
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        self._out = None
        sha = self._digest.hexdigest()
        relative = _relative(sha, self.original_name, self.namespace)
        final = self.settings.raw_dir / relative
        if final.exists():
            self.path.unlink()
        else:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path, final)
        return _record(session, sha, relative, self.size, kind, self.original_name)


def store_chunks(
    session: Session,
    settings: Settings,
    chunks: Iterable[bytes],
    *,
    original_name: str | None,
    kind: str = "upload",
    max_bytes: int | None = None,
    namespace: str = "",
) -> RawFile:
    """Stream ``chunks`` into the raw store and return its ``raw_file`` row (existing or new)."""
    incoming = IncomingFile(settings, original_name, max_bytes, namespace)
    try:
        for chunk in chunks:
            incoming.write(chunk)
        return incoming.keep(session, kind=kind)
    except BaseException:
        incoming.discard()
        raise


def store_stream(
    session: Session,
    settings: Settings,
    stream: BinaryIO,
    *,
    original_name: str | None,
    kind: str = "upload",
    max_bytes: int | None = None,
) -> RawFile:
    return store_chunks(
        session,
        settings,
        iter(lambda: stream.read(CHUNK), b""),
        original_name=original_name,
        kind=kind,
        max_bytes=max_bytes,
    )


def store_bytes(
    session: Session,
    settings: Settings,
    data: bytes,
    *,
    original_name: str | None,
    kind: str,
    namespace: str = "",
) -> RawFile:
    """Small payloads (one FIT file out of an archive, an API response): hash first, write only
    when new."""
    sha = hashlib.sha256(data).hexdigest()
    relative = _relative(sha, original_name, namespace)
    final = settings.raw_dir / relative
    if not final.exists():
        return store_chunks(
            session,
            settings,
            [data],
            original_name=original_name,
            kind=kind,
            namespace=namespace,
        )
    return _record(session, sha, relative, len(data), kind, original_name)
