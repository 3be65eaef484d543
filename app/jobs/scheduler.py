"""The in-process APScheduler (one app worker, so every job runs once).

APScheduler's memory job store forgets a run that was due while the NAS was off; we remember
each job's last start in ``scheduled_job_state`` and, at start-up, run once any job whose trigger
fired between its last start and now (``coalesce``: many missed nights are one run).

Jobs at a time of day follow the owner's schedule (time zone, nightly times): ``apply_schedule``,
the one place it reaches the jobs, runs at start, after setup and after every change of the time
zone or a nightly time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.events import JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.jobs.registry import JobRegistry, JobSpec, Schedule
from app.services.work import schedule as schedule_state

log = logging.getLogger(__name__)

JOB_RUNS = Counter("domestique_job_runs_total", "Scheduled job runs", ["job", "status"])
JOB_SECONDS = Histogram("domestique_job_duration_seconds", "Scheduled job duration", ["job"])
MISFIRE_GRACE_SECONDS = 6 * 3600


def _now() -> datetime:
    return datetime.now(UTC)


def run_catch_ups(specs: list[JobSpec], sessions: sessionmaker[Session]) -> None:
    """The runs missed while the app was down, one after the other in the order the jobs were
    registered (the nightly sync before the morning decision that reads it)."""
    for spec in specs:
        run_job(spec, sessions)


def run_job(spec: JobSpec, sessions: sessionmaker[Session]) -> None:
    """Run one job and record its outcome. Failures are logged and recorded, never raised."""
    schedule_state.record_start(sessions, spec.id, _now())
    clock = time.perf_counter()
    status, error = "ok", None
    try:
        spec.func()
    except Exception as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        log.exception("job %s failed", spec.id)
    JOB_SECONDS.labels(spec.id).observe(time.perf_counter() - clock)
    JOB_RUNS.labels(spec.id, status).inc()
    schedule_state.record_finish(sessions, spec.id, _now(), status, error)


def owner_schedule(sessions: sessionmaker[Session], settings: Settings) -> Schedule:
    """The owner's time zone and sync time, else the defaults (no owner yet, or an unreadable
    database: the scheduler must start anyway)."""
    default = Schedule(
        settings.timezone,
        settings.sync_time,
        settings.backup_time,
        schedule_state.DEFAULT_MORNING_TIME,
    )
    try:
        times = schedule_state.owner_times(sessions)
        if times is None:
            return default
        return Schedule(
            times.timezone or settings.timezone,
            times.sync_time or settings.sync_time,
            settings.backup_time,
            times.morning_time or schedule_state.DEFAULT_MORNING_TIME,
        )
    except Exception:
        log.exception("could not read the owner's schedule; using the defaults")
        return default


def missed_jobs(
    jobs: JobRegistry, sessions: sessionmaker[Session], now: datetime, schedule: Schedule
) -> list[JobSpec]:
    """Jobs whose trigger fired after their last recorded start and before ``now``."""
    missed = []
    with sessions() as session:
        for spec in jobs:
            started = schedule_state.last_started(session, spec.id)
            if not spec.catch_up or started is None:
                continue  # never ran: a fresh install has nothing to catch up on
            due = spec.trigger_for(schedule).get_next_fire_time(None, started)
            if due is not None and due <= now:
                missed.append(spec)
    return missed


class Scheduler:
    def __init__(
        self,
        jobs: JobRegistry,
        sessions: sessionmaker[Session],
        schedule: Callable[[], Schedule],
    ) -> None:
        """``schedule`` reads the owner's schedule as it is now (``owner_schedule``)."""
        self.jobs = jobs
        self.sessions = sessions
        self._read_schedule = schedule
        self._applying = threading.Lock()  # read and apply as one step: the last read wins
        self.schedule: Schedule | None = None
        self._scheduler = AsyncIOScheduler(
            timezone="UTC",  # every trigger of a time of day carries the owner's zone
            job_defaults={
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
        )

    @property
    def running(self) -> bool:
        return self._scheduler.running

    def start(self) -> None:
        now = _now()
        schedule = self.apply_schedule()
        missed = missed_jobs(self.jobs, self.sessions, now, schedule)
        for spec in missed:
            log.info("job %s missed a run while the app was down; running it now", spec.id)
        if missed:
            self._scheduler.add_job(
                run_catch_ups, "date", run_date=now, args=(missed, self.sessions), id="catch-up"
            )
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def apply_schedule(self) -> Schedule:
        """The one place the owner's schedule reaches the jobs: read it, and add every job (at
        start) or move every job that follows it — the nightly sync and backup, and any job
        registered at a time of day — to its new next run. Called by ``start``, after setup and
        after every change of the time zone or a nightly time; thread-safe."""
        with self._applying:
            schedule = self._read_schedule()
            for spec in self.jobs:
                trigger = spec.trigger_for(schedule)
                if self._scheduler.get_job(spec.id) is None:
                    self._scheduler.add_job(
                        run_job,
                        trigger,
                        args=(spec, self.sessions),
                        id=spec.id,
                        name=spec.description,
                    )
                elif spec.follows_schedule:
                    self._scheduler.reschedule_job(spec.id, trigger=trigger)
            self.schedule = schedule
        return schedule

    def add_listener(self, callback: Callable[[JobEvent], None], mask: int) -> None:
        """APScheduler's job events (``EVENT_JOB_EXECUTED``…), e.g. to wait for a run."""
        self._scheduler.add_listener(callback, mask)

    # --- maintenance (app.services.work.maintenance) ---------------------------------------------

    @property
    def paused(self) -> bool:
        return self._scheduler.state == STATE_PAUSED

    def pause(self) -> None:
        """Start no job until ``resume``; a run that falls due meanwhile runs at resume (within
        the misfire grace time, coalesced)."""
        if self._scheduler.state == STATE_RUNNING:
            self._scheduler.pause()

    def wait_paused(self) -> None:
        """A job already running is not waited for: the nightly sync waits on the sync runner,
        which holds its work back until the maintenance ends (a backup running at that moment
        makes the restore say ``backup_busy``)."""

    def resume(self) -> None:
        if self._scheduler.state == STATE_PAUSED:
            self._scheduler.resume()

    def next_run(self, job_id: str) -> datetime | None:
        job = self._scheduler.get_job(job_id)
        return job.next_run_time if job else None
