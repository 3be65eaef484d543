"""Time in target: steps laid on an activity's samples by elapsed time (time, distance, lap
button and open steps), and the share of the targeted time inside each step's target."""

from __future__ import annotations

import numpy as np
import pytest

from app.coach.estimate import Thresholds
from app.coach.time_in_target import lay_steps, target_bounds, time_in_target
from app.coach.workouts import Step, WorkoutStructure
from tests.support.plans import meters, pace, seconds, step

ELAPSED = np.arange(600, dtype=np.float64)  # ten minutes at 1 Hz


def _structure(*steps) -> WorkoutStructure:
    return WorkoutStructure.model_validate({"steps": list(steps)})


def _hr(low: int, high: int) -> dict:
    return {"kind": "hr_range", "low_bpm": low, "high_bpm": high}


def test_time_steps_count_the_seconds_inside_their_ranges():
    heart_rate = np.where(ELAPSED < 300, 120.0, 160.0)
    structure = _structure(
        step("warmup", seconds(300), _hr(110, 130)),  # all in
        step("interval", seconds(300), _hr(165, 175)),  # all below
    )
    found = time_in_target(
        structure, Thresholds(), elapsed_s=ELAPSED, channels={"heart_rate": heart_rate}
    )
    assert (found.in_target_s, found.targeted_s) == (300.0, 600.0)
    assert found.share == 0.5


def test_a_distance_step_ends_when_the_recorded_distance_has_grown_by_its_meters():
    speed = np.where(ELAPSED < 200, 2.0, 4.0)  # 400 m in 200 s, then 4 m/s
    distance = np.concatenate([[0.0], np.cumsum(speed)[:-1]])  # covered before each sample
    laid = lay_steps(
        _structure(step("interval", meters(400), pace(240, 260)), step("recovery", seconds(60))),
        ELAPSED,
        distance,
        (),
    )
    assert [(p.start_s, p.end_s) for p in laid] == [(0.0, 200.0), (200.0, 260.0)]
    found = time_in_target(
        _structure(step("interval", meters(2000), pace(240, 260))),  # 3.85-4.17 m/s
        Thresholds(),
        elapsed_s=ELAPSED,
        channels={"speed": speed, "distance": distance},
    )
    # 400 m at 2 m/s (out of the range), then 4 m/s (in it) until the activity ends short of
    # the 2,000 m: the step ends with it.
    assert found.targeted_s == 600.0
    assert found.in_target_s == 400.0


def test_lap_button_and_open_steps_end_at_the_next_lap_and_are_skipped_without_laps():
    structure = _structure(
        step("warmup", {"kind": "lap_button"}, _hr(100, 200)),
        step("interval", seconds(100), _hr(100, 200)),
        step("cooldown", {"kind": "open"}, _hr(100, 200)),
    )
    laid = lay_steps(structure, ELAPSED, None, [0.0, 250.0, 500.0])
    assert [(p.step.type, p.start_s, p.end_s) for p in laid] == [
        ("warmup", 0.0, 250.0),
        ("interval", 250.0, 350.0),
        ("cooldown", 350.0, 500.0),
    ]
    alone = lay_steps(structure, ELAPSED, None, [0.0])  # one lap: nothing ends those steps
    assert [(p.step.type, p.start_s, p.end_s) for p in alone] == [("interval", 0.0, 100.0)]


def test_steps_stop_at_the_activitys_end_and_without_distance_a_distance_step_is_not_laid():
    structure = _structure(
        step("warmup", seconds(500)),
        step("interval", seconds(500)),
        step("recovery", seconds(60)),
    )
    laid = lay_steps(structure, ELAPSED, None, ())
    assert [(p.start_s, p.end_s) for p in laid] == [(0.0, 500.0), (500.0, 600.0)]
    no_distance = lay_steps(
        _structure(step("warmup", seconds(60)), step("interval", meters(1000))),
        ELAPSED,
        np.full(600, np.nan),
        (),
    )
    assert [(p.start_s, p.end_s) for p in no_distance] == [(0.0, 60.0)]


def test_gaps_count_at_most_five_seconds_and_missing_values_count_for_nothing():
    elapsed = np.array([0.0, 1.0, 2.0, 60.0, 61.0])
    heart_rate = np.array([150.0, np.nan, 150.0, 150.0, 150.0])
    found = time_in_target(
        _structure(step("other", seconds(120), _hr(140, 160))),
        Thresholds(),
        elapsed_s=elapsed,
        channels={"heart_rate": heart_rate},
    )
    # 0 → 1 s, 1 has no value, 2 → 5 s (the gap to 60 capped), 60 → 1 s, 61 → 1 s (the last).
    assert (found.in_target_s, found.targeted_s) == (8.0, 8.0)


def test_untargeted_steps_and_unknown_thresholds_count_for_neither():
    power = np.full(600, 200.0)
    structure = _structure(
        step("warmup", seconds(200)),
        step("interval", seconds(200), {"kind": "power_zone", "zone": 3}),
        step("other", seconds(200), {"kind": "cadence", "low_rpm": 80, "high_rpm": 90}),
    )
    without_ftp = time_in_target(
        structure, Thresholds(), elapsed_s=ELAPSED, channels={"power": power}
    )
    assert without_ftp.targeted_s == 0.0 and without_ftp.share is None
    with_ftp = time_in_target(
        structure, Thresholds(ftp_w=250), elapsed_s=ELAPSED, channels={"power": power}
    )
    assert (with_ftp.in_target_s, with_ftp.targeted_s) == (200.0, 200.0)  # 200 W is 80 % FTP


@pytest.mark.parametrize(
    ("target", "thresholds", "expected"),
    [
        ({"kind": "hr_zone", "zone": 2}, Thresholds(hr_max_bpm=200), ("heart_rate", 120, 140)),
        (
            {"kind": "hr_zone", "zone": 5},
            Thresholds(hr_zone_bounds_bpm=(100, 120, 140, 160, 175, 190)),
            ("heart_rate", 175, 190),
        ),
        ({"kind": "hr_zone", "zone": 2}, Thresholds(), None),
        (pace(240, 250), Thresholds(), ("speed", 4.0, 1000 / 240)),
        ({"kind": "power_range", "low_w": 170, "high_w": 185}, Thresholds(), ("power", 170, 185)),
        ({"kind": "power_zone", "zone": 2}, Thresholds(ftp_w=300), ("power", 168, 225)),
        ({"kind": "none"}, Thresholds(ftp_w=300), None),
    ],
)
def test_target_bounds(target, thresholds, expected):
    found = target_bounds(Step.model_validate(step("interval", seconds(60), target)), thresholds)
    if expected is None:
        assert found is None
    else:
        channel, low, high = expected
        assert found.channel == channel
        assert (found.low, found.high) == (pytest.approx(low), pytest.approx(high))
