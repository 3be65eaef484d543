"""Scheduled jobs. Each job is one line that calls a service; other issues register theirs. A
job at a time of day takes its trigger from the owner's schedule, so it runs in the owner's
time zone from the first minute and follows every change (a fixed ``CronTrigger`` is refused):

    from app.jobs import JobSpec, daily_at, registry
    registry.register(JobSpec("garmin.nightly", "Garmin nightly sync", run_nightly_sync,
                              lambda schedule: daily_at("03:00", schedule.timezone)))

Every job can also be run from the CLI and the UI by its id (``registry.get(id).func``).
"""

from app.jobs.registry import JobSpec, Schedule, daily_at, registry

__all__ = ["JobSpec", "Schedule", "daily_at", "registry"]
