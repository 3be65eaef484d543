"""Oura's calls as the sync needs them (put in the engine's terms by
``app.services.sync.sources.oura``).

The machinery asks for one day of wellness at a time (newest first); Oura answers date ranges,
so ``daily(day)`` fetches the ``window_days`` ending on ``day`` once (one paginated request chain
per collection) and serves the following days from that window. Workouts are listed by window
too; a workout's "original" is its own JSON document (Oura records no samples).

Before every call ``ensure_fresh`` runs: the caller passes a function that refreshes the tokens
under a lock and persists them when they are about to expire (single-use refresh tokens), and
returns the tokens to use.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from app.sources.oura.client import OuraClient
from app.sources.oura.mapper import _moment, workout_to_activity

WINDOW_DAYS = 30


def workout_day(workout: dict[str, Any]) -> date:
    return date.fromisoformat(str(workout["day"]))


def workout_span(workout: dict[str, Any]) -> tuple[datetime, datetime]:
    start = _moment(workout.get("start_datetime"), "start")
    end = _moment(workout.get("end_datetime") or workout.get("start_datetime"), "end")
    return start, end


class OuraSyncApi:
    def __init__(
        self,
        client: OuraClient,
        *,
        ensure_fresh: Callable[[OuraClient], None] = lambda client: None,
        window_days: int = WINDOW_DAYS,
    ) -> None:
        self.client, self.ensure_fresh, self.window_days = client, ensure_fresh, window_days
        self._days: dict[date, dict[str, list[dict[str, Any]]]] = {}
        self._covered: tuple[date, date] | None = None
        self._workouts: dict[str, dict[str, Any]] = {}

    def _fresh(self) -> OuraClient:
        self.ensure_fresh(self.client)
        return self.client

    def activities(self, start: date, end: date) -> list[dict[str, Any]]:
        workouts = self._fresh().workouts(start, end)
        for workout in workouts:
            self._workouts[str(workout.get("id"))] = workout
        return workouts

    def original_file(self, activity_id: Any) -> bytes:
        workout = self._workouts.get(str(activity_id))
        if workout is None:
            raise KeyError(activity_id)
        return json.dumps(workout, sort_keys=True).encode()

    def daily(self, day: date) -> dict[str, Any]:
        covered = self._covered
        if covered is None or not covered[0] <= day <= covered[1]:
            start = day - timedelta(days=self.window_days - 1)
            self._days = self._fresh().daily(start, day)
            self._covered = (start, day)
        return self._days.get(day, {})

    def activity_at(self, offset: int) -> dict[str, Any] | None:
        return None  # Oura cannot count workouts: the history ends after empty windows

    def current_tokens(self) -> str:
        return self.client.current_tokens()

    def close(self) -> None:
        self.client.close()


def decode(original: bytes, summary: dict[str, Any], source: str, key: str) -> list:
    return [workout_to_activity(json.loads(original))]
