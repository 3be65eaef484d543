"""Diffs between plan revisions: what changed, in a stable order by date."""

from __future__ import annotations

import json
from datetime import date

from app.coach.changes import ChangeSet, apply
from app.coach.diff import PlanChange, diff
from app.coach.estimate import estimate_plan
from app.coach.example import plan_example
from app.coach.guardrails import check_plan
from app.coach.llm_schema import llm_blocks
from tests.support.plans import THRESHOLDS, history_context

PLAN = plan_example()


def changed(*operations) -> list[PlanChange]:
    new = apply(PLAN, ChangeSet.model_validate({"summary": "", "operations": list(operations)}))
    return diff(PLAN, new)


def test_the_same_plan_has_no_changes():
    assert diff(PLAN, plan_example()) == []


def test_a_move_is_one_change_with_both_dates():
    assert changed({"op": "move_workout", "workout_id": "w2-sun-run", "date": "2027-03-13"}) == [
        PlanChange(
            "workout_moved",
            date(2027, 3, 13),
            workout_id="w2-sun-run",
            field="date",
            old="2027-03-14",
            new="2027-03-13",
        )
    ]


def test_changed_fields_are_listed_one_by_one_in_a_fixed_order():
    blocks = [b.model_dump() for b in llm_blocks(PLAN.workout("w1-sat-run").structure)]
    blocks[0]["steps"][0]["seconds"] = 3000
    changes = changed(
        {
            "op": "replace_workout",
            "workout_id": "w1-sat-run",
            "name": "Trail run",
            "purpose": None,
            "blocks": blocks,
            "notes": "Soft ground",
        },
    )
    assert [(c.kind, c.field) for c in changes] == [
        ("workout_changed", "name"),
        ("workout_changed", "structure"),
        ("workout_changed", "notes"),
    ]
    assert changes[0].old == "Easy run" and changes[0].new == "Trail run"
    assert changes[1].old["steps"][0]["duration"] == {"kind": "time", "seconds": 2400}
    assert changes[1].new["steps"][0]["duration"] == {"kind": "time", "seconds": 3000}


def test_additions_removals_weeks_and_plan_parts_in_date_order():
    changes = changed(
        {
            "op": "add_event",
            "date": "2027-03-14",
            "name": "Parkrun",
            "sport": "run",
            "distance_m": 5000,
            "duration_s": None,
        },
        {"op": "remove_workout", "workout_id": "w1-wed-strength"},
        {"op": "update_week", "week_start": "2027-03-08", "focus": "base", "rationale": None},
        {"op": "set_day_availability", "date": "2027-03-20", "available": False},
        {"op": "change_goal_date", "date": "2027-03-27"},
    )
    assert [(c.kind, c.day, c.field) for c in changes] == [
        ("plan_changed", None, "goal"),
        ("plan_changed", None, "availability"),
        ("workout_removed", date(2027, 3, 3), None),
        ("week_changed", date(2027, 3, 8), "focus"),
        ("workout_added", date(2027, 3, 14), None),
    ]
    assert changes[2].old == {"date": "2027-03-03", "sport": "strength", "name": "Core"}
    assert changes[4].new == {"date": "2027-03-14", "sport": "run", "name": "Parkrun"}
    assert changes[1].new["days_off"] == ["2027-03-20"]


def test_the_order_is_stable_whatever_the_input_order():
    reversed_plan = PLAN.model_copy(update={"workouts": list(reversed(PLAN.workouts))})
    other = apply(
        reversed_plan,
        ChangeSet.model_validate(
            {
                "summary": "",
                "operations": [
                    {"op": "move_workout", "workout_id": "w3-sun-run", "date": "2027-03-20"},
                    {"op": "move_workout", "workout_id": "w1-sat-run", "date": "2027-03-05"},
                    {"op": "remove_workout", "workout_id": "w2-wed-swim"},
                ],
            }
        ),
    )
    forward = diff(PLAN, other)
    assert forward == diff(reversed_plan, other)
    days = [c.day for c in forward]
    assert days == sorted(days)
    assert json.loads(json.dumps([c.as_dict() for c in forward]))[0]["day"] == "2027-03-05"


def test_added_and_removed_weeks():
    shorter = PLAN.model_copy(
        update={
            "weeks": PLAN.weeks[:3],
            "workouts": [w for w in PLAN.workouts if w.date < date(2027, 3, 22)],
        }
    )
    changes = diff(PLAN, shorter)
    assert changes[0] == PlanChange(
        "week_removed",
        date(2027, 3, 22),
        week_start=date(2027, 3, 22),
        old={"start": "2027-03-22", "focus": "taper"},
    )
    assert {c.kind for c in changes[1:]} == {"workout_removed"}
    assert next(c.kind for c in diff(shorter, PLAN)) == "week_added"


def test_the_diff_of_a_guardrail_report_shows_each_adjustment():
    context = history_context(date(2027, 3, 1), longest_run_m=8000)
    report = check_plan(PLAN, estimate_plan(PLAN, THRESHOLDS), context)
    spikes = {f.workout_id for f in report.findings if f.code == "spike_shortened"}
    assert spikes  # 12 km after 8 km
    structure_changes = {c.workout_id for c in diff(PLAN, report.plan) if c.field == "structure"}
    assert spikes <= structure_changes
