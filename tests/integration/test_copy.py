"""Binary COPY payloads round-trip through the real PostgreSQL, NULLs included."""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import text

from app.db import copy as pgcopy
from app.db.copy import CopyColumn, CopyConstant, binary_copy_payload


def _copy(connection, table: str, columns: list[str], payload: list[bytes]) -> None:
    raw = connection.connection.driver_connection
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for chunk in payload:
            copy.write(chunk)


def test_values_and_nulls_round_trip(connection):
    connection.execute(text("CREATE TEMP TABLE t (id int8, at timestamptz, x float8, y real)"))
    times = np.array([0.0, 1_700_000_000.25, np.nan])
    payload = binary_copy_payload(
        [
            CopyColumn(np.array([1, 2, 3]), "int8"),
            CopyColumn(times, "timestamptz"),
            CopyColumn(np.array([1.5, np.nan, -2.25e-7]), "float8"),
            CopyColumn(np.array([np.nan, 3.5, 0.0]), "float4"),
        ]
    )
    _copy(connection, "t", ["id", "at", "x", "y"], payload)
    rows = connection.execute(text("SELECT id, at, x, y FROM t ORDER BY id")).all()
    assert rows == [
        (1, datetime(1970, 1, 1, tzinfo=UTC), 1.5, None),
        (2, datetime.fromtimestamp(1_700_000_000.25, UTC), None, 3.5),
        (3, None, -2.25e-7, 0.0),
    ]


def test_many_rows_span_blocks(connection, monkeypatch):
    monkeypatch.setattr(pgcopy, "ROWS_PER_BLOCK", 7)
    connection.execute(text("CREATE TEMP TABLE t (id int8, x float8)"))
    ids = np.arange(50)
    values = np.where(ids % 3 == 0, np.nan, ids * 0.5)
    _copy(
        connection,
        "t",
        ["id", "x"],
        binary_copy_payload([CopyColumn(ids, "int8"), CopyColumn(values, "float8")]),
    )
    rows = connection.execute(text("SELECT id, x FROM t ORDER BY id")).all()
    assert len(rows) == 50
    assert [x for _, x in rows[:4]] == [None, 0.5, 1.0, None]


def test_columns_of_different_length_are_refused():
    with pytest.raises(ValueError, match="differ"):
        binary_copy_payload([CopyColumn(np.zeros(2), "float8"), CopyColumn(np.zeros(3), "float8")])


def test_constant_text_columns(connection):
    connection.execute(text("CREATE TEMP TABLE t (id int8, metric text, device text)"))
    payload = binary_copy_payload(
        [
            CopyColumn(np.array([1, 2]), "int8"),
            CopyConstant("heart_rate"),
            CopyConstant("Jonathan’s Apple Watch"),
        ]
    )
    _copy(connection, "t", ["id", "metric", "device"], payload)
    assert connection.execute(text("SELECT * FROM t ORDER BY id")).all() == [
        (1, "heart_rate", "Jonathan’s Apple Watch"),
        (2, "heart_rate", "Jonathan’s Apple Watch"),
    ]


def _reference_payload(columns: list[CopyColumn | CopyConstant]) -> bytes:
    """The binary COPY stream written row by row from the format's description."""
    formats = {"int8": ">q", "float8": ">d", "float4": ">f", "timestamptz": ">q"}
    rows = len(next(c for c in columns if isinstance(c, CopyColumn)).values)
    out = bytearray(pgcopy.HEADER)
    for row in range(rows):
        out += struct.pack(">h", len(columns))
        for column in columns:
            if isinstance(column, CopyConstant):
                encoded = column.value.encode()
                out += struct.pack(">i", len(encoded)) + encoded
                continue
            value = column.values[row]
            if column.kind != "int8" and math.isnan(value):
                out += struct.pack(">i", -1)
                continue
            if column.kind == "timestamptz":
                value = round((value - pgcopy.PG_EPOCH_UNIX_S) * 1_000_000)
            packed = struct.pack(formats[column.kind], value)
            out += struct.pack(">i", len(packed)) + packed
    return bytes(out + pgcopy.TRAILER)


@pytest.mark.parametrize("null_share", [0.0, 0.01, 0.05, 0.3, 1.0])
def test_payload_matches_the_format_row_by_row(monkeypatch, null_share):
    """Whatever the NULLs' pattern (none, a few rows, many, every row), the payload is the one
    the format describes, across blocks."""
    monkeypatch.setattr(pgcopy, "ROWS_PER_BLOCK", 333)
    rng = np.random.default_rng(int(null_share * 100))
    n = 1000

    def sometimes_null(values: np.ndarray) -> np.ndarray:
        return np.where(rng.random(n) < null_share, np.nan, values)

    columns: list[CopyColumn | CopyConstant] = [
        CopyColumn(np.arange(n, dtype=np.int64) - 3, "int8"),
        CopyColumn(sometimes_null(1_700_000_000.0 + np.arange(n) * 0.5), "timestamptz"),
        CopyConstant("garmin"),
        CopyColumn(sometimes_null(rng.normal(size=n)), "float8"),
        CopyColumn(np.full(n, np.nan), "float4"),  # NULL on every row
        CopyColumn(rng.normal(size=n), "float4"),  # never NULL
        CopyColumn(sometimes_null(rng.normal(size=n) * 1e6), "float4"),
    ]
    assert b"".join(binary_copy_payload(columns)) == _reference_payload(columns)


def test_a_few_nulls_among_many_rows_round_trip(connection):
    connection.execute(text("CREATE TEMP TABLE t (id int8, x float8, y real)"))
    ids = np.arange(2000)
    x = np.where(ids % 97 == 5, np.nan, ids * 0.25)
    y = np.where(ids % 101 == 0, np.nan, ids * 2.0)
    _copy(
        connection,
        "t",
        ["id", "x", "y"],
        binary_copy_payload(
            [CopyColumn(ids, "int8"), CopyColumn(x, "float8"), CopyColumn(y, "float4")]
        ),
    )
    rows = connection.execute(text("SELECT id, x, y FROM t ORDER BY id")).all()
    assert [r[0] for r in rows] == ids.tolist()
    assert [r[1] for r in rows] == [None if v != v else v for v in x.tolist()]
    assert [r[2] for r in rows] == [None if v != v else v for v in y.tolist()]


def test_samples_read_back_as_written(db_session):
    """``read_samples`` returns each activity's samples in time order, exactly as stored
    (``real`` channels as float32, NULL as NaN), whatever order the rows went in; an activity
    without samples is absent."""
    from app.records import Samples
    from app.services.imports.store import _copy_samples
    from app.services.metrics.samples import CHANNELS, read_samples

    rng = np.random.default_rng(2)
    written = {}
    for activity_id, n in ((11, 500), (12, 1), (14, 3000)):
        time = 1_700_000_000.0 + np.cumsum(rng.choice([1.0, 1.0, 2.0, 0.5], n))
        channels = {name: rng.normal(100, 30, n) for name in CHANNELS}
        channels["heart_rate"][rng.random(n) < 0.1] = np.nan
        channels["power"][:] = np.nan  # a run: no power at all
        order = rng.permutation(n)  # rows need not arrive in time order
        _copy_samples(
            db_session,
            activity_id,
            Samples(time=time[order], channels={k: v[order] for k, v in channels.items()}),
        )
        written[activity_id] = (time, channels)
    found = read_samples(db_session, [14, 13, 11, 12])
    assert list(found) == [11, 12, 14]
    for activity_id, (time, channels) in written.items():
        np.testing.assert_array_equal(found[activity_id].time, time)
        for name in CHANNELS:
            stored = channels[name] if name == "distance" else channels[name].astype(np.float32)
            np.testing.assert_array_equal(found[activity_id].channels[name], stored, err_msg=name)
            assert found[activity_id].channels[name].dtype == np.float64
    assert read_samples(db_session, []) == {} and read_samples(db_session, [99]) == {}
