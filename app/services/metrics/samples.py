"""Read per-second samples into numpy arrays without a Python object per row.

One ``COPY (SELECT …) TO STDOUT (FORMAT BINARY)`` per batch of activities, one row per activity:
its samples aggregated server-side into arrays (``time`` as timestamptz microseconds, channels
cast to float8 with NULL → NaN). Every array element is then 4 bytes of length and 8 of value,
so each array is read with one structured :func:`numpy.frombuffer`. One COPY message per
activity, not per sample: psycopg's per-message cost (~10 µs) would otherwise exceed everything
else. The bench group ``metrics`` measures it (``metrics_read_samples_rows_per_s``).

Binary COPY format: https://www.postgresql.org/docs/17/sql-copy.html#id-1.9.3.55.9.4; binary
array format: ``array_send`` in PostgreSQL's ``src/backend/utils/adt/arrayfuncs.c``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from app.db.copy import PG_EPOCH_UNIX_S

CHANNELS = ("heart_rate", "power", "cadence", "speed", "distance", "altitude")
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_ELEMENT = {"time": np.dtype([("len", ">i4"), ("value", ">i8")])}
_FLOAT_ELEMENT = np.dtype([("len", ">i4"), ("value", ">f8")])
_ARRAY_HEADER = 20  # ndim, has-nulls flag, element type, then length and lower bound (1-D)


@dataclass(frozen=True, slots=True)
class ActivitySamples:
    """One activity's samples: ``time`` in Unix seconds, channels as float64 (NaN = none)."""

    time: NDArray[np.float64]
    channels: dict[str, NDArray[np.float64]]

    def __len__(self) -> int:
        return int(self.time.size)


_QUERY = (
    "COPY (SELECT activity_id, array_agg(time ORDER BY time), "
    "array_agg(COALESCE(heart_rate::float8, 'NaN') ORDER BY time), "
    "array_agg(COALESCE(power::float8, 'NaN') ORDER BY time), "
    "array_agg(COALESCE(cadence::float8, 'NaN') ORDER BY time), "
    "array_agg(COALESCE(speed::float8, 'NaN') ORDER BY time), "
    "array_agg(COALESCE(distance, 'NaN') ORDER BY time), "
    "array_agg(COALESCE(altitude::float8, 'NaN') ORDER BY time) "
    "FROM sample WHERE activity_id = ANY(%s) GROUP BY activity_id) TO STDOUT (FORMAT BINARY)"
)  # the columns of CHANNELS, in order


def _array(view: memoryview, at: int, element: np.dtype) -> tuple[np.ndarray, int]:
    """The values of the 1-D array field at ``at`` (its length word first) and the offset after
    it; refuses NULL elements (the query has none)."""
    size = int.from_bytes(view[at : at + 4], "big", signed=True)
    start = at + 4
    count = int.from_bytes(view[start + 12 : start + 16], "big") if size > 12 else 0
    items = np.frombuffer(view, dtype=element, count=count, offset=start + _ARRAY_HEADER)
    if count and not (items["len"] == 8).all():
        raise ValueError("unexpected NULL or non-8-byte element in a sample array")
    return items["value"], start + size


def parse_sample_rows(payload: bytes | memoryview) -> dict[int, ActivitySamples]:
    """The activities of a binary COPY payload of :data:`_QUERY`'s rows."""
    view = memoryview(payload)
    if bytes(view[:11]) != _SIGNATURE:
        raise ValueError("not a PostgreSQL binary COPY payload")
    at = 19 + int.from_bytes(view[15:19], "big")
    found: dict[int, ActivitySamples] = {}
    while True:
        fields = int.from_bytes(view[at : at + 2], "big", signed=True)
        if fields == -1:  # the trailer
            break
        if fields != 2 + len(CHANNELS):
            raise ValueError(f"{fields} fields in a sample row")
        activity_id = int.from_bytes(view[at + 6 : at + 14], "big", signed=True)
        at += 14
        micros, at = _array(view, at, _ELEMENT["time"])
        time = micros.astype(np.float64) / 1e6 + PG_EPOCH_UNIX_S
        channels = {}
        for name in CHANNELS:
            values, at = _array(view, at, _FLOAT_ELEMENT)
            channels[name] = values.astype(np.float64)
        found[activity_id] = ActivitySamples(time=time, channels=channels)
    return dict(sorted(found.items()))


def read_samples(session: Session, activity_ids: Iterable[int]) -> dict[int, ActivitySamples]:
    """Samples of ``activity_ids`` (ordered by time); activities without samples are absent."""
    wanted = sorted(set(activity_ids))
    if not wanted:
        return {}
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(_QUERY, (wanted,)) as copy:
        payload = b"".join(bytes(block) for block in copy)
    return parse_sample_rows(payload)
