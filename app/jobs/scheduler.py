"""The in-process APScheduler (one app worker, so every job runs once).

APScheduler's memory job store forgets a run that was due while the NAS was off; we remember
each job's last start in ``scheduled_job_state`` and, at start-up, run once any job whose trigger
fired between its last start and now (``coalesce``: many missed nights are one run).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session, sessionmaker

from app.jobs.registry import JobRegistry, JobSpec
from app.models import ScheduledJobState

log = logging.getLogger(__name__)

JOB_RUNS = Counter("domestique_job_runs_total", "Scheduled job runs", ["job", "status"])
JOB_SECONDS = Histogram("domestique_job_duration_seconds", "Scheduled job duration", ["job"])
MISFIRE_GRACE_SECONDS = 6 * 3600


def _now() -> datetime:
    return datetime.now(UTC)


def run_job(spec: JobSpec, sessions: sessionmaker[Session]) -> None:
    """Run one job and record its outcome. Failures are logged and recorded, never raised."""
    started = _now()
    with sessions.begin() as session:
        state = session.get(ScheduledJobState, spec.id) or ScheduledJobState(job_id=spec.id)
        state.last_started_at, state.last_status, state.last_error = started, "running", None
        session.add(state)
    clock = time.perf_counter()
    status, error = "ok", None
    try:
        spec.func()
    except Exception as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        log.exception("job %s failed", spec.id)
    JOB_SECONDS.labels(spec.id).observe(time.perf_counter() - clock)
    JOB_RUNS.labels(spec.id, status).inc()
    with sessions.begin() as session:
        state = session.get(ScheduledJobState, spec.id)
        if state is not None:
            state.last_finished_at, state.last_status, state.last_error = _now(), status, error


def missed_jobs(jobs: JobRegistry, sessions: sessionmaker[Session], now: datetime) -> list[JobSpec]:
    """Jobs whose trigger fired after their last recorded start and before ``now``."""
    missed = []
    with sessions() as session:
        for spec in jobs:
            state = session.get(ScheduledJobState, spec.id)
            if not spec.catch_up or state is None or state.last_started_at is None:
                continue  # never ran: a fresh install has nothing to catch up on
            due = spec.trigger.get_next_fire_time(None, state.last_started_at)
            if due is not None and due <= now:
                missed.append(spec)
    return missed


class Scheduler:
    def __init__(self, jobs: JobRegistry, sessions: sessionmaker[Session], timezone: str) -> None:
        self.jobs = jobs
        self.sessions = sessions
        self._scheduler = AsyncIOScheduler(
            timezone=timezone,
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
        for spec in self.jobs:
            self._scheduler.add_job(
                run_job, spec.trigger, args=(spec, self.sessions), id=spec.id, name=spec.description
            )
        for spec in missed_jobs(self.jobs, self.sessions, now):
            log.info("job %s missed a run while the app was down; running it now", spec.id)
            self._scheduler.add_job(
                run_job, "date", run_date=now, args=(spec, self.sessions), id=f"{spec.id}.catch-up"
            )
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def reschedule(self, job_id: str, trigger) -> None:
        """Move a job to a new trigger (the owner changed its time); unknown jobs are ignored."""
        if self._scheduler.get_job(job_id) is not None:
            self._scheduler.reschedule_job(job_id, trigger=trigger)

    def next_run(self, job_id: str) -> datetime | None:
        job = self._scheduler.get_job(job_id)
        return job.next_run_time if job else None
