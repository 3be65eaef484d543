"""Adapting an approved plan to what actually happened: a proposal, never a change.

After each nightly sync the planner service matches the approved revision to the activities
(:mod:`app.coach.matching`), builds today's :class:`~app.coach.guardrails.AthleteContext` (the
loads actually done, HRV, readiness, reported illness) and calls :func:`adapt`. Pure: no clock,
no database. What it returns becomes a new PROPOSED revision that the owner approves or rejects
— or, when the owner opted in and the proposal only makes training easier
(:attr:`Adaptation.easier_only`), is approved by the service.

Two steps:

1. **A missed key session is rescheduled once, never crammed.** A key workout (long run, main
   intervals) missed in the last :data:`RECENT_DAYS` days moves to the first day of the next
   :data:`LOOKAHEAD_DAYS` that the owner is available, with no key session the day before, that
   day or the day after, and at most non-key sessions of the same sport that day (those are
   dropped: the key session replaces them). If another key session of the same sport comes in
   that window, or no day qualifies, the missed one is let go — doubling up after a missed
   session is the classic overreach (Friel, *The Triathlete's Training Bible*, 4th ed., "missed
   workouts": "never try to make up for lost time"; TrainerRoad's Adaptive Training and
   TrainingPeaks' coaches follow the same rule). Races are never moved.
2. **The guardrails run again on today's context.** The plan's future is checked by the same
   rules as any draft (:func:`app.coach.guardrails.check_plan`): with the loads actually done,
   the CTL ramp, the session spike (from the runs actually recorded), the hard-day spacing,
   readiness and HRV (the next hard session becomes easy when HRV is below the owner's band or
   readiness is low) and reported illness all adjust what no longer fits.

If neither step changes the plan, there is nothing to propose (``None``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from app.coach.estimate import PlanEstimates
from app.coach.guardrails import AthleteContext, GuardrailLimits, GuardrailReport, check_plan
from app.coach.matching import MatchResult
from app.coach.plans import Plan, PlannedWorkout

RECENT_DAYS = 3
"""A key session missed longer ago than this is not rescheduled (its week has moved on)."""
LOOKAHEAD_DAYS = 3
"""Days after today a missed key session may move to (today included)."""
LOAD_TOLERANCE = 1e-6


@dataclass(frozen=True)
class AdaptationReason:
    """Why the plan changed, as a message code and its parameters (``app.coach.messages``)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    workout_id: str | None = None


@dataclass(frozen=True)
class Adaptation:
    """A proposed revision of the plan and why."""

    plan: Plan
    report: GuardrailReport
    reasons: tuple[AdaptationReason, ...]
    easier_only: bool
    """Every future workout is kept on its day with no more load, none is added: a change the
    owner may let the service approve by itself."""


def _is_key_day(workouts: list[PlannedWorkout], day: date, skip: str) -> bool:
    return any(w.date == day and (w.key or w.race) and w.id != skip for w in workouts)


def _slot_for(
    plan: Plan, missed: PlannedWorkout, today: date, first_open: date, done: set[str]
) -> tuple[date, list[str]] | None:
    """The day a missed key session moves to and the workouts it replaces there: from the
    first day still open (today, unless today's training is already recorded), never a day
    whose workouts were done."""
    others = [w for w in plan.workouts if w.id != missed.id]
    window = [
        today + timedelta(days=offset)
        for offset in range(LOOKAHEAD_DAYS + 1)
        if today + timedelta(days=offset) >= first_open
    ]
    if any(w.key and w.sport == missed.sport and w.date in window for w in others):
        return None  # the next key session of the sport is close: let this one go
    for day in window:
        if plan.goal.event_date is not None and day >= plan.goal.event_date:
            return None
        if not plan.availability.is_available(day):
            continue
        if any(_is_key_day(others, day + timedelta(days=d), missed.id) for d in (-1, 0, 1)):
            continue
        that_day = [w for w in others if w.date == day]
        if any(w.id in done for w in that_day):
            continue
        if any(w.sport != missed.sport for w in that_day):
            continue
        return day, [w.id for w in that_day]
    return None


def reschedule_missed_key(
    plan: Plan, matched: MatchResult, today: date, first_open: date | None = None
) -> tuple[Plan, tuple[AdaptationReason, ...]]:
    """Step 1 (see the module docstring); returns the plan unchanged when nothing moves.
    ``first_open``: the first day whose training is not recorded yet (default ``today``)."""
    first_open = first_open or today
    done = {m.workout_id for m in matched.matches}
    by_id = {w.id: w for w in plan.workouts}
    reasons: list[AdaptationReason] = []
    for workout_id in matched.missed:
        missed = by_id.get(workout_id)
        if missed is None or not missed.key or missed.race:
            continue
        if not (today - timedelta(days=RECENT_DAYS) <= missed.date < today):
            continue
        slot = _slot_for(plan, missed, today, first_open, done)
        if slot is None:
            reasons.append(
                AdaptationReason(
                    "missed_key_let_go",
                    {"name": missed.name, "day": missed.date.isoformat()},
                    missed.id,
                )
            )
            continue
        day, replaced = slot
        names = [by_id[i].name for i in replaced]
        kept = [w for w in plan.workouts if w.id not in replaced and w.id != missed.id]
        kept.append(missed.model_copy(update={"date": day}))
        kept.sort(key=lambda w: (w.date, w.id))
        plan = plan.model_copy(update={"workouts": kept})
        by_id = {w.id: w for w in plan.workouts}
        reasons.append(
            AdaptationReason(
                "missed_key_moved",
                {
                    "name": missed.name,
                    "missed_on": missed.date.isoformat(),
                    "moved_to": day.isoformat(),
                    "replaces": names,
                },
                missed.id,
            )
        )
    return plan, tuple(reasons)


def _easier_only(
    before: Plan,
    before_estimates: PlanEstimates,
    after: Plan,
    after_estimates: PlanEstimates,
    first_open_day: date,
) -> bool:
    old = {w.id: w for w in before.workouts if w.date >= first_open_day}
    new = {w.id: w for w in after.workouts if w.date >= first_open_day}
    if set(new) - set(old):
        return False
    for workout_id, workout in new.items():
        if workout.date != old[workout_id].date:
            return False
        was, now = before_estimates.get(workout_id), after_estimates.get(workout_id)
        if was is None or now is None or now.load > was.load + LOAD_TOLERANCE:
            return False
    return True


def adapt(
    plan: Plan,
    estimates: PlanEstimates,
    matched: MatchResult,
    context: AthleteContext,
    limits: GuardrailLimits | None = None,
) -> Adaptation | None:
    """A proposal when the approved ``plan`` no longer fits, else ``None`` (pure)."""
    moved, reasons = reschedule_missed_key(plan, matched, context.today, context.first_open_day)
    report = check_plan(moved, estimates, context, limits)
    if report.plan == plan:
        return None
    easier = _easier_only(plan, estimates, report.plan, report.estimates, context.first_open_day)
    return Adaptation(report.plan, report, reasons, easier)
