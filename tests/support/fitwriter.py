"""A small, fast writer of FIT activity files, for tests and benchmarks.

Writes what a Garmin watch writes for an activity, in FIT protocol 2.0: the 14-byte header with
its CRC, then definition and data messages for ``file_id``, ``device_info``, ``event`` (timer
start and stop), ``record``, ``lap``, ``session`` and ``activity``, optionally ``hr`` (the
heart-rate strap's beat times) and ``hrv`` (R-R intervals), and the file CRC. Fields that a
sample or summary does not have are left out of the definition; a NaN inside a column is written
as the base type's invalid value, which decoders report as missing.

Records are vectorized: one definition, then every data message of a leg is one numpy
structured array turned into bytes with ``tobytes()``, so ten million records take seconds.

Units at the API are the FIT profile's after scale and offset, except positions, which are
given in degrees and written as semicircles, and times, which are seconds after ``start``::

    write_activity(
        "run.fit",
        sport="running",
        start=datetime(2024, 5, 1, 6, 30, tzinfo=UTC),
        samples={
            "timestamp": np.arange(3600),          # s after start (default: 0, 1, 2, ...)
            "position_lat": lat_deg, "position_long": lon_deg,
            "distance": metres, "speed": metres_per_s, "altitude": metres,
            "heart_rate": bpm, "cadence": rpm, "power": watts, "temperature": celsius,
        },
        laps=[0, 300, 600],                        # sample index where each lap starts
    )

Multisport: pass ``legs=[Leg(...), Leg(...)]`` instead of ``sport``/``samples``; each leg
becomes one session (with its laps), and the activity's type is ``auto_multi_sport``.

Quirks of real devices, on request: ``twice=("timestamp",)`` lists those record fields twice in
a second record definition (another local message type, the copy holding the same values), used
by every ``twice_every``-th record, as some Garmin pool swims do for their length records.

Written from the public FIT protocol description; no FIT SDK code is used.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "FIT_EPOCH",
    "MANUFACTURERS",
    "RECORD_FIELDS",
    "SPORTS",
    "SUB_SPORTS",
    "Leg",
    "crc16",
    "fit_time",
    "semicircles",
    "write_activity",
]

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
_FIT_EPOCH_UNIX = 631_065_600
PROTOCOL_VERSION = 0x20  # 2.0
PROFILE_VERSION = 2132  # 21.32

SPORTS: dict[str, int] = {
    "generic": 0,
    "running": 1,
    "cycling": 2,
    "transition": 3,
    "fitness_equipment": 4,
    "swimming": 5,
    "training": 10,
    "walking": 11,
    "cross_country_skiing": 12,
    "rowing": 15,
    "hiking": 17,
    "multisport": 18,
    "paddling": 19,
    "e_biking": 21,
    "inline_skating": 30,
    "stand_up_paddleboarding": 37,
    "hiit": 62,
}
SUB_SPORTS: dict[str, int] = {
    "generic": 0,
    "treadmill": 1,
    "street": 2,
    "trail": 3,
    "track": 4,
    "spin": 5,
    "indoor_cycling": 6,
    "road": 7,
    "mountain": 8,
    "cyclocross": 11,
    "track_cycling": 13,
    "indoor_rowing": 14,
    "elliptical": 15,
    "lap_swimming": 17,
    "open_water": 18,
    "flexibility_training": 19,
    "strength_training": 20,
    "cardio_training": 26,
    "bike_to_run_transition": 32,
    "run_to_bike_transition": 33,
    "swim_to_bike_transition": 34,
    "yoga": 43,
    "indoor_running": 45,
    "gravel_cycling": 46,
    "commuting": 48,
    "virtual_activity": 58,
}
MANUFACTURERS: dict[str, int] = {
    "garmin": 1,
    "dynastream": 15,
    "suunto": 23,
    "wahoo_fitness": 32,
    "stages_cycling": 69,
    "sigmasport": 70,
    "stryd": 95,
    "zwift": 260,
    "hammerhead": 289,
    "coros": 294,
    "development": 255,
}
_LAP_TRIGGERS = {"manual": 0, "time": 1, "distance": 2, "position_lap": 4, "session_end": 7}

# Global message numbers and the local message types this writer gives them.
_FILE_ID, _DEVICE_INFO, _EVENT, _RECORD, _LAP, _SESSION, _ACTIVITY, _HRV, _HR = (
    0,
    23,
    21,
    20,
    19,
    18,
    34,
    78,
    132,
)
_LOCAL = {
    _FILE_ID: 0,
    _DEVICE_INFO: 1,
    _EVENT: 2,
    _RECORD: 3,
    _LAP: 4,
    _SESSION: 5,
    _ACTIVITY: 6,
    _HR: 7,
    _HRV: 8,
}
_LOCAL_RECORD_TWICE = 9  # the second record definition (``twice``)
#: Called with every file ``write_activity`` encodes: the test suite keeps them, to decode each
#: through both FIT paths (``tests/support/generated_fit.py``).
WRITE_HOOKS: list[Callable[[bytes], None]] = []

_EVENT_TIMER, _EVENT_SESSION, _EVENT_LAP, _EVENT_ACTIVITY = 0, 8, 9, 26
_TYPE_START, _TYPE_STOP, _TYPE_STOP_ALL = 0, 1, 4
_HR_PER_MESSAGE = 8  # beats per hr message, as the HRM-Pro writes them
_HRV_PER_MESSAGE = 5  # R-R intervals per hrv message, as Garmin watches write them


# --- base types and fields ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Base:
    code: int
    dtype: str
    invalid: int
    low: int  # smallest valid raw value
    high: int  # largest valid raw value


ENUM = _Base(0x00, "u1", 0xFF, 0, 0xFE)
SINT8 = _Base(0x01, "i1", 0x7F, -0x80, 0x7E)
UINT8 = _Base(0x02, "u1", 0xFF, 0, 0xFE)
SINT16 = _Base(0x83, "<i2", 0x7FFF, -0x8000, 0x7FFE)
UINT16 = _Base(0x84, "<u2", 0xFFFF, 0, 0xFFFE)
SINT32 = _Base(0x85, "<i4", 0x7FFF_FFFF, -0x8000_0000, 0x7FFF_FFFE)
UINT32 = _Base(0x86, "<u4", 0xFFFF_FFFF, 0, 0xFFFF_FFFE)
UINT32Z = _Base(0x8C, "<u4", 0, 1, 0xFFFF_FFFF)
BYTE = _Base(0x0D, "u1", 0xFF, 0, 0xFF)  # invalid only when every byte of the field is 0xFF


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    num: int
    base: _Base
    scale: float = 1
    offset: float = 0
    count: int = 1  # array fields: elements per message

    def encode(self, values: ArrayLike) -> np.ndarray:
        """Physical values (NaN = missing) to raw values; out of the field's range: ValueError."""
        raw = np.asarray(values, dtype=np.float64)
        missing = np.isnan(raw)
        if self.offset:
            raw = raw + self.offset
        if self.scale != 1:
            raw = raw * self.scale
        raw = np.rint(raw)
        has_missing = bool(missing.any())
        valid = raw[~missing] if has_missing else raw
        if valid.size and (valid.min() < self.base.low or valid.max() > self.base.high):
            raise ValueError(
                f"{self.name}: values {valid.min() / self.scale - self.offset:g}.."
                f"{valid.max() / self.scale - self.offset:g} do not fit the FIT field"
            )
        if has_missing:
            raw[missing] = self.base.invalid
        return raw.astype(self.base.dtype)


def _f(name: str, num: int, base: _Base, scale: float = 1, offset: float = 0) -> _Field:
    return _Field(name, num, base, scale, offset)


_TIMESTAMP = _f("timestamp", 253, UINT32)
_MESSAGE_INDEX = _f("message_index", 254, UINT16)

#: record fields a sample may carry, in the order written
RECORD_FIELDS: dict[str, _Field] = {
    f.name: f
    for f in (
        _TIMESTAMP,
        _f("position_lat", 0, SINT32),
        _f("position_long", 1, SINT32),
        _f("distance", 5, UINT32, 100),
        _f("enhanced_speed", 73, UINT32, 1000),
        _f("speed", 6, UINT16, 1000),
        _f("enhanced_altitude", 78, UINT32, 5, 500),
        _f("altitude", 2, UINT16, 5, 500),
        _f("heart_rate", 3, UINT8),
        _f("cadence", 4, UINT8),
        _f("power", 7, UINT16),
        _f("temperature", 13, SINT8),
    )
}
_SAMPLE_KEYS = frozenset(RECORD_FIELDS) - {"enhanced_speed", "enhanced_altitude"}

_FILE_ID_FIELDS = (
    _f("type", 0, ENUM),
    _f("manufacturer", 1, UINT16),
    _f("product", 2, UINT16),
    _f("serial_number", 3, UINT32Z),
    _f("time_created", 4, UINT32),
)
_DEVICE_INFO_FIELDS = (
    _TIMESTAMP,
    _f("serial_number", 3, UINT32Z),
    _f("manufacturer", 2, UINT16),
    _f("product", 4, UINT16),
    _f("software_version", 5, UINT16, 100),
    _f("device_index", 0, UINT8),
    _f("device_type", 1, UINT8),
    _f("source_type", 25, ENUM),
)
_EVENT_FIELDS = (
    _TIMESTAMP,
    _f("data", 3, UINT32),
    _f("event", 0, ENUM),
    _f("event_type", 1, ENUM),
    _f("event_group", 4, UINT8),
)
_LAP_FIELDS = (
    _TIMESTAMP,
    _f("start_time", 2, UINT32),
    _f("start_position_lat", 3, SINT32),
    _f("start_position_long", 4, SINT32),
    _f("end_position_lat", 5, SINT32),
    _f("end_position_long", 6, SINT32),
    _f("total_elapsed_time", 7, UINT32, 1000),
    _f("total_timer_time", 8, UINT32, 1000),
    _f("total_distance", 9, UINT32, 100),
    _f("enhanced_avg_speed", 110, UINT32, 1000),
    _f("enhanced_max_speed", 111, UINT32, 1000),
    _MESSAGE_INDEX,
    _f("total_calories", 11, UINT16),
    _f("avg_speed", 13, UINT16, 1000),
    _f("max_speed", 14, UINT16, 1000),
    _f("avg_power", 19, UINT16),
    _f("max_power", 20, UINT16),
    _f("total_ascent", 21, UINT16),
    _f("total_descent", 22, UINT16),
    _f("event", 0, ENUM),
    _f("event_type", 1, ENUM),
    _f("avg_heart_rate", 15, UINT8),
    _f("max_heart_rate", 16, UINT8),
    _f("avg_cadence", 17, UINT8),
    _f("max_cadence", 18, UINT8),
    _f("lap_trigger", 24, ENUM),
    _f("sport", 25, ENUM),
    _f("sub_sport", 39, ENUM),
)
_SESSION_FIELDS = (
    _TIMESTAMP,
    _f("start_time", 2, UINT32),
    _f("start_position_lat", 3, SINT32),
    _f("start_position_long", 4, SINT32),
    _f("total_elapsed_time", 7, UINT32, 1000),
    _f("total_timer_time", 8, UINT32, 1000),
    _f("total_distance", 9, UINT32, 100),
    _f("enhanced_avg_speed", 124, UINT32, 1000),
    _f("enhanced_max_speed", 125, UINT32, 1000),
    _MESSAGE_INDEX,
    _f("total_calories", 11, UINT16),
    _f("avg_speed", 14, UINT16, 1000),
    _f("max_speed", 15, UINT16, 1000),
    _f("avg_power", 20, UINT16),
    _f("max_power", 21, UINT16),
    _f("total_ascent", 22, UINT16),
    _f("total_descent", 23, UINT16),
    _f("first_lap_index", 25, UINT16),
    _f("num_laps", 26, UINT16),
    _f("normalized_power", 34, UINT16),
    _f("training_stress_score", 35, UINT16, 10),
    _f("intensity_factor", 36, UINT16, 1000),
    _f("pool_length", 44, UINT16, 100),
    _f("threshold_power", 45, UINT16),
    _f("event", 0, ENUM),
    _f("event_type", 1, ENUM),
    _f("sport", 5, ENUM),
    _f("sub_sport", 6, ENUM),
    _f("avg_heart_rate", 16, UINT8),
    _f("max_heart_rate", 17, UINT8),
    _f("avg_cadence", 18, UINT8),
    _f("max_cadence", 19, UINT8),
    _f("trigger", 28, ENUM),
)
_SESSION_OVERRIDABLE = frozenset(f.name for f in _SESSION_FIELDS) - {
    "timestamp",
    "start_time",
    "message_index",
    "first_lap_index",
    "num_laps",
    "sport",
    "sub_sport",
    "event",
    "event_type",
    "trigger",
}
_ACTIVITY_FIELDS = (
    _TIMESTAMP,
    _f("total_timer_time", 0, UINT32, 1000),
    _f("local_timestamp", 5, UINT32),
    _f("num_sessions", 1, UINT16),
    _f("type", 2, ENUM),
    _f("event", 3, ENUM),
    _f("event_type", 4, ENUM),
)


# --- conversions ---------------------------------------------------------------------------------


def fit_time(moment: datetime) -> int:
    """Seconds since the FIT epoch (1989-12-31 00:00 UTC) of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("FIT times need an aware datetime")
    return math.floor(moment.timestamp()) - _FIT_EPOCH_UNIX


def semicircles(degrees: ArrayLike) -> np.ndarray:
    """Degrees to FIT semicircles (2**31 semicircles = 180 degrees), as float (NaN kept)."""
    return np.rint(np.asarray(degrees, dtype=np.float64) * (2**31 / 180.0))


def _enum(value: str | int, table: Mapping[str, int], what: str) -> int:
    if isinstance(value, int):
        return value
    try:
        return table[value]
    except KeyError:
        raise ValueError(f"unknown {what} {value!r}; known: {', '.join(table)}") from None


# --- CRC -----------------------------------------------------------------------------------------


@cache
def _crc_table() -> tuple[int, ...]:
    """Byte table of the FIT CRC (CRC-16/ARC: reflected polynomial 0xA001, initial value 0)."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


@cache
def _pair_table() -> np.ndarray:
    """The CRC register after two bytes, indexed by register ^ (byte0 | byte1 << 8).

    With a 16-bit register the next register depends on nothing else, so this one table
    steps the CRC two bytes at a time.
    """
    table = np.array(_crc_table(), dtype=np.uint16)
    x = np.arange(65536, dtype=np.uint16)
    once = (x >> 8) ^ table[x & 0xFF]
    return (once >> 8) ^ table[once & 0xFF]


@cache
def _advance_tables(length: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Tables that move a CRC register over ``length`` zero bytes (a linear map over GF(2))."""
    table = _crc_table()
    columns = []
    for bit in range(16):
        crc = 1 << bit
        for _ in range(length):
            crc = (crc >> 8) ^ table[crc & 0xFF]
        columns.append(crc)

    def combine(bits: Sequence[int], value: int) -> int:
        out = 0
        for i, column in enumerate(bits):
            if value >> i & 1:
                out ^= column
        return out

    return (
        tuple(combine(columns[:8], v) for v in range(256)),
        tuple(combine(columns[8:], v) for v in range(256)),
    )


def _crc16_bytes(data: bytes | memoryview, crc: int) -> int:
    table = _crc_table()
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def crc16(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """The FIT CRC of ``data``, continuing from ``crc``.

    Large inputs are cut into lanes whose CRCs numpy computes side by side, two bytes a step;
    the lanes are then chained with tables that advance a CRC over a lane of zero bytes (the
    CRC is linear, so a lane's effect on the register is its own CRC xor the shifted register).
    """
    view = memoryview(data).cast("B")
    n = len(view)
    if n < 4096:
        return _crc16_bytes(view, crc)
    lane = 128 if n < 1 << 21 else 1024
    lanes, head = divmod(n, lane)
    crc = _crc16_bytes(view[:head], crc)
    words = np.frombuffer(view[head:], dtype="<u2").reshape(lanes, lane // 2).T.copy()
    pairs = _pair_table()
    state = np.zeros(lanes, dtype=np.uint16)
    state[0] = crc  # the first lane carries on from the bytes before it
    for row in words:
        state = pairs[state ^ row]
    low, high = _advance_tables(lane)
    crc = 0
    for value in state.tolist():
        crc = low[crc & 0xFF] ^ high[crc >> 8] ^ value
    return crc


# --- messages ------------------------------------------------------------------------------------


def _definition(local: int, global_num: int, fields: Sequence[_Field]) -> bytes:
    out = [struct.pack("<BBBHB", 0x40 | local, 0, 0, global_num, len(fields))]
    for f in fields:
        size = np.dtype(f.base.dtype).itemsize * f.count
        out.append(struct.pack("<BBB", f.num, size, f.base.code))
    return b"".join(out)


def _messages(
    global_num: int,
    columns: Sequence[tuple[_Field, ArrayLike]],
    rows: int,
    local: int | None = None,
) -> tuple[bytes, np.ndarray]:
    """One definition and ``rows`` data messages (a structured array: ``.tobytes()`` them).
    A field may appear more than once: each copy is written with the same values."""
    local = _LOCAL[global_num] if local is None else local
    fields = [f for f, _ in columns]
    slots = [f"{f.name}#{i}" for i, f in enumerate(fields)]
    dtype = np.dtype(
        [("_header", "u1")]
        + [
            (slot, f.base.dtype, (f.count,)) if f.count > 1 else (slot, f.base.dtype)
            for slot, f in zip(slots, fields, strict=True)
        ]
    )
    data = np.empty(rows, dtype=dtype)
    data["_header"] = local
    for slot, (f, values) in zip(slots, columns, strict=True):
        data[slot] = f.encode(values)
    return _definition(local, global_num, fields), data


def _summary_messages(
    global_num: int, spec: Sequence[_Field], rows: Sequence[Mapping[str, float]]
) -> tuple[bytes, list[bytes]]:
    """A definition and one data message per dict, encoded in plain Python (rows are few).

    Only fields that some row has are defined; a None or NaN elsewhere is written invalid.
    Values saturate: a total too large for its field is written as the field's largest.
    """
    fields = [f for f in spec if any(_present(row.get(f.name)) for row in rows)]
    layout = struct.Struct("<B" + "".join(_FORMATS[f.base.dtype] for f in fields))
    local = _LOCAL[global_num]
    data = []
    for row in rows:
        raw = [local]
        for f in fields:
            value = row.get(f.name)
            if not _present(value):
                raw.append(f.base.invalid)
                continue
            scaled = round((value + f.offset) * f.scale)
            raw.append(min(max(scaled, f.base.low), f.base.high))
        data.append(layout.pack(*raw))
    return _definition(local, global_num, fields), data


_FORMATS = {"u1": "B", "i1": "b", "<u2": "H", "<i2": "h", "<u4": "I", "<i4": "i"}


def _present(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


# --- activities ----------------------------------------------------------------------------------


@dataclass
class Leg:
    """One session of an activity: a sport, its 1 Hz (or other) samples, its laps.

    ``samples`` maps record field names (see ``RECORD_FIELDS``; ``speed`` and ``altitude`` are
    written as ``enhanced_*`` unless ``enhanced=False``) to equal-length arrays; ``timestamp``
    is seconds after the activity's start (default 0, 1, 2, ...). ``laps`` are sample indices
    where laps start (the first is 0; default: one lap). ``pauses`` are sample indices after
    which the timer stops, to start again at the next sample. ``summary`` overrides computed
    session fields (e.g. ``total_calories``) or adds optional ones (``normalized_power``,
    ``training_stress_score``, ``intensity_factor``, ``threshold_power``, ``pool_length``).
    """

    sport: str | int
    samples: Mapping[str, ArrayLike]
    sub_sport: str | int = "generic"
    laps: Sequence[int] | None = None
    pauses: Sequence[int] = ()
    summary: Mapping[str, float] = field(default_factory=dict)
    lap_trigger: str = "manual"


@dataclass
class _Prepared:
    leg: Leg
    columns: dict[str, np.ndarray]
    times: np.ndarray  # FIT timestamps, int64
    laps: list[int]
    pauses: list[int]


def _prepare(leg: Leg, start: int) -> _Prepared:
    unknown = set(leg.samples) - _SAMPLE_KEYS
    if unknown:
        raise ValueError(f"unknown sample fields {sorted(unknown)}; known: {sorted(_SAMPLE_KEYS)}")
    columns = {k: np.asarray(v, dtype=np.float64) for k, v in leg.samples.items()}
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"samples must be non-empty arrays of one length, got {lengths}")
    (n,) = lengths
    if "timestamp" in columns:
        rel = columns.pop("timestamp")
        if not np.array_equal(rel, np.floor(rel)):
            raise ValueError("timestamps must be whole seconds")
    else:
        rel = np.arange(n, dtype=np.int64)
    if n > 1 and np.any(np.diff(rel) < 0):
        raise ValueError("timestamps must not go backwards")
    times = rel.astype(np.int64) + start
    laps = sorted(set(leg.laps or [0]))
    if laps[0] != 0 or laps[-1] >= n:
        raise ValueError(f"lap starts must begin at 0 and lie inside the {n} samples: {laps}")
    pauses = sorted(set(leg.pauses))
    if pauses and (pauses[0] < 0 or pauses[-1] >= n - 1):
        raise ValueError("pauses must be sample indices before the last sample")
    return _Prepared(leg, columns, times, laps, pauses)


def _summaries(
    prep: _Prepared, starts: Sequence[int], enhanced: bool, sport: int
) -> list[dict[str, float]]:
    """Lap/session field values of the segments of samples that begin at ``starts``.

    A segment ends where the next begins (the last at the last sample): its elapsed time,
    distance and climb reach that sample, its averages and maxima cover the samples up to it.
    """
    cols, times = prep.columns, prep.times
    n = len(times)
    first = np.asarray(starts, dtype=np.int64)
    stop = np.append(first[1:], n)  # exclusive
    last = np.minimum(stop, n - 1)  # where each segment ends
    count = len(first)
    elapsed = (times[last] - times[first]).astype(np.float64)
    timer = elapsed.copy()
    if prep.pauses:
        pauses = np.asarray(prep.pauses)
        segment = np.searchsorted(first, pauses, side="right") - 1
        np.subtract.at(timer, segment, times[pauses + 1] - times[pauses])
    rows: list[dict[str, float]] = [
        {
            "start_time": int(times[first[k]]),
            "timestamp": int(times[last[k]]),
            "total_elapsed_time": float(elapsed[k]),
            "total_timer_time": float(timer[k]),
        }
        for k in range(count)
    ]

    def put(name: str, values: np.ndarray) -> None:
        for row, value in zip(rows, values.tolist(), strict=True):
            if math.isfinite(value):
                row[name] = value

    for axis in ("lat", "long"):
        key = f"position_{axis}"
        if key not in cols:
            continue
        have = np.flatnonzero(np.isfinite(cols[key]))
        if not have.size:
            continue
        i = np.minimum(np.searchsorted(have, first), have.size - 1)
        j = np.maximum(np.searchsorted(have, stop) - 1, 0)
        inside = (have[i] >= first) & (have[i] < stop)
        degrees = cols[key]
        put(f"start_position_{axis}", np.where(inside, semicircles(degrees[have[i]]), np.nan))
        put(f"end_position_{axis}", np.where(inside, semicircles(degrees[have[j]]), np.nan))
    speed_prefix = "enhanced_" if enhanced else ""
    if "distance" in cols:
        distance = cols["distance"][last] - cols["distance"][first]
        put("total_distance", distance)
        with np.errstate(divide="ignore", invalid="ignore"):
            put(f"{speed_prefix}avg_speed", np.where(timer > 0, distance / timer, np.nan))
    sums: dict[str, np.ndarray] = {}
    for key, avg, top in (
        ("speed", None, f"{speed_prefix}max_speed"),
        ("heart_rate", "avg_heart_rate", "max_heart_rate"),
        ("cadence", "avg_cadence", "max_cadence"),
        ("power", "avg_power", "max_power"),
    ):
        if key not in cols:
            continue
        values = cols[key]
        valid = np.isfinite(values)
        have = np.add.reduceat(valid, first, dtype=np.int64)
        total = np.add.reduceat(np.where(valid, values, 0.0), first)
        sums[key] = np.where(have > 0, total, np.nan)
        if avg:
            with np.errstate(divide="ignore", invalid="ignore"):
                put(avg, total / have)
        put(top, np.fmax.reduceat(values, first))
    if "altitude" in cols:
        have = np.flatnonzero(np.isfinite(cols["altitude"]))
        steps = np.diff(cols["altitude"][have])
        segment = np.searchsorted(first, have[:-1], side="right") - 1
        put("total_ascent", np.bincount(segment, np.maximum(steps, 0), minlength=count))
        put("total_descent", np.bincount(segment, np.maximum(-steps, 0), minlength=count))
    # Calories, roughly: on a bike with power, the work (kJ of work ~ kcal burnt at ~24 %
    # efficiency), else Keytel et al.'s estimate from heart rate (70 kg, 35 years), else time.
    calories = timer / 60.0 * 8.0
    if "heart_rate" in cols:
        hr = cols["heart_rate"]
        per_second = np.maximum(0.0, -55.0969 + 0.6309 * hr + 0.1988 * 70 + 0.2017 * 35)
        per_second = np.where(np.isfinite(per_second), per_second / 4.184 / 60.0, 0.0)
        calories = np.where(
            np.isfinite(sums["heart_rate"]), np.add.reduceat(per_second, first), calories
        )
    if "power" in cols and sport == SPORTS["cycling"]:
        calories = np.where(np.isfinite(sums["power"]), sums["power"] / 1000.0, calories)
    put("total_calories", np.rint(calories))
    return rows


def write_activity(
    path: str | os.PathLike[str] | None,
    *,
    start: datetime,
    sport: str | int | None = None,
    sub_sport: str | int = "generic",
    samples: Mapping[str, ArrayLike] | None = None,
    laps: Sequence[int] | None = None,
    pauses: Sequence[int] = (),
    summary: Mapping[str, float] | None = None,
    lap_trigger: str = "manual",
    legs: Sequence[Leg] | None = None,
    device: tuple[str | int, int] = ("garmin", 3113),
    serial_number: int = 3_987_654_321,
    software_version: float = 12.5,
    local_offset_s: int = 32400,
    hr_messages: tuple[ArrayLike, ArrayLike] | None = None,
    hr_packed: bool = True,
    strap_clock_s: float = 1_234_567.0,
    hrv: ArrayLike | None = None,
    enhanced: bool = True,
    twice: Sequence[str] = (),
    twice_every: int = 1,
) -> bytes:
    """Encode one activity as a FIT file; write it to ``path`` unless None; return the bytes.

    Either ``sport`` and ``samples`` (with ``sub_sport``, ``laps``, ``pauses``, ``summary``,
    ``lap_trigger``: see ``Leg``) for one session, or ``legs`` for a multisport activity.
    ``device`` is (manufacturer name or number, product number): (garmin, 3113) is a
    Forerunner 945. ``local_offset_s`` gives the activity's ``local_timestamp``.
    ``hr_messages`` is (beat times in s after ``start``, filtered bpm), written as a strap
    writes them: an anchor message tying the first beat's UTC time to the strap's clock
    (``strap_clock_s`` at ``start``), then 8 beats a message with packed 12-bit times
    (``hr_packed``, as devices do) or full ones. ``hrv`` is R-R intervals in s, 5 to an
    ``hrv`` message. ``enhanced``
    writes speed and altitude as ``enhanced_speed``/``enhanced_altitude`` (and the summaries'
    ``enhanced_avg_speed``/``enhanced_max_speed``), as current Garmin devices do. ``twice``
    names record fields (``RECORD_FIELDS``, as written) that a second record definition lists
    twice; every ``twice_every``-th record of each leg (the last of each group) uses it.
    """
    if legs is None:
        if sport is None or samples is None:
            raise ValueError("give sport and samples, or legs")
        legs = [Leg(sport, samples, sub_sport, laps, pauses, dict(summary or {}), lap_trigger)]
    elif sport is not None or samples is not None:
        raise ValueError("give either sport and samples, or legs, not both")
    if not legs:
        raise ValueError("an activity needs at least one leg")
    unknown = set(twice) - set(RECORD_FIELDS)
    if unknown or twice_every < 1:
        raise ValueError(f"twice names record fields, every n >= 1: {sorted(unknown)}")
    t0 = fit_time(start)
    prepared = [_prepare(leg, t0) for leg in legs]
    manufacturer = _enum(device[0], MANUFACTURERS, "manufacturer")

    chunks: list[bytes] = []
    definition, data = _summary_messages(
        _FILE_ID,
        _FILE_ID_FIELDS,
        [
            {
                "type": 4,  # activity
                "manufacturer": manufacturer,
                "product": device[1],
                "serial_number": serial_number,
                "time_created": t0,
            }
        ],
    )
    chunks += [definition, *data]
    devices = [
        {
            "timestamp": t0,
            "serial_number": serial_number,
            "manufacturer": manufacturer,
            "product": device[1],
            "software_version": software_version,
            "device_index": 0,  # creator
            "source_type": 5,  # local
        }
    ]
    if hr_messages is not None or hrv is not None:
        devices.append(
            {
                "timestamp": t0,
                "serial_number": serial_number + 1,
                "manufacturer": 1,
                "product": 3300,  # HRM-Pro
                "software_version": 3.5,
                "device_index": 1,
                "device_type": 120,  # ANT+ heart rate
                "source_type": 1,  # antplus
            }
        )
    definition, data = _summary_messages(_DEVICE_INFO, _DEVICE_INFO_FIELDS, devices)
    chunks += [definition, *data]
    chunks.append(_definition(_LOCAL[_EVENT], _EVENT, _EVENT_FIELDS))

    lap_index = 0
    sessions: list[dict[str, Any]] = []
    for session_index, prep in enumerate(prepared):
        chunks += _leg_chunks(
            prep, session_index, lap_index, enhanced, sessions, (tuple(twice), twice_every)
        )
        lap_index += len(prep.laps)

    if hr_messages is not None:
        chunks += _hr_chunks(t0, hr_messages, strap_clock_s, hr_packed)
    if hrv is not None:
        chunks += _hrv_chunks(hrv)

    end = max(int(prep.times[-1]) for prep in prepared)
    definition, data = _summary_messages(
        _ACTIVITY,
        _ACTIVITY_FIELDS,
        [
            {
                "timestamp": end,
                "total_timer_time": sum(s["total_timer_time"] for s in sessions),
                "local_timestamp": end + local_offset_s,
                "num_sessions": len(sessions),
                "type": 1 if len(sessions) > 1 else 0,  # auto_multi_sport / manual
                "event": _EVENT_ACTIVITY,
                "event_type": _TYPE_STOP,
            }
        ],
    )
    chunks += [definition, *data]

    body = b"".join(chunks)
    header = struct.pack("<BBHI4s", 14, PROTOCOL_VERSION, PROFILE_VERSION, len(body), b".FIT")
    header += struct.pack("<H", crc16(header))
    crc = crc16(body, crc16(header))
    blob = b"".join((header, body, struct.pack("<H", crc)))
    for hook in WRITE_HOOKS:
        hook(blob)
    if path is not None:
        Path(path).write_bytes(blob)
    return blob


def _event(timestamp: int, event_type: int) -> bytes:
    return struct.pack(
        "<BIIBBB", _LOCAL[_EVENT], timestamp, 0, _EVENT_TIMER, event_type, 0
    )  # data 0: timer trigger manual; event group 0


def _leg_chunks(
    prep: _Prepared,
    session_index: int,
    first_lap: int,
    enhanced: bool,
    sessions: list[dict[str, Any]],
    twice: tuple[tuple[str, ...], int] = ((), 1),
) -> list[bytes]:
    leg, cols, times = prep.leg, prep.columns, prep.times
    n = len(times)
    sport = _enum(leg.sport, SPORTS, "sport")
    sub_sport = _enum(leg.sub_sport, SUB_SPORTS, "sub_sport")

    record_columns: list[tuple[_Field, ArrayLike]] = [(_TIMESTAMP, times)]
    for name, spec in RECORD_FIELDS.items():
        key = name.removeprefix("enhanced_")
        if name == "timestamp" or key not in cols:
            continue
        if key in ("speed", "altitude") and name.startswith("enhanced_") != enhanced:
            continue
        values = cols[key]
        if key.startswith("position_"):
            values = semicircles(values)
        record_columns.append((spec, values))
    record_definition, records = _messages(_RECORD, record_columns, n)
    record_definitions = [record_definition]
    record_bytes = _plain_records(records)
    doubled = [column for column in record_columns if column[0].name in twice[0]]
    if doubled:
        twice_definition, twice_records = _messages(
            _RECORD, record_columns + doubled, n, local=_LOCAL_RECORD_TWICE
        )
        record_definitions.append(twice_definition)
        record_bytes = _mixed_records(records, twice_records, twice[1])

    lap_rows = _summaries(prep, prep.laps, enhanced, sport)
    for k, row in enumerate(lap_rows):
        last = k == len(lap_rows) - 1
        row |= {
            "message_index": first_lap + k,
            "event": _EVENT_LAP,
            "event_type": _TYPE_STOP,
            "lap_trigger": _LAP_TRIGGERS["session_end" if last else leg.lap_trigger],
            "sport": sport,
            "sub_sport": sub_sport,
        }
    lap_definition, laps = _summary_messages(_LAP, _LAP_FIELDS, lap_rows)

    (session,) = _summaries(prep, [0], enhanced, sport)
    for key in ("end_position_lat", "end_position_long"):
        session.pop(key, None)
    session["total_calories"] = sum(row.get("total_calories", 0) for row in lap_rows)
    session |= {
        "message_index": session_index,
        "first_lap_index": first_lap,
        "num_laps": len(lap_rows),
        "event": _EVENT_SESSION,
        "event_type": _TYPE_STOP,
        "sport": sport,
        "sub_sport": sub_sport,
        "trigger": 0,  # activity_end
    }
    bad = set(leg.summary) - _SESSION_OVERRIDABLE
    if bad:
        raise ValueError(f"summary cannot set {sorted(bad)}")
    session |= leg.summary
    sessions.append(session)
    session_definition, session_data = _summary_messages(_SESSION, _SESSION_FIELDS, [session])

    # Records in runs cut at lap ends and pauses; after each cut: stop, lap, start.
    out = [*record_definitions, lap_definition, _event(int(times[0]), _TYPE_START)]
    lap_ends = {b - 1: k for k, b in enumerate([*prep.laps[1:], n])}
    cuts = sorted(set(lap_ends) | set(prep.pauses))
    begin = 0
    for cut in cuts:
        out.append(record_bytes(begin, cut + 1))
        begin = cut + 1
        paused = cut in prep.pauses
        if paused or cut == n - 1:
            out.append(_event(int(times[cut]), _TYPE_STOP_ALL))
        if cut in lap_ends:
            k = lap_ends[cut]
            out.append(laps[k])
        if paused:
            out.append(_event(int(times[cut + 1]), _TYPE_START))
    out += [session_definition, *session_data]
    return out


def _plain_records(records: np.ndarray) -> Callable[[int, int], bytes]:
    return lambda lo, hi: records[lo:hi].tobytes()


def _mixed_records(
    plain: np.ndarray, doubled: np.ndarray, every: int
) -> Callable[[int, int], bytes]:
    """Records ``lo`` to ``hi``, every ``every``-th (the last of each group) as ``doubled``."""

    def encode(lo: int, hi: int) -> bytes:
        parts = []
        for index in range(lo, hi):
            source = doubled if index % every == every - 1 else plain
            parts.append(source[index : index + 1].tobytes())
        return b"".join(parts)

    return encode


def _grouped(
    global_num: int, columns: Sequence[tuple[_Field, np.ndarray]], per_message: int
) -> list[bytes]:
    """Array fields cut into messages of ``per_message`` elements (the last one shorter)."""
    n = len(columns[-1][1])
    out: list[bytes] = []
    full = n // per_message
    for rows, count, begin in ((full, per_message, 0), (1, n % per_message, full * per_message)):
        if not rows or not count:
            continue
        fields = []
        for f, values in columns:
            if f.count > 1:  # an array field: reshape to rows x count
                fields.append(
                    (
                        _Field(f.name, f.num, f.base, f.scale, f.offset, count),
                        values[begin : begin + rows * count].reshape(rows, count),
                    )
                )
            else:
                fields.append((f, values[begin : begin + rows * count : count]))
        if count == 1:  # a one-element array is written as a scalar field
            fields = [
                (_Field(f.name, f.num, f.base, f.scale, f.offset), v.reshape(-1)) for f, v in fields
            ]
        definition, data = _messages(global_num, fields, rows)
        out += [definition, data.tobytes()]
    return out


def _hr_chunks(
    t0: int, hr_messages: tuple[ArrayLike, ArrayLike], strap_clock_s: float, packed: bool
) -> list[bytes]:
    """``hr`` messages the way a swim-capable strap's beats are written.

    First an anchor: ``timestamp`` + ``fractional_timestamp`` (the first beat's UTC time) with
    that beat's single ``event_timestamp`` on the strap's own clock (``strap_clock_s`` at the
    activity's start, 1/1024 s) and bpm. Then 8 beats a message: ``filtered_bpm`` and, packed,
    ``event_timestamp_12`` (each beat's low 12 clock bits, two beats to 3 bytes, accumulated by
    decoders onto the previous full value) or, unpacked, full ``event_timestamp`` values. A
    last group of fewer than 8 beats is always written unpacked.
    """
    beats = np.asarray(hr_messages[0], dtype=np.float64)
    bpm = np.asarray(hr_messages[1], dtype=np.float64)
    if beats.shape != bpm.shape or beats.ndim != 1 or not beats.size:
        raise ValueError("hr_messages needs two equal-length, non-empty 1-d arrays")
    if np.any(np.diff(beats) <= 0) or beats[0] < 0:
        raise ValueError("beat times must increase from the activity's start")
    clock = beats + strap_clock_s
    if packed and np.any(np.diff(clock) * 1024 >= 4096):
        raise ValueError("packed beat times cannot be 4 s or more apart; use hr_packed=False")
    first = float(beats[0])
    definition, anchor = _messages(
        _HR,
        [
            (_TIMESTAMP, [t0 + math.floor(first)]),
            (_f("fractional_timestamp", 0, UINT16, 32768), [first - math.floor(first)]),
            (_f("event_timestamp", 9, UINT32, 1024), clock[:1]),
            (_f("filtered_bpm", 6, UINT8), bpm[:1]),
        ],
        1,
    )
    out = [definition, anchor.tobytes()]
    rest_clock, rest_bpm = clock[1:], bpm[1:]
    full = rest_clock.size // _HR_PER_MESSAGE * _HR_PER_MESSAGE
    if packed and full:
        ticks = np.rint(rest_clock[:full] * 1024).astype(np.int64) & 0xFFF
        pairs = ticks.reshape(-1, 2)
        word = pairs[:, 0] | pairs[:, 1] << 12  # 24 bits, little-endian in 3 bytes
        packed_bytes = np.stack([word & 0xFF, word >> 8 & 0xFF, word >> 16], axis=1)
        rows = full // _HR_PER_MESSAGE
        definition, data = _messages(
            _HR,
            [
                (
                    _Field("filtered_bpm", 6, UINT8, count=_HR_PER_MESSAGE),
                    rest_bpm[:full].reshape(rows, -1),
                ),
                (_Field("event_timestamp_12", 10, BYTE, count=12), packed_bytes.reshape(rows, 12)),
            ],
            rows,
        )
        out += [definition, data.tobytes()]
        rest_clock, rest_bpm = rest_clock[full:], rest_bpm[full:]
    if rest_clock.size:
        columns = [
            (_Field("filtered_bpm", 6, UINT8, count=_HR_PER_MESSAGE), rest_bpm),
            (_Field("event_timestamp", 9, UINT32, 1024, count=_HR_PER_MESSAGE), rest_clock),
        ]
        out += _grouped(_HR, columns, _HR_PER_MESSAGE)
    return out


def _hrv_chunks(hrv: ArrayLike) -> list[bytes]:
    rr = np.asarray(hrv, dtype=np.float64)
    if rr.ndim != 1 or not rr.size:
        raise ValueError("hrv needs a non-empty 1-d array of R-R intervals in seconds")
    columns = [(_Field("time", 0, UINT16, 1000, count=_HRV_PER_MESSAGE), rr)]
    return _grouped(_HRV, columns, _HRV_PER_MESSAGE)
