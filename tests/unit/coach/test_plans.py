"""The plan model: its validators, helpers and the example plan."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from app.coach.example import EXAMPLE_START, plan_example
from app.coach.plans import Availability, HealthReport, Plan
from app.coach.workouts import STEP_TYPES, RepeatGroup
from tests.support.plans import season_plan


def codes(excinfo: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [e["type"] for e in excinfo.value.errors()]


@pytest.fixture
def data():
    return season_plan(weeks=4)


def test_the_season_plan_is_valid(data):
    plan = Plan.model_validate(data)
    assert plan.first_day == date(2027, 1, 4)
    assert plan.last_day == date(2027, 1, 31)
    assert plan.schema_version == 1


def test_weeks_must_follow_each_other_by_seven_days(data):
    data["weeks"][2]["start"] = "2027-01-19"
    with pytest.raises(ValidationError) as excinfo:
        Plan.model_validate(data)
    assert codes(excinfo) == ["weeks_not_consecutive"]
    assert excinfo.value.errors()[0]["ctx"] == {"start": "2027-01-19", "expected": "2027-01-18"}


def test_workout_ids_are_unique(data):
    data["workouts"][1]["id"] = data["workouts"][0]["id"]
    with pytest.raises(ValidationError) as excinfo:
        Plan.model_validate(data)
    assert codes(excinfo) == ["workout_id_repeated"]


def test_workouts_lie_inside_the_plan(data):
    data["workouts"][0]["date"] = "2027-02-01"
    with pytest.raises(ValidationError) as excinfo:
        Plan.model_validate(data)
    assert codes(excinfo) == ["workout_outside_plan"]
    assert excinfo.value.errors()[0]["ctx"]["last"] == "2027-01-31"


@pytest.mark.parametrize("bad_id", ["", "has space", "x" * 41, "slash/no"])
def test_workout_ids_are_short_plain_strings(data, bad_id):
    data["workouts"][0]["id"] = bad_id
    with pytest.raises(ValidationError):
        Plan.model_validate(data)


def test_a_plan_needs_a_week_and_forbids_unknown_fields(data):
    with pytest.raises(ValidationError):
        Plan.model_validate({**data, "weeks": [], "workouts": []})
    with pytest.raises(ValidationError) as excinfo:
        Plan.model_validate({**data, "estimated_tss": 400})
    assert codes(excinfo) == ["extra_forbidden"]
    broken = copy.deepcopy(data)
    broken["workouts"][0]["load"] = 55
    with pytest.raises(ValidationError):
        Plan.model_validate(broken)


def test_availability_rules():
    with pytest.raises(ValidationError) as excinfo:
        Availability(weekdays=["mon", "mon"], hours_per_week=5)
    assert codes(excinfo) == ["weekday_repeated"]
    with pytest.raises(ValidationError) as excinfo:
        Availability(weekdays=["mon", "wed"], hours_per_week=5, long_session_day="sun")
    assert codes(excinfo) == ["long_day_unavailable"]
    with pytest.raises(ValidationError) as excinfo:
        Availability(weekdays=["mon"], hours_per_week=5, days_off=[date(2027, 1, 5)] * 2)
    assert codes(excinfo) == ["day_off_repeated"]
    with pytest.raises(ValidationError):
        Availability(weekdays=[], hours_per_week=5)
    with pytest.raises(ValidationError):
        Availability(weekdays=["mon"], hours_per_week=0)
    free = Availability(weekdays=["sat", "sun"], hours_per_week=5, days_off=[date(2027, 1, 9)])
    assert free.is_available(date(2027, 1, 10))  # a Sunday
    assert not free.is_available(date(2027, 1, 9))  # a Saturday, but a day off
    assert not free.is_available(date(2027, 1, 8))  # a Friday


def test_health_reports_keep_their_dates_in_order():
    with pytest.raises(ValidationError) as excinfo:
        HealthReport(id="h", kind="illness", start=date(2027, 1, 5), end=date(2027, 1, 4))
    assert codes(excinfo) == ["health_end_before_start"]
    with pytest.raises(ValidationError) as excinfo:
        HealthReport(id="h", kind="illness", start=date(2027, 1, 5), cleared_on=date(2027, 1, 1))
    assert codes(excinfo) == ["health_cleared_before_start"]
    cold = HealthReport(id="h", kind="illness", start=date(2027, 1, 5), end=date(2027, 1, 7))
    assert cold.rest_until() == date(2027, 1, 7)
    cleared = cold.model_copy(update={"cleared_on": date(2027, 1, 6)})
    assert cleared.rest_until() == date(2027, 1, 5)
    assert HealthReport(id="o", kind="illness", start=date(2027, 1, 5)).rest_until() is None
    calf = HealthReport(id="c", kind="injury", start=date(2027, 1, 5), sports=["run"])
    assert calf.affects("run") and not calf.affects("ride")


def test_week_index_and_lookup(data):
    plan = Plan.model_validate(data)
    assert plan.week_index(date(2027, 1, 4)) == 0
    assert plan.week_index(date(2027, 1, 17)) == 1
    assert plan.week_index(date(2027, 1, 3)) is None
    assert plan.week_index(date(2027, 2, 1)) is None
    assert plan.workout(data["workouts"][0]["id"]).date == date(2027, 1, 5)
    assert plan.workout("nope") is None
    ordered = plan.sorted_workouts()
    assert [(w.date, w.id) for w in ordered] == sorted((w.date, w.id) for w in plan.workouts)


def test_plan_models_are_frozen(data):
    plan = Plan.model_validate(data)
    with pytest.raises(ValidationError):
        plan.workouts[0].name = "changed"  # type: ignore[misc]


def test_the_example_plan_uses_every_step_type_duration_and_target():
    plan = plan_example()
    steps = [s for w in plan.workouts for s in w.structure.distinct_steps()]
    assert {s.type for s in steps} == set(STEP_TYPES)
    assert {s.duration.kind for s in steps} == {"time", "distance", "lap_button", "open"}
    assert {s.target.kind for s in steps} == {
        "none",
        "hr_zone",
        "hr_range",
        "pace_range",
        "power_zone",
        "power_range",
        "cadence",
    }
    assert {w.sport for w in plan.workouts} >= {"run", "ride", "swim"}
    assert any(isinstance(item, RepeatGroup) for w in plan.workouts for item in w.structure.steps)
    assert all(w.structure.steps for w in plan.workouts)
    assert plan.goal.event_date == EXAMPLE_START + timedelta(days=27)
    assert next(w for w in plan.workouts if w.race).date == plan.goal.event_date
    assert all(week.citations for week in plan.weeks)


def test_the_example_plan_starts_where_asked_and_round_trips_through_json():
    start = date(2027, 9, 6)
    plan = plan_example(start)
    assert plan.first_day == start
    assert Plan.model_validate_json(plan.model_dump_json()) == plan
