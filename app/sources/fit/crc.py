"""FIT file structure below the message level: headers, chained files, CRCs.

The FIT CRC is CRC-16/ARC (reflected polynomial 0xA001, initial value 0), computed over a file's
header and data records; the 2 bytes after the data hold it (FIT protocol, "File CRC"). A 14-byte
header carries its own CRC of bytes 0-11, which may be 0 ("not computed").
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache

import numpy as np


def _byte_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table[byte] = crc
    return table


_TABLE = _byte_table()
_TABLE_LIST = [int(v) for v in _TABLE]
_SMALL = 2048  # below this many bytes a plain loop is faster


def _advance_zeros(states: np.ndarray, count: int) -> np.ndarray:
    """CRC states after ``count`` zero bytes, for each start state."""
    states = states.astype(np.uint32)
    for _ in range(count):
        states = (states >> 8) ^ _TABLE[states & 0xFF]
    return states


@cache
def _zero_shift(block: int) -> tuple[list[int], list[int]]:
    """Feeding ``block`` zero bytes is linear in the start state: its effect on each of the
    state's two bytes."""
    start = np.arange(256, dtype=np.uint32)
    low = [int(v) for v in _advance_zeros(start, block)]
    high = [int(v) for v in _advance_zeros(start << 8, block)]
    return low, high


def _block_size(size: int) -> int:
    """Balance numpy calls (one per block column) against the fold (one step per block)."""
    block = 32
    while block < 1024 and block * block * 32 < size:
        block *= 2
    return block


def fit_crc(data: bytes | memoryview) -> int:
    """CRC-16 of ``data`` as FIT computes it (initial value 0)."""
    if len(data) < _SMALL:
        crc = 0
        table = _TABLE_LIST
        for byte in bytes(data):
            crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
        return crc
    # Leading zero bytes leave a zero CRC unchanged, so pad the front to whole blocks, take every
    # block's CRC at once, then fold them: crc(a + b) = zeros(crc(a), len(b)) ^ crc(b).
    size = len(data)
    block = _block_size(size)
    blocks_count = -(-size // block)
    padded = np.zeros(blocks_count * block, dtype=np.uint8)
    padded[blocks_count * block - size :] = np.frombuffer(data, dtype=np.uint8)
    blocks = padded.reshape(blocks_count, block).astype(np.uint32)
    states = np.zeros(blocks_count, dtype=np.uint32)
    for column in range(block):
        states = (states >> 8) ^ _TABLE[(states ^ blocks[:, column]) & 0xFF]
    crc = 0
    shift_lo, shift_hi = _zero_shift(block)
    for block_crc in states.tolist():
        crc = shift_lo[crc & 0xFF] ^ shift_hi[crc >> 8] ^ block_crc
    return crc


@dataclass(frozen=True, slots=True)
class Segment:
    """One FIT file of a (possibly chained) FIT stream."""

    start: int  # offset of the header
    header_size: int
    data_end: int  # offset of the 2 CRC bytes


def parse_header(data: bytes, offset: int = 0) -> tuple[int, int] | None:
    """``(header_size, data_size)`` of a FIT header at ``offset``, or None if there is none."""
    if len(data) - offset < 12:
        return None
    header_size = data[offset]
    if header_size < 12 or data[offset + 8 : offset + 12] != b".FIT":
        return None
    if len(data) - offset < header_size:
        return None
    (data_size,) = struct.unpack_from("<I", data, offset + 4)
    return header_size, data_size


def leading_segments(data: bytes) -> list[Segment]:
    """The complete chained FIT files at the start of ``data``, as far as they go."""
    found: list[Segment] = []
    offset = 0
    while offset < len(data):
        header = parse_header(data, offset)
        if header is None:
            break
        header_size, data_size = header
        data_end = offset + header_size + data_size
        if data_end + 2 > len(data):
            break
        found.append(Segment(offset, header_size, data_end))
        offset = data_end + 2
    return found


def segments(data: bytes) -> list[Segment] | None:
    """The chained FIT files that exactly tile ``data``, or None if they do not."""
    found = leading_segments(data)
    if not found or found[-1].data_end + 2 != len(data):
        return None
    return found


def padding_start(data: bytes) -> int | None:
    """Where zero padding after the last complete FIT file begins (some recorders pad files to
    a block size), or None when the file does not end that way."""
    found = leading_segments(data)
    if not found:
        return None
    end = found[-1].data_end + 2
    if end == len(data) or data[end:].strip(b"\0"):
        return None
    return end


def repair(data: bytes) -> tuple[bytes, bool] | None:
    """Rewrite every header and file CRC of a well-framed FIT stream to the correct value.

    Returns ``(fixed, was_wrong)``: ``was_wrong`` is true when a stored CRC disagreed with the FIT
    protocol (a header CRC of 0 means "not computed" and is not wrong). Returns None when the
    stream is not well framed or nothing needed rewriting.
    """
    parts = segments(data)
    if parts is None:
        return None
    out = bytearray(data)
    changed = False
    was_wrong = False
    for part in parts:
        if part.header_size >= 14:
            stored_header_crc = struct.unpack_from("<H", data, part.start + 12)[0]
            header_crc = fit_crc(data[part.start : part.start + 12])
            if stored_header_crc not in (0, header_crc):
                was_wrong = True
            if stored_header_crc != header_crc:
                struct.pack_into("<H", out, part.start + 12, header_crc)
                changed = True
        stored = struct.unpack_from("<H", data, part.data_end)[0]
        view = memoryview(data)
        if stored != fit_crc(view[part.start : part.data_end]):
            was_wrong = True
        fixed = fit_crc(memoryview(out)[part.start : part.data_end])
        if fixed != stored:
            struct.pack_into("<H", out, part.data_end, fixed)
            changed = True
    if not changed:
        return None
    return bytes(out), was_wrong
