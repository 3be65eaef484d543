"""What changed between two revisions of a plan, as a list a page can show.

:func:`diff` compares workouts by their stable id (added, removed, moved, and each changed
field), weeks by their start date, and the plan's own parts (goal, availability, constraints,
health reports, title). The list is stable: plan-wide changes first, then by date, then by a
fixed order of kinds and by id and field, so the same two revisions always give the same list.
Values are plain JSON (dates as ISO strings, structures as their JSON form).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from app.coach.plans import Plan, PlannedWorkout, Week

ChangeKind = Literal[
    "plan_changed",
    "week_added",
    "week_removed",
    "week_changed",
    "workout_added",
    "workout_removed",
    "workout_moved",
    "workout_changed",
]
_ORDER = {
    "plan_changed": 0,
    "week_removed": 1,
    "week_added": 2,
    "week_changed": 3,
    "workout_removed": 4,
    "workout_added": 5,
    "workout_moved": 6,
    "workout_changed": 7,
}
WORKOUT_FIELDS = ("sport", "name", "purpose", "key", "race", "structure", "notes")
WEEK_FIELDS = ("focus", "rationale", "citations")
PLAN_FIELDS = ("title", "goal", "availability", "constraints", "health")


@dataclass(frozen=True)
class PlanChange:
    """One difference. ``day`` orders it (the workout's new date, a removed one's old date, a
    week's start; ``None`` for plan-wide changes)."""

    kind: ChangeKind
    day: date | None
    workout_id: str | None = None
    week_start: date | None = None
    field: str | None = None
    old: Any = None
    new: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "day": None if self.day is None else self.day.isoformat(),
            "workout_id": self.workout_id,
            "week_start": None if self.week_start is None else self.week_start.isoformat(),
            "field": self.field,
            "old": self.old,
            "new": self.new,
        }


def _json(model: Any, name: str) -> Any:
    value = getattr(model, name)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _workout_summary(workout: PlannedWorkout) -> dict[str, Any]:
    return {"date": workout.date.isoformat(), "sport": workout.sport, "name": workout.name}


def _week_summary(week: Week) -> dict[str, Any]:
    return {"start": week.start.isoformat(), "focus": week.focus}


def diff(old: Plan, new: Plan) -> list[PlanChange]:
    """Every difference from ``old`` to ``new``, in a stable order (see the module)."""
    changes: list[PlanChange] = []
    for name in PLAN_FIELDS:
        before, after = _json(old, name), _json(new, name)
        if before != after:
            changes.append(PlanChange("plan_changed", None, field=name, old=before, new=after))

    old_weeks = {w.start: w for w in old.weeks}
    new_weeks = {w.start: w for w in new.weeks}
    for start in old_weeks.keys() - new_weeks.keys():
        changes.append(
            PlanChange("week_removed", start, week_start=start, old=_week_summary(old_weeks[start]))
        )
    for start in new_weeks.keys() - old_weeks.keys():
        changes.append(
            PlanChange("week_added", start, week_start=start, new=_week_summary(new_weeks[start]))
        )
    for start in old_weeks.keys() & new_weeks.keys():
        for name in WEEK_FIELDS:
            before, after = _json(old_weeks[start], name), _json(new_weeks[start], name)
            if before != after:
                changes.append(
                    PlanChange(
                        "week_changed", start, week_start=start, field=name, old=before, new=after
                    )
                )

    old_workouts = {w.id: w for w in old.workouts}
    new_workouts = {w.id: w for w in new.workouts}
    for key in old_workouts.keys() - new_workouts.keys():
        gone = old_workouts[key]
        changes.append(
            PlanChange("workout_removed", gone.date, workout_id=key, old=_workout_summary(gone))
        )
    for key in new_workouts.keys() - old_workouts.keys():
        added = new_workouts[key]
        changes.append(
            PlanChange("workout_added", added.date, workout_id=key, new=_workout_summary(added))
        )
    for key in old_workouts.keys() & new_workouts.keys():
        before_workout, after_workout = old_workouts[key], new_workouts[key]
        if before_workout.date != after_workout.date:
            changes.append(
                PlanChange(
                    "workout_moved",
                    after_workout.date,
                    workout_id=key,
                    field="date",
                    old=before_workout.date.isoformat(),
                    new=after_workout.date.isoformat(),
                )
            )
        for name in WORKOUT_FIELDS:
            before, after = _json(before_workout, name), _json(after_workout, name)
            if before != after:
                changes.append(
                    PlanChange(
                        "workout_changed",
                        after_workout.date,
                        workout_id=key,
                        field=name,
                        old=before,
                        new=after,
                    )
                )

    def order(change: PlanChange) -> tuple[Any, ...]:
        return (
            change.day is not None,
            change.day or date.min,
            _ORDER[change.kind],
            change.workout_id or "",
            PLAN_FIELDS.index(change.field)
            if change.kind == "plan_changed" and change.field in PLAN_FIELDS
            else (
                WORKOUT_FIELDS.index(change.field)
                if change.field in WORKOUT_FIELDS
                else (WEEK_FIELDS.index(change.field) if change.field in WEEK_FIELDS else -1)
            ),
        )

    return sorted(changes, key=order)
