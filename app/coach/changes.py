"""Change sets: what chat about a plan turns into, and applying them.

When the owner says "move the long run to Sunday", "I have a cold until Thursday" or "add a
10 k race on May 3", the model answers with a :class:`ChangeSet` — a short summary and a list
of operations — in the same strict-schema style as the plan draft (:mod:`app.coach.llm_schema`:
every field present, ``null`` for "unchanged" or "none", workouts as blocks of steps).
:func:`apply` makes a new plan from it, or raises :class:`ChangeSetInvalid` listing a precise
error for every operation that cannot be applied; the input plan is never changed. The new
plan then goes through the guardrails and is shown as a diff before the owner approves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal, assert_never

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.coach.llm_schema import (
    DraftInvalid,
    LlmBlock,
    LlmWorkout,
    errors_from_validation,
    new_workout_id,
    parse_day,
    strict_json_schema,
    structure_from_blocks,
    workout_from_llm,
)
from app.coach.plans import HealthKind, HealthReport, Plan, PlannedWorkout, Week, WeekFocus
from app.coach.workouts import (
    DistanceDuration,
    OpenDuration,
    Step,
    TimeDuration,
    WorkoutSport,
    WorkoutStructure,
)


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MoveWorkout(_Op):
    """Move a workout to another day."""

    op: Literal["move_workout"] = Field(description="move_workout")
    workout_id: str = Field(description="Id of the workout, as given in the plan.")
    date: str = Field(description="The new day, YYYY-MM-DD.")


class ReplaceWorkout(_Op):
    """Change a workout's name, purpose, steps or notes (null keeps the current value)."""

    op: Literal["replace_workout"] = Field(description="replace_workout")
    workout_id: str = Field(description="Id of the workout.")
    name: str | None = Field(description="New name, or null to keep it.")
    purpose: str | None = Field(description="New purpose, or null to keep it.")
    blocks: list[LlmBlock] | None = Field(description="New steps, or null to keep them.")
    notes: str | None = Field(description="New notes, or null to keep them.")


class AddWorkout(_Op):
    """Add a workout."""

    op: Literal["add_workout"] = Field(description="add_workout")
    workout: LlmWorkout = Field(description="The new workout.")


class RemoveWorkout(_Op):
    """Remove a workout."""

    op: Literal["remove_workout"] = Field(description="remove_workout")
    workout_id: str = Field(description="Id of the workout.")


class SetDayAvailability(_Op):
    """Mark one date unavailable (a day off) or available again."""

    op: Literal["set_day_availability"] = Field(description="set_day_availability")
    date: str = Field(description="The day, YYYY-MM-DD.")
    available: bool = Field(description="false: no training that day; true: the day is free.")


class ReportHealth(_Op):
    """The owner reports an illness or injury: rest from start until they clear it."""

    op: Literal["report_health"] = Field(description="report_health")
    kind: HealthKind = Field(description="illness or injury.")
    start: str = Field(description="First day affected, YYYY-MM-DD.")
    end: str | None = Field(description="Last day the owner expects it to last, or null.")
    sports: list[WorkoutSport] | None = Field(
        description="For an injury, the sports it rules out; null for all."
    )
    note: str | None = Field(description="What the owner said, briefly.")


class ClearHealth(_Op):
    """The owner says they are well again."""

    op: Literal["clear_health"] = Field(description="clear_health")
    report_id: str | None = Field(description="Id of the report; null clears every open one.")
    date: str = Field(description="The day they are well again, YYYY-MM-DD.")


class AddEvent(_Op):
    """Add a race or event on a day (a race workout)."""

    op: Literal["add_event"] = Field(description="add_event")
    date: str = Field(description="Day of the event, YYYY-MM-DD.")
    name: str = Field(description="Name of the event.")
    sport: WorkoutSport = Field(description="run, ride, swim or other.")
    distance_m: float | None = Field(description="Distance in meters, or null.")
    duration_s: int | None = Field(description="Expected duration in seconds, or null.")


class ChangeGoalDate(_Op):
    """Move the goal event to another day of the plan."""

    op: Literal["change_goal_date"] = Field(description="change_goal_date")
    date: str = Field(description="The new event day, YYYY-MM-DD.")


class UpdateWeek(_Op):
    """Change a week's focus or rationale (null keeps it)."""

    op: Literal["update_week"] = Field(description="update_week")
    week_start: str = Field(description="The week's first day, YYYY-MM-DD.")
    focus: WeekFocus | None = Field(description="New focus, or null.")
    rationale: str | None = Field(description="New rationale, or null.")


Operation = Annotated[
    MoveWorkout
    | ReplaceWorkout
    | AddWorkout
    | RemoveWorkout
    | SetDayAvailability
    | ReportHealth
    | ClearHealth
    | AddEvent
    | ChangeGoalDate
    | UpdateWeek,
    Field(discriminator="op"),
]


class ChangeSet(_Op):
    """Changes to a training plan, in order."""

    summary: str = Field(description="What the changes do, in a sentence (owner's language).")
    operations: list[Operation] = Field(description="The changes, applied in order.")


def change_set_schema() -> dict[str, Any]:
    """The strict JSON Schema of :class:`ChangeSet` for the model."""
    return strict_json_schema(ChangeSet)


# --------------------------------------------------------------------------------------------
# Applying


@dataclass(frozen=True)
class OperationError:
    """Why one operation cannot be applied: its index, kind, a code and the numbers."""

    index: int
    op: str
    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"operation {self.index} ({self.op}): {self.message}"


class ChangeSetInvalid(ValueError):
    """Some operations cannot be applied; ``errors`` has one entry per problem."""

    def __init__(self, errors: Sequence[OperationError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


class _Refused(Exception):
    def __init__(self, code: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params


class _Draft:
    """The plan being changed, as mutable parts."""

    def __init__(self, plan: Plan, today: date | None) -> None:
        self.plan = plan
        self.today = today
        self.workouts: dict[str, PlannedWorkout] = {w.id: w for w in plan.workouts}
        self.weeks: list[Week] = list(plan.weeks)
        self.days_off: list[date] = list(plan.availability.days_off)
        self.health: list[HealthReport] = list(plan.health)
        self.goal = plan.goal

    def day(self, text: str, *, future: bool = True) -> date:
        try:
            day = parse_day(text, ())
        except DraftInvalid:
            raise _Refused(
                "date_invalid", f"“{text}” is not a date (YYYY-MM-DD)", text=text
            ) from None
        first, last = self.plan.first_day, self.plan.last_day
        if not first <= day <= last:
            raise _Refused(
                "date_outside_plan",
                f"{day.isoformat()} is outside the plan ({first.isoformat()} to "
                f"{last.isoformat()})",
                date=day.isoformat(),
                first=first.isoformat(),
                last=last.isoformat(),
            )
        if future and self.today is not None and day < self.today:
            raise _Refused(
                "date_in_past",
                f"{day.isoformat()} has already passed",
                date=day.isoformat(),
                today=self.today.isoformat(),
            )
        return day

    def workout(self, workout_id: str) -> PlannedWorkout:
        found = self.workouts.get(workout_id)
        if found is None:
            raise _Refused(
                "unknown_workout", f"there is no workout {workout_id}", workout_id=workout_id
            )
        if self.today is not None and found.date < self.today:
            raise _Refused(
                "workout_in_past",
                f"workout {workout_id} on {found.date.isoformat()} has already passed",
                workout_id=workout_id,
                date=found.date.isoformat(),
            )
        return found

    def structure(self, blocks: Sequence[LlmBlock]) -> WorkoutStructure:
        try:
            return structure_from_blocks(blocks, ())
        except DraftInvalid as invalid:
            raise _Refused(
                "structure_invalid",
                f"the steps are not valid: {invalid}",
                details=str(invalid),
            ) from None


def _apply_one(draft: _Draft, operation: Operation) -> None:
    if isinstance(operation, MoveWorkout):
        workout = draft.workout(operation.workout_id)
        draft.workouts[workout.id] = workout.model_copy(update={"date": draft.day(operation.date)})
    elif isinstance(operation, ReplaceWorkout):
        workout = draft.workout(operation.workout_id)
        update: dict[str, Any] = {}
        if operation.name is not None:
            update["name"] = operation.name
        if operation.purpose is not None:
            update["purpose"] = operation.purpose
        if operation.notes is not None:
            update["notes"] = operation.notes or None
        if operation.blocks is not None:
            update["structure"] = draft.structure(operation.blocks)
        if not update:
            raise _Refused("nothing_to_change", "the operation changes nothing")
        draft.workouts[workout.id] = _revalidated(workout.model_copy(update=update))
    elif isinstance(operation, AddWorkout):
        draft.day(operation.workout.date)
        try:
            added = workout_from_llm(operation.workout, (), set(draft.workouts), keep_id=False)
        except DraftInvalid as invalid:
            raise _Refused(
                "workout_invalid", f"the workout is not valid: {invalid}", details=str(invalid)
            ) from None
        draft.workouts[added.id] = added
    elif isinstance(operation, RemoveWorkout):
        draft.workouts.pop(draft.workout(operation.workout_id).id)
    elif isinstance(operation, SetDayAvailability):
        day = draft.day(operation.date)
        if operation.available:
            draft.days_off = [d for d in draft.days_off if d != day]
        elif day not in draft.days_off:
            draft.days_off.append(day)
            draft.days_off.sort()
    elif isinstance(operation, ReportHealth):
        start = draft.day(operation.start, future=False)
        end = draft.day(operation.end, future=False) if operation.end is not None else None
        if end is not None and end < start:
            raise _Refused(
                "end_before_start",
                f"the end {end.isoformat()} is before the start {start.isoformat()}",
                start=start.isoformat(),
                end=end.isoformat(),
            )
        taken = {report.id for report in draft.health}
        report_id = new_workout_id(start, operation.kind, taken)
        draft.health.append(
            HealthReport(
                id=report_id,
                kind=operation.kind,
                start=start,
                end=end,
                sports=operation.sports if operation.kind == "injury" else None,
                note=operation.note or None,
            )
        )
    elif isinstance(operation, ClearHealth):
        day = draft.day(operation.date, future=False)
        open_reports = [r for r in draft.health if r.cleared_on is None]
        if operation.report_id is not None:
            chosen = [r for r in open_reports if r.id == operation.report_id]
            if not chosen:
                raise _Refused(
                    "unknown_health_report",
                    f"there is no open health report {operation.report_id}",
                    report_id=operation.report_id,
                )
        else:
            chosen = open_reports
            if not chosen:
                raise _Refused("nothing_to_clear", "no illness or injury is open")
        for report in chosen:
            if day < report.start:
                raise _Refused(
                    "cleared_before_start",
                    f"{day.isoformat()} is before the report started ({report.start.isoformat()})",
                    date=day.isoformat(),
                    start=report.start.isoformat(),
                )
        draft.health = [
            r.model_copy(update={"cleared_on": day}) if r in chosen else r for r in draft.health
        ]
    elif isinstance(operation, AddEvent):
        day = draft.day(operation.date)
        try:
            duration: DistanceDuration | TimeDuration | OpenDuration
            if operation.distance_m is not None:
                duration = DistanceDuration(kind="distance", meters=operation.distance_m)
            elif operation.duration_s is not None:
                duration = TimeDuration(kind="time", seconds=operation.duration_s)
            else:
                duration = OpenDuration(kind="open")
            event = PlannedWorkout(
                id=new_workout_id(day, operation.sport, set(draft.workouts)),
                date=day,
                sport=operation.sport,
                name=operation.name,
                purpose="",
                key=True,
                race=True,
                structure=WorkoutStructure(
                    steps=[Step(kind="step", type="interval", duration=duration)]
                ),
            )
        except ValidationError as error:
            details = "; ".join(str(e) for e in errors_from_validation(error))
            raise _Refused(
                "event_invalid", f"the event is not valid: {details}", details=details
            ) from None
        draft.workouts[event.id] = event
    elif isinstance(operation, ChangeGoalDate):
        draft.goal = draft.goal.model_copy(update={"event_date": draft.day(operation.date)})
    elif isinstance(operation, UpdateWeek):
        start = draft.day(operation.week_start, future=False)
        index = next((i for i, w in enumerate(draft.weeks) if w.start == start), None)
        if index is None:
            raise _Refused(
                "unknown_week",
                f"no week starts on {start.isoformat()}",
                week_start=start.isoformat(),
            )
        update = {}
        if operation.focus is not None:
            update["focus"] = operation.focus
        if operation.rationale is not None:
            update["rationale"] = operation.rationale
        if not update:
            raise _Refused("nothing_to_change", "the operation changes nothing")
        draft.weeks[index] = draft.weeks[index].model_copy(update=update)
    else:  # pragma: no cover - the union is closed
        assert_never(operation)


def _revalidated(workout: PlannedWorkout) -> PlannedWorkout:
    try:
        return PlannedWorkout.model_validate(workout.model_dump())
    except ValidationError as error:
        raise _Refused(
            "workout_invalid",
            "the workout is not valid: " + "; ".join(str(e) for e in errors_from_validation(error)),
        ) from None


def apply(plan: Plan, change_set: ChangeSet, *, today: date | None = None) -> Plan:
    """A new plan with ``change_set`` applied in order; the input is not changed.

    With ``today``, operations may not touch days or workouts already past (reporting or
    clearing an illness may name past days). Raises :class:`ChangeSetInvalid` with one error
    per operation that cannot be applied (the others are still checked, in order), or for the
    resulting plan when it breaks a plan rule.
    """
    draft = _Draft(plan, today)
    errors: list[OperationError] = []
    for index, operation in enumerate(change_set.operations):
        try:
            _apply_one(draft, operation)
        except _Refused as refused:
            errors.append(
                OperationError(index, operation.op, refused.code, refused.message, refused.params)
            )
    if errors:
        raise ChangeSetInvalid(errors)
    try:
        return Plan.model_validate(
            {
                **plan.model_dump(),
                "goal": draft.goal.model_dump(),
                "availability": {
                    **plan.availability.model_dump(),
                    "days_off": draft.days_off,
                },
                "health": [report.model_dump() for report in draft.health],
                "weeks": [week.model_dump() for week in draft.weeks],
                "workouts": [w.model_dump() for w in draft.workouts.values()],
            }
        )
    except ValidationError as error:
        raise ChangeSetInvalid(
            [
                OperationError(-1, "plan", problem.code, str(problem), problem.params)
                for problem in errors_from_validation(error)
            ]
        ) from None
