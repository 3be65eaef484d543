"""Read per-second samples into numpy arrays without a Python object per row.

One ``COPY (SELECT …) TO STDOUT (FORMAT BINARY)`` per batch of activities. Every field is sent
as 8 bytes (``time`` as timestamptz microseconds, channels cast to float8 with NULL → NaN), so
each row has the same width and the whole payload is read with one structured
:func:`numpy.frombuffer`; activities are split where ``activity_id`` changes. The bench group
``metrics`` measures it (``metrics_read_samples_rows_per_s``).

Binary COPY format: https://www.postgresql.org/docs/17/sql-copy.html#id-1.9.3.55.9.4
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
_ROW = np.dtype(
    [("fields", ">i2"), ("len_id", ">i4"), ("activity_id", ">i8"), ("len_t", ">i4"), ("t", ">i8")]
    + [item for name in CHANNELS for item in ((f"len_{name}", ">i4"), (name, ">f8"))]
)


@dataclass(frozen=True, slots=True)
class ActivitySamples:
    """One activity's samples: ``time`` in Unix seconds, channels as float64 (NaN = none)."""

    time: NDArray[np.float64]
    channels: dict[str, NDArray[np.float64]]

    def __len__(self) -> int:
        return int(self.time.size)


_QUERY = (
    "COPY (SELECT activity_id, time, COALESCE(heart_rate::float8, 'NaN'), "
    "COALESCE(power::float8, 'NaN'), COALESCE(cadence::float8, 'NaN'), "
    "COALESCE(speed::float8, 'NaN'), COALESCE(distance, 'NaN'), "
    "COALESCE(altitude::float8, 'NaN') FROM sample WHERE activity_id = ANY(%s) "
    "ORDER BY activity_id, time) TO STDOUT (FORMAT BINARY)"
)  # the columns of CHANNELS, in order


def parse_binary_copy(payload: bytes | memoryview) -> NDArray[np.void]:
    """The rows of a binary COPY payload laid out as :data:`_ROW` (fixed-width fields)."""
    view = memoryview(payload)
    if bytes(view[:11]) != _SIGNATURE:
        raise ValueError("not a PostgreSQL binary COPY payload")
    extension = int.from_bytes(view[15:19], "big")
    body = view[19 + extension : len(view) - 2]
    if len(body) % _ROW.itemsize:
        raise ValueError("binary COPY rows are not fixed-width")
    return np.frombuffer(body, dtype=_ROW)


def read_samples(session: Session, activity_ids: Iterable[int]) -> dict[int, ActivitySamples]:
    """Samples of ``activity_ids`` (ordered by time); activities without samples are absent."""
    wanted = sorted(set(activity_ids))
    if not wanted:
        return {}
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(_QUERY, (wanted,)) as copy:
        payload = b"".join(bytes(block) for block in copy)
    rows = parse_binary_copy(payload)
    if rows.size == 0:
        return {}
    ids = rows["activity_id"].astype(np.int64)
    time = rows["t"].astype(np.float64) / 1e6 + PG_EPOCH_UNIX_S
    channels = {name: rows[name].astype(np.float64) for name in CHANNELS}
    starts = np.concatenate(([0], np.flatnonzero(np.diff(ids)) + 1, [ids.size]))
    found: dict[int, ActivitySamples] = {}
    for lo, hi in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
        found[int(ids[lo])] = ActivitySamples(
            time=time[lo:hi], channels={name: values[lo:hi] for name, values in channels.items()}
        )
    return found
