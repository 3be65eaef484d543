"""Build a ZIP shaped like Strava's bulk export ("Request your archive"), for tests.

``activities.csv`` uses the header of a current export: a first block in the owner's display
units (``Distance`` in km or miles) and a later SI block that repeats ``Elapsed Time``,
``Distance`` (metres) and ``Max Heart Rate`` (see ``app.sources.strava_export``). ``rows`` items
are dicts; keys (all optional but ``id`` and ``date``):

=============== ==================================================================
id              Activity ID (int or str)
date            Activity Date: a UTC ``datetime`` (written "Mar 2, 2019, 7:14:03 AM") or text
name, type      Activity Name, Activity Type ("Ride", "Virtual Ride", "Weight Training"…)
description     Activity Description (may hold commas, quotes and newlines)
elapsed_s       both Elapsed Time columns
moving_s        Moving Time
distance_m      the SI Distance column; the display column gets km (or miles, ``miles=True``)
ascent_m        Elevation Gain
avg_hr, max_hr  Average / both Max Heart Rate columns
avg_power       Average Watts
calories        Calories
filename        Filename ("activities/123.fit.gz"), relative to the export's root
=============== ==================================================================
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from tests.support.shared import SHARED, unavailable

MODERN_HEADER = [
    "Activity ID",
    "Activity Date",
    "Activity Name",
    "Activity Type",
    "Activity Description",
    "Elapsed Time",
    "Distance",
    "Max Heart Rate",
    "Relative Effort",
    "Commute",
    "Activity Private Note",
    "Activity Gear",
    "Filename",
    "Athlete Weight",
    "Bike Weight",
    "Elapsed Time",
    "Moving Time",
    "Distance",
    "Max Speed",
    "Average Speed",
    "Elevation Gain",
    "Elevation Loss",
    "Elevation Low",
    "Elevation High",
    "Max Grade",
    "Average Grade",
    "Max Cadence",
    "Average Cadence",
    "Max Heart Rate",
    "Average Heart Rate",
    "Max Watts",
    "Average Watts",
    "Calories",
    "Max Temperature",
    "Average Temperature",
    "Relative Effort",
    "Total Work",
    "Perceived Exertion",
    "Commute",
    "From Upload",
    "Grade Adjusted Distance",
    "Media",
]
# Exports from before Strava added the SI block.
OLD_HEADER = [
    "Activity ID",
    "Activity Date",
    "Activity Name",
    "Activity Type",
    "Activity Description",
    "Elapsed Time",
    "Distance",
    "Commute",
    "Activity Gear",
    "Filename",
]


def strava_date(moment: datetime) -> str:
    """As Strava writes it, "Mar 2, 2019, 7:14:03 AM" (no leading zero on day or hour)."""
    hour = moment.hour % 12 or 12
    return (
        f"{moment:%b} {moment.day}, {moment.year}, {hour}:{moment:%M:%S} "
        f"{'AM' if moment.hour < 12 else 'PM'}"
    )


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _put(
    header: list[str], cells: list[str], name: str, value: str, occurrence: int | None
) -> None:
    """Write ``value`` into every column called ``name`` (or only its ``occurrence``-th)."""
    positions = [i for i, column in enumerate(header) if column == name]
    for position in positions if occurrence is None else [positions[occurrence]]:
        cells[position] = value


def activities_csv(
    rows: Iterable[Mapping], *, header: list[str] = MODERN_HEADER, miles: bool = False
) -> bytes:
    """activities.csv for ``rows`` (see the module docstring), UTF-8 with a BOM as Strava
    writes it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        cells = [""] * len(header)

        def put(name: str, value: str, occurrence: int | None = None) -> None:
            _put(header, cells, name, value, occurrence)  # noqa: B023 (called in this loop only)

        date = row["date"]
        put("Activity ID", str(row["id"]))
        put("Activity Date", strava_date(date) if isinstance(date, datetime) else str(date))
        put("Activity Name", row.get("name", ""))
        put("Activity Type", row.get("type", "Ride"))
        put("Activity Description", row.get("description", ""))
        put("Elapsed Time", _number(row.get("elapsed_s")))
        put("Moving Time", _number(row.get("moving_s")))
        distance = row.get("distance_m")
        if distance is not None:
            display = distance / (1609.344 if miles else 1000)
            put("Distance", f"{display:.2f}", 0)
            if header.count("Distance") > 1:
                put("Distance", _number(distance), -1)
        put("Elevation Gain", _number(row.get("ascent_m")))
        put("Average Heart Rate", _number(row.get("avg_hr")))
        put("Max Heart Rate", _number(row.get("max_hr")))
        put("Average Watts", _number(row.get("avg_power")))
        put("Calories", _number(row.get("calories")))
        put("Filename", row.get("filename", ""))
        writer.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def build_export(
    path: Path,
    *,
    rows: Iterable[Mapping],
    files: Mapping[str, bytes] = {},
    prefix: str = "",
    header: list[str] = MODERN_HEADER,
    miles: bool = False,
) -> Path:
    """Write the export ZIP: activities.csv, ``files`` (name → bytes, e.g.
    ``"activities/1.fit.gz"``) and a few files a real export holds that are not read."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(prefix + "profile.csv", "Athlete ID,Email Address\n1,a@example.com\n")
        archive.writestr(prefix + "media/1.jpg", b"\xff\xd8\xff\xe0 not a real photo")
        archive.writestr(prefix + "routes/1.gpx", b"<gpx></gpx>")
        archive.writestr(
            prefix + "activities.csv", activities_csv(rows, header=header, miles=miles)
        )
        for name, data in files.items():
            archive.writestr(prefix + name, data)
    return path


GPX = b"""<?xml version="1.0" encoding="UTF-8"?>
<gpx creator="StravaGPX" version="1.1" xmlns="http://www.topografix.com/GPX/1/1"
  xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">
 <metadata><time>2024-04-06T07:00:00Z</time></metadata>
 <trk><name>Morning Walk</name><type>walking</type><trkseg>
  <trkpt lat="37.5665" lon="126.9780"><ele>38.0</ele><time>2024-04-06T07:00:00Z</time>
   <extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>95</gpxtpx:hr></gpxtpx:TrackPointExtension>
   </extensions></trkpt>
  <trkpt lat="37.5666" lon="126.9781"><ele>38.4</ele><time>2024-04-06T07:00:01Z</time></trkpt>
  <trkpt lat="37.5667" lon="126.9782"><ele>38.9</ele><time>2024-04-06T07:00:02Z</time></trkpt>
 </trkseg></trk>
</gpx>
"""

TCX = b"""<?xml version="1.0" encoding="UTF-8"?>
<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">
 <Activities><Activity Sport="Running"><Id>2024-04-07T07:00:00Z</Id></Activity></Activities>
</TrainingCenterDatabase>
"""


# --- a sample export over two small FIT fixtures -----------------------------------------

ROOT = Path(__file__).resolve().parents[2]
_FIT_DIRS = (ROOT / "tests/fixtures/fit", SHARED / "fixtures/fit/python-fitparse")
RIDE_FIT = "elemnt-bolt-no-application-id-inside-developer-data-id.fit"  # cycling, 2017-08-21
RUN_FIT = "compressed-speed-distance.fit"  # running, 2012-02-13
RIDE_START = datetime(2017, 8, 21, 8, 18, tzinfo=UTC)
RUN_START = datetime(2012, 2, 13, 11, 16, 16, tzinfo=UTC)


def fit_fixture(name: str) -> bytes:
    """A FIT file from ``tests/fixtures/fit`` (or the shared fixtures); skips when absent, or
    fails where the shared material is required."""
    for folder in _FIT_DIRS:
        if (folder / name).is_file():
            return (folder / name).read_bytes()
    unavailable(f"the FIT fixture {name}")


def sample_rows() -> list[dict]:
    """Eight rows: FIT (gzipped and plain), GPX, TCX, a manual entry, a damaged FIT, a cut gzip
    stream and a file missing from the archive."""
    return [
        {
            "id": 101,
            "date": RIDE_START,
            "name": "Wahoo ride",
            "type": "Ride",
            "distance_m": 960.0,
            "calories": 35.0,
            "filename": "activities/101.fit.gz",
        },
        {
            "id": 102,
            "date": RUN_START,
            "name": "Track run",
            "type": "Run",
            "filename": "activities/102.fit",
        },
        {
            "id": 103,
            "date": datetime(2024, 4, 6, 7, 0, tzinfo=UTC),
            "name": "Palace walk",
            "type": "Walk",
            "distance_m": 30.0,
            "filename": "activities/103.gpx.gz",
        },
        {
            "id": 104,
            "date": datetime(2024, 4, 7, 7, 0, tzinfo=UTC),
            "name": "Old TCX run",
            "type": "Run",
            "distance_m": 5000.0,
            "filename": "activities/104.tcx.gz",
        },
        {  # a manual entry: no file
            "id": 105,
            "date": datetime(2024, 4, 8, 18, 0, tzinfo=UTC),
            "name": "Gym",
            "type": "Weight Training",
            "elapsed_s": 3600.0,
        },
        {  # its file is damaged
            "id": 106,
            "date": datetime(2024, 4, 9, 7, 0, tzinfo=UTC),
            "name": "Broken",
            "type": "Run",
            "distance_m": 8000.0,
            "filename": "activities/106.fit.gz",
        },
        {  # its file is not a gzip stream at all
            "id": 107,
            "date": datetime(2024, 4, 10, 7, 0, tzinfo=UTC),
            "type": "Ride",
            "filename": "activities/107.fit.gz",
        },
        {  # listed, but not in the archive
            "id": 108,
            "date": datetime(2024, 4, 11, 7, 0, tzinfo=UTC),
            "type": "Swim",
            "distance_m": 1500.0,
            "filename": "activities/108.fit.gz",
        },
    ]


# The files of ``sample_files()`` an import reads (sorted; the rest are missing or ignored).
SAMPLE_FILE_NAMES = (
    "activities/101.fit.gz",
    "activities/102.fit",
    "activities/103.gpx.gz",
    "activities/104.tcx.gz",
    "activities/106.fit.gz",
)


def sample_files() -> dict[str, bytes]:
    """The original files of :func:`sample_rows`, plus one no row names."""
    return {
        "activities/101.fit.gz": gz(fit_fixture(RIDE_FIT)),
        "activities/102.fit": fit_fixture(RUN_FIT),
        "activities/103.gpx.gz": gz(GPX),
        "activities/104.tcx.gz": gz(TCX),
        "activities/106.fit.gz": gz(b"\x0e\x10garbage, not a FIT file" * 20),
        "activities/107.fit.gz": b"\x1f\x8b\x08 this gzip stream is cut",
        "activities/999.fit.gz": gz(fit_fixture(RIDE_FIT)),  # no row names it: ignored
    }
