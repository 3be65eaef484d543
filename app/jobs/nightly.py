"""The nightly jobs, at the owner's local times: the sync of every connected source
(``DOMESTIQUE_SYNC_TIME``, or the owner's own time from Settings) and the backup
(``DOMESTIQUE_BACKUP_TIME``), both in the owner's time zone.

A night missed while the NAS was off runs once at start-up (the scheduler's catch-up), and
"Sync now" queues the same work on the same runner, so the two never overlap. Their triggers
are functions of the owner's schedule: the scheduler applies it at start, after setup and after
every change of the time zone or the sync time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.jobs.registry import JobSpec, daily_at
from app.services import backups
from app.services.work.schedule import NIGHTLY_BACKUP, NIGHTLY_SYNC

if TYPE_CHECKING:
    from app.services.work.runner import WorkRunner


def nightly_sync_job(runner: WorkRunner) -> JobSpec:
    return JobSpec(
        id=NIGHTLY_SYNC,
        description="Sync every connected source",
        func=runner.run_nightly,
        trigger=lambda schedule: daily_at(schedule.sync_time, schedule.timezone),
    )


def nightly_backup_job(settings) -> JobSpec:
    return JobSpec(
        id=NIGHTLY_BACKUP,
        description="Back up the database and raw files",
        func=lambda: backups.run_nightly_backup(settings),
        trigger=lambda schedule: daily_at(schedule.backup_time, schedule.timezone),
    )
