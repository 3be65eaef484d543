"""The fields of Garmin Connect's JSON that the sync engine and ``mapper`` rely on to find an
activity and its day; every other field is optional and read defensively by the mapper. Checked
where a list enters the sync (``app.services.sync.sources.garmin``)."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from pydantic import TypeAdapter


class ActivityType(TypedDict, total=False):
    typeKey: str | None


class ActivitySummary(TypedDict):
    """One activity of ``activitylist-service`` (or the detail's list-shaped summary)."""

    activityId: int
    startTimeLocal: NotRequired[str | None]  # "2026-11-20 07:00:00", the watch's local time
    startTimeGMT: NotRequired[str | None]
    beginTimestamp: NotRequired[int | float | None]  # epoch milliseconds
    activityType: NotRequired[ActivityType | None]


ACTIVITY = TypeAdapter(ActivitySummary)
ACTIVITY_LIST = TypeAdapter(list[ActivitySummary])
