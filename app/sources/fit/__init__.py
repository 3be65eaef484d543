"""FIT files (Garmin's Flexible and Interoperable Data Transfer protocol) to ``DecodedFile``.

Public API::

    looks_like_fit(head: bytes) -> bool          # the first 14 bytes hold a FIT header
    decode_fit(data: bytes, *, source="fit") -> DecodedFile

``decode_fit`` is a plain top-level function of bytes to a picklable ``DecodedFile`` so the import
service can run it in worker processes. It never touches the database or the network.

Errors — ``SourceDataError.code`` (nothing from the file is kept):

- ``not_fit``: no FIT header (too short, wrong size byte, no ``.FIT`` at offset 8): a PNG,
  random bytes, an empty upload.
- ``fit_corrupt``: a FIT header, but not a single message after it could be decoded.
- ``fit_empty``: decodable, but nothing usable before the first break: no messages at all, or an
  activity file with neither a timestamped record nor a session.

Notices — ``DecodedFile.notices`` (data kept; the owner should know):

- ``Notice("fit_crc_mismatch")``: a stored header or file CRC is wrong; everything decoded.
- ``Notice("fit_truncated", {"records": n})``: the file ends inside a message or before its
  declared data size (also a header whose data size was never written, as a crashed recorder
  leaves it); the ``n`` record messages before the cut are kept.
- ``Notice("fit_partial", {"records": n})``: decoding broke part-way (data for an undefined local
  message type, a corrupt chained header, an unreadable message); the ``n`` record messages
  before the break are kept.

``DecodedFile.kind`` is the ``file_id.type`` name ("activity", "course", "workout", "settings",
"weight", "monitoring_b"…; "unknown" without a ``file_id``). Only activity files produce
activities; monitoring files produce intraday heart-rate ``HealthSeries`` when they carry any;
every other kind comes back with empty lists.

Activities: one per ``session`` (multisport legs in start order, ``multisport_index`` 0..n-1;
session i owns the records from its start to the next session's start), or one built from the
records when the file has none (``extras["summary"] == "from_records"``). Samples: one row per
timestamped ``record``, time strictly increasing (later records at or before an earlier time are
dropped and counted in ``extras["dropped_records"]``); a field written twice in one record counts
with its first valid value; heart rate from ``hr`` messages (swim straps) is merged in; a heart
rate of 0 is "no strap", stored as missing. Devices without a clock write times relative to
power-on; those are moved onto the ``activity`` message's local wall-clock time
(``extras["clock"] == "local"``: the UTC offset is unknown). ``extras["decoder"]`` names the path.

Two paths give the same result on every file both can read (the tests check it): the fast path
(``fast``: fitfast, Rust) and, when fitfast refuses a file, the tolerant path (``tolerant``:
fitdecode, pure Python), which keeps what precedes a break. A file whose only fault is its CRC
(including a 14-byte header whose CRC is 0, which fitfast mishandles) gets its CRCs rewritten
and stays on the fast path.
"""

from __future__ import annotations

import logging
import struct

from app.sources import SourceDataError
from app.sources.fit import crc, fast, mapper, tolerant
from app.sources.fit.raw import RawFit
from app.sources.records import DecodedFile, Notice

__all__ = ["decode_fit", "looks_like_fit"]

log = logging.getLogger(__name__)


def looks_like_fit(head: bytes) -> bool:
    """Whether ``head`` (the first 12-14 bytes of a file) is a FIT header."""
    return crc.parse_header(bytes(head[:14])) is not None


def decode_fit(data: bytes, *, source: str = "fit") -> DecodedFile:
    """Decode one FIT file; raises only ``SourceDataError`` (codes in the module docstring)."""
    try:
        return _decode(bytes(data), source)
    except SourceDataError:
        raise
    except Exception as exc:  # a decoder bug must not escape as anything else
        log.exception("FIT decoding failed")
        raise SourceDataError(f"FIT decoding failed: {exc!r}", code="fit_corrupt") from exc


def _decode(data: bytes, source: str) -> DecodedFile:
    if not looks_like_fit(data):
        raise SourceDataError("no FIT header", code="not_fit")
    data, unfinished = _finish_header(data)
    raw = _read(data)
    if unfinished and not any(n.code in ("fit_truncated", "fit_partial") for n in raw.notices):
        raw.notices.append(Notice("fit_truncated", {"records": raw.record_count}))
    return mapper.build(raw, source=source)


def _read(data: bytes) -> RawFit:
    raw = _fast(data)
    if raw is not None:
        return raw
    padded = crc.padding_start(data)
    if padded is not None:
        return _read(data[:padded])
    repaired = crc.repair(data)
    if repaired is not None:
        fixed, was_wrong = repaired
        raw = _fast(fixed)
        if raw is not None:
            if was_wrong:
                raw.notices.append(Notice("fit_crc_mismatch"))
            return raw
    try:
        return tolerant.read(data)
    except tolerant.NoFitHeader:
        raise SourceDataError("no FIT header", code="not_fit") from None


def _fast(data: bytes) -> RawFit | None:
    """The fast path's reading, or None when it declines the file."""
    try:
        return fast.read(data)
    except Exception as exc:  # fitfast.FitDecodeError, FastPathUnsupported, anything else
        log.debug("fast FIT path declined: %r", exc)
    except BaseException as exc:  # a Rust panic surfaces as pyo3's PanicException
        if type(exc).__name__ != "PanicException":
            raise
        log.warning("fitfast panicked: %r", exc)
    return None


def _finish_header(data: bytes) -> tuple[bytes, bool]:
    """A recorder that crashed leaves the header's data size at 0 with the messages after it:
    declare everything after the header as data (the missing CRC then reads as truncation)."""
    header_size = data[0]
    (data_size,) = struct.unpack_from("<I", data, 4)
    if data_size or len(data) <= header_size + 2:
        return data, False
    patched = bytearray(data)
    struct.pack_into("<I", patched, 4, len(data) - header_size)
    return bytes(patched), True
