"""Strava as the sync engine drives it: activities listed by local date window, each one's
streams downloaded as its "original" and decoded with its list summary. An activity another
source already holds (the watch's file through Garmin) is linked to Strava without downloading
its streams: the watch's file is better, and it saves the rate limit, whose windows
(``pause_for``) stop a run before it is refused. Strava has no daily wellness."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from app import records
from app.services.sync.protocol import Item, Overlap, RawKinds
from app.sources.payloads import checked
from app.sources.strava import schemas, sync_api
from app.sources.strava.mapper import activity_to_record
from app.sources.strava.sync_api import StravaSyncApi

CODE = "strava_bad_payload"


class StravaSync:
    name = "strava"
    raw: ClassVar[RawKinds] = RawKinds("strava_streams", "-streams.json", "strava_json")
    overlap: ClassVar[Overlap] = Overlap.LINK
    has_wellness: ClassVar[bool] = False
    retryable: ClassVar[bool] = True
    same_ids_from: ClassVar[tuple[str, ...]] = ("strava_export",)

    def __init__(self, api: StravaSyncApi) -> None:
        self.api = api

    def items(self, start: date, end: date) -> list[Item]:
        listed = self.api.activities(start, end)
        return list(checked(schemas.ACTIVITY_LIST, listed, code=CODE, what="Strava activities"))

    def item_at(self, offset: int) -> Item | None:
        item = self.api.activity_at(offset)
        return None if item is None else checked(schemas.ACTIVITY, item, code=CODE, what="activity")

    def fetch_original(self, item_id: Any) -> bytes:
        return self.api.original_file(item_id)

    def retry_item(self, item_id: str) -> Item:
        summary = self.api.summary(int(item_id))
        return checked(schemas.ACTIVITY, summary, code=CODE, what="Strava activity")

    def daily(self, day: date) -> dict[str, Any]:
        return {}

    def item_id(self, item: Item) -> int:
        return int(item["id"])

    def item_day(self, item: Item) -> date:
        return sync_api.local_day(dict(item))

    def item_span(self, item: Item) -> tuple[datetime, datetime]:
        return sync_api.span(dict(item))

    def decode(self, original: bytes, item: Item, key: str) -> list[records.Activity]:
        return sync_api.decode(original, dict(item), self.name, key)

    def summary_record(self, item: Item) -> records.Activity:
        return activity_to_record(item)  # the mapper keeps Strava's own fields in the extras

    def wellness(self, day: date, payloads: dict[str, Any]) -> records.DailyWellness | None:
        return None

    def current_tokens(self) -> str:
        return self.api.current_tokens()

    def pause_for(self) -> float:
        return self.api.pause_for()

    def usage(self) -> dict[str, Any] | None:
        return self.api.usage()

    def close(self) -> None:
        """The client's connections close with it."""
