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


NIGHTLY_BACKUP = "backup.nightly"


def run_backup(settings) -> None:
    """The nightly backup with the configured retention; a failure raises, so the job is
    recorded as failed (the owner sees a banner) and older backups stay."""
    from app.services import backups

    backups.remove_leftovers(settings.backup_dir)
    backups.make_backup(
        settings,
        retention=backups.Retention(
            settings.backup_keep_daily, settings.backup_keep_weekly, settings.backup_keep_monthly
        ),
    )


def nightly_backup_job(settings, timezone: str) -> JobSpec:
    return JobSpec(
        id=NIGHTLY_BACKUP,
        description="Back up the database and raw files",
        func=lambda: run_backup(settings),
        trigger=nightly_trigger(settings.backup_time, timezone),
    )
