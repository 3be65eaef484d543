"""The committed import/export schema: up to date, self-describing, the contract."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from app.coach.example import plan_example
from app.coach.plans import PLAN_SCHEMA_ID, Plan
from app.coach.schema import PLAN_SCHEMA_PATH, committed_plan_schema, plan_json_schema, render

# --------------------------------------------------------------------------------------------
# The import/export schema


def test_the_committed_schema_is_the_models_schema():
    assert committed_plan_schema() == plan_json_schema(), (
        "app/coach/plan.schema.json is out of date: run "
        "`make exec CMD='python -m app.coach.schema'` and commit the file"
    )
    assert PLAN_SCHEMA_PATH.read_text(encoding="utf-8") == render(plan_json_schema())


def test_the_schema_names_itself():
    schema = committed_plan_schema()
    assert schema["$id"] == PLAN_SCHEMA_ID
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Domestique training plan"
    assert schema["description"]


def _properties(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for owner, node in [("Plan", schema), *schema["$defs"].items()]:
        for name, prop in node.get("properties", {}).items():
            yield owner, name, prop


def test_every_field_of_the_format_is_described():
    schema = committed_plan_schema()
    undocumented = [
        f"{owner}.{name}"
        for owner, name, prop in _properties(schema)
        if not prop.get("description")
    ]
    assert undocumented == []
    assert all(node.get("description") for node in schema["$defs"].values())


def test_the_schema_states_the_contract_a_reader_needs():
    defs = committed_plan_schema()["$defs"]
    pace = defs["PaceRangeTarget"]["properties"]
    assert set(pace) == {"kind", "fast_s_per_km", "slow_s_per_km"}
    assert pace["fast_s_per_km"]["minimum"] == 60
    assert defs["HrRangeTarget"]["properties"]["low_bpm"]["minimum"] == 30
    assert defs["HrRangeTarget"]["properties"]["high_bpm"]["maximum"] == 230
    assert defs["PowerRangeTarget"]["properties"]["high_w"]["maximum"] == 2500
    assert defs["RepeatGroup"]["properties"]["times"]["minimum"] == 2
    # Repeat groups hold steps only: one level of nesting.
    assert defs["RepeatGroup"]["properties"]["steps"]["items"] == {"$ref": "#/$defs/Step"}
    assert all(node.get("additionalProperties") is False for node in defs.values())
    # Estimates are not part of the format.
    workout = defs["PlannedWorkout"]["properties"]
    assert not {"load", "tss", "duration_s", "distance_m"} & set(workout)


def test_the_example_plan_is_an_instance_of_the_format():
    data = json.loads(plan_example().model_dump_json())
    assert Plan.model_validate(data) == plan_example()
    assert set(data) <= set(committed_plan_schema()["properties"])
