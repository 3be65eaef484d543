"""Heart rate stored in ``hr`` messages, merged into the per-second records.

Straps that cannot transmit while under water (HRM-Swim, HRM-Tri, HRM-Pro) store beats and hand
them over when the activity ends; the watch writes them as ``hr`` messages (FIT profile, message
132), usually after the records or in chained FIT files:

- an *anchor* message has ``timestamp`` (+ ``fractional_timestamp``, 1/32768 s) and exactly one
  ``event_timestamp``: the strap's clock (1/1024 s, rolling over at 2^32 ticks = 2^22 s) at that
  UTC instant;
- the other messages carry up to 8 ``filtered_bpm`` values and their strap times, either as
  ``event_timestamp`` (full 32-bit values) or packed as ``event_timestamp_12``: 12-bit values,
  two per 3 bytes, little-endian, each the low 12 bits of the next full value (accumulated onto the
  previous one: a component with ``accumulate`` in the profile).

A beat's UTC time is ``anchor time + (event_timestamp - anchor event_timestamp)``.

The merge follows the FIT SDK's HR-to-record plugin: each beat's bpm holds until the next beat,
for at most 5 s, sampled every 0.25 s; a record gets the rounded mean of those samples in
(previous record time, its time], i.e. the bpm of the latest beats at or before it. Records whose
window holds no sample keep the heart rate they were written with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_TICKS = 1024.0  # event_timestamp units per second
_ROLLOVER_S = float(1 << 22)  # 2^32 ticks
_HOLD_STEP_S = 0.25
_HOLD_STEPS = 20  # 5 s


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def beats(hr_messages: list[dict[str | int, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """UTC times (Unix s) and bpm of every beat in ``hr`` messages.

    One Python step per message, numpy per beat: the 12-bit values are unpacked and accumulated
    in bulk (each adds ``(low - previous low) mod 4096`` ticks to the previous full value).
    """
    bpm: list[Any] = []
    full: list[float] = []  # per beat: a full event time in ticks, or NaN (packed)
    packed: list[bytes] = []
    packed_take: list[int] = []  # per packed message: how many of its 12-bit values are beats
    packed_slots: list[int] = []
    anchor_at: list[int] = []  # beat index where each anchor starts
    anchor_time: list[float] = []
    anchor_event: list[float] = []
    have_base = False
    nan = float("nan")
    for message in hr_messages:
        values = _as_list(message.get("filtered_bpm"))
        events = _as_list(message.get("event_timestamp"))
        stamp = message.get("timestamp")
        if _number(stamp) and stamp > 0:
            if len(events) != 1 or not _number(events[0]) or len(values) < 1:
                continue  # an anchor carries exactly one strap time
            anchor_at.append(len(bpm))
            anchor_time.append(float(stamp) + float(message.get("fractional_timestamp") or 0.0))
            anchor_event.append(float(events[0]))
            full.append(round(float(events[0]) * _TICKS))
            bpm.append(values[0])
            have_base = True
        elif events:
            count = min(len(events), len(values))
            if not all(_number(v) for v in events[:count]):
                continue
            full.extend(round(float(v) * _TICKS) for v in events[:count])
            bpm.extend(values[:count])
            have_base = True
        else:
            raw = message.get("event_timestamp_12")
            if not have_base or not isinstance(raw, bytes | bytearray) or not values:
                continue
            slots = len(raw) // 3 * 2
            count = min(len(values), slots)
            packed.append(bytes(raw[: len(raw) // 3 * 3]))
            packed_take.append(count)
            packed_slots.append(slots)
            full.extend([nan] * count)
            bpm.extend(values[:count])
    if not anchor_at:
        return np.empty(0), np.empty(0)

    ticks = np.asarray(full, dtype=np.float64)
    is_full = np.isfinite(ticks)
    if packed:
        triplets = np.frombuffer(b"".join(packed), dtype=np.uint8).reshape(-1, 3).astype(np.int64)
        lows = np.empty(triplets.shape[0] * 2, dtype=np.int64)
        lows[0::2] = triplets[:, 0] | ((triplets[:, 1] & 0x0F) << 8)
        lows[1::2] = (triplets[:, 1] >> 4) | (triplets[:, 2] << 4)
        slot_start = np.cumsum(packed_slots) - packed_slots
        take = np.asarray(packed_take)
        index = np.repeat(slot_start, take) + (
            np.arange(take.sum()) - np.repeat(np.cumsum(take) - take, take)
        )
        low = np.zeros(ticks.size, dtype=np.int64)
        low[~is_full] = lows[index]
        full_ticks = np.where(is_full, ticks, 0).astype(np.int64)
        low[is_full] = full_ticks[is_full] & 0xFFF
        # Every beat adds (low - previous low) mod 4096 ticks; a full value restarts the count.
        step = np.zeros(ticks.size, dtype=np.int64)
        step[1:] = (low[1:] - low[:-1]) & 0xFFF
        step[is_full] = 0
        total = np.cumsum(step)
        run = np.maximum.accumulate(np.where(is_full, np.arange(ticks.size), 0))
        ticks = full_ticks[run] + (total - total[run])
    seconds = ticks / _TICKS
    anchor = np.zeros(ticks.size, dtype=np.int64)
    anchor[anchor_at] = 1
    anchor = np.cumsum(anchor) - 1  # the latest anchor at or before each beat
    values = np.asarray([v if _number(v) else np.nan for v in bpm], dtype=np.float64)
    keep = (anchor >= 0) & np.isfinite(values) & (values > 0)
    delta = seconds - np.asarray(anchor_event)[np.maximum(anchor, 0)]
    delta[delta < -_ROLLOVER_S / 2] += _ROLLOVER_S
    times = np.asarray(anchor_time)[np.maximum(anchor, 0)] + delta
    return times[keep], values[keep]


def merge(
    record_time: np.ndarray, record_hr: np.ndarray, beat_time: np.ndarray, beat_bpm: np.ndarray
) -> np.ndarray:
    """``record_hr`` with the beats merged in (``record_time`` strictly increasing)."""
    if not len(beat_time) or not len(record_time):
        return record_hr
    order = np.argsort(beat_time, kind="stable")
    beat_time, beat_bpm = beat_time[order], beat_bpm[order]
    # Hold each beat's bpm for the gap to the next beat: one copy per 0.25 s, 20 at most.
    gaps = np.diff(beat_time)
    holds = np.clip(np.ceil(np.round(gaps / _HOLD_STEP_S, 6)) - 1, 0, _HOLD_STEPS).astype(np.int64)
    owner = np.repeat(np.arange(len(gaps)), holds)
    step = np.arange(owner.size) - np.repeat(np.cumsum(holds) - holds, holds) + 1
    sample_time = np.concatenate((beat_time, beat_time[owner] + step * _HOLD_STEP_S))
    sample_bpm = np.concatenate((beat_bpm, beat_bpm[owner]))
    order = np.argsort(sample_time, kind="stable")
    sample_time, sample_bpm = sample_time[order], sample_bpm[order]

    window_start = np.concatenate(([record_time[0] - 1.0], record_time[:-1]))
    lo = np.searchsorted(sample_time, window_start, side="right")
    hi = np.searchsorted(sample_time, record_time, side="right")
    count = hi - lo
    total = np.concatenate(([0.0], np.cumsum(sample_bpm)))
    merged = record_hr.copy()
    has = count > 0
    merged[has] = np.floor((total[hi[has]] - total[lo[has]]) / count[has] + 0.5)
    return merged
