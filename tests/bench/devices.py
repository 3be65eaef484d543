"""Workouts for devices and calendars (issue 19): FIT workout files, Garmin Connect JSON and the
calendar feed, on the plans of the coach's tests. No database: the cluster is not used.

``make bench ONLY=devices`` runs it (or ``make exec CMD='python -m tests.bench.devices'``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Any

from app.coach.estimate import estimate_plan
from app.coach.fit_workout import fit_workout
from app.coach.garmin_workout import garmin_workout
from app.coach.ics import FeedEntry, calendar_feed
from tests.support.plans import THRESHOLDS, season

TARGET_FIT_MS = 5.0
"""Issue 19: ``workout_fit_ms`` ≤ 5 ms per workout."""
TARGET_ICS_MS = 100.0
"""Issue 19: ``ics_feed_2y_ms`` ≤ 100 ms for two years of planned workouts."""
CREATED = datetime(2027, 1, 1, tzinfo=UTC)


def _best_ms(run: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best * 1000.0


def devices(cluster: Any = None, scale: Any = None) -> dict[str, float]:
    """``workout_fit_ms``: one FIT workout file, averaged over the 156 workouts of the 24-week
    marathon plan (warm-ups, repeats with pace targets, rides with power ranges, swims), step
    notes in Korean. ``garmin_workout_json_ms``: the Garmin Connect JSON of one, likewise.
    ``ics_feed_2y_ms``: the calendar feed of a 104-week plan (about 680 workouts, Korean
    descriptions with estimates), estimates already computed."""
    smoke = getattr(scale, "name", "full") == "smoke"
    repeat = 2 if smoke else 10
    plan = season()
    workouts = plan.sorted_workouts()
    estimates = estimate_plan(plan, THRESHOLDS)

    def all_fit() -> None:
        for workout in workouts:
            fit_workout(workout, time_created=CREATED, locale="ko", units="metric")

    def all_json() -> None:
        for workout in workouts:
            garmin_workout(workout, estimates[workout.id])

    two_years = season(weeks=104)
    year_estimates = estimate_plan(two_years, THRESHOLDS)
    entries = [FeedEntry(w, 1, year_estimates[w.id]) for w in two_years.workouts]

    def feed(start: clock_time | None = None) -> bytes:
        return calendar_feed(
            entries,
            install_id="bench",
            name="Domestique",
            time_zone="Asia/Seoul",
            generated_at=CREATED,
            locale="ko",
            units="metric",
            start_time=start,
        )

    size = len(feed())
    return {
        "workout_fit_ms": round(_best_ms(all_fit, repeat) / len(workouts), 3),
        "garmin_workout_json_ms": round(_best_ms(all_json, repeat) / len(workouts), 3),
        "ics_feed_2y_ms": round(_best_ms(feed, repeat), 1),
        "ics_feed_2y_timed_ms": round(_best_ms(lambda: feed(clock_time(6, 30)), repeat), 1),
        "ics_feed_2y_workouts": float(len(entries)),
        "ics_feed_2y_kb": round(size / 1024, 1),
    }


if __name__ == "__main__":
    print(json.dumps(devices(), indent=2))
