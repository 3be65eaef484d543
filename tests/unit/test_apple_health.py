"""Apple Health export parser: real fixtures checked against an independent ElementTree scan,
unit conversions, the daily rules (steps overlap, sleep night and source), hostile and broken
XML (iOS 16 DTD, control characters, XXE, billion laughs, truncation), the benchmark generator."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import random
import signal
import socket
import time
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from app.records import WELLNESS_FIELDS, Activity, DailyWellness, HealthSeries, Notice
from app.sources import SourceDataError
from app.sources.apple_health import SERIES_METRICS, parse_export, parse_gpx, worker
from app.sources.apple_health.mapper import epoch, parse_dates
from app.sources.apple_health.parser import parse_export_file
from app.sources.apple_health.worker import parse_in_child
from app.sources.apple_health.xmlstream import Sanitizer
from tests.bench.gen_apple_health import write_export
from tests.support.modules import loaded_by

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apple_health"
Q = "HKQuantityTypeIdentifier"
SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"
ROUTE = "workout-routes/route_2019-06-11_3.00pm.gpx"

# The iOS 16 defect (HealthKit Export Version 12): VisionPrescription's ATTLIST is never closed
# and a stray '>' precedes ']>'. Stdlib parsers stop on it.
BROKEN_DTD = """<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 12 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT VisionPrescription ((RightEye|LeftEye|Attachment|MetadataEntry)*)>
<!ATTLIST VisionPrescription
  type             CDATA #REQUIRED
  brand            CDATA #IMPLIED
<!ELEMENT RightEye EMPTY>
<!ATTLIST RightEye
  sphere           CDATA #IMPLIED
>
>
]>
"""


# -- helpers ----------------------------------------------------------------------------------


def _export(*records: str, prolog: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + prolog
        + '<HealthData locale="en_US">\n'
        + ' <ExportDate value="2024-04-01 08:00:00 +0900"/>\n'
        + "".join(records)
        + "</HealthData>\n"
    ).encode("utf-8")


def _rec(
    kind: str,
    value: object,
    start: str,
    end: str | None = None,
    *,
    source: str = "Jin’s Apple Watch",
    unit: str | None = None,
    children: str = "",
) -> str:
    kind = kind if kind.startswith("HK") else Q + kind
    unit_attr = f' unit="{unit}"' if unit is not None else ""
    head = (
        f' <Record type="{kind}" sourceName="{source}"{unit_attr} creationDate="{end or start}"'
        f' startDate="{start}" endDate="{end or start}" value="{value}"'
    )
    return f"{head}>\n{children} </Record>\n" if children else f"{head}/>\n"


def _sleep(stage: str, start: str, end: str, source: str = "Jin’s Apple Watch") -> str:
    return _rec(SLEEP, f"HKCategoryValueSleepAnalysis{stage}", start, end, source=source)


def _parse(data: bytes, **options) -> list:
    return list(parse_export(io.BytesIO(data), **options))


def _activities(items: list) -> list[Activity]:
    return [item for item in items if isinstance(item, Activity)]


def _days(items: list) -> dict[date, dict[str, float]]:
    return {item.day: item.values for item in items if isinstance(item, DailyWellness)}


def _notices(items: list) -> dict[str, dict]:
    return {item.code: item.params for item in items if isinstance(item, Notice)}


def _series(items: list, metric: str) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """device -> (time, value, end_time or empty) over all chunks of a metric."""
    parts: dict[str, list[HealthSeries]] = defaultdict(list)
    for item in items:
        if isinstance(item, HealthSeries) and item.metric == metric:
            parts[item.device].append(item)
    return {
        device: (
            np.concatenate([c.time for c in chunks]),
            np.concatenate([c.value for c in chunks]),
            np.concatenate([c.end_time for c in chunks if c.end_time is not None] or [[]]),
        )
        for device, chunks in parts.items()
    }


def _ts(text: str) -> float:
    """Independent of the parser: the stdlib's reading of an Apple date."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z").timestamp()


def _error(data: bytes) -> SourceDataError:
    with pytest.raises(SourceDataError) as caught:
        _parse(data)
    return caught.value


# -- the real export (hkimport, iOS 10), against ElementTree ----------------------------------


@pytest.fixture(scope="module")
def hkimport() -> tuple[list, ET.Element, bytes]:
    raw = gzip.decompress((FIXTURES / "hkimport-export.xml.gz").read_bytes())
    with gzip.open(FIXTURES / "hkimport-export.xml.gz", "rb") as stream:
        items = list(parse_export(stream))
    # Its v3 DTD is valid (and declares no entity): the stdlib reads this trusted fixture.
    return items, ET.fromstring(raw), raw  # noqa: S314


def test_hkimport_counts_match_an_elementtree_scan(hkimport):
    items, root, _ = hkimport
    records = root.findall("Record")  # top level only: correlation children are copies
    assert len(records) == 10_939
    assert len(root.findall("Workout")) == 61
    assert len(_activities(items)) == 61
    assert all(a.source == "apple_health" for a in _activities(items))

    handled = {
        Q + "HeartRate",
        Q + "StepCount",
        Q + "ActiveEnergyBurned",
        Q + "BodyMass",
        SLEEP,
    }
    assert handled <= {r.get("type") for r in records}
    skipped = [r for r in records if r.get("type") not in handled]
    assert _notices(items)["apple_health_skipped_types"] == {
        "types": len({r.get("type") for r in skipped}),
        "records": len(skipped),
    }
    assert "apple_health_invalid_records" not in _notices(items)

    # Heart rate: one row per (device, time), the last written wins.
    expected: dict[str, dict[float, float]] = defaultdict(dict)
    for r in records:
        if r.get("type") == Q + "HeartRate":
            expected[r.get("sourceName")][_ts(r.get("startDate"))] = float(r.get("value"))
    got = _series(items, "heart_rate")
    assert set(got) == set(expected)
    for device, by_time in expected.items():
        times, values, _ = got[device]
        assert times.tolist() == sorted(by_time)
        assert values.tolist() == [by_time[t] for t in sorted(by_time)]


def test_hkimport_daily_steps_and_weight_match_an_elementtree_scan(hkimport):
    items, root, _ = hkimport
    days = _days(items)
    steps: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    weights: dict[str, tuple[float, int, float]] = {}
    for position, r in enumerate(root.findall("Record")):
        start = r.get("startDate")
        if r.get("type") == Q + "StepCount":
            steps[start[:10]][r.get("sourceName")] += float(r.get("value"))
        elif r.get("type") == Q + "BodyMass":
            assert r.get("unit") == "kg"
            key = (_ts(start), position, float(r.get("value")))
            weights[start[:10]] = max(weights.get(start[:10], key), key)
    overlapping = [day for day, by_device in steps.items() if len(by_device) > 1]
    assert overlapping, "the fixture should exercise the phone/watch overlap rule"
    for day, by_device in steps.items():
        assert days[date.fromisoformat(day)]["steps"] == pytest.approx(max(by_device.values()))
    for day, (_, _, kg) in weights.items():
        assert days[date.fromisoformat(day)]["weight_kg"] == pytest.approx(kg)


def test_hkimport_exact_workout_and_curly_apostrophe(hkimport):
    items, _, _ = hkimport
    first = _activities(items)[0]  # <Workout …Walking duration="4.314366666475932" … "Human"
    assert first.sport == "walking"
    assert first.start == datetime(2017, 6, 19, 6, 30, 31, tzinfo=UTC)
    assert first.local_start == datetime(2017, 6, 19, 8, 30, 31)
    assert first.elapsed_s == pytest.approx(4.314366666475932 * 60)
    assert first.distance_m is None  # totalDistance="0": nothing measured
    assert first.calories == 21
    assert first.device == "Human"
    assert first.extras["utc_offset_s"] == 7200
    sports = {a.sport for a in _activities(items)}
    assert {"running", "walking", "cycling", "training", "yoga"} <= sports
    strength = [a for a in _activities(items) if a.sub_sport == "strength_training"]
    assert len(strength) == 3  # 2 functional + 1 traditional
    assert "Jonathan’s iPhone" in _series(items, "steps")  # U+2019 survives intact
    ids = [a.external_id for a in _activities(items)]
    assert len(set(ids)) == len(ids)
    with gzip.open(FIXTURES / "hkimport-export.xml.gz", "rb") as stream:
        again = _activities(list(parse_export(stream)))
    assert [a.external_id for a in again] == ids  # stable


def test_hkimport_truncated_is_malformed_with_the_line(hkimport):
    _, _, raw = hkimport
    cut = raw[: int(len(raw) * 0.6)]
    error = _error(cut)
    assert error.code == "xml_malformed"
    assert abs(error.params["line"] - (cut.count(b"\n") + 1)) <= 1
    error = _error(raw[: raw.index(b"<HealthData") + 40])  # just after the root started
    assert error.code == "xml_malformed"


# -- the other fixtures ---------------------------------------------------------------------


def test_route_gpx_opened_from_the_archive_becomes_samples():
    opened = []

    def open_member(path: str):
        opened.append(path)
        if path == ROUTE:
            return (FIXTURES / "dogsheep-route_2019-06-11_3.00pm.gpx").open("rb")
        return None

    with (FIXTURES / "dogsheep-export.xml").open("rb") as stream:
        items = list(parse_export(stream, open_member=open_member))
    assert opened == [ROUTE]
    (run,) = _activities(items)
    assert run.sport == "running"
    assert run.start == datetime(2016, 11, 14, 14, 25, 41, tzinfo=UTC)
    assert run.local_start == datetime(2016, 11, 14, 7, 25, 41)
    assert run.distance_m == pytest.approx(0.4971749504535062 * 1609.344)
    assert run.elapsed_s == pytest.approx(5.19412346680959 * 60)
    assert run.calories == pytest.approx(48.745)
    samples = run.samples
    assert samples is not None
    assert len(samples) == 2  # three points, two in the same second: the first one is kept
    start = datetime(2019, 6, 11, 22, 0, 42, tzinfo=UTC).timestamp()
    assert samples.time.tolist() == [start, start + 1]
    assert samples.channel("lat").tolist() == [37.781672, 37.781670]
    assert samples.channel("lon").tolist() == [-122.396397, -122.396394]
    assert samples.channel("altitude").tolist() == [4.076904, 4.085232]
    assert samples.channel("speed").tolist() == [0.180883, 0.054395]
    assert np.isnan(samples.channel("heart_rate")).all()
    assert "apple_health_routes_missing" not in _notices(items)


def test_route_missing_unreadable_or_outside_the_export_is_a_notice():
    data = (FIXTURES / "dogsheep-export.xml").read_bytes()
    items = _parse(data)  # no archive at all
    assert _activities(items)[0].samples is None
    assert _notices(items)["apple_health_routes_missing"] == {"routes": 1}

    items = _parse(data, open_member=lambda path: io.BytesIO(b"\x89PNG not a route"))
    assert _activities(items)[0].samples is None
    assert _notices(items)["apple_health_routes_unreadable"] == {"routes": 1}

    asked = []
    hostile = data.replace(b"/workout-routes/route_2019-06-11_3.00pm.gpx", b"/../../etc/passwd")
    items = _parse(hostile, open_member=lambda path: asked.append(path))
    assert asked == []
    assert _notices(items)["apple_health_routes_missing"] == {"routes": 1}


def test_gpx_is_parsed_as_safely_as_the_export():
    gpx = (FIXTURES / "dogsheep-route_2019-06-11_3.00pm.gpx").read_bytes()
    evil = gpx.replace(
        b"<gpx ", b'<!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<gpx ', 1
    )
    with pytest.raises(SourceDataError) as caught:
        parse_gpx(io.BytesIO(evil))
    assert caught.value.code == "xml_entities"
    with pytest.raises(SourceDataError) as caught:
        parse_gpx(io.BytesIO(gpx[:-40]))
    assert caught.value.code == "xml_malformed"


def test_inline_route_locations_of_older_exports():
    items = _parse((FIXTURES / "dogsheep-export-inline-route.xml").read_bytes())
    (run,) = _activities(items)
    assert run.samples is not None
    assert len(run.samples) == 1  # two <Location> in the same second
    assert run.samples.channel("lat").tolist() == [37.7777]
    assert run.samples.channel("speed").tolist() == [2.48034]


def test_zipped_watchos10_excerpt_streams_from_the_archive():
    with (
        zipfile.ZipFile(FIXTURES / "apple-health-parser-export.zip") as archive,
        archive.open("apple_health_export/export.xml") as stream,
    ):
        items = list(parse_export(stream))
    heart = _series(items, "heart_rate")
    assert list(heart) == ["Alexandre's Apple Watch"]
    assert heart["Alexandre's Apple Watch"][1].tolist() == [74.0, 75.0]
    days = _days(items)
    assert days[date(2024, 1, 1)]["active_kcal"] == pytest.approx(0.12)
    assert days[date(2024, 1, 2)]["active_kcal"] == pytest.approx(0.08)
    # The watch's 12.5 min of core sleep; the phone's in-bed window is not sleep.
    assert days[date(2024, 1, 1)]["sleep_s"] == 750
    assert days[date(2024, 1, 1)]["sleep_light_s"] == 750
    assert days[date(2024, 1, 1)]["sleep_deep_s"] == 0
    assert _notices(items)["apple_health_skipped_types"] == {"types": 2, "records": 2}


def test_tdda_iphone_excerpt_with_its_v3_dtd():
    items = _parse((FIXTURES / "tdda-export6s3sample.xml").read_bytes())
    steps = _series(items, "steps")["Health"]
    assert len(steps[0]) == 10
    assert steps[1].sum() == 329 + 283 + 426 + 61 + 10 + 200 + 390 + 320 + 216 + 282
    assert (steps[2] - steps[0]).tolist() == [5.0] * 10  # end_time kept
    (other,) = _activities(items)
    assert other.sport == "generic"  # HKWorkoutActivityTypeOther
    assert other.calories == pytest.approx(139.317)
    assert _notices(items)["apple_health_skipped_types"] == {"types": 1, "records": 5}


# -- conversions and mapping ----------------------------------------------------------------


def test_units_are_converted():
    day = "2024-03-11"
    items = _parse(
        _export(
            _rec("BodyMass", "154.3", f"{day} 07:00:00 +0900", unit="lb", source="Scale"),
            _rec("BodyMass", "70.1", f"{day} 06:00:00 +0900", unit="kg", source="Scale"),
            _rec("BodyFatPercentage", "0.215", f"{day} 07:00:00 +0900", unit="%"),
            _rec("OxygenSaturation", "0.97", f"{day} 03:00:00 +0900", unit="%"),
            _rec("OxygenSaturation", "0.95", f"{day} 04:00:00 +0900", unit="%"),
            _rec(
                "ActiveEnergyBurned",
                "418.4",
                f"{day} 09:00:00 +0900",
                f"{day} 10:00:00 +0900",
                unit="kJ",
            ),
            _rec("RestingHeartRate", "52", f"{day} 23:00:00 +0900", unit="count/min"),
            _rec("RestingHeartRate", "54", f"{day} 23:30:00 +0900", unit="count/min"),
            _rec("RespiratoryRate", "0.25", f"{day} 03:00:00 +0900", unit="count/s"),
            _rec("VO2Max", "48.5", f"{day} 18:00:00 +0900", unit="mL/min·kg"),
            _rec("RunningPower", "251", f"{day} 18:00:00 +0900", unit="W"),
        )
    )
    values = _days(items)[date(2024, 3, 11)]
    assert values["weight_kg"] == pytest.approx(154.3 * 0.45359237)  # the last of the day
    assert values["body_fat_pct"] == pytest.approx(21.5)
    assert values["spo2_avg"] == pytest.approx(96.0)
    assert values["active_kcal"] == pytest.approx(100.0)
    assert values["resting_hr"] == 53
    assert values["respiratory_rate"] == 15
    assert values["vo2max_running"] == 48.5
    assert _series(items, "spo2")["Jin’s Apple Watch"][1].tolist() == pytest.approx([97, 95])
    assert _series(items, "running_power")["Jin’s Apple Watch"][1].tolist() == [251]
    assert set(values) <= set(WELLNESS_FIELDS)


def _workout(attrs: str, children: str = "", activity: str = "Running") -> str:
    return (
        f' <Workout workoutActivityType="HKWorkoutActivityType{activity}" {attrs} '
        'sourceName="Jin’s Apple Watch" startDate="2024-03-11 07:00:00 +0900" '
        f'endDate="2024-03-11 08:40:00 +0900">\n{children} </Workout>\n'
    )


def test_workout_totals_statistics_and_sport_mapping():
    span = 'startDate="2024-03-11 07:00:00 +0900" endDate="2024-03-11 08:40:00 +0900"'
    legacy = _workout(
        'duration="1.5" durationUnit="hr" totalDistance="6.2" totalDistanceUnit="mi" '
        'totalEnergyBurned="2092" totalEnergyBurnedUnit="kJ"',
        '  <MetadataEntry key="HKElevationAscended" value="1250 cm"/>\n'
        f'  <WorkoutStatistics type="{Q}HeartRate" {span} average="151.5" minimum="90" '
        'maximum="182" unit="count/min"/>\n'
        f'  <WorkoutStatistics type="{Q}RunningPower" {span} average="244" maximum="512" '
        'unit="W"/>\n'
        '  <WorkoutEvent type="HKWorkoutEventTypePause" date="2024-03-11 07:30:00 +0900"/>\n',
    )
    modern = _workout(
        'duration="100" durationUnit="min"',
        '  <MetadataEntry key="HKIndoorWorkout" value="1"/>\n'
        f'  <WorkoutStatistics type="{Q}DistanceCycling" {span} sum="20" unit="km"/>\n'
        f'  <WorkoutStatistics type="{Q}ActiveEnergyBurned" {span} sum="500" unit="Cal"/>\n'
        f'  <WorkoutStatistics type="{Q}CyclingPower" {span} average="210" maximum="650" '
        'unit="W"/>\n',
        activity="Cycling",
    )
    others = "".join(
        _workout('duration="10" durationUnit="min"', activity=name)
        for name in (
            "TraditionalStrengthTraining",
            "HighIntensityIntervalTraining",
            "Yoga",
            "Elliptical",
            "Swimming",
            "Curling",
        )
    )
    run, ride, *rest = _activities(_parse(_export(legacy, modern, others)))
    assert (run.sport, run.sub_sport) == ("running", None)
    assert run.elapsed_s == 5400
    assert run.distance_m == pytest.approx(6.2 * 1609.344)
    assert run.calories == pytest.approx(500.0)
    assert (run.avg_hr, run.max_hr) == (151.5, 182)
    assert (run.avg_power, run.max_power) == (244, 512)
    assert run.ascent_m == pytest.approx(12.5)
    assert run.extras["events"] == {"pause": 1}
    assert run.extras["wall_clock_s"] == 6000
    assert (ride.sport, ride.sub_sport) == ("cycling", "indoor_cycling")
    assert ride.distance_m == 20_000
    assert ride.calories == 500
    assert (ride.avg_power, ride.max_power) == (210, 650)
    assert [(a.sport, a.sub_sport) for a in rest] == [
        ("training", "strength_training"),
        ("training", "hiit"),
        ("yoga", None),
        ("elliptical", None),
        ("swimming", None),
        ("generic", None),
    ]
    ids = {run.external_id, ride.external_id, *(a.external_id for a in rest)}
    assert len(ids) == 8
    other_source = _activities(_parse(_export(legacy.replace("Jin’s Apple Watch", "Strava"))))
    assert other_source[0].external_id != run.external_id


def test_sdnn_is_stored_as_sdnn_never_as_rmssd():
    beats = "".join(
        f'   <InstantaneousBeatsPerMinute bpm="{60 + i}" time="7:0{i}:00.00 AM"/>\n'
        for i in range(5)
    )
    children = (
        f"  <HeartRateVariabilityMetadataList>\n{beats}  </HeartRateVariabilityMetadataList>\n"
    )
    items = _parse(
        _export(
            _rec(
                "HeartRateVariabilitySDNN",
                "41.5",
                "2024-03-11 07:00:00 +0900",
                "2024-03-11 07:01:00 +0900",
                unit="ms",
                children=children,
            ),
            _rec("HeartRateVariabilitySDNN", "38.5", "2024-03-11 22:00:00 +0900", unit="ms"),
        )
    )
    assert "hrv_sdnn_ms" in SERIES_METRICS
    assert _series(items, "hrv_sdnn_ms")["Jin’s Apple Watch"][1].tolist() == [41.5, 38.5]
    values = _days(items)[date(2024, 3, 11)]
    assert values == {"hrv_sdnn_ms": 40.0}
    metrics = {item.metric for item in items if isinstance(item, HealthSeries)}
    assert metrics == {"hrv_sdnn_ms"}
    assert all("rmssd" not in metric for metric in SERIES_METRICS)


def test_steps_take_the_device_that_counted_most_not_the_sum():
    phone, watch = "Jin’s iPhone", "Jin’s Apple Watch"
    items = _parse(
        _export(
            _rec(
                "StepCount",
                3000,
                "2024-03-11 08:00:00 +0900",
                "2024-03-11 08:30:00 +0900",
                unit="count",
                source=phone,
            ),
            _rec(
                "StepCount",
                5000,
                "2024-03-11 17:00:00 +0900",
                "2024-03-11 18:00:00 +0900",
                unit="count",
                source=phone,
            ),
            _rec(
                "StepCount",
                4000,
                "2024-03-11 08:00:00 +0900",
                "2024-03-11 08:30:00 +0900",
                unit="count",
                source=watch,
            ),
            _rec(
                "StepCount",
                3000,
                "2024-03-11 17:00:00 +0900",
                "2024-03-11 18:00:00 +0900",
                unit="count",
                source=watch,
            ),
            _rec(
                "StepCount",
                900,
                "2024-03-12 08:00:00 +0900",
                "2024-03-12 08:10:00 +0900",
                unit="count",
                source=phone,
            ),
            _rec(
                "StepCount",
                1200,
                "2024-03-12 08:00:00 +0900",
                "2024-03-12 08:10:00 +0900",
                unit="count",
                source=watch,
            ),
            # Filed under its own local date, not UTC's (2024-03-12 23:30 UTC).
            _rec(
                "StepCount",
                77,
                "2024-03-13 08:30:00 +0900",
                "2024-03-13 08:40:00 +0900",
                unit="count",
                source=watch,
            ),
        )
    )
    days = _days(items)
    assert days[date(2024, 3, 11)]["steps"] == 8000
    assert days[date(2024, 3, 12)]["steps"] == 1200
    assert days[date(2024, 3, 13)]["steps"] == 77
    series = _series(items, "steps")
    assert set(series) == {phone, watch}
    assert (series[watch][2] - series[watch][0]).tolist() == [1800, 3600, 600, 600]


def test_sleep_goes_to_the_day_it_ends_from_the_source_that_slept_most():
    watch, phone, app, old = "Jin’s Apple Watch", "Jin’s iPhone", "AutoSleep", "Health"
    night1 = [  # ends 2024-03-11; crosses midnight
        _sleep("InBed", "2024-03-10 23:00:00 +0900", "2024-03-11 07:00:00 +0900", phone),
        _sleep("AsleepCore", "2024-03-10 23:10:00 +0900", "2024-03-11 01:00:00 +0900"),
        _sleep("AsleepDeep", "2024-03-11 01:00:00 +0900", "2024-03-11 02:00:00 +0900"),
        _sleep("AsleepREM", "2024-03-11 02:00:00 +0900", "2024-03-11 03:00:00 +0900"),
        _sleep("Awake", "2024-03-11 03:00:00 +0900", "2024-03-11 03:10:00 +0900"),
        _sleep("AsleepCore", "2024-03-11 03:10:00 +0900", "2024-03-11 06:40:00 +0900"),
        # Another app saw less sleep the same night: the watch wins.
        _sleep("AsleepUnspecified", "2024-03-10 23:30:00 +0900", "2024-03-11 06:00:00 +0900", app),
    ]
    night2 = [  # ends 2024-03-12: in bed only, no sleep recorded
        _sleep("InBed", "2024-03-11 23:00:00 +0900", "2024-03-12 07:00:00 +0900", phone),
    ]
    night3 = [  # ends 2024-03-13: before iOS 16, in bed + asleep (written twice) + a nap
        _sleep("InBed", "2024-03-12 22:30:00 +0900", "2024-03-13 07:00:00 +0900", old),
        _sleep("Asleep", "2024-03-12 23:00:00 +0900", "2024-03-13 06:30:00 +0900", old),
        _sleep("Asleep", "2024-03-12 23:00:00 +0900", "2024-03-13 06:30:00 +0900", old),
        _sleep("Asleep", "2024-03-13 14:00:00 +0900", "2024-03-13 14:30:00 +0900", old),
    ]
    items = _parse(_export(*night1, *night2, *night3))
    days = _days(items)
    assert days[date(2024, 3, 11)] == {
        "sleep_s": 6600 + 3600 + 3600 + 12600,
        "sleep_light_s": 6600 + 12600,
        "sleep_deep_s": 3600,
        "sleep_rem_s": 3600,
        "sleep_awake_s": 600,
    }
    assert date(2024, 3, 10) not in days
    assert date(2024, 3, 12) not in days  # in bed is not asleep
    assert days[date(2024, 3, 13)] == {"sleep_s": 27000 + 1800}  # stages not recorded: absent
    stages = _series(items, "sleep_stage")
    assert stages[watch][1].tolist() == [3, 4, 5, 2, 3]
    assert stages[phone][1].tolist() == [0, 0]
    assert stages[old][1].tolist() == [0, 1, 1]  # the duplicate row is dropped from the series
    assert (stages[watch][2] - stages[watch][0]).tolist() == [6600, 3600, 3600, 600, 12600]


def test_bad_records_are_skipped_and_counted():
    good = _rec("HeartRate", 61, "2024-03-11 08:00:00 +0900", unit="count/min")
    bad = [
        _rec("HeartRate", "abc", "2024-03-11 08:00:01 +0900", unit="count/min"),
        _rec("HeartRate", "nan", "2024-03-11 08:00:02 +0900", unit="count/min"),
        _rec("HeartRate", 62, "2024-03-11 08:00:03 +0900"),  # no unit
        _rec("HeartRate", 63, "2024-03-11 08:00:04 +0900", unit="furlongs"),
        _rec("HeartRate", 64, "2024-03-11 08:00:05", unit="count/min"),  # no offset
        _rec("HeartRate", 65, "2024-03-11T08:00:06Z", unit="count/min"),
        _rec("HeartRate", 66, "2024-02-30 08:00:07 +0900", unit="count/min"),
        _rec(
            "StepCount", 10, "2024-03-11 09:00:00 +0900", "2024-03-11 08:00:00 +0900", unit="count"
        ),  # ends before it starts
        _sleep("Dreaming", "2024-03-11 01:00:00 +0900", "2024-03-11 02:00:00 +0900"),
        ' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="x" unit="count/min"/>\n',
        _workout('duration="10" durationUnit="min"').replace("08:40:00 +0900", "08:40"),
    ]
    items = _parse(_export(good, *bad))
    assert _series(items, "heart_rate")["Jin’s Apple Watch"][1].tolist() == [61]
    assert _notices(items)["apple_health_invalid_records"] == {"records": len(bad)}
    assert _activities(items) == []


def test_chunks_are_bounded_sorted_and_unique_per_time():
    records = [
        _rec("HeartRate", 60 + i, f"2024-03-11 08:{59 - i:02d}:00 +0900", unit="count/min")
        for i in range(25)
    ]
    records.append(_rec("HeartRate", 99, "2024-03-11 08:59:00 +0900", unit="count/min"))  # dup
    records += [
        _rec("HeartRate", 70, f"2024-03-11 09:0{i}:00 +0900", unit="count/min", source="Polar")
        for i in range(7)
    ]
    items = _parse(_export(*records), chunk_rows=10)
    chunks = [item for item in items if isinstance(item, HealthSeries)]
    assert all(0 < len(chunk) <= 10 for chunk in chunks)
    assert sorted(len(chunk) for chunk in chunks if chunk.device == "Polar") == [7]
    times, values, _ = _series(items, "heart_rate")["Jin’s Apple Watch"]
    assert len(times) == 25
    assert (np.diff(times) > 0).all()  # sorted across chunks too
    assert values[-1] == 60  # 08:59: the first one written wins
    with pytest.raises(ValueError):
        _parse(_export(), chunk_rows=0)


def test_a_time_repeated_across_chunk_boundaries_is_sent_once():
    base = datetime(2024, 3, 11, 8, 0, tzinfo=UTC).timestamp()
    stamps = [
        datetime.fromtimestamp(base + i, UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
        for i in range(4100)
    ]
    stamps[4096] = stamps[4095]  # the first row of the second batch repeats the last of the first
    records = [_rec("HeartRate", 60, stamp, unit="count/min") for stamp in stamps]
    items = _parse(_export(*records), chunk_rows=4096)
    times = _series(items, "heart_rate")["Jin’s Apple Watch"][0]
    assert len(times) == 4099
    assert len(np.unique(times)) == 4099


# -- broken and hostile XML -----------------------------------------------------------------


def test_ios16_dtd_and_control_characters_are_tolerated():
    data = _export(
        _rec(
            "HeartRate",
            61,
            "2024-03-11 08:00:00 +0900",
            unit="count/min",
            source="Jin\x0bs Watch",
            children='  <MetadataEntry key="note" value="a\x1fb&#11;c&#x1F;d"/>\n',
        ),
        _rec("HeartRate", 62, "2024-03-11 08:01:00 +0900", unit="count/min"),
        prolog=BROKEN_DTD,
    )
    with pytest.raises(ET.ParseError):  # the stdlib cannot read what Apple ships
        ET.fromstring(data)  # noqa: S314 - our own bytes
    items = _parse(data)
    series = _series(items, "heart_rate")
    assert series["Jins Watch"][1].tolist() == [61]
    assert series["Jin’s Apple Watch"][1].tolist() == [62]
    assert "apple_health_invalid_records" not in _notices(items)

    # Line numbers still point into the original file, DTD lines included.
    broken = data.replace(b"</HealthData>", b"<Record></HealthData>")
    error = _error(broken)
    assert error.code == "xml_malformed"
    assert error.params["line"] == broken.count(b"\n")


def test_sanitizer_output_does_not_depend_on_chunk_boundaries():
    data = _export(
        _rec(
            "HeartRate",
            61,
            "2024-03-11 08:00:00 +0900",
            unit="count/min",
            children='  <MetadataEntry key="k" value="x&#11;y&#x0B;z&#10;&amp;\x0b"/>\n',
        ),
        prolog="<!-- <a> ]> <!DOCTYPE --><?pi <b> ?>\n" + BROKEN_DTD,
    )
    whole = Sanitizer().feed(data, final=True)
    assert b"<!-- <a> ]> <!DOCTYPE -->" in whole  # comments are kept as they are
    assert b"<!DOCTYPE HealthData" not in whole
    assert b"<!ELEMENT" not in whole
    assert b"\x0b" not in whole
    assert b"&#11;" not in whole
    assert b"&#10;&amp;" in whole
    assert whole.count(b"\n") == data.count(b"\n")
    rng = random.Random(7)  # noqa: S311 - reproducible test data
    for _ in range(300):
        sanitizer, out, pos = Sanitizer(), [], 0
        while pos < len(data):
            step = rng.randint(1, 14)
            out.append(sanitizer.feed(data[pos : pos + step]))
            pos += step
        out.append(sanitizer.feed(b"", final=True))
        assert b"".join(out) == whole


def test_external_entities_are_refused_and_nothing_is_fetched():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/evil.dtd"
    try:
        body = '<HealthData locale="en_US">&xxe;</HealthData>'
        for prolog in (
            '<!DOCTYPE HealthData [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            f'<!DOCTYPE HealthData [<!ENTITY xxe SYSTEM "{url}">]>',
            f'<!DOCTYPE HealthData [<!ENTITY % p SYSTEM "{url}"> %p;]>',
            # text inside a comment must not make the filter think the root has started
            '<!-- <HealthData> --><!DOCTYPE HealthData [<!ENTITY xxe "boom">]>',
        ):
            error = _error(f'<?xml version="1.0"?>\n{prolog}\n{body}'.encode())
            assert error.code == "xml_entities", prolog
        # An external DTD alone is dropped unread; its entity is then simply undefined.
        error = _error(
            f'<?xml version="1.0"?>\n<!DOCTYPE HealthData SYSTEM "{url}">\n{body}'.encode()
        )
        assert (error.code, error.params) == ("xml_malformed", {"line": 3})
        error = _error(f'<?xml version="1.0"?>\n{body}'.encode())  # no DTD at all
        assert (error.code, error.params) == ("xml_malformed", {"line": 2})
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody called
    finally:
        listener.close()


def test_billion_laughs_is_refused_quickly():
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE HealthData [{entities}]>\n'
        '<HealthData locale="en_US"><Me a="&lol9;"/></HealthData>'
    ).encode()
    started = time.perf_counter()
    assert _error(data).code == "xml_entities"
    assert time.perf_counter() - started < 1.0


def test_a_doctype_that_reaches_the_parser_trips_the_wire():
    from lxml import etree

    from app.sources.apple_health.parser import _ExportTarget

    parser = etree.XMLParser(target=_ExportTarget(None, 10), resolve_entities=False)
    with pytest.raises(SourceDataError) as caught:
        parser.feed(b'<!DOCTYPE HealthData [<!ENTITY x "y">]><HealthData>&x;</HealthData>')
        parser.close()
    assert caught.value.code == "xml_entities"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00binary zip bytes",
        b"date,steps\n2024-03-11,8000\n",
        b'<?xml version="1.0"?>\n<gpx version="1.1"><trk/></gpx>',
        b'<Record type="HKQuantityTypeIdentifierHeartRate" value="60"/>',
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE HealthData [\n<!ELEMENT a (b)>\n',
    ],
)
def test_anything_else_is_not_an_export(data):
    assert _error(data).code == "apple_health_not_export"


# -- the parser process -----------------------------------------------------------------------


def _big_export(tmp_path: Path) -> Path:
    """Three watches of 12,000 heart rates each: three series of ~190 kB pickled, sent at the
    end, far more than a 4 kB pipe holds."""
    base = datetime(2024, 3, 11, tzinfo=UTC).timestamp()
    stamps = [
        datetime.fromtimestamp(base + i, UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
        for i in range(12_000)
    ]
    records = [
        _rec("HeartRate", 60 + i % 50, stamp, unit="count/min", source=f"Watch {device}")
        for device in range(3)
        for i, stamp in enumerate(stamps)
    ]
    path = tmp_path / "export.xml"
    path.write_bytes(_export(*records))
    return path


def _parser_processes() -> list[int]:
    """This process's children running the parser process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if parent == os.getpid() and b"app.sources.apple_health.worker" in command:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("pipe_bytes", [4096, worker.PIPE_BYTES])
def test_the_parser_process_sends_exactly_what_the_parser_yields(tmp_path, monkeypatch, pipe_bytes):
    monkeypatch.setattr(worker, "PIPE_BYTES", pipe_bytes)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as out:  # a workout with its route, read from the ZIP
        out.write(FIXTURES / "dogsheep-export.xml", "apple_health_export/export.xml")
        out.write(FIXTURES / "dogsheep-route_2019-06-11_3.00pm.gpx", "apple_health_export/" + ROUTE)
    for path, zipped in ((_big_export(tmp_path), False), (archive, True)):
        here = list(parse_export_file(path, zipped=zipped))
        there = list(parse_in_child(path, zipped=zipped))
        assert [pickle.dumps(item) for item in there] == [pickle.dumps(item) for item in here]
        assert any(isinstance(item, HealthSeries) for item in there)
    assert _activities(there)[0].samples is not None  # the route came through the archive
    assert _parser_processes() == []


def test_the_parser_process_raises_the_files_error(tmp_path):
    path = tmp_path / "export.xml"
    data = (FIXTURES / "dogsheep-export.xml").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceDataError) as caught:
        list(parse_in_child(path, zipped=False))
    assert caught.value.code == "xml_malformed"
    assert caught.value.params["line"] > 1


def test_a_parser_process_that_dies_is_an_internal_error(tmp_path, monkeypatch):
    monkeypatch.setattr(worker, "PIPE_BYTES", 4096)
    entries = parse_in_child(_big_export(tmp_path), zipped=False)
    next(entries)  # the child now waits for room in the pipe: two series are still to come
    (child,) = _parser_processes()
    os.kill(child, signal.SIGKILL)
    with pytest.raises(SourceDataError) as caught:
        list(entries)
    assert caught.value.code == "internal"
    assert caught.value.params == {"error": f"parser exit status {-signal.SIGKILL}"}
    assert _parser_processes() == []


def test_closing_early_stops_the_parser_process(tmp_path, monkeypatch):
    monkeypatch.setattr(worker, "PIPE_BYTES", 4096)
    entries = parse_in_child(_big_export(tmp_path), zipped=False)
    next(entries)
    assert len(_parser_processes()) == 1
    entries.close()
    assert _parser_processes() == []


def test_the_parser_process_imports_only_the_parser():
    """A lean child is the point (about 45 MB, where the whole application is about 150)."""
    loaded = loaded_by(worker.__name__)
    assert worker.__name__ in loaded
    heavy = ("scipy", "sqlalchemy", "psycopg", "pydantic", "app.services", "app.db", "app.web")
    assert [name for name in loaded if name.startswith(heavy)] == []


# -- vectorised dates, the generator ----------------------------------------------------------


def test_vectorised_dates_agree_with_the_scalar_parser():
    rng = random.Random(11)  # noqa: S311 - reproducible test data
    texts = []
    for _ in range(3000):
        text = (
            f"{rng.choice([1899, 1970, 2016, 2024, 2199, 2200])}-{rng.randint(0, 13):02d}-"
            f"{rng.randint(0, 32):02d} {rng.randint(0, 24):02d}:{rng.randint(0, 60):02d}:"
            f"{rng.randint(0, 60):02d} {rng.choice('+-')}{rng.randint(0, 14):02d}"
            f"{rng.choice([0, 30, 45, 60]):02d}"
        )
        if rng.random() < 0.05:
            position = rng.randrange(len(text))
            text = text[:position] + rng.choice("x :T-") + text[position + 1 :]
        texts.append(text)
    times, days, ok = parse_dates(texts)
    assert ok.any()
    assert not ok.all()
    for text, time_s, day, valid in zip(texts, times, days, ok, strict=True):
        try:
            expected = epoch(text)
        except ValueError:
            assert not valid, text
            continue
        assert valid, text
        assert time_s == expected == _ts(text)
        assert day == (date.fromisoformat(text[:10]) - date(1970, 1, 1)).days
    # Lists with odd lengths take the careful path and agree too.
    mixed = ["2024-03-11 08:00:00 +0900", "2024-03-11 08:00", "2024-03-11 08:00:00 +09000"]
    assert parse_dates(mixed)[2].tolist() == [True, False, False]


def test_generator_writes_a_realistic_ios16_export(tmp_path):
    path = tmp_path / "export.xml"
    started = time.perf_counter()
    counts = write_export(path, 3, seed=5)
    assert time.perf_counter() - started < 5
    assert counts["bytes"] == path.stat().st_size
    assert 1_500_000 < counts["bytes"] < 4_500_000  # whole days of about 0.6 MB each
    assert counts["control_chars"] >= 1
    raw = path.read_bytes()
    assert b"HealthKit Export Version: 12" in raw
    assert b"<HeartRateVariabilityMetadataList>" in raw
    assert b"<FileReference path=" in raw
    with pytest.raises(ET.ParseError):
        ET.fromstring(raw)  # noqa: S314 - our own bytes
    items = _parse(raw)
    assert len(_activities(items)) == counts["workouts"] > 0
    notices = _notices(items)
    assert "apple_health_invalid_records" not in notices
    handled = sum(len(item) for item in items if isinstance(item, HealthSeries))
    energy = raw.count(f'<Record type="{Q}ActiveEnergyBurned"'.encode())
    duplicates = counts["records"] - notices["apple_health_skipped_types"]["records"] - energy
    assert 0 <= duplicates - handled < counts["records"] * 0.01  # a few same-second repeats
    assert len(_days(items)) >= counts["days"]
    heart = _series(items, "heart_rate")
    assert max(len(v[0]) for v in heart.values()) > max(
        len(v[0]) for metric in ("steps", "sleep_stage") for v in _series(items, metric).values()
    )
    again = tmp_path / "again.xml"
    write_export(again, 3, seed=5)
    assert again.read_bytes() == raw
