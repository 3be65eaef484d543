"""Walks a Strava export ZIP (through ``app.sources.archive``) and yields what it carries."""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.records import Activity, Notice
from app.sources import SourceDataError
from app.sources.archive import RATIO_GRACE_BYTES, ArchiveLimits, Member, iter_members
from app.sources.strava_export.mapper import ActivityFile, ExportRow, parse_activities_csv

CSV_NAME = "activities.csv"
# An original activity file is rarely above a few MB; activities.csv is ~1 KB a row.
MAX_FILE_BYTES = 128 * 1024 * 1024
MAX_CSV_BYTES = 256 * 1024 * 1024
_FORMATS = frozenset({"fit", "gpx", "tcx"})
_DEFAULT_LIMITS = ArchiveLimits()
_CHUNK = 1024 * 1024
_MB = 1024 * 1024


@dataclass(frozen=True)
class SummaryBatch:
    """The activities that come from activities.csv alone (no file, or a file that could not
    be used), named after the CSV member."""

    name: str
    activities: list[Activity]
    notices: list[Notice] = field(default_factory=list)


def export_prefix(names: Iterable[str]) -> str | None:
    """``""`` when ``activities.csv`` is at the archive's root, ``"folder/"`` when it is one
    folder down (the owner unpacked and re-zipped the export), else None."""
    found: list[str] = []
    for raw in names:
        name = raw.replace("\\", "/")
        if name == CSV_NAME:
            return ""
        parts = name.split("/")
        if len(parts) == 2 and parts[1] == CSV_NAME and parts[0] not in ("", "__MACOSX"):
            found.append(parts[0] + "/")
    return min(found) if found else None


def is_strava_export(path: Path) -> bool:
    """True when the zip holds ``activities.csv`` at its root (or one folder down). Reads no
    member."""
    try:
        with zipfile.ZipFile(path) as archive:
            return export_prefix(archive.namelist()) is not None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def _never(name: str) -> bool:
    return False  # Strava's export holds no nested zips; one that does is not opened


def iter_export(
    path: Path, *, limits: ArchiveLimits = _DEFAULT_LIMITS
) -> Iterator[ActivityFile | SummaryBatch | Notice]:
    """Yield every activity of a Strava export: an :class:`ActivityFile` for each row whose
    original file is in the archive (one at a time, decompressed), then one
    :class:`SummaryBatch` for the rest, with notices for what was missing or skipped.

    Raises ``SourceDataError`` for an archive that is not a zip, is empty or hostile
    (``zip_corrupt``, ``zip_empty``, ``zip_bomb``, also for a ``.gz`` member that inflates
    beyond the archive's ratio or total limits) and for an unreadable activities.csv
    (``strava_export_bad_csv``, ``zip_member_corrupt``). A missing, damaged or oversized
    activity file costs that file only: its row is imported from the CSV."""
    try:
        with zipfile.ZipFile(path) as archive:
            prefix = export_prefix(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise SourceDataError(f"not a readable zip archive: {exc}", code="zip_corrupt") from exc
    if prefix is None:
        raise SourceDataError("no activities.csv in the archive", code="strava_export_bad_csv")
    parsed = parse_activities_csv(_read_csv(path, prefix + CSV_NAME, limits))
    yield from parsed.notices
    by_file: dict[str, ExportRow] = {}
    fallback: list[Activity] = []
    for row in parsed.rows:
        if row.filename:
            by_file[row.filename.lower()] = row
        else:
            fallback.append(row.summary)  # manual entries: Strava has no file for them
    inflated = _Inflated(limits)
    for item in iter_members(path, limits=limits, descend=_never):
        if isinstance(item, Notice):
            yield item
            continue
        if not item.name.startswith(prefix):
            continue
        row = by_file.pop(item.name[len(prefix) :].lower(), None)
        if row is None:
            continue  # every other file of the export (media, routes, other CSVs) is left alone
        entry = _activity_file(item, row, inflated)
        if isinstance(entry, Notice):
            yield entry
            fallback.append(row.summary)
        else:
            yield entry
    if by_file:
        missing = sorted(row.filename or "" for row in by_file.values())
        yield Notice("strava_export_file_missing", {"count": len(missing), "name": missing[0]})
        fallback.extend(row.summary for row in by_file.values())
    if fallback:
        fallback.sort(key=lambda activity: activity.start)
        yield SummaryBatch(name=prefix + CSV_NAME, activities=fallback)


def _read_csv(path: Path, name: str, limits: ArchiveLimits) -> bytes:
    for item in iter_members(path, limits=limits, descend=_never):
        if isinstance(item, Member) and item.name == name:
            if item.size > MAX_CSV_BYTES:
                raise SourceDataError(
                    f"{name} declares {item.size} bytes", code="strava_export_bad_csv"
                )
            return item.read()
    # The name is in the directory but was skipped (unsafe, encrypted, unsupported method).
    raise SourceDataError(f"{name} cannot be read", code="strava_export_bad_csv")


def _format(name: str) -> tuple[str, bool]:
    """("fit", True) for ``x.fit.gz``; ("gpx", False) for ``x.gpx``."""
    lower = name.lower()
    compressed = lower.endswith(".gz")
    if compressed:
        lower = lower[:-3]
    return (lower.rsplit(".", 1)[-1] if "." in lower.rsplit("/", 1)[-1] else ""), compressed


def _activity_file(member: Member, row: ExportRow, inflated: _Inflated) -> ActivityFile | Notice:
    name = member.name
    file_format, compressed = _format(name)
    if file_format not in _FORMATS:
        return Notice(
            "strava_export_file_skipped",
            {"name": name, "reason": "format", "format": file_format or "?"},
        )
    if member.size > MAX_FILE_BYTES:
        return _too_large(name)
    try:
        data = member.read()
    except SourceDataError as error:
        if error.code != "zip_member_corrupt":
            raise
        return Notice("strava_export_file_unreadable", {"name": name, "error": error.code})
    if compressed:
        try:
            data = inflated.gunzip(name, data)
        except _TooLarge:
            return _too_large(name)
        except (gzip.BadGzipFile, EOFError, zlib.error, OSError):
            return Notice("strava_export_file_unreadable", {"name": name, "error": "gzip"})
    return ActivityFile(name=name, format=file_format, data=data, summary=row.summary)


def _too_large(name: str) -> Notice:
    return Notice(
        "strava_export_file_skipped",
        {"name": name, "reason": "too_large", "limit_mb": MAX_FILE_BYTES // _MB},
    )


class _TooLarge(Exception):
    pass


class _Inflated:
    """Bytes produced by ``.gz`` members, held to the archive's ratio and total limits (the
    zip reader only sees the compressed bytes)."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.total = 0

    def gunzip(self, name: str, data: bytes) -> bytes:
        limits = self.limits
        out = bytearray()
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(_CHUNK):
                out += chunk
                self.total += len(chunk)
                if len(out) > RATIO_GRACE_BYTES and len(out) > limits.max_ratio * max(len(data), 1):
                    raise SourceDataError(
                        f"{name} inflates more than {limits.max_ratio} times",
                        code="zip_bomb",
                        limit="ratio",
                        limit_mb=limits.max_total_bytes // _MB,
                        max_ratio=limits.max_ratio,
                    )
                if self.total > limits.max_total_bytes:
                    raise SourceDataError(
                        f"the .gz files inflate beyond {limits.max_total_bytes} bytes",
                        code="zip_bomb",
                        limit="total",
                        limit_mb=limits.max_total_bytes // _MB,
                    )
                if len(out) > MAX_FILE_BYTES:
                    raise _TooLarge
        return bytes(out)
