"""Deterministic guardrails over a plan: one pure function per rule, and a runner.

Every rule takes the plan with its estimates (:class:`PlanState`), the
:class:`AthleteContext` and the owner's :class:`GuardrailLimits`, and returns the plan (changed
when it **adjusts**) with its :class:`Finding` s. A finding either records an adjustment with
its reason (``adjust``), stops the plan until the owner decides (``block``), or informs
(``report``). Each rule's docstring names its source; ``COACH.md`` has the evidence table.

:func:`check_plan` applies the rules in :data:`RULES` order and repeats the pass until a pass
changes nothing (at most ``max_passes``). The order goes from what decides *whether* a
session happens to what decides *how much*:

1. ``health`` — rest for illness or injury (removes sessions, so nothing else plans them);
2. ``availability`` — sessions off unavailable days (where sessions happen);
3. ``readiness`` — today's HRV or readiness eases the next hard session;
4. ``taper`` and 5. ``recovery_week`` — whole periods lighter, before the weekly ramp is judged;
6. ``session_spike`` — runs no longer than 110 % of the recent longest;
7. ``hard_days`` — spacing of hard days on the final set of sessions;
8. ``ctl_ramp`` — the weekly ramp of the projected PMC, after every other cut;
9. ``weekly_hours`` — the week's hours after every cut (blocks only);
10. ``intensity_distribution`` — the final plan's easy share (reports only).

Every adjustment makes sessions easier or shorter, or moves one within its week; no rule makes
a plan harder, so the passes settle (the second pass normally confirms). Adjustments are kept
from every pass; blocks and reports come from the last pass, so they describe the plan as
returned. A plan still changing after ``max_passes`` is blocked (``guardrails_unstable``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.coach.estimate import PlanEstimates
from app.coach.guardrails.availability import check_availability, check_weekly_hours
from app.coach.guardrails.base import (
    AthleteContext,
    Finding,
    GuardrailLimits,
    PlanState,
    RuleOutcome,
    Severity,
)
from app.coach.guardrails.hard_days import check_hard_days
from app.coach.guardrails.health import check_health
from app.coach.guardrails.intensity import check_intensity_distribution
from app.coach.guardrails.periodization import check_recovery_weeks, check_taper
from app.coach.guardrails.ramp import check_ctl_ramp
from app.coach.guardrails.readiness import check_readiness
from app.coach.guardrails.spike import check_session_spike
from app.coach.plans import Plan

__all__ = [
    "RULES",
    "AthleteContext",
    "Finding",
    "GuardrailLimits",
    "GuardrailReport",
    "PlanState",
    "RuleOutcome",
    "Severity",
    "check_plan",
]

Rule = Callable[[PlanState, AthleteContext, GuardrailLimits], RuleOutcome]

RULES: tuple[tuple[str, Rule], ...] = (
    ("health", check_health),
    ("availability", check_availability),
    ("readiness", check_readiness),
    ("taper", check_taper),
    ("recovery_week", check_recovery_weeks),
    ("session_spike", check_session_spike),
    ("hard_days", check_hard_days),
    ("ctl_ramp", check_ctl_ramp),
    ("weekly_hours", check_weekly_hours),
    ("intensity_distribution", check_intensity_distribution),
)


@dataclass(frozen=True)
class GuardrailReport:
    """The plan as the guardrails leave it, its estimates, and every finding."""

    plan: Plan
    estimates: PlanEstimates
    findings: tuple[Finding, ...]
    passes: int

    @property
    def blocked(self) -> bool:
        return any(f.severity == "block" for f in self.findings)

    @property
    def adjusted(self) -> bool:
        return any(f.severity == "adjust" for f in self.findings)

    @property
    def exit_code(self) -> int:
        """What ``domestique plan check`` exits with: 1 when blocked, else 0."""
        return 1 if self.blocked else 0


def check_plan(
    plan: Plan,
    estimates: PlanEstimates,
    context: AthleteContext,
    limits: GuardrailLimits | None = None,
    *,
    rules: tuple[tuple[str, Rule], ...] = RULES,
    max_passes: int = 4,
) -> GuardrailReport:
    """Apply the guardrails to ``plan`` (with ``estimates`` from
    :func:`app.coach.estimate.estimate_plan` and ``context.thresholds``) until stable.

    Pure: the input plan is not changed; the report holds the adjusted copy.
    """
    limits = limits or GuardrailLimits()
    state = PlanState(plan, estimates)
    adjustments: list[Finding] = []
    last: list[Finding] = []
    passes = 0
    stable = False
    while passes < max_passes:
        passes += 1
        last = []
        changed = False
        for _name, rule in rules:
            outcome = rule(state, context, limits)
            state = outcome.state
            for finding in outcome.findings:
                if finding.severity == "adjust":
                    adjustments.append(finding)
                    changed = True
                else:
                    last.append(finding)
        if not changed:
            stable = True
            break
    if not stable:
        last.append(Finding("runner", "block", "guardrails_unstable", {"passes": passes}))
    return GuardrailReport(state.plan, state.estimates, (*adjustments, *last), passes)
