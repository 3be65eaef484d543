"""What the sync engine (``app.services.sync.engine``) asks of one source: the one protocol
Garmin, Strava and Oura each implement in ``app.services.sync.sources``.

An *item* is one activity (a workout, for Oura) as the source lists it: a JSON object checked
against the adapter's schema where it enters (``app/sources/<name>/schemas.py``) and otherwise
passed on, and kept raw, as the source sent it. The engine never reads an item's fields itself:
it asks the source for the id, the local day and the time span.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from app import records

type Item = Mapping[str, Any]


class Overlap(StrEnum):
    """What to do with an activity whose time another source's stored activity already covers."""

    FETCH = "fetch"  # download it anyway; duplicates merge by start time (Garmin)
    # link this source to the stored activity without downloading its details (Strava: the
    # watch's own file is better than Strava's streams, and it saves the rate limit)
    LINK = "link"
    SKIP = "skip"  # leave it (Oura's workouts: the ring's guess of a session the watch recorded)


@dataclass(frozen=True)
class RawKinds:
    """How the raw payloads are kept in the raw store (``raw_file.kind`` and the file names)."""

    original: str  # an activity's downloaded original
    original_suffix: str  # "<id><suffix>"
    json: str  # list summaries and daily payloads


class SyncProtocol(Protocol):
    """One connected source as the sync engine drives it: a client underneath, the source's
    own translations of its payloads, and the few policies that differ between sources."""

    name: str
    raw: ClassVar[RawKinds]
    overlap: ClassVar[Overlap]
    has_wellness: ClassVar[bool]  # the source has daily wellness
    retryable: ClassVar[bool]  # a failed download is tried again at the next sync
    # Other sources whose activity ids are this source's (its bulk export): an activity already
    # imported from one of them is not downloaded again.
    same_ids_from: ClassVar[tuple[str, ...]]

    # --- the client's calls (each one throttled and retried by the engine) ----------------

    def items(self, start: date, end: date) -> list[Item]:
        """The items whose local start date is in ``[start, end]``."""
        ...

    def item_at(self, offset: int) -> Item | None:
        """The ``offset``-th item counting from the newest (0-based), or None past the end (or
        when the source cannot count: its history then ends after empty windows)."""
        ...

    def fetch_original(self, item_id: Any) -> bytes: ...

    def retry_item(self, item_id: str) -> Item:
        """The item to retry a failed download with, from the id the cursors kept."""
        ...

    def daily(self, day: date) -> dict[str, Any]:
        """One day's wellness payloads (empty when there are none)."""
        ...

    # --- translations (no calls) ---------------------------------------------------------

    def item_id(self, item: Item) -> Any:
        """The source's id of an item (as the source types it: Garmin's and Strava's are
        numbers, Oura's text)."""
        ...

    def item_day(self, item: Item) -> date: ...

    def item_span(self, item: Item) -> tuple[datetime, datetime]:
        """Start and end, for the overlap check; ``SourceDataError`` (or a ``ValueError``) when
        the item has no usable time."""
        ...

    def decode(self, original: bytes, item: Item, key: str) -> list[records.Activity]:
        """The activities in a downloaded original (empty: fall back to ``summary_record``);
        ``SourceDataError`` when it is broken (the download is then retried)."""
        ...

    def summary_record(self, item: Item) -> records.Activity:
        """The activity from the item alone (its original held no activity)."""
        ...

    def wellness(self, day: date, payloads: dict[str, Any]) -> records.DailyWellness | None: ...

    # --- the session with the service -----------------------------------------------------

    def current_tokens(self) -> str: ...

    def pause_for(self) -> float:
        """Seconds to wait before the next call (0: none). A source that knows its rate-limit
        windows (Strava) stops the run *before* one is exhausted; it is rescheduled."""
        ...

    def usage(self) -> dict[str, Any] | None:
        """The last rate-limit counters the service sent, for the Connections page."""
        ...

    def close(self) -> None: ...
