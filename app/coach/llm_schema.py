"""What a language model fills in, and how code turns it into a plan.

The model never writes the import/export format directly. It fills a flatter **LLM schema**
made for constrained decoding — OpenAI *strict* structured outputs and the grammar engines of
Ollama, vLLM and llama.cpp:

* every property is required; "optional" is a union with ``null``;
* every object has ``additionalProperties: false``;
* no ``$ref`` (every definition is inlined), no recursion, no ``oneOf``/``allOf``/``not``/
  ``if``, no ``format``, ``pattern``, ``minimum``/``maximum``, ``minLength``/``maxLength``,
  ``minItems``/``maxItems`` or ``default`` — the keywords strict mode rejected when it shipped
  and fine-tuned models still reject; dates are strings described as ``YYYY-MM-DD``;
* at most five levels of nested objects and 100 properties (strict mode's original limits);
  a step carries its duration and target as flat fields instead of nested objects, and a
  workout is a list of **blocks** (``repeat`` 1 = the steps once, 2–99 = a repeat group), so no
  union is needed inside a workout.

Code checks everything the schema cannot say (ranges, dates, the bounds' order) while
converting: :func:`plan_from_draft` returns a validated :class:`~app.coach.plans.Plan` or raises
:class:`DraftInvalid` listing every problem with its place *in the model's output*, ready to be
sent back for the one retry. :func:`strict_json_schema` produces the schema dict to send as
``response_format={"type": "json_schema", "json_schema": {"name": …, "strict": True,
"schema": …}}``; validate the answer with ``LlmPlanDraft.model_validate_json``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.coach.plans import (
    Availability,
    Constraints,
    Goal,
    HealthReport,
    Plan,
    PlannedWorkout,
    Week,
    WeekFocus,
)
from app.coach.workouts import (
    CadenceTarget,
    DistanceDuration,
    HrRangeTarget,
    HrZoneTarget,
    NoTarget,
    PaceRangeTarget,
    PowerRangeTarget,
    PowerZoneTarget,
    RepeatGroup,
    Step,
    StepType,
    TargetKind,
    TimeDuration,
    WorkoutSport,
    WorkoutStructure,
)

DurationKind = Literal["time", "distance", "lap_button", "open"]
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class _Llm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LlmStep(_Llm):
    """One step. Fill only the fields its duration and target use; set the others to null."""

    type: StepType = Field(
        description="warmup, interval (the work), recovery (easy between intervals), rest "
        "(standing still), cooldown or other (a steady session)."
    )
    duration: DurationKind = Field(
        description="time (seconds), distance (meters), lap_button (until lap is pressed) or "
        "open. Swim steps go by distance (rest steps by time)."
    )
    seconds: int | None = Field(description="Length in seconds when duration is time.")
    meters: float | None = Field(description="Length in meters when duration is distance.")
    target: TargetKind = Field(
        description="none, hr_zone (zone), hr_range (low/high bpm), pace_range (runs and "
        "swims: pace_fast/pace_slow), power_zone (rides: zone 1-7), power_range (rides: "
        "low/high W) or cadence (low/high rpm; steps per minute for runs)."
    )
    zone: int | None = Field(description="Zone number for hr_zone (1-5) or power_zone (1-7).")
    low: float | None = Field(description="Low bound for hr_range, power_range or cadence.")
    high: float | None = Field(description="High bound for hr_range, power_range or cadence.")
    pace_fast_s_per_km: float | None = Field(
        description="pace_range: the fast bound in seconds per km (the smaller number; "
        "4:00/km = 240, 1:50/100 m = 1100)."
    )
    pace_slow_s_per_km: float | None = Field(
        description="pace_range: the slow bound in seconds per km (the larger number)."
    )
    note: str | None = Field(description="A short cue for the athlete, or null.")


class LlmBlock(_Llm):
    """Steps done once (repeat 1) or as a repeat group (repeat 2-99)."""

    repeat: int = Field(description="1: the steps once; 2-99: the steps repeated that often.")
    steps: list[LlmStep] = Field(description="The steps, in order.")


class LlmWorkout(_Llm):
    """One session on one day."""

    id: str | None = Field(
        description="The workout's id when the plan shows one (use it to refer to the "
        "workout); null for a new workout."
    )
    date: str = Field(description="Day of the session, YYYY-MM-DD.")
    sport: WorkoutSport = Field(description="run, ride, swim, strength or other.")
    name: str = Field(description="Short name, e.g. “Long run” (the owner's language).")
    purpose: str = Field(description="What the session is for, in one sentence.")
    key: bool = Field(description="A key session of the week (at most two or three a week).")
    race: bool = Field(description="A race or event (true only for races).")
    blocks: list[LlmBlock] = Field(description="The session's steps, in blocks.")
    notes: str | None = Field(description="Notes for the athlete, or null.")


class LlmCitation(_Llm):
    """A library passage: a document slug and a section heading from the passages given."""

    doc: str = Field(description="Document slug, e.g. tapering.")
    section: str = Field(description="Section heading exactly as given.")


class LlmWeek(_Llm):
    """A week of the plan with its sessions."""

    start: str = Field(description="First day of the week, YYYY-MM-DD (7 days after the last).")
    focus: WeekFocus = Field(description="base, build, peak, taper or recovery.")
    rationale: str = Field(description="Why the week looks like this, in two sentences or so.")
    citations: list[LlmCitation] = Field(description="Passages the rationale rests on.")
    workouts: list[LlmWorkout] = Field(description="The week's sessions.")


class LlmPlanDraft(_Llm):
    """Weeks of a training plan (one mesocycle or the whole plan)."""

    weeks: list[LlmWeek] = Field(description="Consecutive weeks, in order.")


# --------------------------------------------------------------------------------------------
# The strict JSON Schema

FORBIDDEN_KEYWORDS = frozenset(
    {
        "$ref",
        "$defs",
        "allOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "dependentRequired",
        "dependentSchemas",
        "discriminator",
        "default",
        "format",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "patternProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "unevaluatedProperties",
        "unevaluatedItems",
        "prefixItems",
    }
)
"""Keywords the LLM schemas never contain (see the module docstring)."""
ALLOWED_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "enum",
        "const",
        "description",
        "title",
    }
)
"""Every keyword an LLM schema may use."""


def _inline(node: Any, definitions: dict[str, Any], trail: tuple[str, ...]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name in trail:
                raise ValueError(f"recursive schema through {name}: LLM schemas cannot recurse")
            resolved = _inline(copy.deepcopy(definitions[name]), definitions, (*trail, name))
            extra = {k: v for k, v in node.items() if k != "$ref"}
            return {**resolved, **extra}
        return {key: _inline(value, definitions, trail) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions, trail) for item in node]
    return node


def _tidy(node: Any) -> Any:
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    tidy = {}
    for key, value in node.items():
        if key in ("title", "default", "discriminator"):
            continue
        if key == "oneOf":
            key = "anyOf"
        if key == "properties":
            tidy[key] = {name: _tidy(child) for name, child in value.items()}
        else:
            tidy[key] = _tidy(value)
    if "const" in tidy:
        tidy["enum"] = [tidy.pop("const")]
    if tidy.get("type") == "object" or "properties" in tidy:
        tidy["additionalProperties"] = False
        tidy["required"] = list(tidy.get("properties", {}))
    return tidy


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema made strict: references inlined, only the allowed keywords,
    every property required, no extra properties. Raises on a recursive model."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    return _tidy(_inline(schema, definitions, ()))


def llm_plan_schema() -> dict[str, Any]:
    """The strict schema of :class:`LlmPlanDraft`."""
    return strict_json_schema(LlmPlanDraft)


# --------------------------------------------------------------------------------------------
# From the model's draft to a plan


@dataclass(frozen=True)
class DraftError:
    """One problem in a model's output, placed where the model wrote it."""

    loc: tuple[str | int, ...]
    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        where = ".".join(str(part) for part in self.loc)
        return f"{where}: {self.message}" if where else self.message


class DraftInvalid(ValueError):
    """The draft cannot become a plan; ``errors`` says why, each in place."""

    def __init__(self, errors: Sequence[DraftError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


def errors_from_validation(
    error: ValidationError, prefix: tuple[str | int, ...] = ()
) -> list[DraftError]:
    """Pydantic's errors as :class:`DraftError` s under ``prefix``."""
    return [
        DraftError(
            loc=(*prefix, *item["loc"]),
            code=item["type"],
            message=item["msg"],
            params={k: v for k, v in (item.get("ctx") or {}).items() if _plain(v)},
        )
        for item in error.errors()
    ]


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _duration(step: LlmStep) -> dict[str, Any]:
    if step.duration == "time":
        return {"kind": "time", "seconds": step.seconds}
    if step.duration == "distance":
        return {"kind": "distance", "meters": step.meters}
    return {"kind": step.duration}


def _target(step: LlmStep) -> dict[str, Any]:
    kind = step.target
    if kind in ("hr_zone", "power_zone"):
        return {"kind": kind, "zone": step.zone}
    if kind == "hr_range":
        return {"kind": kind, "low_bpm": step.low, "high_bpm": step.high}
    if kind == "power_range":
        return {"kind": kind, "low_w": step.low, "high_w": step.high}
    if kind == "cadence":
        return {"kind": kind, "low_rpm": step.low, "high_rpm": step.high}
    if kind == "pace_range":
        return {
            "kind": kind,
            "fast_s_per_km": step.pace_fast_s_per_km,
            "slow_s_per_km": step.pace_slow_s_per_km,
        }
    return {"kind": "none"}


def step_from_llm(step: LlmStep, loc: tuple[str | int, ...]) -> Step:
    """A plan step from a flat model step (raises :class:`DraftInvalid`)."""
    data = {
        "kind": "step",
        "type": step.type,
        "duration": _duration(step),
        "target": _target(step),
        "note": step.note or None,
    }
    try:
        return Step.model_validate(data)
    except ValidationError as error:
        raise DraftInvalid(errors_from_validation(error, loc)) from None


def structure_from_blocks(
    blocks: Sequence[LlmBlock], loc: tuple[str | int, ...]
) -> WorkoutStructure:
    """A workout structure from the model's blocks (raises :class:`DraftInvalid`)."""
    errors: list[DraftError] = []
    items: list[Step | RepeatGroup] = []
    if not blocks:
        errors.append(DraftError(loc, "no_steps", "a workout needs at least one step"))
    for index, block in enumerate(blocks):
        here = (*loc, "blocks", index)
        steps: list[Step] = []
        for number, llm_step in enumerate(block.steps):
            try:
                steps.append(step_from_llm(llm_step, (*here, "steps", number)))
            except DraftInvalid as invalid:
                errors.extend(invalid.errors)
        if not block.steps:
            errors.append(DraftError(here, "no_steps", "a block needs at least one step"))
        elif block.repeat == 1:
            items.extend(steps)
        elif 2 <= block.repeat <= 99:
            if len(steps) == len(block.steps):
                try:
                    items.append(RepeatGroup(kind="repeat", times=block.repeat, steps=steps))
                except ValidationError as error:
                    errors.extend(errors_from_validation(error, here))
        else:
            errors.append(
                DraftError(
                    (*here, "repeat"),
                    "repeat_out_of_range",
                    f"repeat must be 1 (once) or 2-99, not {block.repeat}",
                    {"repeat": block.repeat},
                )
            )
    if errors:
        raise DraftInvalid(errors)
    try:
        return WorkoutStructure(steps=items)
    except ValidationError as error:
        raise DraftInvalid(errors_from_validation(error, loc)) from None


def parse_day(text: str, loc: tuple[str | int, ...]) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise DraftInvalid(
            [
                DraftError(
                    loc, "date_invalid", f"“{text}” is not a date (YYYY-MM-DD)", {"text": text}
                )
            ]
        ) from None


def new_workout_id(day: date, sport: str, taken: set[str]) -> str:
    """A readable, stable id: ``20270302-run``, then ``20270302-run-2`` and so on."""
    base = f"{day:%Y%m%d}-{sport}"
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    taken.add(candidate)
    return candidate


def workout_from_llm(
    workout: LlmWorkout, loc: tuple[str | int, ...], taken: set[str], *, keep_id: bool = True
) -> PlannedWorkout:
    """A planned workout from the model's (raises :class:`DraftInvalid`).

    The model's ``id`` is kept when ``keep_id`` and it is a valid id not yet taken (a plan
    sent to the model and back keeps its ids); otherwise a new one is made."""
    errors: list[DraftError] = []
    day = None
    structure = None
    try:
        day = parse_day(workout.date, (*loc, "date"))
    except DraftInvalid as invalid:
        errors.extend(invalid.errors)
    try:
        structure = structure_from_blocks(workout.blocks, loc)
    except DraftInvalid as invalid:
        errors.extend(invalid.errors)
    if errors or day is None or structure is None:
        raise DraftInvalid(errors)
    if keep_id and workout.id and ID_PATTERN.match(workout.id) and workout.id not in taken:
        workout_id = workout.id
        taken.add(workout_id)
    else:
        workout_id = new_workout_id(day, workout.sport, taken)
    data = {
        "id": workout_id,
        "date": day,
        "sport": workout.sport,
        "name": workout.name,
        "purpose": workout.purpose,
        "key": workout.key,
        "race": workout.race,
        "structure": structure,
        "notes": workout.notes or None,
    }
    try:
        return PlannedWorkout.model_validate(data)
    except ValidationError as error:
        raise DraftInvalid(errors_from_validation(error, loc)) from None


def plan_from_draft(
    draft: LlmPlanDraft,
    *,
    title: str,
    goal: Goal,
    availability: Availability,
    constraints: Constraints | None = None,
    health: Iterable[HealthReport] = (),
    previous: Plan | None = None,
) -> Plan:
    """The plan the draft describes, with the owner's goal, availability and constraints.

    ``previous``: a plan whose weeks come first (drafting mesocycle by mesocycle); the draft's
    weeks must continue it. Workout ids are assigned here (:func:`new_workout_id`). Raises
    :class:`DraftInvalid` with every problem found.
    """
    errors: list[DraftError] = []
    weeks: list[Week] = list(previous.weeks) if previous else []
    workouts: list[PlannedWorkout] = list(previous.workouts) if previous else []
    taken = {w.id for w in workouts}
    for index, llm_week in enumerate(draft.weeks):
        loc: tuple[str | int, ...] = ("weeks", index)
        try:
            start = parse_day(llm_week.start, (*loc, "start"))
            weeks.append(
                Week(
                    start=start,
                    focus=llm_week.focus,
                    rationale=llm_week.rationale,
                    citations=[c.model_dump() for c in llm_week.citations],
                )
            )
        except DraftInvalid as invalid:
            errors.extend(invalid.errors)
        except ValidationError as error:
            errors.extend(errors_from_validation(error, loc))
        for number, llm_workout in enumerate(llm_week.workouts):
            try:
                workouts.append(workout_from_llm(llm_workout, (*loc, "workouts", number), taken))
            except DraftInvalid as invalid:
                errors.extend(invalid.errors)
    if not draft.weeks and previous is None:
        errors.append(DraftError(("weeks",), "no_weeks", "the plan needs at least one week"))
    if errors:
        raise DraftInvalid(errors)
    try:
        return Plan(
            title=title,
            goal=goal,
            availability=availability,
            constraints=constraints or Constraints(),
            health=list(health) if previous is None else list(previous.health),
            weeks=weeks,
            workouts=workouts,
        )
    except ValidationError as error:
        raise DraftInvalid(errors_from_validation(error)) from None


# --------------------------------------------------------------------------------------------
# From a plan back to the model's shape (the current plan in a prompt; round trips)


def llm_step(step: Step) -> LlmStep:
    duration = step.duration
    target = step.target
    values: dict[str, Any] = {
        "zone": None,
        "low": None,
        "high": None,
        "pace_fast_s_per_km": None,
        "pace_slow_s_per_km": None,
    }
    if isinstance(target, HrZoneTarget | PowerZoneTarget):
        values["zone"] = target.zone
    elif isinstance(target, HrRangeTarget):
        values.update(low=target.low_bpm, high=target.high_bpm)
    elif isinstance(target, PowerRangeTarget):
        values.update(low=target.low_w, high=target.high_w)
    elif isinstance(target, CadenceTarget):
        values.update(low=target.low_rpm, high=target.high_rpm)
    elif isinstance(target, PaceRangeTarget):
        values.update(
            pace_fast_s_per_km=target.fast_s_per_km, pace_slow_s_per_km=target.slow_s_per_km
        )
    else:
        assert isinstance(target, NoTarget)
    return LlmStep(
        type=step.type,
        duration=duration.kind,
        seconds=duration.seconds if isinstance(duration, TimeDuration) else None,
        meters=duration.meters if isinstance(duration, DistanceDuration) else None,
        target=target.kind,
        note=step.note,
        **values,
    )


def llm_blocks(structure: WorkoutStructure) -> list[LlmBlock]:
    blocks: list[LlmBlock] = []
    loose: list[LlmStep] = []
    for item in structure.steps:
        if isinstance(item, RepeatGroup):
            if loose:
                blocks.append(LlmBlock(repeat=1, steps=loose))
                loose = []
            blocks.append(LlmBlock(repeat=item.times, steps=[llm_step(s) for s in item.steps]))
        else:
            loose.append(llm_step(item))
    if loose:
        blocks.append(LlmBlock(repeat=1, steps=loose))
    return blocks


def llm_workout(workout: PlannedWorkout) -> LlmWorkout:
    return LlmWorkout(
        id=workout.id,
        date=workout.date.isoformat(),
        sport=workout.sport,
        name=workout.name,
        purpose=workout.purpose,
        key=workout.key,
        race=workout.race,
        blocks=llm_blocks(workout.structure),
        notes=workout.notes,
    )


def draft_from_plan(plan: Plan) -> LlmPlanDraft:
    """The plan's weeks and workouts in the model's shape."""
    ordered = plan.sorted_workouts()
    return LlmPlanDraft(
        weeks=[
            LlmWeek(
                start=week.start.isoformat(),
                focus=week.focus,
                rationale=week.rationale,
                citations=[LlmCitation(doc=c.doc, section=c.section) for c in week.citations],
                workouts=[llm_workout(w) for w in ordered if week.holds(w.date)],
            )
            for week in plan.weeks
        ]
    )


__all__ = [
    "ALLOWED_KEYWORDS",
    "FORBIDDEN_KEYWORDS",
    "DraftError",
    "DraftInvalid",
    "LlmBlock",
    "LlmCitation",
    "LlmPlanDraft",
    "LlmStep",
    "LlmWeek",
    "LlmWorkout",
    "draft_from_plan",
    "llm_plan_schema",
    "plan_from_draft",
    "strict_json_schema",
    "structure_from_blocks",
    "workout_from_llm",
]
