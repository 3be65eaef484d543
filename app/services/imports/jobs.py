"""Import jobs: originals are kept first, then each input is decoded and stored.

A job is a list of inputs (files already in the raw store). Archives (a ZIP of FIT files, the
Garmin export, the Strava export) grow child items, one per member, as they are read (the
Strava export: one per original activity file, plus one for the rows of its activities.csv
without a usable file). Each FIT file (all legs of a
multisport file together) or each wellness file is one transaction: a failure rolls back that
file only, is recorded with a reason the owner can read, and the job goes on. An Apple Health
export is one transaction for the whole file. A job cut short (the process killed, the NAS
rebooted) is picked up again by ``resume_unfinished``; what was stored is found again by its
source key and not stored twice.

FIT decoding runs in worker processes (``ProcessPoolExecutor``) a few files ahead of the
database writes, so on a two-core NAS one core decodes while PostgreSQL ingests. An Apple Health
export is parsed the same way in one lean child process (``app.sources.apple_health.worker``).

Size (~970 lines, over the ~500 of STYLE): one pipeline — claim, decode in workers, store,
grow an archive's children, resume — whose steps share the private ``_Context``, ``_Unit`` and
``_Claim`` and the per-file transaction rule above; cut apart, each piece would have to export
them. The seam for a later split is the archives (``_children`` … ``_strava_export_units``) and
Apple Health (``_process_apple_health``, ``_store_apple_health``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import multiprocessing
import os
import queue
import sys
import threading
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app import records
from app.config import Settings
from app.models import ImportItem, ImportJob, RawFile
from app.models.owner import get_owner
from app.services import raw_store
from app.services.imports import store
from app.sources import SourceDataError

if TYPE_CHECKING:
    from app.sources.archive import ArchiveLimits

log = logging.getLogger(__name__)

Progress = Callable[[ImportJob], None]
LOOKAHEAD_PER_WORKER = 8
"""Files handed to each decoder process ahead of the one being stored: enough that a run of
large files (a long ride decodes for ~0.1 s) does not leave the store waiting while the
decoder idles behind a full window (3 made the fixtures' import wait 0.6 s on decoding, 8
0.2 s). Bounded in bytes too (:data:`LOOKAHEAD_BYTES`)."""
LOOKAHEAD_BYTES = 64 * 1024 * 1024
"""FIT bytes in flight at most (held until stored, with what they decode to), whatever the
count: a folder of very large files keeps fewer ahead."""


class ImportInterrupted(Exception):
    """The job was asked to stop (the app pauses for a restore): it stopped after a whole file
    and stays queued; the files it stored are found again when it resumes."""


@dataclass
class _Unit:
    """One thing to store: a FIT payload to decode, or records already parsed."""

    name: str
    source: str
    data: bytes | None = None  # FIT bytes, decoded in a worker
    # Or a picklable call that returns the DecodedFile (a Strava export file), also in a worker.
    task: Callable[[], records.DecodedFile] | None = None
    decoded: records.DecodedFile | None = None
    error: SourceDataError | None = None
    raw: RawFile | None = None


@dataclass
class _Context:
    sessions: sessionmaker[Session]
    settings: Settings
    job_id: int
    zone: ZoneInfo
    pool: Executor
    lookahead: int
    progress: Progress | None
    next_position: int = 0
    reported_at: float = 0.0
    workers: int = 0
    interrupt: Callable[[], bool] = lambda: False
    children: dict[int, _Children] = field(default_factory=dict)  # by archive item id
    relaxed: bool = False  # the job's connection already commits without waiting (relax_commit)
    # sessions on connections of their own for storing units side by side (none: one by one)
    writers: list[sessionmaker[Session]] = field(default_factory=list)
    activity_ids: set[int] = field(default_factory=set)  # stored, for the metrics hook


class _InlineExecutor(Executor):
    """Decode in this process (tests, or ``DOMESTIQUE_IMPORT_WORKERS=0``)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


def _now() -> datetime:
    return datetime.now(UTC)


def looks_like_fit(head: bytes) -> bool:
    from app.sources.fit import looks_like_fit as check

    return check(head)


# --- creating jobs -----------------------------------------------------------------------


def create_job(session: Session, raws: list[RawFile], *, origin: str) -> ImportJob:
    job = ImportJob(origin=origin, status="queued", total=len(raws), done=0, summary={})
    session.add(job)
    session.flush()
    for position, raw in enumerate(raws):
        session.add(
            ImportItem(
                job_id=job.id,
                position=position,
                name=raw.original_name or raw.sha256[:12],
                raw_file_id=raw.id,
                status="pending",
            )
        )
    session.flush()
    return job


def create_upload_job(
    sessions: sessionmaker[Session], received: list[raw_store.IncomingFile]
) -> int:
    """Keep uploaded files (already streamed to ``.incoming``) and queue a job for them."""
    with sessions.begin() as session:
        raws = [incoming.keep(session) for incoming in received]
        return create_job(session, raws, origin="web").id


def files_under(paths: list[Path]) -> list[Path]:
    """Files named on the command line, folders walked recursively. Hidden names *below* a
    folder given (``.DS_Store``, ``.thumbnails/``) are skipped; the path as given is taken as is,
    so ``../exports``, ``./exports`` and ``~/.cache/exports`` all work."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found


# --- running jobs ------------------------------------------------------------------------


def _zone(session: Session, settings: Settings) -> ZoneInfo:
    owner = get_owner(session)
    return ZoneInfo(owner.timezone if owner else settings.timezone)


def _default_workers() -> int:
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def run_job(
    sessions: sessionmaker[Session],
    settings: Settings,
    job_id: int,
    *,
    progress: Progress | None = None,
    workers: int | None = None,
    interrupt: Callable[[], bool] | None = None,
) -> ImportJob:
    """Process every pending input of a job; returns the finished job. ``interrupt`` is asked
    after every stored file: when it says so, the job stops there and stays ``queued`` (no
    metrics yet: the next run computes them for every activity still without)."""
    with sessions.begin() as session:
        job = session.get_one(ImportJob, job_id)
        job.status, job.started_at, job.error = "running", job.started_at or _now(), None
        zone = _zone(session, settings)
        next_position = (
            session.execute(
                select(func.coalesce(func.max(ImportItem.position), -1)).where(
                    ImportItem.job_id == job_id
                )
            ).scalar_one()
            + 1
        )
    workers = settings.import_workers if workers is None else workers
    if workers < 0:
        workers = _default_workers()
    # forkserver: forking the app process (threads, database pool) could deadlock a child.
    pool: Executor = (
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
        if workers > 0
        else _InlineExecutor()
    )
    context = _Context(
        sessions=sessions,
        settings=settings,
        job_id=job_id,
        zone=zone,
        pool=pool,
        lookahead=max(1, workers) * LOOKAHEAD_PER_WORKER,
        progress=progress,
        next_position=next_position,
        workers=workers,
        interrupt=interrupt or (lambda: False),
    )
    try:
        with sessions() as session:
            inputs = (
                session.execute(
                    select(ImportItem)
                    .where(
                        ImportItem.job_id == job_id,
                        ImportItem.parent_id.is_(None),
                        ImportItem.status.in_(("pending", "running")),
                    )
                    .order_by(ImportItem.position)
                )
                .scalars()
                .all()
            )
            session.expunge_all()
        with contextlib.ExitStack() as connections:
            context.sessions = connections.enter_context(_one_connection(sessions))
            context.relaxed = context.sessions is not sessions
            if context.relaxed:  # on connections of their own: files are stored side by side
                context.writers = [
                    connections.enter_context(_one_connection(sessions))
                    for _ in range(STORE_WRITERS)
                ]
            _process_inputs(context, inputs)
        status, error = "done", None
    except ImportInterrupted:
        log.info("import job %s stopped between two files; it resumes later", job_id)
        status, error = "queued", None
    except Exception as exc:  # a bug or the database going away: the job says so
        log.exception("import job %s failed", job_id)
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    with sessions.begin() as session:
        job = session.get_one(ImportJob, job_id)
        job.status, job.error = status, error
        job.finished_at = _now() if status != "queued" else None
        job.summary = summarize(session, job_id)
        _count_progress(session, job)
    if status != "queued":
        # Imported here, not at the top (usually already, aside, by ``_load_metrics_aside``):
        # the metrics bring scipy (~40 MB), which an import of wellness files alone or of an
        # Apple Health export (its own parser process) never needs until now.
        from app.services import metrics

        metrics.after_import(sessions, context.activity_ids)
    return _load(sessions, job_id)


@contextlib.contextmanager
def _one_connection(sessions: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """Sessions on one connection held for the whole job, which commits without waiting for
    its WAL flush (``store.relax_commit``, for every transaction at once): a job writes a few
    transactions per file, and taking a pooled connection (with its liveness ping) and setting
    the commit mode for each would cost more than most of them. Sessions already bound to a
    connection (the tests') are used as they are."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, Engine):
        yield sessions
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("SET synchronous_commit = off")
        connection.commit()
        options = {key: value for key, value in sessions.kw.items() if key != "bind"}
        try:
            yield sessionmaker(bind=connection, **options)
        finally:
            if not connection.invalidated:
                connection.rollback()
                connection.exec_driver_sql("RESET synchronous_commit")
                connection.commit()


def _load(sessions: sessionmaker[Session], job_id: int) -> ImportJob:
    with sessions() as session:
        job = session.get_one(ImportJob, job_id)
        _ = job.items
        session.expunge_all()
        return job


def _count_progress(session: Session, job: ImportJob) -> None:
    total, done = session.execute(
        select(
            func.count(),
            func.count().filter(ImportItem.status != "pending"),
        ).where(ImportItem.job_id == job.id)
    ).one()
    # An archive counts as done when its members are; report members, not the archive.
    archives = session.execute(
        select(func.count(func.distinct(ImportItem.parent_id))).where(
            ImportItem.job_id == job.id, ImportItem.parent_id.is_not(None)
        )
    ).scalar_one()
    job.total, job.done = total - archives, min(done, total - archives)


REPORT_EVERY_S = 0.5


def _report(context: _Context, *, force: bool = False) -> None:
    """Refresh the job's counters and summary (at most every ``REPORT_EVERY_S``)."""
    now = time.monotonic()
    if not force and now - context.reported_at < REPORT_EVERY_S:
        return
    context.reported_at = now
    with context.sessions.begin() as session:
        job = session.get_one(ImportJob, context.job_id)
        _count_progress(session, job)
        job.summary = summarize(session, context.job_id)
        if context.progress is not None:
            context.progress(job)


_ITEMS = ImportItem.__table__
# Built once: the SET clause follows the keys of each execution's parameters.
_FINISH_ITEM = update(_ITEMS).where(_ITEMS.c.id == bindparam("item_id"))
_NEW_ITEM = insert(_ITEMS).returning(_ITEMS.c.id)


def _finish_item(session: Session, item: ImportItem, **values: Any) -> None:
    session.execute(_FINISH_ITEM, {"item_id": item.id, "finished_at": _now(), **values})


def _fail(
    context: _Context,
    item: ImportItem,
    error: SourceDataError,
    sessions: sessionmaker[Session] | None = None,
) -> None:
    log.info("import item %s failed: %s (%s)", item.name, error.code, error)
    with (sessions or context.sessions).begin() as session:
        _finish_item(
            session,
            item,
            status="failed",
            error_code=error.code,
            error_params=_jsonable(error.params),
        )


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, int | float | str | None) else str(v) for k, v in params.items()}


def _notices(notices: list[records.Notice]) -> list[dict[str, Any]]:
    return [{"code": n.code, "params": _jsonable(n.params)} for n in notices]


def _classify(path: Path) -> str:
    with path.open("rb") as stream:
        head = stream.read(4096)
    if looks_like_fit(head[:14]):
        return "fit"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return "zip"  # the archive reader reports the corruption precisely
        if any(name.startswith("DI_CONNECT/") for name in names):
            return "garmin_export"
        if any(name.rsplit("/", 1)[-1] == "export.xml" for name in names):
            return "apple_health"
        from app.sources.strava_export import export_prefix

        if export_prefix(names) is not None:
            return "strava_export"
        return "zip"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"<?xml", b"<!DOCTYPE", b"<HealthData")) and b"HealthData" in head:
        return "apple_health_xml"
    return "unknown"


def _input_units(context: _Context, inputs: list[ImportItem]) -> Iterator[tuple[ImportItem, _Unit]]:
    """Every input as decode units (FIT files, archive members); Apple Health exports and
    failures are handled on the way, as the stream reaches them."""
    for item in inputs:
        with context.sessions() as session:
            raw = session.get(RawFile, item.raw_file_id) if item.raw_file_id else None
            if raw is not None:
                session.expunge(raw)
        path = raw_store.raw_path(context.settings, raw) if raw is not None else None
        if raw is None or path is None or not path.exists():
            _fail(context, item, SourceDataError("original missing", code="raw_missing"))
            continue
        try:
            kind = _classify(path)
        except OSError as exc:
            _fail(context, item, SourceDataError(str(exc), code="unreadable"))
            continue
        if kind != raw.kind:
            with context.sessions.begin() as session:
                session.execute(update(RawFile).where(RawFile.id == raw.id).values(kind=kind))
        if kind == "fit":
            yield item, _Unit(name=item.name, source="fit", data=path.read_bytes(), raw=raw)
        elif kind in ("zip", "garmin_export", "strava_export"):
            try:
                if kind == "strava_export":
                    yield from _strava_export_units(context, item, path)
                else:
                    yield from _archive_units(context, item, path, kind)
            except SourceDataError as error:  # the archive itself is unreadable or hostile
                _fail(context, item, error)
        elif kind in ("apple_health", "apple_health_xml"):
            _process_apple_health(context, item, path, kind)
        else:
            _fail(context, item, SourceDataError("unknown format", code="unknown_format"))
        _report(context)


def _process_inputs(context: _Context, inputs: list[ImportItem]) -> None:
    """One pipeline over all inputs: workers decode a few files ahead of the writes."""
    owners: dict[int, ImportItem] = {}

    def units() -> Iterator[_Unit]:
        for item, unit in _input_units(context, inputs):
            owners[id(unit)] = item
            yield unit

    if not context.writers:
        for unit in _decoded(context, units()):
            _store_unit(context, context.sessions, owners.pop(id(unit)), unit)
            _report(context)
            if context.interrupt():
                raise ImportInterrupted
        return
    writers = _Writers(context.writers)
    try:
        for unit in _decoded(context, units()):
            item = owners.pop(id(unit))
            writers.submit(
                functools.partial(_store_unit, context, item=item, unit=unit),
                _claim(item, unit),
            )
            _report(context)
            if context.interrupt():  # the units in flight are finished first
                raise ImportInterrupted
    finally:
        writers.finish()


STORE_WRITERS = 2
"""Units stored at once, each on a connection of its own: while one waits for the database (a
COPY of samples, a commit), another runs its Python. Units that could touch the same rows are
never stored at once (``_Claim``)."""


@dataclass(frozen=True)
class _Claim:
    """What storing a unit may read or write that another unit's storing may too: its
    activities' source keys, and the time around each activity within which another recording
    is taken for the same activity (``store.MATCH_WINDOW`` around it, and any overlap for the
    summary-only match). Daily wellness rows are locked by the database in day order."""

    keys: frozenset[tuple[str, str]]
    spans: tuple[tuple[float, float], ...]

    def conflicts(self, other: _Claim) -> bool:
        if self.keys & other.keys:
            return True
        return any(
            lo <= other_hi and other_lo <= hi
            for lo, hi in self.spans
            for other_lo, other_hi in other.spans
        )


def _claim(item: ImportItem, unit: _Unit) -> _Claim:
    if unit.decoded is None:  # a file that failed to decode: only its item is written
        return _Claim(keys=frozenset(), spans=())
    activities = unit.decoded.activities
    margin = store.MATCH_WINDOW.total_seconds()
    spans = []
    for activity in activities:
        start = activity.start.timestamp()
        length = max(float(activity.elapsed_s or 0.0), 60.0)
        spans.append((start - margin, start + length + margin))
    keys = frozenset(
        (activity.source, key)
        for activity, key in zip(activities, _source_keys(item, unit), strict=True)
    )
    return _Claim(keys=keys, spans=tuple(spans))


class _Writers:
    """Stores units on a few connections at once, in threads (the database work releases the
    GIL). A unit waits for every unit in flight that its ``_Claim`` conflicts with, so what it
    reads is what storing them one by one would have left; a failure of the storing itself
    (the database gone) is raised here."""

    def __init__(self, sessions: list[sessionmaker[Session]]) -> None:
        self._free: queue.SimpleQueue[sessionmaker[Session]] = queue.SimpleQueue()
        for factory in sessions:
            self._free.put(factory)
        self._size = len(sessions)
        self._pool = ThreadPoolExecutor(self._size, thread_name_prefix="import-store")
        self._flight: list[tuple[Future, _Claim]] = []

    def _run(self, store: Callable[[sessionmaker[Session]], None]) -> None:
        sessions = self._free.get()
        try:
            store(sessions)
        finally:
            self._free.put(sessions)

    def _settle(self) -> None:
        done = [future for future, _claim in self._flight if future.done()]
        self._flight = [(f, c) for f, c in self._flight if not f.done()]
        for future in done:
            future.result()

    def submit(self, store: Callable[[sessionmaker[Session]], None], claim: _Claim) -> None:
        for future, other in list(self._flight):
            if claim.conflicts(other):
                future.result()
        self._settle()
        while len(self._flight) >= self._size:
            wait([future for future, _claim in self._flight], return_when=FIRST_COMPLETED)
            self._settle()
        self._flight.append((self._pool.submit(self._run, store), claim))

    def finish(self) -> None:
        try:
            for future, _claim in self._flight:
                future.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _decoded(context: _Context, units: Iterator[_Unit]) -> Iterator[_Unit]:
    """Decode FIT payloads in the pool, ``lookahead`` ahead, results in input order."""
    window: deque[tuple[_Unit, Future | None]] = deque()

    def settle(unit: _Unit, future: Future | None) -> _Unit:
        if future is not None:
            try:
                unit.decoded = future.result()
            except SourceDataError as error:
                unit.error = error
            unit.data = unit.task = None
        return unit

    # Submitted as itself, not through a function of this module: a worker unpickles a task by
    # importing its module, and this one brings the database and the metrics (scipy) along.
    from app.sources.fit import decode_fit

    in_flight = 0  # FIT bytes in the window
    for unit in units:
        future = None
        if context.workers > 0 and (unit.task is not None or unit.data is not None):
            _load_metrics_aside()
        if unit.task is not None:
            future = context.pool.submit(unit.task)
        elif unit.data is not None:
            future = context.pool.submit(decode_fit, unit.data, source=unit.source)
            in_flight += len(unit.data)
        window.append((unit, future))
        while window and (len(window) >= context.lookahead or in_flight > LOOKAHEAD_BYTES):
            in_flight -= len(window[0][0].data or b"")
            yield settle(*window.popleft())
    while window:
        yield settle(*window.popleft())


def _load_metrics_aside() -> None:
    """Import the metrics code (numpy, scipy: ~0.3 s and ~40 MB in a fresh process) in a
    thread, once, when the first file goes to the decoder processes: the metrics pass after the
    files needs it, and while the first files decode this process mostly waits. A fresh
    process (``domestique import``) gains the time; in the server it is already imported."""
    if "app.services.metrics" in sys.modules or _METRICS_LOADER:
        return
    loader = threading.Thread(
        target=importlib.import_module,
        args=("app.services.metrics",),
        name="import-metrics-code",
        daemon=True,
    )
    _METRICS_LOADER.append(loader)
    loader.start()


_METRICS_LOADER: list[threading.Thread] = []


def _source_keys(item: ImportItem, unit: _Unit) -> list[str]:
    """Each activity's key within its source: the source's own id, else ``<sha256>:<leg>``."""
    assert unit.decoded is not None
    sha = unit.raw.sha256 if unit.raw else f"item{item.id}"
    return [
        activity.external_id or f"{sha}:{activity.multisport_index or 0}"
        for activity in unit.decoded.activities
    ]


def _store_unit(
    context: _Context, sessions: sessionmaker[Session], item: ImportItem, unit: _Unit
) -> None:
    """Store one decoded unit in one transaction and record the outcome on ``item``."""
    if unit.error is not None:
        _fail(context, item, unit.error, sessions)
        return
    decoded = unit.decoded
    assert decoded is not None
    notices = _notices(decoded.notices)
    if not decoded.activities and not decoded.wellness and not decoded.health:
        with sessions.begin() as session:
            _finish_item(
                session,
                item,
                status="skipped",
                error_code="not_activity",
                error_params={"kind": decoded.kind},
                notices=notices,
                raw_file_id=unit.raw.id if unit.raw else item.raw_file_id,
            )
        return
    keys = _source_keys(item, unit)
    try:
        with sessions.begin() as session:
            if not context.relaxed:
                store.relax_commit(session)
            result = store.store_activities(
                session,
                decoded.activities,
                source_keys=keys,
                raw_file_id=unit.raw.id if unit.raw else None,
                zone=context.zone,
            )
            days = store.merge_wellness(session, decoded.wellness)
            health = sum(store.store_health(session, series) for series in decoded.health)
            added = result.added or days or health
            _finish_item(
                session,
                item,
                status="ok" if added else "duplicate",
                activities_added=result.added,
                activities_duplicate=result.duplicate,
                samples=result.samples,
                wellness_days=len(days),
                wellness_dates=[day.isoformat() for day in days],
                health_samples=health,
                notices=notices,
                raw_file_id=unit.raw.id if unit.raw else item.raw_file_id,
            )
        context.activity_ids.update(result.activity_ids)
    except SourceDataError as error:
        _fail(context, item, error, sessions)
    except Exception as exc:  # a bug must cost one file, not the job
        log.exception("storing %s failed", item.name)
        _fail(
            context,
            item,
            SourceDataError(str(exc), code="internal", error=type(exc).__name__),
            sessions,
        )


@dataclass
class _Children:
    """An archive's child items from earlier runs: the names they finished, and the ids of
    those left pending (a run cut short)."""

    done: set[str]
    pending: dict[str, int]


def _children(context: _Context, parent: ImportItem) -> _Children:
    known = context.children.get(parent.id)
    if known is None:
        with context.sessions() as session:
            rows = session.execute(
                select(ImportItem.name, ImportItem.id, ImportItem.status).where(
                    ImportItem.parent_id == parent.id
                )
            ).all()
        known = _Children(
            done={name for name, _id, status in rows if status != "pending"},
            pending={name: ident for name, ident, status in rows if status == "pending"},
        )
        context.children[parent.id] = known
    return known


def _child(
    context: _Context,
    parent: ImportItem,
    name: str,
    keep: Callable[[Session], RawFile] | None = None,
) -> tuple[ImportItem, RawFile | None] | None:
    """The child item for an archive member (new, or left pending by a run cut short) and, in
    the same transaction, what ``keep`` stores (the member's raw file); None when a previous run
    finished it. The item is a plain object (not in any session): only its fields are read."""
    children = _children(context, parent)
    if name in children.done:
        return None
    with context.sessions.begin() as session:
        ident = children.pending.pop(name, None)
        position = context.next_position
        if ident is None:
            ident = session.execute(
                _NEW_ITEM,
                {
                    "job_id": parent.job_id,
                    "position": position,
                    "parent_id": parent.id,
                    "name": name,
                    "status": "pending",
                },
            ).scalar_one()
            context.next_position += 1
        raw = keep(session) if keep is not None else None
        if raw is not None:
            session.expunge(raw)
    child = ImportItem(id=ident, job_id=parent.job_id, parent_id=parent.id, name=name)
    return child, raw


def _archive_units(
    context: _Context, parent: ImportItem, path: Path, kind: str
) -> Iterator[tuple[ImportItem, _Unit]]:
    from app.sources.archive import Member, iter_members
    from app.sources.garmin_export import (
        ActivitySummaries,
        FitMember,
        WellnessBatch,
        iter_export,
    )

    limits = _limits(context)
    source = "garmin_export" if kind == "garmin_export" else "fit"
    if kind == "garmin_export":
        entries: Iterator[Any] = iter_export(path, limits=limits)
    else:
        entries = iter_members(path, limits=limits)
    notices: list[records.Notice] = []
    for entry in entries:
        if isinstance(entry, records.Notice):
            notices.append(entry)
            continue
        if isinstance(entry, FitMember | Member):
            name = entry.name
            data = entry.data if isinstance(entry, FitMember) else None
            if data is None:
                with entry.open() as stream:
                    head = stream.read(14)
                if not looks_like_fit(head):
                    notices.append(records.Notice("archive_skipped", {"name": name}))
                    continue
                data = entry.read()
            made = _child(
                context,
                parent,
                name,
                functools.partial(
                    raw_store.store_bytes,
                    settings=context.settings,
                    data=data,
                    original_name=name.rsplit("/", 1)[-1],
                    kind="fit",
                ),
            )
            if made is None:
                continue
            child, raw = made
            yield child, _Unit(name=name, source=source, data=data, raw=raw)
        elif isinstance(entry, WellnessBatch | ActivitySummaries):
            decoded = (
                records.DecodedFile(kind="wellness", wellness=entry.days)
                if isinstance(entry, WellnessBatch)
                else records.DecodedFile(kind="summaries", activities=entry.activities)
            )
            made = _child(context, parent, entry.name)
            if made is not None:
                yield made[0], _Unit(name=entry.name, source=source, decoded=decoded)
    with context.sessions.begin() as session:
        _finish_item(session, parent, status="ok", notices=_notices(notices))


def _limits(context: _Context) -> ArchiveLimits:
    from app.sources.archive import ArchiveLimits

    return ArchiveLimits(max_total_bytes=context.settings.import_max_unpacked_gb * 1024**3)


def _strava_export_units(
    context: _Context, parent: ImportItem, path: Path
) -> Iterator[tuple[ImportItem, _Unit]]:
    """The Strava export: each original file is one child (decoded in a worker, kept in the raw
    store), the rows of activities.csv without a usable file one more."""
    from app.sources.strava_export import (
        SOURCE,
        ActivityFile,
        decode_activity_file,
        iter_export,
    )

    notices: list[records.Notice] = []
    for entry in iter_export(path, limits=_limits(context)):
        if isinstance(entry, records.Notice):
            notices.append(entry)
            continue
        keep = None
        if isinstance(entry, ActivityFile):
            keep = functools.partial(
                raw_store.store_bytes,
                settings=context.settings,
                data=entry.data,
                original_name=entry.name.rsplit("/", 1)[-1].removesuffix(".gz"),
                kind=entry.format,
            )
        made = _child(context, parent, entry.name, keep)
        if made is None:
            continue
        child, raw = made
        if isinstance(entry, ActivityFile):
            task = functools.partial(decode_activity_file, entry)
            yield child, _Unit(name=entry.name, source=SOURCE, task=task, raw=raw)
        else:
            decoded = records.DecodedFile(
                kind="summaries", activities=entry.activities, notices=entry.notices
            )
            yield child, _Unit(name=entry.name, source=SOURCE, decoded=decoded)
    with context.sessions.begin() as session:
        _finish_item(session, parent, status="ok", notices=_notices(notices))


def _process_apple_health(context: _Context, item: ImportItem, path: Path, kind: str) -> None:
    from app.sources.apple_health.parser import parse_export_file
    from app.sources.apple_health.worker import parse_in_child

    # With workers the parse runs in a lean child process while this one stores.
    read = parse_in_child if context.workers > 0 else parse_export_file
    entries = read(path, zipped=kind == "apple_health")
    try:
        with context.sessions.begin() as session:
            store.relax_commit(session)
            counts = _store_apple_health(context, session, entries)
            _finish_item(session, item, **counts)
    except SourceDataError as error:
        _fail(context, item, error)
    finally:
        close = getattr(entries, "close", None)
        if close is not None:
            close()


def _store_apple_health(
    context: _Context, session: Session, entries: Iterator[Any]
) -> dict[str, Any]:
    added = duplicate = samples = health = 0
    days: list[records.DailyWellness] = []
    notices: list[records.Notice] = []
    for entry in entries:
        if isinstance(entry, records.Activity):
            key = entry.external_id or entry.start.isoformat()
            result = store.store_activities(
                session, [entry], source_keys=[key], raw_file_id=None, zone=context.zone
            )
            added, duplicate, samples = (
                added + result.added,
                duplicate + result.duplicate,
                samples + result.samples,
            )
            context.activity_ids.update(result.activity_ids)
        elif isinstance(entry, records.HealthSeries):
            health += store.store_health(session, entry)
        elif isinstance(entry, records.DailyWellness):
            days.append(entry)
        elif isinstance(entry, records.Notice):
            notices.append(entry)
    touched = store.merge_wellness(session, days)
    return {
        "status": "ok" if (added or health or touched) else "duplicate",
        "activities_added": added,
        "activities_duplicate": duplicate,
        "samples": samples,
        "health_samples": health,
        "wellness_days": len(touched),
        "wellness_dates": [day.isoformat() for day in touched],
        "notices": _notices(notices),
    }


# --- reading jobs ------------------------------------------------------------------------


# The counts of a finished job's summary, in the order a report lists them.
SUMMARY_KEYS = (
    "activities_added",
    "activities_duplicate",
    "wellness_days",
    "samples",
    "health_samples",
    "files_failed",
    "files_skipped",
    "files_duplicate",
)


def summarize(session: Session, job_id: int) -> dict[str, int]:
    row = session.execute(
        select(
            func.coalesce(func.sum(ImportItem.activities_added), 0),
            func.coalesce(func.sum(ImportItem.activities_duplicate), 0),
            func.coalesce(func.sum(ImportItem.wellness_days), 0),  # replaced below
            func.coalesce(func.sum(ImportItem.samples), 0),
            func.coalesce(func.sum(ImportItem.health_samples), 0),
            func.count().filter(ImportItem.status == "failed"),
            func.count().filter(ImportItem.status == "skipped"),
            func.count().filter(ImportItem.status == "duplicate"),
        ).where(ImportItem.job_id == job_id)
    ).one()
    summary = {key: int(value) for key, value in zip(SUMMARY_KEYS, row, strict=True)}
    # Distinct days: one day is usually touched by several files (sleep, daily summary, HRV).
    summary["wellness_days"] = int(
        session.execute(
            select(func.count(func.distinct(text("day")))).select_from(
                select(func.jsonb_array_elements_text(ImportItem.wellness_dates).label("day"))
                .where(ImportItem.job_id == job_id)
                .subquery()
            )
        ).scalar_one()
    )
    return summary


def get_job(session: Session, job_id: int) -> ImportJob | None:
    return session.get(ImportJob, job_id)


def recent_jobs(session: Session, limit: int = 10) -> list[ImportJob]:
    return list(
        session.execute(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)).scalars()
    )


def unfinished_jobs(session: Session) -> list[int]:
    return list(
        session.execute(
            select(ImportJob.id)
            .where(ImportJob.status.in_(("queued", "running")))
            .order_by(ImportJob.id)
        ).scalars()
    )


def keep_paths(
    sessions: sessionmaker[Session], settings: Settings, paths: list[Path]
) -> list[RawFile]:
    """Copy files (folders walked) into the raw store, one transaction each."""
    kept: list[RawFile] = []
    for path in files_under(paths):
        with sessions.begin() as session, path.open("rb") as stream:
            raw = raw_store.store_stream(session, settings, stream, original_name=path.name)
            session.expunge(raw)
        kept.append(raw)
    return kept


def resume_unfinished(
    sessions: sessionmaker[Session], settings: Settings, *, workers: int | None = None
) -> list[int]:
    """Finish jobs a stopped process left queued or running; returns their ids."""
    with sessions() as session:
        job_ids = unfinished_jobs(session)
    for job_id in job_ids:
        log.info("resuming import job %s", job_id)
        run_job(sessions, settings, job_id, workers=workers)
    return job_ids
