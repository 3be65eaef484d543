"""The guardrail runner: order, stability, purity, and a plan that passes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from app.coach.estimate import estimate_plan
from app.coach.guardrails import (
    RULES,
    Finding,
    GuardrailLimits,
    PlanState,
    RuleOutcome,
    check_plan,
)
from app.coach.plans import Plan
from tests.support.plans import (
    PLAN_START,
    THRESHOLDS,
    broken_plan,
    history_context,
    season,
    uniform_plan,
    workout,
)

RULE_ORDER = {name: index for index, (name, _rule) in enumerate(RULES)}


def adjusted_codes(findings: tuple[Finding, ...]) -> list[str]:
    return [f.code for f in findings if f.severity == "adjust"]


def test_a_plan_breaking_several_rules_is_adjusted_with_every_reason():
    plan = broken_plan()
    context = history_context()
    report = check_plan(plan, estimate_plan(plan, THRESHOLDS), context)
    codes = adjusted_codes(report.findings)
    for expected in (
        "moved_unavailable",
        "taper_added",
        "recovery_week_deepened",
        "spike_shortened",
        "easy_after_key",
    ):
        assert expected in codes, codes
    assert report.plan.workout("w5-mon").date == PLAN_START + timedelta(days=30)
    shortened = report.estimates["w2-sun"].distance_m
    assert shortened is not None and shortened <= 1.1 * 16000
    assert report.estimates["w3-wed"].hard_s == 0  # the day after the key Tuesday
    assert not report.blocked and report.adjusted and report.exit_code == 0


def test_rules_run_in_the_documented_order():
    assert list(RULE_ORDER) == [
        "health",
        "availability",
        "readiness",
        "taper",
        "recovery_week",
        "session_spike",
        "hard_days",
        "ctl_ramp",
        "weekly_hours",
        "intensity_distribution",
    ]
    plan = broken_plan()
    report = check_plan(plan, estimate_plan(plan, THRESHOLDS), history_context(), max_passes=1)
    ranks = [RULE_ORDER[f.rule] for f in report.findings if f.severity == "adjust"]
    assert ranks == sorted(ranks) and len(set(ranks)) >= 4


def test_order_matters_rest_for_an_illness_comes_before_the_ramp():
    data = uniform_plan(["build", "build"])
    for offset in (2, 4, 5):  # a far too heavy second week
        data["workouts"].append(
            workout(
                f"extra{offset}",
                PLAN_START + timedelta(days=7 + offset),
                "ride",
                "Ride",
                {
                    "steps": [
                        {
                            "kind": "step",
                            "type": "other",
                            "duration": {"kind": "time", "seconds": 3 * 3600},
                        }
                    ]
                },
            )
        )
    plan = Plan.model_validate(data)
    context = history_context(daily_load=30.0)
    steep = check_plan(plan, estimate_plan(plan, THRESHOLDS), context)
    assert "ramp_scaled" in adjusted_codes(steep.findings)
    flu = {"id": "flu", "kind": "illness", "start": PLAN_START + timedelta(days=7)}
    ill = Plan.model_validate({**plan.model_dump(), "health": [flu]})
    rested = check_plan(ill, estimate_plan(ill, THRESHOLDS), context)
    assert "ramp_scaled" not in adjusted_codes(rested.findings)
    assert {w.date for w in rested.plan.workouts} < {
        PLAN_START + timedelta(days=d) for d in range(7)
    }


def test_a_checked_plan_checks_clean_and_the_input_is_untouched():
    plan = broken_plan()
    before = plan.model_dump_json()
    estimates = estimate_plan(plan, THRESHOLDS)
    frozen = dict(estimates.workouts)
    context = history_context()
    report = check_plan(plan, estimates, context)
    assert plan.model_dump_json() == before
    assert dict(estimates.workouts) == frozen
    again = check_plan(report.plan, report.estimates, context)
    assert adjusted_codes(again.findings) == []
    assert again.plan == report.plan
    assert [f for f in again.findings] == [f for f in report.findings if f.severity != "adjust"]
    assert again.passes == 1


def test_the_reports_estimates_are_those_of_the_plan_it_returns():
    plan = broken_plan()
    report = check_plan(plan, estimate_plan(plan, THRESHOLDS), history_context())
    fresh = estimate_plan(report.plan, THRESHOLDS)
    assert dict(report.estimates.workouts) == dict(fresh.workouts)
    Plan.model_validate(report.plan.model_dump())  # still a valid plan


def test_a_sensible_season_passes():
    plan = season()
    report = check_plan(plan, estimate_plan(plan, THRESHOLDS), history_context())
    assert not report.adjusted and not report.blocked
    assert report.plan == plan
    # The marathon is longer than 110 % of the longest run: told, not changed.
    assert [(f.severity, f.code) for f in report.findings] == [("report", "spike_race")]
    assert report.exit_code == 0


def test_a_block_makes_the_exit_code_1_and_findings_are_plain_json():
    plan = season()
    context = replace(history_context(), readiness=40.0)
    data = plan.model_dump(mode="json")
    data["availability"]["days_off"] = [(PLAN_START + timedelta(days=d)).isoformat() for d in (6,)]
    blocked_plan = Plan.model_validate(data)
    report = check_plan(blocked_plan, estimate_plan(blocked_plan, THRESHOLDS), context)
    assert report.blocked and report.exit_code == 1
    assert ("block", "unavailable_day") in [(f.severity, f.code) for f in report.findings]
    text = json.dumps([f.as_dict() for f in report.findings])
    assert "unavailable_day" in text


def test_a_plan_that_keeps_changing_is_blocked():
    def restless(state: PlanState, context: Any, limits: GuardrailLimits) -> RuleOutcome:
        return RuleOutcome(state, (Finding("restless", "adjust", "moved_unavailable"),))

    plan = season(weeks=2)
    report = check_plan(
        plan,
        estimate_plan(plan, THRESHOLDS),
        history_context(),
        rules=(("x", restless),),
        max_passes=3,
    )
    assert report.passes == 3
    assert report.findings[-1].code == "guardrails_unstable" and report.blocked
