"""What to do on Garmin Connect to mirror the approved workouts: the push plan.

Pure: the caller (the push service) says which approved workouts it wants on Garmin and what
Domestique knows it pushed; :func:`push_plan` answers the calls to make, in order. The service
makes them one at a time through the Garmin adapter and records each outcome with
:func:`record` (:func:`record_not_found` when Garmin no longer has the workout or its schedule),
so a push stopped half-way (a 429, an expired login) resumes where it stopped.

Per workout (:class:`Wanted` and its :class:`Pushed` record, matched by Domestique's stable
workout id):

* **new, in the window** → ``create``, ``schedule`` on its date, ``read_back`` (3 calls);
* **a new revision** (the hash of what is sent changed) → ``update`` in place (Garmin keeps the
  id, so the schedule survives) and ``read_back``;
* **a new date** → ``reschedule`` (the schedule keeps its id);
* **not wanted any more** (dropped from the plan, or the plan no longer approved) →
  ``unschedule`` and ``delete``;
* **unchanged** → nothing: pushing the same revision twice calls Garmin no more.

The window (say the next 14 days) decides only when a workout is *first* created: a workout
already on Garmin is kept in step wherever its date goes, so one whose day has passed stays on
the owner's Garmin calendar as long as the caller keeps listing it (as history). A push that
stopped between two calls leaves a record the next plan completes: created but not scheduled
→ ``schedule``; sent but not read back → ``read_back``.

Only workouts in the pushed records are ever touched, and those are exactly the ones Domestique
created; the owner's own Garmin workouts never appear here. So the caller must list every
approved workout it still wants on Garmin, past ones included: a pushed workout it leaves out is
removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from app.coach.plans import PlannedWorkout

ActionKind = Literal[
    "create", "update", "read_back", "schedule", "reschedule", "unschedule", "delete"
]
CALLS: Mapping[ActionKind, int] = {
    "create": 1,
    "update": 1,
    "read_back": 1,
    "schedule": 1,
    "reschedule": 2,  # garminconnect reads the schedule entry, then puts it back moved
    "unschedule": 1,
    "delete": 1,
}
"""Garmin calls each action takes through the adapter."""


def revision_hash(workout: PlannedWorkout, *, pool_length_m: float | None = None) -> str:
    """The revision of what Garmin gets for ``workout``: its sport, name, purpose (the
    description) and structure, and a swim's pool length. The date is not part of it (a move
    is a reschedule, not a new revision); neither is the estimate, which changes with the
    athlete's thresholds and not with the plan."""
    content = {
        "sport": workout.sport,
        "name": workout.name,
        "purpose": workout.purpose,
        "structure": workout.structure.model_dump(mode="json"),
    }
    if workout.sport == "swim" and pool_length_m is not None:
        content["pool_length_m"] = float(pool_length_m)
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Wanted:
    """An approved workout the owner wants on Garmin."""

    workout_id: str
    revision: str
    day: date
    in_window: bool


@dataclass(frozen=True, slots=True)
class Pushed:
    """What Domestique knows it did on Garmin for one workout.

    ``revision`` is the revision Garmin holds (sent by a create or an update) and ``checked``
    whether that revision was read back; ``schedule_id`` and ``day`` are the calendar entry,
    ``None`` while there is none."""

    workout_id: str
    garmin_workout_id: int | None = None
    revision: str | None = None
    checked: bool = False
    schedule_id: int | None = None
    day: date | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """One call to make. ``garmin_workout_id`` and ``schedule_id`` are the ids already known
    (``None`` before ``create`` and ``schedule`` make them); ``revision`` is what a create or
    update sends and a read-back checks; ``day`` is where a schedule goes."""

    kind: ActionKind
    workout_id: str
    garmin_workout_id: int | None = None
    schedule_id: int | None = None
    revision: str | None = None
    day: date | None = None


def _for_wanted(want: Wanted, done: Pushed | None) -> list[Action]:
    wid = want.workout_id
    if done is None or done.garmin_workout_id is None:
        if not want.in_window:
            return []
        actions = []
        if done is not None and done.schedule_id is not None:  # a schedule left without workout
            actions.append(Action("unschedule", wid, schedule_id=done.schedule_id))
        return [
            *actions,
            Action("create", wid, revision=want.revision),
            Action("schedule", wid, day=want.day),
            Action("read_back", wid, revision=want.revision),
        ]
    garmin_id = done.garmin_workout_id
    actions = []
    if done.revision != want.revision:
        actions.append(Action("update", wid, garmin_id, revision=want.revision))
    if done.schedule_id is None:
        actions.append(Action("schedule", wid, garmin_id, day=want.day))
    elif done.day != want.day:
        actions.append(Action("reschedule", wid, garmin_id, done.schedule_id, day=want.day))
    if done.revision != want.revision or not done.checked:
        actions.append(Action("read_back", wid, garmin_id, revision=want.revision))
    return actions


def _for_unwanted(done: Pushed) -> list[Action]:
    actions = []
    if done.schedule_id is not None:
        actions.append(
            Action("unschedule", done.workout_id, done.garmin_workout_id, done.schedule_id)
        )
    if done.garmin_workout_id is not None:
        actions.append(Action("delete", done.workout_id, done.garmin_workout_id))
    return actions


def push_plan(wanted: Iterable[Wanted], pushed: Iterable[Pushed]) -> list[Action]:
    """The calls that bring Garmin in step with ``wanted``, given the ``pushed`` records: each
    workout's calls together, workouts by date (the nearest first, so a push cut short by a
    rate limit has done the days that matter soonest), then by id."""
    wants: dict[str, Wanted] = {}
    for want in wanted:
        if want.workout_id in wants:
            raise ValueError(f"workout {want.workout_id!r} is listed twice")
        wants[want.workout_id] = want
    records: dict[str, Pushed] = {}
    for done in pushed:
        if done.workout_id in records:
            raise ValueError(f"workout {done.workout_id!r} has two push records")
        records[done.workout_id] = done
    groups: list[tuple[date, str, list[Action]]] = []
    for wid, want in wants.items():
        groups.append((want.day, wid, _for_wanted(want, records.get(wid))))
    for wid, done in records.items():
        if wid not in wants:
            groups.append((done.day or date.min, wid, _for_unwanted(done)))
    groups.sort(key=lambda group: (group[0], group[1]))
    return [action for _, _, actions in groups for action in actions]


def calls(actions: Iterable[Action]) -> int:
    """How many Garmin calls ``actions`` take."""
    return sum(CALLS[action.kind] for action in actions)


def record(pushed: Pushed | None, action: Action, *, new_id: int | None = None) -> Pushed | None:
    """The push record after ``action`` succeeded: ``new_id`` is the workout id a ``create``
    or the schedule id a ``schedule`` answered. ``None`` once the workout is deleted. (A 404
    on an unschedule or a delete is a success: what was asked is so.)"""
    current = pushed or Pushed(action.workout_id)
    if current.workout_id != action.workout_id:
        raise ValueError(f"{action.kind} of {action.workout_id!r} on {current.workout_id!r}")
    match action.kind:
        case "create" | "schedule" if new_id is None:
            raise ValueError(f"{action.kind} needs the id Garmin answered")
        case "create":
            return replace(
                current, garmin_workout_id=new_id, revision=action.revision, checked=False
            )
        case "update":
            return replace(current, revision=action.revision, checked=False)
        case "read_back":
            return replace(current, checked=current.revision == action.revision)
        case "schedule":
            return replace(current, schedule_id=new_id, day=action.day)
        case "reschedule":
            return replace(current, day=action.day)
        case "unschedule":
            return replace(current, schedule_id=None, day=None)
        case "delete":
            return None
    raise ValueError(f"unknown action {action.kind!r}")


def record_not_found(pushed: Pushed, action: Action) -> Pushed | None:
    """The push record after Garmin answered ``action`` with "not found": the owner removed
    something on Garmin. A missing workout (an update, a read-back or a schedule of it)
    takes its schedules with it, so the record keeps nothing and the next plan creates the
    workout again while it is wanted in the window; a missing schedule (a move) leaves the
    workout, and the next plan schedules it again. For an unschedule or a delete, "not found"
    is what was asked: the same as :func:`record`."""
    if pushed.workout_id != action.workout_id:
        raise ValueError(f"{action.kind} of {action.workout_id!r} on {pushed.workout_id!r}")
    match action.kind:
        case "update" | "read_back" | "schedule":
            return Pushed(pushed.workout_id)
        case "reschedule":
            return replace(pushed, schedule_id=None, day=None)
        case "unschedule" | "delete":
            return record(pushed, action)
    raise ValueError(f"{action.kind} cannot be missing on Garmin")
