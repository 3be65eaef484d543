"""Readiness: a low 7-day HRV or low readiness makes the next hard session easy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.coach.guardrails.base import (
    AthleteContext,
    Finding,
    GuardrailLimits,
    PlanState,
    RuleOutcome,
    easy_version,
    is_hard,
    is_open,
    r1,
    workout_params,
)

RULE = "readiness"


def readiness_signal(context: AthleteContext, limits: GuardrailLimits) -> dict[str, Any] | None:
    """Why today calls for an easy day, or ``None``.

    HRV: the 7-day mean below the low edge of the owner's band, from at least
    ``hrv_min_readings`` nights (Plews et al. 2013/2014: three readings a week suffice).
    Readiness: today's score below ``readiness_min`` (70: Lanterne Rouge's "recover" rule).
    """
    band = context.hrv_band
    if (
        context.hrv_7d is not None
        and band is not None
        and context.hrv_readings_7d >= limits.hrv_min_readings
        and context.hrv_7d < band[0]
    ):
        return {"reason": "hrv", "hrv_7d": round(context.hrv_7d, 3), "band_low": round(band[0], 3)}
    if context.readiness is not None and context.readiness < limits.readiness_min:
        return {
            "reason": "readiness",
            "readiness": r1(context.readiness),
            "readiness_min": r1(limits.readiness_min),
        }
    return None


def check_readiness(
    state: PlanState, context: AthleteContext, limits: GuardrailLimits
) -> RuleOutcome:
    """When the 7-day HRV is below the owner's normal band or readiness is low, the next hard
    session within ``readiness_window_days`` (default 1: today's) becomes easy.

    Only the next one, and by default only today's: the morning's data decide the day's
    session, as in the HRV-guided studies, and tomorrow's data decide tomorrow's. A longer
    window eases the first hard session in it; checking the plan again the same day would then
    ease the following one too, which is why one day is the default. A race is not changed but
    reported (event safety belongs to the daily coach). Source: HRV-guided training —
    Kiviniemi et al. 2007 (Eur J Appl Physiol 101:743), Javaloyes et al. 2019 (IJSPP 14:1),
    7-day lnRMSSD below baseline − 0.5 SD → easy day; Plews et al. 2013 (IJSPP 8:688).
    Adjusts or reports.
    """
    signal = readiness_signal(context, limits)
    if signal is None:
        return RuleOutcome(state)
    last = context.today + timedelta(days=limits.readiness_window_days - 1)
    for workout in state.workouts:
        if workout.date > last:
            break
        if not is_open(workout, context):
            continue
        if RULE in state.adjusted_by(workout.id):
            return RuleOutcome(state)  # already eased: that was the next hard session
        estimate = state.estimate(workout)
        if not is_hard(workout, estimate, limits):
            continue
        params = {**workout_params(workout), **signal}
        if workout.race:
            finding = Finding(
                RULE, "report", "readiness_race", params, workout.id, day=workout.date
            )
            return RuleOutcome(state, (finding,))
        eased = easy_version(workout, estimate, limits)
        finding = Finding(RULE, "adjust", "readiness_easy", params, workout.id, day=workout.date)
        return RuleOutcome(state.edit({workout.id: eased}, RULE, context.thresholds), (finding,))
    return RuleOutcome(state)
