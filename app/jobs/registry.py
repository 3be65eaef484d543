from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from app.services.work.schedule import DEFAULT_MORNING_TIME


@dataclass(frozen=True)
class Schedule:
    """The owner's clock for scheduled work: their time zone and the local times (HH:MM) of the
    nightly sync, the nightly backup and the daily coach's morning decision."""

    timezone: str
    sync_time: str
    backup_time: str
    morning_time: str = DEFAULT_MORNING_TIME


def daily_at(local_time: str, timezone: str) -> CronTrigger:
    """Every day at ``local_time`` (HH:MM) in ``timezone`` (an IANA name)."""
    hour, minute = (int(part) for part in local_time.split(":"))
    return CronTrigger(hour=hour, minute=minute, timezone=timezone)


@dataclass(frozen=True)
class JobSpec:
    id: str
    description: str
    func: Callable[[], None]
    # A trigger, or — for a job at a time of day — a function of the owner's schedule, so the
    # job follows the owner's time zone and times from the first minute and whenever they
    # change (``Scheduler.apply_schedule``).
    trigger: BaseTrigger | Callable[[Schedule], BaseTrigger]
    # Run once at start-up when a scheduled run was missed while the app was down.
    catch_up: bool = True

    @property
    def follows_schedule(self) -> bool:
        return not isinstance(self.trigger, BaseTrigger)

    def trigger_for(self, schedule: Schedule) -> BaseTrigger:
        if isinstance(self.trigger, BaseTrigger):
            return self.trigger
        return self.trigger(schedule)


class JobRegistry:
    def __init__(self) -> None:
        self._jobs: dict[str, JobSpec] = {}

    def register(self, spec: JobSpec) -> JobSpec:
        if spec.id in self._jobs:
            raise ValueError(f"job {spec.id!r} is registered twice")
        if isinstance(spec.trigger, CronTrigger):
            # A fixed cron trigger keeps the zone it was made in; the owner's may differ.
            raise ValueError(
                f"job {spec.id!r} runs at a time of day: give its trigger as a function of the "
                "owner's Schedule (e.g. lambda s: daily_at('03:00', s.timezone))"
            )
        self._jobs[spec.id] = spec
        return spec

    def unregister(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)

    def get(self, job_id: str) -> JobSpec:
        return self._jobs[job_id]

    def __iter__(self):
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)


registry = JobRegistry()
