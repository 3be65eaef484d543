"""The nightly sync: every connected source, at the owner's local ``DOMESTIQUE_SYNC_TIME``.

A night missed while the NAS was off runs once at start-up (the scheduler's catch-up), and
"Sync now" queues the same work on the same runner, so the two never overlap. The owner's own
sync time and time zone (Settings) win over the defaults and reschedule the job when changed."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

from app.jobs.registry import JobSpec
from app.services.sync_runner import SyncRunner

NIGHTLY_SYNC = "sync.nightly"


def nightly_trigger(sync_time: str, timezone: str) -> CronTrigger:
    hour, minute = (int(part) for part in sync_time.split(":"))
    return CronTrigger(hour=hour, minute=minute, timezone=timezone)


def nightly_sync_job(runner: SyncRunner, sync_time: str, timezone: str) -> JobSpec:
    return JobSpec(
        id=NIGHTLY_SYNC,
        description="Sync every connected source",
        func=runner.run_nightly,
        trigger=nightly_trigger(sync_time, timezone),
    )
