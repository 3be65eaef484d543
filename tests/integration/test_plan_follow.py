"""Following an approved plan against real imported activities: matching (a double day pairs
the long session with the long activity), DONE and MISSED recorded after the day, compliance on
the calendar, a deleted activity reopening its workout — on the real database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import delete, select

from app.coach.plans import Plan
from app.models import Activity, PlannedWorkout, PlanRevision
from app.services.plans import calendar, follow, revisions
from tests.support.fitwriter import write_activity
from tests.support.importing import import_files
from tests.support.plans import PLAN_START, uniform_plan

SEOUL = ZoneInfo("Asia/Seoul")
TUESDAY, WEDNESDAY = PLAN_START + timedelta(days=1), PLAN_START + timedelta(days=2)
NEXT_MONDAY = PLAN_START + timedelta(days=7)
SUNDAY = PLAN_START + timedelta(days=6)


def _run(day, minutes: int, hour: int = 7) -> bytes:
    seconds = minutes * 60
    t = np.arange(seconds, dtype=np.float64)
    speed = np.full(seconds, 3.0)
    start = datetime.combine(day, time(hour), tzinfo=SEOUL).astimezone(UTC)
    return write_activity(
        None,
        sport="running",
        start=start,
        samples={
            "heart_rate": 140 + 10 * np.sin(t / 300),
            "speed": speed,
            "distance": np.cumsum(speed),
        },
    )


@pytest.fixture
def followed(sessions, settings, owner, db_session):
    """One week of the standard plan approved, and three runs recorded: Tuesday's session and,
    on Wednesday, a 10-minute jog before the 45-minute easy run."""
    import_files(
        sessions,
        settings,
        {
            "tue.fit": _run(TUESDAY, 70),
            "wed-jog.fit": _run(WEDNESDAY, 10, hour=6),
            "wed-run.fit": _run(WEDNESDAY, 45, hour=18),
        },
    )
    plan = Plan.model_validate(uniform_plan(["build"]))
    stored = revisions.import_plan(sessions, plan, today=PLAN_START)
    revisions.approve(sessions, stored.revision_id, accept_blocks=True, today=PLAN_START)
    ids = dict(db_session.execute(select(Activity.moving_s, Activity.id)).all())
    by_minutes = {round(moving / 60): activity_id for moving, activity_id in ids.items()}
    return by_minutes


def _states(db_session) -> dict[str, tuple[str, int | None]]:
    rows = db_session.execute(
        select(PlannedWorkout.workout_id, PlannedWorkout.state, PlannedWorkout.activity_id)
    ).all()
    return {w: (s, a) for w, s, a in rows}


def test_the_week_is_followed_done_and_missed(sessions, db_session, followed):
    result = follow.follow_up(sessions, today=NEXT_MONDAY)
    states = _states(db_session)
    assert states["w1-tue"] == ("DONE", followed[70])
    assert states["w1-wed"] == ("DONE", followed[45])  # not the 10-minute jog
    assert {w for w, (s, _a) in states.items() if s == "MISSED"} == {
        "w1-wed-s" if "w1-wed-s" in states else "",
        "w1-thu",
        "w1-fri",
        "w1-sat",
        "w1-sun",
    } - {""}
    assert result.done == 2
    # Run again: nothing changes.
    again = follow.follow_up(sessions, today=NEXT_MONDAY)
    assert (again.done, again.missed, again.reopened) == (0, 0, 0)


def test_before_the_day_is_over_a_workout_stays_open(sessions, db_session, followed):
    follow.follow_up(sessions, today=WEDNESDAY)
    states = _states(db_session)
    assert states["w1-tue"][0] == "DONE"
    assert states["w1-wed"][0] == "DONE"  # already done today
    assert states["w1-thu"][0] == "PLANNED"


def test_a_deleted_activity_reopens_its_workout(sessions, db_session, followed):
    follow.follow_up(sessions, today=NEXT_MONDAY)
    with sessions.begin() as session:
        session.execute(delete(Activity).where(Activity.id == followed[70]))
    follow.follow_up(sessions, today=NEXT_MONDAY)
    assert _states(db_session)["w1-tue"] == ("MISSED", None)


def test_the_calendar_shows_compliance_and_the_unplanned_jog(sessions, db_session, followed):
    follow.follow_up(sessions, today=NEXT_MONDAY)
    view = calendar.calendar_view(db_session, view="week", anchor=WEDNESDAY, today=NEXT_MONDAY)
    assert [d.day for d in view.days] == [PLAN_START + timedelta(days=i) for i in range(7)]
    wednesday = next(d for d in view.days if d.day == WEDNESDAY)
    easy = next(w for w in wednesday.workouts if w.workout_id == "w1-wed")
    assert easy.activity.id == followed[45]
    assert easy.compliance is not None and easy.compliance.duration_ratio == pytest.approx(
        45 * 60 / easy.duration_s, rel=0.02
    )
    assert [a.id for a in wednesday.unplanned] == [followed[10]]
    sunday = view.days[-1]
    assert [w.state for w in sunday.workouts] == ["MISSED"]
    month = calendar.calendar_view(db_session, view="month", anchor=WEDNESDAY, today=NEXT_MONDAY)
    assert len(month.days) % 7 == 0 and month.start.day == 1
    assert any(w.workout_id == "w1-tue" for d in month.days for w in d.workouts)


def test_low_readiness_proposes_an_easier_session_and_nothing_changes_until_approved(
    sessions, db_session, followed
):
    from app.models import DailyWellness
    from app.services.plans import adapting

    with sessions.begin() as session:
        session.add(DailyWellness(day=SUNDAY, training_readiness=20))
    follow.follow_up(sessions, today=SUNDAY)
    before = _states(db_session)
    made = adapting.propose_adaptations(sessions, today=SUNDAY)
    assert len(made) == 1
    proposed = db_session.get(PlanRevision, made[0].revision_id)
    assert proposed.origin == "adaptation" and proposed.state == "PROPOSED"
    assert proposed.change_set["adaptation"]["easier_only"] is True
    assert any(
        f["rule"] == "readiness" and f["workout_id"] == "w1-sun"
        for f in proposed.report["findings"]
    )
    assert _states(db_session) == before
    # One pending adaptation at a time: the next night makes none while this one waits.
    assert adapting.propose_adaptations(sessions, today=SUNDAY) == []
