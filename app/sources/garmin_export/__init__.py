"""Garmin Connect "Export Your Data" (the GDPR export ZIP): activities and daily wellness.

Garmin prepares the archive on request (Account → Data Management → Export Your Data) and mails
a link days or weeks later. This adapter reads it through ``app.sources.archive`` (limits, nested
zips, hostile names) and yields, one at a time:

- :class:`FitMember` — every ``.fit`` file, wherever it sits (the FIT adapter decodes it and
  tells activities from monitoring/sleep/weight files);
- :class:`WellnessBatch` — the days one JSON file carries, as ``DailyWellness`` with source
  ``"garmin_export"``;
- :class:`ActivitySummaries` — Garmin's own summary of every activity, with its Garmin id;
- ``Notice`` — what was skipped (see "Notices" below).

Structure of the export, as read in public importers of real exports (field names and units
below come from them; nothing was copied):
arpanghosh8453/garmin-grafana ``garmin_bulk_importer.py``; james-langridge/garmin-export-parser;
several personal importers whose code documents the author's own export (DuckDB/pandas loaders
of ``UDSFile``/``sleepData``/``healthStatusData``/``MetricsMaxMetData``, a ``userBioMetrics``
weigh-in loader, summarizedActivities normalisers stating "distance cm, duration ms, avgSpeed
(m/s)/10, elevation cm"), and garth's recorded Garmin Connect API responses (same DTOs as the
export files, e.g. ``TrainingReadinessDTO``) in ``shared/fixtures/garmin-connect/garth``.

``DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip`` (``_Part2.zip``…)
    Nested zips holding the original uploads, flat, named like ``<email>_<activityId>.fit``
    (also ``*_ACTIVITY.fit``); besides activities they hold monitoring, sleep and weight FIT
    files and, for older or third-party uploads, ``.tcx``/``.gpx``. FIT files are yielded as
    bytes; other formats are counted and reported (one notice per format).

``DI_CONNECT/DI-Connect-Fitness/<user>_<n>_summarizedActivities.json``
    ``[{"summarizedActivitiesExport": [activity, …]}]``. Per activity: ``activityId`` →
    ``external_id``; ``activityType`` (a type key string; a ``{"typeKey": …}`` object in API
    dumps) → FIT ``sport``/``sub_sport`` (``app.sources.garmin.sports``); ``startTimeGmt`` (epoch
    ms, UTC; else ``beginTimestamp``) → ``start``; ``startTimeLocal`` (epoch ms of the local
    wall-clock time) → ``local_start`` (naive wall clock); ``duration`` (ms, timer time) →
    ``moving_s``, ``elapsedDuration`` (ms) → ``elapsed_s``, ``movingDuration`` (ms) →
    ``extras``; ``distance`` (**cm**) → m; ``elevationGain``/``elevationLoss`` (**cm**) → m;
    ``avgSpeed``/``maxSpeed`` (**(m/s)/10**, i.e. cm/ms) → m/s; ``calories`` (kcal);
    ``avgHr``/``maxHr`` (bpm); ``avgPower``/``maxPower``/``normPower`` (W); ``avgRunCadence``
    (steps per minute per foot, as FIT stores it; ``avgDoubleCadence`` is both feet),
    ``avgBikeCadence`` (rpm), ``avgSwimCadence`` (strokes/min) → ``avg_cadence``;
    ``avgStrideLength`` (cm), ``activityTrainingLoad``, ``aerobicTrainingEffect``,
    ``vO2MaxValue``, ``steps``, ``lapCount``, ``parentId`` → ``extras``.

``DI_CONNECT/DI-Connect-Wellness/<from>_<to>_<profileId>_sleepData.json`` (~100 days a file)
    One object per night; ``calendarDate`` is the day the sleep ends. ``deepSleepSeconds``,
    ``lightSleepSeconds``, ``remSleepSeconds``, ``awakeSleepSeconds`` (s) → ``sleep_deep_s``,
    ``sleep_light_s``, ``sleep_rem_s``, ``sleep_awake_s``; ``sleep_s`` is ``sleepTimeSeconds``
    when present, else deep + light + REM (Garmin ships the stages, not the total;
    ``unmeasurableSeconds`` is not sleep); ``sleepScores.overallScore`` (older files
    ``sleepScores.overall.value``) → ``sleep_score``; ``averageRespiration`` (breaths/min) →
    ``respiratory_rate``. Objects without ``calendarDate`` (``{"retro": false}``) are
    placeholders; naps (``napList``) are not nights and are ignored.
    ``sleepStartTimestampGMT``/``sleepEndTimestampGMT`` are GMT ISO strings (``…T21:25:10.0``).

``DI_CONNECT/DI-Connect-Aggregator/UDSFile_<from>_<to>.json`` (~100 days a file)
    The daily summary. ``restingHeartRate`` (else ``currentDayRestingHeartRate``) →
    ``resting_hr``; ``totalSteps`` → ``steps``; ``activeKilocalories`` → ``active_kcal``;
    ``allDayStress.aggregatorList[type == "TOTAL"].averageStressLevel`` (0-100; -1/-2 mean no
    data) → ``stress_avg``; ``bodyBattery.bodyBatteryStatList[bodyBatteryStatType ==
    "HIGHEST"/"LOWEST"].statsValue`` → ``body_battery_high``/``_low``; ``averageSpo2Value``
    (%) → ``spo2_avg``. Days with ``includesWellnessData: false`` (watch not worn) and
    hydration-only wrappers are skipped.

``DI_CONNECT/DI-Connect-Wellness/<from>_<to>_<profileId>_healthStatusData.json``
    ``metrics: [{type: "HRV"|"HR"|"SPO2"|"SKIN_TEMP_C"|"RESPIRATION", value, baseline…}]`` per
    ``calendarDate``; the HRV value (overnight average, ms; Garmin's HRV is rMSSD-based) →
    ``hrv_rmssd_ms``. Garmin's export has no other per-night HRV file.

``DI_CONNECT/DI-Connect-Metrics/MetricsMaxMetData_<yyyymmdd>_<yyyymmdd>_<profileId>.json``
    ``calendarDate``, ``sport`` (RUNNING, CYCLING; GENERIC/absent = running), ``vo2MaxValue``
    (ml/kg/min; ``vo2MaxPreciseValue`` when present), ``updateTimestamp`` (latest per day wins)
    → ``vo2max_running``/``vo2max_cycling``.

``DI_CONNECT/DI-Connect-Metrics/TrainingReadinessDTO_<yyyymmdd>_<yyyymmdd>_<profileId>.json``
    Several objects per ``calendarDate`` (recomputed after waking, after workouts, during the
    day): ``score`` (0-100) of the ``inputContext == "AFTER_WAKEUP_RESET"`` one (else the
    earliest ``timestamp``) → ``training_readiness``.

``DI_CONNECT/DI-Connect-Wellness/<profileId>_userBioMetrics.json`` (older exports:
``DI_CONNECT/DI-Connect-User/user_biometrics.json``)
    ``[{"metaData": {"calendarDate": "2024-03-01T00:00:00.0", …}, "weight": {"weight": grams,
    "bodyFat": %, "timestampGMT": …, "sourceType": "INDEX_SCALE"|"MANUAL"…}, …}]`` →
    ``weight_kg`` (**grams ÷ 1000**) and ``body_fat_pct`` (0 = no reading); the last weigh-in
    of a day counts. (The same file also carries ``vo2MaxRunning``/``vo2MaxCycling`` and
    height; VO2max is taken from ``MetricsMaxMetData`` only, so every field has one file.)

Not read (no field for them yet): ``HydrationLogFile_*.json`` (hydration, ml), ``*_fitnessAgeData``
(a VO2max *estimate* from BMI and resting HR), ``MetricsAcuteTrainingLoad_*``,
``TrainingHistory_*``, ``RunRacePredictions_*``, ``EnduranceScore_*``, ``HillScore_*``, gear,
personal records, golf, courses, ``customer_data/``.

Days are Garmin's ``calendarDate`` (already the owner's local date); a ``calendarDate`` given as
epoch milliseconds (some metrics files) is read as that UTC midnight's date.

Notices (besides the archive's own ``zip_*`` notices, see ``app.sources.archive``):
``garmin_export_skipped`` ``{"name", "reason": "format", "format", "count"}`` (one per
non-FIT upload format, ``name`` = the first such file), ``{"name", "reason": "too_large",
"limit_mb"}`` (FIT above 128 MB, JSON above 256 MB), ``{"name", "reason": "incomplete",
"count"}`` (activity summaries without id or start time); ``garmin_export_bad_json``
``{"name"}`` (not JSON, or not shaped like the file its name announces); ``zip_member_corrupt``
``{"name"}`` (a member failed its CRC: skipped, the rest is read).
"""

from app.sources.archive import ArchiveLimits
from app.sources.garmin_export.reader import (
    ActivitySummaries,
    FitMember,
    WellnessBatch,
    is_garmin_export,
    iter_export,
)

__all__ = [
    "ActivitySummaries",
    "ArchiveLimits",
    "FitMember",
    "WellnessBatch",
    "is_garmin_export",
    "iter_export",
]
