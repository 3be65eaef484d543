"""The LLM schemas obey strict structured outputs, and drafts convert with precise errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from app.coach.changes import ChangeSet, change_set_schema
from app.coach.example import plan_example
from app.coach.llm_schema import (
    ALLOWED_KEYWORDS,
    FORBIDDEN_KEYWORDS,
    DraftInvalid,
    LlmPlanDraft,
    draft_from_plan,
    llm_plan_schema,
    plan_from_draft,
    strict_json_schema,
)
from app.coach.plans import Plan

# --------------------------------------------------------------------------------------------
# The LLM schemas


def _walk(node: Any, depth: int = 0) -> Iterator[tuple[dict[str, Any], int]]:
    """Every schema node with the number of objects above and including it."""
    if isinstance(node, dict):
        level = depth + (1 if node.get("type") == "object" else 0)
        yield node, level
        for key, value in node.items():
            if key == "properties":
                for child in value.values():
                    yield from _walk(child, level)
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                yield from _walk(value, level)
            elif key == "anyOf":
                for child in value:
                    yield from _walk(child, level)


def strict_violations(schema: dict[str, Any]) -> list[str]:
    """What keeps ``schema`` from OpenAI's strict mode (and its original limits)."""
    problems = []
    if schema.get("type") != "object" or "anyOf" in schema:
        problems.append("the root must be an object, not a union")
    properties = enums = 0
    depth = 0
    for node, level in _walk(schema):
        depth = max(depth, level)
        unknown = set(node) - ALLOWED_KEYWORDS
        if unknown:
            problems.append(f"keywords {sorted(unknown)}")
        if set(node) & FORBIDDEN_KEYWORDS:
            problems.append(f"forbidden {sorted(set(node) & FORBIDDEN_KEYWORDS)}")
        if node.get("type") == "object":
            names = list(node.get("properties", {}))
            properties += len(names)
            if node.get("additionalProperties") is not False:
                problems.append(f"object {names} allows extra properties")
            if sorted(node.get("required", [])) != sorted(names):
                problems.append(f"object {names} does not require every property")
        if node.get("type") == "array" and "items" not in node:
            problems.append("an array without items")
        if "anyOf" in node:
            for option in node["anyOf"]:
                if not isinstance(option, dict) or not option:
                    problems.append("an empty anyOf option")
        if "enum" in node:
            enums += len(node["enum"])
        if "type" not in node and "anyOf" not in node:
            problems.append(f"a node without type: {sorted(node)}")
    if depth > 5:
        problems.append(f"{depth} levels of nested objects (at most 5)")
    if properties > 100:
        problems.append(f"{properties} properties (at most 100)")
    if enums > 500:
        problems.append(f"{enums} enum values (at most 500)")
    if len(json.dumps(schema)) > 60_000:
        problems.append("the schema is too long")
    return problems


@pytest.mark.parametrize("make", [llm_plan_schema, change_set_schema], ids=["plan", "changes"])
def test_the_llm_schemas_obey_strict_mode(make):
    schema = make()
    assert strict_violations(schema) == []
    assert "$defs" not in json.dumps(schema) and "$ref" not in json.dumps(schema)


def test_the_checker_catches_each_rule():
    """The rule checker above fails on schemas that break each rule (so its silence counts)."""
    assert strict_violations({"anyOf": [{"type": "object"}]})
    assert strict_violations({"type": "object", "properties": {"a": {"type": "string"}}})
    assert strict_violations(
        {
            "type": "object",
            "properties": {"a": {"type": "string", "format": "date"}},
            "required": ["a"],
            "additionalProperties": False,
        }
    )
    assert strict_violations(
        {
            "type": "object",
            "properties": {"a": {"type": "integer", "minimum": 1}},
            "required": [],
            "additionalProperties": False,
        }
    )
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(6):
        deep = {
            "type": "object",
            "properties": {"x": deep},
            "required": ["x"],
            "additionalProperties": False,
        }
    assert strict_violations(deep) == ["6 levels of nested objects (at most 5)"]


def test_optional_fields_are_required_and_nullable():
    step = llm_plan_schema()["properties"]["weeks"]["items"]["properties"]["workouts"]["items"][
        "properties"
    ]["blocks"]["items"]["properties"]["steps"]["items"]
    assert {"type": "null"} in step["properties"]["seconds"]["anyOf"]
    assert "seconds" in step["required"]
    operations = change_set_schema()["properties"]["operations"]["items"]["anyOf"]
    assert sorted(option["properties"]["op"]["enum"][0] for option in operations) == sorted(
        [
            "move_workout",
            "replace_workout",
            "add_workout",
            "remove_workout",
            "set_day_availability",
            "report_health",
            "clear_health",
            "add_event",
            "change_goal_date",
            "update_week",
        ]
    )


def test_a_recursive_model_cannot_become_an_llm_schema():
    class Node(BaseModel):
        model_config = ConfigDict(extra="forbid")
        children: list[Node]

    with pytest.raises(ValueError, match="recursive"):
        strict_json_schema(Node)


def test_the_change_set_schema_parses_what_it_describes():
    text = json.dumps(
        {
            "summary": "Long run to Sunday",
            "operations": [
                {"op": "move_workout", "workout_id": "w1-sun-run", "date": "2027-03-07"},
                {
                    "op": "report_health",
                    "kind": "illness",
                    "start": "2027-03-03",
                    "end": None,
                    "sports": None,
                    "note": "a cold",
                },
            ],
        }
    )
    parsed = ChangeSet.model_validate_json(text)
    assert [o.op for o in parsed.operations] == ["move_workout", "report_health"]


def test_a_plan_survives_the_trip_through_the_llm_shape():
    plan = plan_example()
    text = draft_from_plan(plan).model_dump_json()
    back = plan_from_draft(
        LlmPlanDraft.model_validate_json(text),
        title=plan.title,
        goal=plan.goal,
        availability=plan.availability,
        constraints=plan.constraints,
    )
    assert back.weeks == plan.weeks
    assert back.sorted_workouts() == plan.sorted_workouts()  # ids kept
    draft = LlmPlanDraft.model_validate_json(text)
    nulled = LlmPlanDraft(
        weeks=[
            week.model_copy(
                update={"workouts": [w.model_copy(update={"id": None}) for w in week.workouts]}
            )
            for week in draft.weeks
        ]
    )
    fresh = plan_from_draft(
        nulled, title=plan.title, goal=plan.goal, availability=plan.availability
    )
    assert [w.id for w in fresh.sorted_workouts()][:3] == [
        "20270302-run",
        "20270303-strength",
        "20270303-swim",
    ]


def _llm_step(**values: Any) -> dict[str, Any]:
    step = {
        "type": "interval",
        "duration": "time",
        "seconds": 300,
        "meters": None,
        "target": "none",
        "zone": None,
        "low": None,
        "high": None,
        "pace_fast_s_per_km": None,
        "pace_slow_s_per_km": None,
        "note": None,
    }
    return {**step, **values}


def _draft(*steps: dict[str, Any], sport: str = "run", day: str = "2027-03-02", repeat=1):
    return LlmPlanDraft.model_validate(
        {
            "weeks": [
                {
                    "start": "2027-03-01",
                    "focus": "base",
                    "rationale": "",
                    "citations": [],
                    "workouts": [
                        {
                            "id": None,
                            "date": day,
                            "sport": sport,
                            "name": "Test",
                            "purpose": "",
                            "key": False,
                            "race": False,
                            "blocks": [{"repeat": repeat, "steps": list(steps)}],
                            "notes": None,
                        }
                    ],
                }
            ]
        }
    )


def _convert(draft: LlmPlanDraft) -> Plan:
    plan = plan_example()
    return plan_from_draft(draft, title="T", goal=plan.goal, availability=plan.availability)


WHERE = ("weeks", 0, "workouts", 0)


@pytest.mark.parametrize(
    ("draft", "loc", "code"),
    [
        (_draft(_llm_step(), day="March 2"), (*WHERE, "date"), "date_invalid"),
        (
            _draft(_llm_step(target="hr_range", low=160, high=150)),
            (*WHERE, "blocks", 0, "steps", 0, "target", "hr_range"),
            "hr_range_order",
        ),
        (
            _draft(_llm_step(duration="time", seconds=None)),
            (*WHERE, "blocks", 0, "steps", 0, "duration", "time", "seconds"),
            "int_type",
        ),
        (_draft(_llm_step(), repeat=0), (*WHERE, "blocks", 0, "repeat"), "repeat_out_of_range"),
        (
            _draft(
                _llm_step(target="pace_range", pace_fast_s_per_km=240, pace_slow_s_per_km=250),
                sport="ride",
            ),
            WHERE,
            "target_not_for_sport",
        ),
        (_draft(sport="run"), (*WHERE, "blocks", 0), "no_steps"),
    ],
)
def test_a_bad_draft_says_where_in_the_models_output(draft, loc, code):
    with pytest.raises(DraftInvalid) as excinfo:
        _convert(draft)
    errors = excinfo.value.errors
    assert [(e.loc, e.code) for e in errors] == [(loc, code)]
    assert ".".join(str(p) for p in loc) in str(excinfo.value)


def test_every_problem_of_a_draft_is_listed_at_once():
    draft = _draft(
        _llm_step(target="hr_range", low=160, high=150),
        _llm_step(target="power_zone", zone=9),
        day="2027-3-2",
    )
    with pytest.raises(DraftInvalid) as excinfo:
        _convert(draft)
    assert [e.code for e in excinfo.value.errors] == [
        "date_invalid",
        "hr_range_order",
        "less_than_equal",
    ]


def test_drafting_mesocycle_by_mesocycle_continues_the_previous_weeks():
    plan = plan_example()
    first = plan.model_copy(
        update={
            "weeks": plan.weeks[:2],
            "workouts": [w for w in plan.workouts if w.date < plan.weeks[2].start],
        }
    )
    rest = draft_from_plan(plan).model_copy(update={"weeks": draft_from_plan(plan).weeks[2:]})
    merged = plan_from_draft(
        rest,
        title=plan.title,
        goal=plan.goal,
        availability=plan.availability,
        constraints=plan.constraints,
        previous=first,
    )
    assert merged.weeks == plan.weeks
    assert len(merged.workouts) == len(plan.workouts)
    assert len({w.id for w in merged.workouts}) == len(merged.workouts)
    gap = rest.model_copy(update={"weeks": rest.weeks[1:]})
    with pytest.raises(DraftInvalid) as excinfo:
        plan_from_draft(
            gap, title="T", goal=plan.goal, availability=plan.availability, previous=first
        )
    assert [e.code for e in excinfo.value.errors] == ["weeks_not_consecutive"]
