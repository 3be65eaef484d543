"""A planned workout as the JSON Garmin Connect's workout service accepts, and the read-back
check of what Garmin stored.

The payload is built with ``garminconnect``'s typed models (:mod:`garminconnect.workout`:
``ExecutableStep``, ``RepeatGroup``, ``WorkoutSegment``, ``RunningWorkout`` …) and their
``to_dict()``, the shape ``upload_workout`` and ``update_workout`` send. What Garmin needs and
those models leave to the caller is decided here, each from a workout Garmin stored:

* **Numeric ids are what count.** Garmin trusts ``workoutTargetTypeId`` (and the other ids) and
  ignores the key strings: a power range sent with id 6 shows on the watch as "864 km/h" (watts
  read as m/s). The target mapping is :data:`TARGETS`, one row per kind of target, each tested:
  heart-rate zone → id 4 with ``zoneNumber``; heart-rate range → id 4 with bpm in
  ``targetValueOne``/``Two`` and no zone; power zone → id 2 with ``zoneNumber``; power range →
  id 2 with watts and no zone; pace range → id 6 in m/s; cadence → id 3; none → id 1. Target
  values belong at step level (``targetValueOne``/``Two``, ``zoneNumber``), never inside
  ``targetType``.
* **Pace bounds** go in the order Garmin's own editor stores them: ``targetValueOne`` the fast
  bound (the larger speed), ``targetValueTwo`` the slow one. (``garminconnect``'s
  ``PaceTarget`` helper puts the slow bound first; a Forerunner 255 was reported to show both
  orders, but wrong-order pace ranges have also been reported to show 0:00, so Domestique sends
  what Garmin itself writes.) Heart rate, power and cadence go low, then high.
* **Step order continues across repeat groups**: warm-up 1, repeat group 2, its steps 3 and 4,
  cool-down 5. A group and its steps share a ``childStepId`` (1 for the first group, 2 for the
  next …), as Garmin returns them.
* **Swims** carry ``poolLength`` with its unit at workout level, distance steps say their unit
  (``preferredEndConditionUnit``: metres), swimming steps have "any stroke", and a rest by time
  ends with Garmin's "fixed rest" condition (id 8), as Garmin's swim editor writes them.
* Lap-button and open steps both end with the lap button (id 1): Garmin has no other open end.
* Repeat groups say ``skipLastRestStep: false``: the plan's last recovery is part of the session
  and of its estimate.

Strength and other sessions go to Garmin's strength (5) and other (3) sports.

**Read-back** (:func:`compare`): after an upload the service fetches the workout again and
compares it with what was sent. Garmin echoes much more than it was sent (``stepId``,
``displayOrder``, stroke and equipment types, author, dates, estimates, nulls for every field):
all of that is ignored. What reaches the watch is compared: the sport, the pool length, every
step by its order (missing or added steps, its repeat group, step type, end condition and
length, target type, zone and values) and every repeat count. Each difference is a code with
plain parameters (targets decoded back into the plan's own target format, so a page can say it
in words: :func:`app.coach.messages.describe_difference`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from garminconnect.workout import (
    BaseWorkout,
    ConditionType,
    CyclingWorkout,
    ExecutableStep,
    RepeatGroup,
    RunningWorkout,
    SportType,
    StepType,
    StrengthWorkout,
    SwimmingWorkout,
    TargetType,
    WorkoutSegment,
)

from app.coach.workouts import (
    CadenceTarget,
    DistanceDuration,
    HrRangeTarget,
    HrZoneTarget,
    PaceRangeTarget,
    PowerRangeTarget,
    PowerZoneTarget,
    Step,
    Target,
    TimeDuration,
)
from app.coach.workouts import RepeatGroup as PlanRepeatGroup

if TYPE_CHECKING:
    from app.coach.estimate import WorkoutEstimate
    from app.coach.plans import PlannedWorkout

DEFAULT_POOL_LENGTH_M = 25.0

# ---------------------------------------------------------------------------------------------
# The tables (ids from Garmin's /workout-service/workout/types, as garminconnect names them)


def _sport(type_id: int, key: str, order: int) -> Mapping[str, Any]:
    return MappingProxyType({"sportTypeId": type_id, "sportTypeKey": key, "displayOrder": order})


SPORTS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "run": _sport(SportType.RUNNING, "running", 1),
        "ride": _sport(SportType.CYCLING, "cycling", 2),
        "swim": _sport(SportType.SWIMMING, "swimming", 3),
        "strength": _sport(SportType.STRENGTH_TRAINING, "strength_training", 5),
        "other": _sport(SportType.OTHER, "other", 3),
    }
)
"""The plan's sports as Garmin workout sports."""

_WORKOUT_CLASSES: Mapping[str, type[BaseWorkout]] = MappingProxyType(
    {
        "run": RunningWorkout,
        "ride": CyclingWorkout,
        "swim": SwimmingWorkout,
        "strength": StrengthWorkout,
        "other": BaseWorkout,
    }
)


def _step_type(type_id: int, key: str) -> Mapping[str, Any]:
    return MappingProxyType({"stepTypeId": type_id, "stepTypeKey": key, "displayOrder": type_id})


STEP_TYPES: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "warmup": _step_type(StepType.WARMUP, "warmup"),
        "cooldown": _step_type(StepType.COOLDOWN, "cooldown"),
        "interval": _step_type(StepType.INTERVAL, "interval"),
        "recovery": _step_type(StepType.RECOVERY, "recovery"),
        "rest": _step_type(StepType.REST, "rest"),
        "other": _step_type(StepType.OTHER, "other"),
    }
)
"""The plan's step types as Garmin step types."""
REPEAT_STEP_TYPE = _step_type(StepType.REPEAT, "repeat")


def _condition(type_id: int, key: str, displayable: bool = True) -> Mapping[str, Any]:
    return MappingProxyType(
        {
            "conditionTypeId": type_id,
            "conditionTypeKey": key,
            "displayOrder": type_id,
            "displayable": displayable,
        }
    )


END_CONDITIONS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "lap_button": _condition(ConditionType.LAP_BUTTON, "lap.button"),
        "open": _condition(ConditionType.LAP_BUTTON, "lap.button"),
        "time": _condition(ConditionType.TIME, "time"),
        "distance": _condition(ConditionType.DISTANCE, "distance"),
        "fixed_rest": _condition(ConditionType.FIXED_REST, "fixed.rest"),
        "iterations": _condition(ConditionType.ITERATIONS, "iterations", displayable=False),
    }
)
"""End conditions: time in s, distance in m, the lap button, a swim's fixed rest in s, a repeat
group's iterations."""

METER_UNIT = MappingProxyType({"unitId": 1, "unitKey": "meter", "factor": 100.0})
ANY_STROKE = MappingProxyType({"strokeTypeId": 1, "strokeTypeKey": "any_stroke", "displayOrder": 1})


@dataclass(frozen=True)
class TargetRow:
    """How one kind of the plan's targets goes to Garmin."""

    type_id: int
    key: str
    values: Literal["none", "zone", "range"]
    unit: str = ""


TARGETS: Mapping[str, TargetRow] = MappingProxyType(
    {
        "none": TargetRow(TargetType.NO_TARGET, "no.target", "none"),
        "hr_zone": TargetRow(TargetType.HEART_RATE_ZONE, "heart.rate.zone", "zone"),
        "hr_range": TargetRow(TargetType.HEART_RATE_ZONE, "heart.rate.zone", "range", "bpm"),
        "power_zone": TargetRow(TargetType.POWER_ZONE, "power.zone", "zone"),
        "power_range": TargetRow(TargetType.POWER_ZONE, "power.zone", "range", "W"),
        "pace_range": TargetRow(TargetType.PACE_ZONE, "pace.zone", "range", "m/s"),
        "cadence": TargetRow(TargetType.CADENCE, "cadence", "range", "rpm"),
    }
)
"""The plan's targets as Garmin targets: a heart-rate or power **range** is the zone target
type with values and no zone number (Garmin's "custom" target)."""

_TARGET_KEYS = {row.type_id: row.key for row in TARGETS.values()} | {
    TargetType.SPEED_ZONE: "speed.zone"
}


def _target_type(type_id: int) -> dict[str, Any]:
    return {
        "workoutTargetTypeId": type_id,
        "workoutTargetTypeKey": _TARGET_KEYS.get(type_id, "unknown"),
        "displayOrder": type_id,
    }


def target_fields(target: Target) -> dict[str, Any]:
    """``targetType`` and the step-level ``targetValueOne``/``Two`` or ``zoneNumber`` of a
    target."""
    row = TARGETS[target.kind]
    fields: dict[str, Any] = {"targetType": _target_type(row.type_id)}
    if isinstance(target, HrZoneTarget | PowerZoneTarget):
        fields["zoneNumber"] = target.zone
    elif isinstance(target, HrRangeTarget):
        fields |= {"targetValueOne": target.low_bpm, "targetValueTwo": target.high_bpm}
    elif isinstance(target, PowerRangeTarget):
        fields |= {"targetValueOne": target.low_w, "targetValueTwo": target.high_w}
    elif isinstance(target, CadenceTarget):
        fields |= {"targetValueOne": target.low_rpm, "targetValueTwo": target.high_rpm}
    elif isinstance(target, PaceRangeTarget):
        fields |= {
            "targetValueOne": 1000.0 / target.fast_s_per_km,
            "targetValueTwo": 1000.0 / target.slow_s_per_km,
        }
    return fields


# ---------------------------------------------------------------------------------------------
# Building the payload


def _end_condition(step: Step, sport: str) -> dict[str, Any]:
    duration = step.duration
    if isinstance(duration, TimeDuration):
        kind = "fixed_rest" if sport == "swim" and step.type == "rest" else "time"
        return {"endCondition": dict(END_CONDITIONS[kind]), "endConditionValue": duration.seconds}
    if isinstance(duration, DistanceDuration):
        fields: dict[str, Any] = {
            "endCondition": dict(END_CONDITIONS["distance"]),
            "endConditionValue": duration.meters,
        }
        if sport == "swim":
            fields["preferredEndConditionUnit"] = dict(METER_UNIT)
        return fields
    return {"endCondition": dict(END_CONDITIONS[duration.kind])}


def _executable(step: Step, sport: str, order: int, child: int | None) -> ExecutableStep:
    extra: dict[str, Any] = {}
    if sport == "swim" and step.type != "rest":
        extra["strokeType"] = dict(ANY_STROKE)
    return ExecutableStep(
        stepOrder=order,
        stepType=dict(STEP_TYPES[step.type]),
        childStepId=child,
        description=step.note,
        **_end_condition(step, sport),
        **target_fields(step.target),
        **extra,
    )


def garmin_workout(
    workout: PlannedWorkout,
    estimate: WorkoutEstimate | None = None,
    *,
    pool_length_m: float = DEFAULT_POOL_LENGTH_M,
) -> dict[str, Any]:
    """The JSON to send to Garmin Connect's workout service for ``workout``: its name, its
    purpose as the description, Domestique's estimate of its length, and every step.

    ``pool_length_m`` is the pool of a swim (Garmin counts lengths by it)."""
    sport = workout.sport
    order = 0
    groups = 0
    steps: list[ExecutableStep | RepeatGroup] = []
    for item in workout.structure.steps:
        order += 1
        if isinstance(item, PlanRepeatGroup):
            groups += 1
            group_order = order
            children: list[ExecutableStep | RepeatGroup] = []
            for step in item.steps:
                order += 1
                children.append(_executable(step, sport, order, groups))
            steps.append(
                RepeatGroup(
                    stepOrder=group_order,
                    stepType=dict(REPEAT_STEP_TYPE),
                    childStepId=groups,
                    numberOfIterations=item.times,
                    workoutSteps=children,
                    endCondition=dict(END_CONDITIONS["iterations"]),
                    endConditionValue=float(item.times),
                    smartRepeat=False,
                    skipLastRestStep=False,
                )
            )
        else:
            steps.append(_executable(item, sport, order, None))
    extra: dict[str, Any] = {}
    if estimate is not None and estimate.distance_m:
        extra["estimatedDistanceInMeters"] = round(estimate.distance_m, 1)
    if sport == "swim":
        extra["poolLength"] = float(pool_length_m)
        extra["poolLengthUnit"] = dict(METER_UNIT)
    model = _WORKOUT_CLASSES[sport](
        workoutName=workout.name,
        description=workout.purpose or None,
        sportType=dict(SPORTS[sport]),
        estimatedDurationInSecs=round(estimate.duration_s) if estimate is not None else 0,
        workoutSegments=[
            WorkoutSegment(segmentOrder=1, sportType=dict(SPORTS[sport]), workoutSteps=steps)
        ],
        **extra,
    )
    return model.to_dict()


# ---------------------------------------------------------------------------------------------
# Read-back

SPORT_BY_ID = {value["sportTypeId"]: key for key, value in SPORTS.items()}
STEP_TYPE_BY_ID = {value["stepTypeId"]: key for key, value in STEP_TYPES.items()}
END_CONDITION_BY_ID: dict[int, str] = {
    ConditionType.LAP_BUTTON: "lap_button",
    ConditionType.TIME: "time",
    ConditionType.DISTANCE: "distance",
    ConditionType.FIXED_REST: "fixed_rest",
    ConditionType.ITERATIONS: "iterations",
}


@dataclass(frozen=True)
class Difference:
    """One way the workout Garmin stored differs from the one sent: a stable ``code`` and
    plain parameters (``step`` is the step's number as Garmin orders them, from 1)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _FlatStep:
    order: int
    group: int | None  # the stepOrder of the repeat group holding it
    payload: Mapping[str, Any]

    @property
    def is_repeat(self) -> bool:
        return self.payload.get("type") == "RepeatGroupDTO" or "numberOfIterations" in self.payload


def _flatten(payload: Mapping[str, Any]) -> Iterator[_FlatStep]:
    def walk(steps: Any, group: int | None) -> Iterator[_FlatStep]:
        for position, step in enumerate(steps or []):
            if not isinstance(step, Mapping):
                continue
            order = step.get("stepOrder")
            flat = _FlatStep(order if isinstance(order, int) else -1 - position, group, step)
            yield flat
            if flat.is_repeat:
                yield from walk(step.get("workoutSteps"), flat.order)

    for segment in payload.get("workoutSegments") or []:
        if isinstance(segment, Mapping):
            yield from walk(segment.get("workoutSteps"), None)


def _id(payload: Mapping[str, Any], name: str, key: str) -> int | None:
    value = payload.get(name)
    if isinstance(value, Mapping) and isinstance(value.get(key), int):
        return value[key]
    return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)


def _zone(step: Mapping[str, Any]) -> int | None:
    zone = step.get("zoneNumber")
    return zone if isinstance(zone, int) and not isinstance(zone, bool) and zone > 0 else None


def decode_target(step: Mapping[str, Any]) -> dict[str, Any]:
    """A Garmin step's target in the plan's target format (``{"kind": "power_range",
    "low_w": 240, "high_w": 270}``); ``speed`` (km/h) and ``unknown`` for targets the plan has
    no kind for, with ``missing`` when the target type came without its values."""
    type_id = _id(step, "targetType", "workoutTargetTypeId")
    one, two = _number(step.get("targetValueOne")), _number(step.get("targetValueTwo"))
    zone = _zone(step)
    if type_id is None or type_id == TargetType.NO_TARGET:
        return {"kind": "none"}
    if type_id in (TargetType.HEART_RATE_ZONE, TargetType.POWER_ZONE) and zone:
        kind = "hr_zone" if type_id == TargetType.HEART_RATE_ZONE else "power_zone"
        return {"kind": kind, "zone": zone}
    if one is None or two is None:
        return {"kind": "unknown", "type_id": type_id, "missing": True}
    low, high = min(one, two), max(one, two)
    if type_id == TargetType.HEART_RATE_ZONE:
        return {"kind": "hr_range", "low_bpm": round(low), "high_bpm": round(high)}
    if type_id == TargetType.POWER_ZONE:
        return {"kind": "power_range", "low_w": round(low), "high_w": round(high)}
    if type_id == TargetType.CADENCE:
        return {"kind": "cadence", "low_rpm": round(low), "high_rpm": round(high)}
    if type_id == TargetType.PACE_ZONE and low > 0:
        return {
            "kind": "pace_range",
            "fast_s_per_km": round(1000.0 / high, 1),
            "slow_s_per_km": round(1000.0 / low, 1),
        }
    if type_id == TargetType.SPEED_ZONE:
        return {"kind": "speed", "low_kmh": round(low * 3.6, 1), "high_kmh": round(high * 3.6, 1)}
    return {"kind": "unknown", "type_id": type_id, "low": one, "high": two}


def _duration(step: Mapping[str, Any]) -> dict[str, Any]:
    condition = _id(step, "endCondition", "conditionTypeId")
    kind = END_CONDITION_BY_ID.get(condition, "unknown") if condition is not None else "none"
    value = _number(step.get("endConditionValue"))
    if kind == "lap_button":  # Garmin echoes a meaningless value with the lap button
        return {"kind": kind}
    if kind == "fixed_rest":
        kind = "time"
    return {"kind": kind, "value": value}


TARGET_VALUE_KEYS = ("targetValueOne", "targetValueTwo")


def _compare_target(
    order: int, sport: str, sent: Mapping[str, Any], got: Mapping[str, Any]
) -> Iterator[Difference]:
    sent_type = _id(sent, "targetType", "workoutTargetTypeId") or TargetType.NO_TARGET
    got_type = _id(got, "targetType", "workoutTargetTypeId") or TargetType.NO_TARGET
    sent_target, got_target = decode_target(sent), decode_target(got)
    params = {"step": order, "sport": sport, "sent": sent_target, "fetched": got_target}
    if sent_type != got_type:
        yield Difference(
            "target_dropped" if got_type == TargetType.NO_TARGET else "target_changed", params
        )
        return
    one, two = (_number(sent.get(key)) for key in TARGET_VALUE_KEYS)
    got_one, got_two = (_number(got.get(key)) for key in TARGET_VALUE_KEYS)
    zone, got_zone = _zone(sent), _zone(got)
    if zone != got_zone:
        yield Difference("target_changed", params)
    elif zone is not None or (
        _same(one, got_one) and _same(two, got_two)
    ):  # a zone: any bpm or W Garmin adds are its own
        return
    elif got_target.get("missing"):
        yield Difference("target_values_dropped", params)
    elif _same(one, got_two) and _same(two, got_one):
        yield Difference("target_order_changed", params)
    else:
        yield Difference("target_changed", params)


def compare(sent: Mapping[str, Any], fetched: Mapping[str, Any]) -> list[Difference]:
    """What Garmin changed, dropped or added in ``fetched`` (``get_workout_by_id``) against
    ``sent`` (:func:`garmin_workout`), in step order; empty when the watch will get what was
    sent."""
    found: list[Difference] = []
    sent_sport = _id(sent, "sportType", "sportTypeId")
    got_sport = _id(fetched, "sportType", "sportTypeId")
    sport = SPORT_BY_ID.get(sent_sport, "other") if sent_sport is not None else "other"
    if sent_sport != got_sport:
        found.append(
            Difference(
                "sport_changed",
                {
                    "sent": SPORT_BY_ID.get(sent_sport, sent_sport),
                    "fetched": SPORT_BY_ID.get(got_sport, got_sport),
                },
            )
        )
    if "poolLength" in sent and not _same(
        _number(sent.get("poolLength")), _number(fetched.get("poolLength"))
    ):
        found.append(
            Difference(
                "pool_length_changed",
                {"sent": sent.get("poolLength"), "fetched": fetched.get("poolLength")},
            )
        )
    sent_steps = {step.order: step for step in _flatten(sent)}
    got_steps = {step.order: step for step in _flatten(fetched)}
    for order in sorted(sent_steps.keys() | got_steps.keys()):
        mine, theirs = sent_steps.get(order), got_steps.get(order)
        if theirs is None:
            assert mine is not None
            found.append(Difference("step_missing", {"step": order}))
            continue
        if mine is None:
            found.append(Difference("step_added", {"step": order}))
            continue
        if mine.is_repeat != theirs.is_repeat or mine.group != theirs.group:
            found.append(Difference("structure_changed", {"step": order}))
            continue
        if mine.is_repeat:
            times = mine.payload.get("numberOfIterations")
            got_times = theirs.payload.get("numberOfIterations")
            if times != got_times:
                found.append(
                    Difference(
                        "repeat_changed", {"step": order, "sent": times, "fetched": got_times}
                    )
                )
            continue
        sent_type = _id(mine.payload, "stepType", "stepTypeId")
        got_type = _id(theirs.payload, "stepType", "stepTypeId")
        if sent_type != got_type:
            found.append(
                Difference(
                    "step_type_changed",
                    {
                        "step": order,
                        "sent": STEP_TYPE_BY_ID.get(sent_type, sent_type),
                        "fetched": STEP_TYPE_BY_ID.get(got_type, got_type),
                    },
                )
            )
        sent_duration, got_duration = _duration(mine.payload), _duration(theirs.payload)
        if sent_duration["kind"] != got_duration["kind"] or not _same(
            sent_duration.get("value"), got_duration.get("value")
        ):
            found.append(
                Difference(
                    "duration_changed",
                    {
                        "step": order,
                        "sport": sport,
                        "sent": sent_duration,
                        "fetched": got_duration,
                    },
                )
            )
        found.extend(_compare_target(order, sport, mine.payload, theirs.payload))
    return found
