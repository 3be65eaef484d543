"""The daily decision: the model's schema and its conversion, and the safety rules that overrule
it — forced rest, the breakaway gate, the mission's constraints, the plan guardrails — with the
points computed from the schema."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from app.coach.decision import (
    Decision,
    DecisionSnapshot,
    LlmDecision,
    ReviewedDecision,
    SessionSummary,
    apply_safety,
    decision_from_llm,
    llm_decision_schema,
)
from app.coach.estimate import estimate_workout
from app.coach.llm_schema import DraftInvalid, LlmWorkout, llm_workout
from app.coach.messages import describe_finding
from app.coach.missions import MissionConstraints, countdown
from app.coach.plans import HealthReport, PlannedWorkout
from app.coach.points import ride_mode, score_event
from app.i18n import current_locale
from tests.support.missions import TOUR_ZONE, stage_day, tour_mission, tour_rides, tour_stages
from tests.support.plans import (
    PLAN_START,
    THRESHOLDS,
    history_context,
    intervals,
    long_run,
    step,
    workout,
)
from tests.unit.coach.test_llm_schema import strict_violations

TODAY = PLAN_START  # a Monday; the history runs to Sunday


def planned(structure: dict[str, Any], *, sport: str = "run", day: date = TODAY, **flags: Any):
    return PlannedWorkout.model_validate(
        workout("today-1", day, sport, "Intervals", structure, **flags)
    )


def hard_run(day: date = TODAY) -> PlannedWorkout:
    return planned(intervals(6), day=day, key=True)


def breakaway_ride(day: date) -> PlannedWorkout:
    """Two hours at 220-230 W on an FTP of 250: IF 0.9, a breakaway by the ride's numbers."""
    power = {"kind": "power_range", "low_w": 220, "high_w": 230}
    structure = {"steps": [step("interval", {"kind": "time", "seconds": 7200}, power)]}
    return planned(structure, sport="ride", day=day)


def snapshot(
    today: date = TODAY,
    *,
    readiness: float | None = 85.0,
    tsb: float = 0.0,
    sessions: tuple[SessionSummary, ...] = (),
    plan_workout: PlannedWorkout | None = None,
    tour_through: int | None = None,
    **context: Any,
) -> DecisionSnapshot:
    """A morning snapshot; with ``tour_through`` the virtual tour is on and stages up to that
    number were ridden (breakaway in the mountains, GC elsewhere)."""
    mission_countdown = event = None
    if tour_through is not None:
        modes = {n: "gc" for n in range(1, tour_through + 1)}
        event = score_event(tour_stages(), tour_rides(modes), time_zone=TOUR_ZONE, today=today)
        mission_countdown = countdown(tour_mission(), today)
    return DecisionSnapshot(
        context=history_context(today, readiness=readiness, **context),
        tsb=tsb,
        ramp=3.0,
        sleep_s=7.2 * 3600,
        sleep_score=81,
        last_sessions=sessions,
        planned=plan_workout,
        countdown=mission_countdown,
        event=event,
    )


def proposal(
    action: str = "maintain",
    *,
    intensity: str = "moderate",
    workout_: PlannedWorkout | None = None,
    mode: str | None = None,
    confidence: float = 0.8,
    reason: str = "Fresh legs and a good night: go.",
    flags: tuple[str, ...] = (),
) -> LlmDecision:
    return LlmDecision(
        action=action,
        reason=reason,
        intensity=intensity,
        flags=list(flags),
        confidence=confidence,
        workout=None if workout_ is None else llm_workout(workout_),
        ride_mode=mode,
        mode_rationale=None if mode is None else "The legs are there.",
        strategic_notes=None,
    )


def decide(
    llm: LlmDecision, snap: DecisionSnapshot, constraints: MissionConstraints | None = None
) -> ReviewedDecision:
    return apply_safety(decision_from_llm(llm, snap), snap, constraints=constraints)


def codes(reviewed: ReviewedDecision) -> list[str]:
    return [f.code for f in reviewed.findings]


# --------------------------------------------------------------------------------------------
# The model's schema and its conversion


def test_the_decision_schema_is_strict_and_leaves_points_to_code():
    schema = llm_decision_schema()
    assert strict_violations(schema) == []
    assert "expected_points" not in schema["properties"]
    assert "bonus_opportunities" not in schema["properties"]
    assert schema["properties"]["ride_mode"]["anyOf"][0]["enum"] == ["rest", "gc", "breakaway"]


def test_a_valid_answer_converts_and_keeps_the_plans_workout_id():
    today_plan = hard_run()
    snap = snapshot(plan_workout=today_plan)
    answer = LlmDecision.model_validate_json(
        proposal("maintain", workout_=today_plan, flags=("good_sleep",)).model_dump_json()
    )
    decision = decision_from_llm(answer, snap)
    assert decision.day == TODAY and decision.action == "maintain"
    assert decision.workout.id == today_plan.id
    assert decision.workout.structure == today_plan.structure
    assert decision.flags == ["good_sleep"] and decision.expected_points is None
    other = LlmWorkout.model_validate({**llm_workout(today_plan).model_dump(), "id": "made-up"})
    fresh = decision_from_llm(proposal().model_copy(update={"workout": other}), snap)
    assert fresh.workout.id == "20270104-run"  # a new workout gets a new id


def test_a_malformed_answer_is_refused_with_every_error_placed():
    tomorrow = hard_run(TODAY + timedelta(days=1))
    broken = proposal("rest", workout_=tomorrow, mode="gc", confidence=1.4, reason="  ")
    with pytest.raises(DraftInvalid) as caught:
        decision_from_llm(broken, snapshot())
    placed = [(e.loc, e.code) for e in caught.value.errors]
    assert placed == [
        (("workout", "date"), "workout_not_today"),
        (("reason",), "reason_missing"),
        (("confidence",), "confidence_out_of_range"),
        (("workout",), "rest_with_workout"),
        (("ride_mode",), "rest_with_ride_mode"),
        (("ride_mode",), "ride_mode_not_stage_day"),
    ]
    bad_step = llm_workout(hard_run()).model_dump()
    bad_step["blocks"][0]["steps"][0].update(target="hr_range", low=170, high=150)
    with pytest.raises(DraftInvalid) as caught:
        decision_from_llm(
            proposal().model_copy(update={"workout": LlmWorkout.model_validate(bad_step)}),
            snapshot(),
        )
    [error] = caught.value.errors
    assert error.code == "hr_range_order"
    assert error.loc[:5] == ("workout", "blocks", 0, "steps", 0)


def test_a_stage_day_needs_a_ride_mode():
    today = stage_day(12)
    with pytest.raises(DraftInvalid) as caught:
        decision_from_llm(proposal("maintain"), snapshot(today, tour_through=11))
    assert [(e.loc, e.code, e.params) for e in caught.value.errors] == [
        (("ride_mode",), "ride_mode_missing", {"stage": 12})
    ]
    rest_day = stage_day(10) - timedelta(days=1)
    with pytest.raises(DraftInvalid) as caught:
        decision_from_llm(proposal(mode="gc"), snapshot(rest_day, tour_through=9))
    assert caught.value.errors[0].code == "ride_mode_not_stage_day"


# --------------------------------------------------------------------------------------------
# Forced rest


def test_a_push_on_a_very_low_readiness_day_becomes_rest():
    reviewed = decide(
        proposal("push", intensity="high", workout_=hard_run()), snapshot(readiness=55)
    )
    final = reviewed.decision
    assert (final.action, final.intensity, final.workout) == ("rest", "low", None)
    assert codes(reviewed) == ["decision_rest_readiness"]
    assert reviewed.findings[0].params == {"readiness": 55.0, "minimum": 60.0}
    assert reviewed.overruled and "decision_rest_readiness" in final.flags
    assert reviewed.proposed.action == "push"  # what the model said is kept beside it


def test_deep_fatigue_and_illness_force_rest():
    deep = decide(proposal("maintain", workout_=hard_run()), snapshot(tsb=-33))
    assert deep.decision.action == "rest" and codes(deep) == ["decision_rest_tsb"]
    assert deep.findings[0].params["stage_day"] is False
    flu = HealthReport(id="flu", kind="illness", start=TODAY - timedelta(days=1))
    ill = decide(proposal("recover"), snapshot(health=(flu,)))
    assert ill.decision.action == "rest" and codes(ill) == ["decision_rest_health"]
    knee = HealthReport(id="knee", kind="injury", start=TODAY, sports=["run"])
    hurt = decide(proposal("maintain", workout_=hard_run()), snapshot(health=(knee,)))
    assert hurt.decision.action == "rest" and codes(hurt) == ["decision_rest_health"]
    ride = planned({"steps": [step("other", {"kind": "time", "seconds": 3600})]}, sport="ride")
    riding = decide(proposal("maintain", workout_=ride), snapshot(health=(knee,)))
    assert riding.decision.action == "maintain" and not riding.overruled


def test_a_rest_the_model_chose_is_not_an_overrule():
    reviewed = decide(proposal("rest", intensity="low"), snapshot(readiness=50, tsb=-40))
    assert reviewed.decision.action == "rest" and reviewed.findings == ()


# --------------------------------------------------------------------------------------------
# Hard days on training days


def test_a_push_on_a_low_readiness_day_is_eased_by_the_readiness_guardrail():
    reviewed = decide(
        proposal("push", intensity="high", workout_=hard_run()),
        snapshot(readiness=65, plan_workout=hard_run()),
    )
    final = reviewed.decision
    assert codes(reviewed) == ["readiness_easy"]
    assert (final.action, final.intensity) == ("ease", "low")
    assert estimate_workout(final.workout, THRESHOLDS).hard_s == 0
    assert final.workout.id == "today-1" and final.workout.name == "Intervals"


def test_a_push_without_a_session_on_a_low_readiness_day_is_refused():
    reviewed = decide(proposal("push", intensity="high"), snapshot(readiness=65))
    assert codes(reviewed) == ["decision_push_not_ready"]
    assert reviewed.findings[0].params["reason"] == "readiness"
    assert (reviewed.decision.action, reviewed.decision.intensity) == ("ease", "moderate")


def test_a_hard_day_the_guardrails_refuse_after_a_key_session_becomes_easy():
    long_sunday = SessionSummary(
        day=TODAY - timedelta(days=1),
        sport="run",
        name="Long run",
        duration_s=5400,
        load=110,
        hard_s=0,
        distance_m=18000,
        key=True,
    )
    reviewed = decide(
        proposal("push", intensity="high", workout_=hard_run().model_copy(update={"key": False})),
        snapshot(sessions=(long_sunday,)),
    )
    assert codes(reviewed) == ["easy_after_key"]
    assert reviewed.decision.action == "ease"
    assert estimate_workout(reviewed.decision.workout, THRESHOLDS).hard_s == 0
    # A key session the day after a key session blocks in a plan; today it becomes easy.
    blocked = decide(
        proposal("push", intensity="high", workout_=hard_run()), snapshot(sessions=(long_sunday,))
    )
    assert codes(blocked) == ["decision_hard_refused"]
    assert blocked.findings[0].params["guardrail"] == "hard_after_key"
    assert estimate_workout(blocked.decision.workout, THRESHOLDS).hard_s == 0


def test_three_hard_days_in_a_row_are_not_allowed():
    hard_days = tuple(
        SessionSummary(
            day=TODAY - timedelta(days=back),
            sport="ride",
            name="Threshold",
            duration_s=3600,
            load=80,
            hard_s=1500,
        )
        for back in (1, 2)
    )
    reviewed = decide(
        proposal("maintain", workout_=hard_run().model_copy(update={"key": False})),
        snapshot(sessions=hard_days),
    )
    assert codes(reviewed) == ["hard_day_softened"]
    assert reviewed.decision.action == "ease"


def test_a_long_run_over_the_spike_limit_is_shortened_and_kept():
    long_one = planned(long_run(30000))
    reviewed = decide(proposal("maintain", workout_=long_one), snapshot())
    assert codes(reviewed) == ["spike_shortened"]
    assert estimate_workout(reviewed.decision.workout, THRESHOLDS).distance_m <= 1.1 * 16000 + 1
    assert reviewed.decision.action == "maintain"


def test_the_missions_constraints_refuse_hard_days():
    run = hard_run().model_copy(update={"key": False})
    strict = MissionConstraints(min_readiness=80, min_tsb=-10, max_hard_days_per_week=2)
    low = decide(
        proposal("push", intensity="high", workout_=run), snapshot(readiness=75, tsb=-15), strict
    )
    assert codes(low) == ["constraint_readiness", "constraint_tsb"]
    assert low.decision.action == "ease"
    assert estimate_workout(low.decision.workout, THRESHOLDS).hard_s == 0
    busy = tuple(
        SessionSummary(
            day=TODAY - timedelta(days=back),
            sport="ride",
            name="Hills",
            duration_s=3600,
            load=80,
            hard_s=1200,
        )
        for back in (3, 5)
    )
    week = decide(proposal("push", intensity="high", workout_=run), snapshot(sessions=busy), strict)
    assert codes(week) == ["constraint_hard_days"]
    assert week.findings[0].params == {"count": 2, "maximum": 2}
    fine = decide(proposal("push", intensity="high", workout_=run), snapshot(), strict)
    assert not fine.overruled and fine.decision.action == "push"


def test_a_race_is_the_owners_choice_and_is_reported_not_eased():
    race = planned(
        {
            "steps": [
                step(
                    "interval",
                    {"kind": "distance", "meters": 10000},
                    {"kind": "hr_zone", "zone": 4},
                )
            ]
        },
        key=True,
        race=True,
    )
    reviewed = decide(
        proposal("push", intensity="high", workout_=race),
        snapshot(readiness=65, plan_workout=race),
        MissionConstraints(min_readiness=70),
    )
    assert reviewed.decision.workout == race and reviewed.decision.action == "push"
    assert {f.code for f in reviewed.findings} == {"readiness_race", "constraint_readiness"}
    assert {f.severity for f in reviewed.findings} == {"report"}
    assert not reviewed.overruled


def test_null_means_as_planned_and_an_ease_of_a_hard_plan_is_easy():
    plan = hard_run()
    kept = decide(proposal("maintain"), snapshot(plan_workout=plan))
    assert kept.decision.workout == plan and not kept.overruled
    eased = decide(proposal("ease", intensity="low"), snapshot(plan_workout=plan))
    assert eased.decision.workout.id == plan.id
    assert estimate_workout(eased.decision.workout, THRESHOLDS).hard_s == 0
    assert (
        decide(proposal("recover", intensity="low"), snapshot(plan_workout=plan)).decision.workout
        is None
    )


# --------------------------------------------------------------------------------------------
# Stage days: the breakaway gate and the points


def test_a_breakaway_on_a_deep_tsb_becomes_a_rest_day_on_the_stage():
    today = stage_day(12)
    reviewed = decide(
        proposal("push", intensity="high", workout_=breakaway_ride(today), mode="breakaway"),
        snapshot(today, tsb=-25, tour_through=11),
    )
    final = reviewed.decision
    assert codes(reviewed) == ["decision_rest_tsb"]
    assert reviewed.findings[0].params == {"tsb": -25.0, "minimum": -20.0, "stage_day": True}
    assert (final.action, final.ride_mode, final.workout, final.expected_points) == (
        "rest",
        "rest",
        None,
        0,
    )


def test_a_breakaway_without_the_legs_for_it_becomes_gc_and_its_pacing_too():
    today = stage_day(12)  # a mountain stage
    reviewed = decide(
        proposal("push", intensity="high", workout_=breakaway_ride(today), mode="breakaway"),
        snapshot(today, readiness=85, tsb=-8, tour_through=11),
    )
    final = reviewed.decision
    assert codes(reviewed) == ["decision_no_breakaway"]
    assert reviewed.findings[0].params == {
        "readiness": 85.0,
        "tsb": -8.0,
        "min_readiness": 80.0,
        "min_tsb": -5.0,
    }
    assert (final.ride_mode, final.action, final.intensity) == ("gc", "maintain", "moderate")
    estimate = estimate_workout(final.workout, THRESHOLDS)
    assert ride_mode(estimate.intensity_factor, estimate.load, tour_mission().points) == "gc"
    assert 6000 <= estimate.duration_s <= 7200
    assert final.expected_points == 10  # a mountain stage in GC, from the schema


def test_a_breakaway_with_the_legs_for_it_stands_and_its_points_are_computed():
    today = stage_day(12)
    reviewed = decide(
        proposal("push", intensity="high", workout_=breakaway_ride(today), mode="breakaway"),
        snapshot(today, readiness=88, tsb=2, tour_through=11),
    )
    assert reviewed.findings == ()
    assert reviewed.decision.ride_mode == "breakaway"
    assert reviewed.decision.expected_points == 15
    assert "mountains_in_breakaway" not in {o.kind for o in reviewed.decision.bonus_opportunities}
    assert {o.kind for o in reviewed.decision.bonus_opportunities} >= {"breakaways", "all_stages"}


def test_safety_outranks_points_even_on_the_stage_that_completes_the_bonuses():
    today = stage_day(21)  # the last stage: final week and every stage complete today
    snap = snapshot(today, readiness=78, tsb=4, tour_through=20)
    reviewed = decide(proposal("push", intensity="high", mode="breakaway"), snap)
    assert codes(reviewed) == ["decision_no_breakaway"]
    assert reviewed.decision.ride_mode == "gc"
    assert reviewed.decision.expected_points == 5 + 10 + 25  # GC still completes both bonuses
    chances = {o.kind: o.completes_today for o in reviewed.decision.bonus_opportunities}
    assert chances == {"final_week": True, "all_stages": True}


def test_the_missions_constraints_and_an_uncleared_illness_stop_a_breakaway():
    today = stage_day(14)
    constraints = MissionConstraints(min_tsb=5)
    snap = snapshot(today, readiness=90, tsb=0, tour_through=13)
    limited = decide(proposal("push", intensity="high", mode="breakaway"), snap, constraints)
    assert codes(limited) == ["constraint_tsb"] and limited.decision.ride_mode == "gc"
    cold = HealthReport(
        id="cold", kind="illness", start=today - timedelta(days=5), end=today - timedelta(days=2)
    )
    recovering = snapshot(today, readiness=90, tsb=0, tour_through=13, health=(cold,))
    careful = decide(proposal("push", intensity="high", mode="breakaway"), recovering)
    assert codes(careful) == ["decision_not_cleared"] and careful.decision.ride_mode == "gc"


def test_a_gc_day_is_not_an_overrule_and_a_rest_day_of_the_tour_is_a_training_day():
    today = stage_day(12)
    gc = decide(
        proposal("maintain", mode="gc"), snapshot(today, readiness=70, tsb=-12, tour_through=11)
    )
    assert gc.findings == () and gc.decision.expected_points == 10
    let_go = decide(
        proposal("maintain", workout_=breakaway_ride(today), mode="rest"),
        snapshot(today, tour_through=11),
    )
    assert let_go.findings == () and let_go.decision.expected_points == 0
    assert (let_go.decision.action, let_go.decision.intensity) == ("recover", "low")
    assert estimate_workout(let_go.decision.workout, THRESHOLDS).hard_s == 0  # a spin at most
    rest_day = stage_day(10) - timedelta(days=1)
    spin = decide(proposal("recover", intensity="low"), snapshot(rest_day, tour_through=9))
    assert spin.decision.ride_mode is None and spin.decision.expected_points is None
    assert spin.decision.bonus_opportunities  # the event's bonuses are still on the table


# --------------------------------------------------------------------------------------------
# The snapshot and the sentences


def test_the_snapshot_reads_as_plain_json_and_hashes_what_the_prompt_carries():
    today = stage_day(12)
    snap = snapshot(today, tour_through=11, hrv_7d=3.9, hrv_readings_7d=6, hrv_band=(3.7, 4.2))
    facts = snap.as_prompt()
    json.dumps(facts)
    assert facts["hrv"]["status"] == "within" and facts["readiness"] == 85
    assert facts["mission"]["stage"]["number"] == 12
    assert facts["event"]["points_today"] == {"rest": 0, "gc": 10, "breakaway": 15}
    assert (
        snap.digest()
        == snapshot(
            today, tour_through=11, hrv_7d=3.9, hrv_readings_7d=6, hrv_band=(3.7, 4.2)
        ).digest()
    )
    assert (
        snap.digest()
        != snapshot(
            today, readiness=84, tour_through=11, hrv_7d=3.9, hrv_readings_7d=6, hrv_band=(3.7, 4.2)
        ).digest()
    )
    assert snapshot(hrv_7d=3.5, hrv_readings_7d=4, hrv_band=(3.7, 4.2)).hrv_status == "below"
    assert snapshot(hrv_7d=3.5, hrv_readings_7d=2, hrv_band=(3.7, 4.2)).hrv_status is None


def test_a_stored_decision_reads_back():
    reviewed = decide(
        proposal("push", intensity="high", mode="breakaway"),
        snapshot(stage_day(12), readiness=88, tsb=2, tour_through=11),
    )
    stored = reviewed.decision.model_dump_json()
    assert Decision.model_validate_json(stored) == reviewed.decision


def test_every_overrule_reads_in_both_languages():
    today = stage_day(12)
    key_sunday = SessionSummary(
        day=TODAY - timedelta(days=1),
        sport="run",
        name="Long run",
        duration_s=5400,
        load=110,
        key=True,
    )
    strict = MissionConstraints(min_readiness=95, min_tsb=10, max_hard_days_per_week=0)
    cold = HealthReport(id="cold", kind="injury", start=TODAY - timedelta(days=3), end=TODAY)
    scenarios = [
        (proposal("push", workout_=hard_run()), snapshot(readiness=55, tsb=-35), None),
        (proposal("push", workout_=hard_run()), snapshot(health=(cold,)), None),
        (proposal("push", workout_=hard_run()), snapshot(readiness=None), strict),
        (
            proposal("push", intensity="high"),
            snapshot(hrv_7d=3.4, hrv_readings_7d=5, hrv_band=(3.7, 4.2)),
            None,
        ),
        (proposal("push", workout_=hard_run()), snapshot(sessions=(key_sunday,)), None),
        (proposal("maintain", workout_=planned(long_run(30000))), snapshot(), None),
        (
            proposal("push", mode="breakaway"),
            snapshot(today, readiness=None, tour_through=11),
            strict,
        ),
        (
            proposal("push", mode="breakaway"),
            snapshot(today, readiness=70, tsb=-25, tour_through=11),
            None,
        ),
        (
            proposal("push", mode="breakaway"),
            snapshot(
                today,
                tour_through=11,
                health=(
                    cold.model_copy(
                        update={
                            "end": today - timedelta(days=1),
                            "start": today - timedelta(days=4),
                        }
                    ),
                ),
            ),
            None,
        ),
    ]
    findings = [f for llm, snap, rules in scenarios for f in decide(llm, snap, rules).findings]
    produced = {f.code for f in findings}
    assert {
        "decision_rest_readiness",
        "decision_rest_tsb",
        "decision_rest_health",
        "constraint_readiness",
        "constraint_tsb",
        "constraint_hard_days",
        "decision_push_not_ready",
        "decision_hard_refused",
        "decision_no_breakaway",
        "decision_not_cleared",
        "spike_shortened",
    } <= produced, produced
    for finding in findings:
        token = current_locale.set("en")
        try:
            english = describe_finding(finding.code, finding.params)
        finally:
            current_locale.reset(token)
        token = current_locale.set("ko")
        try:
            korean = describe_finding(finding.code, finding.params)
        finally:
            current_locale.reset(token)
        assert "cannot describe" not in english and "%(" not in english, english
        assert any("\uac00" <= char <= "\ud7a3" for char in korean), korean
        assert "%(" not in korean, korean
