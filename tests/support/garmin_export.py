"""Build a ZIP shaped like Garmin Connect's "Export Your Data" archive, for tests and benchmarks.

Folder and file names, JSON shapes, field names and units follow the real export as documented
in ``app.sources.garmin_export`` (its module docstring lists the sources). Files are chunked the
way Garmin chunks them: daily files cover 100 days each, uploads are split across
``UploadedFiles_0-_Part<n>.zip`` nested zips.

``days`` items are plain dicts; every key but ``date`` is optional and lands in the file Garmin
keeps it in, in Garmin's units:

================== ======================================= ====================================
key                file                                    field (unit)
================== ======================================= ====================================
date               every daily file                        ``calendarDate`` (a ``datetime.date``)
resting_hr         UDSFile                                 ``restingHeartRate`` (bpm)
steps              UDSFile                                 ``totalSteps``
active_kcal        UDSFile                                 ``activeKilocalories``
stress_avg         UDSFile                                 ``allDayStress`` TOTAL average
body_battery_high  UDSFile                                 ``bodyBattery`` HIGHEST statsValue
body_battery_low   UDSFile                                 ``bodyBattery`` LOWEST statsValue
spo2_avg           UDSFile                                 ``averageSpo2Value`` (%)
sleep_s            sleepData                               split 20 % deep / 55 % light / 25 %
                                                           REM when no stage key is given
deep_s, light_s,   sleepData                               ``deepSleepSeconds``… (s)
rem_s, awake_s
sleep_score        sleepData                               ``sleepScores.overallScore``
respiratory_rate   sleepData                               ``averageRespiration`` (breaths/min)
hrv_rmssd_ms       healthStatusData                        metric ``HRV`` value (ms)
vo2max_running     MetricsMaxMetData                       ``vo2MaxValue``, sport RUNNING
vo2max_cycling     MetricsMaxMetData                       ``vo2MaxValue``, sport CYCLING
training_readiness TrainingReadinessDTO                    ``score`` of the AFTER_WAKEUP_RESET
                                                           record (a later post-exercise record
                                                           with a lower score is added too)
weight_kg          userBioMetrics                          ``weight.weight`` (grams)
body_fat_pct       userBioMetrics                          ``weight.bodyFat`` (%)
================== ======================================= ====================================

``activities`` items are dicts written to ``summarizedActivities.json``: ``activity_id`` (int,
required), ``start`` (aware UTC datetime, required), ``sport`` (Garmin type key, default
"running"), ``name``, ``utc_offset_s`` (local minus UTC, default 0), ``timer_s``, ``elapsed_s``,
``moving_s``, ``distance_m``, ``ascent_m``, ``descent_m``, ``calories``, ``avg_hr``, ``max_hr``,
``avg_power``, ``max_power``, ``avg_cadence`` (per foot for running, rpm for cycling),
``avg_speed``/``max_speed`` (m/s). They are written in Garmin's units: ms, cm, (m/s)/10.

``fit_files`` are ``(name, bytes)`` pairs stored flat in the Uploaded-Files zips; a name that is
not ``.fit`` (``.tcx``, ``.gpx``) is stored the same way, as Garmin does for such uploads.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

USER = "athlete@example.com"
PROFILE_ID = 987654321
CHUNK_DAYS = 100


def build_export(
    path: Path,
    *,
    fit_files: Iterable[tuple[str, bytes]],
    days: Iterable[dict],
    activities: Iterable[dict] = (),
    uploads_per_part: int = 1000,
) -> None:
    """Write the export ZIP to ``path`` (see the module docstring for the inputs)."""
    day_list = sorted(days, key=lambda d: d["date"])
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("customer_data/customer.json", json.dumps({"userProfileId": PROFILE_ID}))
        _write_uploads(archive, fit_files, uploads_per_part)
        _write_summaries(archive, list(activities))
        for chunk in _chunks(day_list):
            first, last = chunk[0]["date"], chunk[-1]["date"]
            span = f"{first.isoformat()}_{last.isoformat()}"
            compact = f"{first:%Y%m%d}_{last:%Y%m%d}"
            wellness = "DI_CONNECT/DI-Connect-Wellness"
            metrics = "DI_CONNECT/DI-Connect-Metrics"
            aggregator = "DI_CONNECT/DI-Connect-Aggregator"
            _json(archive, f"{aggregator}/UDSFile_{span}.json", [_uds(d) for d in chunk])
            _json(
                archive,
                f"{aggregator}/HydrationLogFile_{span}.json",
                [{"calendarDate": first.isoformat(), "valueInML": 500.0, "activityId": None}],
            )
            _json(
                archive,
                f"{wellness}/{span}_{PROFILE_ID}_sleepData.json",
                [_sleep(d) for d in chunk if _has_sleep(d)],
            )
            _json(
                archive,
                f"{wellness}/{span}_{PROFILE_ID}_healthStatusData.json",
                [_health_status(d) for d in chunk if "hrv_rmssd_ms" in d],
            )
            _json(
                archive,
                f"{metrics}/MetricsMaxMetData_{compact}_{PROFILE_ID}.json",
                [r for d in chunk for r in _max_met(d)],
            )
            _json(
                archive,
                f"{metrics}/TrainingReadinessDTO_{compact}_{PROFILE_ID}.json",
                [r for d in chunk if "training_readiness" in d for r in _readiness(d)],
            )
        _json(
            archive,
            f"DI_CONNECT/DI-Connect-Wellness/{PROFILE_ID}_userBioMetrics.json",
            [_biometrics(d) for d in day_list if "weight_kg" in d],
        )


def _chunks(days: list[dict]) -> Iterator[list[dict]]:
    """Consecutive 100-day windows from the first day, as Garmin names its daily files."""
    if not days:
        return
    start = days[0]["date"]
    window: list[dict] = []
    for day in days:
        if window and (day["date"] - start).days >= CHUNK_DAYS:
            yield window
            window, start = [], day["date"]
        window.append(day)
    yield window


def _json(archive: zipfile.ZipFile, name: str, payload: Any) -> None:
    """Garmin writes a daily file only when it has something for it."""
    if payload:
        archive.writestr(name, json.dumps(payload))


def _write_uploads(
    archive: zipfile.ZipFile, fit_files: Iterable[tuple[str, bytes]], per_part: int
) -> None:
    """One nested ``UploadedFiles_0-_Part<n>.zip`` per ``per_part`` files, built in a temporary
    file so a benchmark-sized export never sits in memory."""
    files = iter(fit_files)
    part = 0
    while (head := next(files, None)) is not None:
        part += 1
        group = itertools.chain([head], itertools.islice(files, per_part - 1))
        with tempfile.TemporaryFile() as spool:
            with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as inner:
                for name, data in group:
                    inner.writestr(name, data)
            spool.seek(0)
            info = zipfile.ZipInfo(
                f"DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part{part}.zip",
                date_time=(2024, 1, 1, 0, 0, 0),
            )
            info.compress_type = zipfile.ZIP_STORED  # already compressed
            with archive.open(info, "w", force_zip64=True) as target:
                shutil.copyfileobj(spool, target, 1024 * 1024)


def _has_sleep(day: dict) -> bool:
    return any(k in day for k in ("sleep_s", "deep_s", "light_s", "rem_s", "sleep_score"))


def _gmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.0")


def _millis(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _uds(day: dict) -> dict:
    d: date = day["date"]
    record: dict[str, Any] = {
        "userProfilePK": PROFILE_ID,
        "calendarDate": d.isoformat(),
        "uuid": f"{PROFILE_ID}-{d:%Y%m%d}",
        "wellnessStartTimeGmt": _gmt(datetime.combine(d, time(0, 0), UTC)),
        "wellnessEndTimeGmt": _gmt(datetime.combine(d, time(23, 59), UTC)),
        "includesWellnessData": True,
        "includesActivityData": False,
        "totalKilocalories": 2200.0,
        "bmrKilocalories": 1700.0,
        "dailyStepGoal": 8000,
    }
    for key, field in (
        ("resting_hr", "restingHeartRate"),
        ("steps", "totalSteps"),
        ("active_kcal", "activeKilocalories"),
        ("spo2_avg", "averageSpo2Value"),
    ):
        if key in day:
            record[field] = day[key]
    if "resting_hr" in day:
        record["minHeartRate"] = day["resting_hr"] - 3
        record["currentDayRestingHeartRate"] = day["resting_hr"] + 1
    if "stress_avg" in day:
        record["allDayStress"] = {
            "calendarDate": d.isoformat(),
            "aggregatorList": [
                {"type": "TOTAL", "averageStressLevel": day["stress_avg"], "maxStressLevel": 90},
                {"type": "AWAKE", "averageStressLevel": day["stress_avg"] + 5},
                {"type": "ASLEEP", "averageStressLevel": -2},
            ],
        }
    if "body_battery_high" in day or "body_battery_low" in day:
        stats = [
            {"bodyBatteryStatType": "STARTOFDAY", "statsValue": 40},
            {"bodyBatteryStatType": "MOSTRECENT", "statsValue": 33},
        ]
        if "body_battery_high" in day:
            stats.append({"bodyBatteryStatType": "HIGHEST", "statsValue": day["body_battery_high"]})
        if "body_battery_low" in day:
            stats.append({"bodyBatteryStatType": "LOWEST", "statsValue": day["body_battery_low"]})
        record["bodyBattery"] = {
            "chargedValue": 50,
            "drainedValue": 45,
            "bodyBatteryStatList": stats,
        }
    record["respiration"] = {"avgWakingRespirationValue": 15.0, "highestRespirationValue": 20.0}
    return record


def _sleep(day: dict) -> dict:
    d: date = day["date"]
    deep, light, rem = day.get("deep_s"), day.get("light_s"), day.get("rem_s")
    if deep is None and light is None and rem is None and "sleep_s" in day:
        total = int(day["sleep_s"])
        deep, rem = total * 20 // 100, total * 25 // 100
        light = total - deep - rem
    awake = day.get("awake_s", 0)
    asleep = sum(v for v in (deep, light, rem) if v is not None)
    end = datetime.combine(d, time(6, 30), UTC)
    start = end - timedelta(seconds=asleep + awake)
    record: dict[str, Any] = {
        "calendarDate": d.isoformat(),
        "sleepStartTimestampGMT": _gmt(start),
        "sleepEndTimestampGMT": _gmt(end),
        "sleepWindowConfirmationType": "ENHANCED_CONFIRMED_FINAL",
        "deepSleepSeconds": deep,
        "lightSleepSeconds": light,
        "remSleepSeconds": rem,
        "awakeSleepSeconds": awake,
        "unmeasurableSeconds": 0,
        "awakeCount": 1,
        "restlessMomentCount": 30,
        "retro": False,
    }
    if "respiratory_rate" in day:
        record["averageRespiration"] = day["respiratory_rate"]
        record["lowestRespiration"] = day["respiratory_rate"] - 3
    if "sleep_score" in day:
        record["sleepScores"] = {
            "overallScore": day["sleep_score"],
            "qualityScore": day["sleep_score"] - 2,
            "durationScore": 80,
            "feedback": "POSITIVE_DEEP",
        }
    return record


def _health_status(day: dict) -> dict:
    return {
        "calendarDate": day["date"].isoformat(),
        "metrics": [
            {
                "type": "HRV",
                "value": day["hrv_rmssd_ms"],
                "status": "IN_RANGE",
                "baselineLowerLimit": 40,
                "baselineUpperLimit": 70,
            },
            {"type": "HR", "value": 50.0, "status": "IN_RANGE"},
            {"type": "SKIN_TEMP_C", "value": -0.2, "status": "IN_RANGE"},
        ],
    }


def _max_met(day: dict) -> list[dict]:
    records = []
    for key, sport in (("vo2max_running", "RUNNING"), ("vo2max_cycling", "CYCLING")):
        if key in day:
            records.append(
                {
                    "userProfilePK": PROFILE_ID,
                    "calendarDate": day["date"].isoformat(),
                    "sport": sport,
                    "subSport": "GENERIC",
                    "vo2MaxValue": day[key],
                    "maxMet": day[key] / 3.5,
                    "fitnessAge": "35",
                    "calibratedData": False,
                    "updateTimestamp": _gmt(datetime.combine(day["date"], time(18, 0))),
                }
            )
    return records


def _readiness(day: dict) -> list[dict]:
    d: date = day["date"]
    morning = datetime.combine(d, time(5, 45), UTC)
    base = {"userProfilePK": PROFILE_ID, "calendarDate": d.isoformat(), "validSleep": True}
    return [
        {
            **base,
            "timestamp": _gmt(morning + timedelta(hours=9)),
            "timestampLocal": _gmt(morning + timedelta(hours=9)),
            "score": max(0, day["training_readiness"] - 30),
            "level": "LOW",
            "inputContext": "AFTER_POST_EXERCISE_RESET",
        },
        {
            **base,
            "timestamp": _gmt(morning),
            "timestampLocal": _gmt(morning),
            "score": day["training_readiness"],
            "level": "HIGH",
            "inputContext": "AFTER_WAKEUP_RESET",
        },
    ]


def _biometrics(day: dict) -> dict:
    d: date = day["date"]
    weight: dict[str, Any] = {
        "weight": round(day["weight_kg"] * 1000, 1),
        "timestampGMT": _gmt(datetime.combine(d, time(6, 40))),
        "sourceType": "INDEX_SCALE",
    }
    if "body_fat_pct" in day:
        weight["bodyFat"] = day["body_fat_pct"]
    return {
        "metaData": {"calendarDate": f"{d.isoformat()}T00:00:00.0", "sequence": 1},
        "weight": weight,
    }


def _write_summaries(archive: zipfile.ZipFile, activities: list[dict]) -> None:
    if not activities:
        return
    for index in range(0, len(activities), 1000):
        chunk = [_summary(a) for a in activities[index : index + 1000]]
        _json(
            archive,
            f"DI_CONNECT/DI-Connect-Fitness/{USER}_{index // 1000}_summarizedActivities.json",
            [{"summarizedActivitiesExport": chunk}],
        )


def _summary(activity: dict) -> dict:
    start: datetime = activity["start"]
    offset = activity.get("utc_offset_s", 0)
    sport = activity.get("sport", "running")
    record: dict[str, Any] = {
        "activityId": activity["activity_id"],
        "uuidMsb": 1,
        "name": activity.get("name", "Activity"),
        "activityType": sport,
        "userProfileId": PROFILE_ID,
        "timeZoneId": 124,
        "beginTimestamp": _millis(start),
        "eventTypeId": 9,
        "startTimeGmt": _millis(start),
        "startTimeLocal": _millis(start) + offset * 1000,
        "sportType": "CYCLING" if "cycl" in sport or "bik" in sport else sport.upper(),
        "deviceId": 3_469_703_076,
        "manufacturer": "GARMIN",
        "lapCount": 1,
    }
    scaled = (
        ("timer_s", "duration", 1000),
        ("elapsed_s", "elapsedDuration", 1000),
        ("moving_s", "movingDuration", 1000),
        ("distance_m", "distance", 100),
        ("ascent_m", "elevationGain", 100),
        ("descent_m", "elevationLoss", 100),
        ("avg_speed", "avgSpeed", 0.1),
        ("max_speed", "maxSpeed", 0.1),
    )
    for key, field, factor in scaled:
        if key in activity:
            record[field] = activity[key] * factor
    for key, field in (
        ("calories", "calories"),
        ("avg_hr", "avgHr"),
        ("max_hr", "maxHr"),
        ("avg_power", "avgPower"),
        ("max_power", "maxPower"),
    ):
        if key in activity:
            record[field] = activity[key]
    if "avg_cadence" in activity:
        if record["sportType"] == "CYCLING":
            record["avgBikeCadence"] = activity["avg_cadence"]
        else:
            record["avgRunCadence"] = activity["avg_cadence"]
            record["avgDoubleCadence"] = activity["avg_cadence"] * 2
    return record
