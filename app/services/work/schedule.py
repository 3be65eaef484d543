"""The scheduled jobs' record: which nightly jobs exist (their ids), when each last started and
how it ended (``scheduled_job_state``), and the owner's times they follow. The scheduler in
``app.jobs`` and the pages read and write it only through here; the owner and settings services
apply a changed schedule through ``apply_owner_schedule`` once they have committed it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.models import ScheduledJobState
from app.models.owner import get_owner

NIGHTLY_SYNC = "sync.nightly"
NIGHTLY_BACKUP = "backup.nightly"
MORNING_DECISION = "coach.morning"
DEFAULT_MORNING_TIME = "06:00"
"""The daily coach's decision, in the owner's time zone, unless the owner sets their own."""


@dataclass(frozen=True)
class LastRun:
    status: str | None
    finished_at: datetime | None
    error: str | None


def record_start(sessions: sessionmaker[Session], job_id: str, started: datetime) -> None:
    with sessions.begin() as session:
        state = session.get(ScheduledJobState, job_id) or ScheduledJobState(job_id=job_id)
        state.last_started_at, state.last_status, state.last_error = started, "running", None
        session.add(state)


def record_finish(
    sessions: sessionmaker[Session],
    job_id: str,
    finished: datetime,
    status: str,
    error: str | None,
) -> None:
    with sessions.begin() as session:
        state = session.get(ScheduledJobState, job_id)
        if state is not None:
            state.last_finished_at, state.last_status, state.last_error = finished, status, error


def last_started(session: Session, job_id: str) -> datetime | None:
    state = session.get(ScheduledJobState, job_id)
    return state.last_started_at if state is not None else None


def last_run(session: Session, job_id: str) -> LastRun | None:
    state = session.get(ScheduledJobState, job_id)
    if state is None:
        return None
    return LastRun(state.last_status, state.last_finished_at, state.last_error)


@dataclass(frozen=True)
class OwnerTimes:
    """The owner's own time zone, nightly sync time and morning decision time (``None``: the
    default)."""

    timezone: str | None
    sync_time: str | None
    morning_time: str | None


def owner_times(sessions: sessionmaker[Session]) -> OwnerTimes | None:
    """The owner's own times, ``None`` before the owner exists."""
    with sessions() as session:
        owner = get_owner(session)
        if owner is None:
            return None
        return OwnerTimes(owner.timezone, owner.sync_time, owner.morning_time)


NIGHT_STARTS = 18 * 60
"""Minutes after midnight at which a night begins: a sync at 23:30 comes before a 06:00 morning,
one at 04:30 after a 03:00 one."""


def _in_the_night(local_time: str) -> int:
    hour, minute = (int(part) for part in local_time.split(":"))
    return (hour * 60 + minute - NIGHT_STARTS) % (24 * 60)


def decision_follows_sync(morning_time: str, sync_time: str) -> bool:
    """Whether the morning decision is set before the nightly sync of the same night (both
    HH:MM, a night counted from 18:00): then it runs as soon as that sync has ended instead,
    never on last night's data."""
    return _in_the_night(morning_time) < _in_the_night(sync_time)


class Follower(Protocol):
    """What moves the scheduled jobs to the owner's times: the app's scheduler
    (``app.jobs.scheduler.Scheduler``), which the web hands to the services that change them."""

    def apply_schedule(self) -> object: ...


def apply_owner_schedule(scheduler: Follower | None) -> None:
    """After setup or a change of the owner's time zone or nightly times, once committed: every
    scheduled job at a time of day follows at once. Without a scheduler (the command line, an app
    started without one) there is nothing to move; the next start reads the new times."""
    if scheduler is not None:
        scheduler.apply_schedule()
