"""Scheduled jobs. Each job is one line that calls a service; other issues register theirs:

    from app.jobs import JobSpec, registry
    registry.register(JobSpec("garmin.nightly", "Garmin nightly sync", run_nightly_sync,
                              CronTrigger(hour=3)))

Every job can also be run from the CLI and the UI by its id (``registry.get(id).func``).
"""

from app.jobs.registry import JobSpec, registry

__all__ = ["JobSpec", "registry"]
