"""Recovery weeks every 3–4 weeks, and a taper before the event."""

from __future__ import annotations

from datetime import date, timedelta

from app.coach.guardrails.base import (
    AthleteContext,
    Finding,
    GuardrailLimits,
    PlanState,
    RuleOutcome,
    days,
    is_open,
    iso,
    r1,
    scaled,
)
from app.coach.guardrails.ramp import planned_daily_loads
from app.coach.plans import PlannedWorkout, Week

RECOVERY_RULE = "recovery_week"
TAPER_RULE = "taper"
LOADING = ("base", "build", "peak")
NEAR_EVENT_DAYS = 21
"""A week starting this close to the event is the taper's business, not a recovery week's."""
SMALLEST_FACTOR = 0.2
"""Below this, scaling a week's sessions would gut them: report instead."""


def _week_load(state: PlanState, week: Week) -> float:
    return sum(state.estimate(w).load for w in state.week_workouts(week))


def _scale_to(
    state: PlanState,
    workouts: list[PlannedWorkout],
    target: float,
    context: AthleteContext,
) -> dict[str, PlannedWorkout | None] | None:
    """Scale the open, non-race ``workouts`` so their total load (with the rest fixed) comes to
    ``target``; ``{}`` when already there, ``None`` when it cannot be done."""
    scalable = [w for w in workouts if is_open(w, context) and not w.race]
    fixed = sum(state.estimate(w).load for w in workouts if w not in scalable)
    movable = sum(state.estimate(w).load for w in scalable)
    if fixed + movable <= target + 0.5:
        return {}
    if movable <= 0:
        return None
    factor = (target - fixed) / movable
    if factor < SMALLEST_FACTOR:
        return None
    return {w.id: scaled(w, factor) for w in scalable}


def check_recovery_weeks(
    state: PlanState, context: AthleteContext, limits: GuardrailLimits
) -> RuleOutcome:
    """A recovery week at least every ``max_loading_weeks + 1`` weeks (3:1 by default), with its
    load ``recovery_cut`` (35 %) under the loading weeks before it.

    A week counts as recovery when its focus says so (recovery or taper) or its load is at
    least ``recovery_cut_min`` (25 %) under the mean of the loading weeks before it (up to
    three). A fourth loading week in a row that is still to come becomes a recovery week: its
    sessions still to come (races excepted) shorten alike — intensity and frequency stay, as in
    the library's recovery week — and its focus becomes ``recovery``. A week labelled recovery
    that is not lighter is made so. Weeks within three weeks of the event are left to the taper;
    weeks already under way are reported instead of changed. The count starts with the plan.

    Source: coaching convention (Bompa & Haff 2009; Friel 2018; library
    ``periodization-recovery-weeks``): a recovery week every 3–4 weeks, volume −30–40 %.
    Adjusts or reports.
    """
    weeks = list(state.plan.weeks)
    event = state.plan.goal.event_date
    findings: list[Finding] = []
    changes: dict[str, PlannedWorkout | None] = {}
    loading: list[float] = []
    weeks_changed = False
    for index, week in enumerate(weeks):
        load = _week_load(state, week)
        reference = sum(loading[-3:]) / len(loading[-3:]) if loading else None
        reduced = reference is not None and load <= (1.0 - limits.recovery_cut_min) * reference
        future = week.start >= context.first_open_day
        params = {
            "week_start": iso(week.start),
            "week": index + 1,
            "load": r1(load),
            "reference": None if reference is None else r1(reference),
        }
        if week.focus not in LOADING or reduced:
            if week.focus == "recovery" and reference is not None and not reduced and future:
                target = (1.0 - limits.recovery_cut) * reference
                edit = _scale_to(state, state.week_workouts(week), target, context)
                if edit:
                    changes.update(edit)
                    findings.append(
                        Finding(
                            RECOVERY_RULE,
                            "adjust",
                            "recovery_week_deepened",
                            {**params, "new_load": r1(target)},
                            week_start=week.start,
                        )
                    )
            loading = []
            continue
        near_event = event is not None and week.start <= event <= week.start + timedelta(
            days=NEAR_EVENT_DAYS
        )
        if len(loading) >= limits.max_loading_weeks and not near_event:
            assert reference is not None
            edit = None
            if future:
                target = (1.0 - limits.recovery_cut) * reference
                edit = _scale_to(state, state.week_workouts(week), target, context)
            if edit is not None:
                changes.update(edit)
                weeks[index] = week.model_copy(update={"focus": "recovery"})
                weeks_changed = True
                findings.append(
                    Finding(
                        RECOVERY_RULE,
                        "adjust",
                        "recovery_week_inserted",
                        {
                            **params,
                            "weeks_in_row": len(loading) + 1,
                            "new_load": r1(min(load, target)),
                        },
                        week_start=week.start,
                    )
                )
            else:
                findings.append(
                    Finding(
                        RECOVERY_RULE,
                        "report",
                        "recovery_week_missing",
                        {**params, "weeks_in_row": len(loading) + 1},
                        week_start=week.start,
                    )
                )
            loading = []
            continue
        loading.append(load)
    if changes or weeks_changed:
        state = state.edit(
            changes, RECOVERY_RULE, context.thresholds, weeks=weeks if weeks_changed else None
        )
    return RuleOutcome(state, tuple(findings))


def _timeline(state: PlanState, context: AthleteContext, start: date, end: date) -> list[float]:
    """Daily loads over [start, end]: recorded ones up to ``context.loads``, planned after."""
    future = planned_daily_loads(state, context, end)
    first_future = context.loads_end + timedelta(days=1)
    values = []
    for day in days(start, end):
        if day < first_future:
            values.append(context.history_load(day))
        else:
            values.append(float(future[(day - first_future).days]))
    return values


def check_taper(state: PlanState, context: AthleteContext, limits: GuardrailLimits) -> RuleOutcome:
    """A taper before the goal event: over the ``taper_days`` of its event type (7 for a 10 k,
    14 for a marathon, …) the mean daily load is at least ``taper_cut_min`` (30 %) under the
    mean of the ``taper_reference_days`` (28) before, and hard sessions remain.

    Too little cut: the sessions still to come shorten alike, progressively — the first half
    of the taper to ``taper_first_half_cut`` (30 %) under the reference, the second to
    ``taper_second_half_cut`` (55 %), 42 % on average, inside Bosquet's 41–60 % — so intensity
    and frequency stay and volume goes (races are left alone). The check itself accepts 30 %:
    a progressive taper that ends near 50 % averages about a third (the library's "20–30 % in
    the first week and 40–60 % in the second"). A cut deeper than ``taper_cut_max`` (60 %)
    plus 5 points, or no hard session left while the weeks before had some, is reported; so is
    an event after the plan's last day. Load stands for volume here: with intensity kept, load
    falls with volume, and recorded days have loads but no planned volume.

    Source: Bosquet et al. 2007, MSSE 39:1358 (meta-analysis, 27 studies): a taper of about
    two weeks, volume −41–60 %, progressive, intensity and frequency kept; lengths by event
    from the library ``tapering`` (coaching conventions; Smyth & Lawlor 2021 for marathons).
    Adjusts or reports.
    """
    plan = state.plan
    event = plan.goal.event_date
    if event is None or event < context.first_open_day:
        return RuleOutcome(state)
    if event > plan.last_day:
        finding = Finding(
            TAPER_RULE,
            "report",
            "event_after_plan",
            {"event_date": iso(event), "last_day": iso(plan.last_day)},
            day=event,
        )
        return RuleOutcome(state, (finding,))
    length = limits.taper_days.get(plan.goal.event_type, 7)
    window_start = event - timedelta(days=length)
    reference_start = window_start - timedelta(days=limits.taper_reference_days)
    reference = _timeline(state, context, reference_start, window_start - timedelta(days=1))
    reference_mean = sum(reference) / len(reference)
    if reference_mean <= 0:
        return RuleOutcome(state)
    taper = _timeline(state, context, window_start, event - timedelta(days=1))
    cut = 1.0 - (sum(taper) / len(taper)) / reference_mean
    params = {
        "event_date": iso(event),
        "days": length,
        "cut_pct": round(100 * cut),
        "min_pct": round(100 * limits.taper_cut_min),
        "max_pct": round(100 * limits.taper_cut_max),
    }
    findings: list[Finding] = []
    if cut < limits.taper_cut_min - 0.005:
        middle = window_start + timedelta(days=length // 2)
        halves = (
            (window_start, middle - timedelta(days=1), limits.taper_first_half_cut),
            (middle, event - timedelta(days=1), limits.taper_second_half_cut),
        )
        changes: dict[str, PlannedWorkout | None] = {}
        possible = True
        for first, last, half_cut in halves:
            workouts = [w for w in state.workouts if first <= w.date <= last]
            target = (1.0 - half_cut) * reference_mean * ((last - first).days + 1)
            recorded = sum(
                context.history_load(day) for day in days(first, min(last, context.loads_end))
            )
            edit = _scale_to(state, workouts, max(0.0, target - recorded), context)
            if edit is None:
                possible = False
            else:
                changes.update(edit)
        if possible and changes:
            state = state.edit(changes, TAPER_RULE, context.thresholds)
            findings.append(Finding(TAPER_RULE, "adjust", "taper_added", params, day=event))
        elif not possible:
            findings.append(Finding(TAPER_RULE, "report", "taper_missing", params, day=event))
    elif cut > limits.taper_cut_max + 0.05:
        findings.append(Finding(TAPER_RULE, "report", "taper_too_deep", params, day=event))

    def hard_between(first: date, last: date) -> bool:
        return any(
            first <= w.date <= last and not w.race and state.estimate(w).hard_s >= limits.hard_min_s
            for w in state.workouts
        )

    if hard_between(reference_start, window_start - timedelta(days=1)) and not hard_between(
        window_start, event - timedelta(days=1)
    ):
        findings.append(Finding(TAPER_RULE, "report", "taper_intensity_dropped", params, day=event))
    return RuleOutcome(state, tuple(findings))
