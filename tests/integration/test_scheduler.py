"""A job missed while the NAS was off runs once at the next start; failures are recorded."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.jobs.registry import JobRegistry, JobSpec
from app.jobs.scheduler import Scheduler, missed_jobs, run_job
from app.models import ScheduledJobState


def _nightly(calls: list[str], name: str = "nightly") -> JobSpec:
    return JobSpec(
        name, "test job", lambda: calls.append(name), CronTrigger(hour=3, timezone="UTC")
    )


def _record_last_start(sessions, job_id: str, when: datetime) -> None:
    with sessions.begin() as session:
        session.merge(ScheduledJobState(job_id=job_id, last_started_at=when, last_status="ok"))


def test_missed_run_is_found_and_run_once_at_start(sessions):
    calls: list[str] = []
    jobs = JobRegistry()
    jobs.register(_nightly(calls))
    # Last ran three nights ago: several runs were missed; coalesced, it runs once.
    _record_last_start(sessions, "nightly", datetime.now(UTC) - timedelta(days=3))

    async def scenario():
        scheduler = Scheduler(jobs, sessions, "UTC")
        scheduler.start()
        for _ in range(100):
            if calls:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        next_run = scheduler.next_run("nightly")
        scheduler.shutdown()
        return next_run

    # Its own thread: Playwright's sync API may hold an event loop in the main thread.
    with ThreadPoolExecutor(1) as pool:
        next_run = pool.submit(asyncio.run, scenario()).result()
    assert calls == ["nightly"]
    assert next_run is not None and next_run > datetime.now(UTC)
    with sessions() as session:
        state = session.get(ScheduledJobState, "nightly")
        assert state.last_status == "ok" and state.last_finished_at is not None


def test_nothing_to_catch_up_when_never_run_or_recent(sessions):
    calls: list[str] = []
    jobs = JobRegistry()
    jobs.register(_nightly(calls, "never"))
    jobs.register(_nightly(calls, "recent"))
    now = datetime.now(UTC)
    last_fire = now.replace(hour=3, minute=0, second=0, microsecond=0)
    if last_fire > now:
        last_fire -= timedelta(days=1)
    _record_last_start(sessions, "recent", last_fire + timedelta(seconds=1))
    assert missed_jobs(jobs, sessions, now) == []


def test_failures_are_recorded_not_raised(sessions):
    def broken() -> None:
        raise RuntimeError("Garmin said no")

    spec = JobSpec("broken", "fails", broken, IntervalTrigger(hours=1))
    run_job(spec, sessions)
    with sessions() as session:
        state = session.get(ScheduledJobState, "broken")
        assert state.last_status == "failed"
        assert state.last_error == "RuntimeError: Garmin said no"


def test_registry_refuses_duplicate_ids():
    jobs = JobRegistry()
    jobs.register(_nightly([]))
    try:
        jobs.register(_nightly([]))
        raise AssertionError("duplicate accepted")
    except ValueError as error:
        assert "registered twice" in str(error)
