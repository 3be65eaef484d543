"""The FIT decoder on real files: values cross-checked against fitdecode and fitparse read
directly here, the fast and the tolerant path compared, every kind of broken input.

Fixtures: ``tests/fixtures/fit`` (MIT/BSD copies, see SOURCES.md there), and the GPL, AGPL and
FIT SDK files of ``shared/fixtures/fit``, whose tests skip when that folder is absent (and fail
in CI and inside the development root, ``tests.support.shared``). The
fast-versus-tolerant comparison covers every valid fixture up to 160 kB by default (the tolerant
path is pure Python); ``DOMESTIQUE_FIT_ALL=1`` extends it to every valid fixture.
"""

from __future__ import annotations

import functools
import io
import json
import math
import pickle
import struct
import time
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fitdecode
import fitparse
import numpy as np
import pytest

from app.records import Activity, DecodedFile
from app.sources import SourceDataError
from app.sources.fit import decode_fit, looks_like_fit
from tests.support.shared import unavailable

# fitparse 1.2.0 calls datetime.utcfromtimestamp for every date field.
pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning:fitparse.*", "ignore::UserWarning:fitdecode.*"
)

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "tests" / "fixtures" / "fit"
SHARED = ROOT.parent / "shared" / "fixtures" / "fit"
FIT_EPOCH = 631065600
SEMICIRCLE = 180 / 2**31


def fixture(path: str) -> bytes:
    """A fixture by its path under shared/fixtures/fit; the local copy when there is one."""
    local = LOCAL / Path(path).name
    if local.exists():
        return local.read_bytes()
    shared = SHARED / path
    if shared.exists():
        return shared.read_bytes()
    unavailable(f"the shared fixture {path}")


# --- independent readings ----------------------------------------------------------------------


@functools.cache
def _fitdecode_read(data: bytes) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    with fitdecode.FitReader(
        io.BytesIO(data),
        check_crc=fitdecode.CrcCheck.DISABLED,
        error_handling=fitdecode.ErrorHandling.IGNORE,
    ) as reader:
        try:
            for frame in reader:
                if frame.frame_type == fitdecode.FIT_FRAME_DATA:
                    row: dict = {}
                    for item in frame.fields:
                        if item.value is not None and item.name not in row:
                            row[item.name] = item.value
                    out.setdefault(frame.name, []).append(row)
        except fitdecode.FitError:
            pass
    return out


def fitdecode_messages(data: bytes, name: str) -> list[dict]:
    """Every ``name`` message as fitdecode reads it (up to a break), each field's first valid
    value."""
    return _fitdecode_read(data).get(name, [])


def expected_times(records: list[dict]) -> list[float]:
    """Sample times as the decoder promises them: timestamped records, in order, a time that is
    not after every earlier one joins (equal) or is dropped (earlier)."""
    times: list[float] = []
    for row in records:
        stamp = row.get("timestamp")
        if stamp is None:
            continue
        t = stamp.timestamp()
        if not times or t > times[-1]:
            times.append(t)
    return times


def assert_fast(decoded: DecodedFile) -> None:
    assert {a.extras["decoder"] for a in decoded.activities} == {"fitfast"}


def samples_of(decoded: DecodedFile) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """All activities' samples end to end."""
    parts = [a.samples for a in decoded.activities if a.samples is not None]
    time_ = np.concatenate([p.time for p in parts])
    names = {name for p in parts for name in p.channels}
    return time_, {n: np.concatenate([p.channel(n) for p in parts]) for n in names}


# --- the header check and inputs that are not FIT ------------------------------------------------


def test_looks_like_fit_reads_the_header():
    data = fixture("python-fitparse/null_compressed_speed_dist.fit")  # a 12-byte header
    assert looks_like_fit(data[:14])
    assert looks_like_fit(fixture("garth/12129115726_ACTIVITY.fit")[:14])  # 14 bytes
    assert not looks_like_fit(b"")
    assert not looks_like_fit(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    assert not looks_like_fit(data[:11])
    assert not looks_like_fit(b"\x0e\x10\0\0\0\0\0\0.GIT\0\0")
    assert not looks_like_fit(b"\x05\x10\0\0\0\0\0\0.FIT\0\0")  # header size below 12


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        np.random.default_rng(7).bytes(100),
        b".FIT" * 10,
    ],
    ids=["empty", "png", "random", "magic-misplaced"],
)
def test_what_is_not_fit_is_refused_as_not_fit(data):
    with pytest.raises(SourceDataError) as caught:
        decode_fit(data)
    assert caught.value.code == "not_fit"


def test_a_header_followed_by_garbage_is_corrupt():
    body = bytes([0x0F]) + np.random.default_rng(3).bytes(200)  # data for undefined local 15
    header = bytes([12, 0x10]) + struct.pack("<HI", 2132, len(body)) + b".FIT"
    with pytest.raises(SourceDataError) as caught:
        decode_fit(header + body + b"\0\0")
    assert caught.value.code == "fit_corrupt"


def test_a_header_without_messages_is_empty():
    header = bytes([12, 0x10]) + struct.pack("<HI", 2132, 0) + b".FIT"
    with pytest.raises(SourceDataError) as caught:
        decode_fit(header + b"\0\0")
    assert caught.value.code == "fit_empty"


# --- well-formed files: values against fitdecode and fitparse -------------------------------------


def test_samples_match_fitparse_record_by_record():
    data = fixture("python-fitparse/elemnt-bolt-no-application-id-inside-developer-data-id.fit")
    decoded = decode_fit(data)
    assert_fast(decoded)
    fit = fitparse.FitFile(io.BytesIO(data))
    records = [m.get_values() for m in fit.get_messages("record")]
    (activity,) = decoded.activities
    samples = activity.samples
    assert len(samples) == len(records) == 132
    stamps = [r["timestamp"].replace(tzinfo=UTC).timestamp() for r in records]
    np.testing.assert_array_equal(samples.time, stamps)
    for name, key in [("heart_rate", "heart_rate"), ("power", "power"), ("cadence", "cadence")]:
        expected = [r.get(key) for r in records]
        got = samples.channel(name)
        assert [None if math.isnan(v) else v for v in got] == [
            None if v in (None, 0) and name == "heart_rate" else v for v in expected
        ]
    np.testing.assert_allclose(
        samples.channel("distance"), [r.get("distance", np.nan) for r in records]
    )
    np.testing.assert_allclose(
        samples.channel("lat"),
        [r["position_lat"] * SEMICIRCLE if r.get("position_lat") else np.nan for r in records],
    )
    (session,) = [m.get_values() for m in fit.get_messages("session")]
    assert activity.start == session["start_time"].replace(tzinfo=UTC)
    assert activity.elapsed_s == session["total_elapsed_time"]
    assert activity.distance_m == session["total_distance"]
    assert activity.sport == "cycling" and activity.device == "wahoo_fitness 31"


def test_a_ride_against_fitdecode():
    data = fixture("python-fitparse/Edge810-Vector-2013-08-16-15-35-10.fit")
    decoded = decode_fit(data)
    assert_fast(decoded)  # its header CRC is 0 ("not computed"): no notice, still fast
    assert decoded.notices == []
    records = fitdecode_messages(data, "record")
    (activity,) = decoded.activities
    time_ = activity.samples.time
    np.testing.assert_array_equal(time_, expected_times(records))
    assert len(time_) == 4700
    by_time = {r["timestamp"].timestamp(): r for r in reversed(records)}  # first record wins
    for name, key in [("power", "power"), ("altitude", "altitude"), ("speed", "speed")]:
        expected = [by_time[t].get(key, np.nan) for t in time_]
        np.testing.assert_allclose(activity.samples.channel(name), expected, rtol=1e-12)
    (session,) = fitdecode_messages(data, "session")
    assert activity.avg_power == session["avg_power"]
    assert activity.max_hr == session["max_heart_rate"]
    assert activity.ascent_m == session["total_ascent"]
    assert activity.device == "garmin edge810"
    assert [lap.start for lap in activity.laps] == [
        lap["start_time"] for lap in fitdecode_messages(data, "lap")
    ]


def test_a_field_written_twice_counts_with_its_first_valid_value():
    """Zwift writes ``distance`` twice and ``speed`` twice per record (one of each invalid)."""
    data = fixture("python-fitparse/null_compressed_speed_dist.fit")
    decoded = decode_fit(data)
    assert_fast(decoded)
    records = fitdecode_messages(data, "record")  # first valid value per name
    samples = decoded.activities[0].samples
    np.testing.assert_allclose(samples.channel("distance"), [r["distance"] for r in records])
    np.testing.assert_allclose(samples.channel("speed"), [r["speed"] for r in records])
    assert samples.channel("speed")[0] == 2.57 and samples.channel("distance")[0] == 2.19
    # No heart-rate strap: Zwift writes 0, which is "not recorded".
    assert "heart_rate" not in samples.channels
    assert decoded.activities[0].avg_hr is None
    assert decoded.activities[0].device == "zwift 0"


def test_compressed_speed_distance_and_a_clock_relative_to_power_on():
    data = fixture("python-fitparse/compressed-speed-distance.fit")
    decoded = decode_fit(data)
    assert_fast(decoded)
    fit = fitparse.FitFile(io.BytesIO(data))
    records = [m.get_values() for m in fit.get_messages("record")]
    (activity,) = decoded.activities
    assert len(activity.samples) == len(records) == 755
    np.testing.assert_allclose(
        activity.samples.channel("speed"), [r.get("speed", np.nan) for r in records]
    )
    np.testing.assert_allclose(
        activity.samples.channel("distance"), [r.get("distance", np.nan) for r in records]
    )
    # The FR70 has no real-time clock: times count from power-on (1990 as dates). The activity
    # message's local_timestamp puts them on the wall clock.
    assert activity.extras["clock"] == "local"
    assert activity.start == datetime(2012, 2, 13, 11, 16, 16, tzinfo=UTC)
    assert activity.local_start == datetime(2012, 2, 13, 11, 16, 16)
    assert activity.elapsed_s == pytest.approx(3883.273)
    assert activity.device == "garmin fr70"


def test_local_start_device_and_sport_names():
    data = fixture("garth/12129115726_ACTIVITY.fit")
    (activity,) = decode_fit(data).activities
    (act,) = fitdecode_messages(data, "activity")
    offset = act["local_timestamp"].replace(tzinfo=None) - act["timestamp"].replace(tzinfo=None)
    assert activity.start == datetime(2023, 9, 29, 0, 10, 57, tzinfo=UTC)
    assert activity.local_start == activity.start.replace(tzinfo=None) + offset
    assert activity.local_start == datetime(2023, 9, 28, 18, 10, 57)
    assert (activity.sport, activity.sub_sport) == ("training", "yoga")
    assert activity.device == "garmin fenix6x"
    assert activity.start.tzinfo is UTC


def test_times_do_not_depend_on_the_machine_time_zone(monkeypatch):
    data = fixture("garth/12129115726_ACTIVITY.fit")
    before = decode_fit(data).activities[0]
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    try:
        after = decode_fit(data).activities[0]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert (after.start, after.local_start) == (before.start, before.local_start)
    np.testing.assert_array_equal(after.samples.time, before.samples.time)


def test_developer_fields_follow_the_samples_and_are_json():
    data = fixture("python-fitparse/developer-types-sample.fit")
    decoded = decode_fit(data)
    assert_fast(decoded)
    (activity,) = decoded.activities
    record = activity.developer_fields["record"]
    assert {name: spec["units"] for name, spec in record.items()} == {
        "Form Power": "Watts",
        "Leg Spring Stiffness": "KN/m",
        "Distance": "Meters",
        "Speed": "M/S",
    }
    assert all(len(spec["values"]) == len(activity.samples) for spec in record.values())
    rows = fitdecode_messages(data, "record")
    assert record["Form Power"]["values"] == [float(r["Form Power"]) for r in rows]
    np.testing.assert_allclose(
        record["Leg Spring Stiffness"]["values"], [r["Leg Spring Stiffness"] for r in rows]
    )
    text = json.dumps(activity.developer_fields, allow_nan=False)
    assert json.loads(text) == activity.developer_fields
    assert all(type(v) is float for v in record["Speed"]["values"])


def test_session_developer_fields_keep_strings_arrays_and_scale():
    decoded = decode_fit(fixture("garmin-fit-python-sdk/ActivityDevFields.fit"))
    assert decoded.activities[0].developer_fields["session"] == {
        "message field": "Hello!",
        "thingys": [-10, 12],
    }
    suunto = decode_fit(fixture("sports-lib-AGPL/6909950168.fit")).activities[0]
    # peak_epoc and estimated_vo2_max carry scale 10 in their field_description.
    assert suunto.developer_fields["session"] == {
        "feeling": 1,
        "recovery_time": 38400,
        "peak_epoc": 71.8,
        "estimated_vo2_max": 53.0,
    }
    json.dumps([a.developer_fields for a in decoded.activities], allow_nan=False)


def test_a_developer_slot_reused_by_a_second_app_keeps_both_names():
    """The fenix 5X triathlon: a W'bal app on the bike and Stryd on the run both use developer
    data index 0, field 0 (float ``wprime_bal`` in kJ, then uint16 ``Power`` in W)."""
    decoded = decode_fit(fixture("goldencheetah-GPL/MultiSport-2019-11-24.fit"))
    assert_fast(decoded)
    bike, run = decoded.activities[2], decoded.activities[4]
    assert (bike.sport, run.sport) == ("cycling", "running")
    wbal = [v for v in bike.developer_fields["record"]["wprime_bal"]["values"] if v is not None]
    assert "Power" not in bike.developer_fields["record"]
    assert min(wbal) > 0 and max(wbal) <= 40.0  # kJ left of a 40 kJ W'
    power = [v for v in run.developer_fields["record"]["Power"]["values"] if v is not None]
    assert "wprime_bal" not in run.developer_fields["record"]
    assert 150 < np.mean(power) < 400 and all(float(v).is_integer() for v in power)


# --- multisport -----------------------------------------------------------------------------------


def test_multisport_legs_split_the_samples_by_session():
    data = fixture("python-fitparse/sample_mulitple_header.fit")  # chained FIT files
    decoded = decode_fit(data)
    assert_fast(decoded)
    sessions = fitdecode_messages(data, "session")
    legs = decoded.activities
    assert [(a.sport, a.sub_sport) for a in legs] == [
        ("swimming", "open_water"),
        ("transition", "generic"),
        ("cycling", "generic"),
        ("transition", "generic"),
        ("running", "generic"),
    ]
    assert [a.multisport_index for a in legs] == [0, 1, 2, 3, 4]
    assert [a.start for a in legs] == [s["start_time"] for s in sessions]
    assert [a.elapsed_s for a in legs] == [s["total_elapsed_time"] for s in sessions]
    time_, _ = samples_of(decoded)
    np.testing.assert_array_equal(time_, expected_times(fitdecode_messages(data, "record")))
    for leg, following in zip(legs, [*legs[1:], None], strict=True):
        assert leg.samples.time[0] >= leg.start.timestamp()
        if following is not None:
            assert leg.samples.time[-1] < following.start.timestamp()
        assert [lap.start for lap in leg.laps] == [leg.start]  # one lap per leg here
    assert {a.device for a in legs} == {"garmin fr920xt"}
    assert len({a.local_start - a.start.replace(tzinfo=None) for a in legs}) == 1


def _same_activity(a: Activity, b: Activity, *, ignore: tuple[str, ...] = ()) -> None:
    for spec in fields(Activity):
        if spec.name in ignore:
            continue
        x, y = getattr(a, spec.name), getattr(b, spec.name)
        if spec.name == "samples":
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_array_equal(x.time, y.time)
                assert sorted(x.channels) == sorted(y.channels)
                for name in x.channels:
                    np.testing.assert_allclose(
                        x.channels[name], y.channels[name], rtol=1e-12, atol=1e-9
                    )
        elif spec.name == "rr_intervals_ms":
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_array_equal(x, y)
        elif spec.name == "extras":
            assert {k: v for k, v in x.items() if k != "decoder"} == {
                k: v for k, v in y.items() if k != "decoder"
            }
        elif spec.name == "developer_fields":
            assert json.dumps(x, sort_keys=True) == json.dumps(y, sort_keys=True)
        elif isinstance(x, float) and isinstance(y, float):
            assert x == pytest.approx(y, rel=1e-12), spec.name
        else:
            assert x == y, spec.name


def test_summary_messages_first_or_last_give_the_same_activities():
    first = decode_fit(fixture("muktihari-fit/triathlon_summary_first.fit"))
    last = decode_fit(fixture("muktihari-fit/triathlon_summary_last.fit"))
    assert [a.sport for a in first.activities] == [
        "swimming",
        "transition",
        "cycling",
        "transition",
        "running",
    ]
    assert len(first.activities) == len(last.activities) == 5
    for a, b in zip(first.activities, last.activities, strict=True):
        _same_activity(a, b)
    assert sum(len(a.samples) for a in first.activities) == 4043


# --- heart rate from hr messages, R-R intervals --------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "python-fitparse/event_timestamp.fit",
        "tormoder-fit/activity_poolswim_with_hr.fit",
        "muktihari-fit/HrmPluginTestActivity.fit",
        "python-fitparse/sample_mulitple_header.fit",
    ],
)
def test_heart_rate_from_hr_messages_is_merged_into_the_samples(path):
    decoded = decode_fit(fixture(path))
    assert_fast(decoded)
    for activity in decoded.activities:
        hr = activity.samples.channel("heart_rate")
        assert np.isfinite(hr).mean() > 0.95
        assert np.nanmean(hr) == pytest.approx(activity.avg_hr, abs=7)
        assert np.nanmax(hr) <= activity.max_hr + 1


def test_the_pool_swim_had_no_heart_rate_in_its_records():
    data = fixture("python-fitparse/event_timestamp.fit")
    assert not any("heart_rate" in r for r in fitdecode_messages(data, "record"))
    assert len(fitdecode_messages(data, "hr")) == 1415
    (activity,) = decode_fit(data).activities
    assert np.isfinite(activity.samples.channel("heart_rate")).all()
    assert activity.avg_hr == 142 and np.nanmean(activity.samples.channel("heart_rate")) > 135


def test_where_records_and_the_strap_both_have_heart_rate_they_agree():
    data = fixture("muktihari-fit/HrmPluginTestActivity.fit")
    records = fitdecode_messages(data, "record")
    live = {r["timestamp"].timestamp(): r["heart_rate"] for r in records if "heart_rate" in r}
    (activity,) = decode_fit(data).activities
    merged = dict(zip(activity.samples.time, activity.samples.channel("heart_rate"), strict=True))
    diffs = [abs(merged[t] - bpm) for t, bpm in live.items()]
    assert len(diffs) > 50 and np.mean(diffs) < 2.5


def _valid_rr(data: bytes) -> list[float]:
    out = []
    for row in fitdecode_messages(data, "hrv"):
        values = row["time"] if isinstance(row["time"], tuple) else (row["time"],)
        out += [round(v * 1000) for v in values if v is not None and round(v * 1000) != 65535]
    return out


@pytest.mark.parametrize(
    "path",
    ["goldencheetah-GPL/HRV-Data.fit", "goldencheetah-GPL/Move_2020_01_15_19_27_16_Running.fit"],
)
def test_rr_intervals_come_from_hrv_messages(path):
    data = fixture(path)
    (activity,) = decode_fit(data).activities
    rr = activity.rr_intervals_ms
    assert rr.dtype == np.float64
    assert rr.tolist() == _valid_rr(data)
    assert rr.min() > 0 and rr.max() < 3000
    # the mean R-R against the mean heart rate
    mean_hr = np.nanmean(activity.samples.channel("heart_rate"))
    assert 60000 / np.mean(rr[(rr > 300) & (rr < 2000)]) == pytest.approx(mean_hr, rel=0.1)


def test_rr_intervals_of_a_triathlon_go_to_their_legs():
    data = fixture("goldencheetah-GPL/MultiSport-2019-11-24.fit")
    decoded = decode_fit(data)
    counts = [
        0 if a.rr_intervals_ms is None else len(a.rr_intervals_ms) for a in decoded.activities
    ]
    assert counts[0] == 0  # the strap sends no R-R under water
    assert counts[2] > 40000 and counts[4] > 20000
    for activity in decoded.activities[1:]:
        rr = activity.rr_intervals_ms
        expected_beats = activity.avg_hr / 60 * activity.elapsed_s
        assert len(rr) == pytest.approx(expected_beats, rel=0.1)


# --- broken files ---------------------------------------------------------------------------------


def test_a_wrong_file_crc_is_reported_and_the_data_kept():
    data = fixture("python-fitparse/elemnt-bolt-no-application-id-inside-developer-data-id.fit")
    broken = data[:-2] + bytes([data[-2] ^ 0xFF, data[-1]])
    decoded = decode_fit(broken)
    assert [n.code for n in decoded.notices] == ["fit_crc_mismatch"]
    assert_fast(decoded)
    _same_activity(decoded.activities[0], decode_fit(data).activities[0])


def test_the_sdk_file_with_a_bad_crc():
    decoded = decode_fit(fixture("python-fitparse/activity-filecrc.fit"))
    assert [(n.code, n.params) for n in decoded.notices] == [("fit_crc_mismatch", {})]
    assert len(decoded.activities[0].samples) == 14


def test_a_corrupted_data_byte_under_a_good_crc_is_partial_or_kept():
    data = bytearray(
        fixture("python-fitparse/elemnt-bolt-no-application-id-inside-developer-data-id.fit")
    )
    data[3000] ^= 0xFF
    decoded = decode_fit(bytes(data))
    assert "fit_crc_mismatch" in [n.code for n in decoded.notices]


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_a_cut_file_keeps_the_records_before_the_cut(fraction):
    data = fixture("python-fitparse/null_compressed_speed_dist.fit")
    cut = data[: int(len(data) * fraction)]
    decoded = decode_fit(cut)
    before = fitdecode_messages(cut, "record")
    assert [(n.code, n.params) for n in decoded.notices] == [
        ("fit_truncated", {"records": len(before)})
    ]
    (activity,) = decoded.activities  # no session yet: built from the records
    assert activity.extras["summary"] == "from_records"
    assert activity.sport == "generic"  # Zwift names its sport only in the session
    np.testing.assert_array_equal(activity.samples.time, expected_times(before))
    assert activity.elapsed_s == activity.samples.time[-1] - activity.samples.time[0]
    assert activity.distance_m == np.nanmax(activity.samples.channel("distance"))


def test_a_triathlon_cut_during_a_leg_keeps_that_leg():
    """This FR255 writes each leg's session when the leg ends; cut during the second transition,
    the file has three sessions, then records of a leg without one."""
    data = fixture("muktihari-fit/triathlon_summary_last.fit")
    full = decode_fit(data)
    decoded = decode_fit(data[: len(data) // 2])
    assert [n.code for n in decoded.notices] == ["fit_truncated"]
    legs = decoded.activities
    assert [(a.sport, a.multisport_index) for a in legs] == [
        ("swimming", 0),
        ("transition", 1),
        ("cycling", 2),
        ("transition", 3),  # from the fourth sport message
    ]
    assert legs[3].extras["summary"] == "from_records"
    for cut, whole in zip(legs[:2], full.activities, strict=False):
        _same_activity(cut, whole, ignore=("local_start",))  # the activity message is last
    assert legs[0].local_start is None
    t2 = full.activities[3].samples.time
    np.testing.assert_array_equal(legs[3].samples.time, t2[1 : 1 + len(legs[3].samples)])


def test_nick_is_truncated():
    decoded = decode_fit(fixture("python-fitparse/nick.fit"))
    assert [(n.code, n.params) for n in decoded.notices] == [("fit_truncated", {"records": 14391})]
    (activity,) = decoded.activities
    assert len(activity.samples) == 14383  # 8 records repeat the previous second
    assert activity.extras["merged_records"] == 8
    assert activity.extras["decoder"] == "fitdecode"


def test_an_undefined_local_message_keeps_what_came_before():
    data = fixture("python-fitparse/strava-android-app-201.10-b1218918.fit")
    decoded = decode_fit(data)
    assert [(n.code, n.params) for n in decoded.notices] == [("fit_partial", {"records": 473})]
    (activity,) = decoded.activities
    assert activity.sport == "running" and activity.distance_m == pytest.approx(11274.04)
    samples = activity.samples
    # The app writes two records per second (position and speed, then distance): one sample
    # each. The last record before the break is garbage dated 2085: dropped.
    assert len(samples) == 235
    assert activity.extras == {"decoder": "fitdecode", "dropped_records": 1, "merged_records": 237}
    assert np.isfinite(samples.channel("distance")).sum() > 230
    assert np.isfinite(samples.channel("lat")).sum() > 230
    assert samples.time[-1] < activity.start.timestamp() + activity.elapsed_s + 60


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("python-fitparse/activity-unexpected-eof.fit", "fit_truncated"),
        ("python-fitparse/activity-settings-nodata.fit", "fit_truncated"),
        ("python-fitparse/activity-settings-corruptheader.fit", "fit_partial"),
    ],
)
def test_broken_sdk_files_keep_their_14_records(path, code):
    decoded = decode_fit(fixture(path))
    assert [(n.code, n.params) for n in decoded.notices] == [(code, {"records": 14})]
    (activity,) = decoded.activities
    assert len(activity.samples) == 14 and activity.sport == "running"


def test_an_activity_without_a_session_is_built_from_its_records():
    decoded = decode_fit(fixture("muktihari-fit/activity_truncated.fit"))
    (activity,) = decoded.activities
    assert len(activity.samples) == 14
    assert activity.extras["summary"] == "from_records"
    assert activity.start == datetime.fromtimestamp(activity.samples.time[0], UTC)


def test_a_truncated_course_is_a_course():
    decoded = decode_fit(fixture("coursepointer/invalid_truncated.fit"))
    assert decoded.kind == "course" and decoded.activities == []
    assert [(n.code, n.params) for n in decoded.notices] == [("fit_truncated", {"records": 2})]


def test_a_recording_whose_header_was_never_finished_is_recovered():
    """empty-activities.fit is a Zwift ride whose header still says 0 data bytes (the app
    stopped before writing it): the messages after it are all there, up to a cut."""
    decoded = decode_fit(fixture("sports-lib-AGPL/empty-activities.fit"))
    assert [(n.code, n.params) for n in decoded.notices] == [("fit_truncated", {"records": 2319})]
    (activity,) = decoded.activities
    assert activity.device == "zwift 0" and len(activity.samples) == 2319
    assert activity.start == datetime(2016, 1, 16, 14, 33, 51, tzinfo=UTC)
    assert activity.samples.time[-1] - activity.samples.time[0] == pytest.approx(2318)


def test_zero_padding_after_the_file_is_ignored():
    data = fixture("garth/12129115726_ACTIVITY.fit")
    decoded = decode_fit(data + bytes(512))
    assert decoded.notices == []
    assert_fast(decoded)


def test_mangled_files_raise_only_source_data_errors():
    data = fixture("python-fitparse/elemnt-bolt-no-application-id-inside-developer-data-id.fit")
    rng = np.random.default_rng(11)
    outcomes = set()
    started = time.perf_counter()
    for round_ in range(100):
        mangled = bytearray(data)
        if round_ % 3 == 0:
            mangled = mangled[: int(rng.integers(len(mangled)))]
        for _ in range(int(rng.integers(1, 6))):
            mangled[int(rng.integers(14, len(mangled)))] = int(rng.integers(256))
        try:
            result = decode_fit(bytes(mangled))
        except SourceDataError as exc:
            outcomes.add(exc.code)
        else:
            assert isinstance(result, DecodedFile)
            outcomes.add("decoded")
    assert "decoded" in outcomes
    assert outcomes <= {"decoded", "fit_corrupt", "fit_empty", "not_fit"}
    assert time.perf_counter() - started < 10


# --- other kinds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("python-fitparse/WorkoutIndividualSteps.fit", "workout"),
        ("python-fitparse/WeightScaleMultiUser.fit", "weight"),
        ("coursepointer/cptr001.fit", "course"),
        ("python-fitparse/MonitoringFile.fit", "monitoring_b"),
    ],
)
def test_files_that_are_not_activities_carry_only_their_kind(path, kind):
    decoded = decode_fit(fixture(path))
    assert decoded.kind == kind
    assert decoded.activities == [] and decoded.wellness == [] and decoded.notices == []
    assert decoded.health == []  # the vivofit monitoring sample has no heart rate


# --- what the import service relies on ------------------------------------------------------------


def test_decode_fit_and_its_result_pickle():
    decoded = decode_fit(fixture("python-fitparse/developer-types-sample.fit"))
    assert pickle.loads(pickle.dumps(decode_fit)) is decode_fit  # noqa: S301 - our own bytes
    copy = pickle.loads(pickle.dumps(decoded))  # noqa: S301
    _same_activity(copy.activities[0], decoded.activities[0])


def test_samples_are_strictly_increasing_float64_and_utc_seconds():
    decoded = decode_fit(fixture("python-fitparse/event_timestamp.fit"))
    (activity,) = decoded.activities
    samples = activity.samples
    assert samples.time.dtype == np.float64 and np.all(np.diff(samples.time) > 0)
    assert all(v.dtype == np.float64 and len(v) == len(samples) for v in samples.channels.values())
    assert activity.extras["merged_records"] == 2  # two records repeat a second
    assert samples.time[0] == activity.start.timestamp()
    assert activity.start + timedelta(seconds=activity.elapsed_s) >= datetime.fromtimestamp(
        samples.time[-1], UTC
    )
