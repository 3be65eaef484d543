"""Workouts as Garmin Connect's workout service returns them (``get_workout_by_id``).

``garmin_echo`` turns a payload Domestique sent into what Garmin answers when it is fetched
again, shaped like workouts Garmin stored and returned: ids and dates added, every field of
the step DTOs present (``null`` when unset), ``displayOrder`` and key strings filled in, stroke
and equipment types of id 0 on every step, a number on lap-button end conditions, and target
values as the single-precision floats Garmin keeps (``3.9215687`` for 1000/255 m/s). The read-back
check must see no difference in all of that. Tests then change one thing at a time.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np

_STEP_FIELDS = (
    "type",
    "stepId",
    "stepOrder",
    "stepType",
    "childStepId",
    "description",
    "endCondition",
    "endConditionValue",
    "preferredEndConditionUnit",
    "endConditionCompare",
    "targetType",
    "targetValueOne",
    "targetValueTwo",
    "targetValueUnit",
    "zoneNumber",
    "secondaryTargetType",
    "secondaryTargetValueOne",
    "secondaryTargetValueTwo",
    "secondaryTargetValueUnit",
    "secondaryZoneNumber",
    "endConditionZone",
    "strokeType",
    "equipmentType",
    "category",
    "exerciseName",
    "workoutProvider",
    "providerExerciseSourceId",
    "weightValue",
    "weightUnit",
)


def single(value: float | None) -> float | None:
    """``value`` as Garmin keeps it: the shortest decimal of the nearest float32."""
    return None if value is None else float(str(np.float32(value)))


def _echo_step(step: dict[str, Any], ids: Iterator[int]) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(_STEP_FIELDS)
    out.update(step)
    out["stepId"] = next(ids)
    out.setdefault("childStepId", None)
    if step.get("type") == "RepeatGroupDTO":
        out = {
            key: out.get(key) for key in ("type", "stepId", "stepOrder", "stepType", "childStepId")
        }
        out["numberOfIterations"] = step["numberOfIterations"]
        out["workoutSteps"] = [_echo_step(child, ids) for child in step["workoutSteps"]]
        out |= {
            "endConditionValue": step.get("endConditionValue"),
            "preferredEndConditionUnit": None,
            "endConditionCompare": None,
            "endCondition": step.get("endCondition"),
            "skipLastRestStep": step.get("skipLastRestStep", True),
            "smartRepeat": False,
        }
        return out
    if (step.get("endCondition") or {}).get("conditionTypeKey") == "lap.button":
        out["endConditionValue"] = 1000.0
    out["targetValueOne"] = single(step.get("targetValueOne"))
    out["targetValueTwo"] = single(step.get("targetValueTwo"))
    out["strokeType"] = step.get("strokeType") or {
        "strokeTypeId": 0,
        "strokeTypeKey": None,
        "displayOrder": 0,
    }
    out["equipmentType"] = {"equipmentTypeId": 0, "equipmentTypeKey": None, "displayOrder": 0}
    return out


def garmin_echo(sent: dict[str, Any], workout_id: int = 1_000_000_001) -> dict[str, Any]:
    """What ``get_workout_by_id`` returns for the workout ``sent`` created."""
    ids = iter(range(13_000_000_000, 14_000_000_000))
    sent = copy.deepcopy(sent)
    segments = []
    for segment in sent["workoutSegments"]:
        segments.append(
            {
                "segmentOrder": segment["segmentOrder"],
                "sportType": segment["sportType"],
                "poolLengthUnit": None,
                "poolLength": None,
                "avgTrainingSpeed": None,
                "estimatedDurationInSecs": None,
                "estimatedDistanceInMeters": None,
                "estimatedDistanceUnit": None,
                "estimateType": None,
                "description": None,
                "workoutSteps": [_echo_step(step, ids) for step in segment["workoutSteps"]],
            }
        )
    return {
        "workoutId": workout_id,
        "ownerId": 1234567,
        "workoutName": sent["workoutName"],
        "description": sent.get("description"),
        "updatedDate": "2027-02-01T06:00:00.0",
        "createdDate": "2027-02-01T06:00:00.0",
        "sportType": sent["sportType"],
        "subSportType": None,
        "trainingPlanId": None,
        "author": {
            "userProfilePk": 1234567,
            "displayName": "athlete",
            "fullName": "Athlete",
            "userPro": False,
            "vivokidUser": False,
        },
        "sharedWithUsers": None,
        "estimatedDurationInSecs": sent.get("estimatedDurationInSecs", 0),
        "estimatedDistanceInMeters": sent.get("estimatedDistanceInMeters", 0.0),
        "workoutSegments": segments,
        "poolLength": sent.get("poolLength"),
        "poolLengthUnit": sent.get("poolLengthUnit"),
        "locale": None,
        "workoutProvider": None,
        "workoutSourceId": None,
        "uploadTimestamp": None,
        "atpPlanId": None,
        "consumer": None,
        "avgTrainingSpeed": 2.93,
        "estimateType": None,
        "estimatedDistanceUnit": None,
        "workoutThumbnailUrl": None,
        "isSessionTransitionEnabled": None,
        "shared": False,
    }


def steps_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step of a payload in order, a repeat group before its steps."""
    found: list[dict[str, Any]] = []

    def walk(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            found.append(step)
            walk(step.get("workoutSteps") or [])

    for segment in payload["workoutSegments"]:
        walk(segment["workoutSteps"])
    return found


def step_at(payload: dict[str, Any], order: int) -> dict[str, Any]:
    """The step with ``stepOrder`` ``order`` (to change one in a test)."""
    return next(step for step in steps_of(payload) if step["stepOrder"] == order)
