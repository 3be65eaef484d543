"""Safe reading of ZIP archives, shared by every importer (Garmin export, Apple Health, FIT
folders zipped by hand).

Uploaded archives are untrusted. This module never extracts by member name and never trusts
the sizes written in the headers:

- the whole archive is refused (``SourceDataError(code="zip_bomb")``) when it would expand
  beyond ``ArchiveLimits.max_total_bytes`` in total (nested zips included), when one member is
  larger than ``max_member_bytes``, when one member expands more than ``max_ratio`` times its
  compressed size (checked once a member has produced more than ``RATIO_GRACE_BYTES``, so tiny
  files of zeros are not flagged), or when the archive and its nested zips list more than
  ``max_members`` entries. Declared sizes are checked before anything is read, so an honest bomb
  is refused before a byte is inflated; the reader returned by :meth:`Member.open` then counts
  the bytes it really produces and enforces the same limits while reading (a header that lies
  about a size cannot get more through);
- members with unsafe names (absolute paths, ``..`` components, drive letters, NUL bytes) are
  reported with ``Notice("zip_unsafe_name", {"name": ...})`` and skipped; encrypted members with
  ``Notice("zip_encrypted", {"name": ...})``; members stored with a compression method Python
  cannot inflate (Deflate64, PPMd…) with ``Notice("zip_unsupported_method", {"name", "method"})``;
  directories and macOS junk (``__MACOSX/``, ``.DS_Store``) are skipped silently;
- nested zips (``descend(name)`` true) are opened and their members yielded under the name
  ``"outer/inner.zip!/a/b.fit"``, down to ``max_depth`` levels; deeper ones are reported with
  ``Notice("zip_too_deep", {"name", "max_depth"})``. A nested zip that is not a valid archive (or
  whose bytes fail their CRC) is reported with ``Notice("zip_nested_corrupt", {"name": ...})``
  and skipped: one damaged part must not lose the rest of an export;
- errors: not a zip or a corrupt central directory → ``SourceDataError(code="zip_corrupt")``;
  no file members at all → ``code="zip_empty"``; a CRC or inflate error while reading a member →
  ``code="zip_member_corrupt", name=...`` raised from the reader's ``read()``.

Memory stays bounded: members are streamed in chunks of ``CHUNK_BYTES``; a nested zip is copied
(through the same limit-enforcing reader) into a ``SpooledTemporaryFile`` that stays in memory
up to ``NESTED_IN_MEMORY_BYTES`` (64 MiB) and rolls over to a temporary file on disk beyond that
(Garmin's ``UploadedFiles_*_Part1.zip`` is often several hundred MB). At most one nested zip per
level is open at a time, so the worst case is ``max_depth × 64 MiB`` of spool in memory; the
spool is deleted as soon as its members have been yielded.

A :class:`Member` is only valid until the iterator advances past it: open and read it before
asking for the next item.
"""

from __future__ import annotations

import io
import lzma
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from app.records import Notice
from app.sources import SourceDataError

CHUNK_BYTES = 1024 * 1024
RATIO_GRACE_BYTES = 1024 * 1024  # the ratio limit applies once a member has produced this much
NESTED_IN_MEMORY_BYTES = 64 * 1024 * 1024  # a nested zip larger than this is spooled to disk
_MB = 1024 * 1024

_SUPPORTED_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_DRIVE = re.compile(r"^[A-Za-z]:")
_JUNK_PARTS = frozenset({"__MACOSX"})
_JUNK_NAMES = frozenset({".DS_Store"})
# What a damaged member raises while being inflated (zipfile, zlib, bz2 and lzma each differ).
# (bz2 reports bad data as OSError.)
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError)


@dataclass(frozen=True)
class ArchiveLimits:
    max_total_bytes: int = 20 * 1024**3  # total uncompressed across the archive incl. nested zips
    max_member_bytes: int = 4 * 1024**3
    max_ratio: float = 200.0  # uncompressed/compressed per member (zip bomb)
    max_depth: int = 2  # nested zips inside zips
    max_members: int = 200_000


@dataclass(frozen=True)
class Member:
    """One file inside the archive (or inside a nested zip)."""

    name: str  # posix path; nested members as "outer/inner.zip!/a/b.fit"
    size: int  # declared uncompressed size
    _opener: Callable[[], BinaryIO] = field(repr=False, compare=False)

    def open(self) -> BinaryIO:
        """A streaming reader that enforces the archive limits on the bytes it really produces."""
        return self._opener()

    def read(self) -> bytes:
        with self.open() as stream:
            return stream.read()


def _default_descend(name: str) -> bool:
    return name.lower().endswith(".zip")


def iter_members(
    path: Path,
    *,
    limits: ArchiveLimits = ArchiveLimits(),  # frozen: a shared default is safe
    descend: Callable[[str], bool] = _default_descend,
) -> Iterator[Member | Notice]:
    """Yield every file member of the zip at ``path`` (and of the zips nested in it) or a
    :class:`Notice` for what was skipped. See the module docstring for the rules."""
    budget = _Budget(limits)
    with open(path, "rb") as raw:
        archive = _open_zip(raw)
        with archive:
            infos = archive.infolist()
            if not any(_is_file(info) for info in infos):
                raise SourceDataError("the archive holds no files", code="zip_empty")
            yield from _walk(archive, infos, prefix="", depth=0, budget=budget, descend=descend)


def _open_zip(stream: BinaryIO) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        raise SourceDataError(f"not a readable zip archive: {exc}", code="zip_corrupt") from exc


def _is_file(info: zipfile.ZipInfo) -> bool:
    name = info.filename.replace("\\", "/")
    if name.endswith("/"):  # a directory (also when written as "dir\\")
        return False
    parts = name.split("/")
    return not (_JUNK_PARTS.intersection(parts) or parts[-1] in _JUNK_NAMES)


def _is_unsafe(raw_name: str) -> bool:
    if "\x00" in raw_name:
        return True
    name = raw_name.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return True
    return ".." in name.split("/")


def _walk(
    archive: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    *,
    prefix: str,
    depth: int,
    budget: _Budget,
    descend: Callable[[str], bool],
) -> Iterator[Member | Notice]:
    budget.check_declared(infos)
    for info in infos:
        if not _is_file(info):
            continue
        name = prefix + info.filename.replace("\\", "/")  # some Windows tools write "\\"
        if _is_unsafe(info.orig_filename):
            yield Notice("zip_unsafe_name", {"name": prefix + info.orig_filename})
            continue
        if info.flag_bits & 0x1:
            yield Notice("zip_encrypted", {"name": name})
            continue
        if info.compress_type not in _SUPPORTED_METHODS:
            yield Notice("zip_unsupported_method", {"name": name, "method": info.compress_type})
            continue
        if descend(info.filename):
            if depth + 1 > budget.limits.max_depth:
                yield Notice("zip_too_deep", {"name": name, "max_depth": budget.limits.max_depth})
                continue
            yield from _walk_nested(
                archive, info, name=name, depth=depth, budget=budget, descend=descend
            )
            continue
        yield Member(
            name=name,
            size=info.file_size,
            _opener=_opener(archive, info, name, budget),
        )


def _walk_nested(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    *,
    name: str,
    depth: int,
    budget: _Budget,
    descend: Callable[[str], bool],
) -> Iterator[Member | Notice]:
    with tempfile.SpooledTemporaryFile(max_size=NESTED_IN_MEMORY_BYTES) as spool:
        try:
            with _opener(archive, info, name, budget)() as source:
                while chunk := source.read(CHUNK_BYTES):
                    spool.write(chunk)
        except SourceDataError as exc:
            if exc.code != "zip_member_corrupt":
                raise
            yield Notice("zip_nested_corrupt", {"name": name})
            return
        spool.seek(0)
        try:
            nested = zipfile.ZipFile(spool)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError):
            yield Notice("zip_nested_corrupt", {"name": name})
            return
        with nested:
            yield from _walk(
                nested,
                nested.infolist(),
                prefix=name + "!/",
                depth=depth + 1,
                budget=budget,
                descend=descend,
            )


def _opener(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, budget: _Budget
) -> Callable[[], BinaryIO]:
    def open_member() -> BinaryIO:
        if archive.fp is None:
            raise RuntimeError(f"{name}: opened after the archive iterator moved past it")
        try:
            inner = archive.open(info)
        except (*_READ_ERRORS, NotImplementedError, RuntimeError) as exc:
            raise SourceDataError(f"{name}: {exc}", code="zip_member_corrupt", name=name) from exc
        return _GuardedReader(
            inner, name=name, compressed=info.compress_size, declared=info.file_size, budget=budget
        )

    return open_member


class _Budget:
    """Limits shared by an archive and every zip nested in it."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        # Bytes really inflated so far, and declared sizes of every member seen so far. A nested
        # zip counts twice (its own bytes and its members'), which errs on the safe side.
        self.total_bytes = 0
        self.declared_bytes = 0
        self.members = 0

    def refuse(self, message: str, *, limit: str, limit_mb: int, **params: object) -> None:
        raise SourceDataError(message, code="zip_bomb", limit=limit, limit_mb=limit_mb, **params)

    def check_declared(self, infos: list[zipfile.ZipInfo]) -> None:
        limits = self.limits
        self.members += len(infos)
        if self.members > limits.max_members:
            self.refuse(
                f"more than {limits.max_members} entries",
                limit="members",
                limit_mb=limits.max_total_bytes // _MB,
                max_members=limits.max_members,
            )
        for info in infos:
            if info.is_dir():
                continue
            size = info.file_size
            if size > limits.max_member_bytes:
                self.refuse(
                    f"{info.filename} declares {size} bytes",
                    limit="member",
                    limit_mb=limits.max_member_bytes // _MB,
                    name=info.filename,
                )
            if size > RATIO_GRACE_BYTES and size > limits.max_ratio * max(info.compress_size, 1):
                self.refuse(
                    f"{info.filename} declares a ratio above {limits.max_ratio}",
                    limit="ratio",
                    limit_mb=limits.max_total_bytes // _MB,
                    max_ratio=limits.max_ratio,
                )
            self.declared_bytes += size
        if self.declared_bytes > limits.max_total_bytes:
            self.refuse(
                f"declares {self.declared_bytes} bytes in total",
                limit="total",
                limit_mb=limits.max_total_bytes // _MB,
            )

    def count(self, name: str, produced: int, *, member_total: int, compressed: int) -> None:
        limits = self.limits
        self.total_bytes += produced
        if member_total > limits.max_member_bytes:
            self.refuse(
                f"{name} expands beyond {limits.max_member_bytes} bytes",
                limit="member",
                limit_mb=limits.max_member_bytes // _MB,
                name=name,
            )
        if member_total > RATIO_GRACE_BYTES and member_total > limits.max_ratio * max(
            compressed, 1
        ):
            self.refuse(
                f"{name} expands more than {limits.max_ratio} times",
                limit="ratio",
                limit_mb=limits.max_total_bytes // _MB,
                max_ratio=limits.max_ratio,
            )
        if self.total_bytes > limits.max_total_bytes:
            self.refuse(
                f"the archive expands beyond {limits.max_total_bytes} bytes",
                limit="total",
                limit_mb=limits.max_total_bytes // _MB,
            )


class _GuardedReader(io.BufferedIOBase):
    """Wraps a member stream: counts the bytes it really yields against the limits and turns
    inflate/CRC failures into ``SourceDataError(code="zip_member_corrupt")``."""

    def __init__(
        self, inner: BinaryIO, *, name: str, compressed: int, declared: int, budget: _Budget
    ) -> None:
        super().__init__()
        self._inner = inner
        self._name = name
        self._compressed = compressed
        self._declared = declared
        self._budget = budget
        self._produced = 0

    def readable(self) -> bool:
        return True

    def _guarded(self, reader: Callable[[int], bytes], size: int) -> bytes:
        try:
            data = reader(size)
        except _READ_ERRORS as exc:
            raise SourceDataError(
                f"{self._name}: {exc}", code="zip_member_corrupt", name=self._name
            ) from exc
        if data:
            self._produced += len(data)
            self._budget.count(
                self._name, len(data), member_total=self._produced, compressed=self._compressed
            )
            if self._produced > self._declared:
                raise SourceDataError(
                    f"{self._name}: more bytes than its header declares",
                    code="zip_member_corrupt",
                    name=self._name,
                )
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self._guarded(self._inner.read, CHUNK_BYTES):
                parts.append(chunk)
            return b"".join(parts)
        return self._guarded(self._inner.read, size)

    def read1(self, size: int = -1) -> bytes:
        return self.read(CHUNK_BYTES if size is None or size < 0 else size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()
