"""What the Activities pages read: the filtered, sorted, keyset-paginated list, one activity with
everything hanging off it, its streams as numpy arrays, the route as an SVG polyline, and the
raw files it came from.

Pagination is **keyset** (seek) pagination on ``(sort key, id)``: a page is "the next 50 rows
after the row with this id", so page 100 costs what page 1 costs (no ``OFFSET`` that reads and
throws away every earlier row), and a page does not shift when a sync adds activities while the
owner is paging. The cursor is just the id of the row at the page's edge; its sort key is looked
up inside the same statement. Dates sort on the ``start_time`` index; distance, duration and
load sort with ``NULL`` as the lowest value.

Size (~720 lines): the read models of the two Activities pages (the list; one activity with
its laps, zones, bests, sources, streams and route) share the activity queries; the science
they show is in ``app.analytics`` (the route's simplification in ``downsample``). The seam for a
later split is the streams and the route (``read_samples`` … ``route_shape``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import urlencode

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, exists, func, select, text, tuple_
from sqlalchemy.orm import Session, aliased

from app.analytics import running
from app.analytics.curves import BEST_EFFORT_DISTANCES_M, DEFAULT_DURATIONS_S
from app.analytics.downsample import visvalingam_indices
from app.analytics.zones import FRIEL_ZONE_NAMES
from app.config import Settings
from app.db.copy import PG_EPOCH_UNIX_S
from app.models import Activity, ActivityMetrics, ActivitySource, Lap, RawFile
from app.services import raw_store
from app.services.metrics.compute import FOOT_SPORTS
from app.services.metrics.estimate_origins import ActivityLink, links, source_ids

FloatArray = NDArray[np.float64]

PAGE_SIZE = 50
SORTS = ("date", "distance", "duration", "load")
MAX_TEXT = 200
#: Slower than this is standing still for a pace chart (m/s); pace above 30 min/km is not shown.
MIN_PACE_SPEED_MPS = 0.5
MAX_PACE_S_PER_KM = 1800.0
ROUTE_POINTS = 500
ROUTE_WIDTH = 600.0
ROUTE_PADDING = 12.0
#: Durations shown in the best-power table (a subset of ``DEFAULT_DURATIONS_S``).
BEST_POWER_DURATIONS_S = (5, 15, 30, 60, 300, 600, 1200, 1800, 3600)
SHA256 = re.compile(r"[0-9a-f]{64}")


# --- the list ------------------------------------------------------------------------------


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    ok = text is not None and text.isascii() and text.isdigit() and len(text) < 19
    return int(text) if ok else None


@dataclass(frozen=True)
class ListQuery:
    """What the owner asked the list for. Unknown or malformed parameters are ignored."""

    sport: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    text: str | None = None
    sort: str = "date"
    descending: bool = True
    after: int | None = None  # keyset cursors: the id of the row at the edge of the last page
    before: int | None = None
    page_size: int = PAGE_SIZE

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ListQuery:
        sort = params.get("sort") or "date"
        text = (params.get("q") or "").strip()[:MAX_TEXT]
        after, before = _int(params.get("after")), _int(params.get("before"))
        return cls(
            sport=(params.get("sport") or "").strip()[:40] or None,
            date_from=_date(params.get("from")),
            date_to=_date(params.get("to")),
            text=text or None,
            sort=sort if sort in SORTS else "date",
            descending=params.get("dir", "desc") != "asc",
            after=after,
            before=None if after is not None else before,
        )

    @property
    def filtered(self) -> bool:
        return bool(self.sport or self.date_from or self.date_to or self.text)

    def params(self, **changes: Any) -> dict[str, str]:
        """Query parameters for a link to this list with ``changes`` (a changed filter or sort
        starts again at the first page)."""
        if set(changes) - {"after", "before"}:
            changes = {"after": None, "before": None, **changes}
        query = replace(self, **changes)
        values = {
            "sport": query.sport,
            "from": query.date_from.isoformat() if query.date_from else None,
            "to": query.date_to.isoformat() if query.date_to else None,
            "q": query.text,
            "sort": query.sort if query.sort != "date" else None,
            "dir": None if query.descending else "asc",
            "after": query.after,
            "before": query.before,
        }
        return {key: str(value) for key, value in values.items() if value is not None}

    def link(self, **changes: Any) -> str:
        """``?…`` for a link (empty when the list is the default)."""
        encoded = urlencode(self.params(**changes))
        return f"?{encoded}" if encoded else ""


@dataclass(frozen=True)
class ActivityRow:
    id: int
    sport: str
    sub_sport: str | None
    name: str | None
    start_time: datetime
    distance_m: float | None
    elapsed_s: float | None
    avg_hr: float | None
    avg_power: float | None
    load: float | None
    load_model: str | None
    multisport_index: int | None


@dataclass
class ActivityPage:
    query: ListQuery
    rows: list[ActivityRow]
    total: int  # matching the filters
    sports: list[str]  # every sport the owner has, for the filter
    has_next: bool
    has_previous: bool

    @property
    def empty_history(self) -> bool:
        """No activity at all (not merely none matching the filters)."""
        return not self.sports

    @property
    def next_link(self) -> str | None:
        return self.query.link(after=self.rows[-1].id, before=None) if self.has_next else None

    @property
    def previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        return self.query.link(before=self.rows[0].id, after=None)


def _sort_key(sort: str, activity: Any, metrics: Any) -> ColumnElement[Any]:
    if sort == "distance":
        return func.coalesce(activity.distance_m, -1.0)
    if sort == "duration":
        return func.coalesce(activity.elapsed_s, -1.0)
    if sort == "load":
        return func.coalesce(metrics.load, -1.0)
    return activity.start_time


def _filters(query: ListQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.sport:
        where.append(Activity.sport == query.sport)
    if query.date_from:
        where.append(Activity.local_date >= query.date_from)
    if query.date_to:
        where.append(Activity.local_date <= query.date_to)
    if query.text:
        escaped = query.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(Activity.name.ilike(f"%{escaped}%", escape="\\"))
    return where


def list_activities(session: Session, query: ListQuery) -> ActivityPage:
    """One page of the list: three statements whatever the page or the history's size."""
    where = _filters(query)
    key = _sort_key(query.sort, Activity, ActivityMetrics)
    statement = (
        select(
            Activity.id,
            Activity.sport,
            Activity.sub_sport,
            Activity.name,
            Activity.start_time,
            Activity.distance_m,
            Activity.elapsed_s,
            Activity.avg_hr,
            Activity.avg_power,
            ActivityMetrics.load,
            ActivityMetrics.load_model,
            Activity.multisport_index,
        )
        .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .where(*where)
    )
    cursor = query.after if query.after is not None else query.before
    backwards = query.before is not None and query.after is None
    if cursor is not None:
        edge, edge_metrics = aliased(Activity), aliased(ActivityMetrics)
        edge_key = (
            select(_sort_key(query.sort, edge, edge_metrics))
            .select_from(edge)
            .outerjoin(edge_metrics, edge_metrics.activity_id == edge.id)
            .where(edge.id == cursor)
            .scalar_subquery()
        )
        row, mark = tuple_(key, Activity.id), tuple_(edge_key, cursor)
        # "after" in the page's order; "before" walks the other way and is reversed below
        forward = query.descending != backwards
        statement = statement.where(row < mark if forward else row > mark)
    ascending = not query.descending if not backwards else query.descending
    order = (key.asc(), Activity.id.asc()) if ascending else (key.desc(), Activity.id.desc())
    found = session.execute(statement.order_by(*order).limit(query.page_size + 1)).all()
    more = len(found) > query.page_size
    found = found[: query.page_size]
    if backwards:
        found.reverse()
    rows = [ActivityRow(*item) for item in found]
    total = session.execute(select(func.count()).select_from(Activity).where(*where)).scalar_one()
    sports = list(
        session.execute(select(Activity.sport).group_by(Activity.sport).order_by(Activity.sport))
        .scalars()
        .all()
    )
    return ActivityPage(
        query=query,
        rows=rows,
        total=total,
        sports=sports,
        has_next=more if not backwards else True,
        has_previous=(cursor is not None) if not backwards else more,
    )


# --- samples -------------------------------------------------------------------------------

_CHANNELS = ("heart_rate", "power", "cadence", "speed", "distance", "altitude", "lat", "lon")
#: ``array_send`` of a one-dimensional array: ndim, flags, element type, size, lower bound.
_ARRAY_HEADER = 20
_TIME_ELEMENT = np.dtype([("length", ">i4"), ("value", ">i8")])
_FLOAT_ELEMENT = np.dtype([("length", ">i4"), ("value", ">f8")])
_AGGREGATES = ", ".join(
    f"array_send(array_agg(COALESCE({name}::float8, 'NaN')))" for name in _CHANNELS
)
# built from the constant _CHANNELS; the activity id is a bound parameter
_SAMPLES_QUERY = (
    f"SELECT array_send(array_agg(time)), {_AGGREGATES} FROM sample WHERE activity_id = %s"  # noqa: S608
)


def _unpack(payload: bytes | None, element: np.dtype) -> NDArray[Any]:
    if payload is None:
        return np.empty(0, dtype=element["value"])
    return np.frombuffer(payload, dtype=element, offset=_ARRAY_HEADER)["value"]


def read_samples(session: Session, activity_id: int) -> tuple[FloatArray, dict[str, FloatArray]]:
    """``(unix seconds, channels)`` of one activity, ordered by time, NaN = not recorded.

    One statement returning one row: each channel aggregated into a float8 array and sent in
    PostgreSQL's binary array format (``array_send``), every element the same width (NULL →
    NaN), so each column is read with one :func:`numpy.frombuffer` — no Python object per
    sample. (A binary ``COPY`` sends one message per row, which costs more on the Python side
    for a 6-hour activity than the query itself.) ``array_agg`` keeps no promised order, so the
    rows are sorted here when they arrive out of order.
    """
    raw = session.connection().connection.driver_connection
    with raw.cursor(binary=True) as cursor:
        cursor.execute(_SAMPLES_QUERY, (activity_id,))
        row = cursor.fetchone()
    assert row is not None  # an aggregate always returns a row
    time = _unpack(row[0], _TIME_ELEMENT).astype(np.float64) / 1e6 + PG_EPOCH_UNIX_S
    channels = {
        name: _unpack(payload, _FLOAT_ELEMENT).astype(np.float64)
        for name, payload in zip(_CHANNELS, row[1:], strict=True)
    }
    if time.size > 1 and bool(np.any(np.diff(time) < 0)):
        order = np.argsort(time, kind="stable")
        time = time[order]
        channels = {name: values[order] for name, values in channels.items()}
    return time, channels


def _has(values: FloatArray | None) -> bool:
    return values is not None and values.size > 0 and bool(np.isfinite(values).any())


@dataclass
class Streams:
    """One activity's channels for charts, on two possible x axes.

    ``elapsed`` is seconds since the start; ``distance`` metres (non-decreasing, NaN where
    unknown) or ``None``. Channels (NaN = not recorded): ``heart_rate`` (bpm), ``power`` (W),
    ``pace`` and ``gap`` (s/km, foot sports), ``speed`` (km/h, other sports), ``cadence``
    (rpm; steps per minute for foot sports), ``altitude`` (m).
    """

    elapsed: FloatArray
    distance: FloatArray | None
    channels: dict[str, FloatArray]
    foot: bool = False

    def __len__(self) -> int:
        return int(self.elapsed.size)

    def axis(self, x: str) -> tuple[FloatArray, NDArray[np.bool_]]:
        """The x values and which samples have one (distance mode drops samples without)."""
        if x == "distance" and self.distance is not None:
            return self.distance, np.isfinite(self.distance)
        return self.elapsed, np.ones(self.elapsed.size, dtype=bool)

    def window(
        self, x: str, start: float | None, end: float | None
    ) -> tuple[FloatArray, dict[str, FloatArray]]:
        """The samples whose x lies in ``[start, end]`` (each bound optional)."""
        xs, keep = self.axis(x)
        if start is not None and math.isfinite(start):
            keep = keep & (xs >= start)
        if end is not None and math.isfinite(end):
            keep = keep & (xs <= end)
        return xs[keep], {name: values[keep] for name, values in self.channels.items()}


def build_streams(
    sport: str, start: datetime, time: FloatArray, raw: dict[str, FloatArray]
) -> Streams | None:
    if time.size == 0:
        return None
    origin = min(start.timestamp(), float(time[0]))
    elapsed = time - origin
    channels: dict[str, FloatArray] = {}
    foot = sport in FOOT_SPORTS
    hr = raw["heart_rate"]
    if _has(hr):
        channels["heart_rate"] = np.where(hr > 0, hr, np.nan)
    if _has(raw["power"]):
        channels["power"] = raw["power"]
    distance = None
    if _has(raw["distance"]):
        distance = raw["distance"].copy()
        known = np.isfinite(distance)
        distance[known] = np.maximum.accumulate(distance[known])
    speed = raw["speed"] if _has(raw["speed"]) else None
    if speed is None and distance is not None:
        speed = running.interval_speed(time, distance)
    if speed is not None:
        if foot:
            with np.errstate(divide="ignore", invalid="ignore"):
                pace = np.where(speed >= MIN_PACE_SPEED_MPS, 1000.0 / speed, np.nan)
            pace = np.where(pace <= MAX_PACE_S_PER_KM, pace, np.nan)
            channels["pace"] = pace
            if distance is not None and _has(raw["altitude"]):
                grade = running.grade(distance, raw["altitude"])
                factor = np.asarray(running.minetti_cost_ratio(np.nan_to_num(grade, nan=0.0)))
                channels["gap"] = pace / factor
        else:
            channels["speed"] = speed * 3.6
    cadence = raw["cadence"]
    if _has(cadence):
        channels["cadence"] = cadence * 2.0 if foot else cadence
    if _has(raw["altitude"]):
        channels["altitude"] = raw["altitude"]
    return Streams(elapsed=elapsed, distance=distance, channels=channels, foot=foot)


def activity_streams(session: Session, activity_id: int) -> Streams | None:
    """The streams of one activity (``None`` for an unknown id or one without samples)."""
    found = session.execute(
        select(Activity.sport, Activity.start_time).where(Activity.id == activity_id)
    ).first()
    if found is None:
        return None
    time, raw = read_samples(session, activity_id)
    return build_streams(found.sport, found.start_time, time, raw)


# --- the route -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteShape:
    """The route as an SVG polyline: ``points`` in a ``width`` × ``height`` box."""

    points: str
    width: float
    height: float
    start: tuple[float, float]
    end: tuple[float, float]
    count: int


def route_shape(
    lat: FloatArray, lon: FloatArray, *, points: int = ROUTE_POINTS
) -> RouteShape | None:
    """Equirectangular projection (x = lon · cos(mean lat), y = lat), scaled into a box
    ``ROUTE_WIDTH`` wide and as high as the route's shape needs (clamped), north up."""
    known = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    known &= ~((lat == 0) & (lon == 0))
    if int(known.sum()) < 2:
        return None
    la, lo = lat[known], lon[known]
    x = lo * math.cos(math.radians(float(la.mean())))
    y = la
    span_x, span_y = float(np.ptp(x)), float(np.ptp(y))
    if span_x == 0 and span_y == 0:
        return None
    inner = ROUTE_WIDTH - 2 * ROUTE_PADDING
    scale = inner / max(span_x, 1e-12)
    height = min(max(span_y * scale + 2 * ROUTE_PADDING, 160.0), 480.0)
    scale = min(scale, (height - 2 * ROUTE_PADDING) / max(span_y, 1e-12))
    off_x = (ROUTE_WIDTH - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2
    px = off_x + (x - x.min()) * scale
    py = height - (off_y + (y - y.min()) * scale)
    keep = visvalingam_indices(px, py, points)
    px, py = px[keep], py[keep]
    text = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px.tolist(), py.tolist(), strict=True))
    return RouteShape(
        points=text,
        width=ROUTE_WIDTH,
        height=round(height, 1),
        start=(round(float(px[0]), 1), round(float(py[0]), 1)),
        end=(round(float(px[-1]), 1), round(float(py[-1]), 1)),
        count=int(px.size),
    )


# --- one activity --------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceView:
    source: str
    external_id: str | None
    created_at: datetime
    raw_sha256: str | None
    raw_name: str | None
    raw_size: int | None


@dataclass(frozen=True)
class LegView:
    id: int
    sport: str
    name: str | None
    index: int | None


@dataclass(frozen=True)
class ZoneBar:
    name: str
    lower_bpm: float | None
    upper_bpm: float | None
    seconds: float
    share: float  # 0..1 of the time in all zones


@dataclass(frozen=True)
class Best:
    label: str  # a duration in seconds, or the key of BEST_EFFORT_DISTANCES_M
    value: float
    pace_s_per_km: float | None = None


@dataclass
class ActivityDetail:
    activity: Activity
    metrics: ActivityMetrics | None
    laps: list[Lap]
    sources: list[SourceView]
    legs: list[LegView]
    streams: Streams | None
    route: RouteShape | None
    zones: list[ZoneBar] = field(default_factory=list)
    zone_model: str | None = None  # lthr | hrmax | hrr
    power_bests: list[Best] = field(default_factory=list)
    pace_bests: list[Best] = field(default_factory=list)
    lap_columns: set[str] = field(default_factory=set)
    # the activities the estimated thresholds it used came from
    threshold_sources: dict[int, ActivityLink] = field(default_factory=dict)

    @property
    def foot(self) -> bool:
        return self.activity.sport in FOOT_SPORTS

    @property
    def has_distance(self) -> bool:
        return self.streams is not None and self.streams.distance is not None

    @property
    def thresholds(self) -> list[ThresholdUsed]:
        """Each threshold the metrics used, in a fixed order."""
        used = self.metrics.thresholds_used if self.metrics is not None else {}
        kinds = ("ftp_w", "threshold_pace_s_per_km", "lthr_bpm", "hr_max_bpm", "hr_rest_bpm")
        found = []
        for kind in (*kinds, "weight_kg"):
            entry = used.get(kind)
            if isinstance(entry, dict) and entry.get("value") is not None:
                origin, since = _threshold_origin(str(entry.get("source") or ""))
                sources = tuple(
                    self.threshold_sources[i]
                    for i in source_ids(entry)
                    if i in self.threshold_sources
                )
                found.append(ThresholdUsed(kind, float(entry["value"]), origin, since, sources))
        return found


@dataclass(frozen=True)
class ThresholdUsed:
    kind: str  # a key of app.models.metrics.THRESHOLD_KINDS
    value: float
    origin: str  # owner | accepted (an estimate the owner accepted) | how it was estimated
    since: date | None  # the date the owner's value is valid from
    activities: tuple[ActivityLink, ...] = ()  # the activities an estimate came from


def _threshold_origin(source: str) -> tuple[str, date | None]:
    """``owner:2025-01-01`` → ``("owner", date)``; ``estimated:2025-01-01`` (an accepted
    estimate) → ``("accepted", date)``; ``estimated:eftp_90d`` → ``("eftp_90d", None)``."""
    head, _sep, tail = source.partition(":")
    since = _date(tail)
    if since is not None:
        return ("owner" if head == "owner" else "accepted"), since
    return (tail or head or "unknown"), None


def _zones(metrics: ActivityMetrics | None) -> tuple[list[ZoneBar], str | None]:
    if metrics is None or not metrics.hr_zone_s:
        return [], None
    seconds = [float(s or 0.0) for s in metrics.hr_zone_s]
    info = (metrics.thresholds_used or {}).get("hr_zones") or {}
    lower = [float(b) for b in info.get("lower_bpm") or []]
    if len(lower) != len(seconds):
        lower = []
    names = (
        FRIEL_ZONE_NAMES
        if len(seconds) == len(FRIEL_ZONE_NAMES)
        else tuple(f"Z{k + 1}" for k in range(len(seconds)))
    )
    total = sum(seconds) or 1.0
    bars = [
        ZoneBar(
            name=names[k],
            lower_bpm=lower[k] if lower else None,
            upper_bpm=lower[k + 1] if lower and k + 1 < len(lower) else None,
            seconds=value,
            share=value / total,
        )
        for k, value in enumerate(seconds)
    ]
    model = str(info.get("model") or "")
    return bars, model.split("-")[0] or None  # "lthr-friel-running" → "lthr"


def _bests(metrics: ActivityMetrics | None) -> tuple[list[Best], list[Best]]:
    if metrics is None:
        return [], []
    power: list[Best] = []
    curve = metrics.power_curve_w or []
    for duration in BEST_POWER_DURATIONS_S:
        k = DEFAULT_DURATIONS_S.index(duration)
        if k < len(curve) and curve[k] is not None and math.isfinite(curve[k]):
            power.append(Best(label=str(duration), value=float(curve[k])))
    pace: list[Best] = []
    stored = metrics.pace_bests or {}
    for name in BEST_EFFORT_DISTANCES_M:
        entry = stored.get(name)
        if isinstance(entry, dict) and entry.get("time_s"):
            pace.append(
                Best(
                    label=name,
                    value=float(entry["time_s"]),
                    pace_s_per_km=entry.get("pace_s_per_km"),
                )
            )
    return power, pace


def _legs(session: Session, activity: Activity) -> list[LegView]:
    root = activity.multisport_parent_id or activity.id
    if activity.multisport_parent_id is None and activity.multisport_index is None:
        has_children = session.execute(
            select(exists().where(Activity.multisport_parent_id == activity.id))
        ).scalar_one()
        if not has_children:
            return []
    found = session.execute(
        select(Activity.id, Activity.sport, Activity.name, Activity.multisport_index)
        .where((Activity.id == root) | (Activity.multisport_parent_id == root))
        .order_by(Activity.multisport_index.asc().nulls_first(), Activity.start_time)
    ).all()
    legs = [LegView(*row) for row in found]
    return legs if len(legs) > 1 else []


def activity_detail(session: Session, activity_id: int) -> ActivityDetail | None:
    """Everything the detail page shows; ``None`` for an unknown id. Five to seven small
    statements, one of them reading every sample (:func:`read_samples`)."""
    found = session.execute(
        select(Activity, ActivityMetrics)
        .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .where(Activity.id == activity_id)
    ).first()
    if found is None:
        return None
    activity, metrics = found
    laps = list(
        session.execute(
            select(Lap).where(Lap.activity_id == activity_id).order_by(Lap.lap_index)
        ).scalars()
    )
    sources = [
        SourceView(
            source=row.source,
            external_id=row.external_id,
            created_at=row.created_at,
            raw_sha256=row.sha256,
            raw_name=PurePath(row.original_name).name if row.original_name else None,
            raw_size=row.size,
        )
        for row in session.execute(
            select(
                ActivitySource.source,
                ActivitySource.external_id,
                ActivitySource.created_at,
                RawFile.sha256,
                RawFile.original_name,
                RawFile.size,
            )
            .outerjoin(RawFile, RawFile.id == ActivitySource.raw_file_id)
            .where(ActivitySource.activity_id == activity_id)
            .order_by(ActivitySource.created_at, ActivitySource.id)
        )
    ]
    time, raw = read_samples(session, activity_id)
    streams = build_streams(activity.sport, activity.start_time, time, raw)
    route = route_shape(raw["lat"], raw["lon"]) if streams is not None else None
    zones, zone_model = _zones(metrics)
    power_bests, pace_bests = _bests(metrics)
    lap_columns = {
        name
        for name in ("distance_m", "avg_hr", "max_hr", "avg_power", "avg_cadence", "ascent_m")
        if any(getattr(lap, name) is not None for lap in laps)
    }
    used = metrics.thresholds_used if metrics is not None else {}
    named = links(session, (i for entry in (used or {}).values() for i in source_ids(entry)))
    return ActivityDetail(
        activity=activity,
        metrics=metrics,
        laps=laps,
        sources=sources,
        legs=_legs(session, activity),
        streams=streams,
        route=route,
        zones=zones,
        zone_model=zone_model,
        power_bests=power_bests,
        pace_bests=pace_bests,
        lap_columns=lap_columns,
        threshold_sources=named,
    )


# --- raw files -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawDownload:
    path: Path
    filename: str


def raw_download(session: Session, settings: Settings, sha256: str) -> RawDownload | None:
    """The stored file with this SHA-256 and the name to send it under; ``None`` when the hash
    is malformed, unknown, missing on disk, or its stored path would leave the raw store."""
    if not SHA256.fullmatch(sha256):
        return None
    raw = session.execute(select(RawFile).where(RawFile.sha256 == sha256)).scalar_one_or_none()
    if raw is None:
        return None
    path = raw_store.raw_path(settings, raw)
    if path is None or not path.is_file():
        return None
    name = PurePath(raw.original_name.replace("\\", "/")).name if raw.original_name else ""
    return RawDownload(path=path, filename=name or f"{sha256}{PurePath(raw.path).suffix}")


def detail_version(session: Session, activity_id: int) -> tuple | None:
    """A value that changes whenever the activity page's content can: digests of the activity
    and metrics rows and the number of sources (None for an unknown activity)."""
    row = session.execute(
        text(
            "SELECT md5(a::text), md5(m::text), "
            "(SELECT count(*) FROM activity_source s WHERE s.activity_id = a.id) "
            "FROM activity a LEFT JOIN activity_metrics m ON m.activity_id = a.id "
            "WHERE a.id = :id"
        ),
        {"id": activity_id},
    ).first()
    return tuple(row) if row is not None else None
