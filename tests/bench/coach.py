"""The coach's pure core: guardrails and estimates of a 24-week plan (about 150 workouts)
against 120 days of history. No database: the cluster is not used.

``make bench ONLY=coach`` runs it (or ``make exec CMD='python -m tests.bench.coach'``).
The guardrails read only the last 120 days of loads and 30 days of long runs, so a longer
history does not change these figures.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from app.coach.estimate import estimate_plan
from app.coach.guardrails import check_plan
from tests.support.plans import THRESHOLDS, broken_season, history_context, season

TARGET_MS = 5.0
"""Issue 18: ``plan_guardrails_ms`` ≤ 5 ms."""


def _best_ms(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best * 1000.0


def coach(cluster: Any = None, scale: Any = None) -> dict[str, float]:
    """``plan_guardrails_ms``: the guardrails on a sensible 24-week marathon plan (156
    workouts; nothing to change). ``plan_guardrails_adjusting_ms``: the same length with no
    recovery weeks, no taper and a spike (every rule that rewrites sessions at work).
    ``plan_estimate_ms``: duration, distance and load of all 156 workouts."""
    repeat = 5 if getattr(scale, "name", "full") == "smoke" else 50
    context = history_context()
    clean = season()
    clean_estimates = estimate_plan(clean, THRESHOLDS)
    broken = broken_season()
    broken_estimates = estimate_plan(broken, THRESHOLDS)
    adjusted = check_plan(broken, broken_estimates, context)
    return {
        "plan_guardrails_ms": round(
            _best_ms(lambda: check_plan(clean, clean_estimates, context), repeat), 2
        ),
        "plan_guardrails_adjusting_ms": round(
            _best_ms(lambda: check_plan(broken, broken_estimates, context), repeat), 2
        ),
        "plan_guardrails_adjustments": float(
            sum(f.severity == "adjust" for f in adjusted.findings)
        ),
        "plan_estimate_ms": round(_best_ms(lambda: estimate_plan(clean, THRESHOLDS), repeat), 2),
        "plan_workouts": float(len(clean.workouts)),
    }


if __name__ == "__main__":
    print(json.dumps(coach(), indent=2))
