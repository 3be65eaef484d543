"""FIT files (Garmin's Flexible and Interoperable Data Transfer protocol) to ``DecodedFile``.

Public API::

    looks_like_fit(head: bytes) -> bool          # the first 14 bytes hold a FIT header
    decode_fit(data: bytes, *, source="fit") -> DecodedFile
    read_fit(data: bytes, *, tolerant_only=False) -> RawFit   # decoded, not yet interpreted

``decode_fit`` is a plain top-level function of bytes to a picklable ``DecodedFile``, so the
import service can run it in worker processes. It touches no database, network or clock.

Errors: ``SourceDataError.code``, nothing from the file kept (no params):

- ``not_fit``: no FIT header (under 12 bytes, a header size below 12, no ``.FIT`` at offset 8):
  a PNG, random bytes, an empty upload.
- ``fit_corrupt``: a FIT header, but not one message after it could be decoded.
- ``fit_empty``: decodable, but nothing usable before the first break: no messages at all, or an
  activity file with neither a timestamped record nor a session.

Notices: ``DecodedFile.notices``, data kept, the owner should know:

- ``Notice("fit_crc_mismatch")`` (no params): a stored header or file CRC is wrong; everything
  decoded. A 14-byte header whose CRC is 0 means "not computed" and is not wrong.
- ``Notice("fit_truncated", {"records": n})``: the file ends inside a message or before its
  declared data size, or its header's data size was never written (0, as a recorder that stopped
  leaves it); the ``n`` record messages before the cut are kept.
- ``Notice("fit_partial", {"records": n})``: decoding broke part-way (data for an undefined local
  message type, a corrupt chained header, an unreadable message); the ``n`` record messages
  before the break are kept.

``DecodedFile.kind`` is the ``file_id.type`` name ("activity", "course", "workout", "settings",
"weight", "monitoring_b"…; "unknown" without a ``file_id``). Only activity files produce
activities; monitoring files produce an intraday ``heart_rate`` ``HealthSeries`` when they carry
heart rate; every other kind comes back with empty lists.

Activities:

- one per ``session``, in start order; a multisport file's legs have ``multisport_index``
  0..n-1, and session i owns the samples, laps and R-R intervals from its start to the next
  session's start. A file without sessions, or cut during a leg whose session was never written,
  gets an activity built from its records (``extras["summary"] == "from_records"``; sport from
  that leg's ``sport`` message, else "generic").
- totals from the session (``*_avg_speed`` where valid, else ``enhanced_*``); ``local_start`` =
  start + (``activity.local_timestamp`` - ``activity.timestamp``), a naive wall-clock time;
  ``device`` = "<manufacturer> <product>": Garmin-family products by their profile name, else
  ``product_name``, else the number ("wahoo_fitness 28").
- ``extras``: ``decoder`` ("fitfast" or "fitdecode"); on the first activity, file-wide,
  ``merged_records`` (records that repeated the previous record's second) and
  ``dropped_records`` (records earlier than one before them, or dated more than a day outside
  the sessions); ``clock`` ("local"/"relative") for a device without a real-time clock, whose
  times count from power-on: they are moved onto the activity's local wall-clock time when the
  file gives it, so ``start`` is then off by the unknown UTC offset.

Samples: one row per second with a timestamped record, ``time`` strictly increasing; records
sharing a second are one sample, each field its first valid value among them; a field written
twice in one record counts with its first valid value. ``speed``/``altitude`` are the records'
``speed``/``altitude`` where valid, else ``enhanced_speed``/``enhanced_altitude`` (the same
quantity at the same resolution with a wider range). A heart rate of 0 is "no strap": missing.
Heart rate stored in ``hr`` messages (swim straps) is merged in (``hr``). A leg keeps only the
channels it has. Developer fields: numeric ones of records, aligned with the samples, and every
one of the session, JSON-ready (strings, numbers, lists; ``None`` for missing).

Two paths give the same result on every file both can read: the fast path (``fast``: fitfast,
Rust, plus a walk over message headers) and, when fitfast refuses a file, the tolerant path
(``tolerant``: fitdecode, pure Python, about 40 times slower), which keeps what precedes a break.
A file whose only fault is its CRC, or zero padding after its end, stays on the fast path.
``read_fit(data, tolerant_only=True)`` reads a file with the tolerant path alone: the tests
decode every fixture and every file they write through both paths and require the same records
and activities (``tests/unit/test_fit_paths.py``).
"""

from __future__ import annotations

import logging
import struct

from app.records import DecodedFile, Notice
from app.sources import SourceDataError
from app.sources.fit import crc, fast, mapper, tolerant
from app.sources.fit.raw import RawFit

__all__ = ["decode_fit", "looks_like_fit", "read_fit"]

log = logging.getLogger(__name__)


def looks_like_fit(head: bytes) -> bool:
    """Whether ``head`` (the first 14 bytes of a file, at least 12) starts with a FIT header: a
    header size of 12 or more and ``.FIT`` at offset 8."""
    return len(head) >= 12 and head[0] >= 12 and bytes(head[8:12]) == b".FIT"


def decode_fit(data: bytes, *, source: str = "fit") -> DecodedFile:
    """Decode one FIT file; raises only ``SourceDataError`` (codes in the module docstring)."""
    try:
        return mapper.build(read_fit(data), source=source)
    except SourceDataError:
        raise
    except Exception as exc:  # a decoder bug must not escape as anything else
        log.exception("FIT decoding failed")
        raise SourceDataError(f"FIT decoding failed: {exc!r}", code="fit_corrupt") from exc


def read_fit(data: bytes, *, tolerant_only: bool = False) -> RawFit:
    """One FIT file decoded, not yet interpreted: the fast path where it can read the file, else
    the tolerant one; ``tolerant_only``: the tolerant path alone. Raises ``SourceDataError``
    (``not_fit``) without a FIT header."""
    data = bytes(data)
    if not looks_like_fit(data):
        raise SourceDataError("no FIT header", code="not_fit")
    data, unfinished = _finish_header(data)
    raw = _read_tolerant(data) if tolerant_only else _read(data)
    if unfinished and not any(n.code in ("fit_truncated", "fit_partial") for n in raw.notices):
        raw.notices.append(Notice("fit_truncated", {"records": raw.record_count}))
    return raw


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
    return _read_tolerant(data)


def _read_tolerant(data: bytes) -> RawFit:
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
