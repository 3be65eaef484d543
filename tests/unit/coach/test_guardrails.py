"""Each guardrail on a plan that breaks it on purpose (adjusted or blocked with the right
reason) and on one that does not; the projected PMC against the reference vectors."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from app.analytics.pmc import DailyLoad
from app.coach.estimate import PlanEstimates, WorkoutEstimate, estimate_plan
from app.coach.guardrails import AthleteContext, GuardrailLimits, PlanState
from app.coach.guardrails.availability import check_availability, check_weekly_hours
from app.coach.guardrails.hard_days import check_hard_days
from app.coach.guardrails.health import check_health
from app.coach.guardrails.intensity import check_intensity_distribution
from app.coach.guardrails.periodization import check_recovery_weeks, check_taper
from app.coach.guardrails.ramp import check_ctl_ramp, history_ctl, project_pmc
from app.coach.guardrails.readiness import check_readiness
from app.coach.guardrails.spike import check_session_spike
from app.coach.plans import HealthReport, Plan
from tests.support.plans import (
    PLAN_START,
    THRESHOLDS,
    easy_run,
    history_context,
    intervals,
    long_run,
    season_plan,
    step,
    uniform_plan,
    workout,
)
from tests.support.reference import load_reference, reference_dir
from tests.support.shared import unavailable

LIMITS = GuardrailLimits()
TUE, WED, THU, FRI, SAT, SUN = (PLAN_START + timedelta(days=d) for d in range(1, 7))


def state_of(data: dict[str, Any]) -> PlanState:
    plan = Plan.model_validate(data)
    return PlanState(plan, estimate_plan(plan, THRESHOLDS))


def run(rule, data, context: AthleteContext | None = None, limits: GuardrailLimits = LIMITS):
    state = state_of(data)
    outcome = rule(state, context or history_context(), limits)
    return state, outcome


def codes(outcome) -> list[tuple[str, str]]:
    return [(f.severity, f.code) for f in outcome.findings]


def one_week(*workouts: dict[str, Any], weekdays=None, **extra) -> dict[str, Any]:
    data = uniform_plan(["build"])
    data["workouts"] = list(workouts)
    if weekdays is not None:
        data["availability"]["weekdays"] = weekdays
    data.update(extra)
    return data


def hard(workout_id: str, day: date, **flags) -> dict[str, Any]:
    return workout(workout_id, day, "run", "Intervals", intervals(6), **flags)


def easy(workout_id: str, day: date) -> dict[str, Any]:
    return workout(workout_id, day, "run", "Easy run", easy_run(40))


# --------------------------------------------------------------------------------------------
# Projected PMC and the weekly CTL ramp


def test_the_projected_pmc_continues_the_reference_vectors_exactly():
    vectors = load_reference("pmc_vectors.json")
    if vectors is None:
        unavailable(f"reference vectors {reference_dir() / 'pmc_vectors.json'}")
    days = vectors["days"]
    split = 60
    first = date.fromisoformat(days[0]["date"])
    history = np.array([d["tss"] for d in days[:split]])
    context = AthleteContext(
        today=first + timedelta(days=split),
        loads=DailyLoad(first, history),
        ctl=days[split - 1]["ctl"],
        atl=days[split - 1]["atl"],
    )
    start = first + timedelta(days=split)
    weeks = 8
    items, estimates = [], {}
    for offset in range(7 * weeks):
        load = days[split + offset]["tss"]
        if load > 0:
            key = f"d{offset}"
            items.append(workout(key, start + timedelta(days=offset), "ride", "R", easy_run(30)))
            estimates[key] = WorkoutEstimate(key, 1800, None, load, "default", 0.7, (1800, 0, 0))
    data = {
        "title": "Vectors",
        "goal": {"name": "Vectors", "sport": "ride"},
        "availability": {
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "hours_per_week": 40,
        },
        "weeks": [
            {"start": (start + timedelta(days=7 * i)).isoformat(), "focus": "build"}
            for i in range(weeks)
        ],
        "workouts": items,
    }
    data["workouts"] = [{**w, "sport": "run"} for w in data["workouts"]]
    state = PlanState(Plan.model_validate(data), PlanEstimates(estimates))
    projection = project_pmc(state, context)
    for offset in range(7 * weeks):
        day = days[split + offset]
        assert projection.ctl(start + timedelta(days=offset)) == pytest.approx(day["ctl"], abs=1e-6)
    for back in range(1, 9):  # CTL walked back through the recorded loads
        day = days[split - back]
        assert history_ctl(context)[first + timedelta(days=split - back)] == pytest.approx(
            day["ctl"], abs=1e-6
        )
    for week in state.plan.weeks:  # a week's ramp is GoldenCheetah's rr at its last day
        ramp = projection.ctl(week.end) - projection.ctl(week.start - timedelta(days=1))
        index = (week.end - first).days
        assert ramp == pytest.approx(days[index]["ramp_rate_7d"], abs=1e-6)


def test_the_ramp_limit_rises_with_fitness():
    assert LIMITS.ramp_limit(30) == 5
    assert LIMITS.ramp_limit(45) == 5
    assert LIMITS.ramp_limit(57.5) == pytest.approx(6.5)
    assert LIMITS.ramp_limit(70) == 8
    assert LIMITS.ramp_limit(95) == 8


def _steep_second_week(key_rides: bool = False) -> dict[str, Any]:
    data = uniform_plan(["build", "build"])
    monday = PLAN_START + timedelta(days=7)
    for offset, name in ((2, "wed"), (4, "fri"), (5, "sat")):
        data["workouts"].append(
            workout(
                f"w2-{name}-long",
                monday + timedelta(days=offset),
                "ride",
                "Long ride",
                {"steps": [step("other", {"kind": "time", "seconds": 3 * 3600})]},
                key=key_rides,
            )
        )
    return data


def test_a_week_ramping_too_steeply_has_its_ordinary_sessions_shortened():
    context = history_context(daily_load=30.0)
    data = _steep_second_week()
    state, outcome = run(check_ctl_ramp, data, context)
    assert codes(outcome) == [("adjust", "ramp_scaled")]
    finding = outcome.findings[0]
    assert finding.week_start == PLAN_START + timedelta(days=7)
    assert finding.params["ramp"] > finding.params["limit"] == 5.0
    week = outcome.state.plan.weeks[1]
    after = project_pmc(outcome.state, context)
    ramp = after.ctl(week.end) - after.ctl(week.start - timedelta(days=1))
    assert ramp <= 5.0 + 0.05
    changed = set(finding.params["workouts"])
    for w in state.week_workouts(week):
        before, now = state.estimate(w), outcome.state.estimates[w.id]
        if w.key:
            assert w.id not in changed and now == before
        else:
            assert w.id in changed and now.duration_s < before.duration_s
    first_week = state.plan.weeks[0]
    assert all(
        outcome.state.estimates[w.id] == state.estimate(w) for w in state.week_workouts(first_week)
    )


def test_a_steep_week_of_key_sessions_blocks():
    _, outcome = run(
        check_ctl_ramp, _steep_second_week(key_rides=True), history_context(daily_load=30.0)
    )
    assert codes(outcome) == [("block", "ramp_too_steep")]
    assert outcome.findings[0].params["week"] == 2


def test_a_gentle_plan_passes_the_ramp():
    _, outcome = run(check_ctl_ramp, season_plan())
    assert outcome.findings == ()


# --------------------------------------------------------------------------------------------
# Session spike


def _long_runs(*distances: float, race_last: bool = False) -> dict[str, Any]:
    data = uniform_plan(["build"] * len(distances))
    data["workouts"] = [
        workout(
            f"long{i}",
            PLAN_START + timedelta(days=7 * i + 6),
            "run",
            "Long run",
            long_run(d),
            key=True,
            race=race_last and i == len(distances) - 1,
        )
        for i, d in enumerate(distances)
    ]
    return data


def recent_longest(meters_by_days_ago: dict[int, float]) -> dict[date, float]:
    return {PLAN_START - timedelta(days=back): m for back, m in meters_by_days_ago.items()}


def test_a_30_km_run_after_a_15_km_longest_is_shortened_to_110_percent():
    context = history_context(longest_run_m=0.0)
    context = replace(context, longest_run_m=recent_longest({7: 15000}))
    _, outcome = run(check_session_spike, _long_runs(30000), context)
    assert codes(outcome) == [("adjust", "spike_shortened")]
    params = outcome.findings[0].params
    assert (params["distance_m"], params["longest_m"], params["limit_m"]) == (30000, 15000, 16500)
    assert params["new_distance_m"] == 16500
    assert params["ratio_pct"] == 200.0
    shortened = outcome.state.plan.workout("long0")
    assert shortened.structure.steps[0].duration.meters == 16500
    assert shortened.structure.steps[0].target.kind == "hr_zone"


def test_earlier_planned_runs_count_as_they_stand_after_shortening():
    context = replace(history_context(), longest_run_m=recent_longest({5: 15000}))
    _, outcome = run(check_session_spike, _long_runs(16500, 18000, 20000, 30000), context)
    # 16.5 km ≤ 110 % of 15; 18 ≤ 110 % of 16.5 (18.15); 20 > 110 % of 18 → 19.8;
    # 30 > 110 % of 19.8 → 21.78 km (to the whole 10 m below).
    assert codes(outcome) == [("adjust", "spike_shortened")] * 2
    assert [f.params["limit_m"] for f in outcome.findings] == [19800, 21780]
    assert 21770 <= outcome.state.plan.workout("long3").structure.steps[0].duration.meters <= 21780


def test_runs_older_than_30_days_do_not_count_and_a_first_run_is_kept_to_5_km():
    old_only = replace(history_context(), longest_run_m=recent_longest({31: 20000}))
    _, outcome = run(check_session_spike, _long_runs(8000), old_only)
    assert codes(outcome) == [("adjust", "spike_shortened")]
    assert outcome.findings[0].params["limit_m"] == 5000
    assert outcome.findings[0].params["ratio_pct"] is None
    # The run is on the plan's first Sunday: 24 days before the plan is its 30th day back.
    window = replace(history_context(), longest_run_m=recent_longest({25: 20000, 24: 12000}))
    _, outcome = run(check_session_spike, _long_runs(14000), window)
    assert outcome.findings[0].params["longest_m"] == 12000


def test_a_race_longer_than_the_rule_allows_is_reported_not_changed():
    context = replace(history_context(), longest_run_m=recent_longest({7: 15000}))
    state, outcome = run(check_session_spike, _long_runs(21100, race_last=True), context)
    assert codes(outcome) == [("report", "spike_race")]
    assert outcome.state.plan == state.plan


def test_runs_within_110_percent_pass():
    _, outcome = run(check_session_spike, _long_runs(17000), history_context(longest_run_m=16000))
    assert outcome.findings == ()


# --------------------------------------------------------------------------------------------
# Hard days


def test_three_hard_days_in_a_row_lose_the_third():
    data = one_week(hard("a", TUE), hard("b", WED), hard("c", THU), easy("d", SAT))
    state, outcome = run(check_hard_days, data)
    assert codes(outcome) == [("adjust", "hard_day_softened")]
    assert outcome.findings[0].workout_id == "c"
    assert outcome.findings[0].params["days_in_row"] == 3
    eased = outcome.state.plan.workout("c")
    assert [s.target.kind for s in eased.structure.steps] == ["hr_zone"]
    assert eased.structure.steps[0].target.zone == 2
    assert eased.structure.steps[0].duration.seconds == 3600  # capped at an hour
    assert outcome.state.estimates["c"].hard_s == 0
    assert outcome.state.plan.workout("a") == state.plan.workout("a")


def test_a_key_day_that_cannot_soften_makes_an_earlier_day_easy():
    data = one_week(hard("a", TUE), hard("b", WED), hard("c", THU, key=True), easy("d", SAT))
    _, outcome = run(check_hard_days, data)
    assert [(f.code, f.workout_id) for f in outcome.findings] == [("hard_day_softened", "b")]


def test_the_day_after_a_key_session_becomes_easy():
    data = one_week(hard("a", TUE, key=True), hard("b", WED), easy("c", FRI))
    _, outcome = run(check_hard_days, data)
    assert [(f.code, f.workout_id) for f in outcome.findings] == [("easy_after_key", "b")]
    assert outcome.findings[0].params["key_date"] == TUE.isoformat()


def test_two_key_days_in_a_row_block_and_three_block_the_run():
    data = one_week(hard("a", TUE, key=True), hard("b", WED, key=True))
    _, outcome = run(check_hard_days, data)
    assert codes(outcome) == [("block", "hard_after_key")]
    data = one_week(*(hard(k, d, key=True) for k, d in (("a", TUE), ("b", WED), ("c", THU))))
    _, outcome = run(check_hard_days, data)
    assert codes(outcome) == [
        ("block", "hard_after_key"),
        ("block", "hard_after_key"),
        ("block", "hard_days_in_row"),
    ]
    assert outcome.findings[-1].params == {"start": TUE.isoformat(), "days": 3}


def test_well_spaced_hard_days_pass():
    data = one_week(
        hard("a", TUE, key=True), easy("b", WED), hard("c", THU), hard("d", FRI), easy("e", SAT)
    )
    _, outcome = run(check_hard_days, data)
    assert outcome.findings == ()


# --------------------------------------------------------------------------------------------
# Recovery weeks and taper


def test_a_fourth_loading_week_in_a_row_becomes_a_recovery_week():
    state, outcome = run(check_recovery_weeks, uniform_plan(["build"] * 5))
    assert codes(outcome) == [("adjust", "recovery_week_inserted")]
    finding = outcome.findings[0]
    assert finding.params["weeks_in_row"] == 4 and finding.params["week"] == 4
    weeks = outcome.state.plan.weeks
    assert [w.focus for w in weeks] == ["build", "build", "build", "recovery", "build"]
    loads = [
        sum(outcome.state.estimates[w.id].load for w in outcome.state.week_workouts(week))
        for week in weeks
    ]
    before = sum(state.estimate(w).load for w in state.week_workouts(weeks[0]))
    assert loads[3] <= 0.65 * before + 0.5
    assert loads[3] > 0.5 * before  # shortened, not gutted
    assert loads[4] == pytest.approx(before)
    assert len(outcome.state.week_workouts(weeks[3])) == 6  # frequency kept


def test_a_recovery_week_that_is_not_lighter_is_made_so():
    _, outcome = run(check_recovery_weeks, uniform_plan(["build", "build", "recovery", "build"]))
    assert codes(outcome) == [("adjust", "recovery_week_deepened")]
    assert outcome.findings[0].params["new_load"] == pytest.approx(
        0.65 * outcome.findings[0].params["reference"], abs=0.1
    )


def test_a_missing_recovery_week_already_under_way_is_reported():
    context = history_context(PLAN_START + timedelta(days=7 * 3 + 2))
    state, outcome = run(check_recovery_weeks, uniform_plan(["build"] * 5), context)
    assert codes(outcome) == [("report", "recovery_week_missing")]
    assert outcome.state.plan == state.plan


def test_a_3_1_rhythm_passes_and_weeks_before_the_event_are_the_tapers():
    data = uniform_plan(["base", "build", "build", "recovery"] * 2)
    recovery_weeks = ("w4-", "w8-")
    data["workouts"] = [  # recovery weeks without their intervals and long run
        w for w in data["workouts"] if not (w["id"].startswith(recovery_weeks) and w.get("key"))
    ]
    _, outcome = run(check_recovery_weeks, data)
    assert outcome.findings == ()
    _, outcome = run(check_recovery_weeks, uniform_plan(["build"] * 4, event_type="run_10k"))
    assert outcome.findings == ()


def _window_cut(state: PlanState, context: AthleteContext, event: date, days: int) -> float:
    def mean(first: date, last: date) -> float:
        total = 0.0
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            total += context.history_load(day) if day <= context.loads_end else state.day_load(day)
        return total / ((last - first).days + 1)

    start = event - timedelta(days=days)
    return 1 - mean(start, event - timedelta(days=1)) / mean(
        start - timedelta(days=28), start - timedelta(days=1)
    )


def test_no_taper_before_the_event_gets_a_progressive_one():
    data = uniform_plan(["build"] * 4, event_type="run_10k")
    context = history_context()
    state, outcome = run(check_taper, data, context)
    assert codes(outcome) == [("adjust", "taper_added")]
    event = state.plan.goal.event_date
    assert outcome.findings[0].params["cut_pct"] < 30
    assert _window_cut(outcome.state, context, event, 7) >= 0.30
    for w in state.plan.workouts:
        now = outcome.state.plan.workout(w.id)
        if event - timedelta(days=7) <= w.date < event:
            assert outcome.state.estimates[w.id].duration_s < state.estimate(w).duration_s
            assert [s.target for s in now.structure.distinct_steps()] == [
                s.target for s in w.structure.distinct_steps()
            ]
            assert now.key == w.key
        else:
            assert now == w  # outside the taper, and the race itself, untouched


def test_a_taper_without_sessions_is_too_deep_and_lost_its_intensity():
    data = uniform_plan(["build"] * 4, event_type="run_10k")
    event = date.fromisoformat(data["goal"]["event_date"])
    data["workouts"] = [
        w
        for w in data["workouts"]
        if not event - timedelta(days=7) <= date.fromisoformat(w["date"]) < event
    ]
    _, outcome = run(check_taper, data)
    assert codes(outcome) == [("report", "taper_too_deep"), ("report", "taper_intensity_dropped")]
    assert outcome.findings[0].params["cut_pct"] == 100


def test_a_taper_of_easy_sessions_keeps_its_cut_but_reports_the_lost_intensity():
    data = uniform_plan(["build"] * 4, event_type="run_10k")
    event = date.fromisoformat(data["goal"]["event_date"])
    for w in data["workouts"]:
        if (
            event - timedelta(days=7) <= date.fromisoformat(w["date"]) < event
            and w["sport"] == "run"
        ):
            w["structure"] = easy_run(25)
            w["key"] = False
    _, outcome = run(check_taper, data)
    assert codes(outcome) == [("report", "taper_intensity_dropped")]


def test_an_event_after_the_plan_is_reported_and_the_season_plans_taper_passes():
    data = uniform_plan(["build"] * 2)
    data["goal"]["event_date"] = (PLAN_START + timedelta(days=40)).isoformat()
    _, outcome = run(check_taper, data)
    assert codes(outcome) == [("report", "event_after_plan")]
    _, outcome = run(check_taper, season_plan())
    assert outcome.findings == ()


# --------------------------------------------------------------------------------------------
# Intensity distribution


def test_a_plan_of_hard_sessions_is_reported_with_its_numbers():
    data = one_week(*(hard(f"h{i}", PLAN_START + timedelta(days=i)) for i in range(1, 7)))
    _, outcome = run(check_intensity_distribution, data)
    assert codes(outcome) == [("report", "intensity_too_hard")]
    params = outcome.findings[0].params
    assert params["easy_pct"] < 75 and params["target_pct"] == 80
    assert params["easy_sessions_pct"] == 0
    _, outcome = run(check_intensity_distribution, season_plan())
    assert outcome.findings == ()


# --------------------------------------------------------------------------------------------
# Availability and weekly hours


def test_a_workout_on_an_unavailable_weekday_moves_to_the_nearest_free_day():
    data = one_week(
        easy("a", TUE),
        hard("b", WED),
        easy("c", FRI),
        weekdays=["mon", "tue", "thu", "fri", "sat", "sun"],
    )
    _, outcome = run(check_availability, data)
    assert codes(outcome) == [("adjust", "moved_unavailable")]
    assert outcome.findings[0].params["to"] == THU.isoformat()
    assert outcome.findings[0].params["reason"] == "weekday"
    assert outcome.state.plan.workout("b").date == THU


def test_a_move_keeps_hard_days_apart():
    # Monday is not a training day. Tuesday is taken by a key session, so Wednesday would put
    # the hard session on the day after it: the nearest good day is Thursday.
    data = one_week(hard("x", PLAN_START), hard("k", TUE, key=True), easy("s", SAT))
    _, outcome = run(check_availability, data)
    assert [(f.code, f.params["to"]) for f in outcome.findings] == [
        ("moved_unavailable", THU.isoformat())
    ]


def test_the_later_day_wins_a_tie():
    data = one_week(easy("x", WED), weekdays=["mon", "tue", "thu", "fri", "sat", "sun"])
    _, outcome = run(check_availability, data)
    assert outcome.state.plan.workout("x").date == THU


def test_a_day_off_with_no_free_day_left_blocks():
    data = uniform_plan(["build"])
    data["availability"]["days_off"] = [SUN.isoformat()]
    _, outcome = run(check_availability, data)
    assert codes(outcome) == [("block", "unavailable_day")]
    assert outcome.findings[0].params["reason"] == "day_off"


def test_races_are_never_moved_and_moving_can_be_switched_off():
    data = one_week(
        workout("r", WED, "run", "Race", long_run(10000), key=True, race=True),
        weekdays=["tue", "thu", "fri", "sat", "sun"],
    )
    _, outcome = run(check_availability, data)
    assert codes(outcome) == [("block", "unavailable_race")]
    data = one_week(easy("a", WED), weekdays=["tue", "thu"])
    _, outcome = run(check_availability, data, limits=GuardrailLimits(move_unavailable=False))
    assert codes(outcome) == [("block", "unavailable_day")]


def test_a_week_over_the_available_hours_blocks():
    data = uniform_plan(["build"], hours_per_week=5.0)
    state, outcome = run(check_weekly_hours, data)
    assert codes(outcome) == [("block", "week_over_hours")]
    hours = sum(state.estimate(w).duration_s for w in state.plan.workouts) / 3600
    assert outcome.findings[0].params == {
        "week_start": PLAN_START.isoformat(),
        "hours": round(hours, 1),
        "limit_hours": 5.0,
    }
    _, outcome = run(check_weekly_hours, uniform_plan(["build"], hours_per_week=9.0))
    assert outcome.findings == ()


def test_a_plan_on_available_days_passes():
    _, outcome = run(check_availability, season_plan())
    assert outcome.findings == ()


# --------------------------------------------------------------------------------------------
# Readiness


def low(**values: Any) -> AthleteContext:
    base = history_context(TUE)
    return replace(base, **values)


def test_a_low_7_day_hrv_makes_todays_hard_session_easy():
    data = uniform_plan(["build"])
    context = low(hrv_7d=3.5, hrv_readings_7d=5, hrv_band=(3.7, 4.1))
    _, outcome = run(check_readiness, data, context)
    assert codes(outcome) == [("adjust", "readiness_easy")]
    assert outcome.findings[0].workout_id == "w1-tue"
    assert outcome.findings[0].params["reason"] == "hrv"
    assert outcome.state.estimates["w1-tue"].hard_s == 0
    assert outcome.state.plan.workout("w1-tue").key is False


def test_low_readiness_eases_only_the_next_hard_session():
    data = one_week(hard("a", TUE), hard("b", WED))
    context = low(readiness=55.0)
    _, outcome = run(check_readiness, data, context, GuardrailLimits(readiness_window_days=2))
    assert [(f.code, f.workout_id) for f in outcome.findings] == [("readiness_easy", "a")]
    assert outcome.findings[0].params["reason"] == "readiness"
    again = check_readiness(outcome.state, context, GuardrailLimits(readiness_window_days=2))
    assert again.findings == ()  # within one check, the next one was eased already


def test_readiness_needs_enough_hrv_nights_and_a_hard_session_today():
    data = uniform_plan(["build"])
    _, outcome = run(check_readiness, data, low(hrv_7d=3.5, hrv_readings_7d=2, hrv_band=(3.7, 4.1)))
    assert outcome.findings == ()
    _, outcome = run(check_readiness, data, low(hrv_7d=3.9, hrv_readings_7d=7, hrv_band=(3.7, 4.1)))
    assert outcome.findings == ()
    wednesday = replace(low(readiness=40.0), today=WED)
    _, outcome = run(check_readiness, data, wednesday)  # Wednesday's run is easy
    assert outcome.findings == ()


def test_a_race_on_a_low_day_is_reported():
    data = one_week(workout("r", TUE, "run", "Race", long_run(10000), key=True, race=True))
    _, outcome = run(check_readiness, data, low(readiness=50.0))
    assert codes(outcome) == [("report", "readiness_race")]


# --------------------------------------------------------------------------------------------
# Illness and injury


def with_health(data: dict[str, Any], **report: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["health"] = [{"id": "h1", "kind": "illness", **report}]
    return data


def test_an_open_illness_rests_every_session_from_its_start():
    data = with_health(uniform_plan(["build", "build"]), start=THU.isoformat())
    state, outcome = run(check_health, data)
    removed = {f.workout_id for f in outcome.findings}
    assert {f.code for f in outcome.findings} == {"health_rest"}
    assert removed == {w.id for w in state.plan.workouts if w.date >= THU}
    assert {w.id for w in outcome.state.plan.workouts} == {"w1-tue", "w1-wed"}
    assert all(
        w.id not in outcome.state.estimates.workouts for w in state.plan.workouts if w.id in removed
    )


def test_after_the_expected_end_only_easy_sessions_until_cleared():
    data = with_health(uniform_plan(["build", "build"]), start=THU.isoformat(), end=FRI.isoformat())
    _, outcome = run(check_health, data)
    rested = [f.workout_id for f in outcome.findings if f.code == "health_rest"]
    eased = [f.workout_id for f in outcome.findings if f.code == "health_restart_easy"]
    assert rested == ["w1-thu", "w1-fri"]
    assert eased == ["w1-sun", "w2-tue", "w2-sun"]  # the key sessions (and intervals)
    assert outcome.state.plan.workout("w1-sat") is not None


def test_a_cleared_illness_leaves_the_days_after_alone():
    data = with_health(
        uniform_plan(["build", "build"]), start=THU.isoformat(), cleared_on=SAT.isoformat()
    )
    _, outcome = run(check_health, data)
    assert [f.workout_id for f in outcome.findings] == ["w1-thu", "w1-fri"]


def test_an_injury_rests_only_the_sports_it_names_and_context_reports_count():
    calf = HealthReport(id="calf", kind="injury", start=PLAN_START, sports=["run"])
    context = replace(history_context(), health=(calf,))
    _state, outcome = run(check_health, uniform_plan(["build"]), context)
    assert {w.sport for w in outcome.state.plan.workouts} == {"ride", "swim"}
    assert all(f.params["kind"] == "injury" for f in outcome.findings)


def test_a_race_during_an_illness_blocks():
    data = with_health(
        uniform_plan(["build", "build"], event_type="run_10k"),
        start=(PLAN_START + timedelta(days=10)).isoformat(),
    )
    _, outcome = run(check_health, data)
    assert ("block", "health_race") in codes(outcome)
    assert outcome.state.plan.workout("w2-sun") is not None
