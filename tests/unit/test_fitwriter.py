"""The test FIT writer: fitfast, fitdecode and fitparse decode its files to the values written."""

from __future__ import annotations

import io
import struct
import time
from datetime import UTC, datetime, timedelta

import fitdecode
import fitfast
import fitparse
import numpy as np
import pytest

from tests.support.fitwriter import Leg, crc16, fit_time, semicircles, write_activity

# fitparse 1.2.0 calls datetime.utcfromtimestamp for every date field.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:fitparse.*")

START = datetime(2024, 5, 1, 6, 30, 15, tzinfo=UTC)
SEMICIRCLE_DEG = 180 / 2**31


# --- decoders --------------------------------------------------------------------------------


def fitdecode_messages(blob: bytes) -> list[tuple[str, dict]]:
    out = []
    with fitdecode.FitReader(
        io.BytesIO(blob),
        check_crc=fitdecode.CrcCheck.RAISE,
        error_handling=fitdecode.ErrorHandling.RAISE,
    ) as reader:
        for frame in reader:
            if frame.frame_type == fitdecode.FIT_FRAME_DATA:
                out.append((frame.name, {f.name: f.value for f in frame.fields}))
    return out


def fitparse_messages(blob: bytes) -> list[tuple[str, dict]]:
    fit = fitparse.FitFile(io.BytesIO(blob), check_crc=True)
    return [(m.name, m.get_values()) for m in fit.get_messages()]


def _values(value) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def event_times(blob: bytes) -> dict[str, list[list[float]]]:
    """Per decoder, per ``hr`` message, every ``event_timestamp`` value (expanded components
    repeat the name, so the dicts above keep only the last), as seconds."""
    out: dict[str, list[list[float]]] = {"fitdecode": [], "fitparse": []}
    with fitdecode.FitReader(io.BytesIO(blob), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        for frame in reader:
            if frame.frame_type == fitdecode.FIT_FRAME_DATA and frame.name == "hr":
                # fitdecode turns expanded components into datetimes; their raw_value is the
                # scaled number (a plain field's raw_value is not scaled, its value is)
                raw = [
                    f.raw_value if isinstance(f.value, datetime) else f.value
                    for f in frame.fields
                    if f.name == "event_timestamp"
                ]
                out["fitdecode"].append([t for v in raw for t in _values(v)])
    for message in fitparse.FitFile(io.BytesIO(blob)).get_messages("hr"):
        raw = [f.value for f in message.fields if f.name == "event_timestamp"]
        out["fitparse"].append([t for v in raw for t in _values(v)])
    return out


def of(messages: list[tuple[str, dict]], name: str) -> list[dict]:
    return [values for kind, values in messages if kind == name]


def reference_crc(data: bytes) -> int:
    """The FIT protocol's published nibble-wise CRC, independent of the writer's tables."""
    table = [
        0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
        0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
    ]  # fmt: skip
    crc = 0
    for byte in data:
        tmp = table[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ table[byte & 0xF]
        tmp = table[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ table[(byte >> 4) & 0xF]
    return crc


def run_samples(n: int = 600, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    speed = 2.8 + rng.random(n)
    samples = {
        "timestamp": np.arange(n),
        "position_lat": 37.51 + np.cumsum(rng.normal(0, 2e-5, n)),
        "position_long": 126.99 + np.cumsum(rng.normal(0, 2e-5, n)),
        "distance": np.round(np.cumsum(speed), 2),
        "speed": np.round(speed, 3),
        "altitude": np.round(20 + 15 * np.sin(np.arange(n) / 90), 1),
        "heart_rate": rng.integers(110, 185, n).astype(np.float64),
        "cadence": rng.integers(80, 95, n),
        "power": rng.integers(180, 420, n),
        "temperature": rng.integers(-5, 30, n),
    }
    samples["heart_rate"][[5, 6, 7, n // 3]] = np.nan  # dropouts: written invalid
    samples["position_lat"][:3] = np.nan  # no fix yet
    samples["position_long"][:3] = np.nan
    return samples


# --- the container ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 13, 4095, 4096, 5003, 200_001, (1 << 21) + 77])
def test_crc_matches_the_protocol_reference(size: int) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert crc16(data) == reference_crc(data)
    cut = size // 3
    assert crc16(data[cut:], crc16(data[:cut])) == reference_crc(data)


def test_header_sizes_and_crcs() -> None:
    blob = write_activity(None, sport="running", start=START, samples=run_samples(50))
    size, protocol, profile, data_size, magic, header_crc = struct.unpack("<BBHI4sH", blob[:14])
    assert (size, protocol, magic) == (14, 0x20, b".FIT")
    assert profile >= 2100
    assert data_size == len(blob) - 16
    assert header_crc == reference_crc(blob[:12])
    assert struct.unpack("<H", blob[-2:])[0] == reference_crc(blob[:-2])


def test_writes_the_file_it_returns(tmp_path) -> None:
    path = tmp_path / "a.fit"
    blob = write_activity(path, sport="running", start=START, samples=run_samples(20))
    assert path.read_bytes() == blob


def test_every_decoder_notices_a_damaged_file() -> None:
    blob = bytearray(write_activity(None, sport="running", start=START, samples=run_samples(20)))
    blob[len(blob) // 2] ^= 0x55  # inside a record
    with pytest.raises(fitfast.FitDecodeError):
        fitfast.count(bytes(blob))
    with pytest.raises(fitdecode.FitCRCError):
        fitdecode_messages(bytes(blob))
    with pytest.raises(fitparse.FitParseError):
        fitparse_messages(bytes(blob))


# --- records ---------------------------------------------------------------------------------


@pytest.mark.parametrize("enhanced", [True, False])
def test_records_round_trip_in_all_three_decoders(enhanced: bool) -> None:
    samples = run_samples()
    blob = write_activity(None, sport="running", start=START, samples=samples, enhanced=enhanced)
    n = len(samples["timestamp"])
    unix = START.timestamp() + samples["timestamp"]
    lat_semi = semicircles(samples["position_lat"])
    lon_semi = semicircles(samples["position_long"])

    # fitfast: columns, NaN for invalid, positions in degrees
    columns = fitfast.records(blob)
    np.testing.assert_array_equal(columns["timestamp"], unix)
    np.testing.assert_allclose(
        columns["position_lat"], samples["position_lat"], atol=SEMICIRCLE_DEG, equal_nan=True
    )
    np.testing.assert_allclose(
        columns["position_long"], samples["position_long"], atol=SEMICIRCLE_DEG, equal_nan=True
    )
    np.testing.assert_allclose(columns["distance"], samples["distance"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(columns["enhanced_speed"], samples["speed"], atol=0.0005 + 1e-9)
    np.testing.assert_allclose(columns["enhanced_altitude"], samples["altitude"], atol=0.1 + 1e-9)
    np.testing.assert_array_equal(columns["heart_rate"], samples["heart_rate"])
    for key in ("cadence", "power", "temperature"):
        np.testing.assert_array_equal(columns[key], samples[key])
    raw = fitfast.records(blob, degrees=False)
    np.testing.assert_array_equal(raw["position_lat"], lat_semi)

    # fitdecode and fitparse: one dict per record, None for invalid, raw semicircles
    speed_key = "enhanced_speed" if enhanced else "speed"
    altitude_key = "enhanced_altitude" if enhanced else "altitude"
    for decoded in (fitdecode_messages(blob), fitparse_messages(blob)):
        records = of(decoded, "record")
        assert len(records) == n
        for i, record in enumerate(records):
            stamp = record["timestamp"]
            if stamp.tzinfo is None:  # fitparse gives naive UTC
                stamp = stamp.replace(tzinfo=UTC)
            assert stamp == START + timedelta(seconds=int(samples["timestamp"][i]))
            if np.isnan(samples["position_lat"][i]):
                assert record["position_lat"] is None
                assert record["position_long"] is None
            else:
                assert record["position_lat"] == lat_semi[i]
                assert record["position_long"] == lon_semi[i]
            assert record["distance"] == pytest.approx(samples["distance"][i], abs=0.005 + 1e-9)
            assert record[speed_key] == pytest.approx(samples["speed"][i], abs=0.0005 + 1e-9)
            assert record[altitude_key] == pytest.approx(samples["altitude"][i], abs=0.1 + 1e-9)
            hr = samples["heart_rate"][i]
            assert record["heart_rate"] == (None if np.isnan(hr) else hr)
            for key in ("cadence", "power", "temperature"):
                assert record[key] == samples[key][i]


def test_any_subset_of_record_fields() -> None:
    n = 120
    hr = np.linspace(90, 150, n).round()
    blob = write_activity(
        None,
        sport="training",
        sub_sport="strength_training",
        start=START,
        samples={"heart_rate": hr},
    )
    columns = fitfast.records(blob)
    assert set(columns) == {"timestamp", "heart_rate"}
    np.testing.assert_array_equal(columns["heart_rate"], hr)
    for decoded in (fitdecode_messages(blob), fitparse_messages(blob)):
        assert [r["heart_rate"] for r in of(decoded, "record")] == hr.tolist()
        (session,) = of(decoded, "session")
        assert (session["sport"], session["sub_sport"]) == ("training", "strength_training")
        assert session.get("total_distance") is None
        assert session["avg_heart_rate"] == round(hr.mean())


def test_a_second_record_definition_lists_fields_twice() -> None:
    """``twice``: every 4th record uses another local message type whose definition lists the
    timestamp and heart rate twice, each copy holding the record's value."""
    samples = run_samples(40)
    blob = write_activity(
        None,
        sport="swimming",
        start=START,
        samples=samples,
        laps=[0, 21],
        twice=("timestamp", "heart_rate"),
        twice_every=4,
    )
    definitions = []
    with fitdecode.FitReader(io.BytesIO(blob), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        for frame in reader:
            if frame.frame_type == fitdecode.FIT_FRAME_DEFINITION and frame.name == "record":
                definitions.append((frame.local_mesg_num, [f.def_num for f in frame.field_defs]))
    (plain_local, plain), (twice_local, doubled) = definitions
    assert plain_local != twice_local
    assert doubled == [*plain, 253, 3]
    locals_used = []
    with fitdecode.FitReader(io.BytesIO(blob)) as reader:
        for frame in reader:
            if frame.frame_type == fitdecode.FIT_FRAME_DATA and frame.name == "record":
                locals_used.append(frame.local_mesg_num)
                stamps = [f.raw_value for f in frame.fields if f.def_num == 253]
                rates = [f.value for f in frame.fields if f.def_num == 3]
                assert len(set(stamps)) == 1 and len(set(rates)) == 1
                assert len(stamps) == (2 if frame.local_mesg_num == twice_local else 1)
    assert locals_used == [twice_local if i % 4 == 3 else plain_local for i in range(40)]
    t0 = fit_time(START) + 631_065_600
    records = of(fitparse_messages(blob), "record")
    assert [r["timestamp"].replace(tzinfo=UTC).timestamp() for r in records] == [
        t0 + t for t in range(40)
    ]


def test_timestamps_with_gaps_and_pauses() -> None:
    samples = run_samples(100)
    samples["timestamp"] = np.concatenate([np.arange(50), np.arange(50) + 170])  # 120 s stop
    blob = write_activity(
        None, sport="running", start=START, samples=samples, pauses=[49], laps=[0, 60]
    )
    parsed = fitfast.parse(blob)
    timer_events = [(e["event_type"], e["timestamp"]) for e in parsed["event"]]
    t0 = fit_time(START) + 631_065_600  # unix
    assert timer_events == [
        ("start", t0),
        ("stop_all", t0 + 49),
        ("start", t0 + 170),
        ("stop_all", t0 + 219),
    ]
    (session,) = parsed["session"]
    assert session["total_elapsed_time"] == 219
    assert session["total_timer_time"] == 219 - 121
    first, second = parsed["lap"]
    assert first["total_timer_time"] == 180 - 121  # the pause falls in the first lap
    assert first["total_elapsed_time"] + second["total_elapsed_time"] == 219
    assert parsed["activity"][0]["total_timer_time"] == 98


# --- summaries -------------------------------------------------------------------------------


def test_laps_session_activity_and_device() -> None:
    samples = run_samples(900)
    blob = write_activity(
        None,
        sport="running",
        sub_sport="trail",
        start=START,
        samples=samples,
        laps=[0, 300, 600],
        lap_trigger="distance",
        summary={"total_calories": 777, "training_stress_score": 55.5},
        device=("garmin", 4315),
        serial_number=123_456_789,
        local_offset_s=-4 * 3600,
    )
    end = START + timedelta(seconds=899)
    hr = samples["heart_rate"]
    for decoded in (fitdecode_messages(blob), fitparse_messages(blob)):
        (file_id,) = of(decoded, "file_id")
        assert file_id["type"] == "activity"
        assert file_id["manufacturer"] == "garmin"
        assert file_id["serial_number"] == 123_456_789
        (device,) = of(decoded, "device_info")
        assert device["manufacturer"] == "garmin"
        assert device["software_version"] == 12.5

        laps = of(decoded, "lap")
        assert [lap["message_index"] for lap in laps] == [0, 1, 2]
        assert [lap["lap_trigger"] for lap in laps] == ["distance", "distance", "session_end"]
        assert [lap["total_elapsed_time"] for lap in laps] == [300, 300, 299]
        distances = [lap["total_distance"] for lap in laps]
        assert sum(distances) == pytest.approx(samples["distance"][-1] - samples["distance"][0])
        assert laps[1]["total_distance"] == pytest.approx(
            samples["distance"][600] - samples["distance"][300], abs=0.01
        )
        assert laps[1]["max_heart_rate"] == np.nanmax(hr[300:600])
        assert laps[1]["avg_power"] == round(samples["power"][300:600].mean())
        assert laps[0]["start_position_lat"] == semicircles(samples["position_lat"][3])

        (session,) = of(decoded, "session")
        assert (session["sport"], session["sub_sport"]) == ("running", "trail")
        assert session["total_elapsed_time"] == 899
        assert session["total_timer_time"] == 899
        assert session["total_distance"] == pytest.approx(sum(distances), abs=0.02)
        assert session["avg_heart_rate"] == round(np.nanmean(hr))
        assert session["max_heart_rate"] == np.nanmax(hr)
        assert session["max_power"] == samples["power"].max()
        assert session["total_calories"] == 777
        assert session["training_stress_score"] == 55.5
        assert session["num_laps"] == 3
        assert session["first_lap_index"] == 0
        altitude = samples["altitude"]
        assert session["total_ascent"] == round(np.diff(altitude).clip(0).sum())

        (activity,) = of(decoded, "activity")
        assert activity["num_sessions"] == 1
        assert activity["type"] == "manual"
        assert activity["total_timer_time"] == 899
        stamp, local = activity["timestamp"], activity["local_timestamp"]
        assert stamp.replace(tzinfo=UTC) == end
        assert local.replace(tzinfo=None) == (end - timedelta(hours=4)).replace(tzinfo=None)


def test_multisport_is_one_session_per_leg() -> None:
    swim = {"timestamp": np.arange(0, 600), "distance": np.arange(600) * 1.1}
    swim |= {"heart_rate": np.full(600, 140), "position_lat": np.full(600, 37.5)}
    swim |= {"position_long": np.full(600, 127.0)}
    transition = {"timestamp": np.arange(600, 700), "heart_rate": np.full(100, 150)}
    bike = run_samples(1200, seed=5)
    bike["timestamp"] = np.arange(700, 1900)
    run = run_samples(900, seed=6)
    run["timestamp"] = np.arange(1950, 2850)  # T2 not recorded as a leg
    blob = write_activity(
        None,
        start=START,
        legs=[
            Leg("swimming", swim, "open_water"),
            Leg("transition", transition, "swim_to_bike_transition"),
            Leg("cycling", bike, "road", laps=[0, 600]),
            Leg("running", run, laps=[0, 300, 600]),
        ],
    )
    assert fitfast.message_counts(blob)["session"] == 4
    for decoded in (fitdecode_messages(blob), fitparse_messages(blob)):
        sessions = of(decoded, "session")
        assert [s["sport"] for s in sessions] == ["swimming", "transition", "cycling", "running"]
        assert [s["first_lap_index"] for s in sessions] == [0, 1, 2, 4]
        assert [s["num_laps"] for s in sessions] == [1, 1, 2, 3]
        assert [s["message_index"] for s in sessions] == [0, 1, 2, 3]
        assert [lap["message_index"] for lap in of(decoded, "lap")] == list(range(7))
        assert "avg_power" not in sessions[0] or sessions[0]["avg_power"] is None
        assert sessions[2]["avg_power"] == round(bike["power"].mean())
        assert sessions[3]["total_elapsed_time"] == 899
        (activity,) = of(decoded, "activity")
        assert activity["num_sessions"] == 4
        assert activity["type"] == "auto_multi_sport"
        assert activity["total_timer_time"] == 599 + 99 + 1199 + 899
        assert len(of(decoded, "record")) == 600 + 100 + 1200 + 900
        records = of(decoded, "record")
        assert records[0].get("power") is None  # the swim's definition has no power
        assert records[700]["power"] == bike["power"][0]


def _unpack_12(messages: list[dict], anchor_ticks: int) -> list[float]:
    """Beat times from packed ``event_timestamp_12`` bytes, accumulated onto the anchor."""
    ticks, previous = [], anchor_ticks
    for message in messages:
        raw = bytes(message["event_timestamp_12"])
        for i in range(0, len(raw), 3):
            word = raw[i] | raw[i + 1] << 8 | raw[i + 2] << 16
            for low in (word & 0xFFF, word >> 12):
                previous += (low - previous) % 4096
                ticks.append(previous)
    return [t / 1024 for t in ticks]


def test_hr_messages_as_a_strap_writes_them() -> None:
    rng = np.random.default_rng(9)
    rr = np.round(0.4 + 0.3 * rng.random(37), 3)
    beats = np.cumsum(rr) + 0.25  # s after start
    bpm = np.round(60 / rr).clip(0, 254)
    clock = 2_000_000.0
    blob = write_activity(
        None,
        sport="swimming",
        sub_sport="lap_swimming",
        start=START,
        samples=run_samples(60),
        hr_messages=(beats, bpm),
        strap_clock_s=clock,
    )
    # an anchor, 4 packed messages of 8 beats, and the last 4 beats unpacked
    assert fitfast.message_counts(blob)["hr"] == 6
    parsed = fitfast.parse(blob)["hr"]
    anchor, packed, tail = parsed[0], parsed[1:5], parsed[5]
    assert anchor["timestamp"] + anchor["fractional_timestamp"] == pytest.approx(
        START.timestamp() + beats[0], abs=1 / 32768
    )
    assert anchor["event_timestamp"] == pytest.approx([clock + beats[0]], abs=0.51 / 1024)
    anchor_ticks = round(anchor["event_timestamp"][0] * 1024)
    times = [*_unpack_12(packed, anchor_ticks), *tail["event_timestamp"]]
    np.testing.assert_allclose(times, clock + beats[1:], atol=0.51 / 1024)
    got_bpm = [b for m in parsed for b in _values(m["filtered_bpm"])]
    assert got_bpm == bpm.tolist()
    for times in event_times(blob).values():
        assert len(times) == 6
        assert times[0] == pytest.approx([clock + beats[0]], abs=0.51 / 1024)
        # these decoders accumulate the 12-bit times from zero, not from the anchor: the
        # steps between beats come out right
        expanded = [t for m in times[1:5] for t in m]
        np.testing.assert_allclose(np.diff(expanded), np.diff(beats[1:33]), atol=1.1 / 1024)
        np.testing.assert_allclose(times[5], clock + beats[33:], atol=0.51 / 1024)
    for decoded in (fitdecode_messages(blob), fitparse_messages(blob)):
        hr = of(decoded, "hr")
        assert [b for m in hr for b in _values(m["filtered_bpm"])] == bpm.tolist()
        strap = of(decoded, "device_info")[1]
        assert strap["device_index"] == 1


def test_hr_messages_unpacked_and_hrv() -> None:
    beats = np.arange(1, 10) * 0.5
    rr = np.round(np.linspace(0.45, 0.9, 11), 3)
    blob = write_activity(
        None,
        sport="running",
        start=START,
        samples=run_samples(20),
        hr_messages=(beats, np.full(9, 120)),
        hr_packed=False,
        strap_clock_s=0,
        hrv=rr,
    )
    assert fitfast.message_counts(blob)["hrv"] == 3  # 5 + 5 + 1 intervals
    for decoded in (fitdecode_messages(blob), fitparse_messages(blob)):
        hr = of(decoded, "hr")
        assert [len(_values(m["event_timestamp"])) for m in hr] == [1, 8]
        times = [t for m in hr for t in _values(m["event_timestamp"])]
        assert times == pytest.approx(beats.tolist(), abs=0.51 / 1024)
        hrv = of(decoded, "hrv")
        assert [t for m in hrv for t in _values(m["time"])] == pytest.approx(rr.tolist())
        assert hrv[-1]["time"] == rr[-1]  # a one-element array is written as a plain field


# --- refusals and speed ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samples": {"heart_rate": [300]}}, "heart_rate"),
        ({"samples": {"pace": [3.0]}}, "unknown sample fields"),
        ({"samples": {"heart_rate": [1, 2], "power": [1]}}, "one length"),
        ({"samples": {"heart_rate": [1, 2], "timestamp": [1, 0]}}, "backwards"),
        ({"samples": {"heart_rate": [1, 2]}, "laps": [1]}, "lap starts"),
        ({"samples": {"heart_rate": [1, 2]}, "pauses": [1]}, "pauses"),
        ({"samples": {"heart_rate": [1]}, "summary": {"sport": 2}}, "summary cannot"),
        ({"samples": {"heart_rate": [1]}, "sport": "curling"}, "unknown sport"),
        ({"samples": {"heart_rate": [1]}, "twice": ["pace"]}, "twice names record fields"),
        ({"samples": {"heart_rate": [1]}, "twice_every": 0}, "twice names record fields"),
    ],
)
def test_refuses_what_it_cannot_write(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_activity(None, **{"sport": "running", "start": START} | kwargs)


def test_refuses_naive_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        write_activity(
            None, sport="running", start=datetime(2024, 1, 1), samples={"heart_rate": [1]}
        )


def test_a_million_records_in_well_under_ten_seconds() -> None:
    n = 1_000_000
    samples = run_samples(n)
    started = time.perf_counter()
    blob = write_activity(
        None, sport="cycling", start=START, samples=samples, laps=range(0, n, 5000)
    )
    elapsed = time.perf_counter() - started
    assert fitfast.message_counts(blob)["record"] == n
    assert elapsed < 10, elapsed
