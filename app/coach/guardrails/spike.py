"""The session-spike rule for runners: no run longer than 110 % of the recent longest."""

from __future__ import annotations

from collections import deque
from datetime import date, timedelta

from app.coach.estimate import WorkoutEstimate, estimate_workout
from app.coach.guardrails.base import (
    AthleteContext,
    Finding,
    GuardrailLimits,
    PlanState,
    RuleOutcome,
    is_open,
    r1,
    scaled,
    workout_params,
)
from app.coach.plans import PlannedWorkout

RULE = "session_spike"


def _insert(runs: deque[tuple[date, float]], run: tuple[date, float]) -> None:
    """Keep ``runs`` in date order (a planned run may precede recorded ones still to come)."""
    index = len(runs)
    while index and runs[index - 1][0] > run[0]:
        index -= 1
    runs.insert(index, run)


def check_session_spike(
    state: PlanState, context: AthleteContext, limits: GuardrailLimits
) -> RuleOutcome:
    """No planned run longer than ``spike_ratio`` (110 %) of the longest run of the previous
    ``spike_window_days`` (30) days — recorded runs (``context.longest_run_m``) and the plan's
    earlier runs still to come, as they stand after shortening.

    A run over the limit is shortened to it (every timed and measured step scaled alike, so the
    session keeps its shape); a run whose lap-button and open steps alone exceed it blocks. A
    race over the limit is reported, not blocked: the owner chose the event (a marathon is
    longer than any sensible long run), and the study counts races as runs, so the owner
    should know. With no run at all in the window the limit is ``spike_floor_m`` (5 km, a
    heuristic: the study has no ratio without a previous run).

    Source: Frandsen, Nielsen et al., BJSM 2025;59:1203 (5,205 runners, 588,071 sessions): a
    run 10–30 % longer than the longest of the previous 30 days had a 64 % higher injury rate
    (HRR 1.64), more than 100 % longer 2.28; week-to-week changes showed no such link.
    Adjusts, blocks or reports.
    """
    window = timedelta(days=limits.spike_window_days)
    # Runs by date, recorded and planned; the window slides forward with the planned runs.
    recorded = sorted(context.longest_run_m.items())
    earlier: deque[tuple[date, float]] = deque()  # runs in the window, in date order
    next_recorded = 0
    changes: dict[str, PlannedWorkout | None] = {}
    known: dict[str, WorkoutEstimate] = {}
    findings: list[Finding] = []
    for workout in state.workouts:
        if workout.sport != "run" or not is_open(workout, context):
            continue
        estimate = state.estimate(workout)
        distance = estimate.distance_m or 0.0
        start = workout.date - window
        while next_recorded < len(recorded) and recorded[next_recorded][0] < workout.date:
            earlier.append(recorded[next_recorded])
            next_recorded += 1
        while earlier and earlier[0][0] < start:
            earlier.popleft()
        longest = max((meters for day, meters in earlier if day < workout.date), default=0.0)
        limit = limits.spike_ratio * longest if longest > 0 else limits.spike_floor_m
        if distance > limit + 1.0:
            params = {
                **workout_params(workout),
                "distance_m": round(distance),
                "longest_m": round(longest),
                "limit_m": round(limit),
                "ratio_pct": r1(100.0 * distance / longest) if longest > 0 else None,
            }
            if workout.race:
                findings.append(
                    Finding(RULE, "report", "spike_race", params, workout.id, day=workout.date)
                )
            else:
                shorter = scaled(workout, limit / distance)
                shorter_estimate = estimate_workout(shorter, context.thresholds)
                new_distance = shorter_estimate.distance_m or 0.0
                if new_distance > limit + 1.0:
                    findings.append(
                        Finding(
                            RULE,
                            "block",
                            "spike_cannot_shorten",
                            params,
                            workout.id,
                            day=workout.date,
                        )
                    )
                else:
                    changes[workout.id] = shorter
                    known[workout.id] = shorter_estimate
                    distance = new_distance
                    findings.append(
                        Finding(
                            RULE,
                            "adjust",
                            "spike_shortened",
                            {**params, "new_distance_m": round(new_distance)},
                            workout.id,
                            day=workout.date,
                        )
                    )
        _insert(earlier, (workout.date, distance))
    if changes:
        state = state.edit(changes, RULE, context.thresholds, estimates=known)
    return RuleOutcome(state, tuple(findings))
