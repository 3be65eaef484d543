"""The FIT decoder on files built here byte by byte, for the cases real fixtures do not pin down:
first valid value of a repeated field, out-of-order records, heart-rate beats and their merge,
R-R intervals per leg, a developer slot redefined, big-endian messages, monitoring files.

Every file is decoded twice, by ``decode_fit`` (the fast path) and by the tolerant path, and both
must agree.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pytest

from app.records import DecodedFile
from app.sources import SourceDataError
from app.sources.fit import decode_fit, hr, mapper, tolerant
from tests.support.fitwriter import Leg, write_activity

FIT_EPOCH = 631065600
T0 = 1_000_000_000  # FIT seconds: 2021-09-08T01:46:40Z
T0_UNIX = T0 + FIT_EPOCH

# base types
ENUM, SINT8, UINT8, SINT16, UINT16, SINT32, UINT32 = 0x00, 0x01, 0x02, 0x83, 0x84, 0x85, 0x86
STRING, FLOAT32, BYTE = 0x07, 0x88, 0x0D
_FORMATS = {
    ENUM: "B",
    SINT8: "b",
    UINT8: "B",
    SINT16: "h",
    UINT16: "H",
    SINT32: "i",
    UINT32: "I",
    FLOAT32: "f",
    BYTE: "B",
}
_CRC_TABLE = (
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
    0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
)  # fmt: skip


def crc(data: bytes) -> int:
    """The FIT protocol's nibble-wise CRC, independent of the decoder's own."""
    value = 0
    for byte in data:
        for nibble in (byte & 0xF, byte >> 4):
            tmp = _CRC_TABLE[value & 0xF]
            value = (value >> 4) & 0x0FFF
            value ^= tmp ^ _CRC_TABLE[nibble]
    return value


@dataclass
class Fit:
    """A FIT file written message by message. Fields are (number, size, base type); values
    are Python numbers, lists for arrays, bytes for byte/string fields."""

    body: bytearray = field(default_factory=bytearray)
    layouts: dict[int, tuple[list, list, str]] = field(default_factory=dict)

    def define(self, local: int, number: int, fields: list, dev: list = (), big: bool = False):
        endian = ">" if big else "<"
        head = 0x40 | local | (0x20 if dev else 0)
        self.body += bytes([head, 0, 1 if big else 0]) + struct.pack(endian + "H", number)
        self.body += bytes([len(fields)]) + b"".join(bytes(f) for f in fields)
        if dev:
            self.body += bytes([len(dev)]) + b"".join(bytes(d) for d in dev)
        self.layouts[local] = (list(fields), list(dev), endian)
        return self

    def data(self, local: int, *values, time_offset: int | None = None):
        fields, dev, endian = self.layouts[local]
        if time_offset is None:
            self.body.append(local)
        else:
            self.body.append(0x80 | (local << 5) | (time_offset & 0x1F))
        specs = [(size, base) for _num, size, base in fields]
        specs += [
            (size, BYTE if base_index is None else base_index) for _n, size, base_index in dev
        ]
        for (size, base), value in zip(specs, values, strict=True):
            if isinstance(value, bytes):
                assert len(value) == size
                self.body += value
                continue
            fmt = _FORMATS[base]
            count = size // struct.calcsize(fmt)
            items = value if isinstance(value, list) else [value]
            assert len(items) == count
            self.body += struct.pack(endian + fmt * count, *items)
        return self

    def bytes(self, *, header_crc: bool = True) -> bytes:
        header = bytes([14, 0x20]) + struct.pack("<HI", 2132, len(self.body)) + b".FIT"
        header += struct.pack("<H", crc(header) if header_crc else 0)
        out = header + bytes(self.body)
        return out + struct.pack("<H", crc(out))


def file_id(fit: Fit, kind: int = 4, local: int = 0) -> Fit:
    fit.define(local, 0, [(0, 1, ENUM), (1, 2, UINT16), (2, 2, UINT16), (4, 4, UINT32)])
    return fit.data(local, kind, 1, 3113, T0)  # a Garmin Forerunner 945


def session(fit: Fit, local: int, start: int, elapsed_s: float, sport: int) -> Fit:
    fit.define(local, 18, [(253, 4, UINT32), (2, 4, UINT32), (7, 4, UINT32), (5, 1, ENUM)])
    return fit.data(local, start + int(elapsed_s), start, round(elapsed_s * 1000), sport)


def both(data: bytes) -> DecodedFile:
    """``decode_fit`` after checking that the tolerant path reads the file the same way."""
    fast = decode_fit(data)
    slow = mapper.build(tolerant.read(data), source="fit")
    assert {a.extras["decoder"] for a in fast.activities} <= {"fitfast"}
    assert len(fast.activities) == len(slow.activities)
    for a, b in zip(fast.activities, slow.activities, strict=True):
        assert a.start == b.start and a.sport == b.sport
        assert (a.samples is None) == (b.samples is None)
        if a.samples is not None:
            np.testing.assert_array_equal(a.samples.time, b.samples.time)
            assert sorted(a.samples.channels) == sorted(b.samples.channels)
            for name, values in a.samples.channels.items():
                np.testing.assert_allclose(values, b.samples.channels[name], atol=1e-9)
        assert json.dumps(a.developer_fields, sort_keys=True) == json.dumps(
            b.developer_fields, sort_keys=True
        )
        assert {k: v for k, v in a.extras.items() if k != "decoder"} == {
            k: v for k, v in b.extras.items() if k != "decoder"
        }
        if a.rr_intervals_ms is None:
            assert b.rr_intervals_ms is None
        else:
            np.testing.assert_array_equal(a.rr_intervals_ms, b.rr_intervals_ms)
    return fast


# --- records --------------------------------------------------------------------------------------


def test_a_repeated_field_takes_its_first_valid_value():
    fit = file_id(Fit())
    # timestamp, heart_rate twice, distance twice, speed twice, altitude
    fit.define(
        1,
        20,
        [
            (253, 4, UINT32),
            *[(3, 1, UINT8), (3, 1, UINT8)],
            *[(5, 4, UINT32), (5, 4, UINT32)],
            *[(6, 2, UINT16), (6, 2, UINT16)],
            (2, 2, UINT16),
        ],
    )
    fit.data(1, T0 + 1, 100, 120, 0xFFFFFFFF, 500, 0xFFFF, 3000, 2600)
    fit.data(1, T0 + 2, 0xFF, 130, 600, 700, 3100, 3200, 0xFFFF)
    (activity,) = both(fit.bytes()).activities
    samples = activity.samples
    np.testing.assert_array_equal(samples.channel("heart_rate"), [100, 130])
    np.testing.assert_array_equal(samples.channel("distance"), [5.0, 6.0])
    np.testing.assert_array_equal(samples.channel("speed"), [3.0, 3.1])
    np.testing.assert_array_equal(samples.channel("altitude"), [20.0, np.nan])
    assert activity.extras["summary"] == "from_records"


def test_records_out_of_order_are_dropped_and_same_second_records_merged():
    fit = file_id(Fit())
    fit.define(1, 20, [(253, 4, UINT32), (3, 1, UINT8), (7, 2, UINT16), (5, 4, UINT32)])
    fit.data(1, T0, 90, 200, 0)
    fit.data(1, T0 + 1, 91, 0xFFFF, 0xFFFFFFFF)
    fit.data(1, T0 + 1, 99, 210, 400)  # same second: fills the gaps, keeps heart rate 91
    fit.data(1, T0, 80, 100, 50)  # back in time: dropped
    fit.define(2, 20, [(3, 1, UINT8)])
    fit.data(2, 70)  # no timestamp: not a sample
    fit.data(1, T0 + 3, 93, 220, 1200)
    (activity,) = both(fit.bytes()).activities
    samples = activity.samples
    np.testing.assert_array_equal(samples.time, [T0_UNIX, T0_UNIX + 1, T0_UNIX + 3])
    np.testing.assert_array_equal(samples.channel("heart_rate"), [90, 91, 93])
    np.testing.assert_array_equal(samples.channel("power"), [200, 210, 220])
    np.testing.assert_array_equal(samples.channel("distance"), [0, 4, 12])
    assert activity.extras == {
        "decoder": "fitfast",
        "summary": "from_records",
        "dropped_records": 1,
        "merged_records": 1,
    }


def test_compressed_timestamp_headers_on_records_and_summary_messages():
    fit = file_id(Fit())
    fit.define(1, 20, [(253, 4, UINT32), (7, 2, UINT16)])
    fit.define(2, 20, [(7, 2, UINT16)])
    fit.data(1, T0 + 30, 100)  # 30 = 0b11110 in the low 5 bits
    fit.data(2, 110, time_offset=31)
    fit.data(2, 120, time_offset=2)  # rolls over: T0 + 34
    fit.define(3, 19, [(2, 4, UINT32), (7, 4, UINT32)])  # a lap whose timestamp is compressed
    fit.data(3, T0 + 30, 4000, time_offset=5)
    (activity,) = both(fit.bytes()).activities
    np.testing.assert_array_equal(activity.samples.time - T0_UNIX, [30, 31, 34])
    (lap,) = activity.laps
    assert lap.start == datetime.fromtimestamp(T0_UNIX + 30, UTC) and lap.elapsed_s == 4.0


def test_big_endian_messages():
    fit = file_id(Fit())
    fit.define(1, 20, [(253, 4, UINT32), (3, 1, UINT8), (7, 2, UINT16)], big=True)
    fit.define(2, 78, [(0, 6, UINT16)], big=True)
    fit.data(1, T0, 120, 250)
    fit.data(2, [500, 510, 0xFFFF])
    fit.data(1, T0 + 1, 121, 260)
    (activity,) = both(fit.bytes()).activities
    np.testing.assert_array_equal(activity.samples.channel("power"), [250, 260])
    np.testing.assert_array_equal(activity.rr_intervals_ms, [500.0, 510.0])


def test_a_wrong_header_crc_is_reported():
    fit = file_id(Fit())
    fit.define(1, 20, [(253, 4, UINT32), (7, 2, UINT16)]).data(1, T0, 100)
    data = bytearray(fit.bytes())
    data[12] ^= 0x55
    decoded = decode_fit(bytes(data))
    assert [n.code for n in decoded.notices] == ["fit_crc_mismatch"]
    assert decoded.activities[0].samples.channel("power").tolist() == [100]


def test_an_activity_file_with_nothing_in_it_is_empty():
    with pytest.raises(SourceDataError) as caught:
        decode_fit(file_id(Fit()).bytes())
    assert caught.value.code == "fit_empty"


def test_other_kinds_come_back_empty():
    fit = file_id(Fit(), kind=6)  # a course, with a record
    fit.define(1, 20, [(253, 4, UINT32), (7, 2, UINT16)]).data(1, T0, 100)
    decoded = decode_fit(fit.bytes())
    assert (decoded.kind, decoded.activities, decoded.notices) == ("course", [], [])


# --- multisport legs and R-R intervals ------------------------------------------------------------


def test_rr_intervals_follow_the_records_they_came_with():
    fit = file_id(Fit())
    fit.define(1, 20, [(253, 4, UINT32), (3, 1, UINT8)])
    fit.define(2, 78, [(0, 4, UINT16)])
    fit.data(2, [990, 0xFFFF])  # before any record: the first leg
    for second in range(6):
        fit.data(1, T0 + second, 60)
        fit.data(2, [1000 + second, 1010 + second])
    session(fit, 3, T0, 3, 1)  # running
    session(fit, 4, T0 + 3, 3, 2)  # cycling
    legs = both(fit.bytes()).activities
    assert [(a.sport, a.multisport_index) for a in legs] == [("running", 0), ("cycling", 1)]
    assert legs[0].rr_intervals_ms.tolist() == [990, 1000, 1010, 1001, 1011, 1002, 1012]
    assert legs[1].rr_intervals_ms.tolist() == [1003, 1013, 1004, 1014, 1005, 1015]
    assert [len(a.samples) for a in legs] == [3, 3]


def test_legs_written_by_the_test_writer():
    def leg(sport: str, first: int, seconds: int, power: float) -> Leg:
        samples = {"timestamp": first + np.arange(seconds), "power": np.full(seconds, power)}
        return Leg(sport, samples)

    start = datetime(2024, 6, 2, 7, 0, tzinfo=UTC)
    data = write_activity(
        None,
        start=start,
        legs=[
            leg("swimming", 0, 600, 0),
            leg("transition", 600, 60, 0),
            leg("cycling", 660, 1200, 210),
        ],
        local_offset_s=7200,
    )
    legs = both(data).activities
    assert [(a.sport, len(a.samples)) for a in legs] == [
        ("swimming", 600),
        ("transition", 60),
        ("cycling", 1200),
    ]
    assert legs[2].samples.channel("power")[0] == 210
    assert legs[0].local_start == datetime(2024, 6, 2, 9, 0)
    assert legs[0].start == start and legs[0].device == "garmin fr945"


# --- heart rate from hr messages ------------------------------------------------------------------


@pytest.mark.parametrize("packed", [True, False])
def test_beats_are_placed_on_utc_time(packed):
    rng = np.random.default_rng(5)
    gaps = rng.uniform(0.35, 1.4, 2000)  # 12-bit strap times roll over every 4 s
    beat = 0.37 + np.concatenate(([0], np.cumsum(gaps)))
    bpm = rng.integers(60, 180, beat.size).astype(float)
    start = datetime(2024, 5, 1, 6, 30, tzinfo=UTC)
    seconds = int(beat[-1]) + 2
    data = write_activity(
        None,
        start=start,
        sport="swimming",
        samples={"timestamp": np.arange(seconds), "distance": np.arange(seconds) * 1.0},
        hr_messages=(beat, bpm),
        hr_packed=packed,
        strap_clock_s=4_190_000.0,  # the strap's 2^22 s clock rolls over during the swim
    )
    decoded = both(data)
    messages = tolerant.read(data).messages["hr"]
    times, values = hr.beats(messages)
    np.testing.assert_allclose(times - start.timestamp(), beat, atol=1 / 1024)
    np.testing.assert_array_equal(values, bpm)
    heart_rate = decoded.activities[0].samples.channel("heart_rate")
    assert np.isfinite(heart_rate[1:]).all()


def test_the_merge_averages_held_beats_in_each_record_window():
    records = np.array([100.0, 101.0, 102.0, 103.0, 110.0, 111.0])
    own = np.array([50.0, 50.0, 50.0, 50.0, 50.0, 50.0])
    beats = np.array([100.0, 100.5, 101.9, 103.6])
    bpm = np.array([60.0, 70.0, 81.0, 90.0])
    merged = hr.merge(records, own, beats, bpm)
    # (99, 100]: the beat at 100 -> 60
    # (100, 101]: 60 held at 100.25; 70 at 100.5, held at 100.75 and 101.0 -> 67.5 -> 68
    # (101, 102]: 70 held to 101.75 (3 copies), 81 at 101.9 -> 72.75 -> 73
    # (102, 103]: 81 held at 102.15 ... 102.9 (4 copies) -> 81
    # (103, 110]: 81 held at 103.15 and 103.4, 90 at 103.6 (the last beat is not held) -> 84
    # (110, 111]: nothing: the record keeps its own 50
    np.testing.assert_array_equal(merged, [60, 68, 73, 81, 84, 50])


def test_a_beat_holds_for_five_seconds_at_most():
    records = np.arange(100.0, 113.0)
    beats = np.array([100.0, 111.5])
    merged = hr.merge(records, np.full(records.size, np.nan), beats, np.array([70.0, 90.0]))
    assert merged.tolist()[:6] == [70.0] * 6  # held to 105.0
    assert np.isnan(merged[6:12]).all()  # (105, 111]: no beat
    assert merged[12] == 90.0


def test_packed_beat_times_accumulate_from_the_anchor():
    anchor = {"timestamp": T0_UNIX, "fractional_timestamp": 0.5, "event_timestamp": [4095 / 1024]}
    anchor["filtered_bpm"] = [60]
    lows = [100, 4000, 10]  # 4095 -> 4196 -> 8000 -> 8202 ticks
    word = lows[0] | lows[1] << 12
    packed = bytes([word & 0xFF, word >> 8 & 0xFF, word >> 16, lows[2] & 0xFF, lows[2] >> 8, 0])
    message = {"filtered_bpm": [61, 62, 63], "event_timestamp_12": packed}
    times, values = hr.beats([anchor, message])
    expected = [4095, 4196, 8000, 8202]
    np.testing.assert_allclose(times, [T0_UNIX + 0.5 + (t - 4095) / 1024 for t in expected])
    assert values.tolist() == [60, 61, 62, 63]
    assert hr.beats([message])[0].size == 0  # no anchor: no time


# --- developer fields -----------------------------------------------------------------------------


def _developer(fit: Fit, local: int, name: str, number: int, base: int, units: str, scale=None):
    fields = [(0, 1, UINT8), (1, 1, UINT8), (2, 1, UINT8), (3, 16, STRING), (8, 8, STRING)]
    values = [0, number, base, name.encode().ljust(16, b"\0"), units.encode().ljust(8, b"\0")]
    if scale is not None:
        fields.append((6, 1, UINT8))
        values.append(scale)
    fit.define(local, 206, fields)
    fit.data(local, *values)


def test_a_developer_slot_redefined_by_a_second_app():
    fit = file_id(Fit())
    fit.define(1, 207, [(3, 1, UINT8)]).data(1, 0)  # developer_data_index 0
    _developer(fit, 2, "wbal", 0, FLOAT32, "kJ")
    fit.define(3, 20, [(253, 4, UINT32)], dev=[(0, 4, 0)])
    fit.data(3, T0, struct.pack("<f", 20.5))
    fit.data(3, T0 + 1, struct.pack("<f", 19.25))
    _developer(fit, 2, "Power", 0, UINT16, "W", scale=2)
    fit.define(3, 20, [(253, 4, UINT32)], dev=[(0, 2, 0)])
    fit.data(3, T0 + 2, struct.pack("<H", 400))
    fit.data(3, T0 + 3, struct.pack("<H", 0xFFFF))
    (activity,) = both(fit.bytes()).activities
    assert activity.developer_fields["record"] == {
        "wbal": {"units": "kJ", "values": [20.5, 19.25, None, None]},
        "Power": {"units": "W", "values": [None, None, 200.0, None]},
    }


# --- monitoring -----------------------------------------------------------------------------------


def test_monitoring_heart_rate_becomes_a_health_series():
    fit = file_id(Fit(), kind=32)  # monitoring_b
    fit.define(1, 103, [(253, 4, UINT32)]).data(1, T0)  # monitoring_info
    fit.define(2, 55, [(26, 2, UINT16), (27, 1, UINT8)])
    for offset, bpm in [(60, 58), (40000, 61), (70000, 0xFF), (100000, 62)]:
        fit.data(2, (T0 + offset) & 0xFFFF, bpm)  # the low 16 bits roll over on the way
    fit.define(3, 55, [(253, 4, UINT32), (27, 1, UINT8)]).data(3, T0 + 130000, 64)
    decoded = decode_fit(fit.bytes())
    (series,) = decoded.health
    assert (decoded.kind, series.metric) == ("monitoring_b", "heart_rate")
    assert series.device == "garmin fr945"
    assert (series.time - T0_UNIX).tolist() == [60, 40000, 100000, 130000]
    assert series.value.tolist() == [58, 61, 62, 64]
