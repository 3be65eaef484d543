"""The fast path: fitfast (Rust) decodes; Python only walks message headers.

``fitfast.records`` gives the ``record`` columns. Turning every record into a dict with
``fitfast.parse`` would cost twice as much as decoding, so one pass over the message headers
(no field decoding) instead:

- copies the few summary messages (file_id, session, lap, hr…) with their definitions into a small
  FIT stream that ``fitfast.parse`` reads in a fraction of the time;
- reads ``hrv`` R-R arrays straight from the bytes with numpy, remembering which record each
  followed (``hrv`` messages carry no timestamp);
- finds what fitfast 0.1.0 gets wrong and redoes it from the bytes with numpy:
  a record field written twice (fitfast keeps the last valid value; we keep the first; a
  ``date_time`` field such as ``timestamp`` gets the FIT epoch added, as fitfast adds it),
  ``compressed_speed_distance`` (fitfast does not expand it into speed and distance), and a
  developer field slot redefined mid-file by a second app (fitfast decodes every value with the
  first definition's type and files it under one name).

Raises ``fitfast.FitDecodeError`` when fitfast refuses the file and ``FastPathUnsupported`` when
the walk meets something it does not expect; the caller then uses the tolerant path.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import fitfast
import numpy as np
from fitdecode import profile as _profile

from app.sources.fit import crc
from app.sources.fit.profile import (
    FIT_EPOCH,
    MESG_FIELD_DESCRIPTION,
    MESG_HRV,
    MESG_RECORD,
    RECORD_FIELD_NAMES,
    RECORD_FIELDS,
    SEMICIRCLE_TO_DEGREES,
    SUMMARY_MESSAGES,
)
from app.sources.fit.raw import RawFit


class FastPathUnsupported(Exception):
    """The file decoded, but not in a way this path can vouch for."""


# FIT base type -> (numpy dtype code, invalid raw value; None: NaN, as for floats)
_BASE_TYPES: dict[int, tuple[str, int | None]] = {
    0x00: ("u1", 0xFF),
    0x01: ("i1", 0x7F),
    0x02: ("u1", 0xFF),
    0x83: ("i2", 0x7FFF),
    0x84: ("u2", 0xFFFF),
    0x85: ("i4", 0x7FFFFFFF),
    0x86: ("u4", 0xFFFFFFFF),
    0x88: ("f4", None),
    0x89: ("f8", None),
    0x0A: ("u1", 0),
    0x8B: ("u2", 0),
    0x8C: ("u4", 0),
    0x0D: ("u1", 0xFF),
    0x8E: ("i8", 0x7FFFFFFFFFFFFFFF),
    0x8F: ("u8", 0xFFFFFFFFFFFFFFFF),
    0x90: ("u8", 0),
}
_RECORD_PROFILE = _profile.MESSAGE_TYPES[MESG_RECORD].fields
_RECORD_NUMBERS = {
    num: f.name for num, f in _RECORD_PROFILE.items() if f.name in set(RECORD_FIELDS)
}
# Record fields counted in seconds since the FIT epoch (``timestamp``): Unix seconds once decoded.
_RECORD_DATES = frozenset(
    num for num in _RECORD_NUMBERS if _RECORD_PROFILE[num].type.name == "date_time"
)
_POSITION_LAT, _POSITION_LONG, _ALTITUDE, _DISTANCE, _SPEED = 0, 1, 2, 5, 6
_COMPRESSED_SPEED_DISTANCE = 8
_ENHANCED_SPEED, _ENHANCED_ALTITUDE = 73, 78
_UINT16 = 0x84

Slot = tuple[int, int]  # (developer_data_index, field_definition_number)


@dataclass(slots=True, eq=False)
class _RecordLayout:
    """One ``record`` definition: where its fields sit, and (when ``collect``) the records that
    used it, for the fields fitfast mis-decodes."""

    endian: str
    fields: dict[int, list[tuple[int, int, int]]]  # number -> [(offset, size, base type)]
    dev: dict[Slot, tuple[int, int]]  # developer slot -> (offset, size)
    redo_native: bool
    collect: bool
    rows: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)  # of each message's first field byte


@dataclass(slots=True, eq=False)
class _HrvLayout:
    """One ``hrv`` definition: where its R-R array sits, and the messages that used it."""

    offset: int
    size: int
    endian: str
    starts: list[int] = field(default_factory=list)  # of each message's first field byte
    rows: list[int] = field(default_factory=list)  # the record row each message followed


@dataclass(slots=True)
class _Scan:
    summary: bytes = b""
    needs_full_parse: bool = False
    record_count: int = 0
    hrv_ms: np.ndarray = field(default_factory=lambda: np.empty(0))
    hrv_row: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    layouts: list[_RecordLayout] = field(default_factory=list)
    hrv_layouts: list[_HrvLayout] = field(default_factory=list)
    # for each field_description message: the first record row it governs
    description_rows: list[int] = field(default_factory=list)
    redefined: set[Slot] = field(default_factory=set)


def read(data: bytes) -> RawFit:
    columns = fitfast.records(data, "record")
    scan = _scan(data)
    rows = len(next(iter(columns.values()))) if columns else 0
    if rows != scan.record_count:
        raise FastPathUnsupported(f"{rows} record rows for {scan.record_count} record messages")
    if scan.needs_full_parse:
        parsed = fitfast.parse(data, enum_names=False)
    elif scan.summary:
        parsed = fitfast.parse(scan.summary, enum_names=False)
    else:
        parsed = {}
    messages = {name: parsed.get(name, []) for name in SUMMARY_MESSAGES.values()}
    descriptions = messages["field_description"]
    if len(descriptions) != len(scan.description_rows):
        raise FastPathUnsupported("field_description messages do not match the walk")

    records = {name: columns[name] for name in RECORD_FIELDS if name in columns}
    for layout in scan.layouts:
        if layout.redo_native and layout.rows:
            _redo_native(data, layout, records, rows)
    dev_names = {m.get("field_name") for m in descriptions}
    record_dev = {
        name: values
        for name, values in columns.items()
        if name in dev_names and name not in RECORD_FIELD_NAMES
    }
    for slot in scan.redefined:
        _redo_developer(data, slot, scan, descriptions, record_dev, rows)
    return RawFit(
        messages=messages,
        records=records,
        record_dev=record_dev,
        record_count=rows,
        hrv_ms=scan.hrv_ms,
        hrv_row=scan.hrv_row,
        decoder="fitfast",
    )


# --- the walk ----------------------------------------------------------------------------------


def _scan(data: bytes) -> _Scan:
    parts = crc.segments(data)
    if parts is None:
        raise FastPathUnsupported("chained FIT headers do not tile the file")
    scan = _Scan()
    summary = bytearray()
    described: dict[Slot, tuple[int, str]] = {}
    record_row = -1
    keep = SUMMARY_MESSAGES
    buffer = np.frombuffer(data, dtype=np.uint8)
    for part in parts:
        body = bytearray()
        sizes = [0] * 16
        kinds = [-1] * 16
        # per local type: a _RecordLayout, an _HrvLayout, a field_description (fields, endian),
        # or None
        extra: list[Any] = [None] * 16
        pos = part.start + part.header_size
        end = part.data_end
        while pos < end:
            head = data[pos]
            if head & 0x80:  # compressed timestamp header, always a data message
                local = (head >> 5) & 0x03
                compressed = True
            elif head & 0x40:  # definition message
                local = head & 0x0F
                endian = ">" if data[pos + 2] == 1 else "<"
                number = struct.unpack_from(endian + "H", data, pos + 3)[0]
                count = data[pos + 5]
                field_bytes = data[pos + 6 : pos + 6 + 3 * count]
                stop = pos + 6 + 3 * count
                dev_bytes = b""
                if head & 0x20:
                    dev_count = data[stop]
                    dev_bytes = data[stop + 1 : stop + 1 + 3 * dev_count]
                    stop += 1 + 3 * dev_count
                sizes[local] = sum(field_bytes[1::3]) + sum(dev_bytes[1::3])
                kinds[local] = number
                extra[local] = _definition(number, field_bytes, dev_bytes, endian, scan)
                if number in keep:
                    body += data[pos:stop]
                pos = stop
                continue
            else:
                local = head & 0x0F
                compressed = False
            number = kinds[local]
            if number < 0:
                raise FastPathUnsupported(f"data for undefined local message {local}")
            stride = 1 + sizes[local]
            # This message and the ones right after it with the same header: one step for all.
            run = 1
            if number != MESG_FIELD_DESCRIPTION and pos + stride < end:
                run = _run(buffer, data, pos, stride, end, compressed)
            if number == MESG_RECORD:
                layout = extra[local]
                if layout.collect:
                    layout.rows.extend(range(record_row + 1, record_row + 1 + run))
                    layout.offsets.extend(range(pos + 1, pos + 1 + run * stride, stride))
                record_row += run
            elif number == MESG_HRV:
                spec = extra[local]
                if spec is not None:
                    spec.starts.extend(range(pos + 1, pos + 1 + run * stride, stride))
                    spec.rows.extend([record_row] * run)
            elif number in keep:
                if compressed:
                    scan.needs_full_parse = True
                if number == MESG_FIELD_DESCRIPTION:
                    scan.description_rows.append(record_row + 1)
                    _note_description(data, pos + 1, extra[local], described, extra, scan)
                body += data[pos : pos + run * stride]
            pos += run * stride
        if pos != end:
            raise FastPathUnsupported("messages overrun the declared data size")
        if body:
            header = bytes([12, data[part.start + 1]]) + data[part.start + 2 : part.start + 4]
            header += struct.pack("<I", len(body)) + b".FIT"
            summary += header + body
            summary += struct.pack("<H", crc.fit_crc(header + bytes(body)))
    scan.summary = bytes(summary)
    scan.record_count = record_row + 1
    _collect_hrv(data, scan)
    return scan


def _run(buffer: np.ndarray, data: bytes, pos: int, stride: int, end: int, compressed: bool) -> int:
    """How many messages from the data message at ``pos`` on (``stride`` bytes each) share its
    header: the same local message type, so the same size (a definition in between would have
    another header byte). With compressed timestamp headers only the time offset varies.
    Looked up a few messages first, then in growing strides with numpy."""
    mask = 0xE0 if compressed else 0xFF
    head = data[pos] & mask
    if data[pos + stride] & mask != head:
        return 1
    available = (end - pos + stride - 1) // stride  # messages whose header lies before ``end``
    checked = 2
    step = 16
    while checked < available:
        upto = min(available, checked + step)
        heads = buffer[pos + checked * stride : pos + upto * stride : stride]
        if compressed:
            heads = heads & mask
        differs = np.flatnonzero(heads != head)
        if differs.size:
            return checked + int(differs[0])
        checked = upto
        step *= 4
    return available


def _collect_hrv(data: bytes, scan: _Scan) -> None:
    """The valid R-R intervals (ms) of all ``hrv`` messages, in file order."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    order: list[np.ndarray] = []
    values: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    for layout in scan.hrv_layouts:
        if not layout.starts:
            continue
        starts = np.asarray(layout.starts, dtype=np.int64) + layout.offset
        raw = buffer[starts[:, None] + np.arange(layout.size)]
        count = layout.size // 2
        values.append(raw.view(layout.endian + "u2").reshape(-1))
        rows.append(np.repeat(np.asarray(layout.rows, dtype=np.int64), count))
        order.append(np.repeat(starts, count))
    if not values:
        return
    raw_ms = np.concatenate(values)
    row = np.concatenate(rows)
    if len(values) > 1:  # several hrv definitions: back into file order
        sort = np.argsort(np.concatenate(order), kind="stable")
        raw_ms, row = raw_ms[sort], row[sort]
    valid = raw_ms != 0xFFFF
    scan.hrv_ms = raw_ms[valid].astype(np.float64)
    scan.hrv_row = row[valid]


def _fields(field_bytes: bytes) -> dict[int, list[tuple[int, int, int]]]:
    found: dict[int, list[tuple[int, int, int]]] = {}
    offset = 0
    for i in range(0, len(field_bytes), 3):
        num, size, base = field_bytes[i], field_bytes[i + 1], field_bytes[i + 2]
        found.setdefault(num, []).append((offset, size, base))
        offset += size
    return found


def _definition(number: int, field_bytes: bytes, dev_bytes: bytes, endian: str, scan: _Scan) -> Any:
    """What the walk must remember about one definition message."""
    if number == MESG_RECORD:
        fields = _fields(field_bytes)
        offset = sum(field_bytes[1::3])
        dev: dict[Slot, tuple[int, int]] = {}
        for i in range(0, len(dev_bytes), 3):
            num, size, index = dev_bytes[i], dev_bytes[i + 1], dev_bytes[i + 2]
            dev.setdefault((index, num), (offset, size))
            offset += size
        redo_native = _COMPRESSED_SPEED_DISTANCE in fields or any(
            len(places) > 1 for num, places in fields.items() if num in _RECORD_NUMBERS
        )
        layout = _RecordLayout(
            endian=endian,
            fields=fields,
            dev=dev,
            redo_native=redo_native,
            collect=redo_native or any(slot in scan.redefined for slot in dev),
        )
        scan.layouts.append(layout)
        return layout
    if number == MESG_HRV:
        for offset, size, base in _fields(field_bytes).get(0, [])[:1]:
            if base != _UINT16 or size % 2:
                raise FastPathUnsupported(f"hrv time field of base type {base:#x}")
            hrv = _HrvLayout(offset=offset, size=size, endian=endian)
            scan.hrv_layouts.append(hrv)
            return hrv
        return None
    if number == MESG_FIELD_DESCRIPTION:
        return (_fields(field_bytes), endian)
    return None


def _note_description(
    data: bytes,
    start: int,
    spec: tuple[dict[int, list[tuple[int, int, int]]], str],
    described: dict[Slot, tuple[int, str]],
    extra: list[Any],
    scan: _Scan,
) -> None:
    """Read a field_description's slot, type and name; a slot described again with another
    type or name is redefined: from now on, collect the records that carry it."""
    fields, _endian = spec

    def byte(num: int) -> int | None:
        places = fields.get(num)
        return data[start + places[0][0]] if places and places[0][1] >= 1 else None

    index, num, base = byte(0), byte(1), byte(2)
    if index is None or num is None:
        return
    name = ""
    for offset, size, _base in fields.get(3, [])[:1]:
        name = (
            data[start + offset : start + offset + size]
            .split(b"\0", 1)[0]
            .decode("utf-8", "replace")
        )
    slot = (index, num)
    previous = described.get(slot)
    described[slot] = (base if base is not None else -1, name)
    if previous is None or previous == described[slot]:
        return
    scan.redefined.add(slot)
    for layout in extra:
        if isinstance(layout, _RecordLayout) and slot in layout.dev:
            layout.collect = True


# --- redoing what fitfast gets wrong -----------------------------------------------------------


def _gather(
    data: bytes, offsets: np.ndarray, offset: int, size: int, base: int, endian: str
) -> np.ndarray | None:
    """One scalar field of many messages as float64 (NaN where invalid), or None if the field
    is not a scalar of its base type."""
    spec = _BASE_TYPES.get(base)
    if spec is None:
        return None
    code, invalid = spec
    dtype = np.dtype(endian + code)
    if size != dtype.itemsize:
        return None
    buffer = np.frombuffer(data, dtype=np.uint8)
    raw = buffer[(offsets + offset)[:, None] + np.arange(size)].view(dtype)[:, 0]
    values = raw.astype(np.float64)
    if invalid is None:
        values[~np.isfinite(values)] = np.nan
    else:
        values[raw == invalid] = np.nan
    return values


def _redo_native(
    data: bytes, layout: _RecordLayout, records: dict[str, np.ndarray], rows: int
) -> None:
    """Overwrite fitfast's values for the records of ``layout``: where a sample field is written
    more than once (natively, or also inside ``compressed_speed_distance``), the first valid
    value in definition order wins."""
    row_index = np.asarray(layout.rows, dtype=np.int64)
    offsets = np.asarray(layout.offsets, dtype=np.int64)
    candidates: dict[int, list[tuple[int, np.ndarray]]] = {}
    for num in _RECORD_NUMBERS:
        for offset, size, base in layout.fields.get(num, []):
            values = _gather(data, offsets, offset, size, base, layout.endian)
            if values is None:
                continue
            spec = _RECORD_PROFILE[num]
            if spec.scale:
                values = values / spec.scale
            if spec.offset:
                values = values - spec.offset
            if num in (_POSITION_LAT, _POSITION_LONG):
                values = values * SEMICIRCLE_TO_DEGREES
            elif num in _RECORD_DATES:
                values = values + FIT_EPOCH
            candidates.setdefault(num, []).append((offset, values))
    native = {num: len(found) for num, found in candidates.items()}
    for offset, size, _base in layout.fields.get(_COMPRESSED_SPEED_DISTANCE, [])[:1]:
        speed, distance = _compressed_speed_distance(data, offsets, offset, size)
        candidates.setdefault(_SPEED, []).append((offset, speed))
        candidates.setdefault(_DISTANCE, []).append((offset, distance))
    decoded: dict[int, np.ndarray] = {}
    for num, found in candidates.items():
        if len(found) == native.get(num, 0) == 1:
            continue  # written once: fitfast's value stands
        found.sort(key=lambda item: item[0])
        first = found[0][1]
        for _offset, values in found[1:]:
            first = np.where(np.isnan(first), values, first)
        decoded[num] = first
    # The profile expands speed into enhanced_speed and altitude into enhanced_altitude.
    if _SPEED in decoded and _ENHANCED_SPEED not in layout.fields:
        decoded[_ENHANCED_SPEED] = decoded[_SPEED]
    if _ALTITUDE in decoded and _ENHANCED_ALTITUDE not in layout.fields:
        decoded[_ENHANCED_ALTITUDE] = decoded[_ALTITUDE]
    for num, values in decoded.items():
        name = _RECORD_NUMBERS[num]
        column = records.get(name)
        column = np.full(rows, np.nan) if column is None else column.copy()
        column[row_index] = values
        records[name] = column


def _compressed_speed_distance(
    data: bytes, offsets: np.ndarray, offset: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Expand the 3-byte ``compressed_speed_distance`` field (profile components: speed, 12 bits,
    scale 100; distance, 12 bits, scale 16, accumulated from record to record)."""
    speed = np.full(len(offsets), np.nan)
    distance = np.full(len(offsets), np.nan)
    if size != 3 or not len(offsets):
        return speed, distance
    buffer = np.frombuffer(data, dtype=np.uint8)
    raw = buffer[(offsets + offset)[:, None] + np.arange(3)].astype(np.int64)
    valid = ~np.all(raw == 0xFF, axis=1)
    b0, b1, b2 = raw[valid, 0], raw[valid, 1], raw[valid, 2]
    speed[valid] = (b0 | ((b1 & 0x0F) << 8)) / 100.0
    low12 = (b1 >> 4) | (b2 << 4)
    if low12.size:
        steps = np.diff(low12) & 0xFFF
        accumulated = low12[0] + np.concatenate(([0], np.cumsum(steps)))
        distance[valid] = accumulated / 16.0
    return speed, distance


def _redo_developer(
    data: bytes,
    slot: Slot,
    scan: _Scan,
    descriptions: list[dict[str | int, Any]],
    record_dev: dict[str, np.ndarray],
    rows: int,
) -> None:
    """Decode a redefined developer slot from the bytes, each record by the description that
    governed it. fitfast's column is right only before the first redefinition."""
    periods = [
        (first_row, description)
        for description, first_row in zip(descriptions, scan.description_rows, strict=True)
        if (description.get("developer_data_index"), description.get("field_definition_number"))
        == slot
    ]
    if len(periods) < 2:
        return
    names = {d.get("field_name") for _row, d in periods if isinstance(d.get("field_name"), str)}
    present = [name for name in names if name in record_dev]
    original = record_dev.pop(present[0]) if len(present) == 1 else None
    for name in present[1:]:
        record_dev.pop(name, None)
    rebuilt: dict[str, np.ndarray] = {}

    def column(name: str) -> np.ndarray:
        if name not in rebuilt:
            rebuilt[name] = np.full(rows, np.nan)
        return rebuilt[name]

    starts = [first_row for first_row, _d in periods]
    first_name = periods[0][1].get("field_name")
    if original is not None and isinstance(first_name, str):
        column(first_name)[: starts[1]] = original[: starts[1]]
    for layout in scan.layouts:
        where = layout.dev.get(slot)
        if where is None or not layout.rows:
            continue
        row_index = np.asarray(layout.rows, dtype=np.int64)
        offsets = np.asarray(layout.offsets, dtype=np.int64)
        period = np.searchsorted(starts, row_index, side="right") - 1
        for k in range(1, len(periods)):
            chosen = period == k
            description = periods[k][1]
            name, base = description.get("field_name"), description.get("fit_base_type_id")
            if not chosen.any() or not isinstance(name, str) or not isinstance(base, int):
                continue
            values = _gather(data, offsets[chosen], where[0], where[1], base, layout.endian)
            if values is None:
                continue
            scale, shift = description.get("scale"), description.get("offset")
            if isinstance(scale, int | float) and scale:
                values = values / scale
            if isinstance(shift, int | float) and shift:
                values = values - shift
            column(name)[row_index[chosen]] = values
    for name, values in rebuilt.items():
        if name in RECORD_FIELD_NAMES or not np.isfinite(values).any():
            continue
        existing = record_dev.get(name)
        record_dev[name] = (
            values if existing is None else np.where(np.isnan(values), existing, values)
        )
