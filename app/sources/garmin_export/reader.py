"""Walks a Garmin export ZIP (through ``app.sources.archive``) and yields what it carries."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.records import Activity, DailyWellness, Notice
from app.sources import SourceDataError
from app.sources.archive import ArchiveLimits, Member, iter_members
from app.sources.garmin_export import mapper

# A FIT activity is rarely above a few MB (the largest fixture, a 14 h triathlon, is 3 MB); a
# daily JSON file is a few MB, the activity summary list tens of MB for a heavy user. Bigger
# members are skipped with a notice rather than loaded whole.
MAX_FIT_BYTES = 128 * 1024 * 1024
MAX_JSON_BYTES = 256 * 1024 * 1024

# Formats Garmin keeps next to FIT files (older uploads, third-party imports): skipped, counted.
_OTHER_ACTIVITY_FORMATS = frozenset({"tcx", "gpx", "kml", "kmz", "pwx", "csv"})
_UPLOADS_FOLDER = "di-connect-uploaded-files/"
_DEFAULT_LIMITS = ArchiveLimits()

# Innermost file name (case-insensitive) → the kind of JSON file.
_JSON_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        (r"summarizedActivities.*\.json$", "summaries"),
        (r"sleepData\.json$", "sleep"),
        (r"^UDSFile.*\.json$", "daily_summary"),
        (r"healthStatusData\.json$", "health_status"),
        (r"^MetricsMaxMetData.*\.json$", "max_met"),
        (r"^TrainingReadinessDTO.*\.json$", "training_readiness"),
        (r"(^|_)userBioMetrics\.json$|^user_biometrics\.json$", "biometrics"),
    )
)


@dataclass(frozen=True)
class FitMember:
    """An activity FIT file inside the export, to be decoded by the FIT adapter."""

    name: str
    data: bytes


@dataclass(frozen=True)
class WellnessBatch:
    """Daily wellness parsed from one JSON file (source ``"garmin_export"``)."""

    name: str
    days: list[DailyWellness]


@dataclass(frozen=True)
class ActivitySummaries:
    """Activities from one ``*_summarizedActivities.json`` (source ``"garmin_export"``)."""

    name: str
    activities: list[Activity]


def is_garmin_export(path: Path) -> bool:
    """True when the zip's central directory has a ``DI_CONNECT/`` folder (at the top, or one
    folder down when the owner re-zipped the unpacked export). Reads no member."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = (name.replace("\\", "/") for name in archive.namelist())
            return any(name.startswith("DI_CONNECT/") or "/DI_CONNECT/" in name for name in names)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def iter_export(
    path: Path,
    *,
    limits: ArchiveLimits = _DEFAULT_LIMITS,
) -> Iterator[FitMember | WellnessBatch | ActivitySummaries | Notice]:
    """Yield the FIT files (one at a time), the daily wellness and the activity summaries of a
    Garmin export, with notices for what was skipped.

    Raises ``SourceDataError`` for an archive that is not a zip, is empty or is hostile
    (``zip_corrupt``, ``zip_empty``, ``zip_bomb``). A damaged member, a malformed JSON file or an
    oversized file is reported with a notice and the rest of the export is still read.
    """
    skipped: dict[str, list] = {}  # format → [count, first name]
    for item in iter_members(path, limits=limits):
        if isinstance(item, Notice):
            yield item
            continue
        name = item.name
        base = name.rsplit("/", 1)[-1]
        extension = base.rsplit(".", 1)[-1].lower() if "." in base else ""
        try:
            if extension == "fit":
                if item.size > MAX_FIT_BYTES:
                    yield _too_large(name, MAX_FIT_BYTES)
                else:
                    yield FitMember(name=name, data=item.read())
            elif extension in _OTHER_ACTIVITY_FORMATS or _UPLOADS_FOLDER in name.lower():
                entry = skipped.setdefault(extension or "none", [0, name])
                entry[0] += 1
            elif extension == "json" and (kind := _json_kind(base)) is not None:
                yield from _json_file(item, kind)
        except SourceDataError as error:
            if error.code != "zip_member_corrupt":
                raise
            yield Notice("zip_member_corrupt", {"name": name})
    for extension, (count, first) in sorted(skipped.items()):
        yield Notice(
            "garmin_export_skipped",
            {"name": first, "reason": "format", "format": extension, "count": count},
        )


def _json_kind(base: str) -> str | None:
    for pattern, kind in _JSON_KINDS:
        if pattern.search(base):
            return kind
    return None


def _too_large(name: str, limit: int) -> Notice:
    return Notice(
        "garmin_export_skipped",
        {"name": name, "reason": "too_large", "limit_mb": limit // (1024 * 1024)},
    )


def _json_file(member: Member, kind: str) -> Iterator[WellnessBatch | ActivitySummaries | Notice]:
    if member.size > MAX_JSON_BYTES:
        yield _too_large(member.name, MAX_JSON_BYTES)
        return
    data = member.read()
    try:
        payload = json.loads(data)  # bytes: UTF-8 with or without a BOM
        if kind == "summaries":
            activities, unusable = mapper.activity_summaries(payload)
        else:
            days = mapper.WELLNESS_PARSERS[kind](payload)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, BadShape
        yield Notice("garmin_export_bad_json", {"name": member.name})
        return
    if kind == "summaries":
        if activities:
            yield ActivitySummaries(name=member.name, activities=activities)
        if unusable:
            yield Notice(
                "garmin_export_skipped",
                {"name": member.name, "reason": "incomplete", "count": unusable},
            )
    elif days:
        yield WellnessBatch(name=member.name, days=days)
