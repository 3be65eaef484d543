"""The workout structure: every validator, the sport rules, scaling."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from app.coach.plans import PlannedWorkout
from app.coach.workouts import (
    CadenceTarget,
    HrRangeTarget,
    PaceRangeTarget,
    PowerRangeTarget,
    RepeatGroup,
    Step,
    WorkoutStructure,
    scale_structure,
)


def step(kind: str = "interval", duration: dict | None = None, target: dict | None = None):
    item: dict[str, Any] = {
        "kind": "step",
        "type": kind,
        "duration": duration or {"kind": "time", "seconds": 600},
    }
    if target is not None:
        item["target"] = target
    return item


def workout(sport: str, *steps: dict[str, Any]) -> PlannedWorkout:
    return PlannedWorkout.model_validate(
        {
            "id": "w1",
            "date": date(2027, 3, 2),
            "sport": sport,
            "name": "Test",
            "structure": {"steps": list(steps)},
        }
    )


def error_types(excinfo: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e["type"] for e in excinfo.value.errors()]


@pytest.mark.parametrize(
    ("model", "data", "code"),
    [
        (HrRangeTarget, {"kind": "hr_range", "low_bpm": 160, "high_bpm": 150}, "hr_range_order"),
        (
            PaceRangeTarget,
            {"kind": "pace_range", "fast_s_per_km": 260, "slow_s_per_km": 250},
            "pace_range_order",
        ),
        (
            PowerRangeTarget,
            {"kind": "power_range", "low_w": 300, "high_w": 250},
            "power_range_order",
        ),
        (CadenceTarget, {"kind": "cadence", "low_rpm": 100, "high_rpm": 90}, "cadence_range_order"),
    ],
)
def test_ranges_in_the_wrong_order_are_refused_with_their_code(model, data, code):
    with pytest.raises(ValidationError) as excinfo:
        model.model_validate(data)
    assert error_types(excinfo) == [code]


def test_the_pace_order_message_names_both_paces_as_a_runner_reads_them():
    with pytest.raises(ValidationError) as excinfo:
        PaceRangeTarget.model_validate(
            {"kind": "pace_range", "fast_s_per_km": 265, "slow_s_per_km": 245}
        )
    error = excinfo.value.errors()[0]
    assert error["ctx"] == {"fast": "4:25/km", "slow": "4:05/km"}
    assert "4:25/km" in error["msg"] and "4:05/km" in error["msg"]


def test_equal_bounds_are_a_single_value_and_allowed():
    assert HrRangeTarget(kind="hr_range", low_bpm=150, high_bpm=150).low_bpm == 150
    assert (
        PaceRangeTarget(kind="pace_range", fast_s_per_km=240, slow_s_per_km=240).mid_s_per_km == 240
    )


@pytest.mark.parametrize(
    "target",
    [
        {"kind": "hr_range", "low_bpm": 29, "high_bpm": 150},
        {"kind": "hr_range", "low_bpm": 120, "high_bpm": 231},
        {"kind": "hr_zone", "zone": 0},
        {"kind": "hr_zone", "zone": 6},
        {"kind": "power_zone", "zone": 8},
        {"kind": "power_range", "low_w": -1, "high_w": 100},
        {"kind": "power_range", "low_w": 100, "high_w": 2501},
        {"kind": "pace_range", "fast_s_per_km": 59, "slow_s_per_km": 300},
        {"kind": "pace_range", "fast_s_per_km": 300, "slow_s_per_km": 3601},
        {"kind": "cadence", "low_rpm": 80, "high_rpm": 251},
    ],
)
def test_targets_outside_sane_limits_are_refused(target):
    with pytest.raises(ValidationError):
        Step.model_validate(step(target=target))


@pytest.mark.parametrize(
    "duration",
    [
        {"kind": "time", "seconds": 0},
        {"kind": "time", "seconds": 86401},
        {"kind": "distance", "meters": 0},
        {"kind": "distance", "meters": 500001},
        {"kind": "laps", "count": 3},
    ],
)
def test_durations_outside_limits_or_unknown_are_refused(duration):
    with pytest.raises(ValidationError):
        Step.model_validate(step(duration=duration))


def test_unknown_fields_are_refused_everywhere():
    with pytest.raises(ValidationError) as excinfo:
        Step.model_validate({**step(), "intensity": "hard"})
    assert error_types(excinfo) == ["extra_forbidden"]
    with pytest.raises(ValidationError) as excinfo:
        Step.model_validate(step(target={"kind": "hr_zone", "zone": 2, "bpm": 150}))
    assert error_types(excinfo) == ["extra_forbidden"]


def test_a_step_without_target_has_none_and_the_note_is_bounded():
    plain = Step.model_validate(step())
    assert plain.target.kind == "none"
    with pytest.raises(ValidationError):
        Step.model_validate({**step(), "note": "x" * 201})


def test_repeat_groups_need_two_to_99_times_and_hold_steps_only():
    with pytest.raises(ValidationError):
        RepeatGroup.model_validate({"kind": "repeat", "times": 1, "steps": [step()]})
    with pytest.raises(ValidationError):
        RepeatGroup.model_validate({"kind": "repeat", "times": 100, "steps": [step()]})
    with pytest.raises(ValidationError):
        RepeatGroup.model_validate({"kind": "repeat", "times": 3, "steps": []})
    nested = {"kind": "repeat", "times": 2, "steps": [step()]}
    with pytest.raises(ValidationError):
        RepeatGroup.model_validate({"kind": "repeat", "times": 3, "steps": [nested]})


def test_a_structure_needs_a_step_and_unrolls_in_order():
    with pytest.raises(ValidationError):
        WorkoutStructure.model_validate({"steps": []})
    structure = WorkoutStructure.model_validate(
        {
            "steps": [
                step("warmup"),
                {
                    "kind": "repeat",
                    "times": 3,
                    "steps": [step("interval"), step("recovery")],
                },
                step("cooldown"),
            ]
        }
    )
    assert [s.type for s in structure.unrolled()] == [
        "warmup",
        *["interval", "recovery"] * 3,
        "cooldown",
    ]
    assert [s.type for s in structure.distinct_steps()] == [
        "warmup",
        "interval",
        "recovery",
        "cooldown",
    ]


def test_a_structure_unrolling_past_1000_steps_is_refused():
    group = {"kind": "repeat", "times": 99, "steps": [step()] * 11}
    with pytest.raises(ValidationError) as excinfo:
        WorkoutStructure.model_validate({"steps": [group]})
    assert error_types(excinfo) == ["structure_too_long"]


@pytest.mark.parametrize(
    ("sport", "item", "code"),
    [
        (
            "ride",
            step(target={"kind": "pace_range", "fast_s_per_km": 200, "slow_s_per_km": 210}),
            "target_not_for_sport",
        ),
        (
            "run",
            step(target={"kind": "power_range", "low_w": 200, "high_w": 220}),
            "target_not_for_sport",
        ),
        (
            "swim",
            step(
                target={"kind": "power_zone", "zone": 3},
                duration={"kind": "distance", "meters": 100},
            ),
            "target_not_for_sport",
        ),
        ("swim", step("interval"), "swim_step_by_time"),
        ("strength", step(duration={"kind": "distance", "meters": 1000}), "distance_not_for_sport"),
        (
            "run",
            step(target={"kind": "pace_range", "fast_s_per_km": 100, "slow_s_per_km": 110}),
            "pace_out_of_range",
        ),
        (
            "run",
            step(target={"kind": "pace_range", "fast_s_per_km": 1100, "slow_s_per_km": 1250}),
            "pace_out_of_range",
        ),
        (
            "ride",
            step(target={"kind": "cadence", "low_rpm": 10, "high_rpm": 90}),
            "cadence_out_of_range",
        ),
        (
            "run",
            step(target={"kind": "cadence", "low_rpm": 170, "high_rpm": 245}),
            "cadence_out_of_range",
        ),
    ],
)
def test_each_sport_allows_its_own_durations_and_targets(sport, item, code):
    with pytest.raises(ValidationError) as excinfo:
        workout(sport, item)
    errors = excinfo.value.errors()
    assert [e["type"] for e in errors] == [code]
    assert errors[0]["ctx"]["workout"] == "w1"
    assert errors[0]["msg"].startswith("workout w1: step 1:")


def test_what_each_sport_allows_passes():
    swim = workout(
        "swim",
        step("warmup", {"kind": "distance", "meters": 400}),
        step(
            "interval",
            {"kind": "distance", "meters": 100},
            {"kind": "pace_range", "fast_s_per_km": 1050, "slow_s_per_km": 1100},
        ),
        step("rest", {"kind": "time", "seconds": 20}),
        step("cooldown", {"kind": "lap_button"}),
    )
    assert swim.structure.steps[2].duration.kind == "time"
    run = workout("run", step(target={"kind": "cadence", "low_rpm": 170, "high_rpm": 180}))
    assert run.structure.steps[0].target.kind == "cadence"
    ride = workout("ride", step(target={"kind": "power_zone", "zone": 7}))
    assert ride.structure.steps[0].target.kind == "power_zone"


def test_the_step_number_in_a_sport_error_counts_steps_as_written():
    with pytest.raises(ValidationError) as excinfo:
        workout(
            "ride",
            step("warmup"),
            {
                "kind": "repeat",
                "times": 4,
                "steps": [
                    step("interval", target={"kind": "power_zone", "zone": 4}),
                    step(
                        "recovery",
                        target={"kind": "pace_range", "fast_s_per_km": 300, "slow_s_per_km": 320},
                    ),
                ],
            },
        )
    assert excinfo.value.errors()[0]["ctx"]["step"] == 3


def test_scaling_shortens_time_and_distance_by_grain_and_keeps_the_rest():
    structure = WorkoutStructure.model_validate(
        {
            "steps": [
                step("warmup", {"kind": "time", "seconds": 900}),  # 15 min
                {
                    "kind": "repeat",
                    "times": 5,
                    "steps": [
                        step(
                            "interval",
                            {"kind": "distance", "meters": 1000},
                            {"kind": "pace_range", "fast_s_per_km": 240, "slow_s_per_km": 250},
                        ),
                        step("recovery", {"kind": "time", "seconds": 90}),
                    ],
                },
                step("cooldown", {"kind": "lap_button"}),
            ]
        }
    )
    half = scale_structure(structure, 0.7, "run")
    warmup, group, cooldown = half.steps
    assert warmup.duration.seconds == 630  # 900 × 0.7 = 630, a multiple of 15
    assert isinstance(group, RepeatGroup) and group.times == 5
    assert group.steps[0].duration.meters == 700.0
    assert group.steps[0].target == structure.steps[1].steps[0].target
    assert group.steps[1].duration.seconds == 60  # 63 s rounded down to 5 s
    assert cooldown.duration.kind == "lap_button"
    assert structure.steps[0].duration.seconds == 900  # the input is unchanged


def test_swim_distances_scale_to_whole_pool_lengths():
    structure = WorkoutStructure.model_validate(
        {"steps": [step("other", {"kind": "distance", "meters": 400})]}
    )
    assert scale_structure(structure, 0.8, "swim").steps[0].duration.meters == 300.0  # 320 → 300
    assert scale_structure(structure, 0.01, "swim").steps[0].duration.meters == 25.0


def test_scaling_needs_a_factor_in_0_1():
    structure = WorkoutStructure.model_validate({"steps": [step()]})
    with pytest.raises(ValueError, match="factor"):
        scale_structure(structure, 1.2, "run")
    with pytest.raises(ValueError, match="factor"):
        scale_structure(structure, 0.0, "run")
