"""Missions: validation, the lifecycle (owner's moves and the clock's), phases and countdown."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from app.coach.missions import (
    MissionState,
    PhaseSpan,
    TransitionRefused,
    countdown,
    default_phases,
    due_transitions,
    is_active,
    is_locked,
    may_start,
    mission_errors,
    phase_for_days,
    phase_on,
    transition,
)
from app.coach.points import Stage
from tests.support.missions import TOUR_START, tour_mission, tour_stages

S = MissionState
ALL_STATES = list(MissionState)
# Midnight in Seoul (UTC+9, no daylight saving) is 15:00 UTC the day before.
BEFORE_START = datetime(2027, 7, 2, 14, 59, 59, tzinfo=UTC)  # 23:59:59 on 2 July in Seoul
AT_START = datetime(2027, 7, 2, 15, 0, 0, tzinfo=UTC)  # 00:00 on 3 July in Seoul
TOUR_END = TOUR_START + timedelta(days=22)  # 25 July
IN_TRAINING = datetime(2027, 5, 1, 12, 0, tzinfo=UTC)


def codes(error: ValidationError) -> list[str]:
    return [item["type"] for item in error.errors()]


# --------------------------------------------------------------------------------------------
# Validation


def test_a_tour_validates_with_its_stages_in_date_order():
    stages = tour_stages()
    mission = tour_mission(stages=list(reversed(stages)))
    assert [s.date for s in mission.stages] == sorted(s.date for s in stages)
    assert len(mission.racing_stages) == 21
    assert mission.event_days == 23
    assert mission.stage_on(TOUR_START + timedelta(days=9)).type == "rest"
    assert mission.points.stage_points.mountain.breakaway == 15


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"prep_start": TOUR_START + timedelta(days=1)}, "prep_after_event"),
        ({"prep_start": TOUR_START - timedelta(days=800)}, "prep_too_long"),
        ({"event_end": TOUR_START - timedelta(days=1), "stages": []}, "event_end_before_start"),
        ({"event_end": TOUR_START + timedelta(days=60)}, "event_too_long"),
        ({"time_zone": "Asia/Busan"}, "time_zone_unknown"),
        ({"time_zone": "../etc/passwd"}, "time_zone_unknown"),
    ],
)
def test_dates_and_zone_are_refused_with_a_code(changes, code):
    with pytest.raises(ValidationError) as caught:
        tour_mission(**changes)
    assert codes(caught.value) == [code]


def test_a_stage_plan_is_checked_and_every_problem_placed():
    stages = tour_stages()
    broken = [
        stages[0],  # stage 1 on 3 July
        Stage(number=2, date=stages[0].date, type="hilly"),  # a second stage on 3 July
        Stage(number=4, date=stages[2].date, type="flat"),  # number 3 expected
        # number 4 is right again; the stage is after the event
        Stage(number=4, date=TOUR_END + timedelta(days=1), type="flat"),
    ]
    errors = mission_errors(
        prep_start=date(2027, 3, 1), event_start=TOUR_START, event_end=TOUR_END, stages=broken
    )
    assert [(e.loc, e.code) for e in errors] == [
        (("stages", 1, "date"), "stage_date_repeated"),
        (("stages", 2, "number"), "stage_number_order"),
        (("stages", 3, "date"), "stage_outside_event"),
    ]
    # The second stage of 3 July still counts as number 2: one mistake, one error.
    assert errors[1].params == {"date": "2027-07-05", "number": 4, "expected": 3}
    with pytest.raises(ValidationError) as caught:
        tour_mission(stages=broken)
    assert codes(caught.value) == ["stage_date_repeated"]


def test_rest_days_have_no_number_and_stages_have_one():
    with pytest.raises(ValidationError) as caught:
        Stage(number=10, date=TOUR_START, type="rest")
    assert codes(caught.value) == ["rest_day_numbered"]
    with pytest.raises(ValidationError) as caught:
        Stage(date=TOUR_START, type="mountain")
    assert codes(caught.value) == ["stage_number_missing"]


def test_own_phases_must_run_from_the_prep_start_to_the_day_before_the_event_in_order():
    prep = date(2027, 3, 1)
    good = default_phases(prep, TOUR_START)
    assert [s.phase for s in good] == ["base", "build", "peak", "taper"]
    assert good[0].start == prep and good[-1].end == TOUR_START - timedelta(days=1)
    assert tour_mission(phases=good).phases == good
    bad = [
        PhaseSpan(phase="base", start=prep + timedelta(days=1), end=date(2027, 5, 31)),
        PhaseSpan(phase="peak", start=date(2027, 6, 2), end=date(2027, 6, 20)),
        PhaseSpan(phase="build", start=date(2027, 6, 21), end=date(2027, 6, 20)),
    ]
    errors = mission_errors(prep_start=prep, event_start=TOUR_START, event_end=TOUR_END, phases=bad)
    assert [(e.loc, e.code) for e in errors] == [
        (("phases", 0, "start"), "phases_start"),
        (("phases", 1, "start"), "phases_not_consecutive"),
        (("phases", 2, "end"), "phase_end_before_start"),
        (("phases", 2, "phase"), "phases_order"),
        (("phases", 2, "end"), "phases_end"),
    ]


# --------------------------------------------------------------------------------------------
# The lifecycle


OWNER_ALLOWED = {(S.PREP, S.TRAINING), (S.TRAINING, S.PREP), (S.MISSION_COMPLETE, S.ARCHIVED)}
CLOCK_ONLY = {(S.TRAINING, S.EVENT_ACTIVE), (S.EVENT_ACTIVE, S.MISSION_COMPLETE)}


@pytest.mark.parametrize("source", ALL_STATES)
@pytest.mark.parametrize("target", ALL_STATES)
def test_every_owner_move_is_allowed_or_refused_with_its_code(source, target):
    mission = tour_mission()
    if (source, target) in OWNER_ALLOWED:
        move = transition(mission, source, target, now_utc=IN_TRAINING)
        assert (move.source, move.target, move.trigger) == (source, target, "owner")
        return
    with pytest.raises(TransitionRefused) as caught:
        transition(mission, source, target, now_utc=IN_TRAINING)
    if source == target:
        expected = "transition_same_state"
    elif source == S.ARCHIVED:
        expected = "mission_archived"
    elif (source, target) in CLOCK_ONLY:
        expected = "transition_automatic"
    else:
        expected = "transition_not_allowed"
    assert caught.value.code == expected
    assert caught.value.params["source"] == source.value


def test_one_active_mission_at_a_time():
    mission = tour_mission()
    assert is_active(S.TRAINING) and is_active(S.EVENT_ACTIVE)
    assert not any(is_active(s) for s in (S.PREP, S.MISSION_COMPLETE, S.ARCHIVED))
    assert may_start([S.PREP, S.ARCHIVED, S.MISSION_COMPLETE])
    for busy in (S.TRAINING, S.EVENT_ACTIVE):
        assert not may_start([S.PREP, busy])
        with pytest.raises(TransitionRefused) as caught:
            transition(mission, S.PREP, S.TRAINING, now_utc=IN_TRAINING, other_states=[busy])
        assert caught.value.code == "another_mission_active"
    started = transition(
        mission, S.PREP, S.TRAINING, now_utc=IN_TRAINING, other_states=[S.ARCHIVED]
    )
    assert started.target == S.TRAINING
    assert is_locked(S.MISSION_COMPLETE) and is_locked(S.ARCHIVED) and not is_locked(S.TRAINING)


def test_start_and_back_follow_the_event_in_the_missions_time_zone():
    mission = tour_mission()
    # Back to preparation until the event's first day begins in Seoul.
    assert transition(mission, S.TRAINING, S.PREP, now_utc=BEFORE_START).target == S.PREP
    with pytest.raises(TransitionRefused) as caught:
        transition(mission, S.TRAINING, S.PREP, now_utc=AT_START)
    assert caught.value.code == "event_started"
    assert caught.value.params["event_start"] == "2027-07-03"
    # Starting during the event is allowed (the clock then moves it on); after it, refused.
    assert transition(mission, S.PREP, S.TRAINING, now_utc=AT_START).target == S.TRAINING
    after = datetime(2027, 7, 25, 15, 0, tzinfo=UTC)  # 00:00 on 26 July in Seoul
    assert transition(mission, S.PREP, S.TRAINING, now_utc=after - timedelta(seconds=1))
    with pytest.raises(TransitionRefused) as caught:
        transition(mission, S.PREP, S.TRAINING, now_utc=after)
    assert caught.value.code == "event_already_over"


def test_the_event_starts_at_midnight_in_seoul_not_in_utc():
    mission = tour_mission()
    assert due_transitions(mission, S.TRAINING, BEFORE_START) == []
    [move] = due_transitions(mission, S.TRAINING, AT_START)
    assert (move.source, move.target, move.trigger) == (S.TRAINING, S.EVENT_ACTIVE, "clock")
    assert move.due_at == AT_START
    # Still 2 July in UTC, but the event has started in Seoul; a UTC midnight changes nothing.
    assert AT_START.date() == date(2027, 7, 2)
    assert due_transitions(mission, S.TRAINING, datetime(2027, 7, 2, 0, 0, tzinfo=UTC)) == []


def test_the_mission_completes_at_midnight_after_the_last_day_in_seoul():
    mission = tour_mission()
    last_evening = datetime(2027, 7, 25, 14, 59, 59, tzinfo=UTC)  # 23:59:59 on 25 July
    assert due_transitions(mission, S.EVENT_ACTIVE, last_evening) == []
    [move] = due_transitions(mission, S.EVENT_ACTIVE, last_evening + timedelta(seconds=1))
    assert (move.source, move.target) == (S.EVENT_ACTIVE, S.MISSION_COMPLETE)
    assert move.due_at == datetime(2027, 7, 25, 15, 0, tzinfo=UTC)


def test_after_days_of_downtime_every_missed_move_comes_in_order():
    mission = tour_mission()
    back_on = datetime(2027, 7, 30, 3, 0, tzinfo=UTC)  # the NAS was off for the whole tour
    moves = due_transitions(mission, S.TRAINING, back_on)
    assert [(m.source, m.target) for m in moves] == [
        (S.TRAINING, S.EVENT_ACTIVE),
        (S.EVENT_ACTIVE, S.MISSION_COMPLETE),
    ]
    assert [m.due_at for m in moves] == [
        datetime(2027, 7, 2, 15, 0, tzinfo=UTC),
        datetime(2027, 7, 25, 15, 0, tzinfo=UTC),
    ]
    assert moves[0].as_dict()["due_at"] == "2027-07-02T15:00:00+00:00"
    # A mission the owner never started waits; finished ones stay where they are.
    for state in (S.PREP, S.MISSION_COMPLETE, S.ARCHIVED):
        assert due_transitions(mission, state, back_on) == []


def test_the_clock_needs_an_aware_moment():
    with pytest.raises(ValueError, match="aware"):
        due_transitions(tour_mission(), S.TRAINING, datetime(2027, 7, 3, 12, 0))


# --------------------------------------------------------------------------------------------
# Phases and the countdown


@pytest.mark.parametrize(
    ("days", "phase"),
    [
        (100, "base"),
        (43, "base"),
        (42, "build"),
        (22, "build"),
        (21, "peak"),
        (8, "peak"),
        (7, "taper"),
        (1, "taper"),
        (0, "event"),
    ],
)
def test_phases_by_days_to_the_event(days, phase):
    assert phase_for_days(days) == phase
    mission = tour_mission()
    assert phase_on(mission, TOUR_START - timedelta(days=days)) == phase


def test_during_and_after_the_event_and_own_phases_win():
    mission = tour_mission()
    assert phase_on(mission, TOUR_END) == "event"
    assert phase_on(mission, TOUR_END + timedelta(days=1)) == "after"
    prep = date(2027, 3, 1)
    own = [
        PhaseSpan(phase="base", start=prep, end=date(2027, 4, 30)),
        PhaseSpan(phase="build", start=date(2027, 5, 1), end=date(2027, 6, 25)),
        PhaseSpan(phase="taper", start=date(2027, 6, 26), end=TOUR_START - timedelta(days=1)),
    ]
    custom = tour_mission(phases=own)
    day = TOUR_START - timedelta(days=10)  # peak by days; build in the mission's own phases
    assert phase_on(mission, day) == "peak" and phase_on(custom, day) == "build"


def test_countdown_before_during_and_after():
    mission = tour_mission()
    before = countdown(mission, TOUR_START - timedelta(days=30))
    assert (before.phase, before.days_to_event, before.event_day, before.stage) == (
        "build",
        30,
        None,
        None,
    )
    assert before.stages_total == 21 and before.stages_before == 0
    rest = countdown(mission, TOUR_START + timedelta(days=9))
    assert (rest.phase, rest.event_day, rest.stage.type, rest.stages_before) == (
        "event",
        10,
        "rest",
        9,
    )
    stage_ten = countdown(mission, TOUR_START + timedelta(days=10))
    assert stage_ten.stage.number == 10 and stage_ten.event_day == 11
    after = countdown(mission, TOUR_END + timedelta(days=3))
    assert (after.phase, after.days_after, after.stages_before) == ("after", 3, 21)
    assert after.as_dict()["stage"] is None and rest.as_dict()["stage"]["type"] == "rest"
