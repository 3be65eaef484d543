"""Strava's bulk export ZIP ("Download or Delete Your Account" → "Request your archive").

The owner requests it on strava.com (Settings → My Account → Download or Delete Your Account →
Get Started → Request your archive); Strava mails a link to a ZIP that holds ``activities.csv``
at its root, the original activity files under ``activities/`` and much else (profile, media,
routes, segments, clubs, other CSVs) that is not read. It is the owner's own data: nothing here
touches Strava's API, so the API agreement's limits on API data do not apply to it.

This adapter reads the ZIP through ``app.sources.archive`` (limits, hostile names) and yields:

- :class:`ActivityFile` — a row of activities.csv whose original file is in the archive, the
  file decompressed; :func:`decode_activity_file` (pure, picklable, run in a worker) turns it
  into a ``DecodedFile``;
- :class:`SummaryBatch` — every other row (manual entries without a file, files missing,
  damaged, too large or of an unknown format) as summary-only activities from the CSV;
- ``Notice`` — what was skipped (see "Notices" below).

Every activity has source ``"strava_export"`` and ``external_id`` = the Strava activity id (a
string), so a later Strava API sync can recognise it (the extra legs of a multisport FIT file
get ``"<id>:<leg>"``).

Detection: ``activities.csv`` at the root, or one folder down (the owner unpacked the export
and zipped the folder again); the ``Filename`` column is relative to that folder.

``activities.csv`` (read with the ``csv`` module; UTF-8 with or without a BOM; descriptions may
hold quoted newlines). Real exports repeat header names: the first block (``Activity ID``,
``Activity Date``, ``Activity Name``, ``Activity Type``, ``Activity Description``, ``Elapsed
Time``, ``Distance``, ``Max Heart Rate``, ``Relative Effort``, ``Commute``, …, ``Filename``) is
what Strava shows, in the owner's display unit; a later block repeats ``Elapsed Time``,
``Distance``, ``Max Heart Rate``… in SI units (seconds, metres), followed by ``Moving Time``,
``Elevation Gain``, ``Average Heart Rate``, ``Average Watts``, ``Calories`` and more. Columns
are addressed by header *position*, never with ``DictReader`` (which keeps only the last
duplicate):

- every field is read from the **last** column of its name that holds a value in the row, so
  the SI block wins where present and the first block fills in where it is empty (both
  ``Elapsed Time`` columns are seconds, both ``Max Heart Rate`` columns bpm);
- ``Distance`` is the exception, because the first column is in km *or miles* and the file
  does not say which: with two or more ``Distance`` columns only the later (metres) ones are
  read; an old export with a single ``Distance`` column is read as kilometres and a
  ``strava_export_distance_km`` notice says so;
- ``Activity Date`` is UTC, written like ``Mar 2, 2019, 7:14:03 AM`` (English month names;
  ``YYYY-MM-DD HH:MM:SS`` and ISO 8601 are accepted too). A row whose date matches none of
  these, or without a numeric ``Activity ID``, is skipped and counted in one
  ``strava_export_rows_skipped`` notice (an export made in another language may write dates
  differently: switching Strava to English and requesting the archive again fixes that);
- ``Activity Type`` is the display name (``Ride``, ``Virtual Ride``, ``E-Bike Ride``,
  ``Weight Training``, ``Stair-Stepper``…): spaces and hyphens are removed and the result is
  mapped with the Strava API adapter's ``sport_of`` (unknown types become ``generic``; the
  original is kept in ``extras["strava_activity_type"]``);
- ``Elapsed Time``/``Moving Time`` (s), ``Elevation Gain``/``Elevation Loss`` (m),
  ``Average Heart Rate``/``Max Heart Rate`` (bpm), ``Average Watts``/``Max Watts`` (W),
  ``Average Cadence``, ``Average Speed`` (m/s), ``Calories`` (kcal) → the matching ``Activity``
  fields (0 heart rate, power, cadence or calories = not recorded);
  ``Activity Description``, ``Activity Gear``, ``Commute``, ``Relative Effort``, ``Max Speed``,
  ``Weighted Average Power``, ``Perceived Exertion`` → ``extras["strava_…"]``;
- ``Filename`` (``activities/1234567890.fit.gz``; empty for manual entries) names the original.

Original files: ``.fit``, ``.gpx``, ``.tcx``, each possibly gzip-compressed (``.fit.gz``…).
A ``.gz`` is inflated in memory, its real output held to the archive's ratio and total limits
(beyond them the whole archive is refused as ``zip_bomb``, as for the zip itself) and to
128 MB per file (beyond that the file is skipped with a notice). FIT files are decoded by the
FIT adapter, GPX tracks by the Apple Health adapter's GPX parser (positions, altitude). There
is no TCX decoder yet: a TCX file is kept in the raw store and its row is imported from the
CSV (``strava_export_tcx_summary``). The activity name from the CSV wins over the file's (the
owner may have renamed it on Strava), and so does a known CSV sport; values the file lacks are
filled from the CSV.

Notices (besides the archive's own ``zip_*`` notices, see ``app.sources.archive``):
``strava_export_rows_skipped`` ``{"count", "reason": "no_id"|"date"}``;
``strava_export_distance_km`` (no params); ``strava_export_file_missing`` ``{"count", "name"}``
(rows whose file is not in the archive, ``name`` = the first); ``strava_export_file_unreadable``
``{"name", "error"}`` (a damaged member, a bad gzip stream, a FIT/GPX file that does not decode
or holds no activity); ``strava_export_file_skipped`` ``{"name", "reason": "format", "format"}``
or ``{"name", "reason": "too_large", "limit_mb"}``; ``strava_export_tcx_summary`` ``{"name"}``.
Each of these keeps the row's CSV summary. Errors: ``strava_export_bad_csv`` (activities.csv is
empty, malformed or lacks ``Activity ID``/``Activity Date``): nothing is imported.
"""

from app.sources.archive import ArchiveLimits
from app.sources.strava_export.mapper import (
    SOURCE,
    ActivityFile,
    ExportRow,
    decode_activity_file,
    parse_activities_csv,
    parse_date,
    sport_of_type,
)
from app.sources.strava_export.reader import (
    SummaryBatch,
    export_prefix,
    is_strava_export,
    iter_export,
)

__all__ = [
    "SOURCE",
    "ActivityFile",
    "ArchiveLimits",
    "ExportRow",
    "SummaryBatch",
    "decode_activity_file",
    "export_prefix",
    "is_strava_export",
    "iter_export",
    "parse_activities_csv",
    "parse_date",
    "sport_of_type",
]
