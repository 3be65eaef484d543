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


_VALUE_DTYPE = {"int8": ">i8", "float8": ">f8", "float4": ">f4", "timestamptz": ">i8"}


def _encode(column: CopyColumn) -> tuple[np.ndarray, np.ndarray]:
    """Big-endian values (n) and a validity mask (n) for one column."""
    values = column.values
    if column.kind == "int8":
        raw = values.astype(">i8")
        valid = np.ones(len(values), dtype=bool)
    elif column.kind in ("float8", "float4"):
        raw = values.astype(_VALUE_DTYPE[column.kind])
        valid = ~np.isnan(values)
    elif column.kind == "timestamptz":
        valid = ~np.isnan(values)
        micros = np.round((np.where(valid, values, 0.0) - PG_EPOCH_UNIX_S) * 1_000_000)
        raw = micros.astype(">i8")
    else:
        raise ValueError(f"unsupported COPY column kind {column.kind!r}")
    return raw, valid


def _block(columns: Sequence[CopyColumn | CopyConstant], lo: int, hi: int) -> bytes:
    """Rows ``lo`` to ``hi`` as one structured array: a column that is NULL on every row is its
    length word alone, one that is never NULL its length and value; only a column NULL on some
    rows makes rows differ in width, and those rows' NULL value bytes are masked out."""
    n = hi - lo
    layout: list[tuple[str, str]] = [("count", ">i2")]
    filled: list[tuple[str, object]] = [("count", len(columns))]
    partial: list[tuple[str, np.ndarray, int]] = []  # (value field, valid, width)
    for i, column in enumerate(columns):
        if isinstance(column, CopyConstant):
            encoded = column.value.encode()
            field = len(encoded).to_bytes(4, "big") + encoded
            layout.append((f"c{i}", f"V{len(field)}"))
            filled.append((f"c{i}", np.frombuffer(field, dtype=f"V{len(field)}")[0]))
            continue
        width = _WIDTH[column.kind]
        raw, valid = _encode(CopyColumn(column.values[lo:hi], column.kind))
        layout.append((f"l{i}", ">i4"))
        if not valid.any():
            filled.append((f"l{i}", -1))
            continue
        layout.append((f"v{i}", _VALUE_DTYPE[column.kind]))
        filled.append((f"v{i}", raw))
        if valid.all():
            filled.append((f"l{i}", width))
        else:
            filled.append((f"l{i}", np.where(valid, width, -1)))
            partial.append((f"v{i}", valid, width))
    dtype = np.dtype(layout)
    rows = np.empty(n, dtype=dtype)
    for name, value in filled:
        rows[name] = value
    if not partial:
        return rows.tobytes()
    # Only the rows with a NULL in a sometimes-NULL column need their bytes picked out; the
    # stretches of rows between them go as they are.
    matrix = rows.view(np.uint8).reshape(n, dtype.itemsize)
    complete = np.logical_and.reduce([valid for _name, valid, _width in partial])
    dirty = np.flatnonzero(~complete)
    keep = np.ones((dirty.size, dtype.itemsize), dtype=bool)
    for name, valid, width in partial:
        offset = dtype.fields[name][1]
        keep[~valid[dirty], offset : offset + width] = False
    if dirty.size * 8 > n:  # NULLs everywhere: pick every row's bytes out at once
        everything = np.ones((n, dtype.itemsize), dtype=bool)
        everything[dirty] = keep
        return matrix[everything].tobytes()
    picked = matrix[dirty][keep].tobytes()
    ends = np.cumsum(keep.sum(axis=1)).tolist()
    flat = memoryview(matrix.reshape(-1))
    width = dtype.itemsize
    pieces: list[bytes | memoryview] = []
    previous = 0  # the first row not written yet
    start = 0
    for row, end in zip(dirty.tolist(), ends, strict=True):
        pieces.append(flat[previous * width : row * width])
        pieces.append(picked[start:end])
        previous, start = row + 1, end
    pieces.append(flat[previous * width :])
    return b"".join(pieces)


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
