"""Stream an Apple Health ``export.xml`` into records: one pass, bounded memory.

The document is fed chunk by chunk through :mod:`.xmlstream` into an lxml parser *target*
(callbacks, no tree; the fastest of the parsers measured, see the package docstring). A record
callback only files the record's raw strings under its (type, device); every ``BATCH_ROWS``
rows numpy converts them at once (dates, numbers, units, validity), which costs a fraction of
per-record Python parsing. Converted rows leave as ``HealthSeries`` chunks of at most
``chunk_rows`` rows; workouts leave as ``Activity`` when their element closes; daily values and
notices leave at the end.

Memory: raw strings wait in batches of at most ``BATCH_ROWS`` rows, converted rows in chunks of
at most ``chunk_rows``; between two input chunks :meth:`_ExportTarget.bound_memory` flushes
everything early when too much waits (many devices, interleaved types). Daily values grow with
days, not records.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from posixpath import normpath
from typing import BinaryIO

import numpy as np

from app.records import Activity, DailyWellness, HealthSeries, Notice, Samples
from app.sources import SourceDataError
from app.sources.apple_health.gpx import parse_gpx, route_samples
from app.sources.apple_health.mapper import (
    KILOCALORIES,
    RECORD_KINDS,
    SLEEP_STAGES,
    SLEEP_TYPE,
    SOURCE,
    DailyAggregator,
    PendingWorkout,
    RecordKind,
    epoch,
    local_day,
    parse_dates,
    parse_numbers,
    quantity,
    unit_factors,
    workout_activity,
)
from app.sources.apple_health.xmlstream import SafeTarget, parse_stream

OpenMember = Callable[[str], BinaryIO | None]
Output = Activity | HealthSeries | DailyWellness | Notice

BATCH_ROWS = 4096
# Bounds on what waits between input chunks, all (type, device) pairs together: raw strings
# (about 280 bytes a row), converted rows (24 bytes a row), distinct pairs.
_MAX_RAW_ROWS = 50_000
_MAX_SERIES_ROWS = 500_000
_MAX_PAIRS = 512
_MAX_UNKNOWN_TYPES = 1000  # distinct names remembered; a hostile file cannot grow this further
_MAX_CHILDREN = 1000  # metadata keys, statistics, event types kept per workout
_MAX_ROUTE_POINTS = 250_000  # inline route points per workout (about 70 hours at 1 Hz)


class _Series:
    """Converted rows of one (metric, device), waiting to fill a chunk."""

    __slots__ = ("device", "ends", "last_time", "metric", "rows", "times", "values")

    def __init__(self, metric: str, device: str) -> None:
        self.metric = metric
        self.device = device
        self.last_time: float | None = None  # the latest time already sent
        self.times: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.ends: list[np.ndarray] = []
        self.rows = 0


class _Batch:
    """Raw strings of one (record type, device), waiting for vectorised conversion."""

    __slots__ = ("device", "ends", "kind", "series", "starts", "units", "values")

    def __init__(self, kind: RecordKind, device: str, series: _Series | None) -> None:
        self.kind = kind
        self.device = device
        self.series = series
        self.starts: list[str] = []
        self.values: list[str] = []
        self.units: list[str] = []
        self.ends: list[str] = []


def _not_export(root: str) -> SourceDataError:
    return SourceDataError(
        f"Not an Apple Health export (root element {root!r})", code="apple_health_not_export"
    )


class _ExportTarget(SafeTarget):
    def __init__(self, open_member: OpenMember | None, chunk_rows: int) -> None:
        self.out: list[Output] = []
        self.daily = DailyAggregator()
        self.open_member = open_member
        self.chunk_rows = chunk_rows
        self.workout: PendingWorkout | None = None
        self.in_route = False
        self.correlation_depth = 0
        self.skip_records = True  # before the root element, and inside correlations
        self.unknown: dict[str, int] = {}
        self.invalid = 0
        self.routes_missing = 0
        self.routes_unreadable = 0
        self.series: dict[tuple[str, str], _Series] = {}
        self.batches: dict[str, dict[str, _Batch]] = {}  # record type -> device -> batch
        self.sleep_rows: dict[str, list[tuple[int, int, int]]] = {}  # device -> (start, code, end)
        self.handlers: dict[str, Callable[[dict[str, str]], None]] = {
            name: self._quantity_handler(name, kind) for name, kind in RECORD_KINDS.items()
        }
        self.handlers[SLEEP_TYPE] = self._sleep

    # -- lxml target callbacks ---------------------------------------------------------------

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == "Record":
            if self.skip_records:
                if self.root is None:
                    raise _not_export(tag)
                return  # a correlation's records are repeated at the top level
            kind = attrib.get("type", "")
            handler = self.handlers.get(kind)
            if handler is None:
                self._skip(kind)
            else:
                handler(attrib)
        elif tag == "MetadataEntry":
            workout = self.workout
            if workout is not None and not self.in_route and len(workout.metadata) < _MAX_CHILDREN:
                workout.metadata[attrib.get("key", "")] = attrib.get("value", "")
        elif tag == "InstantaneousBeatsPerMinute":
            pass
        elif self.root is None:
            if tag != "HealthData":
                raise _not_export(tag)
            self.root = tag
            self.skip_records = False
        elif tag == "Workout":
            if self.workout is not None:
                self._finish_workout()
            self.workout = PendingWorkout(dict(attrib))
        elif self.workout is not None:
            workout = self.workout
            if tag == "WorkoutStatistics":
                if len(workout.statistics) < _MAX_CHILDREN:
                    workout.statistics[attrib.get("type", "")] = dict(attrib)
            elif tag == "WorkoutEvent":
                event = attrib.get("type", "").removeprefix("HKWorkoutEventType").lower()
                if event in workout.events or len(workout.events) < _MAX_CHILDREN:
                    workout.events[event] = workout.events.get(event, 0) + 1
            elif tag == "WorkoutRoute":
                self.in_route = True
            elif tag == "FileReference" and self.in_route and len(workout.route_paths) < 8:
                workout.route_paths.append(attrib.get("path", ""))
            elif (
                tag == "Location"
                and self.in_route
                and len(workout.route_points) < _MAX_ROUTE_POINTS
            ):
                workout.add_location(attrib)
        elif tag == "Correlation":
            self.correlation_depth += 1
            self.skip_records = True
        elif tag == "ActivitySummary":
            self._activity_summary(attrib)

    def end(self, tag: str) -> None:
        if tag == "Record" or tag == "MetadataEntry":  # the hot path first
            return
        if tag == "Workout":
            self._finish_workout()
        elif tag == "WorkoutRoute":
            self.in_route = False
        elif tag == "Correlation":
            self.correlation_depth -= 1
            self.skip_records = self.correlation_depth > 0

    # -- records -----------------------------------------------------------------------------

    def _skip(self, kind: str) -> None:
        count = self.unknown.get(kind)
        if count is None and len(self.unknown) >= _MAX_UNKNOWN_TYPES:
            kind = "…"
            count = self.unknown.get(kind)
        self.unknown[kind] = (count or 0) + 1

    def _quantity_handler(self, name: str, kind: RecordKind) -> Callable[[dict[str, str]], None]:
        batches = self.batches.setdefault(name, {})
        interval = kind.interval
        convert = self._convert

        def handle(attrib: dict[str, str]) -> None:
            try:
                start, value, unit = attrib["startDate"], attrib["value"], attrib["unit"]
                end = attrib["endDate"] if interval else ""
            except KeyError:
                self.invalid += 1
                return
            device = attrib.get("sourceName", "")
            batch = batches.get(device)
            if batch is None:
                batch = batches[device] = self._new_batch(kind, device)
            starts = batch.starts
            starts.append(start)
            batch.values.append(value)
            batch.units.append(unit)
            if interval:
                batch.ends.append(end)
            if len(starts) >= BATCH_ROWS:
                convert(batch)

        return handle

    def _new_batch(self, kind: RecordKind, device: str) -> _Batch:
        series = None
        if kind.series is not None:
            series = self.series.get((kind.series, device))
            if series is None:
                series = self.series[(kind.series, device)] = _Series(kind.series, device)
        return _Batch(kind, device, series)

    def _convert(self, batch: _Batch) -> None:
        """Vectorised: the batch's strings → valid rows → its series and the daily values."""
        count = len(batch.starts)
        if not count:
            return
        kind = batch.kind
        times, days, ok = parse_dates(batch.starts)
        raw = parse_numbers(batch.values)
        factor = unit_factors(batch.units, kind.units)
        values = raw * factor
        if kind.percent:  # a fraction as Apple writes it, or already a percentage
            values = np.where(raw > 1.0, raw, values)
        ok &= np.isfinite(values)
        ends = None
        if kind.interval:
            ends, _, ends_ok = parse_dates(batch.ends)
            ok &= ends_ok & (ends >= times)
            batch.ends.clear()
        batch.starts.clear()
        batch.values.clear()
        batch.units.clear()
        valid = int(np.count_nonzero(ok))
        if valid < count:
            self.invalid += count - valid
            times, days, values = times[ok], days[ok], values[ok]
            ends = None if ends is None else ends[ok]
        if batch.series is not None and valid:
            self._append(batch.series, times, values, ends)
        if kind.daily is not None:
            self.daily.add_batch(kind.daily, kind.daily_rule, batch.device, days, times, values)

    def _sleep(self, attrib: dict[str, str]) -> None:
        try:
            code = SLEEP_STAGES[attrib["value"]]
            end_text = attrib["endDate"]
            start = epoch(attrib["startDate"])
            end = epoch(end_text)
            end_day = local_day(end_text)
        except (KeyError, ValueError):
            self.invalid += 1
            return
        if end < start:
            self.invalid += 1
            return
        device = attrib.get("sourceName", "")
        rows = self.sleep_rows.get(device)
        if rows is None:
            rows = self.sleep_rows[device] = []
        rows.append((start, code, end))
        if len(rows) >= BATCH_ROWS:
            self._convert_sleep(device, rows)
        self.daily.add_sleep(device, start, end, code, end_day)

    def _convert_sleep(self, device: str, rows: list[tuple[int, int, int]]) -> None:
        if not rows:
            return
        key = ("sleep_stage", device)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = _Series("sleep_stage", device)
        table = np.array(rows, dtype=np.float64)
        rows.clear()
        self._append(series, table[:, 0], table[:, 1], table[:, 2])

    def _append(
        self, series: _Series, times: np.ndarray, values: np.ndarray, ends: np.ndarray | None
    ) -> None:
        series.times.append(times)
        series.values.append(values)
        if ends is not None:
            series.ends.append(ends)
        series.rows += len(times)
        if series.rows >= self.chunk_rows:
            self._emit(series, final=False)

    def _emit(self, series: _Series, *, final: bool) -> None:
        """Send full chunks (and with ``final`` the rest) of a series.

        The waiting rows are sorted and made unique per time first (the table is unique on
        metric, source, device and time): the first row written wins, for sleep the most
        specific stage (in bed = 0 loses). A time already sent in an earlier chunk is dropped,
        which keeps chunks apart for exports in time order, as Apple writes them.
        """
        if not series.rows:
            return
        times = np.concatenate(series.times)
        values = np.concatenate(series.values)
        ends = np.concatenate(series.ends) if series.ends else None
        if series.metric == "sleep_stage":
            order = np.lexsort((-values, times))
        else:
            order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
        keep = np.ones(len(times), dtype=bool)
        keep[1:] = times[1:] != times[:-1]
        if series.last_time is not None:
            keep &= times != series.last_time
        if not keep.all():
            times, values = times[keep], values[keep]
        if ends is not None:
            ends = ends[order][keep]
        rows = self.chunk_rows
        full = len(times) if final else len(times) - len(times) % rows
        for lo in range(0, full, rows):
            hi = min(lo + rows, full)
            self.out.append(
                HealthSeries(
                    metric=series.metric,
                    source=SOURCE,
                    time=times[lo:hi],
                    value=values[lo:hi],
                    device=series.device,
                    end_time=None if ends is None else ends[lo:hi],
                )
            )
        if full:
            series.last_time = float(times[full - 1])
        rest = full < len(times)
        series.times = [times[full:]] if rest else []
        series.values = [values[full:]] if rest else []
        series.ends = [ends[full:]] if rest and ends is not None else []
        series.rows = len(times) - full

    def bound_memory(self) -> None:
        """Between input chunks: convert or send early when too much waits (many devices,
        interleaved types), so memory stays bounded whatever the file holds."""
        pairs = (
            len(self.series)
            + sum(len(batches) for batches in self.batches.values())
            + len(self.sleep_rows)
        )
        if pairs > _MAX_PAIRS:
            self.flush(forget=True)
            return
        raw = sum(len(b.starts) for batches in self.batches.values() for b in batches.values())
        if raw + sum(len(rows) for rows in self.sleep_rows.values()) > _MAX_RAW_ROWS:
            self._convert_all()
        if sum(series.rows for series in self.series.values()) > _MAX_SERIES_ROWS:
            for series in self.series.values():
                self._emit(series, final=True)

    def _convert_all(self) -> None:
        for batches in self.batches.values():
            for batch in batches.values():
                self._convert(batch)
        for device, rows in self.sleep_rows.items():
            self._convert_sleep(device, rows)

    def flush(self, *, forget: bool = False) -> None:
        self._convert_all()
        if forget:
            for batches in self.batches.values():
                batches.clear()  # in place: the record handlers hold these dicts
            self.sleep_rows.clear()
        for series in self.series.values():
            self._emit(series, final=True)
        if forget:
            self.series.clear()

    def _activity_summary(self, attrib: dict[str, str]) -> None:
        day = attrib.get("dateComponents", "")
        kcal = quantity(
            attrib.get("activeEnergyBurned"), attrib.get("activeEnergyBurnedUnit"), KILOCALORIES
        )
        if kcal is None or kcal <= 0:
            return
        text = f"{day} 00:00:00 +0000"
        try:
            epoch(text)
        except ValueError:
            return
        self.daily.summary_kcal[local_day(text)] = kcal

    # -- workouts ----------------------------------------------------------------------------

    def _finish_workout(self) -> None:
        workout, self.workout, self.in_route = self.workout, None, False
        if workout is None:
            return
        samples = route_samples(workout.route_points)
        for path in workout.route_paths:
            if samples is not None:
                break
            samples = self._route(path)
        activity = workout_activity(workout, samples)
        if activity is None:
            self.invalid += 1
        else:
            self.out.append(activity)

    def _route(self, path: str) -> Samples | None:
        member = normpath(path.lstrip("/"))
        stream = None
        if self.open_member is not None and not member.startswith(("..", "/")):
            stream = self.open_member(member)
        if stream is None:
            self.routes_missing += 1
            return None
        try:
            with closing(stream):
                return parse_gpx(stream)
        except SourceDataError:
            self.routes_unreadable += 1
            return None

    # -- the end -----------------------------------------------------------------------------

    def finish(self) -> None:
        self.flush()
        self.out.extend(self.daily.days())
        if self.unknown:
            self.out.append(
                Notice(
                    "apple_health_skipped_types",
                    {"types": len(self.unknown), "records": sum(self.unknown.values())},
                )
            )
        if self.invalid:
            self.out.append(Notice("apple_health_invalid_records", {"records": self.invalid}))
        if self.routes_missing:
            self.out.append(Notice("apple_health_routes_missing", {"routes": self.routes_missing}))
        if self.routes_unreadable:
            self.out.append(
                Notice("apple_health_routes_unreadable", {"routes": self.routes_unreadable})
            )


def parse_export(
    source: BinaryIO,
    *,
    open_member: OpenMember | None = None,
    chunk_rows: int = 50_000,
) -> Iterator[Output]:
    """Stream the records of an Apple Health ``export.xml`` (see the package docstring)."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    target = _ExportTarget(open_member, chunk_rows)
    out = target.out
    for _ in parse_stream(source, target, not_xml_code="apple_health_not_export"):
        target.bound_memory()
        if out:
            yield from out
            out.clear()
    target.finish()
    yield from out
    out.clear()


def parse_export_file(path: Path, *, zipped: bool) -> Iterator[Output]:
    """``parse_export`` for an export on disk: ``export.zip`` (``zipped``; its GPX routes are
    read from the archive) or a bare ``export.xml``."""
    if not zipped:
        with path.open("rb") as stream:
            yield from parse_export(stream)
        return
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise SourceDataError(str(exc), code="zip_corrupt") from exc
    with archive:
        export_name = next(n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "export.xml")
        base = export_name.rsplit("/", 1)[0] + "/" if "/" in export_name else ""

        def open_member(relative: str) -> BinaryIO | None:
            try:
                return archive.open(base + relative.lstrip("/"))  # type: ignore[return-value]
            except KeyError:
                return None

        with archive.open(export_name) as stream:
            try:
                yield from parse_export(stream, open_member=open_member)  # type: ignore[arg-type]
            except zipfile.BadZipFile as exc:
                raise SourceDataError(
                    str(exc), code="zip_member_corrupt", name=export_name
                ) from exc
