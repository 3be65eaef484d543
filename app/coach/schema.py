"""The import/export format as a JSON Schema file: ``app/coach/plan.schema.json``.

The file is generated from :class:`app.coach.plans.Plan` and committed, so that people and
other tools can read the format without running Domestique; a test fails when the two differ.
After changing the plan models, rewrite it with ``python -m app.coach.schema`` (in the
development root: ``make exec CMD='python -m app.coach.schema'``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from app.coach.plans import Plan

PLAN_SCHEMA_PATH = Path(__file__).resolve().parent / "plan.schema.json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the plan format, as generated from the model."""
    schema = Plan.model_json_schema(mode="validation")
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def committed_plan_schema() -> dict[str, Any]:
    """The schema file as committed (the only file the coach's pure core reads)."""
    return json.loads(PLAN_SCHEMA_PATH.read_text(encoding="utf-8"))


def main() -> int:
    PLAN_SCHEMA_PATH.write_text(render(plan_json_schema()), encoding="utf-8")
    print(PLAN_SCHEMA_PATH)
    return 0


if __name__ == "__main__":
    sys.exit(main())
