"""A planned workout as Garmin Connect workout JSON, and the read-back check of what Garmin
stored: the mapping tables row by row, the example plan's workouts, Garmin's own payloads."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from garminconnect.workout import BaseWorkout

from app.coach.estimate import estimate_plan
from app.coach.example import plan_example
from app.coach.garmin_workout import (
    END_CONDITIONS,
    SPORTS,
    STEP_TYPES,
    TARGETS,
    compare,
    decode_target,
    garmin_workout,
)
from app.coach.plans import PlannedWorkout
from tests.support.garmin_workouts import garmin_echo, step_at, steps_of
from tests.support.plans import THRESHOLDS
from tests.support.shared import SHARED, unavailable


def planned(sport: str, *items: dict[str, Any], name: str = "Session", purpose: str = ""):
    return PlannedWorkout.model_validate(
        {
            "id": "w1",
            "date": "2027-03-02",
            "sport": sport,
            "name": name,
            "purpose": purpose,
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


def seconds(value: int) -> dict[str, Any]:
    return {"kind": "time", "seconds": value}


def meters(value: float) -> dict[str, Any]:
    return {"kind": "distance", "meters": value}


def repeat(times: int, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "repeat", "times": times, "steps": list(steps)}


def only_step(payload: dict[str, Any]) -> dict[str, Any]:
    (found,) = payload["workoutSegments"][0]["workoutSteps"]
    return found


# --------------------------------------------------------------------------------------------
# The target table: one row, one test (Garmin trusts the numeric id)

TARGET_ROWS = [
    # (sport, target, type id, zoneNumber, targetValueOne, targetValueTwo)
    ("run", {"kind": "none"}, 1, None, None, None),
    ("run", {"kind": "hr_zone", "zone": 2}, 4, 2, None, None),
    ("run", {"kind": "hr_range", "low_bpm": 128, "high_bpm": 142}, 4, None, 128.0, 142.0),
    # 4:00–4:15/km: the fast bound (4.1667 m/s) first, as Garmin's editor stores it
    ("run", {"kind": "pace_range", "fast_s_per_km": 240, "slow_s_per_km": 255}, 6, None,
     4.1666667, 3.9215686),
    ("ride", {"kind": "power_zone", "zone": 3}, 2, 3, None, None),
    ("ride", {"kind": "power_range", "low_w": 240, "high_w": 270}, 2, None, 240.0, 270.0),
    ("ride", {"kind": "cadence", "low_rpm": 85, "high_rpm": 95}, 3, None, 85.0, 95.0),
]  # fmt: skip


def test_the_table_has_a_row_for_every_target_kind():
    assert set(TARGETS) == {row[1]["kind"] for row in TARGET_ROWS}


@pytest.mark.parametrize(
    ("sport", "target", "type_id", "zone", "one", "two"),
    TARGET_ROWS,
    ids=[row[1]["kind"] for row in TARGET_ROWS],
)
def test_each_target_kind_goes_to_its_garmin_target(sport, target, type_id, zone, one, two):
    sent = only_step(garmin_workout(planned(sport, step("interval", seconds(300), target))))
    assert sent["targetType"]["workoutTargetTypeId"] == type_id
    # The values live at step level, never inside targetType.
    assert set(sent["targetType"]) == {
        "workoutTargetTypeId",
        "workoutTargetTypeKey",
        "displayOrder",
    }
    assert sent.get("zoneNumber") == zone
    if one is None:
        assert "targetValueOne" not in sent and "targetValueTwo" not in sent
    else:
        assert sent["targetValueOne"] == pytest.approx(one, rel=1e-6)
        assert sent["targetValueTwo"] == pytest.approx(two, rel=1e-6)


def test_a_power_range_is_never_a_pace_target():
    """The failure seen in the wild: 240–270 W sent as target type 6 shows as 864 km/h."""
    sent = only_step(
        garmin_workout(
            planned("ride", step("interval", seconds(300), {"kind": "power_range", "low_w": 240,
                                                           "high_w": 270}))
        )
    )  # fmt: skip
    assert sent["targetType"]["workoutTargetTypeId"] == 2
    assert "zoneNumber" not in sent


def test_a_swim_pace_is_in_metres_per_second_fast_bound_first():
    swim = planned(
        "swim",
        step("interval", meters(100), {"kind": "pace_range", "fast_s_per_km": 1050,
                                       "slow_s_per_km": 1100}),
    )  # fmt: skip
    sent = only_step(garmin_workout(swim))
    # 1:45/100 m is 0.952 m/s, 1:50/100 m 0.909 m/s
    assert sent["targetValueOne"] == pytest.approx(0.95238, rel=1e-4)
    assert sent["targetValueTwo"] == pytest.approx(0.90909, rel=1e-4)


@pytest.mark.parametrize(
    ("sport", "type_id", "key"),
    [
        ("run", 1, "running"),
        ("ride", 2, "cycling"),
        ("swim", 4, "swimming"),
        ("strength", 5, "strength_training"),
        ("other", 3, "other"),
    ],
)
def test_each_sport_goes_to_its_garmin_sport(sport, type_id, key):
    assert set(SPORTS) == {"run", "ride", "swim", "strength", "other"}
    workout = planned(sport, step("other", {"kind": "lap_button"}))
    payload = garmin_workout(workout)
    assert payload["sportType"]["sportTypeId"] == type_id
    assert payload["sportType"]["sportTypeKey"] == key
    assert payload["workoutSegments"][0]["sportType"]["sportTypeId"] == type_id


@pytest.mark.parametrize(
    ("step_type", "type_id"),
    [("warmup", 1), ("cooldown", 2), ("interval", 3), ("recovery", 4), ("rest", 5), ("other", 7)],
)
def test_each_step_type_goes_to_its_garmin_step_type(step_type, type_id):
    assert len(STEP_TYPES) == 6
    sent = only_step(garmin_workout(planned("run", step(step_type, seconds(60)))))
    assert sent["stepType"]["stepTypeId"] == type_id
    assert sent["type"] == "ExecutableStepDTO"


@pytest.mark.parametrize(
    ("sport", "duration", "condition", "value"),
    [
        ("run", seconds(900), 2, 900.0),
        ("run", meters(1000), 3, 1000.0),
        ("run", {"kind": "lap_button"}, 1, None),
        ("run", {"kind": "open"}, 1, None),  # Garmin's only open end is the lap button
        ("swim", meters(400), 3, 400.0),
    ],
)
def test_each_duration_goes_to_its_end_condition(sport, duration, condition, value):
    sent = only_step(garmin_workout(planned(sport, step("other", duration))))
    assert sent["endCondition"]["conditionTypeId"] == condition
    assert sent.get("endConditionValue") == value
    assert END_CONDITIONS["time"]["conditionTypeKey"] == "time"


def test_step_order_continues_across_repeat_groups():
    workout = planned(
        "run",
        step("warmup", seconds(600)),
        repeat(3, step("interval", meters(400)), step("recovery", seconds(90))),
        repeat(4, step("interval", seconds(30)), step("recovery", seconds(30))),
        step("cooldown", seconds(600)),
    )
    payload = garmin_workout(workout)
    orders = [s["stepOrder"] for s in steps_of(payload)]
    assert orders == [1, 2, 3, 4, 5, 6, 7, 8]
    top = payload["workoutSegments"][0]["workoutSteps"]
    assert [s["type"] for s in top] == [
        "ExecutableStepDTO",
        "RepeatGroupDTO",
        "RepeatGroupDTO",
        "ExecutableStepDTO",
    ]
    first, second = top[1], top[2]
    assert (first["numberOfIterations"], second["numberOfIterations"]) == (3, 4)
    assert first["stepType"]["stepTypeId"] == 6
    assert first["endCondition"]["conditionTypeId"] == 7
    assert first["endConditionValue"] == 3.0
    assert first["skipLastRestStep"] is False
    assert [s["childStepId"] for s in (first, *first["workoutSteps"])] == [1, 1, 1]
    assert [s["childStepId"] for s in (second, *second["workoutSteps"])] == [2, 2, 2]
    assert "childStepId" not in top[0] and "childStepId" not in top[3]


def test_name_purpose_notes_and_estimate_are_sent():
    plan = plan_example()
    workout = plan.workout("w1-tue-run")
    assert workout is not None
    estimate = estimate_plan(plan, THRESHOLDS)[workout.id]
    payload = garmin_workout(workout, estimate)
    assert payload["workoutName"] == "1 km repeats"
    assert payload["description"] == "Speed at 10 k pace"
    assert payload["estimatedDurationInSecs"] == round(estimate.duration_s)
    assert payload["estimatedDistanceInMeters"] == pytest.approx(estimate.distance_m, abs=0.1)
    assert step_at(payload, 3)["description"] == "10 k pace or a touch quicker"
    assert "description" not in step_at(payload, 4)
    # garminconnect's own model reads it back unchanged.
    assert BaseWorkout.model_validate(payload).to_dict() == payload
    json.dumps(payload)  # plain JSON


def test_a_pool_swim_carries_the_pool_and_metres():
    plan = plan_example()
    swim = plan.workout("w1-wed-swim")
    assert swim is not None
    payload = garmin_workout(swim, pool_length_m=50)
    assert payload["poolLength"] == 50.0
    assert payload["poolLengthUnit"] == {"unitId": 1, "unitKey": "meter", "factor": 100.0}
    warmup, _group, interval, rest, cooldown = steps_of(payload)
    for distance_step in (warmup, interval, cooldown):
        assert distance_step["endCondition"]["conditionTypeId"] == 3
        assert distance_step["preferredEndConditionUnit"]["unitKey"] == "meter"
        assert distance_step["strokeType"]["strokeTypeKey"] == "any_stroke"
    assert (warmup["endConditionValue"], interval["endConditionValue"]) == (300.0, 100.0)
    # A swim's rest by time is Garmin's fixed rest, in seconds.
    assert rest["endCondition"]["conditionTypeKey"] == "fixed.rest"
    assert rest["endConditionValue"] == 20.0
    assert "strokeType" not in rest
    assert "poolLength" not in garmin_workout(planned("run", step("other", seconds(60))))


# --------------------------------------------------------------------------------------------
# Read-back


@pytest.mark.parametrize("workout_id", [w.id for w in plan_example().workouts])
def test_every_example_workout_reads_back_equal_from_garmins_echo(workout_id):
    plan = plan_example()
    workout = plan.workout(workout_id)
    assert workout is not None
    sent = garmin_workout(workout, estimate_plan(plan, THRESHOLDS)[workout_id])
    fetched = garmin_echo(sent)
    assert fetched != sent
    assert compare(sent, fetched) == []


def _garmin_sample() -> dict[str, Any]:
    path = SHARED / "fixtures/garmin-connect/python-garminconnect/sample_workout.json"
    if not path.exists():
        unavailable(str(path))
    return json.loads(path.read_text())


def test_a_workout_garmin_returned_compares_equal_to_the_same_plan_workout():
    """Garmin's own payload (python-garminconnect's sample): warm-up 3 min, 6 × (1 min, 1 min
    recovery), 3 × (30 s, 30 s recovery), cool-down 2 min, no targets."""
    fetched = _garmin_sample()
    workout = planned(
        "run",
        step("warmup", seconds(180)),
        repeat(6, step("interval", seconds(60)), step("recovery", seconds(60))),
        repeat(3, step("interval", seconds(30)), step("recovery", seconds(30))),
        step("cooldown", seconds(120)),
        name="Simple session",
    )
    sent = garmin_workout(workout)
    assert compare(sent, fetched) == []
    changed = copy.deepcopy(fetched)
    changed["workoutSegments"][0]["workoutSteps"][1]["numberOfIterations"] = 5
    changed["workoutSegments"][0]["workoutSteps"][2]["workoutSteps"][0]["endConditionValue"] = 45.0
    assert [(d.code, d.params["step"]) for d in compare(sent, changed)] == [
        ("repeat_changed", 2),
        ("duration_changed", 6),
    ]


def _ride() -> dict[str, Any]:
    plan = plan_example()
    ride = plan.workout("w1-thu-ride")
    assert ride is not None
    return garmin_workout(ride)


def test_a_power_range_garmin_turned_into_a_pace_is_caught():
    sent = _ride()
    fetched = garmin_echo(sent)
    interval = step_at(fetched, 3)
    interval["targetType"] = {
        "workoutTargetTypeId": 6,
        "workoutTargetTypeKey": "pace.zone",
        "displayOrder": 6,
    }
    (difference,) = compare(sent, fetched)
    assert difference.code == "target_changed"
    assert difference.params["step"] == 3
    assert difference.params["sport"] == "ride"
    assert difference.params["sent"] == {"kind": "power_range", "low_w": 225, "high_w": 240}
    assert difference.params["fetched"]["kind"] == "pace_range"


def test_a_dropped_target_is_caught():
    sent = _ride()
    fetched = garmin_echo(sent)
    recovery = step_at(fetched, 4)
    recovery["targetType"] = {
        "workoutTargetTypeId": 1,
        "workoutTargetTypeKey": "no.target",
        "displayOrder": 1,
    }
    recovery["targetValueOne"] = recovery["targetValueTwo"] = None
    (difference,) = compare(sent, fetched)
    assert difference.code == "target_dropped"
    assert difference.params["sent"] == {"kind": "cadence", "low_rpm": 85, "high_rpm": 95}
    assert difference.params["fetched"] == {"kind": "none"}


def test_target_values_dropped_or_changed_are_caught():
    sent = _ride()
    fetched = garmin_echo(sent)
    step_at(fetched, 3)["targetValueOne"] = None
    step_at(fetched, 3)["targetValueTwo"] = None
    step_at(fetched, 1)["zoneNumber"] = 3
    found = compare(sent, fetched)
    assert [(d.code, d.params["step"]) for d in found] == [
        ("target_changed", 1),
        ("target_values_dropped", 3),
    ]
    assert found[0].params["fetched"] == {"kind": "power_zone", "zone": 3}

    fetched = garmin_echo(sent)
    step_at(fetched, 3)["targetValueTwo"] = 250.0
    (difference,) = compare(sent, fetched)
    assert difference.code == "target_changed"
    assert difference.params["fetched"] == {"kind": "power_range", "low_w": 225, "high_w": 250}


def test_swapped_pace_bounds_are_caught():
    plan = plan_example()
    run = plan.workout("w1-tue-run")
    assert run is not None
    sent = garmin_workout(run)
    fetched = garmin_echo(sent)
    interval = step_at(fetched, 3)
    interval["targetValueOne"], interval["targetValueTwo"] = (
        interval["targetValueTwo"],
        interval["targetValueOne"],
    )
    (difference,) = compare(sent, fetched)
    assert difference.code == "target_order_changed"
    assert difference.params["sent"] == {
        "kind": "pace_range",
        "fast_s_per_km": 250.0,
        "slow_s_per_km": 260.0,
    }


def test_zone_targets_ignore_the_values_garmin_adds_to_them():
    sent = _ride()
    fetched = garmin_echo(sent)
    warmup = step_at(fetched, 1)  # power zone 2
    warmup["targetValueOne"], warmup["targetValueTwo"] = 140.0, 190.0
    assert compare(sent, fetched) == []


def test_missing_added_and_moved_steps_and_other_changes_are_caught():
    sent = _ride()
    fetched = garmin_echo(sent)
    segment = fetched["workoutSegments"][0]
    cooldown = segment["workoutSteps"].pop()  # step 5 gone
    found = compare(sent, fetched)
    assert [(d.code, d.params["step"]) for d in found] == [("step_missing", 5)]

    fetched = garmin_echo(sent)
    segment = fetched["workoutSegments"][0]
    extra = copy.deepcopy(cooldown) | {"stepOrder": 6}
    segment["workoutSteps"].append(extra)
    group = segment["workoutSteps"][1]
    moved = group["workoutSteps"].pop()  # the recovery leaves the repeat group
    segment["workoutSteps"].insert(2, moved)
    step_at(fetched, 1)["stepType"] = {"stepTypeId": 3, "stepTypeKey": "interval"}
    step_at(fetched, 1)["endConditionValue"] = 300.0
    fetched["sportType"] = {"sportTypeId": 1, "sportTypeKey": "running"}
    found = compare(sent, fetched)
    assert [(d.code, d.params.get("step")) for d in found] == [
        ("sport_changed", None),
        ("step_type_changed", 1),
        ("duration_changed", 1),
        ("structure_changed", 4),
        ("step_added", 6),
    ]
    assert found[0].params == {"sent": "ride", "fetched": "run"}
    assert found[1].params["sent"] == "warmup" and found[1].params["fetched"] == "interval"
    assert found[2].params["sent"] == {"kind": "time", "value": 600.0}
    assert found[2].params["fetched"] == {"kind": "time", "value": 300.0}


def test_a_changed_pool_length_is_caught_and_a_lap_button_value_is_not():
    plan = plan_example()
    swim = plan.workout("w1-wed-swim")
    assert swim is not None
    sent = garmin_workout(swim)
    fetched = garmin_echo(sent)
    fetched["poolLength"] = 33.33
    (difference,) = compare(sent, fetched)
    assert difference.code == "pool_length_changed"
    assert (difference.params["sent"], difference.params["fetched"]) == (25.0, 33.33)

    ride = _ride()
    fetched = garmin_echo(ride)
    step_at(fetched, 5)["endConditionValue"] = 1200.0  # the lap-button cool-down
    assert compare(ride, fetched) == []


@pytest.mark.parametrize(
    ("step_payload", "expected"),
    [
        ({"targetType": {"workoutTargetTypeId": 1}}, {"kind": "none"}),
        ({}, {"kind": "none"}),
        (
            {"targetType": {"workoutTargetTypeId": 4}, "zoneNumber": 3},
            {"kind": "hr_zone", "zone": 3},
        ),
        (
            {"targetType": {"workoutTargetTypeId": 4}, "targetValueOne": 150.0,
             "targetValueTwo": 130.0},
            {"kind": "hr_range", "low_bpm": 130, "high_bpm": 150},
        ),
        (
            {"targetType": {"workoutTargetTypeId": 5}, "targetValueOne": 8.0,
             "targetValueTwo": 9.0},
            {"kind": "speed", "low_kmh": 28.8, "high_kmh": 32.4},
        ),
        (
            {"targetType": {"workoutTargetTypeId": 2}, "targetValueOne": None},
            {"kind": "unknown", "type_id": 2, "missing": True},
        ),
        (
            {"targetType": {"workoutTargetTypeId": 7}, "targetValueOne": 1.0,
             "targetValueTwo": 3.0},
            {"kind": "unknown", "type_id": 7, "low": 1.0, "high": 3.0},
        ),
    ],
)  # fmt: skip
def test_decode_target(step_payload, expected):
    assert decode_target(step_payload) == expected
