"""PostgreSQL binary ``COPY`` payloads built from numpy columns, without a Python loop per row.

Per-second samples are the bulk of the database (ten years ≈ 10 M rows). ``COPY … FROM STDIN
(FORMAT BINARY)`` is the fastest way in; building its payload row by row in Python would cost
more than the database's own work, so each row is laid out in a fixed-width byte matrix and the
bytes of NULL fields are masked away in one vectorized step.

Binary COPY format: https://www.postgresql.org/docs/17/sql-copy.html#id-1.9.3.55.9.4
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
PG_EPOCH_UNIX_S = 946_684_800  # 2000-01-01T00:00:00Z
ROWS_PER_BLOCK = 200_000  # bounds the temporary byte matrix (~30 MB for the sample table)

_WIDTH = {"int8": 8, "float8": 8, "float4": 4, "timestamptz": 8}


@dataclass(frozen=True)
class CopyColumn:
    """One column of the payload. ``kind`` is the PostgreSQL type: int8, float8, float4 or
    timestamptz (values in Unix seconds). NaN is NULL for the float kinds and timestamptz."""

    values: np.ndarray
    kind: str


@dataclass(frozen=True)
class CopyConstant:
    """A text column holding the same value on every row (a metric name, a source)."""

    value: str
    kind: str = "text"


def _encode(column: CopyColumn) -> tuple[np.ndarray, np.ndarray]:
    """Big-endian bytes (n × width) and a validity mask (n) for one column."""
    values = column.values
    if column.kind == "int8":
        raw = values.astype(">i8")
        valid = np.ones(len(values), dtype=bool)
    elif column.kind == "float8":
        raw = values.astype(">f8")
        valid = ~np.isnan(values)
    elif column.kind == "float4":
        raw = values.astype(">f4")
        valid = ~np.isnan(values)
    elif column.kind == "timestamptz":
        valid = ~np.isnan(values)
        micros = np.round((np.where(valid, values, 0.0) - PG_EPOCH_UNIX_S) * 1_000_000)
        raw = micros.astype(">i8")
    else:
        raise ValueError(f"unsupported COPY column kind {column.kind!r}")
    return raw.view(np.uint8).reshape(len(values), _WIDTH[column.kind]), valid


def _block(columns: Sequence[CopyColumn | CopyConstant], lo: int, hi: int) -> bytes:
    n = hi - lo
    parts: list[np.ndarray] = [
        np.broadcast_to(np.frombuffer(len(columns).to_bytes(2, "big"), np.uint8), (n, 2))
    ]
    masks: list[np.ndarray] = [np.ones((n, 2), dtype=bool)]
    for column in columns:
        if isinstance(column, CopyConstant):
            encoded = column.value.encode()
            field = np.frombuffer(len(encoded).to_bytes(4, "big") + encoded, np.uint8)
            parts.append(np.broadcast_to(field, (n, field.size)))
            masks.append(np.ones((n, field.size), dtype=bool))
            continue
        width = _WIDTH[column.kind]
        data, valid = _encode(CopyColumn(column.values[lo:hi], column.kind))
        length = np.where(valid, width, -1).astype(">i4").view(np.uint8).reshape(n, 4)
        parts += [length, data]
        masks += [np.ones((n, 4), dtype=bool), np.repeat(valid[:, None], width, axis=1)]
    matrix = np.concatenate(parts, axis=1)
    keep = np.concatenate(masks, axis=1)
    return matrix[keep].tobytes()


def binary_copy_payload(
    columns: Sequence[CopyColumn | CopyConstant], *, rows_per_block: int | None = None
) -> list[bytes]:
    """The COPY BINARY stream for these columns, as a list of chunks (header first, trailer
    last) so a caller can write it to ``cursor.copy`` without one giant buffer.

    Each block of ``rows_per_block`` rows (default ``ROWS_PER_BLOCK``) is laid out in temporary
    arrays of about five times its final size: a caller that holds little else (a health
    series) passes fewer rows to keep its peak memory low."""
    lengths = {len(column.values) for column in columns if isinstance(column, CopyColumn)}
    if len(lengths) > 1:
        raise ValueError("COPY columns differ in length")
    rows = lengths.pop() if lengths else 0
    step = rows_per_block or ROWS_PER_BLOCK
    chunks = [HEADER]
    for lo in range(0, rows, step):
        chunks.append(_block(columns, lo, min(rows, lo + step)))
    chunks.append(TRAILER)
    return chunks
