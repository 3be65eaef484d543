"""Hard-day spacing: no more than two hard days in a row, an easy day after a key session."""

from __future__ import annotations

from datetime import date, timedelta

from app.coach.guardrails.base import (
    AthleteContext,
    Finding,
    GuardrailLimits,
    PlanState,
    RuleOutcome,
    days,
    easy_version,
    is_hard,
    is_open,
    iso,
    workout_params,
)
from app.coach.plans import PlannedWorkout

RULE = "hard_days"
ONE_DAY = timedelta(days=1)


def hard_and_key_days(state: PlanState, limits: GuardrailLimits) -> tuple[set[date], set[date]]:
    """The plan's hard days and key days (a race day is both)."""
    hard: set[date] = set()
    key: set[date] = set()
    for workout in state.workouts:
        if is_hard(workout, state.estimate(workout), limits):
            hard.add(workout.date)
        if workout.key or workout.race:
            key.add(workout.date)
    return hard, key


def spacing_problems(hard: set[date], key: set[date], around: date, max_in_row: int) -> int:
    """How many spacing problems the days near ``around`` have: a hard day right after a key
    day, and each day that extends a run of hard days beyond ``max_in_row``."""
    reach = max_in_row + 1
    window = [around + timedelta(days=offset) for offset in range(-reach, reach + 1)]
    problems = sum(1 for day in window if day in key and day + ONE_DAY in hard)
    run = 0
    for day in window:
        run = run + 1 if day in hard else 0
        if run > max_in_row:
            problems += 1
    return problems


def _hard_workouts(state: PlanState, day: date, limits: GuardrailLimits) -> list[PlannedWorkout]:
    return [w for w in state.on(day) if is_hard(w, state.estimate(w), limits)]


def _softenable(
    state: PlanState, day: date, context: AthleteContext, limits: GuardrailLimits
) -> list[PlannedWorkout] | None:
    """The day's hard workouts when all of them may become easy; else ``None``."""
    hard = _hard_workouts(state, day, limits)
    if not hard or any(w.key or w.race or not is_open(w, context) for w in hard):
        return None
    return hard


def check_hard_days(
    state: PlanState, context: AthleteContext, limits: GuardrailLimits
) -> RuleOutcome:
    """No more than ``max_hard_days_in_row`` (2) hard days in a row, and an easy or rest day
    after every key session.

    A day is hard when it holds a key session, a race, or a session with ``hard_min_s`` (5 min)
    or more above the first threshold. First, a hard day right after a key day becomes easy
    when its hard sessions are ordinary ones; two key days in a row block (the owner decides).
    Then each run of hard days longer than the limit is broken by making its last day easy (or
    an earlier day of the run when the last one holds a key session); a run that cannot be
    broken blocks. Past days are history: they count but do not change.

    Source: the hard-easy principle (Bowerman; Seiler 2010, IJSPP 5:276, on how elite
    endurance athletes alternate); the limit of two is a coaching convention. Adjusts or blocks.
    """
    hard, key = hard_and_key_days(state, limits)
    changes: dict[str, PlannedWorkout | None] = {}
    findings: list[Finding] = []

    def soften(day: date, workouts: list[PlannedWorkout], code: str, extra: dict) -> None:
        for workout in workouts:
            changes[workout.id] = easy_version(workout, state.estimate(workout), limits)
            findings.append(
                Finding(
                    RULE,
                    "adjust",
                    code,
                    {**workout_params(workout), **extra},
                    workout.id,
                    day=day,
                )
            )
        hard.discard(day)

    for key_day in sorted(key):
        following = key_day + ONE_DAY
        if following not in hard:
            continue
        workouts = _softenable(state, following, context, limits)
        if workouts is not None:
            soften(following, workouts, "easy_after_key", {"key_date": iso(key_day)})
        elif any(is_open(w, context) for w in state.on(following)):
            findings.append(
                Finding(
                    RULE,
                    "block",
                    "hard_after_key",
                    {"key_date": iso(key_day), "date": iso(following)},
                    day=following,
                )
            )

    plan = state.plan
    run_start: date | None = None
    blocked_run: date | None = None
    for day in days(plan.first_day, plan.last_day):
        if day not in hard:
            run_start = None
            continue
        if run_start is None:
            run_start = day
        length = (day - run_start).days + 1
        if length <= limits.max_hard_days_in_row:
            continue
        for back in range(limits.max_hard_days_in_row + 1):
            candidate = day - timedelta(days=back)
            workouts = _softenable(state, candidate, context, limits)
            if workouts is not None:
                soften(candidate, workouts, "hard_day_softened", {"days_in_row": length})
                run_start = None if candidate == day else candidate + ONE_DAY
                break
        else:
            if blocked_run != run_start and any(
                is_open(w, context) for w in _hard_workouts(state, day, limits)
            ):
                blocked_run = run_start
                findings.append(
                    Finding(
                        RULE,
                        "block",
                        "hard_days_in_row",
                        {"start": iso(run_start), "days": length},
                        day=day,
                    )
                )
    if changes:
        state = state.edit(changes, RULE, context.thresholds)
    return RuleOutcome(state, tuple(findings))
