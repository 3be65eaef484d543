"""Intensity distribution: about 80 % of the training time easy."""

from __future__ import annotations

from app.coach.guardrails.base import (
    AthleteContext,
    Finding,
    GuardrailLimits,
    PlanState,
    RuleOutcome,
    is_open,
)

RULE = "intensity_distribution"


def check_intensity_distribution(
    state: PlanState, context: AthleteContext, limits: GuardrailLimits
) -> RuleOutcome:
    """The share of the planned time below the first threshold (zone 1 of the three-zone
    model) is at least ``easy_share_target − easy_share_tolerance`` (80 − 5 %) over the
    sessions still to come.

    Information only: pyramidal and polarized distributions both work, so a harder plan is the
    owner's choice, told with its numbers. The share of sessions that are easy (the
    session-goal view) is given alongside the share of time.

    Source: Seiler 2010, IJSPP 5:276 (about 80 % of sessions easy in elite endurance athletes);
    Rosenblat et al. 2025, Sports Med (individual-participant network meta-analysis): no
    overall difference between polarized and pyramidal. Reports.
    """
    total = easy = 0.0
    sessions = easy_sessions = 0
    for workout in state.workouts:
        if not is_open(workout, context):
            continue
        estimate = state.estimate(workout)
        total += estimate.duration_s
        easy += estimate.zone_s[0]
        sessions += 1
        if estimate.hard_s < limits.hard_min_s:
            easy_sessions += 1
    if total <= 0:
        return RuleOutcome(state)
    share = easy / total
    if share >= limits.easy_share_target - limits.easy_share_tolerance:
        return RuleOutcome(state)
    finding = Finding(
        RULE,
        "report",
        "intensity_too_hard",
        {
            "easy_pct": round(100 * share),
            "target_pct": round(100 * limits.easy_share_target),
            "easy_sessions_pct": round(100 * easy_sessions / sessions),
        },
    )
    return RuleOutcome(state, (finding,))
