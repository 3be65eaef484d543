"""Ride modes from the ride, the stage's activity, points, bonuses, corrections, the table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from app.coach.points import (
    DEFAULT_POINTS,
    CorrectionsInvalid,
    ModeThreshold,
    ModeThresholds,
    PointsSchema,
    Stage,
    StageActivity,
    StageCorrection,
    bonus_opportunities,
    correction_errors,
    expected_points,
    match_activity,
    ride_mode,
    score_event,
)
from tests.support.missions import (
    COACH_TABLE,
    TOUR_START,
    TOUR_TYPES,
    TOUR_ZONE,
    ride,
    stage_day,
    tour_rides,
    tour_stages,
)

MOUNTAINS = [n for n, kind in TOUR_TYPES.items() if kind == "mountain"]  # 10 12 14 16 18 19
BREAKAWAYS = sorted([2, 4, 6, 20, *MOUNTAINS])  # ten breakaways, the tenth on stage 20


def points_of(number: int, mode: str) -> int:
    gc, breakaway = COACH_TABLE[TOUR_TYPES[number]]
    return {"gc": gc, "breakaway": breakaway}.get(mode, 0)


# --------------------------------------------------------------------------------------------
# Ride modes


@pytest.mark.parametrize(
    ("intensity_factor", "tss", "mode"),
    [
        (0.85, 60.0, "breakaway"),
        (0.85 - 1e-12, 60.0, "breakaway"),  # the 0.85 an IF computation lands a hair under
        (0.849, 60.0, "gc"),
        (0.85, 59.9, "gc"),
        (1.05, 300.0, "breakaway"),
        (0.70, 40.0, "gc"),
        (0.699, 40.0, "rest"),
        (0.70, 39.9, "rest"),
        (0.95, 39.0, "rest"),  # a hard but short spin completes nothing
        (None, 90.0, "rest"),
        (0.9, None, "rest"),
    ],
)
def test_ride_mode_at_the_thresholds_edges(intensity_factor, tss, mode):
    assert ride_mode(intensity_factor, tss, DEFAULT_POINTS) == mode


def test_thresholds_come_from_the_schema():
    easy = PointsSchema(
        thresholds=ModeThresholds(
            gc=ModeThreshold(min_if=0.6, min_tss=30),
            breakaway=ModeThreshold(min_if=0.8, min_tss=50),
        )
    )
    assert ride_mode(0.8, 50, easy) == "breakaway"
    assert ride_mode(0.8, 50, DEFAULT_POINTS) == "gc"
    assert ride_mode(0.6, 30, easy) == "gc"
    with pytest.raises(ValidationError) as caught:
        ModeThresholds(
            gc=ModeThreshold(min_if=0.8, min_tss=40),
            breakaway=ModeThreshold(min_if=0.75, min_tss=60),
        )
    assert caught.value.errors()[0]["type"] == "thresholds_order"


def test_the_default_schema_is_the_coach_table():
    for kind, (gc, breakaway) in COACH_TABLE.items():
        assert DEFAULT_POINTS.stage_points.points(kind, "gc") == gc
        assert DEFAULT_POINTS.stage_points.points(kind, "breakaway") == breakaway
        assert DEFAULT_POINTS.stage_points.points(kind, "rest") == 0
    assert [(b.kind, getattr(b, "count", None), b.points) for b in DEFAULT_POINTS.bonuses] == [
        ("stages_in_row", 5, 5),
        ("breakaways", 10, 15),
        ("mountains_in_breakaway", None, 10),
        ("final_week", None, 10),
        ("all_stages", None, 25),
    ]


# --------------------------------------------------------------------------------------------
# Which activity rode the stage


def test_the_stage_takes_that_days_biggest_load_in_the_missions_time_zone():
    stage = tour_stages()[0]  # 3 July
    late_utc = StageActivity(
        "late",
        datetime(2027, 7, 2, 15, 30, tzinfo=UTC),  # 00:30 on 3 July in Seoul
        "ride",
        tss=140.0,
        intensity_factor=0.8,
    )
    evening = ride(stage.date, "gc", activity_id="evening")
    spin = ride(stage.date, "rest", activity_id="spin", local_hour=7)
    day_before = ride(stage.date - timedelta(days=1), "breakaway", activity_id="before", tss=300)
    run = ride(stage.date, "breakaway", activity_id="run", sport="run", tss=400)
    candidates = [spin, evening, late_utc, day_before, run]
    assert match_activity(stage, candidates, TOUR_ZONE, sports=["ride"]).activity_id == "late"
    assert match_activity(stage, candidates, TOUR_ZONE).activity_id == "run"
    assert match_activity(stage, candidates, "UTC", sports=["ride"]).activity_id == "evening"
    assert (
        match_activity(stage, candidates, TOUR_ZONE, sports=["ride"], exclude=["late"]).activity_id
        == "evening"
    )
    rest_day = tour_stages()[9]
    assert rest_day.type == "rest"
    assert match_activity(rest_day, [ride(rest_day.date, "gc")], TOUR_ZONE) is None
    assert match_activity(stage, [], TOUR_ZONE) is None


def test_equal_loads_are_settled_the_same_way_every_time():
    stage = tour_stages()[0]
    first = ride(stage.date, "gc", activity_id="b", local_hour=8)
    second = ride(stage.date, "gc", activity_id="a", local_hour=18)
    assert match_activity(stage, [second, first], TOUR_ZONE).activity_id == "b"  # earlier start
    assert match_activity(stage, [first, second], TOUR_ZONE).activity_id == "b"


def test_an_activity_needs_an_aware_start():
    with pytest.raises(ValueError, match="time zone"):
        StageActivity("x", datetime(2027, 7, 3, 9, 0), "ride", 50.0, 0.8)


# --------------------------------------------------------------------------------------------
# A scored 21-stage tour


def scripted_tour() -> dict[int, str]:
    """Every stage ridden: breakaway on the six mountain stages and stages 2, 4, 6 and 20."""
    return {n: ("breakaway" if n in BREAKAWAYS else "gc") for n in range(1, 22)}


def test_a_21_stage_tour_scores_every_bonus_like_a_tours_classification():
    modes = scripted_tour()
    score = score_event(
        tour_stages(), tour_rides(modes, extra_per_day=2), time_zone=TOUR_ZONE, sports=["ride"]
    )
    assert len(score.results) == 23
    racing = score.racing()
    assert [r.stage.number for r in racing] == list(range(1, 22))
    assert [r.mode for r in racing] == [modes[n] for n in range(1, 22)]
    assert all(r.detected_mode == r.mode and r.status == "done" for r in racing)
    assert all(r.activity.activity_id.endswith("-18") for r in racing)  # not the easy spins
    assert [r.points for r in racing] == [points_of(n, modes[n]) for n in range(1, 22)]
    earned = {(a.kind, a.stage) for a in score.bonuses}
    assert earned == {
        ("stages_in_row", 5),  # the fifth stage in a row
        ("breakaways", 20),  # the tenth breakaway
        ("mountains_in_breakaway", 19),  # the last mountain stage
        ("final_week", 21),
        ("all_stages", 21),
    }
    stage_points = sum(points_of(n, modes[n]) for n in range(1, 22))
    assert score.stage_points == stage_points
    assert score.bonus_points == 5 + 15 + 10 + 10 + 25
    assert score.total == stage_points + 65
    running = 0
    for result in score.results:
        running += result.points + result.bonus_points
        assert result.total == running
    rest_days = [r for r in score.results if r.status == "rest_day"]
    assert [r.stage.date for r in rest_days] == [
        TOUR_START + timedelta(days=9),
        stage_day(16) - timedelta(days=1),
    ]
    assert all(r.points == 0 and r.mode is None for r in rest_days)
    assert score.as_dict()["total"] == score.total
    assert score.count("breakaway") == 10 and score.count("gc") == 11


def test_a_missed_stage_and_a_soft_ride_cost_their_bonuses():
    modes = scripted_tour()
    del modes[18]  # no ride on stage 18, a mountain stage of the final week
    modes[3] = "rest"  # stage 3 ridden too easy to count
    score = score_event(tour_stages(), tour_rides(modes), time_zone=TOUR_ZONE)
    by_number = {r.stage.number: r for r in score.racing()}
    assert (by_number[18].status, by_number[18].mode, by_number[18].points) == ("missed", None, 0)
    assert (by_number[3].status, by_number[3].mode, by_number[3].points) == ("done", "rest", 0)
    earned = {(a.kind, a.stage) for a in score.bonuses}
    # The run restarts after stage 3: stages 4-8 make five in a row. Nine breakaways only.
    assert earned == {("stages_in_row", 8)}
    assert score.bonus_points == 5


def test_an_event_in_progress_has_pending_and_upcoming_stages_that_break_nothing():
    modes = {n: scripted_tour()[n] for n in range(1, 12)}  # stages 1-11 ridden
    today = stage_day(12)
    score = score_event(tour_stages(), tour_rides(modes), time_zone=TOUR_ZONE, today=today)
    statuses = {r.stage.number: r.status for r in score.racing()}
    assert statuses[11] == "done" and statuses[12] == "pending" and statuses[13] == "upcoming"
    assert {a.kind for a in score.bonuses} == {"stages_in_row"}
    # Riding stage 12 (a mountain) in a breakaway: its 15 points; GC: 10. No bonus completes.
    assert expected_points(score, 12, "breakaway") == 15
    assert expected_points(score, 12, "gc") == 10
    assert expected_points(score, 12, "rest") == 0
    open_bonuses = {o.kind: o for o in bonus_opportunities(score, 12)}
    assert set(open_bonuses) == {"breakaways", "mountains_in_breakaway", "final_week", "all_stages"}
    assert (open_bonuses["breakaways"].progress, open_bonuses["breakaways"].needed) == (4, 10)
    assert open_bonuses["mountains_in_breakaway"].mode == "breakaway"
    assert open_bonuses["mountains_in_breakaway"].progress == 1
    assert not any(o.completes_today for o in open_bonuses.values())


def test_expected_points_include_the_bonus_a_stage_would_complete():
    modes = {n: scripted_tour()[n] for n in range(1, 21)}  # through stage 20
    today = stage_day(21)
    score = score_event(tour_stages(), tour_rides(modes), time_zone=TOUR_ZONE, today=today)
    # Stage 21 (flat) completes the final week and every stage: 8 + 10 + 25 in a breakaway.
    assert expected_points(score, 21, "breakaway") == 8 + 10 + 25
    assert expected_points(score, 21, "gc") == 5 + 10 + 25
    assert expected_points(score, 21, "rest") == 0
    chances = {o.kind: o.completes_today for o in bonus_opportunities(score, 21)}
    assert chances == {"final_week": True, "all_stages": True}


def test_a_lost_bonus_is_no_longer_offered():
    modes = {n: scripted_tour()[n] for n in range(1, 11)}
    modes[10] = "gc"  # the first mountain stage ridden in GC
    score = score_event(tour_stages(), tour_rides(modes), time_zone=TOUR_ZONE, today=stage_day(11))
    kinds = {o.kind for o in bonus_opportunities(score, 11)}
    assert "mountains_in_breakaway" not in kinds and "all_stages" in kinds


# --------------------------------------------------------------------------------------------
# Corrections


def test_corrections_change_the_mode_or_the_activity_and_keep_their_reason():
    modes = scripted_tour()
    rides = tour_rides(modes)
    moved = ride(stage_day(8), "breakaway", activity_id="stage7-late", local_hour=1)
    corrections = [
        StageCorrection(stage=5, mode="breakaway", reason="Power meter read 8 % low that day."),
        StageCorrection(stage=7, activity_id="stage7-late", reason="Rode stage 7 after midnight."),
    ]
    plain = score_event(tour_stages(), [*rides, moved], time_zone=TOUR_ZONE)
    fixed = score_event(
        tour_stages(), [*rides, moved], time_zone=TOUR_ZONE, corrections=corrections
    )
    before = {r.stage.number: r for r in plain.racing()}
    after = {r.stage.number: r for r in fixed.racing()}
    assert (before[5].mode, after[5].detected_mode, after[5].mode) == ("gc", "gc", "breakaway")
    assert after[5].points == points_of(5, "breakaway")
    assert after[5].correction.reason == "Power meter read 8 % low that day."
    assert before[7].mode == "gc" and after[7].activity.activity_id == "stage7-late"
    assert after[7].detected_mode == "breakaway" and after[7].points == points_of(7, "breakaway")
    # Stage 8 had both rides on its day: the corrected one went to stage 7; stage 8 keeps its own.
    assert before[8].activity.activity_id == "stage7-late"
    assert after[8].activity.activity_id != "stage7-late" and after[8].mode == "gc"
    # Two more breakaways: the tenth comes earlier.
    assert {a.kind: a.stage for a in fixed.bonuses}["breakaways"] < 20
    assert fixed.as_dict()["stages"][4]["correction"]["reason"].startswith("Power meter")


def test_a_mode_correction_completes_a_missed_stage():
    modes = {n: "gc" for n in range(1, 22) if n != 4}
    corrections = [
        StageCorrection(stage=4, mode="gc", reason="Rode outdoors without the computer.")
    ]
    score = score_event(
        tour_stages(), tour_rides(modes), time_zone=TOUR_ZONE, corrections=corrections
    )
    stage_four = score.result(4)
    assert (stage_four.status, stage_four.activity, stage_four.mode) == ("done", None, "gc")
    assert "all_stages" in {a.kind for a in score.bonuses}


def test_corrections_that_cannot_apply_are_refused_with_their_codes():
    rides = tour_rides({1: "gc", 2: "gc"})
    known = rides[0].activity_id
    corrections = [
        StageCorrection(stage=30, mode="gc", reason="x"),
        StageCorrection(stage=2, mode="gc", reason="x"),
        StageCorrection(stage=2, mode="breakaway", reason="again"),
        StageCorrection(stage=3, activity_id="nope", reason="x"),
        StageCorrection(stage=4, activity_id=known, reason="x"),
        StageCorrection(stage=5, activity_id=known, reason="x"),
    ]
    errors = correction_errors(tour_stages(), rides, corrections)
    assert [(e.index, e.code) for e in errors] == [
        (0, "correction_unknown_stage"),
        (2, "correction_repeated"),
        (3, "correction_unknown_activity"),
        (5, "correction_activity_repeated"),
    ]
    assert errors[3].params == {"stage": 5, "other_stage": 4, "activity_id": known}
    with pytest.raises(CorrectionsInvalid) as caught:
        score_event(tour_stages(), rides, corrections=corrections, time_zone=TOUR_ZONE)
    assert len(caught.value.errors) == 4
    with pytest.raises(ValidationError) as invalid:
        StageCorrection(stage=1, reason="nothing to change")
    assert invalid.value.errors()[0]["type"] == "correction_empty"
    with pytest.raises(ValidationError):
        StageCorrection(stage=1, mode="gc", reason="   ")


def test_scoring_is_pure():
    stages = tour_stages()
    rides = tour_rides(scripted_tour())
    first = score_event(stages, rides, time_zone=TOUR_ZONE)
    again = score_event(stages, list(reversed(rides)), time_zone=TOUR_ZONE)
    assert first.as_dict() == again.as_dict()
    assert stages == tour_stages()
    assert isinstance(Stage.model_validate(stages[0].model_dump()), Stage)
