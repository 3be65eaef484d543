"""Missions kept and moved through their lifecycle, by the owner and by the clock (real
PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from app.coach.missions import MissionState
from app.i18n import current_locale
from app.models import MissionRow, MissionTransitionRow
from app.services import missions
from tests.support.missions import TOUR_START, tour_mission

BEFORE = datetime(2027, 4, 1, 9, 0, tzinfo=UTC)


def _document(**changes) -> dict:
    return tour_mission(**changes).model_dump(mode="json")


def _transitions(db_session, mission_id):
    return db_session.execute(
        select(
            MissionTransitionRow.source,
            MissionTransitionRow.target,
            MissionTransitionRow.trigger,
            MissionTransitionRow.due_at,
        )
        .where(MissionTransitionRow.mission_id == mission_id)
        .order_by(MissionTransitionRow.id)
    ).all()


def test_an_imported_mission_waits_in_preparation_with_its_countdown(sessions, db_session):
    mission_id = missions.import_mission(sessions, json.dumps(_document()).encode())
    [summary] = missions.list_missions(db_session, BEFORE)
    assert (summary.id, summary.state, summary.name) == (
        mission_id,
        MissionState.PREP,
        "Virtual Tour 2027",
    )
    assert summary.countdown.days_to_event == (TOUR_START - BEFORE.date()).days
    assert summary.countdown.stages_total == 21


@pytest.mark.parametrize(
    ("data", "code", "where"),
    [
        (b"{not json", "mission_not_json", ""),
        (b"[1, 2]", "mission_not_object", ""),
        (json.dumps({**_document(), "prep_start": "2027-08-01"}).encode(), None, "prep_start"),
        (json.dumps({**_document(), "time_zone": "Mars/Olympus"}).encode(), None, "time_zone"),
        (b" " * (missions.lifecycle.MAX_DOCUMENT_BYTES + 1), "mission_too_large", ""),
    ],
)
def test_an_invalid_mission_file_says_why_and_stores_nothing(
    sessions, db_session, data, code, where
):
    with pytest.raises(missions.MissionInvalid) as caught:
        missions.import_mission(sessions, data)
    problems = caught.value.problems
    assert problems and all(p.message for p in problems)
    if code is not None:
        assert problems[0].code == code
    assert any(p.where.startswith(where) for p in problems)
    assert db_session.scalar(select(MissionRow.id)) is None


def test_start_trains_and_a_second_mission_cannot_start_beside_it(sessions, db_session):
    first = missions.import_mission(sessions, _document())
    second = missions.import_mission(sessions, _document(name="Autumn Fondo"))
    missions.move(sessions, first, MissionState.TRAINING, now_utc=BEFORE)
    with pytest.raises(missions.MissionRefused) as refused:
        missions.move(sessions, second, MissionState.TRAINING, now_utc=BEFORE)
    assert refused.value.code == "another_mission_active"
    token = current_locale.set("ko")
    try:
        assert "미션" in refused.value.message
    finally:
        current_locale.reset(token)
    states = dict(db_session.execute(select(MissionRow.id, MissionRow.state)).all())
    assert states == {first: "training", second: "prep"}
    assert _transitions(db_session, first) == [("prep", "training", "owner", None)]


def test_the_database_itself_refuses_two_active_missions(sessions, db_session):
    first = missions.import_mission(sessions, _document())
    second = missions.import_mission(sessions, _document(name="Autumn Fondo"))
    missions.move(sessions, first, MissionState.TRAINING, now_utc=BEFORE)
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.execute(
            text("UPDATE mission SET state = 'event_active' WHERE id = :id"), {"id": second}
        )


def test_the_event_starts_at_midnight_in_the_missions_time_zone(sessions, db_session):
    mission_id = missions.import_mission(sessions, _document())
    missions.move(sessions, mission_id, MissionState.TRAINING, now_utc=BEFORE)
    # Midnight of the first day in Seoul is 15:00 UTC the day before.
    midnight = datetime(2027, 7, 2, 15, 0, tzinfo=UTC)
    assert missions.apply_due(sessions, midnight - timedelta(seconds=1)) == []
    [(moved_id, move)] = missions.apply_due(sessions, midnight)
    assert (moved_id, move.target, move.due_at) == (mission_id, MissionState.EVENT_ACTIVE, midnight)
    assert missions.apply_due(sessions, midnight + timedelta(minutes=5)) == []
    view = missions.mission_view(db_session, mission_id, midnight)
    assert view.summary.state == MissionState.EVENT_ACTIVE
    assert view.summary.countdown.event_day == 1


def test_a_nas_that_was_off_catches_up_every_move_with_the_midnight_it_was_due(
    sessions, db_session
):
    mission_id = missions.import_mission(sessions, _document())
    missions.move(sessions, mission_id, MissionState.TRAINING, now_utc=BEFORE)
    long_after = datetime(2027, 9, 1, tzinfo=UTC)
    made = missions.apply_due(sessions, long_after)
    assert [m.target for _, m in made] == [
        MissionState.EVENT_ACTIVE,
        MissionState.MISSION_COMPLETE,
    ]
    assert _transitions(db_session, mission_id)[1:] == [
        ("training", "event_active", "clock", datetime(2027, 7, 2, 15, tzinfo=UTC)),
        ("event_active", "mission_complete", "clock", datetime(2027, 7, 25, 15, tzinfo=UTC)),
    ]
    # Complete: it can be archived, not taken back, and then nothing moves it.
    with pytest.raises(missions.MissionRefused) as refused:
        missions.move(sessions, mission_id, MissionState.PREP, now_utc=long_after)
    assert refused.value.code == "transition_not_allowed"
    missions.move(sessions, mission_id, MissionState.ARCHIVED, now_utc=long_after)
    with pytest.raises(missions.MissionRefused) as archived:
        missions.move(sessions, mission_id, MissionState.TRAINING, now_utc=long_after)
    assert archived.value.code == "mission_archived"


def test_starting_on_the_events_first_day_goes_straight_to_the_event(sessions, db_session):
    mission_id = missions.import_mission(sessions, _document())
    on_the_day = datetime(2027, 7, 3, 1, 0, tzinfo=UTC)  # 10:00 in Seoul, stage 1
    missions.move(sessions, mission_id, MissionState.TRAINING, now_utc=on_the_day)
    assert [t[:3] for t in _transitions(db_session, mission_id)] == [
        ("prep", "training", "owner"),
        ("training", "event_active", "clock"),
    ]


def test_back_to_preparation_before_the_event_and_delete_only_in_preparation(sessions, db_session):
    mission_id = missions.import_mission(sessions, _document())
    missions.move(sessions, mission_id, MissionState.TRAINING, now_utc=BEFORE)
    with pytest.raises(missions.MissionRefused) as refused:
        missions.delete_mission(sessions, mission_id)
    assert refused.value.code == "mission_not_deletable"
    missions.move(sessions, mission_id, MissionState.PREP, now_utc=BEFORE)
    missions.delete_mission(sessions, mission_id)
    assert db_session.scalar(select(MissionRow.id)) is None
    assert db_session.scalar(select(MissionTransitionRow.id)) is None
    with pytest.raises(missions.MissionRefused) as missing:
        missions.move(sessions, mission_id, MissionState.TRAINING, now_utc=BEFORE)
    assert missing.value.code == "mission_not_found"


def test_the_clock_job_moves_due_missions_and_survives_a_failure(sessions, caplog):
    from app.jobs.missions import tick

    mission_id = missions.import_mission(sessions, _document())
    missions.move(sessions, mission_id, MissionState.TRAINING, now_utc=BEFORE)
    assert tick(sessions, lambda: datetime(2027, 7, 3, tzinfo=UTC)) == 1
    assert tick(sessions, lambda: datetime(2027, 7, 3, tzinfo=UTC)) == 0

    def broken() -> None:
        raise RuntimeError("database gone")

    assert tick(broken) == 0  # a sessionmaker that fails: logged, not raised
    assert "missions' clock" in caplog.text


def test_the_clock_asks_for_the_wrap_up_when_a_mission_completes(sessions):
    from app.jobs.missions import tick

    mission_id = missions.import_mission(sessions, _document())
    missions.move(sessions, mission_id, MissionState.TRAINING, now_utc=BEFORE)
    asked: list[int] = []
    assert tick(sessions, lambda: datetime(2027, 7, 4, tzinfo=UTC), completed=asked.append) == 1
    assert asked == []  # the event started: no wrap-up yet
    assert tick(sessions, lambda: datetime(2027, 9, 1, tzinfo=UTC), completed=asked.append) == 1
    assert asked == [mission_id]
