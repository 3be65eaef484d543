"""Strava export ``activities.csv`` rows and original files → our records.

The CSV layout, the duplicated headers and the date format are described in the package
docstring (``app.sources.strava_export``). Everything here is pure: text and bytes in, records
out.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.records import Activity, DecodedFile, Notice
from app.sources import SourceDataError
from app.sources.strava.mapper import sport_of

SOURCE = "strava_export"

# activities.csv "Activity Type" (a display name, "Virtual Ride", "E-Bike Ride", "Stair-Stepper")
# → the API's sport_type when squeezing out spaces and hyphens does not already give it.
_TYPE_ALIASES = {
    "Canoe": "Canoeing",
    "Kayak": "Kayaking",
    "RockClimb": "RockClimbing",
    "HIIT": "HighIntensityIntervalTraining",
    "Hiit": "HighIntensityIntervalTraining",
    "StandUpPaddle": "StandUpPaddling",
    "Ski": "AlpineSki",
}

# The English dates Strava writes ("Mar 2, 2019, 7:14:03 AM", UTC); ISO as a courtesy.
_DATE_FORMATS = (
    "%b %d, %Y, %I:%M:%S %p",
    "%b %d, %Y %I:%M:%S %p",
    "%B %d, %Y, %I:%M:%S %p",
    "%d %b %Y, %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
)
_SPACES = re.compile(r"\s+")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")

# Summary columns read into ``Activity`` fields. Each is read from the *last* column of that
# name that holds a value in the row (the SI block at the end of the header); "Distance" is
# special-cased in :func:`_distance_m`.
_FIELDS = {
    "Elapsed Time": "elapsed_s",  # seconds in both columns
    "Moving Time": "moving_s",  # seconds
    "Elevation Gain": "ascent_m",  # metres
    "Elevation Loss": "descent_m",  # metres
    "Average Heart Rate": "avg_hr",  # bpm
    "Max Heart Rate": "max_hr",  # bpm in both columns
    "Average Watts": "avg_power",  # W
    "Max Watts": "max_power",  # W
    "Average Cadence": "avg_cadence",
    "Average Speed": "avg_speed",  # m/s (SI block)
    "Calories": "calories",  # kcal
}
# Kept in ``extras`` as ``strava_<snake_case>``.
_EXTRAS = (
    "Activity Description",
    "Activity Gear",
    "Commute",
    "Relative Effort",
    "Max Speed",
    "Weighted Average Power",
    "Perceived Exertion",
)
_SUMMARY_VALUES = (*_FIELDS.values(), "distance_m")
# Zero in these means "not recorded" (Strava writes 0 for a missing heart rate or power).
_ZERO_IS_MISSING = {"avg_hr", "max_hr", "avg_power", "max_power", "avg_cadence", "calories"}


@dataclass(frozen=True)
class ExportRow:
    """One usable row of activities.csv."""

    activity_id: str
    summary: Activity  # the row as a summary-only activity (source "strava_export")
    filename: str | None  # the original file, relative to the export's root ("activities/…")


@dataclass
class ParsedCsv:
    rows: list[ExportRow] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


class _Header:
    """Column positions by header name; the same name may appear more than once."""

    def __init__(self, names: list[str]) -> None:
        self.positions: dict[str, list[int]] = {}
        for index, name in enumerate(names):
            self.positions.setdefault(_SPACES.sub(" ", name.strip()), []).append(index)

    def last(self, row: list[str], name: str) -> str | None:
        """The value of the last column called ``name`` that is not empty in ``row``."""
        for index in reversed(self.positions.get(name, [])):
            if index < len(row) and row[index].strip():
                return row[index].strip()
        return None

    def column(self, row: list[str], index: int) -> str | None:
        if index < len(row) and row[index].strip():
            return row[index].strip()
        return None


def number(text: str | None) -> float | None:
    """A finite float, or None (empty, not a number, NaN or infinite)."""
    if text is None:
        return None
    if _THOUSANDS.match(text):  # "1,234.5" (display columns of some exports)
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_date(text: str | None) -> datetime | None:
    """Read "Mar 2, 2019, 7:14:03 AM" (UTC, the format of every English export) as an aware UTC
    datetime; None when the text matches no known format."""
    if not text:
        return None
    text = _SPACES.sub(" ", text.replace("\u202f", " ").strip())  # narrow no-break space
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def sport_of_type(activity_type: str | None) -> tuple[str, str | None]:
    """FIT (sport, sub_sport) for the CSV's "Activity Type" display name."""
    key = re.sub(r"[\s\-_]", "", activity_type or "")
    return sport_of(_TYPE_ALIASES.get(key, key))


def _snake(name: str) -> str:
    return "strava_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _distance_m(header: _Header, row: list[str]) -> tuple[float | None, bool]:
    """Distance in metres and whether it was read from a lone display-unit column.

    New exports write "Distance" twice: first in the owner's display unit (km or miles, which
    the file does not say), then in metres in the SI block. Only the later columns are read.
    Older exports have one "Distance" column; it is read as kilometres (the caller says so in a
    notice)."""
    positions = header.positions.get("Distance", [])
    if len(positions) >= 2:
        for index in reversed(positions[1:]):
            value = number(header.column(row, index))
            if value is not None:
                return (value if value > 0 else None), False
        return None, False
    if positions:
        value = number(header.column(row, positions[0]))
        if value is not None and value > 0:
            return value * 1000, True
    return None, False


def parse_activities_csv(data: bytes) -> ParsedCsv:
    """Every usable row of ``activities.csv``; rows without an id or a readable date are
    counted in one ``strava_export_rows_skipped`` notice. Raises
    ``SourceDataError(code="strava_export_bad_csv")`` when the header lacks "Activity ID" or
    "Activity Date"."""
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = _Header(next(reader))
    except (StopIteration, csv.Error) as exc:
        raise SourceDataError("activities.csv is empty", code="strava_export_bad_csv") from exc
    if "Activity ID" not in header.positions or "Activity Date" not in header.positions:
        raise SourceDataError(
            "activities.csv has no Activity ID or Activity Date column",
            code="strava_export_bad_csv",
        )
    parsed = ParsedCsv()
    no_date = no_id = 0
    assumed_km = False
    seen: set[str] = set()
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            activity_id = header.last(row, "Activity ID")
            if activity_id is None or not activity_id.isdigit():
                no_id += 1
                continue
            start = parse_date(header.last(row, "Activity Date"))
            if start is None:
                no_date += 1
                continue
            if activity_id in seen:
                continue
            seen.add(activity_id)
            activity, km = _summary(header, row, activity_id, start)
            assumed_km = assumed_km or km
            filename = header.last(row, "Filename")
            parsed.rows.append(
                ExportRow(
                    activity_id=activity_id,
                    summary=activity,
                    filename=filename.replace("\\", "/").lstrip("/") if filename else None,
                )
            )
    except csv.Error as exc:
        raise SourceDataError(
            f"activities.csv is malformed: {exc}", code="strava_export_bad_csv"
        ) from exc
    if no_id:
        parsed.notices.append(
            Notice("strava_export_rows_skipped", {"count": no_id, "reason": "no_id"})
        )
    if no_date:
        parsed.notices.append(
            Notice("strava_export_rows_skipped", {"count": no_date, "reason": "date"})
        )
    if assumed_km:
        parsed.notices.append(Notice("strava_export_distance_km"))
    return parsed


def _summary(
    header: _Header, row: list[str], activity_id: str, start: datetime
) -> tuple[Activity, bool]:
    activity_type = header.last(row, "Activity Type")
    sport, sub_sport = sport_of_type(activity_type)
    values: dict[str, float | None] = {}
    for column, name in _FIELDS.items():
        value = number(header.last(row, column))
        if value is not None and (value < 0 or (value == 0 and name in _ZERO_IS_MISSING)):
            value = None
        values[name] = value
    distance, assumed_km = _distance_m(header, row)
    extras: dict[str, Any] = {"strava_activity_type": activity_type} if activity_type else {}
    for column in _EXTRAS:
        value = header.last(row, column)
        if value is not None:
            extras[_snake(column)] = value
    activity = Activity(
        source=SOURCE,
        sport=sport,
        sub_sport=sub_sport,
        start=start,
        external_id=activity_id,
        name=header.last(row, "Activity Name"),
        distance_m=distance,
        extras=extras,
        **values,
    )
    return activity, assumed_km


def with_file(summary: Activity, decoded: DecodedFile) -> list[Activity]:
    """The activities of an original file, carrying the CSV row's identity.

    The first (or only) leg gets the Strava activity id, the CSV's name (the owner may have
    renamed it on Strava) and the CSV's sport when it names one we know (the owner may have
    corrected it on Strava; the file's sub-sport is kept when the sport agrees); summary values
    the file lacks come from the CSV. Further legs of a multisport file get ``<id>:<leg>``."""
    out: list[Activity] = []
    for index, activity in enumerate(decoded.activities):
        activity.source = SOURCE
        activity.extras = {**summary.extras, **activity.extras}
        if index > 0:
            activity.external_id = f"{summary.external_id}:{index}"
            out.append(activity)
            continue
        activity.external_id = summary.external_id
        activity.name = summary.name or activity.name
        if summary.sport != "generic":
            if summary.sport != activity.sport or summary.sub_sport is not None:
                activity.sub_sport = summary.sub_sport
            activity.sport = summary.sport
        for name in _SUMMARY_VALUES:
            if getattr(activity, name) is None:
                setattr(activity, name, getattr(summary, name))
        out.append(activity)
    return out


@dataclass(frozen=True)
class ActivityFile:
    """One activity's original file out of the export (decompressed), with its CSV row."""

    name: str  # the member's name in the archive
    format: str  # "fit", "gpx" or "tcx"
    data: bytes
    summary: Activity


def summary_only(summary: Activity, *notices: Notice) -> DecodedFile:
    return DecodedFile(kind="activity", activities=[summary], notices=list(notices))


def decode_activity_file(entry: ActivityFile) -> DecodedFile:
    """Decode one original file and give it the CSV row's identity (:func:`with_file`).

    A top-level function of a picklable value, so the import service can run it in a worker
    process. Never raises for a bad file: a file that cannot be decoded (or holds no activity)
    gives the CSV summary with ``strava_export_file_unreadable``; a TCX file (no TCX decoder
    yet) gives the CSV summary with ``strava_export_tcx_summary``."""
    summary = dataclasses.replace(entry.summary, extras=dict(entry.summary.extras))
    if entry.format == "tcx":
        return summary_only(summary, Notice("strava_export_tcx_summary", {"name": entry.name}))
    try:
        if entry.format == "fit":
            from app.sources.fit import decode_fit

            decoded = decode_fit(entry.data, source=SOURCE)
        else:
            decoded = _decode_gpx(entry.data, summary)
    except SourceDataError as error:
        return summary_only(
            summary,
            Notice("strava_export_file_unreadable", {"name": entry.name, "error": error.code}),
        )
    if not decoded.activities:
        return summary_only(
            summary,
            Notice("strava_export_file_unreadable", {"name": entry.name, "error": decoded.kind}),
        )
    decoded.activities = with_file(summary, decoded)
    decoded.kind = "activity"
    return decoded


def _decode_gpx(data: bytes, summary: Activity) -> DecodedFile:
    """A GPX track (position, altitude, speed where given) on the CSV summary. Read with the
    Apple Health GPX parser: the same safe XML settings, GPX 1.1 ``trkpt`` elements."""
    from app.sources.apple_health.gpx import parse_gpx

    samples = parse_gpx(io.BytesIO(data))
    if samples is None:
        return DecodedFile(kind="gpx")
    activity = dataclasses.replace(summary, samples=samples, extras=dict(summary.extras))
    return DecodedFile(kind="activity", activities=[activity])
