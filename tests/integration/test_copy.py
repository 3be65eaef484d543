"""Binary COPY payloads round-trip through the real PostgreSQL, NULLs included."""

from __future__ import annotations

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
