"""``RawFit`` -> ``DecodedFile``: activities, laps, samples, R-R intervals, developer fields."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from app.records import Activity, DecodedFile, HealthSeries, Lap, Samples
from app.sources import SourceDataError
from app.sources.fit import hr
from app.sources.fit.profile import (
    FIT_EPOCH,
    RELATIVE_TIME_LIMIT,
    device_name,
    file_kind,
    sport_name,
    sub_sport_name,
)
from app.sources.fit.raw import RawFit

_BREAKS = frozenset({"fit_truncated", "fit_partial"})
Message = dict[str | int, Any]


def build(raw: RawFit, *, source: str) -> DecodedFile:
    messages = raw.messages
    notices = list(raw.notices)
    broke = any(n.code in _BREAKS for n in notices)
    if not raw.record_count and not raw.hrv_ms.size and not any(messages.values()):
        if broke:
            raise SourceDataError("no FIT message could be decoded", code="fit_corrupt")
        raise SourceDataError("the FIT file holds no messages", code="fit_empty")

    file_id = messages["file_id"][0] if messages["file_id"] else {}
    kind = file_kind(file_id.get("type"))
    if kind is None:
        kind = "activity" if messages["session"] or raw.record_count else "unknown"
    device = device_name(file_id)
    if kind.startswith("monitoring"):
        return DecodedFile(kind=kind, health=_monitoring(messages, source, device), notices=notices)
    if kind != "activity":
        return DecodedFile(kind=kind, notices=notices)

    shift = _clock_shift(raw)
    time_shift = shift or 0.0
    sessions = sorted(
        (s for s in messages["session"] if _session_start(s, raw) is not None),
        key=lambda s: _session_start(s, raw) or 0.0,
    )
    starts = [(_session_start(s, raw) or 0.0) + time_shift for s in sessions]
    timeline = _timeline(raw, time_shift, _window(sessions, starts))
    samples = timeline.samples
    if not sessions and not len(samples):
        raise SourceDataError("the FIT activity has no records and no session", code="fit_empty")
    beat_time, beat_bpm = hr.beats(messages["hr"])
    if beat_time.size and len(samples):
        merged = hr.merge(
            samples.time, samples.channel("heart_rate"), beat_time + time_shift, beat_bpm
        )
        if np.isfinite(merged).any():
            samples.channels["heart_rate"] = merged

    # Session i owns [start_i, start_{i+1}); the first also owns anything earlier, the last
    # anything later, so every sample lands in exactly one activity. A file cut during a
    # multisport leg whose session was never written: the records after the last session's end
    # are that leg, built from its records.
    legs: list[Message | None] = list(sessions) or [None]
    bounds = [-math.inf, *starts[1:], math.inf]
    if sessions and broke and len(samples):
        last_end = starts[-1] + (_number(sessions[-1].get("total_elapsed_time")) or 0.0)
        if samples.time[-1] >= last_end + 1:
            legs.append(None)
            bounds.insert(-1, last_end)
    local_offset = _local_offset(messages["activity"], time_shift)
    dev_units = _developer_units(messages["field_description"])
    laps = sorted(
        (lap for lap in messages["lap"] if _number(lap.get("start_time")) is not None),
        key=lambda lap: lap["start_time"],
    )
    rr_time = _rr_times(raw, time_shift)
    record_time = samples.time

    activities: list[Activity] = []
    for leg, session in enumerate(legs):
        lo_t, hi_t = bounds[leg], bounds[leg + 1]
        lo, hi = np.searchsorted(record_time, [lo_t, hi_t], side="left")
        leg_samples = Samples(
            time=record_time[lo:hi],
            channels={
                name: values[lo:hi]
                for name, values in samples.channels.items()
                if np.isfinite(values[lo:hi]).any()  # a leg keeps only the channels it has
            },
        )
        if session is not None:
            activity = _from_session(session, starts[leg], source)
        elif not len(leg_samples):
            continue
        else:
            sports = messages["sport"]
            activity = _synthesized(sports[leg] if leg < len(sports) else {}, leg_samples, source)
        activity.device = device
        if local_offset is not None:
            activity.local_start = datetime.fromtimestamp(
                activity.start.timestamp() + local_offset, UTC
            ).replace(tzinfo=None)
        activity.samples = leg_samples if len(leg_samples) else None
        activity.laps = [
            _lap(lap, time_shift) for lap in laps if lo_t <= lap["start_time"] + time_shift < hi_t
        ]
        in_leg = (rr_time >= lo_t) & (rr_time < hi_t)
        if in_leg.any():
            activity.rr_intervals_ms = raw.hrv_ms[in_leg]
        activity.developer_fields = _developer_fields(
            session,
            {name: values[lo:hi] for name, values in timeline.developer.items()},
            dev_units,
        )
        activity.multisport_index = leg if len(legs) > 1 else None
        activity.extras["decoder"] = raw.decoder
        if shift is not None:
            activity.extras["clock"] = "local" if shift else "relative"
        if leg == 0 and timeline.dropped:
            activity.extras["dropped_records"] = timeline.dropped
        if leg == 0 and timeline.merged:
            activity.extras["merged_records"] = timeline.merged
        activities.append(activity)
    return DecodedFile(kind=kind, activities=activities, notices=notices)


# --- samples -----------------------------------------------------------------------------------

_DAY = 86400.0


@dataclass(slots=True)
class _Timeline:
    samples: Samples
    developer: dict[str, np.ndarray]  # numeric developer fields, aligned with samples.time
    merged: int  # records that repeated the previous record's time (merged into it)
    dropped: int  # records out of order or far outside the sessions


def _timeline(raw: RawFit, shift: float, window: tuple[float, float] | None) -> _Timeline:
    """Samples from the timestamped records, time strictly increasing.

    A record whose time is before an earlier record's is dropped; records sharing a time are
    one sample, each field taking the first valid value among them (Strava's app writes position
    and distance as two records per second). With sessions, records more than a day outside
    them (garbage before a break in the file) are dropped too.
    """
    records = raw.records
    stamps = records.get("timestamp")
    if stamps is None:
        return _Timeline(Samples(time=np.empty(0), channels={}), {}, 0, 0)
    rows = np.flatnonzero(np.isfinite(stamps))
    timestamped = rows.size
    time = stamps[rows] + shift
    if window is not None:
        inside = (time >= window[0]) & (time <= window[1])
        rows, time = rows[inside], time[inside]
    if time.size > 1:
        keep = np.empty(time.size, dtype=bool)
        keep[0] = True
        keep[1:] = time[1:] >= np.maximum.accumulate(time)[:-1]
        rows, time = rows[keep], time[keep]
    dropped = int(timestamped - rows.size)
    first_of_group = np.ones(time.size, dtype=bool)
    first_of_group[1:] = time[1:] != time[:-1]
    merged = int(time.size - first_of_group.sum())
    group = np.cumsum(first_of_group) - 1 if merged else None
    groups = int(first_of_group.sum())

    def take(values: np.ndarray | None) -> np.ndarray | None:
        if values is None:
            return None
        picked = values[rows]
        if group is None:
            return picked
        finite = np.isfinite(picked)
        out = np.full(groups, np.nan)
        owners, first = np.unique(group[finite], return_index=True)
        out[owners] = picked[finite][first]
        return out

    def preferred(better: str, fallback: str) -> np.ndarray | None:
        first, second = take(records.get(better)), take(records.get(fallback))
        if first is None or second is None:
            return first if first is not None else second
        return np.where(np.isfinite(first), first, second)

    channels: dict[str, np.ndarray | None] = {
        "heart_rate": take(records.get("heart_rate")),
        "power": take(records.get("power")),
        "cadence": take(records.get("cadence")),
        "speed": preferred("speed", "enhanced_speed"),
        "distance": take(records.get("distance")),
        "altitude": preferred("altitude", "enhanced_altitude"),
        "temperature": take(records.get("temperature")),
    }
    heart_rate = channels["heart_rate"]
    if heart_rate is not None:
        heart_rate[heart_rate <= 0] = np.nan  # devices write 0 when no strap is paired
    lat, lon = take(records.get("position_lat")), take(records.get("position_long"))
    if lat is not None and lon is not None:
        bad = ~((np.abs(lat) <= 90) & (np.abs(lon) <= 180))
        lat[bad] = np.nan
        lon[bad] = np.nan
        channels["lat"], channels["lon"] = lat, lon
    kept = {
        name: values.astype(np.float64, copy=False)
        for name, values in channels.items()
        if values is not None and np.isfinite(values).any()
    }
    developer = {name: take(values) for name, values in raw.record_dev.items()}
    return _Timeline(
        samples=Samples(time=time[first_of_group], channels=kept),
        developer={k: v for k, v in developer.items() if v is not None},
        merged=merged,
        dropped=dropped,
    )


def _window(sessions: list[Message], starts: list[float]) -> tuple[float, float] | None:
    if not sessions:
        return None
    ends = []
    for session, start in zip(sessions, starts, strict=True):
        elapsed = _number(session.get("total_elapsed_time")) or 0.0
        ends.append(start + max(elapsed, 0.0))
    return min(starts) - _DAY, max(ends) + _DAY


def _rr_times(raw: RawFit, shift: float) -> np.ndarray:
    """For each R-R interval, the time of the record its ``hrv`` message followed (-inf before
    the first record, so it goes to the first activity)."""
    rows = raw.hrv_row
    stamps = raw.records.get("timestamp")
    times = np.full(rows.size, -math.inf)
    if stamps is not None and rows.size:
        after = rows >= 0
        times[after] = stamps[rows[after]] + shift
        times[np.isnan(times)] = -math.inf
    return times


# --- summaries ---------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, list | tuple) and value:
        value = value[0]  # a scalar field written as an array: its first element
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _positive(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and number > 0 else None


def _first(message: Message, *names: str) -> float | None:
    for name in names:
        value = _number(message.get(name))
        if value is not None:
            return value
    return None


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _session_start(session: Message, raw: RawFit) -> float | None:
    start = _number(session.get("start_time"))
    if start is not None:
        return start
    end, elapsed = _number(session.get("timestamp")), _number(session.get("total_elapsed_time"))
    if end is not None and elapsed is not None:
        return end - elapsed
    stamps = raw.records.get("timestamp")
    if stamps is not None and np.isfinite(stamps).any():
        return float(np.nanmin(stamps))
    return None


def _from_session(session: Message, start: float, source: str) -> Activity:
    return Activity(
        source=source,
        sport=sport_name(session.get("sport")) or "generic",
        sub_sport=sub_sport_name(session.get("sub_sport")),
        start=_utc(start),
        elapsed_s=_number(session.get("total_elapsed_time")),
        moving_s=_number(session.get("total_timer_time")),
        distance_m=_number(session.get("total_distance")),
        ascent_m=_number(session.get("total_ascent")),
        descent_m=_number(session.get("total_descent")),
        calories=_number(session.get("total_calories")),
        avg_hr=_positive(session.get("avg_heart_rate")),
        max_hr=_positive(session.get("max_heart_rate")),
        avg_power=_number(session.get("avg_power")),
        max_power=_number(session.get("max_power")),
        avg_cadence=_number(session.get("avg_cadence")),
        avg_speed=_first(session, "avg_speed", "enhanced_avg_speed"),
    )


def _synthesized(sport: Message, samples: Samples, source: str) -> Activity:
    """An activity from records alone (a file cut before its session was written); its sport
    from the leg's ``sport`` message when there is one."""

    def stat(name: str, how: Any) -> float | None:
        values = samples.channels.get(name)
        if values is None or not np.isfinite(values).any():
            return None
        return float(how(values))

    distance = samples.channels.get("distance")
    return Activity(
        source=source,
        sport=sport_name(sport.get("sport")) or "generic",
        sub_sport=sub_sport_name(sport.get("sub_sport")),
        start=_utc(float(samples.time[0])),
        elapsed_s=float(samples.time[-1] - samples.time[0]),
        distance_m=stat("distance", np.nanmax) if distance is not None else None,
        avg_hr=stat("heart_rate", np.nanmean),
        max_hr=stat("heart_rate", np.nanmax),
        avg_power=stat("power", np.nanmean),
        max_power=stat("power", np.nanmax),
        extras={"summary": "from_records"},
    )


def _lap(lap: Message, shift: float) -> Lap:
    return Lap(
        start=_utc(float(lap["start_time"]) + shift),
        elapsed_s=_number(lap.get("total_elapsed_time")),
        moving_s=_number(lap.get("total_timer_time")),
        distance_m=_number(lap.get("total_distance")),
        avg_hr=_positive(lap.get("avg_heart_rate")),
        max_hr=_positive(lap.get("max_heart_rate")),
        avg_power=_number(lap.get("avg_power")),
        max_power=_number(lap.get("max_power")),
        avg_cadence=_number(lap.get("avg_cadence")),
        avg_speed=_first(lap, "avg_speed", "enhanced_avg_speed"),
        ascent_m=_number(lap.get("total_ascent")),
        descent_m=_number(lap.get("total_descent")),
        calories=_number(lap.get("total_calories")),
    )


def _local_offset(activities: list[Message], shift: float) -> float | None:
    """Seconds from UTC to the wall clock, from the ``activity`` message."""
    for message in activities:
        local, utc = _number(message.get("local_timestamp")), _number(message.get("timestamp"))
        if local is None or utc is None or local < RELATIVE_TIME_LIMIT:
            continue
        utc += shift
        if utc < RELATIVE_TIME_LIMIT:
            continue
        return local - utc
    return None


def _clock_shift(raw: RawFit) -> float | None:
    """For a device without a real-time clock (times relative to power-on): the shift that puts
    the activity's timestamp on its ``local_timestamp``, making times local wall-clock times
    (the UTC offset is unknown). None when times are absolute."""
    stamps = raw.records.get("timestamp")
    reference: float | None = None
    if stamps is not None and np.isfinite(stamps).any():
        reference = float(stamps[np.isfinite(stamps)][0])
    else:
        for session in raw.messages["session"]:
            reference = _number(session.get("start_time"))
            if reference is not None:
                break
    if reference is None or reference >= RELATIVE_TIME_LIMIT:
        return None
    for message in raw.messages["activity"]:
        local, stamp = _number(message.get("local_timestamp")), _number(message.get("timestamp"))
        if local is not None and stamp is not None and local >= RELATIVE_TIME_LIMIT > stamp:
            return local - stamp
    return 0.0


# --- developer fields --------------------------------------------------------------------------


def _developer_units(descriptions: list[Message]) -> dict[str, str | None]:
    units: dict[str, str | None] = {}
    for description in descriptions:
        name = description.get("field_name")
        if isinstance(name, str) and name not in units:
            unit = description.get("units")
            units[name] = unit if isinstance(unit, str) else None
    return units


def _json_value(value: Any) -> Any:
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, str) for v in value):
            return value[0]  # several strings in one field: the first, as fitdecode reads it
        return [_json_value(v) for v in value]
    return str(value)


def _developer_fields(
    session: Message | None, columns: dict[str, np.ndarray], units: dict[str, str | None]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if session is not None:
        values = {
            name: _json_value(value)
            for name, value in session.items()
            if isinstance(name, str) and name in units
        }
        if values:
            out["session"] = values
    record: dict[str, Any] = {}
    for name, column in columns.items():
        finite = np.isfinite(column)
        if not finite.any():
            continue
        listed = column.tolist()
        if not finite.all():
            listed = [v if v == v else None for v in listed]
        record[name] = {"units": units.get(name), "values": listed}
    if record:
        out["record"] = record
    return out


# --- monitoring --------------------------------------------------------------------------------


def _monitoring(messages: dict[str, list[Message]], source: str, device: str | None) -> list:
    """Intraday heart rate from ``monitoring`` messages (``timestamp_16`` holds the low 16 bits
    of the time, completed from the last full timestamp)."""
    last: float | None = None
    for info in messages["monitoring_info"]:
        last = _number(info.get("timestamp"))
        if last is not None:
            break
    times: list[float] = []
    values: list[float] = []
    for message in messages["monitoring"]:
        full = _number(message.get("timestamp"))
        short = _number(message.get("timestamp_16"))
        if full is not None:
            last = full
        elif short is not None and last is not None:
            fit_time = int(last) - FIT_EPOCH  # the 16 bits are those of FIT time
            last = last + ((int(short) - fit_time) & 0xFFFF)
        else:
            continue
        bpm = _positive(message.get("heart_rate"))
        if bpm is not None:
            times.append(last)
            values.append(bpm)
    if not times:
        return []
    time = np.asarray(times)
    order = np.argsort(time, kind="stable")
    return [
        HealthSeries(
            metric="heart_rate",
            source=source,
            time=time[order],
            value=np.asarray(values)[order],
            device=device or "",
        )
    ]
