"""Garmin Connect as the sync engine drives it: activities listed by date window, each
downloaded as Garmin's "original" (a ZIP around the watch's FIT file, decoded by the FIT
pipeline), Garmin's list summary kept in the activity's extras, and a day of wellness from
several endpoints. Every activity is downloaded even when another source holds it already: the
watch's file is the best copy, and duplicates merge by start time."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from app import records
from app.services.sync.protocol import Item, Overlap, RawKinds
from app.sources.garmin import mapper, original, schemas
from app.sources.garmin.schemas import ActivitySummary
from app.sources.payloads import checked

CODE = "garmin_bad_payload"


class GarminSync:
    """Over ``GarminClient`` (or a test's fake with the same calls)."""

    name = "garmin"
    raw: ClassVar[RawKinds] = RawKinds("garmin_original", ".zip", "garmin_json")
    overlap: ClassVar[Overlap] = Overlap.FETCH
    has_wellness: ClassVar[bool] = True
    retryable: ClassVar[bool] = True
    same_ids_from: ClassVar[tuple[str, ...]] = ("garmin_export",)

    def __init__(self, client: Any) -> None:
        self.client = client

    def items(self, start: date, end: date) -> list[Item]:
        listed = self.client.activities(start, end)
        return list(checked(schemas.ACTIVITY_LIST, listed, code=CODE, what="Garmin activities"))

    def item_at(self, offset: int) -> Item | None:
        item = self.client.activity_at(offset)
        return None if item is None else checked(schemas.ACTIVITY, item, code=CODE, what="activity")

    def fetch_original(self, item_id: Any) -> bytes:
        return self.client.original_file(item_id)

    def retry_item(self, item_id: str) -> Item:
        return ActivitySummary(activityId=int(item_id))  # the id is all a download needs

    def daily(self, day: date) -> dict[str, Any]:
        return self.client.daily(day)

    def item_id(self, item: Item) -> int:
        return int(item["activityId"])

    def item_day(self, item: Item) -> date:
        return mapper.activity_local_day(dict(item))

    def item_span(self, item: Item) -> tuple[datetime, datetime]:
        raise NotImplementedError("Garmin downloads every activity (Overlap.FETCH)")

    def decode(self, data: bytes, item: Item, key: str) -> list[records.Activity]:
        return [self._with_summary(leg, item) for leg in original.decode(data, self.name, key)]

    def summary_record(self, item: Item) -> records.Activity:
        return self._with_summary(mapper.activity_summary_to_record(dict(item)), item)

    @staticmethod
    def _with_summary(activity: records.Activity, item: Item) -> records.Activity:
        """Garmin's list summary carries what the FIT file lacks (training effect, load…)."""
        activity.extras = {**activity.extras, "garmin": item}
        return activity

    def wellness(self, day: date, payloads: dict[str, Any]) -> records.DailyWellness | None:
        return mapper.daily_to_wellness(day, payloads)

    def current_tokens(self) -> str:
        return self.client.current_tokens()

    def pause_for(self) -> float:
        return 0.0  # Garmin publishes no windows: the engine's delay and a 429 pace it

    def usage(self) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            close()
