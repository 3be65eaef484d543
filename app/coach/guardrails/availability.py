"""Availability: no workout on an unavailable day, no week over the available hours."""

from __future__ import annotations

from datetime import date, timedelta

from app.coach.guardrails.base import (
    AthleteContext,
    Finding,
    GuardrailLimits,
    PlanState,
    RuleOutcome,
    is_hard,
    is_open,
    iso,
    r1,
    workout_params,
)
from app.coach.guardrails.hard_days import hard_and_key_days, spacing_problems
from app.coach.plans import PlannedWorkout

RULE = "availability"
HOURS_RULE = "weekly_hours"


def _candidates(day: date, week_start: date, week_end: date) -> list[date]:
    """Days of the same plan week by distance from ``day``, the later one first on a tie."""
    found = []
    for distance in range(1, 7):
        for candidate in (day + timedelta(days=distance), day - timedelta(days=distance)):
            if week_start <= candidate <= week_end:
                found.append(candidate)
    return found


def check_availability(
    state: PlanState, context: AthleteContext, limits: GuardrailLimits
) -> RuleOutcome:
    """No workout on a day the owner is not available (a weekday not in ``weekdays`` or a date
    in ``days_off``).

    Chosen behaviour (``move_unavailable``, default on): the workout moves to the nearest day
    of the same plan week that is available, still to come, free of other workouts, and where
    it adds no hard-day spacing problem (a third hard day in a row, or a hard day right after
    a key session; a key session placed right before a hard day counts too) — the later day
    first on a tie, so
    a Saturday long run goes to Sunday rather than Friday). When no such day exists — or moving
    is switched off, or the workout is a race — the plan is blocked for the owner to decide.

    Source: the owner's own availability (no evidence needed); keeping the week's load in the
    same week keeps the ramp and recovery-week checks meaningful. Adjusts or blocks.
    """
    availability = state.plan.availability
    hard, key = hard_and_key_days(state, limits)
    busy = {w.date for w in state.workouts}
    changes: dict[str, PlannedWorkout | None] = {}
    findings: list[Finding] = []
    for workout in state.workouts:
        if not is_open(workout, context) or availability.is_available(workout.date):
            continue
        reason = "day_off" if workout.date in availability.days_off else "weekday"
        params = {**workout_params(workout), "reason": reason}
        if workout.race:
            findings.append(
                Finding(RULE, "block", "unavailable_race", params, workout.id, day=workout.date)
            )
            continue
        target = None
        if limits.move_unavailable:
            index = state.plan.week_index(workout.date)
            assert index is not None
            week = state.plan.weeks[index]
            source = workout.date
            others = [w for w in state.on(source) if w.id != workout.id and w.id not in changes]
            # The plan without this workout: placing it must add no spacing problem.
            base_hard, base_key = set(hard), set(key)
            if not any(is_hard(w, state.estimate(w), limits) for w in others):
                base_hard.discard(source)
            if not any(w.key or w.race for w in others):
                base_key.discard(source)
            moving_hard = is_hard(workout, state.estimate(workout), limits)
            for candidate in _candidates(source, week.start, week.end):
                if (
                    candidate < context.first_open_day
                    or candidate in busy
                    or not availability.is_available(candidate)
                ):
                    continue
                new_hard = base_hard | {candidate} if moving_hard else base_hard
                new_key = base_key | {candidate} if workout.key else base_key
                allowed = limits.max_hard_days_in_row
                if spacing_problems(new_hard, new_key, candidate, allowed) <= spacing_problems(
                    base_hard, base_key, candidate, allowed
                ):
                    target = candidate
                    hard, key = new_hard, new_key
                    break
        if target is None:
            findings.append(
                Finding(RULE, "block", "unavailable_day", params, workout.id, day=workout.date)
            )
            continue
        busy.add(target)
        if not [w for w in state.on(workout.date) if w.id != workout.id]:
            busy.discard(workout.date)
        changes[workout.id] = workout.model_copy(update={"date": target})
        findings.append(
            Finding(
                RULE,
                "adjust",
                "moved_unavailable",
                {**params, "to": iso(target)},
                workout.id,
                day=target,
            )
        )
    if changes:
        state = state.edit(changes, RULE, context.thresholds)
    return RuleOutcome(state, tuple(findings))


def check_weekly_hours(
    state: PlanState, context: AthleteContext, limits: GuardrailLimits
) -> RuleOutcome:
    """No week over the hours the owner has (``hours_per_week``, estimated durations).

    Runs after the rules that shorten sessions, so it judges the plan as adjusted. Trimming
    which sessions is the owner's (or the model's) call: blocks. Weeks already over are not
    judged. Source: the owner's availability.
    """
    limit_s = state.plan.availability.hours_per_week * 3600.0 * (1.0 + limits.hours_tolerance)
    findings: list[Finding] = []
    for week in state.plan.weeks:
        if week.end < context.first_open_day:
            continue
        workouts = state.week_workouts(week)
        total = sum(state.estimate(w).duration_s for w in workouts)
        if total > limit_s + 1.0:
            findings.append(
                Finding(
                    HOURS_RULE,
                    "block",
                    "week_over_hours",
                    {
                        "week_start": iso(week.start),
                        "hours": r1(total / 3600.0),
                        "limit_hours": r1(state.plan.availability.hours_per_week),
                    },
                    week_start=week.start,
                )
            )
    return RuleOutcome(state, tuple(findings))
