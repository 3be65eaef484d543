"""The fields of an Oura ``workout`` document that the sync engine and ``mapper`` rely on to
find a workout, its day and its time span (the times' offsets are checked per workout by the
mapper: one broken workout is listed, the rest imported). Checked where a list enters the sync
(``app.services.sync.sources.oura``)."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from pydantic import TypeAdapter


class Workout(TypedDict):
    id: str
    day: NotRequired[str]  # the local date, "2026-11-20"
    start_datetime: NotRequired[str | None]  # ISO 8601 with the offset
    end_datetime: NotRequired[str | None]
    activity: NotRequired[str | None]


WORKOUT_LIST = TypeAdapter(list[Workout])
