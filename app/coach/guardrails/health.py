"""Illness and injury: rest until the owner clears it."""

from __future__ import annotations

from app.coach.guardrails.base import (
    AthleteContext,
    Finding,
    GuardrailLimits,
    PlanState,
    RuleOutcome,
    easy_version,
    is_hard,
    is_open,
    iso,
    workout_params,
)
from app.coach.plans import HealthReport, PlannedWorkout

RULE = "health"


def _reports(state: PlanState, context: AthleteContext) -> list[HealthReport]:
    seen: dict[str, HealthReport] = {}
    for report in (*state.plan.health, *context.health):
        seen.setdefault(report.id, report)
    return sorted(seen.values(), key=lambda r: (r.start, r.id))


def check_health(state: PlanState, context: AthleteContext, limits: GuardrailLimits) -> RuleOutcome:
    """An illness or injury reported → rest until the owner clears it.

    Every session from the report's ``start`` to its last day of rest (the day before
    ``cleared_on``; else the ``end`` the owner expects; open without either) is removed — rest,
    not postponed, as the library's *How Domestique handles illness* says. After ``end`` and
    until the owner clears the report, hard sessions become easy (the restart: no hard sessions
    until cleared). An injury that names sports affects only those. A race inside the rest
    period blocks: only the owner can decide to skip a race; a race after it while the report
    is not cleared is reported.

    Source: the "neck rule" and return-to-training practice (coaching heuristics, weak
    evidence; library ``illness-return``); the IOC consensus on acute respiratory illness
    treats fever and systemic symptoms as reasons to stop (Schwellnus et al. 2022).
    Adjusts (removals, restart) or blocks (a race).
    """
    changes: dict[str, PlannedWorkout | None] = {}
    findings: list[Finding] = []
    for report in _reports(state, context):
        rest_until = report.rest_until()
        for workout in state.workouts:
            if workout.id in changes or not is_open(workout, context):
                continue
            if workout.date < report.start or not report.affects(workout.sport):
                continue
            params = {**workout_params(workout), "kind": report.kind, "start": iso(report.start)}
            if rest_until is None or workout.date <= rest_until:
                if workout.race:
                    findings.append(
                        Finding(RULE, "block", "health_race", params, workout.id, day=workout.date)
                    )
                    continue
                changes[workout.id] = None
                findings.append(
                    Finding(
                        RULE,
                        "adjust",
                        "health_rest",
                        {**params, "until": iso(rest_until)},
                        workout.id,
                        day=workout.date,
                    )
                )
            elif report.cleared_on is None and workout.race:
                findings.append(
                    Finding(
                        RULE,
                        "report",
                        "health_race_not_cleared",
                        params,
                        workout.id,
                        day=workout.date,
                    )
                )
            elif report.cleared_on is None:
                estimate = state.estimate(workout)
                if is_hard(workout, estimate, limits) and RULE not in state.adjusted_by(workout.id):
                    changes[workout.id] = easy_version(workout, estimate, limits)
                    findings.append(
                        Finding(
                            RULE,
                            "adjust",
                            "health_restart_easy",
                            {**params, "end": iso(report.end)},
                            workout.id,
                            day=workout.date,
                        )
                    )
    if changes:
        state = state.edit(changes, RULE, context.thresholds)
    return RuleOutcome(state, tuple(findings))
