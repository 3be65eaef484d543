"""The tolerant path: fitdecode, pure Python and streaming, for files fitfast refuses.

It keeps everything decoded before the first break (an undefined local message, a truncated
message, a corrupt chained header) and reports the break; CRCs are checked but never fatal. It
builds the same ``RawFit`` as the fast path, reading raw values and naming them with the same
profile tables so that both paths agree on every file both can read.
"""

from __future__ import annotations

from typing import Any

import fitdecode
import numpy as np
from fitdecode.profile import FIELD_TYPE_TIMESTAMP
from fitdecode.types import BaseType, FieldData

from app.records import Notice
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

_DATE_TYPES = frozenset({"date_time", "local_date_time"})
_POSITIONS = frozenset({"position_lat", "position_long"})
_BYTE = 0x0D


class NoFitHeader(Exception):
    """The stream does not start with a FIT header."""


def read(data: bytes) -> RawFit:
    native: dict[str, list[float]] = {name: [] for name in RECORD_FIELDS}
    developer: dict[str, list[float]] = {}
    messages: dict[str, list[dict[str | int, Any]]] = {n: [] for n in SUMMARY_MESSAGES.values()}
    hrv_ms: list[float] = []
    hrv_row: list[int] = []
    record_count = 0
    crc_wrong = False
    headers = 0
    failure: str | None = None
    dev_scale: dict[tuple[int, int], tuple[float, float]] = {}
    reader = fitdecode.FitReader(
        data,
        processor=None,
        check_crc=fitdecode.CrcCheck.READONLY,
        error_handling=fitdecode.ErrorHandling.IGNORE,
    )
    try:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                number = frame.global_mesg_num
                if number == MESG_RECORD:
                    _add_record(frame.fields, native, developer, record_count, dev_scale)
                    record_count += 1
                elif number == MESG_HRV:
                    for value in _hrv_values(frame.fields):
                        hrv_ms.append(value)
                        hrv_row.append(record_count - 1)
                elif number in SUMMARY_MESSAGES:
                    message = _as_dict(frame.fields, dev_scale)
                    messages[SUMMARY_MESSAGES[number]].append(message)
                    if number == MESG_FIELD_DESCRIPTION:
                        _note_scale(message, dev_scale)
            elif isinstance(frame, fitdecode.FitHeader):
                headers += 1
                crc_wrong = crc_wrong or frame.crc_matched is False
            elif isinstance(frame, fitdecode.FitCRC):
                crc_wrong = crc_wrong or not frame.matched
    except fitdecode.FitHeaderError:
        if not headers:
            raise NoFitHeader from None
        failure = "fit_partial"
    except fitdecode.FitEOFError:
        if not headers:  # the file ends inside its first header
            raise NoFitHeader from None
        failure = "fit_truncated"
    except Exception:  # any other break: keep what came before it
        failure = "fit_partial"
    finally:
        reader.close()

    records = {
        name: np.asarray(values, dtype=np.float64)
        for name, values in native.items()
        if any(v == v for v in values)  # at least one non-NaN
    }
    record_dev = {
        name: np.asarray(values, dtype=np.float64)
        for name, values in developer.items()
        if name not in RECORD_FIELD_NAMES
    }
    notices: list[Notice] = []
    if crc_wrong:
        notices.append(Notice("fit_crc_mismatch"))
    if failure:
        notices.append(Notice(failure, {"records": record_count}))
    return RawFit(
        messages=messages,
        records=records,
        record_dev=record_dev,
        record_count=record_count,
        hrv_ms=np.asarray(hrv_ms, dtype=np.float64),
        hrv_row=np.asarray(hrv_row, dtype=np.int64),
        decoder="fitdecode",
        notices=notices,
    )


def _note_scale(
    description: dict[str | int, Any], dev_scale: dict[tuple[int, int], tuple[float, float]]
) -> None:
    index, number = (
        description.get("developer_data_index"),
        description.get("field_definition_number"),
    )
    scale, offset = description.get("scale"), description.get("offset")
    if not isinstance(index, int) or not isinstance(number, int):
        return
    scale = float(scale) if isinstance(scale, int | float) and scale else 1.0
    offset = float(offset) if isinstance(offset, int | float) else 0.0
    dev_scale[(index, number)] = (scale, offset)


def _dev_value(item: FieldData, dev_scale: dict[tuple[int, int], tuple[float, float]]) -> Any:
    """A developer field's value with its field_description's scale and offset applied
    (fitdecode leaves them out; the FIT protocol and fitfast apply them)."""
    value = item.value
    scale, offset = dev_scale.get((item.field_def.dev_data_index, item.field_def.def_num), (1, 0))
    if scale == 1 and offset == 0:
        return value

    def apply(v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return v
        return v / scale - offset

    if isinstance(value, tuple):
        return tuple(apply(v) for v in value)
    return apply(value)


def _add_record(
    fields: list[FieldData],
    native: dict[str, list[float]],
    developer: dict[str, list[float]],
    row: int,
    dev_scale: dict[tuple[int, int], tuple[float, float]],
) -> None:
    """Append one record: the first valid value of each field name, NaN where none."""
    seen: dict[str, float] = {}
    dev_seen: dict[str, float] = {}
    for item in fields:
        value = item.value
        if value is None or isinstance(value, tuple | str | bytes | bool):
            continue
        field_def = item.field_def
        if field_def is not None and field_def.is_dev:
            name = item.field.name if item.field is not None else None
            if name and name not in dev_seen and isinstance(value, int | float):
                dev_seen[name] = float(_dev_value(item, dev_scale))
            continue
        if item.field is None:
            continue
        name = item.parent_field.name if item.parent_field is not None else item.field.name
        if name in seen or name not in native or not isinstance(value, int | float):
            continue
        if name == "timestamp":
            seen[name] = float(value) + FIT_EPOCH
        elif name in _POSITIONS:
            seen[name] = float(value) * SEMICIRCLE_TO_DEGREES
        else:
            seen[name] = float(value)
    for name, column in native.items():
        column.append(seen.get(name, np.nan))
    for name, value in dev_seen.items():
        column = developer.get(name)
        if column is None:
            column = developer[name] = [np.nan] * row
        column.append(value)
    for column in developer.values():
        if len(column) == row:
            column.append(np.nan)


def _hrv_values(fields: list[FieldData]) -> list[float]:
    for item in fields:
        if item.field_def is not None and not item.field_def.is_dev and item.def_num == 0:
            raw = item.raw_value
            values = raw if isinstance(raw, tuple) else (raw,)
            return [float(v) for v in values if isinstance(v, int) and v != 0xFFFF]
    return []


def _as_dict(
    fields: list[FieldData], dev_scale: dict[tuple[int, int], tuple[float, float]]
) -> dict[str | int, Any]:
    """A message as ``fitfast.parse(..., enum_names=False)`` shapes it, without the fields that
    fitdecode expands from components (fitfast expands only some; the mapper needs none)."""
    out: dict[str | int, Any] = {}
    for item in fields:
        raw = item.raw_value
        if raw is None:
            continue
        field_def = item.field_def
        if field_def is None:
            if item.field is FIELD_TYPE_TIMESTAMP and "timestamp" not in out:
                out["timestamp"] = int(raw) + FIT_EPOCH  # from a compressed timestamp header
            continue
        if field_def.is_dev:
            if item.field is not None and item.field.name not in out:
                out[item.field.name] = _plain(_dev_value(item, dev_scale))
            continue
        if item.field is None:
            if field_def.def_num not in out:
                out[field_def.def_num] = _plain(raw)
            continue
        main = item.parent_field or item.field
        name = main.name
        if name in out:
            continue
        kinds = (main.type, item.field.type)  # a subfield (garmin_product) may bring an enum
        base = field_def.base_type
        if any(kind.name in _DATE_TYPES for kind in kinds):
            out[name] = int(raw) + FIT_EPOCH if isinstance(raw, int) else None
        elif base is not None and base.identifier == _BYTE:
            out[name] = bytes(v for v in raw if v is not None) if isinstance(raw, tuple) else raw
        elif any(not isinstance(kind, BaseType) and kind.enum is not None for kind in kinds):
            out[name] = _plain(raw)
        else:
            out[name] = _plain(item.value)
        if out[name] is None:
            del out[name]
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value
