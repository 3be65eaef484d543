"""Apple Health export adapter: ``export.xml`` (and its workout-route GPX files) → records.

``parse_export(source, *, open_member=None, chunk_rows=50_000)`` streams, in one pass and
constant memory, the binary stream of ``export.xml`` into:

- ``Activity`` per ``Workout`` (source ``apple_health``): sport and sub-sport in FIT names,
  ``start`` (UTC) and ``local_start`` (naive wall-clock time at the date's own offset), elapsed
  time from ``duration``, distance and calories from the totals or the ``WorkoutStatistics``,
  average/max heart rate and power, ascent from ``HKElevationAscended``, the ``sourceName`` as
  device, ``external_id`` = SHA-256 of type|start|end|sourceName, and the GPX route as samples
  (time, lat, lon, altitude, speed) when ``open_member("workout-routes/….gpx")`` provides it;
- ``HealthSeries`` chunks of at most ``chunk_rows`` rows per metric and device (``sourceName``),
  sorted by time, one row per time: ``heart_rate`` (bpm), ``resting_hr`` (bpm), ``hrv_sdnn_ms``
  (SDNN — not rMSSD), ``respiratory_rate`` (breaths/min), ``spo2`` (%), ``running_power`` and
  ``cycling_power`` (W), ``vo2max`` (ml/kg/min), ``weight_kg``, ``body_fat_pct`` (%),
  ``steps`` (with ``end_time``) and ``sleep_stage`` (with ``end_time``; codes in
  :mod:`.mapper`: 0 in bed, 1 asleep unspecified, 2 awake, 3 core/light, 4 deep, 5 REM);
- ``DailyWellness`` per local date (the record's own offset), after the series;
- ``Notice`` at the end: ``apple_health_skipped_types`` {types, records} for record types we do
  not import, ``apple_health_invalid_records`` {records} for records skipped because of a
  non-numeric value, an unknown or missing unit or a date without offset,
  ``apple_health_routes_missing`` / ``apple_health_routes_unreadable`` {routes}.

Errors (``SourceDataError.code``): ``apple_health_not_export`` (not XML, empty, or a root other
than ``HealthData``), ``xml_malformed`` with ``line`` (truncated or broken markup, undefined
entity — raised mid-stream, so the caller rolls back the whole file), ``xml_entities`` (the file
declares entities: XXE, billion laughs). Nothing is ever fetched from the network.

Parser choice, measured on a generated 214 MB iOS-16-style export (``tests/bench/
gen_apple_health.py``) on the 2-core development VM, sanitizer included, best of three:
pyexpat with no handlers at all 101 MB/s, with an empty start handler 77 MB/s, with the record
work 65 MB/s; ``lxml.etree.iterparse`` with a tag filter 69 MB/s before any work; an lxml parser
target with an empty start handler 111 MB/s, with the same record work 87 MB/s. Hence the
target, plus batched numpy conversion of dates and values (per-record ``int()``/slicing cost
more than the XML parsing). Whole parser on a generated 488 MB export: 78-80 MB/s, peak RSS
57 MB (``.scratch``-style runner: iterate ``parse_export`` over the file, count the outputs).
"""

from app.sources.apple_health.gpx import parse_gpx
from app.sources.apple_health.mapper import SERIES_METRICS, SLEEP_STAGES
from app.sources.apple_health.parser import parse_export

__all__ = ["SERIES_METRICS", "SLEEP_STAGES", "parse_export", "parse_gpx"]
