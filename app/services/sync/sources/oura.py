"""Oura as the sync engine drives it: daily wellness first of all (sleep, readiness, HRV…), and
the ring's workouts, each its own JSON document (Oura records no samples). A workout whose time
another source's activity already covers is skipped: the ring's guess of a session the watch
recorded. Oura cannot count its workouts, and a failed workout is not retried (its document
came with the list)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from app import records
from app.services.sync.protocol import Item, Overlap, RawKinds
from app.sources import SourceDataError
from app.sources.oura import mapper, schemas, sync_api
from app.sources.oura.sync_api import OuraSyncApi
from app.sources.payloads import checked

CODE = "oura_bad_payload"


class OuraSync:
    name = "oura"
    raw: ClassVar[RawKinds] = RawKinds("oura_json", ".json", "oura_json")
    overlap: ClassVar[Overlap] = Overlap.SKIP
    has_wellness: ClassVar[bool] = True
    retryable: ClassVar[bool] = False
    same_ids_from: ClassVar[tuple[str, ...]] = ()

    def __init__(self, api: OuraSyncApi) -> None:
        self.api = api

    def items(self, start: date, end: date) -> list[Item]:
        listed = self.api.activities(start, end)
        return list(checked(schemas.WORKOUT_LIST, listed, code=CODE, what="Oura workouts"))

    def item_at(self, offset: int) -> Item | None:
        return self.api.activity_at(offset)  # always None: the history ends after empty windows

    def fetch_original(self, item_id: Any) -> bytes:
        return self.api.original_file(item_id)

    def retry_item(self, item_id: str) -> Item:
        raise SourceDataError(f"Oura workout {item_id} is not retried", code=CODE)

    def daily(self, day: date) -> dict[str, Any]:
        return self.api.daily(day)

    def item_id(self, item: Item) -> str:
        return str(item["id"])

    def item_day(self, item: Item) -> date:
        return sync_api.workout_day(dict(item))

    def item_span(self, item: Item) -> tuple[datetime, datetime]:
        return sync_api.workout_span(dict(item))

    def decode(self, original: bytes, item: Item, key: str) -> list[records.Activity]:
        return sync_api.decode(original, dict(item), self.name, key)

    def summary_record(self, item: Item) -> records.Activity:
        return mapper.workout_to_activity(item)

    def wellness(self, day: date, payloads: dict[str, Any]) -> records.DailyWellness | None:
        return mapper.day_to_wellness(day, payloads)

    def current_tokens(self) -> str:
        return self.api.current_tokens()

    def pause_for(self) -> float:
        return 0.0

    def usage(self) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        self.api.close()
