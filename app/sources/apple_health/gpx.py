"""Workout routes: the ``workout-routes/route_….gpx`` files of an Apple Health export.

Apple writes GPX 1.1 at about one point a second::

    <trkpt lon="-122.396397" lat="37.781672"><ele>4.076904</ele><time>2019-06-11T22:00:42Z</time>
      <extensions><speed>0.180883</speed><course>206.25</course><hAcc>8.06</hAcc>…</extensions>
    </trkpt>

Parsed through the same sanitizer and parser settings as ``export.xml`` (no DOCTYPE, no
entities, no network). Points without a usable time or position are dropped; points sharing a
time keep the first one, so the returned times are strictly increasing. Exports from before
iOS 13 carry the points inline instead (``<WorkoutRoute><Location date=… latitude=… …/>``);
the parser turns those into the same Samples with :func:`route_samples`.
"""

from __future__ import annotations

from datetime import datetime
from typing import BinaryIO

import numpy as np

from app.records import Samples
from app.sources import SourceDataError
from app.sources.apple_health.xmlstream import SafeTarget, parse_stream

_TEXT_FIELDS = frozenset(("ele", "time", "speed"))


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def parse_time(text: str) -> float | None:
    """ISO 8601 (``2019-06-11T22:00:42Z``, fractions and offsets allowed) → Unix seconds."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:  # GPX times are UTC by definition
        return None
    return moment.timestamp()


def _float(text: str | None) -> float:
    if text is None:
        return np.nan
    try:
        return float(text)
    except ValueError:
        return np.nan


class _RouteTarget(SafeTarget):
    def __init__(self) -> None:
        self.points: list[tuple[float, float, float, float, float]] = []
        self._point: dict[str, str] | None = None
        self._field: str | None = None
        self._text: list[str] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        name = _local(tag)
        if self.root is None:
            self.root = name
        if name == "trkpt":
            self._point = {"lat": attrib.get("lat", ""), "lon": attrib.get("lon", "")}
        elif self._point is not None and name in _TEXT_FIELDS:
            self._field = name
            self._text = []

    def data(self, text: str) -> None:
        if self._field is not None:
            self._text.append(text)

    def end(self, tag: str) -> None:
        name = _local(tag)
        point = self._point
        if point is None:
            return
        if name == self._field:
            point[name] = "".join(self._text)
            self._field = None
        elif name == "trkpt":
            self._point = None
            time_s = parse_time(point.get("time", ""))
            lat, lon = _float(point["lat"]), _float(point["lon"])
            if time_s is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
                return
            self.points.append(
                (time_s, lat, lon, _float(point.get("ele")), _float(point.get("speed")))
            )


def parse_gpx(source: BinaryIO) -> Samples | None:
    """The track points of one GPX file as Samples (lat, lon, altitude, speed), or None when it
    has none. Raises ``SourceDataError`` (``xml_malformed``, ``xml_entities``, ``gpx_invalid``)."""
    target = _RouteTarget()
    for _ in parse_stream(source, target, not_xml_code="gpx_invalid"):
        pass
    if target.root != "gpx":
        raise SourceDataError(f"Not a GPX file (root {target.root!r})", code="gpx_invalid")
    return route_samples(target.points)


def route_samples(points: list[tuple[float, float, float, float, float]]) -> Samples | None:
    """(time, lat, lon, altitude, speed) points → Samples with strictly increasing times (the
    first point of each time is kept); NaN where not recorded; None when there are none."""
    if not points:
        return None
    table = np.array(points, dtype=np.float64)
    table = table[np.argsort(table[:, 0], kind="stable")]
    keep = np.ones(len(table), dtype=bool)
    keep[1:] = table[1:, 0] > table[:-1, 0]
    table = table[keep]
    table[table[:, 4] < 0, 4] = np.nan  # Core Location reports -1 for "unknown"
    channels = {"lat": table[:, 1].copy(), "lon": table[:, 2].copy()}
    for name, column in (("altitude", 3), ("speed", 4)):
        if not np.isnan(table[:, column]).all():
            channels[name] = table[:, column].copy()
    return Samples(time=table[:, 0].copy(), channels=channels)
