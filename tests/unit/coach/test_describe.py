"""A workout's structure in words, in Korean and English, metric and imperial."""

from __future__ import annotations

from typing import Any

import pytest

from app import i18n
from app.coach.describe import (
    describe_step,
    describe_workout,
    distance_words,
    length_words,
    target_words,
)
from app.coach.estimate import estimate_plan, estimate_workout
from app.coach.example import plan_example
from app.coach.plans import PlannedWorkout
from app.coach.workouts import PowerRangeTarget, Step
from tests.support.plans import THRESHOLDS


def planned(sport: str, *items: dict[str, Any]) -> PlannedWorkout:
    return PlannedWorkout.model_validate(
        {
            "id": "w1",
            "date": "2027-03-02",
            "sport": sport,
            "name": "Session",
            "structure": {"steps": list(items)},
        }
    )


def step(kind: str, duration: dict[str, Any], target: dict[str, Any] | None = None, note=None):
    item: dict[str, Any] = {"kind": "step", "type": kind, "duration": duration}
    if target is not None:
        item["target"] = target
    if note is not None:
        item["note"] = note
    return item


def minutes(value: int) -> dict[str, Any]:
    return {"kind": "time", "seconds": value * 60}


THRESHOLD_RIDE = planned(
    "ride",
    step("warmup", minutes(15), {"kind": "hr_zone", "zone": 2}),
    {
        "kind": "repeat",
        "times": 5,
        "steps": [
            step("interval", minutes(4), {"kind": "power_range", "low_w": 245, "high_w": 265}),
            step("recovery", minutes(3)),
        ],
    },
    step("cooldown", minutes(10)),
)


def test_a_ride_in_english_and_korean():
    assert describe_workout(THRESHOLD_RIDE, None, "en", "metric") == (
        "Warm-up 15 min in heart-rate zone 2 · 5 × (4 min at 245–265 W · 3 min recovery) · "
        "Cool-down 10 min"
    )
    assert describe_workout(THRESHOLD_RIDE, None, "ko", "metric") == (
        "워밍업 15분 (심박 존 2) · 5 × (4분 245–265 W · 회복 3분) · 쿨다운 10분"
    )
    estimate = estimate_workout(THRESHOLD_RIDE, THRESHOLDS)
    assert estimate.duration_s == 3600
    distance = f"{estimate.distance_m / 1000:.1f} km"
    assert describe_workout(THRESHOLD_RIDE, estimate, "en").endswith(f" — about 1 h, {distance}")
    assert describe_workout(THRESHOLD_RIDE, estimate, "ko").endswith(f" — 약 1시간, {distance}")


def test_a_run_with_paces_in_metric_and_imperial_with_the_estimate():
    plan = plan_example()
    run = plan.workout("w1-tue-run")
    assert run is not None
    estimate = estimate_plan(plan, THRESHOLDS)[run.id]
    english = describe_workout(run, estimate, "en", "metric")
    assert english.startswith(
        "Warm-up 15 min in heart-rate zone 2 · 4 × (1 km at 4:10–4:20 /km "
        "(10 k pace or a touch quicker) · 2 min recovery in heart-rate zone 1) · Cool-down 10 min"
        " — about "
    )
    minutes_total = round(estimate.duration_s / 60)
    assert english.endswith(f" — about {minutes_total} min, {estimate.distance_m / 1000:.1f} km")
    imperial = describe_workout(run, estimate, "en", "imperial")
    assert "4 × (0.62 mi at 6:42–6:58 /mi" in imperial
    assert imperial.endswith(" mi")
    korean = describe_workout(run, estimate, "ko", "metric")
    assert korean.startswith("워밍업 15분 (심박 존 2) · 4 × (1 km 4:10–4:20 /km")
    assert f"— 약 {minutes_total}분, " in korean


def test_a_swim_goes_by_metres_and_pace_per_100_m_whatever_the_units():
    swim = plan_example().workout("w1-wed-swim")
    assert swim is not None
    text = describe_workout(swim, None, "en", "imperial")
    assert text == ("Warm-up 300 m · 6 × (100 m at 1:45–1:50 /100 m · 20 s rest) · Cool-down 200 m")
    assert describe_workout(swim, None, "ko", "metric") == (
        "워밍업 300 m · 6 × (100 m 1:45–1:50 /100 m · 휴식 20초) · 쿨다운 200 m"
    )


def test_lap_button_open_cadence_zones_and_notes():
    ride = plan_example().workout("w1-thu-ride")
    strength = plan_example().workout("w1-wed-strength")
    assert ride is not None and strength is not None
    assert describe_workout(ride, None, "en", "metric") == (
        "Warm-up 10 min in power zone 2 · 2 × (8 min at 225–240 W · 4 min recovery at a cadence "
        "of 85–95 rpm) · Cool-down until you press lap (Spin easy until you press lap)"
    )
    assert describe_workout(ride, None, "ko", "metric") == (
        "워밍업 10분 (파워 존 2) · 2 × (8분 225–240 W · 회복 4분 (케이던스 85–95 rpm)) · "
        "쿨다운 랩 버튼을 누를 때까지 (Spin easy until you press lap)"
    )
    assert describe_workout(strength, None, "en", "metric") == (
        "Warm-up 5 min · open-ended (Core circuit: three rounds)"
    )
    easy = plan_example().workout("w1-sat-run")
    assert easy is not None
    assert describe_workout(easy, None, "en", "metric") == "40 min at 128–142 bpm"
    cadence = Step.model_validate(
        step("interval", minutes(5), {"kind": "cadence", "low_rpm": 170, "high_rpm": 180})
    )
    assert describe_step(cadence, "run", "en") == "5 min at a cadence of 170–180 spm"


@pytest.mark.parametrize(
    ("seconds", "english", "korean"),
    [
        (45, "45 s", "45초"),
        (60, "1 min", "1분"),
        (270, "4 min 30 s", "4분 30초"),
        (3600, "1 h", "1시간"),
        (5400, "1 h 30 min", "1시간 30분"),
        (3630, "1 h 0 min 30 s", "1시간 0분 30초"),
        (0, "0 s", "0초"),
    ],
)
def test_lengths(seconds, english, korean):
    with i18n.using("en"):
        assert length_words(seconds) == english
    with i18n.using("ko"):
        assert length_words(seconds) == korean


@pytest.mark.parametrize(
    ("meters", "sport", "units", "expected"),
    [
        (400, "run", "metric", "400 m"),
        (1000, "run", "metric", "1 km"),
        (1500, "run", "metric", "1.5 km"),
        (42195, "run", "metric", "42.2 km"),
        (1250, "run", "metric", "1.25 km"),
        (10550, "ride", "metric", "10.6 km"),
        (1609.344, "run", "imperial", "1 mi"),
        (1000, "run", "imperial", "0.62 mi"),
        (1500, "swim", "imperial", "1,500 m"),
    ],
)
def test_distances(meters, sport, units, expected):
    with i18n.using("en", units):
        assert distance_words(meters, sport) == expected


def test_targets_alone_and_single_values():
    with i18n.using("en"):
        same = {"kind": "power_range", "low_w": 250, "high_w": 250}
        assert target_words(PowerRangeTarget.model_validate(same), "ride") == "250 W"


def test_the_callers_language_is_restored():
    token = i18n.current_locale.set("en")
    try:
        assert "워밍업" in describe_workout(THRESHOLD_RIDE, None, "ko")
        assert i18n.current_locale.get() == "en"
        assert describe_workout(THRESHOLD_RIDE).startswith("Warm-up")
    finally:
        i18n.current_locale.reset(token)
