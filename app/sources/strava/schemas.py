"""The fields of Strava's ``SummaryActivity`` that the sync engine and ``mapper`` rely on to find
an activity, its day and its time span; the rest is read defensively by the mapper. Checked where
a list or a summary enters the sync (``app.services.sync.sources.strava``)."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from pydantic import TypeAdapter


class SummaryActivity(TypedDict):
    id: int
    start_date: NotRequired[str]  # UTC, "2026-11-20T06:00:00Z"
    start_date_local: NotRequired[str | None]  # local wall time marked Z
    elapsed_time: NotRequired[int | float | None]  # seconds
    sport_type: NotRequired[str | None]
    type: NotRequired[str | None]


ACTIVITY = TypeAdapter(SummaryActivity)
ACTIVITY_LIST = TypeAdapter(list[SummaryActivity])
