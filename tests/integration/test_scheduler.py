"""A job missed while the NAS was off runs once at the next start; failures are recorded; jobs at
a time of day follow the owner's schedule."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from app.jobs.registry import JobRegistry, JobSpec, Schedule, daily_at
from app.jobs.scheduler import Scheduler, missed_jobs, run_job
from app.models import ScheduledJobState

UTC_SCHEDULE = Schedule("UTC", "04:30", "05:30")


def _nightly(calls: list[str], name: str = "nightly") -> JobSpec:
    return JobSpec(
        name, "test job", lambda: calls.append(name), lambda s: daily_at("03:00", s.timezone)
    )


def _record_last_start(sessions, job_id: str, when: datetime) -> None:
    with sessions.begin() as session:
        session.merge(ScheduledJobState(job_id=job_id, last_started_at=when, last_status="ok"))


def _in_own_loop(scenario):
    """Run an async scenario in its own thread: Playwright's sync API may hold an event loop in
    the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario()).result()


def test_missed_run_is_found_and_run_once_at_start(sessions):
    calls: list[str] = []
    jobs = JobRegistry()
    jobs.register(_nightly(calls))
    # Last ran three nights ago: several runs were missed; coalesced, it runs once.
    _record_last_start(sessions, "nightly", datetime.now(UTC) - timedelta(days=3))
    finished = threading.Event()  # set by APScheduler once run_job has recorded the outcome

    async def scenario():
        scheduler = Scheduler(jobs, sessions, lambda: UTC_SCHEDULE)
        scheduler.add_listener(lambda event: finished.set(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        scheduler.start()
        try:
            assert await asyncio.to_thread(finished.wait, 30)
            return scheduler.next_run("nightly")
        finally:
            scheduler.shutdown()

    next_run = _in_own_loop(scenario)
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
    assert missed_jobs(jobs, sessions, now, UTC_SCHEDULE) == []


def test_catch_up_counts_nights_in_the_owners_time_zone(sessions):
    """A job at 03:00 that ran at 03:00 in Seoul (18:00 UTC) has nothing to catch up at 19:00
    in Seoul, though 03:00 UTC has passed since."""
    jobs = JobRegistry()
    jobs.register(_nightly([]))
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 19:00 in Seoul
    _record_last_start(sessions, "nightly", datetime(2026, 3, 1, 18, 0, 1, tzinfo=UTC))
    seoul = Schedule("Asia/Seoul", "04:30", "05:30")
    assert missed_jobs(jobs, sessions, now, seoul) == []
    assert [spec.id for spec in missed_jobs(jobs, sessions, now, UTC_SCHEDULE)] == ["nightly"]


def test_jobs_follow_the_schedule_they_read_at_start_and_every_time_it_is_applied(sessions):
    schedules = [Schedule("UTC", "04:30", "05:30")]
    jobs = JobRegistry()
    jobs.register(
        JobSpec("sync", "sync", lambda: None, lambda s: daily_at(s.sync_time, s.timezone))
    )
    jobs.register(
        JobSpec("backup", "backup", lambda: None, lambda s: daily_at(s.backup_time, s.timezone))
    )
    jobs.register(JobSpec("hourly", "hourly", lambda: None, IntervalTrigger(hours=1)))

    def local(when: datetime | None, zone: str) -> tuple[int, int]:
        assert when is not None
        at = when.astimezone(ZoneInfo(zone))
        return at.hour, at.minute

    async def scenario():
        scheduler = Scheduler(jobs, sessions, lambda: schedules[-1])
        scheduler.start()
        try:
            seen = [(local(scheduler.next_run("sync"), "UTC"), scheduler.next_run("hourly"))]
            schedules.append(Schedule("Asia/Seoul", "04:30", "05:30"))
            assert scheduler.apply_schedule() == schedules[-1]
            seen.append(
                (
                    local(scheduler.next_run("sync"), "Asia/Seoul"),
                    local(scheduler.next_run("backup"), "Asia/Seoul"),
                    scheduler.next_run("hourly"),
                )
            )
            return seen
        finally:
            scheduler.shutdown()

    (utc_sync, hourly), (seoul_sync, seoul_backup, hourly_after) = _in_own_loop(scenario)
    assert utc_sync == (4, 30)
    assert (seoul_sync, seoul_backup) == ((4, 30), (5, 30))
    assert hourly_after == hourly  # a trigger of its own is left alone


def test_a_fixed_time_of_day_trigger_is_refused():
    with pytest.raises(ValueError, match="owner's Schedule"):
        JobRegistry().register(JobSpec("x", "x", lambda: None, CronTrigger(hour=3, timezone="UTC")))


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
    with pytest.raises(ValueError, match="registered twice"):
        jobs.register(_nightly([]))
