"""The one background-work runner: syncs and sign-ins (MFA included), Strava uploads, recomputes,
backups, restores, the library's re-embedding and the coach's answers to the Plan page's
questions run on one thread in the app; syncs share one
entry point with the nightly job, "Sync now" and `domestique sync`.

- ``sync_source`` is the one way a sync runs. It takes the source's advisory lock first, so only
  one sync of a source runs at a time across the app and the command line; a run a killed
  process left ``running`` is marked ``interrupted`` under that lock.
- ``WorkRunner`` serializes work on a thread (sign-ins are slow: the library pauses seconds
  between steps), de-duplicates queued requests, stops long backfills between items on shutdown,
  and at start-up resumes a backfill a stopped process left unfinished.
- It also runs backups and the in-app restore. While the app's maintenance lasts (a restore),
  a sync or upload pass in flight stops between two items and other queued work is held back
  until it ends; then the runner picks up what the database says is left, as at start-up.
- Every run it takes is recorded in ``work_run`` (``app.services.work.runs``): queued, started,
  finished, how it ended and a small result; at start-up the runs a killed process left queued
  or running are marked ``interrupted``. A sync's own row (``sync_run``) is the detail of its
  record (``work_run_id``). The Settings page reads the last backup and restore from there,
  the Connections page each source's syncs (``app.services.sync.status``).

Size (~700 lines): the queue, its timers, the maintenance hooks and the record of each run
belong to one thread's bookkeeping. The seam for a later split is the sync entry point
(``sync_source`` … ``connected_sources``), which belongs with ``app.services.sync``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.locks import try_advisory_lock
from app.models import Connection, StravaUpload, SyncRun
from app.security.keys import SecretBox
from app.services.sync import connections, linking
from app.services.sync.adapters import SyncSource
from app.services.sync.connections import ClientContext
from app.services.sync.engine import Clock, Syncer, SystemClock, auth_code, linkable
from app.services.sync.protocol import SyncProtocol
from app.services.work import runs
from app.services.work.maintenance import Maintenance, restore_in_place
from app.sources import SourceAuthError, SourceError, SourceRateLimited

log = logging.getLogger(__name__)


class SyncBusy(Exception):
    """Another sync of this source is running (in this process or another)."""

    code = "sync_busy"


def sync_source(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    source: SyncSource,
    mode: str = "auto",
    *,
    clock: Clock | None = None,
    progress: Callable[[SyncRun], None] | None = None,
    interrupt: Callable[[], str | None] | None = None,
    work_run_id: uuid.UUID | None = None,
) -> SyncRun:
    """Sync one connected source. Raises ``SyncBusy`` or ``SourceAuthError`` (not connected).
    ``work_run_id``: the runner's record of this run, which the sync's row details."""
    clock = clock or SystemClock()
    with try_advisory_lock(sessions, f"sync:{source.name}") as held:
        if not held:
            raise SyncBusy(source.name)
        with sessions.begin() as session:
            session.execute(
                update(SyncRun)
                .where(SyncRun.source == source.name, SyncRun.status == "running")
                .values(status="interrupted", finished_at=clock.now())
            )
            tokens = connections.load_tokens(session, box, source.name)
            connection = connections.get_connection(session, source.name)
            if connection.status != "connected" or tokens is None:
                raise SourceAuthError(f"{source.name} is not connected")
        try:
            api = source.client(ClientContext(tokens, sessions, box))
        except SourceAuthError as error:
            with sessions.begin() as session:
                connections.mark_needs_reconnect(session, source.name, auth_code(error))
            raise
        except SourceError as error:  # the token refresh met a 429 or an outage: say so
            return _refused_run(sessions, source.name, mode, clock, error, work_run_id)
        syncer = Syncer(
            sessions,
            settings,
            box,
            api,
            clock=clock,
            options=source.options,
            progress=progress,
            interrupt=interrupt,
            work_run_id=work_run_id,
        )
        try:
            return syncer.run(mode)
        finally:
            _keep_usage(sessions, source.name, api)
            api.close()


def _keep_usage(sessions: sessionmaker[Session], name: str, api: SyncProtocol) -> None:
    """Remember the service's last rate-limit counters (Strava) for the Connections page."""
    figures = api.usage()
    if figures is None:
        return
    with sessions.begin() as session:
        connection = connections.get_connection(session, name)
        connection.options = {**(connection.options or {}), "api_usage": figures}


def _refused_run(
    sessions: sessionmaker[Session],
    name: str,
    mode: str,
    clock: Clock,
    error: SourceError,
    work_run_id: uuid.UUID | None = None,
) -> SyncRun:
    """A run that could not start (the token refresh failed): recorded, so the page says why."""
    now = clock.now()
    limited = isinstance(error, SourceRateLimited)
    with sessions.begin() as session:
        row = SyncRun(
            source=name,
            work_run_id=linkable(session, work_run_id),
            mode=mode,
            status="cooling_down" if limited else "failed",
            error_code="rate_limited"
            if limited
            else getattr(error, "code", None) or "source_unavailable",
            started_at=now,
            finished_at=now,
        )
        session.add(row)
        if limited:
            connection = connections.get_connection(session, name)
            wait = error.retry_after if error.retry_after is not None else 900.0
            connection.cooldown_until = now + timedelta(seconds=wait)
            connection.last_error_code = "rate_limited"
        session.flush()
        session.expunge(row)
    log.warning("%s sync could not start: %s", name, type(error).__name__)
    return row


def connected_sources(
    sessions: sessionmaker[Session], sources: dict[str, SyncSource]
) -> list[SyncSource]:
    """The connected ones, in the order of ``sources`` (Garmin first: the watch's own files are
    stored before Strava's copies of them arrive, which are then only linked)."""
    with sessions() as session:
        names = set(
            session.execute(
                select(Connection.source).where(Connection.status == "connected")
            ).scalars()
        )
    return [source for name, source in sources.items() if name in names]


#: The most a run's recorded result may take (JSON characters); a bigger one is left out.
RESULT_MAX_CHARS = 4000


@dataclass
class _Run:
    """One run's record (``work_run``), kept beside its task."""

    kind: str
    parameters: dict[str, Any]
    queued_at: datetime
    id: uuid.UUID = field(default_factory=runs.new_id)
    started_at: datetime | None = None


@dataclass
class _Task:
    key: tuple[str, ...]
    work: Callable[[], object]
    done: Future
    run: _Run
    maintenance: bool = False  # the maintenance itself: runs while other work is held back
    summary: Callable[[object], dict[str, Any]] | None = None  # the result to record


def _error_outcome(error: BaseException) -> runs.Outcome:
    code = getattr(error, "code", None)
    params = getattr(error, "params", None)
    if not isinstance(code, str):
        return runs.Outcome("failed", {}, "internal", {"error": type(error).__name__})
    return runs.Outcome("failed", {}, code, _jsonable(params) if isinstance(params, dict) else {})


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` when it is small JSON, else nothing (a result is a summary, never a payload)."""
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        return {}
    return json.loads(text) if len(text) <= RESULT_MAX_CHARS else {}


def outcome_of(
    value: object, summary: Callable[[object], dict[str, Any]] | None = None
) -> runs.Outcome:
    """How a piece of work ended, for the record: an exception (raised or returned) failed; a
    sync run that failed failed with its code; anything else is done with a small result."""
    if isinstance(value, BaseException):
        return _error_outcome(value)
    if isinstance(value, SyncRun):
        result = {"run": value.id, "status": value.status, "counts": value.counts or {}}
        if value.status == "failed":
            return runs.Outcome("failed", _jsonable(result), value.error_code or "internal", {})
        return runs.Outcome("done", _jsonable(result))
    if summary is not None:
        return runs.Outcome("done", _jsonable(summary(value)))
    if isinstance(value, dict):
        return runs.Outcome("done", _jsonable(value))
    if isinstance(value, str):
        return runs.Outcome("done", {"outcome": value})
    return runs.Outcome("done", {})


def _restore_summary(result: object) -> dict[str, Any]:
    return {
        "before": result.before,  # type: ignore[attr-defined]
        "after": result.after,  # type: ignore[attr-defined]
        "safety": result.safety_backup.name if result.safety_backup else None,  # type: ignore[attr-defined]
        "warnings": list(result.warnings),  # type: ignore[attr-defined]
    }


class Morning(StrEnum):
    """What the morning decision's job did (:meth:`WorkRunner.run_morning`)."""

    DECIDED = "decided"
    AFTER_SYNC = "after_sync"  # the nightly sync decides once it has ended
    ALREADY = "already"  # today has its stored run
    NOT_WANTED = "not_wanted"  # no active mission, or no model
    FAILED = "failed"  # an unexpected error, logged


class WorkRunner:
    """Every piece of background work the app does, one at a time, each recorded in
    ``work_run``."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        box: SecretBox,
        sources: dict[str, SyncSource],
        *,
        clock: Clock | None = None,
        maintenance: Maintenance | None = None,
    ) -> None:
        self.sessions, self.settings, self.box, self.sources = sessions, settings, box, sources
        self.clock = clock or SystemClock()
        self.maintenance = maintenance or Maintenance()
        self._queue: queue.Queue[_Task | None] = queue.Queue()
        self._pending: dict[tuple[str, ...], Future] = {}
        self._held: list[_Task] = []  # queued while the maintenance lasts
        self._tasks: dict[tuple[str, ...], _Task] = {}  # queued or running, by key
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._current: _Task | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._timers: dict[tuple[str, ...], threading.Timer] = {}
        self.last_reembed: dict | None = None  # the library's re-embedding, live progress
        self.last_plan_draft: dict | None = None  # the plan being drafted, live progress
        self.last_mission_draft: dict | None = None  # the mission being drafted, its outcome
        self._nightly_running = False  # the nightly job is syncing (the morning waits for it)
        self._morning_waiting = False  # the morning decision came while it was

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> list[Future]:
        """Start the thread and pick up what the last process left: syncs cut short, runs whose
        rate-limit window has reset, uploads waiting. Returns the work queued at once."""
        # What the last process left: read before the thread starts using the database.
        left = self._left_work()
        self._thread = threading.Thread(target=self._work, name="sync", daemon=True)
        self._thread.start()
        return left()

    def _left_work(self) -> Callable[[], list[Future]]:
        """What the database says is unfinished (a stopped process, or a restored backup, left
        it): read now; the returned call queues it and returns the work queued at once."""
        interrupted = runs.interrupt_left(self.sessions, self.clock.now(), keep=self._live_runs())
        if interrupted:
            log.info("%d background run(s) left unfinished were marked interrupted", interrupted)
        from app.services.coach import ask  # a question left unanswered: the owner asks again

        ask.fail_interrupted(
            self.sessions, self.settings, now=self.clock.now(), keep=self._live_answers()
        )
        with self.sessions.begin() as session:  # a sign-in cut short
            session.execute(
                update(Connection)
                .where(Connection.login_state == "signing_in")
                .values(login_state="failed", last_error_code="sign_in_interrupted")
            )
        unfinished = self._unfinished()
        cooling = [
            (s.name, self._cooldown_until(s.name)) for s in self._last_status_is("cooling_down")
        ]
        uploads = self._uploads_waiting()

        def queue_it() -> list[Future]:
            queued = []
            for source in unfinished:
                log.info("%s sync was cut short; resuming it", source.name)
                queued.append(self.submit_sync(source.name))
            for name, until in cooling:  # the timer that would have resumed it is gone
                if (resumed := self._schedule_resume(name, until)) is not None:
                    queued.append(resumed)
            if uploads:
                queued.append(self.submit_uploads())
            return queued

        return queue_it

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        with self._lock:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def _unfinished(self) -> list[SyncSource]:
        """Connected sources whose last run did not end (killed) or was interrupted."""
        return self._last_status_is("running", "interrupted")

    def _uploads_waiting(self) -> bool:
        with self.sessions() as session:
            return bool(
                session.execute(
                    select(func.count()).where(StravaUpload.status.in_(("queued", "processing")))
                ).scalar_one()
            )

    def _last_status_is(self, *statuses: str) -> list[SyncSource]:
        out = []
        with self.sessions() as session:
            for source in connected_sources(self.sessions, self.sources):
                last = session.execute(
                    select(SyncRun.status)
                    .where(SyncRun.source == source.name)
                    .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
                    .limit(1)
                ).scalar()
                if last in statuses:
                    out.append(source)
        return out

    # --- requests ---------------------------------------------------------------------------

    def busy(self, source: str) -> bool:
        with self._lock:
            return any(key[1] == source for key in self._pending)

    def _live_runs(self) -> set[uuid.UUID]:
        """The runs this process has queued or is running (never marked interrupted)."""
        with self._lock:
            live = {task.run.id for task in self._held}
            live |= {task.run.id for task in self._tasks.values()}
        return live

    def _live_answers(self) -> set[int]:
        """The questions this process has queued answers for (never given up on)."""
        with self._lock:
            keys = [task.key for task in self._held] + list(self._tasks)
        return {int(key[1]) for key in keys if key[0] == "coach_answer"}

    def _submit(
        self,
        key: tuple[str, ...],
        work: Callable[[], object],
        *,
        parameters: dict[str, Any] | None = None,
        maintenance: bool = False,
        summary: Callable[[object], dict[str, Any]] | None = None,
        run: _Run | None = None,
    ) -> Future:
        with self._lock:
            if key in self._pending:
                return self._pending[key]
            future: Future = Future()
            self._pending[key] = future
            run = run or _Run(key[0], parameters or {}, self.clock.now())
            task = _Task(key, work, future, run, maintenance, summary)
            self._tasks[key] = task
        if maintenance or not self.maintenance.active:  # else recorded when it runs
            runs.queued(self.sessions, run.id, run.kind, run.parameters, run.queued_at)
        self._queue.put(task)
        return future

    def _run(self, task: _Task) -> object:
        """Run one task and record it (started, then how it ended)."""
        run = task.run
        run.started_at = self.clock.now()
        runs.started(self.sessions, run.id, run.kind, run.parameters, run.queued_at, run.started_at)
        try:
            outcome = task.work()
        except Exception as error:  # the last line of defence: record, never die
            log.exception("%s failed", "/".join(task.key))
            outcome = error
        self._record(run, outcome_of(outcome, task.summary))
        return outcome

    def _record(self, run: _Run, outcome: runs.Outcome) -> None:
        runs.finished(
            self.sessions,
            run.id,
            run.kind,
            run.parameters,
            run.queued_at,
            run.started_at or self.clock.now(),
            self.clock.now(),
            outcome,
        )

    def submit_sync(self, name: str, mode: str = "auto") -> Future:
        """Queue a sync (a second request for the same source while one waits is the same)."""
        source = self.sources[name]
        run = _Run("sync", {"source": name, "mode": mode}, self.clock.now())
        return self._submit(("sync", name), lambda: self._sync(source, mode, run.id), run=run)

    def sync_all(self) -> list[Future]:
        return [self.submit_sync(s.name) for s in connected_sources(self.sessions, self.sources)]

    def later(self, key: tuple[str, ...], seconds: float, work: Callable[[], object]) -> None:
        """Run ``work`` again after ``seconds`` (a rate-limit window resetting, an upload still
        processing) without holding a thread: one timer per key, the earliest kept."""
        if self._stopping.is_set():
            return
        delay = max(seconds, 1.0)
        due = time.monotonic() + delay
        with self._lock:
            known = self._timers.get(key)
            if known is not None and known.is_alive():
                if known.due <= due:  # type: ignore[attr-defined]
                    return
                known.cancel()  # the sooner one wins
            timer = threading.Timer(delay, self._fire, args=(key, work))
            timer.due = due  # type: ignore[attr-defined]
            timer.daemon = True
            self._timers[key] = timer
        timer.start()

    def _fire(self, key: tuple[str, ...], work: Callable[[], object]) -> None:
        with self._lock:
            self._timers.pop(key, None)
        if not self._stopping.is_set():
            work()

    def submit_uploads(self) -> Future:
        """Queue the activities Strava auto-upload covers and upload them, on this thread."""
        return self._submit(("uploads", "strava"), self._uploads, parameters={"service": "strava"})

    def run_nightly(self) -> None:
        """The nightly job: sync every connected source and wait (the job records the outcome);
        then pass over Strava uploads left waiting (a restart, a rate limit), follow the plan
        and bring Garmin in step. The morning decision runs at its own time
        (:meth:`run_morning`); it runs here, once the sync has ended, when it came while the
        sync was still running or is set before the sync's time."""
        with self._lock:
            self._nightly_running = True
        try:
            failed = [f for f in self.sync_all() if isinstance(f.result(), Exception)]
            self.submit_uploads()
            self.follow_plans()
            self.submit_garmin_push()
        finally:
            with self._lock:
                self._nightly_running = False
                waiting, self._morning_waiting = self._morning_waiting, False
            if waiting or self._decision_follows_sync():
                self.decide_today()
        if failed:
            raise RuntimeError(f"{len(failed)} source sync(s) failed")

    def _owner_times(self) -> tuple[str, str]:
        """The owner's morning decision and nightly sync times (HH:MM), defaults filled in."""
        from app.services.work.schedule import DEFAULT_MORNING_TIME, owner_times

        times = owner_times(self.sessions)
        morning = (times.morning_time if times else None) or DEFAULT_MORNING_TIME
        return morning, (times.sync_time if times else None) or self.settings.sync_time

    def _decision_follows_sync(self) -> bool:
        from app.services.work.schedule import decision_follows_sync

        return decision_follows_sync(*self._owner_times())

    def run_morning(self) -> Morning:
        """The morning decision's job (Settings → *Morning decision at*, and once at start-up
        when the NAS was off at that time): today's decision for the active mission, once a
        day. It waits for the nightly sync — while the sync runs, the sync decides when it has
        ended; a morning set before the sync's time leaves the decision to the sync. Returns
        what it did: ``decided``, ``after_sync`` (the sync decides), ``already`` (today is
        decided) or ``not_wanted`` (no active mission, or no model)."""
        if self._decision_follows_sync():
            return Morning.AFTER_SYNC
        with self._lock:
            if self._nightly_running:
                self._morning_waiting = True
                return Morning.AFTER_SYNC
        return self.decide_today()

    def follow_plans(self) -> None:
        """After the sync: match the plan's workouts to what was done (DONE / MISSED) and
        propose an adapted revision where the plan no longer fits. Never raises: the sync
        succeeded, and the next night (or the calendar, which matches on the fly) catches up."""
        from app.services.plans import adapting, follow

        try:
            follow.follow_up(self.sessions)
            adapting.propose_adaptations(self.sessions)
        except Exception:
            log.exception("following the plan after the sync failed; the next night tries again")

    def decide_today(self) -> Morning:
        """The morning's decision (after the sync and the plan's follow-up): the daily coach's
        decision for the active mission, once a day — a day already stored (decided or failed)
        is left alone; none without a mission or a language model. Never raises: a failed day
        is stored with its reason by the service itself."""
        from app.services.coach import day

        try:
            today = day.owner_day(self.sessions, self.clock.now())
            if not day.wanted_today(self.sessions, self.settings, self.box):
                return Morning.NOT_WANTED
            if day.decided_on(self.sessions, today):
                return Morning.ALREADY
            day.run_day(self.sessions, self.settings, self.box, today=today)
        except Exception:
            log.exception("the daily coach failed; the dashboard can ask again")
            return Morning.FAILED
        return Morning.DECIDED

    def submit_garmin_push(self) -> Future | None:
        """Bring Garmin Connect's workouts and calendar in step with the approved plan (after an
        approval, and each night), on this thread; a push a rate limit stopped is tried again
        after Garmin's wait. ``None`` when there is no Garmin source."""
        from app.services.plans import garmin_push
        from app.services.sync.connections import ClientContext

        source = self.sources.get("garmin")
        if source is None:
            return None

        def client_for(tokens: str) -> Any:
            return source.client(ClientContext(tokens, self.sessions, self.box)).client

        def work() -> dict[str, Any]:
            result = garmin_push.push(self.sessions, self.box, client_for)
            if result.stopped == "rate_limited":
                self.later(
                    ("garmin_push", "later"),
                    max(60.0, result.retry_after or 0.0),
                    self.submit_garmin_push,
                )
            return {
                "calls": result.calls,
                "stopped": result.stopped,
                "attention": len(result.attention),
            }

        return self._submit(("garmin_push", "garmin"), work)

    def submit_mission_draft(self, work: Callable[[], int]) -> Future:
        """Draft a mission with the language model on this thread: ``work()`` returns the
        stored mission's id; ``last_mission_draft`` says it runs, then how it ended."""

        def run() -> dict[str, Any]:
            self.last_mission_draft = {"status": "running"}
            try:
                mission_id = work()
            except Exception as error:
                log.warning("mission draft failed (%s)", type(error).__name__)
                self.last_mission_draft = {
                    "status": "failed",
                    "sentence": getattr(error, "sentence", None),
                }
                raise
            self.last_mission_draft = {"status": "done", "mission_id": mission_id}
            return {"mission_id": mission_id}

        return self._submit(("mission_draft", "draft"), run)

    def submit_wrap_up(self, mission_id: int) -> Future:
        """The coach's wrap-up of a completed mission, on this thread."""
        from app.services.missions import wrap_up

        def work() -> dict[str, Any]:
            written = wrap_up.write_wrap_up(self.sessions, self.settings, self.box, mission_id)
            return {"written": written is not None}

        return self._submit(("wrap_up", str(mission_id)), work, parameters={"mission": mission_id})

    def submit_coach_day(self) -> Future:
        """The daily coach's decision for today now (the dashboard's button), on this thread;
        the run's record says how it ended, the day's row what was decided."""
        from app.services.coach import day

        def work() -> dict[str, Any]:
            view = day.run_day(self.sessions, self.settings, self.box)
            return {"status": view.status}

        return self._submit(("coach_day", "today"), work)

    def deciding(self) -> bool:
        """Whether the daily coach is deciding now (queued or running)."""
        with self._lock:
            return ("coach_day", "today") in self._pending

    def submit_recompute(self, from_day: date | None) -> Future:
        """Recompute training metrics from ``from_day`` (all when None) on this thread, after
        whatever sync is running (the owner changed a threshold)."""
        from app.services import metrics

        return self._submit(
            ("recompute", "metrics"),
            lambda: metrics.recompute_all(self.sessions, from_day),
            parameters={"from": from_day.isoformat() if from_day else None},
            summary=lambda result: {},
        )

    def submit_recompute_changed(self, from_day: date) -> Future:
        """Recompute what changed from ``from_day`` on — the activities whose estimated
        thresholds moved, the days and the estimates (``metrics.recompute_changed``) — on this
        thread (the owner left an activity out of the estimates, or took it back)."""
        from app.services import metrics

        def work() -> object:
            with self.sessions.begin() as session:
                return metrics.recompute_changed(session, [], from_day)

        return self._submit(
            ("recompute", "from", from_day.isoformat()),
            work,
            parameters={"from": from_day.isoformat(), "changed": True},
            summary=lambda result: {},
        )

    def submit_backup(self) -> Future:
        """A backup now (Settings), on this thread so it never overlaps a sync's writes; its
        outcome is the run's record (``work_run``, kind ``backup``)."""
        from app.services.backups import run_nightly_backup

        def work() -> dict[str, Any]:
            written = run_nightly_backup(self.settings)
            return {"file": getattr(getattr(written, "path", None), "name", None)}

        return self._submit(("backup", "backup"), work)

    def submit_reembed(self, work: Callable[[Callable[[int, int], None]], int]) -> Future:
        """Embed the guideline library's chunks again (the embedding model changed, or an
        owner's document arrived) on this thread: ``work(progress)`` returns how many chunks it
        embedded; ``last_reembed`` says how far it is (``done`` of ``total``) for the page."""

        def progress(done: int, total: int) -> None:
            self.last_reembed = {"status": "running", "done": done, "total": total}

        def run() -> int:
            self.last_reembed = {"status": "running", "done": 0, "total": 0}
            try:
                embedded = work(progress)
            except Exception as error:
                log.warning("library: re-embedding failed (%s)", type(error).__name__)
                self.last_reembed = {**(self.last_reembed or {}), "status": "failed"}
                raise
            self.last_reembed = {"status": "done", "done": embedded, "total": embedded}
            return embedded

        return self._submit(("library", "reembed"), run, summary=lambda n: {"embedded": n})

    def submit_plan_draft(
        self,
        work: Callable[[Callable[[int, int], None]], Any],
        *,
        about: dict[str, Any] | None = None,
    ) -> Future:
        """Draft a plan with the language model on this thread: ``work(progress)`` returns the
        stored revision (``plan_id``, ``revision_id``); ``last_plan_draft`` says how far it is
        (``done`` of ``total`` mesocycles), then how it ended, for the Plan page — with
        ``about`` (e.g. the ``mission_id`` the plan is for, for the mission's page)."""
        about = dict(about or {})

        def progress(done: int, total: int) -> None:
            self.last_plan_draft = {**about, "status": "running", "done": done, "total": total}

        def run() -> dict[str, Any]:
            self.last_plan_draft = {**about, "status": "running", "done": 0, "total": 0}
            try:
                stored = work(progress)
            except Exception as error:
                log.warning("plan draft failed (%s)", getattr(error, "code", type(error).__name__))
                self.last_plan_draft = {
                    **(self.last_plan_draft or {}),
                    "status": "failed",
                    "sentence": getattr(error, "sentence", None),
                }
                raise
            result = {"plan_id": stored.plan_id, "revision_id": stored.revision_id}
            self.last_plan_draft = {**(self.last_plan_draft or {}), "status": "done", **result}
            return result

        return self._submit(("plan", "draft"), run)

    def submit_restore(self, path, *, accept_unverified: bool = False) -> Future:
        """Restore a backup (Settings) on this thread, in the app's maintenance: it begins now
        (``MaintenanceActive`` when one is under way), so a sync in flight stops between two
        items and nothing else starts until the restore has ended. The run's record (kind
        ``restore``) says how it went; it is written — into the restored database when the data
        was replaced — before the maintenance ends."""
        self.maintenance.begin("restore")
        run = _Run("restore", {"file": path.name}, self.clock.now())

        def record(result: object, error: BaseException | None) -> None:
            value = error if error is not None else result
            self._record(run, outcome_of(value, _restore_summary))

        def work() -> object:
            return restore_in_place(
                self.maintenance,
                self.settings,
                path,
                record=record,
                accept_unverified=accept_unverified,
            )

        return self._submit(
            ("restore", "backup"), work, maintenance=True, summary=_restore_summary, run=run
        )

    def submit_answer(self, message_id: int, work: Callable[[], object]) -> Future:
        """Answer a question the owner asked on the Plan page (kept pending by
        ``app.services.coach.ask``) on this thread; ``work`` keeps the reply."""

        def summary(answer: object) -> dict[str, Any]:
            failure = getattr(answer, "failure", None)
            return {"message": message_id, "failure": getattr(failure, "code", None)}

        return self._submit(
            ("coach_answer", str(message_id)),
            work,
            parameters={"message": message_id},
            summary=summary,
        )

    def submit_sign_in(self, name: str, email: str, password: str) -> Future:
        """Start a sign-in (``linking.begin_sign_in`` must have been called)."""
        source = self.sources[name]

        def work() -> str:
            outcome = linking.sign_in(
                self.sessions,
                self.box,
                name,
                source.login_client(),
                email,
                password,
                self.clock.now,
            )
            if outcome == "connected":
                self.submit_sync(name)
            return outcome

        return self._submit(("sign_in", name), work, parameters={"source": name})

    def submit_mfa(self, name: str, code: str) -> str:
        """Finish an MFA sign-in now (a couple of quick requests, inline: the page waits for the
        answer) and start the first sync. Recorded like queued work (kind ``mfa``; the code is
        never among its parameters): ``done`` when connected, else ``failed`` with the code the
        sign-in ended with (``mfa_rejected`` keeps the challenge for another try)."""
        source = self.sources[name]
        now = self.clock.now()
        run = _Run("mfa", {"source": name}, now, started_at=now)
        runs.started(self.sessions, run.id, run.kind, run.parameters, now, now)
        try:
            outcome = linking.submit_mfa_code(
                self.sessions, self.box, name, source.login_client(), code, self.clock.now
            )
        except Exception as error:
            self._record(run, outcome_of(error))
            raise
        if outcome == "connected":
            self._record(run, runs.Outcome("done", {"outcome": outcome}))
            self.submit_sync(name)
        else:
            self._record(run, runs.Outcome("failed", {"outcome": outcome}, outcome, {}))
        return outcome

    def _should_stop(self) -> bool:
        """Work in flight stops at its next clean point: the process is stopping, or the app's
        maintenance has begun."""
        return self._stopping.is_set() or self.maintenance.active

    # --- maintenance (app.services.work.maintenance) ---------------------------------------------

    def pause(self) -> None:
        """Nothing to do: a sync or upload pass in flight sees the maintenance and stops, and
        the thread holds back what it takes from the queue meanwhile."""

    def wait_paused(self) -> None:
        """Until the thread is idle or running the maintenance itself (the restore runs here)."""
        with self._idle:
            self._idle.wait_for(lambda: self._current is None or self._current.maintenance)

    def resume(self) -> None:
        """Queue what was held back, forget timers set for the data as it was, and pick up
        what the database says is left (as at start-up: it may be a restored database)."""
        left = self._left_work()
        with self._lock:
            held, self._held = self._held, []
            timers, self._timers = list(self._timers.values()), {}
        for timer in timers:
            timer.cancel()
        for task in held:
            self._queue.put(task)
        left()

    # --- the thread -------------------------------------------------------------------------

    def _sync(self, source: SyncSource, mode: str, run_id: uuid.UUID) -> SyncRun | Exception:
        try:
            run = sync_source(
                self.sessions,
                self.settings,
                self.box,
                source,
                mode,
                clock=self.clock,
                interrupt=lambda: "interrupted" if self._should_stop() else None,
                work_run_id=run_id,
            )
        except (SyncBusy, SourceAuthError) as error:
            log.info("%s sync not started: %s", source.name, type(error).__name__)
            return error
        if run.status == "cooling_down":
            self._resume_after_cooldown(source.name)
        if source.name != "strava" and run.counts.get("activities_added"):
            self.submit_uploads()
        return run

    def _cooldown_until(self, name: str):
        with self.sessions() as session:
            return connections.peek_connection(session, name).cooldown_until

    def _resume_after_cooldown(self, name: str) -> None:
        self._schedule_resume(name, self._cooldown_until(name))

    def _schedule_resume(self, name: str, until) -> Future | None:
        """A run stopped by a rate limit resumes by itself once the window resets (within a
        day; a longer wait is left to the nightly sync). Returns the sync when queued at once."""
        if until is None:
            return None
        wait = (until - self.clock.now()).total_seconds()
        if wait <= 0:
            return self.submit_sync(name)
        if wait <= 86400:
            self.later(("sync", name), wait + 5, lambda: self.submit_sync(name))
        return None

    def _uploads(self) -> dict[str, int] | None:
        from app.services.sync import strava_uploads

        with self.sessions.begin() as session:
            strava_uploads.queue_new(session)
        source = self.sources.get("strava")
        with self.sessions() as session:
            connection = connections.peek_connection(session, "strava")
            tokens = connections.load_tokens(session, self.box, "strava")
            pending = session.execute(
                select(func.count()).where(StravaUpload.status.in_(strava_uploads.ACTIVE))
            ).scalar_one()
        if (
            source is None
            or source.raw_client is None
            or connection.status != "connected"
            or tokens is None
            or not pending
        ):
            return None
        try:
            client = source.raw_client(ClientContext(tokens, self.sessions, self.box))
        except SourceAuthError as error:
            with self.sessions.begin() as session:
                connections.mark_needs_reconnect(session, "strava", auth_code(error))
            return None
        except SourceError:
            self.later(("uploads", "strava"), 900, self.submit_uploads)
            return None
        uploader = strava_uploads.Uploader(
            self.sessions,
            self.settings,
            client,
            now=self.clock.now,
            sleep=self.clock.sleep,
            stop=self._should_stop,
        )
        counts = uploader.process()
        if counts.get("rate_limited"):
            self.later(("uploads", "strava"), counts["retry_after_s"], self.submit_uploads)
        elif counts.get("pending"):
            self.later(("uploads", "strava"), 60, self.submit_uploads)
        return counts

    def _work(self) -> None:
        while (task := self._queue.get()) is not None:
            with self._lock:
                if self.maintenance.active and not task.maintenance:
                    self._held.append(task)  # queued again when the maintenance ends
                    continue
                self._current = task
            outcome = self._run(task)
            # No longer pending before anyone waiting on the result wakes: they see it idle.
            with self._lock:
                self._pending.pop(task.key, None)
                self._tasks.pop(task.key, None)
                self._current = None
                self._idle.notify_all()
            task.done.set_result(outcome)


class InlineWorkRunner(WorkRunner):
    """Does the work at once in the caller's thread (tests). Work for later is only recorded
    (``scheduled``: key and delay), never run by a timer."""

    scheduled: list[tuple[tuple[str, ...], float]]

    def later(self, key: tuple[str, ...], seconds: float, work: Callable[[], object]) -> None:
        if not hasattr(self, "scheduled"):
            self.scheduled = []
        self.scheduled.append((key, seconds))

    def start(self) -> list[Future]:
        return []

    def stop(self, timeout: float = 0.0) -> None:
        pass

    def resume(self) -> None:
        pass

    def _submit(
        self,
        key: tuple[str, ...],
        work: Callable[[], object],
        *,
        parameters: dict[str, Any] | None = None,
        maintenance: bool = False,
        summary: Callable[[object], dict[str, Any]] | None = None,
        run: _Run | None = None,
    ) -> Future:
        run = run or _Run(key[0], parameters or {}, self.clock.now())
        runs.queued(self.sessions, run.id, run.kind, run.parameters, run.queued_at)
        future: Future = Future()
        future.set_result(self._run(_Task(key, work, future, run, maintenance, summary)))
        return future


class QueuedWorkRunner(InlineWorkRunner):
    """Keeps the work queued until :meth:`run_queued` runs it in the caller's thread (tests:
    what the owner sees while it waits, then after)."""

    def _submit(
        self,
        key: tuple[str, ...],
        work: Callable[[], object],
        *,
        parameters: dict[str, Any] | None = None,
        maintenance: bool = False,
        summary: Callable[[object], dict[str, Any]] | None = None,
        run: _Run | None = None,
    ) -> Future:
        with self._lock:
            if key in self._tasks:
                return self._tasks[key].done
            run = run or _Run(key[0], parameters or {}, self.clock.now())
            task = _Task(key, work, Future(), run, maintenance, summary)
            self._tasks[key] = task
        runs.queued(self.sessions, run.id, run.kind, run.parameters, run.queued_at)
        return task.done

    def run_queued(self) -> int:
        """Run what is queued, oldest first; returns how many ran."""
        with self._lock:
            tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.done.set_result(self._run(task))
        return len(tasks)
