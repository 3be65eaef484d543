"""The morning decision is its own scheduled job at the owner's morning time (default 06:00 in
their time zone), after the nightly sync: it decides once a day (a day stored in ``coach_day``
is left alone), waits for a sync still running (the sync decides when it has ended), leaves the
decision to the sync when set before the sync's time, and a morning missed while the NAS was
off runs once at start-up, after the night's sync — with the injected clock, never a sleep."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from app.jobs.coach import morning_decision_job
from app.jobs.nightly import nightly_sync_job
from app.jobs.registry import JobRegistry, Schedule
from app.jobs.scheduler import missed_jobs, run_catch_ups
from app.models import CoachDay, ScheduledJobState
from app.models.owner import Owner
from app.services.sync import connections
from app.services.work.runner import InlineWorkRunner
from app.services.work.schedule import MORNING_DECISION, NIGHTLY_SYNC, decision_follows_sync
from tests.integration.test_coach_day import PUSH, TUESDAY, box, clock, env, fake, followed  # noqa: F401
from tests.integration.test_sync import FakeGarmin
from tests.integration.test_sync_runner import _source
from tests.support.fake_llm import CHAT

SEOUL = ZoneInfo("Asia/Seoul")
MAINTAIN = {**PUSH, "action": "maintain", "intensity": "moderate"}


class FixedClock:
    """The runner's clock: ``now`` as the test sets it; a wait (the sync's pause between two
    calls) is recorded, never slept."""

    def __init__(self, now: datetime) -> None:
        self.current = now
        self.waits: list[float] = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def seoul(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 1, day, hour, minute, tzinfo=SEOUL).astimezone(UTC)


def _runner(sessions, env, box, sources=None, now=None) -> InlineWorkRunner:  # noqa: F811
    return InlineWorkRunner(sessions, env, box, sources or {}, clock=FixedClock(now or seoul(5, 6)))


def _days(sessions) -> list:
    with sessions() as session:
        return list(session.scalars(select(CoachDay.day)))


def test_the_job_runs_at_the_owners_morning_time_and_catches_up_once(sessions, env, box):  # noqa: F811
    runner = _runner(sessions, env, box)
    spec = morning_decision_job(runner)
    schedule = Schedule("Asia/Seoul", "04:30", "05:30", "06:15")
    fire = spec.trigger_for(schedule).get_next_fire_time(None, seoul(4, 21))
    assert fire == seoul(5, 6, 15) and spec.id == MORNING_DECISION and spec.catch_up
    assert Schedule("Asia/Seoul", "04:30", "05:30").morning_time == "06:00"
    jobs = JobRegistry()
    jobs.register(spec)
    with sessions.begin() as session:
        started = seoul(4, 6, 15) + timedelta(seconds=1)
        session.merge(ScheduledJobState(job_id=MORNING_DECISION, last_started_at=started))
    assert missed_jobs(jobs, sessions, seoul(5, 6, 0), schedule) == []  # not yet this morning
    assert missed_jobs(jobs, sessions, seoul(7, 15, 0), schedule) == [spec]  # off for days: once


def test_the_morning_decides_once_a_day(sessions, env, box, fake, followed):  # noqa: F811
    runner = _runner(sessions, env, box, now=seoul(5, 6))
    fake.answer(MAINTAIN)
    assert runner.run_morning() == "decided"
    assert _days(sessions) == [TUESDAY]
    assert runner.run_morning() == "already"  # a catch-up the same day asks nothing
    assert len(fake.calls(CHAT)) == 1


def test_without_an_active_mission_nothing_is_asked(sessions, env, box, fake, owner):  # noqa: F811
    assert _runner(sessions, env, box).run_morning() == "not_wanted"
    assert fake.calls(CHAT) == [] and _days(sessions) == []


def test_a_sync_still_running_at_the_morning_time_decides_when_it_has_ended(
    sessions,
    env,  # noqa: F811
    box,  # noqa: F811
    fake,  # noqa: F811
    followed,  # noqa: F811
    db_session,
):
    connections.save_tokens(db_session, box, "garmin", "tokens-1", account="me@example.com")
    db_session.commit()
    syncing, release = threading.Event(), threading.Event()

    def slow_garmin():
        syncing.set()
        assert release.wait(30)
        return FakeGarmin()

    runner = _runner(sessions, env, box, {"garmin": _source(slow_garmin)}, now=seoul(5, 6))
    fake.answer(MAINTAIN)
    nightly = threading.Thread(target=runner.run_nightly)
    nightly.start()
    try:
        assert syncing.wait(30)
        assert runner.run_morning() == "after_sync"  # the sync is still running: it waits
        assert fake.calls(CHAT) == [] and _days(sessions) == []
    finally:
        release.set()
        nightly.join(30)
    assert _days(sessions) == [TUESDAY]  # the sync decided once it had ended
    assert len(fake.calls(CHAT)) == 1
    runner.run_nightly()  # the next sync the same day: no second decision
    assert len(fake.calls(CHAT)) == 1


def test_a_morning_before_the_sync_leaves_the_decision_to_the_sync(
    sessions,
    env,  # noqa: F811
    box,  # noqa: F811
    fake,  # noqa: F811
    followed,  # noqa: F811
):
    assert decision_follows_sync("03:00", "04:30") and not decision_follows_sync("06:00", "04:30")
    assert not decision_follows_sync("06:00", "23:30")  # an evening sync comes the night before
    assert not decision_follows_sync("13:00", "04:30") and decision_follows_sync("23:00", "23:30")
    with sessions.begin() as session:
        session.execute(update(Owner).values(morning_time="03:00", sync_time="04:30"))
    runner = _runner(sessions, env, box, now=seoul(5, 3))
    assert runner.run_morning() == "after_sync"
    assert fake.calls(CHAT) == []
    fake.answer(MAINTAIN)
    runner.clock.current = seoul(5, 4, 40)
    runner.run_nightly()
    assert _days(sessions) == [TUESDAY]


def test_the_nightly_sync_alone_no_longer_decides(sessions, env, box, fake, followed):  # noqa: F811
    runner = _runner(sessions, env, box, now=seoul(5, 4, 40))
    runner.run_nightly()
    assert fake.calls(CHAT) == [] and _days(sessions) == []


def test_missed_runs_catch_up_in_order_the_sync_before_the_morning(
    sessions,
    env,  # noqa: F811
    box,  # noqa: F811
    fake,  # noqa: F811
    followed,  # noqa: F811
):
    order: list[str] = []
    runner = _runner(sessions, env, box, now=seoul(5, 9))
    jobs = JobRegistry()
    sync = nightly_sync_job(runner)
    jobs.register(replace(sync, func=lambda: order.append("sync")))
    morning = morning_decision_job(runner)

    def decide() -> None:
        order.append("morning")
        assert runner.run_morning() == "decided"

    jobs.register(replace(morning, func=decide))
    with sessions.begin() as session:
        for job_id in (NIGHTLY_SYNC, MORNING_DECISION):
            session.merge(ScheduledJobState(job_id=job_id, last_started_at=seoul(3, 7)))
    schedule = Schedule("Asia/Seoul", "04:30", "05:30", "06:00")
    missed = missed_jobs(jobs, sessions, seoul(5, 9), schedule)
    assert [spec.id for spec in missed] == [NIGHTLY_SYNC, MORNING_DECISION]
    fake.answer(MAINTAIN)
    run_catch_ups(missed, sessions)
    assert order == ["sync", "morning"]
    assert _days(sessions) == [TUESDAY]


@pytest.mark.parametrize("morning", ["06:00", "07:30"])
def test_the_app_schedules_the_morning_decision_in_the_owners_zone(
    settings, sessions, owner, morning
):
    from fastapi.testclient import TestClient

    from app.web.app import create_app

    with sessions.begin() as session:
        session.execute(update(Owner).values(morning_time=None if morning == "06:00" else morning))
    app = create_app(settings, jobs=JobRegistry())
    app.state.sessions = sessions
    app.state.work_runner = InlineWorkRunner(sessions, settings, app.state.secret_box, {})
    with TestClient(app):
        when = app.state.scheduler.next_run(MORNING_DECISION)
    local = when.astimezone(ZoneInfo(owner.timezone))
    assert f"{local.hour:02d}:{local.minute:02d}" == morning
