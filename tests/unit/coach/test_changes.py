"""Change sets: every operation, valid and malformed, and what the guardrails make of them."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from app.coach.changes import ChangeSet, ChangeSetInvalid, apply
from app.coach.estimate import estimate_plan
from app.coach.example import plan_example
from app.coach.guardrails import check_plan
from app.coach.llm_schema import draft_from_plan
from tests.support.plans import THRESHOLDS, history_context

PLAN = plan_example()  # 2027-03-01 to 2027-03-28; the 10 k on 2027-03-28


def change(*operations: dict[str, Any]) -> ChangeSet:
    return ChangeSet.model_validate({"summary": "test", "operations": list(operations)})


def refused(*operations: dict[str, Any], today: date | None = None) -> list[tuple[int, str]]:
    with pytest.raises(ChangeSetInvalid) as excinfo:
        apply(PLAN, change(*operations), today=today)
    return [(e.index, e.code) for e in excinfo.value.errors]


def blocks(*steps: dict[str, Any], repeat: int = 1) -> list[dict[str, Any]]:
    return [{"repeat": repeat, "steps": list(steps)}]


def llm_step(**values: Any) -> dict[str, Any]:
    return {
        "type": "other",
        "duration": "time",
        "seconds": 1800,
        "meters": None,
        "target": "none",
        "zone": None,
        "low": None,
        "high": None,
        "pace_fast_s_per_km": None,
        "pace_slow_s_per_km": None,
        "note": None,
        **values,
    }


def test_moving_a_workout_keeps_its_id_and_leaves_the_input_alone():
    before = PLAN.model_dump_json()
    moved = apply(
        PLAN, change({"op": "move_workout", "workout_id": "w1-sun-run", "date": "2027-03-06"})
    )
    assert moved.workout("w1-sun-run").date == date(2027, 3, 6)
    assert PLAN.workout("w1-sun-run").date == date(2027, 3, 7)
    assert PLAN.model_dump_json() == before
    assert len(moved.workouts) == len(PLAN.workouts)


@pytest.mark.parametrize(
    ("operation", "code"),
    [
        ({"op": "move_workout", "workout_id": "nope", "date": "2027-03-06"}, "unknown_workout"),
        (
            {"op": "move_workout", "workout_id": "w1-sun-run", "date": "2027-04-06"},
            "date_outside_plan",
        ),
        ({"op": "move_workout", "workout_id": "w1-sun-run", "date": "Sunday"}, "date_invalid"),
        ({"op": "remove_workout", "workout_id": "w9-sun-run"}, "unknown_workout"),
        (
            {
                "op": "replace_workout",
                "workout_id": "w1-sun-run",
                "name": None,
                "purpose": None,
                "blocks": None,
                "notes": None,
            },
            "nothing_to_change",
        ),
        (
            {
                "op": "replace_workout",
                "workout_id": "w1-sun-run",
                "name": None,
                "purpose": None,
                "blocks": blocks(llm_step(target="hr_range", low=160, high=140)),
                "notes": None,
            },
            "structure_invalid",
        ),
        (
            {
                "op": "replace_workout",
                "workout_id": "w1-thu-ride",
                "name": None,
                "purpose": None,
                "blocks": blocks(
                    llm_step(target="pace_range", pace_fast_s_per_km=200, pace_slow_s_per_km=210)
                ),
                "notes": None,
            },
            "workout_invalid",
        ),
        ({"op": "clear_health", "report_id": None, "date": "2027-03-05"}, "nothing_to_clear"),
        ({"op": "clear_health", "report_id": "flu", "date": "2027-03-05"}, "unknown_health_report"),
        (
            {
                "op": "report_health",
                "kind": "illness",
                "start": "2027-03-05",
                "end": "2027-03-03",
                "sports": None,
                "note": None,
            },
            "end_before_start",
        ),
        ({"op": "change_goal_date", "date": "2027-05-01"}, "date_outside_plan"),
        (
            {"op": "update_week", "week_start": "2027-03-02", "focus": "peak", "rationale": None},
            "unknown_week",
        ),
        (
            {
                "op": "add_event",
                "date": "2027-03-20",
                "name": "Parkrun",
                "sport": "run",
                "distance_m": -5,
                "duration_s": None,
            },
            "event_invalid",
        ),
    ],
)
def test_a_bad_operation_gets_a_precise_error(operation, code):
    assert refused(operation) == [(0, code)]


def test_every_bad_operation_is_listed_and_the_error_says_which():
    with pytest.raises(ChangeSetInvalid) as excinfo:
        apply(
            PLAN,
            change(
                {"op": "remove_workout", "workout_id": "w1-tue-run"},
                {"op": "move_workout", "workout_id": "w1-tue-run", "date": "2027-03-03"},
                {"op": "move_workout", "workout_id": "w1-wed-swim", "date": "2027-03-04"},
                {"op": "change_goal_date", "date": "2027-02-27"},
            ),
        )
    errors = excinfo.value.errors
    assert [(e.index, e.op, e.code) for e in errors] == [
        (1, "move_workout", "unknown_workout"),
        (3, "change_goal_date", "date_outside_plan"),
    ]
    assert errors[1].params == {"date": "2027-02-27", "first": "2027-03-01", "last": "2027-03-28"}
    assert "operation 1 (move_workout)" in str(excinfo.value)


def test_the_past_is_closed_when_today_is_given():
    today = date(2027, 3, 10)
    assert refused(
        {"op": "move_workout", "workout_id": "w2-thu-ride", "date": "2027-03-09"}, today=today
    ) == [(0, "date_in_past")]
    assert refused({"op": "remove_workout", "workout_id": "w1-tue-run"}, today=today) == [
        (0, "workout_in_past")
    ]
    # An illness that began yesterday may still be reported.
    sick = apply(
        PLAN,
        change(
            {
                "op": "report_health",
                "kind": "illness",
                "start": "2027-03-09",
                "end": None,
                "sports": None,
                "note": "a cold",
            }
        ),
        today=today,
    )
    assert sick.health[0].start == date(2027, 3, 9)


def test_replacing_name_purpose_steps_and_notes():
    new = apply(
        PLAN,
        change(
            {
                "op": "replace_workout",
                "workout_id": "w1-sat-run",
                "name": "Trail run",
                "purpose": None,
                "blocks": blocks(llm_step(type="interval", seconds=2700, target="hr_zone", zone=2)),
                "notes": "Soft surface",
            }
        ),
    )
    replaced = new.workout("w1-sat-run")
    assert replaced.name == "Trail run" and replaced.notes == "Soft surface"
    assert replaced.purpose == PLAN.workout("w1-sat-run").purpose
    assert [s.duration.seconds for s in replaced.structure.unrolled()] == [2700]


def test_adding_and_removing_workouts():
    added = apply(
        PLAN,
        change(
            {
                "op": "add_workout",
                "workout": {
                    "id": "w1-tue-run",
                    "date": "2027-03-05",
                    "sport": "ride",
                    "name": "Spin",
                    "purpose": "Loosen up",
                    "key": False,
                    "race": False,
                    "notes": None,
                    "blocks": blocks(llm_step(target="power_zone", zone=1)),
                },
            },
            {"op": "remove_workout", "workout_id": "w1-wed-strength"},
        ),
    )
    assert added.workout("20270305-ride").structure.steps[0].target.zone == 1
    assert added.workout("w1-wed-strength") is None
    assert len(added.workouts) == len(PLAN.workouts)
    with pytest.raises(ChangeSetInvalid) as excinfo:
        apply(
            PLAN,
            change(
                {
                    "op": "add_workout",
                    "workout": {
                        "id": None,
                        "date": "2027-03-05",
                        "sport": "swim",
                        "name": "Swim",
                        "purpose": "",
                        "key": False,
                        "race": False,
                        "notes": None,
                        "blocks": blocks(llm_step()),
                    },
                }
            ),
        )
    assert excinfo.value.errors[0].code == "workout_invalid"
    assert "swim steps end by distance" in excinfo.value.errors[0].message


def test_days_off_come_and_go():
    off = apply(
        PLAN, change({"op": "set_day_availability", "date": "2027-03-13", "available": False})
    )
    assert off.availability.days_off == [date(2027, 3, 13)]
    again = apply(
        off, change({"op": "set_day_availability", "date": "2027-03-13", "available": False})
    )
    assert again.availability.days_off == [date(2027, 3, 13)]
    back = apply(
        off, change({"op": "set_day_availability", "date": "2027-03-13", "available": True})
    )
    assert back.availability.days_off == []


def test_illness_and_injury_are_reported_and_cleared():
    sick = apply(
        PLAN,
        change(
            {
                "op": "report_health",
                "kind": "illness",
                "start": "2027-03-09",
                "end": "2027-03-11",
                "sports": ["run"],
                "note": "a cold",
            },
            {
                "op": "report_health",
                "kind": "injury",
                "start": "2027-03-09",
                "end": None,
                "sports": ["run"],
                "note": "calf",
            },
        ),
    )
    cold, calf = sick.health
    assert (cold.id, cold.kind, cold.end, cold.sports) == (
        "20270309-illness",
        "illness",
        date(2027, 3, 11),
        None,
    )
    assert (calf.id, calf.sports) == ("20270309-injury", ["run"])
    well = apply(
        sick, change({"op": "clear_health", "report_id": "20270309-injury", "date": "2027-03-12"})
    )
    assert well.health[1].cleared_on == date(2027, 3, 12) and well.health[0].cleared_on is None
    all_well = apply(sick, change({"op": "clear_health", "report_id": None, "date": "2027-03-12"}))
    assert all(r.cleared_on == date(2027, 3, 12) for r in all_well.health)
    with pytest.raises(ChangeSetInvalid) as excinfo:
        apply(sick, change({"op": "clear_health", "report_id": None, "date": "2027-03-08"}))
    assert excinfo.value.errors[0].code == "cleared_before_start"


def test_events_the_goal_date_and_weeks():
    new = apply(
        PLAN,
        change(
            {
                "op": "add_event",
                "date": "2027-03-14",
                "name": "Parkrun",
                "sport": "run",
                "distance_m": 5000,
                "duration_s": None,
            },
            {"op": "change_goal_date", "date": "2027-03-27"},
            {"op": "update_week", "week_start": "2027-03-15", "focus": "peak", "rationale": None},
        ),
    )
    race = new.workout("20270314-run")
    assert race.race and race.key and race.structure.steps[0].duration.meters == 5000
    assert new.goal.event_date == date(2027, 3, 27)
    assert new.weeks[2].focus == "peak" and new.weeks[2].rationale == PLAN.weeks[2].rationale


def test_a_change_from_the_model_as_json_applies():
    text = json.dumps(
        {
            "summary": "Long run to Saturday, rest for the cold",
            "operations": [
                {"op": "move_workout", "workout_id": "w2-sun-run", "date": "2027-03-13"},
                {"op": "remove_workout", "workout_id": "w2-sat-run"},
            ],
        }
    )
    new = apply(PLAN, ChangeSet.model_validate_json(text))
    assert new.workout("w2-sun-run").date == date(2027, 3, 13)


def test_a_cold_reported_in_chat_rests_the_plan_through_the_guardrails():
    sick = apply(
        PLAN,
        change(
            {
                "op": "report_health",
                "kind": "illness",
                "start": "2027-03-09",
                "end": "2027-03-11",
                "sports": None,
                "note": "a cold",
            }
        ),
    )
    context = history_context(date(2027, 3, 8), longest_run_m=12000)
    report = check_plan(sick, estimate_plan(sick, THRESHOLDS), context)
    rested = {f.workout_id for f in report.findings if f.code == "health_rest"}
    assert rested == {"w2-tue-run", "w2-wed-swim", "w2-wed-strength", "w2-thu-ride"}
    assert all(report.plan.workout(key) is None for key in rested)
    eased = {f.workout_id for f in report.findings if f.code == "health_restart_easy"}
    assert "w2-sun-run" in eased  # hard sessions wait until the owner clears the cold


def test_the_current_plan_can_be_shown_to_the_model_in_its_own_shape():
    draft = draft_from_plan(PLAN)
    assert sum(len(week.workouts) for week in draft.weeks) == len(PLAN.workouts)
    assert draft.weeks[0].workouts[0].blocks[1].repeat == 4
    assert PLAN.first_day + timedelta(days=1) == date.fromisoformat(draft.weeks[0].workouts[0].date)
