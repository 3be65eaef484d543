"""Workouts for devices and calendars (issue 19): FIT workout files, Garmin Connect JSON and the
calendar feed, on the plans of the coach's tests. No database: the cluster is not used.

``make bench ONLY=devices`` runs it (or ``make exec CMD='python -m tests.bench.devices'``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from app.coach.estimate import estimate_plan
from app.coach.fit_workout import fit_workout
from app.coach.garmin_push import Pushed, Wanted, calls, push_plan, record, revision_hash
from app.coach.garmin_workout import garmin_workout
from app.coach.ics import FeedEntry, calendar_feed
from tests.support.plans import THRESHOLDS, season

TARGET_FIT_MS = 5.0
"""Issue 19: ``workout_fit_ms`` ≤ 5 ms per workout."""
TARGET_ICS_MS = 100.0
"""Issue 19: ``ics_feed_2y_ms`` ≤ 100 ms for two years of planned workouts."""
CREATED = datetime(2027, 1, 1, tzinfo=UTC)
PUSH_WINDOW_DAYS = 14


def _push_calls(workouts: list[Any]) -> tuple[float, float]:
    """Garmin calls per workout of the push plan for a two-week window of ``workouts``: the
    first push, then a push of the same revisions once the first is recorded. Each action
    counts the calls it takes through the adapter (``garmin_push.CALLS``)."""
    start = workouts[0].date
    wanted = [
        Wanted(w.id, revision_hash(w), w.date, w.date < start + timedelta(days=PUSH_WINDOW_DAYS))
        for w in workouts
    ]
    first = push_plan(wanted, [])
    state: dict[str, Pushed] = {}
    ids = iter(range(1, 1_000_000))
    for action in first:
        new_id = next(ids) if action.kind in ("create", "schedule") else None
        after = record(state.get(action.workout_id), action, new_id=new_id)
        assert after is not None
        state[action.workout_id] = after
    again = push_plan(wanted, state.values())
    pushed = len(state)
    return calls(first) / pushed, calls(again) / pushed


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
    descriptions with estimates), estimates already computed.
    ``garmin_push_calls_per_workout``: Garmin calls the push plan makes per workout of the
    plan's first two weeks (create + schedule + read-back = 3);
    ``garmin_repush_calls_per_workout``: the same push again once recorded (0)."""
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
    push_calls, repush_calls = _push_calls(workouts)
    return {
        "workout_fit_ms": round(_best_ms(all_fit, repeat) / len(workouts), 3),
        "garmin_workout_json_ms": round(_best_ms(all_json, repeat) / len(workouts), 3),
        "ics_feed_2y_ms": round(_best_ms(feed, repeat), 1),
        "ics_feed_2y_timed_ms": round(_best_ms(lambda: feed(clock_time(6, 30)), repeat), 1),
        "ics_feed_2y_workouts": float(len(entries)),
        "ics_feed_2y_kb": round(size / 1024, 1),
        "garmin_push_calls_per_workout": round(push_calls, 2),
        "garmin_repush_calls_per_workout": round(repush_calls, 2),
    }


if __name__ == "__main__":
    print(json.dumps(devices(), indent=2))
