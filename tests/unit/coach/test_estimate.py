"""Estimates of planned workouts: the reference vectors of the activity models, and defaults
worked out by hand."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from app.analytics.planned import (
    if_from_lthr_fraction,
    lthr_fraction_from_if,
    planned_intensity_load,
    power_zone_midpoint,
    three_zone,
)
from app.coach.estimate import (
    ASSUMED_STEP_S,
    DEFAULT_STEP_IF,
    Thresholds,
    estimate_plan,
    estimate_workout,
    week_totals,
)
from app.coach.example import plan_example
from app.coach.plans import PlannedWorkout
from tests.support.reference import load_reference, reference_dir
from tests.support.shared import unavailable

TOLERANCE = 1e-6
FULL = Thresholds(
    ftp_w=250, lthr_bpm=170, hr_max_bpm=190, hr_rest_bpm=50, threshold_pace_s_per_km=240
)


def reference(name: str) -> Any:
    data = load_reference(name)
    if data is None:
        unavailable(f"reference vectors {reference_dir() / name}")
    return data


def step(kind: str, duration: dict[str, Any], target: dict[str, Any] | None = None):
    item: dict[str, Any] = {"kind": "step", "type": kind, "duration": duration}
    if target is not None:
        item["target"] = target
    return item


def secs(value: int) -> dict[str, Any]:
    return {"kind": "time", "seconds": value}


def dist(value: float) -> dict[str, Any]:
    return {"kind": "distance", "meters": value}


def workout(sport: str, *items: dict[str, Any]) -> PlannedWorkout:
    return PlannedWorkout.model_validate(
        {
            "id": "w",
            "date": date(2027, 3, 2),
            "sport": sport,
            "name": "Test",
            "structure": {"steps": list(items)},
        }
    )


def _compressed(segments: list[list[float]]) -> list[dict[str, Any]]:
    """Segments as steps, a periodic pattern as one repeat group (structures hold 100 items)."""

    def as_step(seconds: float, watts: float) -> dict[str, Any]:
        w = int(watts)
        return step(
            "interval", secs(int(seconds)), {"kind": "power_range", "low_w": w, "high_w": w}
        )

    for period in range(1, len(segments) // 2 + 1):
        if len(segments) % period == 0 and segments == segments[:period] * (
            len(segments) // period
        ):
            return [
                {
                    "kind": "repeat",
                    "times": len(segments) // period,
                    "steps": [as_step(*s) for s in segments[:period]],
                }
            ]
    return [as_step(*s) for s in segments]


def test_rides_with_power_targets_score_the_tss_of_the_reference_vectors():
    cases = [c for c in reference("tss_vectors.json")["power_cases"] if c["standard"]["tss"]]
    assert len(cases) >= 4
    for case in cases:
        ride = workout("ride", *_compressed(case["segments_seconds_watts"]))
        estimate = estimate_workout(ride, Thresholds(ftp_w=case["ftp_w"]))
        assert estimate.load_model == "power"
        assert estimate.load == pytest.approx(case["standard"]["tss"], abs=TOLERANCE), case["name"]
        assert estimate.duration_s == case["duration_s"]
        assert estimate.intensity_factor == pytest.approx(case["standard"]["if"], abs=TOLERANCE)


def test_runs_with_pace_targets_score_the_rtss_of_the_reference_vectors():
    for case in reference("tss_vectors.json")["run_rtss_cases"]:
        pace = case["ngp_pace_s_per_km"]
        run = workout(
            "run",
            step(
                "interval",
                secs(int(case["minutes"] * 60)),
                {"kind": "pace_range", "fast_s_per_km": pace, "slow_s_per_km": pace},
            ),
        )
        threshold = Thresholds(threshold_pace_s_per_km=case["threshold_pace_s_per_km"])
        estimate = estimate_workout(run, threshold)
        assert estimate.load_model == "pace"
        assert estimate.load == pytest.approx(case["rtss"], abs=TOLERANCE)
        assert estimate.distance_m == pytest.approx(case["minutes"] * 60 * 1000 / pace)


SEX_VARIANTS = {"male": "male", "female_a064": "female_goldencheetah", "female_a086": "female"}


def test_heart_rate_targets_score_the_hrss_of_the_reference_vectors():
    cases = reference("tss_vectors.json")["hr_cases_constant_hr"]
    for case in cases:
        bpm = int(case["avg_hr"])
        ride = workout(
            "ride",
            step(
                "other",
                secs(int(case["minutes"] * 60)),
                {"kind": "hr_range", "low_bpm": bpm, "high_bpm": bpm},
            ),
        )
        thresholds = Thresholds(
            lthr_bpm=case["lthr"],
            hr_rest_bpm=case["hr_rest"],
            hr_max_bpm=case["hr_max"],
            sex=SEX_VARIANTS[case["sex_variant"]],
        )
        estimate = estimate_workout(ride, thresholds)
        assert estimate.load_model == "hr"
        assert estimate.load == pytest.approx(case["hrss_trimp100"], abs=TOLERANCE)


def test_an_untargeted_hour_uses_the_default_intensity_of_its_sport():
    ride = workout("ride", step("other", secs(3600)))
    estimate = estimate_workout(ride, Thresholds())
    # IF 0.65 for an hour: 1 h × 0.65² × 100 = 42.25; 36 km/h at FTP × 0.65^(1/3) for an hour.
    assert estimate.load_model == "default"
    assert estimate.load == pytest.approx(42.25)
    assert estimate.distance_m == pytest.approx(36000 * 0.65 ** (1 / 3))
    assert estimate.zone_s == (3600.0, 0.0, 0.0)
    strength = estimate_workout(workout("strength", step("other", secs(3600))), Thresholds())
    assert strength.load == pytest.approx(36.0)  # IF 0.6
    assert strength.distance_m is None


def test_distance_steps_take_their_time_from_the_target_pace_and_time_steps_their_distance():
    run = workout(
        "run",
        step(
            "interval",
            dist(1000),
            {"kind": "pace_range", "fast_s_per_km": 240, "slow_s_per_km": 260},
        ),
        step(
            "interval",
            secs(600),
            {"kind": "pace_range", "fast_s_per_km": 290, "slow_s_per_km": 310},
        ),
    )
    estimate = estimate_workout(run, FULL)
    assert estimate.duration_s == pytest.approx(250 + 600)  # 1 km at 4:10/km, then 10 min
    assert estimate.distance_m == pytest.approx(1000 + 2000)  # 10 min at 5:00/km = 2 km


def test_without_a_threshold_pace_distances_use_the_stated_default_and_say_so():
    run = workout("run", step("other", secs(3600)))
    estimate = estimate_workout(run, Thresholds())
    # Easy IF 0.78 of the 5:00/km default threshold speed: 2.6 m/s for an hour.
    assert estimate.distance_m == pytest.approx(3600 * 1000 / 300 * 0.78)
    assert estimate.load == pytest.approx(0.78**2 * 100)
    assert estimate.missing == ("threshold_pace",)
    easy_distance = workout("run", step("other", dist(9360)))
    assert estimate_workout(easy_distance, Thresholds()).duration_s == pytest.approx(3600)


def test_swims_by_distance_take_their_time_from_the_swim_threshold():
    swim = workout("swim", step("other", dist(1000)))
    css = estimate_workout(swim, Thresholds(swim_threshold_pace_s_per_km=1000))
    # Easy swim IF 0.78 of 1 m/s: 1000 m in 1000 / 0.78 s.
    assert css.duration_s == pytest.approx(1000 / 0.78)
    assert css.missing == ()
    default = estimate_workout(swim, Thresholds())
    assert default.duration_s == pytest.approx(1200 / 0.78)
    assert default.missing == ("swim_threshold_pace",)
    rest = workout("swim", step("interval", dist(100)), step("rest", secs(20)))
    rested = estimate_workout(rest, Thresholds(swim_threshold_pace_s_per_km=1000))
    assert rested.distance_m == pytest.approx(100)  # standing at the wall covers no distance
    assert rested.duration_s == pytest.approx(100 / 0.95 + 20)


def test_lap_button_and_open_steps_last_their_stated_default():
    ride = workout(
        "ride",
        step("warmup", {"kind": "lap_button"}),
        step("other", {"kind": "open"}),
        step("cooldown", secs(300)),
    )
    estimate = estimate_workout(ride, Thresholds())
    assert ASSUMED_STEP_S["warmup"] == 600 and ASSUMED_STEP_S["other"] == 1800
    assert estimate.duration_s == 600 + 1800 + 300
    assert estimate.assumed_steps == 2


def test_steps_without_the_deciding_target_take_default_watts_in_a_power_ride():
    ride = workout(
        "ride",
        step("warmup", secs(600)),
        step("interval", secs(1200), {"kind": "power_range", "low_w": 240, "high_w": 260}),
    )
    estimate = estimate_workout(ride, FULL)
    same = workout(
        "ride",
        step("warmup", secs(600), {"kind": "power_range", "low_w": 150, "high_w": 150}),
        step("interval", secs(1200), {"kind": "power_range", "low_w": 250, "high_w": 250}),
    )
    # The warm-up defaults to IF 0.60: 150 W at FTP 250.
    assert DEFAULT_STEP_IF["ride"]["warmup"] == 0.60
    assert estimate.load == pytest.approx(estimate_workout(same, FULL).load)
    assert estimate.load_model == "power"


def test_power_zones_take_the_middle_of_coggans_levels():
    ride = workout("ride", step("interval", secs(3600), {"kind": "power_zone", "zone": 4}))
    estimate = estimate_workout(ride, FULL)
    assert power_zone_midpoint(4) == pytest.approx(0.98)  # 91-105 % FTP
    assert estimate.load == pytest.approx(0.98**2 * 100)
    assert estimate.zone_s == (0.0, 0.0, 3600.0)


def test_a_model_needs_its_thresholds_or_falls_back_and_says_which_is_missing():
    ride = workout(
        "ride", step("interval", secs(3600), {"kind": "power_range", "low_w": 200, "high_w": 200})
    )
    estimate = estimate_workout(ride, Thresholds(lthr_bpm=170))
    assert estimate.load_model == "default"
    assert estimate.missing == ("ftp",)
    assert estimate.load == pytest.approx(DEFAULT_STEP_IF["ride"]["interval"] ** 2 * 100)
    run = workout(
        "run", step("other", secs(3600), {"kind": "hr_range", "low_bpm": 150, "high_bpm": 150})
    )
    only_max = estimate_workout(run, Thresholds(hr_max_bpm=190, threshold_pace_s_per_km=250))
    # LTHR falls back to 90 % of HRmax (171): 150 bpm is 0.877 LTHR → IF between tempo anchors.
    expected_if = if_from_lthr_fraction(150 / 171)
    assert only_max.load_model == "default"
    assert only_max.load == pytest.approx(expected_if**2 * 100)
    assert 0.80 < expected_if < 0.82


def test_heart_rate_zones_use_the_watch_zones_or_garmins_default_percentages():
    run = workout("run", step("other", secs(3600), {"kind": "hr_zone", "zone": 2}))
    garmin = estimate_workout(run, FULL)
    custom = estimate_workout(run, replace(FULL, hr_zone_bounds_bpm=(100, 125, 140, 155, 170, 190)))
    # Zone 2 of 190 bpm HRmax is 60-70 %: 123.5 bpm; of the custom zones 125-140: 132.5 bpm.
    assert garmin.load == pytest.approx(
        estimate_workout(
            workout(
                "run",
                step("other", secs(3600), {"kind": "hr_range", "low_bpm": 123, "high_bpm": 124}),
            ),
            FULL,
        ).load
    )
    assert custom.load == pytest.approx(
        estimate_workout(
            workout(
                "run",
                step("other", secs(3600), {"kind": "hr_range", "low_bpm": 132, "high_bpm": 133}),
            ),
            FULL,
        ).load
    )
    assert garmin.load < custom.load
    with pytest.raises(ValueError, match="six ascending"):
        Thresholds(hr_zone_bounds_bpm=(100, 120, 110, 130, 150, 190))


def test_time_in_zones_follows_the_steps_intensity():
    run = workout(
        "run",
        step("warmup", secs(600), {"kind": "hr_zone", "zone": 1}),
        {
            "kind": "repeat",
            "times": 5,
            "steps": [
                step(
                    "interval",
                    dist(1000),
                    {"kind": "pace_range", "fast_s_per_km": 230, "slow_s_per_km": 230},
                ),
                step("recovery", secs(120)),
            ],
        },
    )
    estimate = estimate_workout(run, FULL)
    # 1 km at 3:50/km against a 4:00/km threshold is IF 1.04: zone 3, 5 × 230 s; recoveries
    # (IF 0.60) and the zone-1 warm-up are easy.
    assert estimate.zone_s == pytest.approx((600 + 5 * 120, 0.0, 5 * 230))
    assert estimate.hard_s == pytest.approx(1150)


def test_coggans_levels_link_intensity_and_heart_rate_both_ways():
    for intensity, fraction in ((0.55, 0.68), (0.75, 0.83), (0.90, 0.94), (1.05, 1.05)):
        assert lthr_fraction_from_if(intensity) == pytest.approx(fraction)
        assert if_from_lthr_fraction(fraction) == pytest.approx(intensity)
    for intensity in (0.2, 0.62, 0.97, 1.3):
        assert if_from_lthr_fraction(lthr_fraction_from_if(intensity)) == pytest.approx(intensity)
    assert three_zone(0.79) == 1 and three_zone(0.80) == 2 and three_zone(0.95) == 3
    # Below the 30 s window the session's mean intensity stands in for the normalised one.
    assert planned_intensity_load([20], [1.0]) == pytest.approx(20 / 3600 * 100)
    assert math.isclose(planned_intensity_load([], []), 0.0)


def test_plan_estimates_and_week_totals():
    plan = plan_example()
    estimates = estimate_plan(plan, FULL)
    assert set(estimates.workouts) == {w.id for w in plan.workouts}
    totals = week_totals(plan, estimates)
    assert [t.start for t in totals] == [w.start for w in plan.weeks]
    first = [w for w in plan.workouts if plan.week_index(w.date) == 0]
    assert totals[0].workouts == len(first)
    assert totals[0].load == pytest.approx(sum(estimates[w.id].load for w in first))
    assert totals[0].duration_s == pytest.approx(sum(estimates[w.id].duration_s for w in first))
    runs = [w for w in first if w.sport == "run"]
    assert totals[0].distance_m["run"] == pytest.approx(
        sum(estimates[w.id].distance_m for w in runs)
    )
    assert "strength" not in totals[0].distance_m
