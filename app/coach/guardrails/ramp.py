"""The weekly CTL ramp of the projected PMC."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from app.analytics.pmc import continue_pmc, smoothing_factor
from app.coach.guardrails.base import (
    AthleteContext,
    Finding,
    GuardrailLimits,
    PlanState,
    RuleOutcome,
    is_open,
    iso,
    r1,
    scaled,
)

RULE = "ctl_ramp"
GAP_MEAN_DAYS = 28
TOLERANCE = 0.05
"""CTL points a week may exceed its limit by before the rule acts (rounding)."""
MARGIN = 0.1
"""CTL points under the limit a scaled week aims for, so rounding cannot push it back over."""


@dataclass(frozen=True)
class ProjectedPmc:
    """CTL from the history's first day to the plan's last: history reversed from the stored
    CTL, the future projected from the stored CTL/ATL with the planned loads."""

    first_future: date
    future_ctl: np.ndarray
    history_ctl: dict[date, float]

    def ctl(self, day: date) -> float:
        if day >= self.first_future:
            return float(self.future_ctl[(day - self.first_future).days])
        return self.history_ctl.get(day, math.nan)


def planned_daily_loads(state: PlanState, context: AthleteContext, end: date) -> np.ndarray:
    """Daily loads from the day after ``context.loads`` ends to ``end``: the plan's workouts,
    and for days before the plan starts the mean daily load of the last 28 recorded days (the
    athlete is assumed to keep training as lately until the plan begins)."""
    first = context.loads_end + timedelta(days=1)
    size = max(0, (end - first).days + 1)
    loads = np.zeros(size)
    for workout in state.workouts:
        offset = (workout.date - first).days
        if 0 <= offset < size:
            loads[offset] += state.estimate(workout).load
    gap_days = min(size, max(0, (state.plan.first_day - first).days))
    if gap_days:
        recent = context.loads.load[-GAP_MEAN_DAYS:]
        loads[:gap_days] += float(recent.mean()) if recent.size else 0.0
    return loads


def history_ctl(context: AthleteContext, days_back: int | None = None) -> dict[date, float]:
    """CTL on the recorded days, walked back from the stored CTL through the recorded loads
    (``CTL[d-1] = (CTL[d] - a·L[d]) / (1 - a)``), for the last ``days_back`` days or all."""
    alpha = smoothing_factor(context.ctl_days)
    history = {context.loads_end: context.ctl}
    value = context.ctl
    recorded = context.loads.load
    stop = -1 if days_back is None else max(-1, recorded.size - 1 - days_back)
    for offset in range(recorded.size - 1, stop, -1):
        value = (value - alpha * float(recorded[offset])) / (1.0 - alpha)
        history[context.loads.start + timedelta(days=offset - 1)] = value
    return history


def project_pmc(
    state: PlanState, context: AthleteContext, history: dict[date, float] | None = None
) -> ProjectedPmc:
    """The projected CTL of the plan (see :class:`ProjectedPmc`)."""
    first = context.loads_end + timedelta(days=1)
    loads = planned_daily_loads(state, context, state.plan.last_day)
    future = continue_pmc(
        loads,
        ctl_before=context.ctl,
        atl_before=context.atl,
        ctl_days=context.ctl_days,
        atl_days=context.atl_days,
    ).ctl
    return ProjectedPmc(first, future, history if history is not None else history_ctl(context))


def check_ctl_ramp(
    state: PlanState, context: AthleteContext, limits: GuardrailLimits
) -> RuleOutcome:
    """The CTL rise of every coming week of the projected PMC stays under the limit for the
    CTL it starts from: 5 CTL/week at CTL ≤ 45 rising linearly to 8 at CTL ≥ 70 (defaults).

    The PMC is projected from the stored CTL/ATL with the planned loads (GoldenCheetah's
    exponential 42/7-day model, or the owner's constants); a week's ramp is CTL at its last day
    minus CTL the day before it starts (GoldenCheetah's ``rr`` at the week's end). A week over
    the limit has its non-key, non-race sessions still to come scaled down alike so the ramp
    meets the limit; when that would cut them below ``ramp_min_scale`` (half), or the week has
    none, the plan is blocked. Weeks are taken in order: easing one week lowers the next one's
    starting CTL.

    Source: Friel, "The CTL ramp rate" (coaching heuristic, 5–8/week, ~10 for short periods);
    Couzens: 4–8/week at CTL < 45, 6–10 above 70; GoldenCheetah colours a ramp > 8 red.
    Adjusts or blocks.
    """
    findings: list[Finding] = []
    alpha = smoothing_factor(context.ctl_days)
    history = history_ctl(context, days_back=8)
    projection = project_pmc(state, context, history)
    for index, week in enumerate(state.plan.weeks):
        if week.end < context.first_open_day:
            continue
        before = projection.ctl(week.start - timedelta(days=1))
        if math.isnan(before):
            continue  # the week starts before the history we were given
        ramp = projection.ctl(week.end) - before
        limit = limits.ramp_limit(before)
        if ramp <= limit + TOLERANCE:
            continue
        params = {
            "week_start": iso(week.start),
            "week": index + 1,
            "ramp": r1(ramp),
            "limit": r1(limit),
            "ctl": r1(before),
        }
        scalable = [
            w for w in state.week_workouts(week) if is_open(w, context) and not w.key and not w.race
        ]
        weighted = sum(
            alpha * (1.0 - alpha) ** (week.end - w.date).days * state.estimate(w).load
            for w in scalable
        )
        factor = 1.0 - (ramp - limit + MARGIN) / weighted if weighted > 0 else 0.0
        if factor < limits.ramp_min_scale:
            findings.append(Finding(RULE, "block", "ramp_too_steep", params, week_start=week.start))
            continue
        state = state.edit({w.id: scaled(w, factor) for w in scalable}, RULE, context.thresholds)
        projection = project_pmc(state, context, history)
        findings.append(
            Finding(
                RULE,
                "adjust",
                "ramp_scaled",
                {**params, "factor_pct": round(100 * factor), "workouts": [w.id for w in scalable]},
                week_start=week.start,
            )
        )
    return RuleOutcome(state, tuple(findings))
