"""Strava's calls as the sync needs them (put in the engine's terms by
``app.services.sync.sources.strava``): activities
listed by local date window, an activity's streams as its "original", one-item pages for the
history's extent, and ``pause_for`` so a sync stops before a rate-limit window is exhausted
instead of being refused (and never sleeps waiting for one)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from app.sources.strava.client import StravaClient
from app.sources.strava.mapper import activity_to_record

# Stop at this share of a window, leaving room for the owner's own use of the app (uploads,
# a page opened on strava.com does not count, but other apps of the same application do).
PAUSE_AT = 0.9


def local_day(summary: dict[str, Any]) -> date:
    """The local date an activity started (``start_date_local`` is local time marked Z)."""
    value = summary.get("start_date_local") or summary["start_date"]
    return date.fromisoformat(str(value)[:10])


def span(summary: dict[str, Any]) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(str(summary["start_date"]).replace("Z", "+00:00"))
    elapsed = float(summary.get("elapsed_time") or 0)
    return start, start + timedelta(seconds=elapsed)


class StravaSyncApi:
    def __init__(
        self,
        client: StravaClient,
        *,
        pause_at: float = PAUSE_AT,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client, self.pause_at, self.clock = client, pause_at, clock

    def activities(self, start: date, end: date) -> list[dict[str, Any]]:
        """Activities whose *local* start date is in ``[start, end]`` (asked a day wider on each
        side in UTC, then filtered: a local date can be up to 14 h off UTC)."""
        after = datetime.combine(start - timedelta(days=1), time(), UTC)
        before = datetime.combine(end + timedelta(days=2), time(), UTC)
        return [
            summary
            for summary in self.client.activities(after, before)
            if start <= local_day(summary) <= end
        ]

    def original_file(self, activity_id: int) -> bytes:
        """The activity's streams as JSON (Strava's API serves no original file)."""
        streams = self.client.streams(activity_id)
        return json.dumps({"streams": streams}, separators=(",", ":")).encode()

    def summary(self, activity_id: int) -> dict[str, Any]:
        return self.client.activity(activity_id)

    def daily(self, day: date) -> dict[str, Any]:
        return {}  # Strava has no daily wellness

    def activity_at(self, offset: int) -> dict[str, Any] | None:
        return self.client.activity_at(offset)

    def current_tokens(self) -> str:
        return self.client.current_tokens()

    def usage(self) -> dict[str, Any] | None:
        """The last rate-limit counters Strava sent (for the Connections page), or None."""
        limits = self.client.rate_limits()
        if limits is None:
            return None
        return {
            "seen_at": limits.seen_at.isoformat(),
            "short": [limits.short_usage, limits.short_limit],
            "daily": [limits.daily_usage, limits.daily_limit],
            "read_short": [limits.read_short_usage, limits.read_short_limit],
            "read_daily": [limits.read_daily_usage, limits.read_daily_limit],
        }

    def pause_for(self) -> float:
        """Seconds to wait before the next call: until the fullest window resets once it is
        ``pause_at`` used, else 0."""
        limits = self.client.rate_limits()
        return 0.0 if limits is None else limits.pause_s(self.clock(), share=self.pause_at)


def decode(original: bytes, summary: dict[str, Any], source: str, key: str) -> list:
    """The record of one activity from its list summary and the streams ``original_file`` kept."""
    streams = json.loads(original).get("streams") or None
    return [activity_to_record(summary, streams)]
