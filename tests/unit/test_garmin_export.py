"""The Garmin "Export Your Data" ZIP: FIT files out of nested zips, daily wellness and activity
summaries out of the JSON files, with exact values and units."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from app.records import Notice
from app.sources import SourceDataError
from app.sources.archive import ArchiveLimits
from app.sources.garmin_export import (
    ActivitySummaries,
    FitMember,
    WellnessBatch,
    is_garmin_export,
    iter_export,
    reader,
)
from tests.support.garmin_export import build_export
from tests.support.shared import SHARED, unavailable

ROOT = Path(__file__).resolve().parents[2]
_FIT_DIRS = (ROOT / "tests/fixtures/fit", SHARED / "fixtures/fit/python-fitparse")
UPLOADS = "DI_CONNECT/DI-Connect-Uploaded-Files"


def _fit_fixtures(count: int) -> list[tuple[str, bytes]]:
    for folder in _FIT_DIRS:
        files = sorted(folder.glob("*.fit"), key=lambda p: p.stat().st_size)
        if files:
            return [
                (f"{1000 + i}_ACTIVITY.fit", p.read_bytes()) for i, p in enumerate(files[:count])
            ]
    unavailable("a FIT fixture")


def _export(tmp_path: Path, **kwargs) -> Path:
    path = tmp_path / "garmin.zip"
    kwargs.setdefault("fit_files", [])
    kwargs.setdefault("days", [])
    build_export(path, **kwargs)
    return path


def _zip(tmp_path: Path, files: dict[str, bytes | str | list | dict]) -> Path:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            if isinstance(content, list | dict):
                content = json.dumps(content)
            archive.writestr(name, content)
    return path


def _wellness(items) -> dict[date, dict[str, float]]:
    merged: dict[date, dict[str, float]] = {}
    for item in items:
        if isinstance(item, WellnessBatch):
            for day in item.days:
                assert day.source == "garmin_export"
                merged.setdefault(day.day, {}).update(day.values)
    return merged


def _of(items, kind):
    return [item for item in items if isinstance(item, kind)]


# --- FIT files --------------------------------------------------------------------------------


def test_fit_files_come_out_of_every_uploaded_files_part(tmp_path):
    fits = _fit_fixtures(3)
    path = _export(tmp_path, fit_files=fits, uploads_per_part=2)
    members = _of(list(iter_export(path)), FitMember)
    assert [(m.name, m.data) for m in members] == [
        (f"{UPLOADS}/UploadedFiles_0-_Part1.zip!/{fits[0][0]}", fits[0][1]),
        (f"{UPLOADS}/UploadedFiles_0-_Part1.zip!/{fits[1][0]}", fits[1][1]),
        (f"{UPLOADS}/UploadedFiles_0-_Part2.zip!/{fits[2][0]}", fits[2][1]),
    ]


def test_fit_files_are_read_one_at_a_time(tmp_path, monkeypatch):
    path = _export(tmp_path, fit_files=_fit_fixtures(3))
    reads = []
    original = reader.Member.read
    monkeypatch.setattr(
        reader.Member, "read", lambda self: reads.append(self.name) or original(self)
    )
    items = iter_export(path)
    first = next(item for item in items if isinstance(item, FitMember))
    assert reads == [first.name]  # the next FIT file is not touched before it is asked for
    rest = _of(list(items), FitMember)
    assert len(reads) == 1 + len(rest) == 3


def test_plain_fit_members_elsewhere_are_yielded(tmp_path):
    fit = _fit_fixtures(1)[0][1]
    path = _zip(tmp_path, {"DI_CONNECT/DI-Connect-Fitness/extra.FIT": fit, "notes.txt": b"x"})
    assert _of(list(iter_export(path)), FitMember) == [
        FitMember("DI_CONNECT/DI-Connect-Fitness/extra.FIT", fit)
    ]


def test_other_upload_formats_are_counted_once_per_format(tmp_path):
    uploads = [
        ("1_ACTIVITY.fit", _fit_fixtures(1)[0][1]),
        ("2.tcx", b"<TrainingCenterDatabase/>"),
        ("3.gpx", b"<gpx/>"),
        ("4.tcx", b"<TrainingCenterDatabase/>"),
        ("5.tcx", b"<TrainingCenterDatabase/>"),
    ]
    items = list(iter_export(_export(tmp_path, fit_files=uploads)))
    part = f"{UPLOADS}/UploadedFiles_0-_Part1.zip!/"
    assert [m.name for m in _of(items, FitMember)] == [part + "1_ACTIVITY.fit"]
    assert _of(items, Notice) == [
        Notice(
            "garmin_export_skipped",
            {"name": part + "3.gpx", "reason": "format", "format": "gpx", "count": 1},
        ),
        Notice(
            "garmin_export_skipped",
            {"name": part + "2.tcx", "reason": "format", "format": "tcx", "count": 3},
        ),
    ]


def test_oversized_fit_is_skipped_with_a_notice(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_FIT_BYTES", 100)
    path = _export(tmp_path, fit_files=[("big.fit", b"F" * 101), ("small.fit", b"F" * 100)])
    items = list(iter_export(path))
    part = f"{UPLOADS}/UploadedFiles_0-_Part1.zip!/"
    assert items == [
        Notice(
            "garmin_export_skipped",
            {"name": part + "big.fit", "reason": "too_large", "limit_mb": 0},
        ),
        FitMember(part + "small.fit", b"F" * 100),
    ]


def test_a_corrupt_member_is_reported_and_the_rest_is_read(tmp_path):
    good = {
        "DI_CONNECT/DI-Connect-Aggregator/UDSFile_2024-01-01_2024-01-01.json": json.dumps(
            [{"calendarDate": "2024-01-01", "totalSteps": 5}]
        )
    }
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:  # stored, so a byte can be flipped
        archive.writestr("DI_CONNECT/a.fit", b"A" * 500)
        for name, content in good.items():
            archive.writestr(name, content)
    data = bytearray(path.read_bytes())
    data[data.find(b"A" * 500) + 7] = ord("B")
    path.write_bytes(bytes(data))
    items = list(iter_export(path))
    assert items[0] == Notice("zip_member_corrupt", {"name": "DI_CONNECT/a.fit"})
    assert _wellness(items) == {date(2024, 1, 1): {"steps": 5.0}}


# --- wellness: every mapping, exact values and units -------------------------------------------

FULL_DAY = {
    "date": date(2024, 3, 1),
    "resting_hr": 48,
    "steps": 9000,
    "active_kcal": 612,
    "stress_avg": 30,
    "body_battery_high": 90,
    "body_battery_low": 22,
    "spo2_avg": 95.5,
    "deep_s": 5400,
    "light_s": 14400,
    "rem_s": 6300,
    "awake_s": 900,
    "sleep_score": 82,
    "respiratory_rate": 14.5,
    "hrv_rmssd_ms": 55,
    "vo2max_running": 55,
    "vo2max_cycling": 58,
    "training_readiness": 70,
    "weight_kg": 70.1,
    "body_fat_pct": 14.2,
}


def test_every_wellness_field_with_its_unit(tmp_path):
    items = list(iter_export(_export(tmp_path, days=[FULL_DAY])))
    assert _wellness(items) == {
        date(2024, 3, 1): {
            "resting_hr": 48.0,
            "steps": 9000.0,
            "active_kcal": 612.0,
            "stress_avg": 30.0,
            "body_battery_high": 90.0,
            "body_battery_low": 22.0,
            "spo2_avg": 95.5,
            "sleep_s": 26100.0,  # deep + light + REM; awake time is not sleep
            "sleep_deep_s": 5400.0,
            "sleep_light_s": 14400.0,
            "sleep_rem_s": 6300.0,
            "sleep_awake_s": 900.0,
            "sleep_score": 82.0,
            "respiratory_rate": 14.5,
            "hrv_rmssd_ms": 55.0,
            "vo2max_running": 55.0,
            "vo2max_cycling": 58.0,
            "training_readiness": 70.0,  # the morning value, not the later post-workout one
            "weight_kg": 70.1,  # 70100 g
            "body_fat_pct": 14.2,
        }
    }
    assert not _of(items, Notice)


def test_each_field_comes_from_its_own_file(tmp_path):
    items = list(iter_export(_export(tmp_path, days=[FULL_DAY])))
    by_file = {
        item.name.rsplit("/", 1)[-1]: sorted(item.days[0].values)
        for item in _of(items, WellnessBatch)
    }
    assert by_file == {
        "UDSFile_2024-03-01_2024-03-01.json": sorted(
            [
                "resting_hr",
                "steps",
                "active_kcal",
                "stress_avg",
                "body_battery_high",
                "body_battery_low",
                "spo2_avg",
            ]
        ),
        "2024-03-01_2024-03-01_987654321_sleepData.json": sorted(
            [
                "sleep_s",
                "sleep_deep_s",
                "sleep_light_s",
                "sleep_rem_s",
                "sleep_awake_s",
                "sleep_score",
                "respiratory_rate",
            ]
        ),
        "2024-03-01_2024-03-01_987654321_healthStatusData.json": ["hrv_rmssd_ms"],
        "MetricsMaxMetData_20240301_20240301_987654321.json": ["vo2max_cycling", "vo2max_running"],
        "TrainingReadinessDTO_20240301_20240301_987654321.json": ["training_readiness"],
        "987654321_userBioMetrics.json": ["body_fat_pct", "weight_kg"],
    }


def test_sleep_total_alone_is_split_into_stages(tmp_path):
    items = iter_export(_export(tmp_path, days=[{"date": date(2024, 3, 2), "sleep_s": 27000}]))
    assert _wellness(items)[date(2024, 3, 2)] == {
        "sleep_s": 27000.0,
        "sleep_deep_s": 5400.0,
        "sleep_light_s": 14850.0,
        "sleep_rem_s": 6750.0,
        "sleep_awake_s": 0.0,
    }


def test_daily_files_are_chunked_by_100_days(tmp_path):
    start = date(2023, 1, 1)
    days = [{"date": start + timedelta(days=i), "steps": i, "sleep_s": 25000} for i in range(250)]
    items = list(iter_export(_export(tmp_path, days=days)))
    names = sorted(b.name.rsplit("/", 1)[-1] for b in _of(items, WellnessBatch))
    assert names == [
        "2023-01-01_2023-04-10_987654321_sleepData.json",
        "2023-04-11_2023-07-19_987654321_sleepData.json",
        "2023-07-20_2023-09-07_987654321_sleepData.json",
        "UDSFile_2023-01-01_2023-04-10.json",
        "UDSFile_2023-04-11_2023-07-19.json",
        "UDSFile_2023-07-20_2023-09-07.json",
    ]
    wellness = _wellness(items)
    assert len(wellness) == 250
    assert wellness[date(2023, 9, 7)]["steps"] == 249.0


def _file(name: str, records: list) -> dict:
    return {name: records}


def test_real_shapes_and_sentinels_in_the_daily_summary(tmp_path):
    uds = [
        {  # stress -1 and an unworn-looking resting HR of 0: not recorded
            "calendarDate": "2024-05-01",
            "restingHeartRate": 0,
            "currentDayRestingHeartRate": 51,
            "totalSteps": 0,
            "allDayStress": {
                "aggregatorList": [
                    {"type": "AWAKE", "averageStressLevel": 40},
                    {"type": "TOTAL", "averageStressLevel": -1},
                ]
            },
            "bodyBattery": {
                "bodyBatteryStatList": [
                    {"bodyBatteryStatType": "HIGHEST", "statsValue": 75},
                    {"bodyBatteryStatType": "LOWEST", "statsValue": 5},
                ]
            },
        },
        {"calendarDate": "2024-05-02", "includesWellnessData": False, "totalSteps": 0},
        {"hydration": {"calendarDate": "2024-05-02", "valueInML": 750.0}},
        {"calendarDate": "2024-05-03", "restingHeartRate": 47.0, "averageSpo2Value": 96.0},
    ]
    path = _zip(
        tmp_path, {"DI_CONNECT/DI-Connect-Aggregator/UDSFile_2024-05-01_2024-05-03.json": uds}
    )
    assert _wellness(iter_export(path)) == {
        date(2024, 5, 1): {
            "resting_hr": 51.0,
            "steps": 0.0,
            "body_battery_high": 75.0,
            "body_battery_low": 5.0,
        },
        date(2024, 5, 3): {"resting_hr": 47.0, "spo2_avg": 96.0},
    }


def test_real_shapes_in_sleep_files(tmp_path):
    sleep = [
        {"retro": False},  # placeholder without a date
        {  # older shape: sleepScores.overall.value, an explicit sleepTimeSeconds, no REM
            "calendarDate": "2019-06-02",
            "sleepTimeSeconds": 25200,
            "deepSleepSeconds": 7200,
            "lightSleepSeconds": 18000,
            "sleepScores": {"overall": {"value": 74, "qualifierKey": "FAIR"}},
        },
        {"calendarDate": "2019-06-03", "deepSleepSeconds": 0, "lightSleepSeconds": 0},  # no sleep
    ]
    path = _zip(
        tmp_path, {"DI_CONNECT/DI-Connect-Wellness/2019-06-01_2019-09-09_1_sleepData.json": sleep}
    )
    assert _wellness(iter_export(path)) == {
        date(2019, 6, 2): {
            "sleep_s": 25200.0,
            "sleep_deep_s": 7200.0,
            "sleep_light_s": 18000.0,
            "sleep_score": 74.0,
        }
    }


def test_readiness_weight_vo2max_and_hrv_pick_the_right_record(tmp_path):
    evening = {"weight": 71300.0, "bodyFat": 0.0, "timestampGMT": "2025-07-07T18:00:00.0"}
    morning = {"weight": 70650.0, "bodyFat": 15.1, "timestampGMT": "2025-07-07T06:00:00.0"}
    files = {
        "DI_CONNECT/DI-Connect-Metrics/TrainingReadinessDTO_20250707_20250707_1.json": [
            {
                "calendarDate": "2025-07-07",
                "timestamp": "2025-07-08T03:50:17.0",
                "score": 50,
                "inputContext": "UPDATE_REALTIME_VARIABLES",
            },
            {
                "calendarDate": "2025-07-07",
                "timestamp": "2025-07-07T11:45:17.0",
                "score": 80,
                "inputContext": "AFTER_WAKEUP_RESET",
            },
            {
                "calendarDate": "2025-07-07",
                "timestamp": "2025-07-07T08:50:17.0",
                "score": 75,
                "inputContext": "UPDATE_REALTIME_VARIABLES",
            },
            {"calendarDate": "2025-07-08", "timestamp": "2025-07-08T15:00:00.0", "score": 40},
            {"calendarDate": "2025-07-08", "timestamp": "2025-07-08T09:00:00.0", "score": 61},
        ],
        "DI_CONNECT/DI-Connect-Wellness/1_userBioMetrics.json": [
            {"metaData": {"calendarDate": "2025-07-07T00:00:00.0"}, "height": 180.0},
            {"metaData": {"calendarDate": "2025-07-07T00:00:00.0"}, "weight": evening},
            {"metaData": {"calendarDate": "2025-07-07T00:00:00.0"}, "weight": morning},
        ],
        "DI_CONNECT/DI-Connect-Metrics/MetricsMaxMetData_20250707_20250707_1.json": [
            {
                "calendarDate": "2025-07-07",
                "sport": "RUNNING",
                "vo2MaxValue": 52.0,
                "updateTimestamp": "2025-07-07T20:00:00.0",
            },
            {
                "calendarDate": "2025-07-07",
                "sport": "RUNNING",
                "vo2MaxValue": 51.0,
                "updateTimestamp": "2025-07-07T08:00:00.0",
            },
            {"calendarDate": "2025-07-08", "vo2MaxValue": 53.0},
            {"calendarDate": "2025-07-08", "sport": "CYCLING", "vo2MaxValue": 57.0},
        ],
        "DI_CONNECT/DI-Connect-Wellness/2025-07-07_2025-07-08_1_healthStatusData.json": [
            {
                "calendarDate": "2025-07-07",
                "metrics": [{"type": "HR", "value": 49.0}, {"type": "HRV", "value": 61.0}],
            },
            {
                "calendarDate": "2025-07-08",
                "metrics": [{"type": "HRV", "value": None, "status": "ONBOARDING"}],
            },
        ],
    }
    assert _wellness(iter_export(_zip(tmp_path, files))) == {
        date(2025, 7, 7): {
            "training_readiness": 80.0,
            "weight_kg": 71.3,  # the last weigh-in of the day; 0 % body fat is no reading
            "vo2max_running": 52.0,
            "hrv_rmssd_ms": 61.0,
        },
        date(2025, 7, 8): {
            "training_readiness": 61.0,  # no morning record: the earliest
            "vo2max_running": 53.0,  # no sport: Garmin's generic (running) VO2max
            "vo2max_cycling": 57.0,
        },
    }


def test_older_user_biometrics_file_and_numeric_calendar_dates(tmp_path):
    files = {
        "DI_CONNECT/DI-Connect-User/user_biometrics.json": [
            {"metaData": {"calendarDate": "2018-02-03T00:00:00.0"}, "weight": {"weight": 80000}},
        ],
        "DI_CONNECT/DI-Connect-Metrics/MetricsMaxMetData_20180203_20180203_1.json": [
            {"calendarDate": 1517616000000, "sport": "RUNNING", "vo2MaxValue": 49},
        ],
    }
    assert _wellness(iter_export(_zip(tmp_path, files))) == {
        date(2018, 2, 3): {"weight_kg": 80.0, "vo2max_running": 49.0}
    }


def test_malformed_json_is_reported_and_the_rest_continues(tmp_path):
    files = {
        "DI_CONNECT/DI-Connect-Wellness/a_sleepData.json": '[{"calendarDate": ',
        "DI_CONNECT/DI-Connect-Aggregator/UDSFile_x.json": {"calendarDate": "2024-01-01"},
        "DI_CONNECT/DI-Connect-Fitness/u_0_summarizedActivities.json": {"unexpected": True},
        "DI_CONNECT/DI-Connect-Metrics/TrainingReadinessDTO_x.json": b"\xff\xfe\x00garbage",
        "DI_CONNECT/DI-Connect-Wellness/b_sleepData.json": "[" * 100_000 + "]" * 100_000,
        "DI_CONNECT/DI-Connect-Aggregator/UDSFile_ok.json": "\ufeff"
        + json.dumps([{"calendarDate": "2024-01-02", "totalSteps": 1234}]),
    }
    items = list(iter_export(_zip(tmp_path, files)))
    assert _of(items, Notice) == [
        Notice("garmin_export_bad_json", {"name": name}) for name in list(files)[:5]
    ]
    assert _wellness(items) == {date(2024, 1, 2): {"steps": 1234.0}}  # with a UTF-8 BOM


def test_unrelated_json_is_ignored_silently(tmp_path):
    files = {
        "DI_CONNECT/DI-Connect-Fitness/u_0_personalRecord.json": "not even json",
        "DI_CONNECT/DI-Connect-Aggregator/HydrationLogFile_2024.json": [],
        "customer_data/customer.json": {},
        "DI_CONNECT/DI-Connect-Aggregator/UDSFile_a.json": [{"calendarDate": "2024-01-01"}],
    }
    assert list(iter_export(_zip(tmp_path, files))) == []


# --- activity summaries -----------------------------------------------------------------------


def test_activity_summary_units(tmp_path):
    start = datetime(2024, 6, 1, 5, 30, tzinfo=UTC)
    activity = {
        "activity_id": 15123456789,
        "sport": "trail_running",
        "name": "Morning Trail",
        "start": start,
        "utc_offset_s": 7200,
        "timer_s": 3600.5,
        "elapsed_s": 3700,
        "moving_s": 3550,
        "distance_m": 10234.56,
        "ascent_m": 412.0,
        "descent_m": 398.5,
        "calories": 812,
        "avg_hr": 151,
        "max_hr": 178,
        "avg_power": 265,
        "max_power": 410,
        "avg_cadence": 86,
        "avg_speed": 2.84,
        "max_speed": 4.1,
    }
    items = list(iter_export(_export(tmp_path, activities=[activity])))
    (summaries,) = _of(items, ActivitySummaries)
    assert summaries.name == (
        "DI_CONNECT/DI-Connect-Fitness/athlete@example.com_0_summarizedActivities.json"
    )
    (a,) = summaries.activities
    assert a.source == "garmin_export"
    assert a.external_id == "15123456789"
    assert (a.sport, a.sub_sport) == ("running", "trail")
    assert a.name == "Morning Trail"
    assert a.start == start and a.start.tzinfo is not None
    assert a.local_start == datetime(2024, 6, 1, 7, 30)  # wall clock, naive
    assert a.moving_s == pytest.approx(3600.5)  # Garmin's "duration" is the timer time
    assert a.elapsed_s == pytest.approx(3700)
    assert a.distance_m == pytest.approx(10234.56)  # written in cm
    assert a.ascent_m == pytest.approx(412.0)  # cm
    assert a.descent_m == pytest.approx(398.5)
    assert a.calories == 812
    assert (a.avg_hr, a.max_hr, a.avg_power, a.max_power) == (151, 178, 265, 410)
    assert a.avg_cadence == 86  # per foot, as FIT stores running cadence
    assert a.avg_speed == pytest.approx(2.84)  # written as (m/s)/10
    assert a.extras["max_speed"] == pytest.approx(4.1)
    assert a.extras["moving_duration_s"] == pytest.approx(3550)
    assert a.extras["garmin_activity_type"] == "trail_running"


def test_exact_raw_values_of_a_real_shaped_summary(tmp_path):
    raw = {  # numbers as they appear in a real export (a 10 km treadmill run)
        "activityId": 21993142932,
        "name": "Treadmill Running",
        "activityType": "treadmill_running",
        "startTimeLocal": 1788641685000,
        "startTimeGmt": 1788638085000,
        "distance": 1000000.0,
        "duration": 2953511.962890625,
        "elapsedDuration": 2953511.962890625,
        "movingDuration": 2856871.9787597656,
        "avgSpeed": 0.3385999917984009,
        "avgHr": 141.0,
        "maxHr": 181.0,
        "elevationGain": None,
        "avgRunCadence": 74.3203125,
        "avgDoubleCadence": 148.640625,
        "avgPower": 300.0,
        "calories": 2543.3421399999997,
    }
    path = _zip(
        tmp_path,
        {
            "DI_CONNECT/DI-Connect-Fitness/x_0_summarizedActivities.json": [
                {"summarizedActivitiesExport": [raw]}
            ]
        },
    )
    ((a,),) = [s.activities for s in _of(list(iter_export(path)), ActivitySummaries)]
    assert a.start == datetime.fromtimestamp(1788638085, UTC)
    assert a.local_start == datetime.fromtimestamp(1788641685, UTC).replace(tzinfo=None)
    assert a.distance_m == 10000.0
    assert a.moving_s == pytest.approx(2953.511962890625)
    assert a.avg_speed == pytest.approx(3.386, abs=1e-3)
    assert a.avg_cadence == pytest.approx(74.3203125)
    assert a.ascent_m is None
    assert (a.sport, a.sub_sport) == ("running", "treadmill")


@pytest.mark.parametrize(
    ("type_key", "sport", "sub_sport"),
    [
        ("running", "running", None),
        ("road_biking", "cycling", "road"),
        ("virtual_ride", "cycling", "virtual_activity"),
        ("indoor_cycling", "cycling", "indoor_cycling"),
        ("lap_swimming", "swimming", "lap_swimming"),
        ("open_water_swimming", "swimming", "open_water"),
        ("strength_training", "training", "strength_training"),
        ("indoor_rowing", "fitness_equipment", "indoor_rowing"),
        ("hiking", "hiking", None),
        ("multi_sport", "multisport", None),
        ("some_new_garmin_sport", "generic", None),
    ],
)
def test_sport_mapping(tmp_path, type_key, sport, sub_sport):
    path = _export(
        tmp_path,
        activities=[
            {"activity_id": 1, "sport": type_key, "start": datetime(2024, 1, 1, tzinfo=UTC)}
        ],
    )
    ((a,),) = [s.activities for s in _of(list(iter_export(path)), ActivitySummaries)]
    assert (a.sport, a.sub_sport, a.extras["garmin_activity_type"]) == (sport, sub_sport, type_key)


def test_strength_session_without_distance(tmp_path):
    path = _export(
        tmp_path,
        activities=[
            {
                "activity_id": 2,
                "sport": "strength_training",
                "distance_m": 0,
                "timer_s": 1800,
                "start": datetime(2024, 1, 1, tzinfo=UTC),
            }
        ],
    )
    ((a,),) = [s.activities for s in _of(list(iter_export(path)), ActivitySummaries)]
    assert a.distance_m is None and a.avg_speed is None
    assert a.moving_s == a.elapsed_s == 1800.0  # no elapsedDuration: the timer time


def test_summaries_without_id_or_start_are_counted(tmp_path):
    name = "DI_CONNECT/DI-Connect-Fitness/x_0_summarizedActivities.json"
    payload = [
        {
            "summarizedActivitiesExport": [
                {
                    "activityId": 7,
                    "activityType": {"typeKey": "cycling"},
                    "beginTimestamp": 1700000000000,
                },
                {"activityId": 8},
                {"startTimeGmt": 1700000000000},
            ]
        }
    ]
    items = list(iter_export(_zip(tmp_path, {name: payload})))
    ((a,),) = [s.activities for s in _of(items, ActivitySummaries)]
    assert (a.external_id, a.sport) == ("7", "cycling")
    assert a.start == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # from beginTimestamp
    assert _of(items, Notice) == [
        Notice("garmin_export_skipped", {"name": name, "reason": "incomplete", "count": 2})
    ]


# --- archive-level behaviour ------------------------------------------------------------------


def test_archive_limits_apply_through_the_export(tmp_path):
    path = _export(tmp_path, fit_files=_fit_fixtures(3), days=[FULL_DAY])
    with pytest.raises(SourceDataError) as caught:
        list(iter_export(path, limits=ArchiveLimits(max_total_bytes=1_000)))
    assert caught.value.code == "zip_bomb"


def test_archive_notices_pass_through(tmp_path):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("../../evil.fit", b"x")
    path = _zip(tmp_path, {f"{UPLOADS}/UploadedFiles_0-_Part1.zip": inner.read_bytes()})
    assert list(iter_export(path)) == [
        Notice("zip_unsafe_name", {"name": f"{UPLOADS}/UploadedFiles_0-_Part1.zip!/../../evil.fit"})
    ]


def test_not_a_zip(tmp_path):
    path = tmp_path / "export.zip"
    path.write_bytes(b"<html>Garmin sign-in page</html>")
    with pytest.raises(SourceDataError) as caught:
        list(iter_export(path))
    assert caught.value.code == "zip_corrupt"
    assert not is_garmin_export(path)


def test_is_garmin_export(tmp_path):
    assert is_garmin_export(_export(tmp_path, days=[FULL_DAY]))
    wrapped = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(wrapped, "w") as archive:
        archive.writestr("my-export/DI_CONNECT/DI-Connect-Wellness/x_sleepData.json", "[]")
    assert is_garmin_export(wrapped)
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("rides/a.fit", b"x")
        archive.writestr("DI_CONNECT_notes.txt", b"x")
    assert not is_garmin_export(plain)
    windows = tmp_path / "windows.zip"
    with zipfile.ZipFile(windows, "w") as archive:
        archive.writestr("DI_CONNECT\\DI-Connect-Aggregator\\UDSFile_a.json", "[]")
    assert is_garmin_export(windows)
    assert not is_garmin_export(tmp_path / "missing.zip")
