"""Write decoded records: activities (deduplicated across sources), samples by binary COPY,
daily wellness kept per source and resolved field by field, health samples idempotently.

Every function here runs inside the caller's transaction; the caller decides its extent (one
file, or one activity) and rolls it back on failure so nothing partial is kept.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    Float,
    Select,
    String,
    Text,
    bindparam,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app import records
from app.db.copy import CopyColumn, CopyConstant, binary_copy_payload
from app.models import Activity, ActivityRR, ActivitySource, DailyWellness, Lap
from app.models.activity import SUMMARY_FIELDS
from app.records import SAMPLE_CHANNELS
from app.services.wellness import origins

# Two recordings of one activity start within this of each other (device clocks, GPS lock).
MATCH_WINDOW = timedelta(seconds=60)
_CHANNEL_KIND = {
    "distance": "float8",
    "lat": "float8",
    "lon": "float8",
}


# How good a source's recording of an activity is: the device's own file beats a copy of it. A
# better recording arriving for an activity a lesser one brought replaces its samples, laps and
# summary values (Strava's streams lack most of what the watch records).
RECORDING_RANK = {
    "fit": 3,
    "garmin": 3,
    "garmin_export": 3,
    "strava_export": 2,  # the original file the owner uploaded to Strava
    "apple_health": 1,
    "strava": 1,  # streams through the API
    "oura": 0,  # a summary only
}


SUMMARY_ONLY_SOURCES = ("oura",)
OVERLAP_SHARE = 0.8  # two recordings are one activity when they overlap by this much of each


def _recording_rank(source: str) -> int:
    return RECORDING_RANK.get(source, 1)


def _upgrade(session: Session, row: Activity, activity: records.Activity) -> bool:
    """When ``activity`` is a better recording than every source ``row`` has, drop the lesser
    samples and laps so the better ones are stored in their place; its summary values win.
    Returns whether it did."""
    if activity.samples is None or not len(activity.samples):
        return False
    held = session.execute(
        select(ActivitySource.source).where(ActivitySource.activity_id == row.id)
    ).scalars()
    if _recording_rank(activity.source) <= max(map(_recording_rank, held), default=-1):
        return False
    session.execute(text("DELETE FROM sample WHERE activity_id = :id"), {"id": row.id})
    session.execute(delete(Lap).where(Lap.activity_id == row.id))
    row.sample_count = 0
    for name in SUMMARY_FIELDS:
        value = _clean(getattr(activity, name))
        if value is not None:
            setattr(row, name, value)
    row.device = activity.device or row.device
    if activity.sport != "generic":
        row.sport, row.sub_sport = activity.sport, activity.sub_sport or row.sub_sport
    if activity.developer_fields:
        row.developer_fields = activity.developer_fields
    # What came through Strava's API is gone: the activity may now reach the coach.
    row.extras = {k: v for k, v in (row.extras or {}).items() if k != "strava_api"}
    session.flush()
    return True


@dataclass
class StoreResult:
    added: int = 0
    duplicate: int = 0
    samples: int = 0
    # Activities added or completed by another source (their metrics need computing).
    activity_ids: list[int] = field(default_factory=list)


def _clean(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def _local(activity: records.Activity, zone: ZoneInfo) -> tuple[date, int | None]:
    if activity.local_start is not None:
        naive = activity.local_start.replace(tzinfo=None)
        offset = naive - activity.start.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
        return naive.date(), round(offset.total_seconds())
    local = activity.start.astimezone(zone)
    offset = local.utcoffset()
    return local.date(), None if offset is None else round(offset.total_seconds())


def _match_query() -> Select[tuple[int]]:
    """The stored activity this recording is another copy of: same sport (or one side
    ``generic``), starting within a minute; the nearest start of the five nearest that qualify.
    Parameters: ``_match_params``."""
    start = bindparam("match_start", type_=DateTime(timezone=True))
    distance = func.abs(func.extract("epoch", Activity.start_time - start))
    nearest = (
        select(Activity.id, Activity.sport, distance.label("distance"))
        .where(
            Activity.start_time.between(
                bindparam("match_lo", type_=DateTime(timezone=True)),
                bindparam("match_hi", type_=DateTime(timezone=True)),
            )
        )
        .order_by(distance, Activity.id)
        .limit(5)
        .subquery()
    )
    same_sport = or_(
        bindparam("match_any_sport", type_=Boolean),
        nearest.c.sport == bindparam("match_sport", type_=String),
        nearest.c.sport == "generic",
    )
    return (
        select(nearest.c.id).where(same_sport).order_by(nearest.c.distance, nearest.c.id).limit(1)
    )


def _match_params(activity: records.Activity) -> dict[str, Any]:
    return {
        "match_start": activity.start,
        "match_lo": activity.start - MATCH_WINDOW,
        "match_hi": activity.start + MATCH_WINDOW,
        "match_sport": activity.sport,
        "match_any_sport": activity.sport == "generic",
    }


def _overlapping_query(sources_ok: ColumnElement[bool]) -> Select[tuple[int]]:
    """The stored activity whose time and ``[start, end]`` overlap by at least
    ``OVERLAP_SHARE`` of the longer of the two, among those ``sources_ok`` admits (none: no
    row). An activity without a known duration counts as lasting one minute. Parameters:
    ``_overlap_params``."""
    start = bindparam("overlap_start", type_=DateTime(timezone=True))
    end = bindparam("overlap_end", type_=DateTime(timezone=True))
    stored_end = Activity.start_time + func.make_interval(
        0, 0, 0, 0, 0, 0, func.coalesce(Activity.elapsed_s, 60.0)
    )
    overlap = func.extract(
        "epoch", func.least(stored_end, end) - func.greatest(Activity.start_time, start)
    )
    longer = func.greatest(
        func.coalesce(Activity.elapsed_s, 60.0), bindparam("overlap_span_s", type_=Float)
    )
    return (
        select(Activity.id)
        .where(
            Activity.start_time < end,
            stored_end > start,
            sources_ok,
            overlap >= longer * OVERLAP_SHARE,
        )
        .order_by(overlap.desc())
        .limit(1)
    )


def _overlap_params(start: datetime, end: datetime) -> dict[str, Any]:
    if end <= start:
        end = start + timedelta(minutes=1)
    return {
        "overlap_start": start,
        "overlap_end": end,
        "overlap_span_s": (end - start).total_seconds(),
    }


def overlapping_activity(
    session: Session, start: datetime, end: datetime, *, exclude_source: str
) -> int | None:
    """The stored activity another source brought that is this one (most of both overlap): a
    20-minute walk inside a two-hour ride is not."""
    other_source = (
        select(ActivitySource.id)
        .where(ActivitySource.activity_id == Activity.id, ActivitySource.source != exclude_source)
        .exists()
    )
    return session.execute(_overlapping_query(other_source), _overlap_params(start, end)).scalar()


@functools.cache
def _lookup_query(summary_only: bool) -> Select[tuple[int | None, int | None, int | None]]:
    """Built once (building a statement costs more than running it): the activity a source and
    key already brought; the stored activity a recording is another copy of
    (``_match_query``); with ``summary_only``, the activity only a summary source (Oura's
    workouts, whose times are the ring's guess) has brought that the recording overlaps: that
    summary is the same session."""
    known = (
        select(ActivitySource.activity_id)
        .where(
            ActivitySource.source == bindparam("source", type_=String),
            ActivitySource.source_key == bindparam("key", type_=Text),
        )
        .scalar_subquery()
    )
    summary = null()
    if summary_only:
        other = (
            select(ActivitySource.id)
            .where(
                ActivitySource.activity_id == Activity.id,
                ActivitySource.source.not_in(SUMMARY_ONLY_SOURCES),
            )
            .exists()
        )
        summary = _overlapping_query(~other).scalar_subquery()
    return select(known, _match_query().scalar_subquery(), summary)


def _lookup(
    session: Session, activity: records.Activity, key: str
) -> tuple[int | None, int | None]:
    """In one round trip: the activity this source and key already brought, and the stored
    activity this recording is another copy of (the same activity from another source, else the
    summary-only one its samples complete: only a recording with samples and a duration)."""
    params: dict[str, Any] = {"source": activity.source, "key": key, **_match_params(activity)}
    summary_only = (
        activity.samples is not None
        and len(activity.samples) > 0
        and activity.elapsed_s is not None
    )
    if summary_only:
        assert activity.elapsed_s is not None
        end = activity.start + timedelta(seconds=float(activity.elapsed_s))
        params |= _overlap_params(activity.start, end)
    known, match, summary = session.execute(_lookup_query(summary_only), params).one()
    return known, match if match is not None else summary


def link_source(
    session: Session,
    activity_id: int,
    *,
    source: str,
    key: str,
    external_id: str | None,
    raw_file_id: int | None,
) -> bool:
    """Record that ``source`` also carries a stored activity (idempotent; True when added)."""
    added = session.execute(
        pg_insert(ActivitySource)
        .values(
            activity_id=activity_id,
            source=source,
            source_key=key,
            external_id=external_id,
            raw_file_id=raw_file_id,
        )
        .on_conflict_do_nothing(index_elements=["source", "source_key"])
        .returning(ActivitySource.id)
    ).first()
    return added is not None


def relax_commit(session: Session) -> None:
    """Do not wait for this transaction's WAL flush. Safe for imports: if the machine dies
    before the flush, the item's own "done" mark is lost with its data and it is redone."""
    session.execute(text("SET LOCAL synchronous_commit = off"))


def _lap_rows(activity_id: int, laps: list[records.Lap]) -> list[dict]:
    return [
        {
            "activity_id": activity_id,
            "lap_index": index,
            "start_time": lap.start,
            **{name: _clean(getattr(lap, name)) for name in SUMMARY_FIELDS},
        }
        for index, lap in enumerate(laps)
    ]


def _copy_samples(session: Session, activity_id: int, samples: records.Samples) -> int:
    n = len(samples)
    if n == 0:
        return 0
    columns = [
        CopyColumn(np.full(n, activity_id, dtype=np.int64), "int8"),
        CopyColumn(np.asarray(samples.time, dtype=np.float64), "timestamptz"),
    ]
    for name in SAMPLE_CHANNELS:
        values = np.asarray(samples.channel(name), dtype=np.float64)
        columns.append(CopyColumn(values, _CHANNEL_KIND.get(name, "float4")))
    names = ", ".join(("activity_id", "time", *SAMPLE_CHANNELS))
    raw = session.connection().connection.driver_connection
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY sample ({names}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        for chunk in binary_copy_payload(columns):
            copy.write(chunk)
    return n


def _fill(row: Activity, activity: records.Activity) -> None:
    """Copy the summary values a stored activity lacks from another recording of it."""
    for name in SUMMARY_FIELDS:
        if getattr(row, name) is None:
            setattr(row, name, _clean(getattr(activity, name)))
    row.sub_sport = row.sub_sport or activity.sub_sport
    row.name = row.name or activity.name
    row.device = row.device or activity.device
    if row.sport == "generic" and activity.sport != "generic":
        row.sport = activity.sport


_INSERT_ACTIVITY = insert(Activity.__table__).returning(Activity.__table__.c.id)
_INSERT_SOURCE = insert(ActivitySource.__table__)
_INSERT_LAPS = insert(Lap.__table__)


def _insert(
    session: Session, activity: records.Activity, zone: ZoneInfo, parent_id: int | None
) -> int:
    local_date, offset = _local(activity, zone)
    values = {
        "sport": activity.sport,
        "sub_sport": activity.sub_sport,
        "name": activity.name,
        "start_time": activity.start,
        "local_date": local_date,
        "utc_offset_s": offset,
        "device": activity.device,
        "multisport_parent_id": parent_id,
        "multisport_index": activity.multisport_index,
        "developer_fields": activity.developer_fields or {},
        "extras": activity.extras or {},
        "sample_count": len(activity.samples) if activity.samples is not None else 0,
        **{name: _clean(getattr(activity, name)) for name in SUMMARY_FIELDS},
    }
    return session.execute(_INSERT_ACTIVITY, values).scalar_one()


def _attach_new(session: Session, activity_id: int, activity: records.Activity) -> int:
    """Samples, laps and R-R intervals of an activity just inserted."""
    stored = 0
    if activity.samples is not None and len(activity.samples):
        stored = _copy_samples(session, activity_id, activity.samples)
    if activity.laps:
        session.execute(_INSERT_LAPS, _lap_rows(activity_id, activity.laps))
    rr = activity.rr_intervals_ms
    if rr is not None and len(rr):
        _insert_rr(session, activity_id, rr)
    return stored


def _insert_rr(session: Session, activity_id: int, rr: np.ndarray) -> None:
    # As an array literal: psycopg adapts a list of 10⁵ floats one by one, slowly.
    literal = "{" + ",".join(np.char.mod("%.6g", np.asarray(rr, dtype=np.float64))) + "}"
    session.execute(
        text("INSERT INTO activity_rr (activity_id, rr_ms) VALUES (:id, CAST(:rr AS real[]))"),
        {"id": activity_id, "rr": literal},
    )


def _attach_details(session: Session, row: Activity, activity: records.Activity) -> int:
    """Samples, laps and R-R intervals from another recording, for a stored activity that has
    none of them yet."""
    stored = 0
    if activity.samples is not None and len(activity.samples) and row.sample_count == 0:
        stored = _copy_samples(session, row.id, activity.samples)
        row.sample_count = stored
    if (
        activity.laps
        and not session.execute(
            select(Lap.lap_index).where(Lap.activity_id == row.id).limit(1)
        ).first()
    ):
        session.execute(_INSERT_LAPS, _lap_rows(row.id, activity.laps))
    rr = activity.rr_intervals_ms
    if rr is not None and len(rr) and session.get(ActivityRR, row.id) is None:
        _insert_rr(session, row.id, rr)
    if activity.developer_fields and not row.developer_fields:
        row.developer_fields = activity.developer_fields
    return stored


def store_activities(
    session: Session,
    items: list[records.Activity],
    *,
    source_keys: list[str],
    raw_file_id: int | None,
    zone: ZoneInfo,
) -> StoreResult:
    """Store the activities of one input (the legs of a multisport file share a parent).

    ``source_keys[i]`` identifies ``items[i]`` within its source: the source's own id, or
    ``<sha256>:<leg>`` for a plain file. A key seen before is a duplicate; an activity another
    source already brought (same sport, start within a minute) gains this source and whatever
    it lacked (samples, laps, R-R, summary values).
    """
    result = StoreResult()
    parent_id: int | None = None
    for activity, key in zip(items, source_keys, strict=True):
        known, match = _lookup(session, activity, key)
        if known is not None:
            result.duplicate += 1
            parent_id = parent_id or known
            continue
        if match is not None:
            row = session.get_one(Activity, match)
            result.duplicate += 1
            if not _upgrade(session, row, activity):
                _fill(row, activity)
            session.flush()
            result.samples += _attach_details(session, row, activity)
            activity_id = row.id
        else:
            activity_id = _insert(session, activity, zone, parent_id)
            result.added += 1
            result.samples += _attach_new(session, activity_id, activity)
        result.activity_ids.append(activity_id)
        session.execute(
            _INSERT_SOURCE,
            {
                "activity_id": activity_id,
                "source": activity.source,
                "source_key": key,
                "external_id": activity.external_id,
                "raw_file_id": raw_file_id,
            },
        )
        if activity.multisport_index is not None and parent_id is None:
            parent_id = activity_id
    session.flush()
    return result


def merge_wellness(session: Session, days: list[records.DailyWellness]) -> list[date]:
    """Keep every source's daily values (``daily_wellness_source``, merged field by field per
    source), then resolve each touched day's ``daily_wellness`` row: the owner's source for the
    field's metric group, else ``SOURCE_PRIORITY`` (``app.services.wellness.origins``). Returns
    the days whose resolved values changed. A constant number of queries per batch of days."""
    return origins.merge(session, days)


def _copy(session: Session, statement: str, payload: list[bytes]) -> None:
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for chunk in payload:
            copy.write(chunk)


# Rows per COPY block of a health series: its temporary arrays stay near 4 MB (a 50,000-row
# block took 23 MB, the importer's largest allocation while an Apple Health export streams in).
HEALTH_COPY_BLOCK_ROWS = 8192


def store_health(session: Session, series: records.HealthSeries) -> int:
    """Insert one series idempotently; returns the rows added.

    When nothing of this metric, source and device is stored in the series' time span (a first
    import, the common case), the rows go straight in with COPY; otherwise through a staging
    table and ``ON CONFLICT DO NOTHING``, so a re-import adds nothing.
    """
    time_ = np.asarray(series.time, dtype=np.float64)
    value = np.asarray(series.value, dtype=np.float64)
    keep = ~(np.isnan(time_) | np.isnan(value))
    if not keep.all():
        time_, value = time_[keep], value[keep]
    n = len(time_)
    if n == 0:
        return 0
    end = series.end_time if series.end_time is not None else np.full(len(keep), np.nan)
    end = np.asarray(end, dtype=np.float64)[keep]
    key = {"metric": series.metric, "source": series.source, "device": series.device}
    overlap = session.execute(
        text(
            "SELECT 1 FROM health_sample WHERE metric = :metric AND source = :source "
            "AND device = :device AND time BETWEEN to_timestamp(:lo) AND to_timestamp(:hi) "
            "LIMIT 1"
        ),
        {**key, "lo": float(time_.min()), "hi": float(time_.max())},
    ).first()
    unique_times = n == len(np.unique(time_))
    if overlap is None and unique_times:
        _copy(
            session,
            "COPY health_sample (time, metric, source, device, value, end_time) "
            "FROM STDIN (FORMAT BINARY)",
            binary_copy_payload(
                [
                    CopyColumn(time_, "timestamptz"),
                    CopyConstant(series.metric),
                    CopyConstant(series.source),
                    CopyConstant(series.device),
                    CopyColumn(value, "float8"),
                    CopyColumn(end, "timestamptz"),
                ],
                rows_per_block=HEALTH_COPY_BLOCK_ROWS,
            ),
        )
        return n
    session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS health_stage "
            "(time timestamptz, value float8, end_time timestamptz) ON COMMIT DROP"
        )
    )
    _copy(
        session,
        "COPY health_stage (time, value, end_time) FROM STDIN (FORMAT BINARY)",
        binary_copy_payload(
            [
                CopyColumn(time_, "timestamptz"),
                CopyColumn(value, "float8"),
                CopyColumn(end, "timestamptz"),
            ],
            rows_per_block=HEALTH_COPY_BLOCK_ROWS,
        ),
    )
    inserted = session.execute(
        text(
            "INSERT INTO health_sample (time, metric, source, device, value, end_time) "
            "SELECT time, :metric, :source, :device, value, end_time FROM health_stage "
            "ON CONFLICT DO NOTHING"
        ),
        key,
    ).rowcount
    session.execute(text("TRUNCATE health_stage"))
    return int(inserted or 0)


def day_bounds(session: Session) -> tuple[date | None, date | None]:
    first_activity, last_activity = session.execute(
        select(func.min(Activity.local_date), func.max(Activity.local_date))
    ).one()
    first_day, last_day = session.execute(
        select(func.min(DailyWellness.day), func.max(DailyWellness.day))
    ).one()
    firsts = [d for d in (first_activity, first_day) if d is not None]
    lasts = [d for d in (last_activity, last_day) if d is not None]
    return (min(firsts) if firsts else None, max(lasts) if lasts else None)
