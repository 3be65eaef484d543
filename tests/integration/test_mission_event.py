"""Event mode on real rides: three shared FIT rides imported (with Domestique's own metrics),
a three-stage event on their days, the stage table scored from them, and corrections."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.coach.missions import MissionState
from app.coach.points import StageCorrection, ride_mode
from app.models import Activity, ActivityMetrics
from app.services import missions
from tests.support.importing import import_files
from tests.support.missions import tour_mission
from tests.support.shared import SHARED, unavailable

RIDES = ("nick.fit", "coros-pace-2-cycling-misaligned-fields.fit", "garmin.fit")
ZONE = "Europe/London"
DAYS = (date(2020, 9, 12), date(2020, 10, 25), date(2020, 11, 7))
MISSED_DAY = date(2020, 10, 1)  # a stage with no ride


def _fixture(name: str) -> bytes:
    found = sorted((SHARED / "fixtures" / "fit").rglob(name))
    if not found:
        unavailable(f"shared FIT fixture {name}")
    return found[0].read_bytes()


@pytest.fixture
def event(sessions, settings, db_session):
    import_files(sessions, settings, {name: _fixture(name) for name in RIDES})
    stages = [
        {"number": 1, "date": DAYS[0], "type": "flat"},
        {"number": 2, "date": MISSED_DAY, "type": "hilly"},
        {"number": 3, "date": DAYS[1], "type": "mountain"},
        {"number": 4, "date": DAYS[2], "type": "flat"},
    ]
    mission = tour_mission(
        name="Autumn series",
        prep_start=date(2020, 6, 1),
        event_start=DAYS[0],
        event_end=DAYS[2],
        time_zone=ZONE,
        stages=stages,
    )
    mission_id = missions.import_mission(sessions, mission.model_dump(mode="json"))
    missions.move(
        sessions, mission_id, MissionState.TRAINING, now_utc=datetime(2020, 9, 1, tzinfo=UTC)
    )
    missions.apply_due(sessions, datetime(2020, 12, 1, tzinfo=UTC))  # the event ran and ended
    rides = db_session.execute(
        select(Activity.id, Activity.start_time, ActivityMetrics.tss, ActivityMetrics.load,
               ActivityMetrics.intensity_factor)
        .join(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .order_by(Activity.start_time)
    ).all()  # fmt: skip
    return mission_id, mission, rides


def test_the_stage_table_is_scored_from_the_real_rides(event, db_session):
    mission_id, mission, rides = event
    # A mission completed by the clock is locked: score it as it stands.
    view = missions.event.event_view(db_session, mission_id, datetime(2020, 12, 1, tzinfo=UTC))
    assert view is not None and view.locked
    by_stage = {r.result.stage.number: r.result for r in view.rows}
    assert by_stage[2].status == "missed" and by_stage[2].points == 0
    ride_of_day = {r.start_time.date(): r for r in rides}
    for number, day in ((1, DAYS[0]), (3, DAYS[1]), (4, DAYS[2])):
        result, ride = by_stage[number], ride_of_day[day]
        assert result.status == "done"
        assert result.activity.activity_id == str(ride.id)
        expected = ride_mode(
            ride.intensity_factor, ride.tss if ride.tss is not None else ride.load, mission.points
        )
        assert result.detected_mode == expected
        table = getattr(mission.points.stage_points, by_stage[number].stage.type)
        assert result.points == (0 if expected == "rest" else getattr(table, expected))
    assert view.score.total == sum(r.result.points + r.result.bonus_points for r in view.rows)


def test_corrections_change_the_table_during_the_event_and_are_refused_once_locked(
    sessions, db_session, event
):
    mission_id, mission, rides = event
    # Back in time: the event is under way (corrections allowed).
    from app.models import MissionRow

    db_session.execute(
        MissionRow.__table__.update()
        .values(state="event_active")
        .where(MissionRow.id == mission_id)
    )
    db_session.commit()
    during = datetime(2020, 11, 7, 20, tzinfo=UTC)
    missions.event.correct_stage(
        sessions,
        mission_id,
        StageCorrection(stage=1, mode="breakaway", reason="Power meter read low."),
        now_utc=during,
    )
    garmin = rides[-1]
    missions.event.correct_stage(
        sessions,
        mission_id,
        StageCorrection(stage=2, activity_id=str(garmin.id), reason="Rode stage 2 late."),
        now_utc=during,
    )
    view = missions.event.event_view(db_session, mission_id, during)
    by_stage = {r.result.stage.number: r.result for r in view.rows}
    assert (
        by_stage[1].mode == "breakaway" and by_stage[1].correction.reason == "Power meter read low."
    )
    assert by_stage[1].points == mission.points.stage_points.flat.breakaway
    assert by_stage[2].status == "done" and by_stage[2].activity.activity_id == str(garmin.id)
    # The ride counted for stage 2 is no longer stage 4's.
    assert by_stage[4].activity is None or by_stage[4].activity.activity_id != str(garmin.id)

    with pytest.raises(missions.MissionRefused) as twice:
        missions.event.correct_stage(
            sessions,
            mission_id,
            StageCorrection(stage=3, activity_id=str(garmin.id), reason="Same ride again."),
            now_utc=during,
        )
    assert twice.value.code and twice.value.message

    missions.apply_due(sessions, datetime(2020, 12, 1, tzinfo=UTC))
    with pytest.raises(missions.MissionRefused) as locked:
        missions.event.clear_correction(sessions, mission_id, 1)
    assert locked.value.code == "mission_locked"


def test_the_wrap_up_keeps_the_computed_numbers_and_locks_with_the_mission(
    sessions, settings, event, db_session
):
    from cryptography.fernet import Fernet

    from app.models import MissionRow
    from app.security.keys import SecretBox
    from app.services.missions import wrap_up
    from tests.support.coach_llm import KEY, MODEL, TestClock, llm_settings
    from tests.support.fake_llm import FakeLlm

    mission_id, _mission, _rides = event
    box = SecretBox(Fernet.generate_key().decode())
    fake = FakeLlm(api_key=KEY).start()
    try:
        env = llm_settings(settings, llm_base_url=fake.base_url, llm_model=MODEL, llm_api_key=KEY)
        fake.answer(
            {
                "headline": "Three of four stages ridden.",
                "went_well": ["Stage 4 ridden steady."],
                "to_change": ["Ride stage 2 next time."],
            }
        )
        clock = TestClock(datetime(2020, 12, 1, tzinfo=UTC))
        written = wrap_up.write_wrap_up(sessions, env, box, mission_id, clock=clock.clock)
    finally:
        fake.stop()
    assert written is not None and written.headline == "Three of four stages ridden."
    stored = db_session.get(MissionRow, mission_id)
    db_session.refresh(stored)
    assert stored.wrap_up["numbers"]["stages_total"] == 4
    assert stored.wrap_up["numbers"]["stages_missed"] == 1  # computed, never the model's
    view = missions.mission_view(db_session, mission_id, datetime(2020, 12, 1, tzinfo=UTC))
    assert view.wrap_up["went_well"] == ["Stage 4 ridden steady."]


def test_no_wrap_up_before_the_event_is_over(sessions, settings, owner):
    from cryptography.fernet import Fernet

    from app.security.keys import SecretBox
    from app.services.missions import wrap_up

    mission_id = missions.import_mission(sessions, tour_mission().model_dump(mode="json"))
    with pytest.raises(missions.MissionRefused) as refused:
        wrap_up.write_wrap_up(
            sessions, settings, SecretBox(Fernet.generate_key().decode()), mission_id
        )
    assert refused.value.code == "event_not_over" and refused.value.message
