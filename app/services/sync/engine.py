"""Syncing a connected source: backfill newest-first and incremental runs, with per-dataset
cursors, throttling, retries with backoff, cooldowns and "needs reconnect".

The engine drives every source through one protocol (``app.services.sync.protocol``), which
Garmin, Strava and Oura each implement in ``app.services.sync.sources``: list items, find their
id, day and span, fetch and decode an original, a day of wellness, and the few policies that
differ (``Overlap``, wellness or not, retries). Tests drive it with a hand-written fake client.
Time (``Clock``) is injected too, so the throttle and the backoff schedule are tested without
sleeping.

Cursors (``connection.cursors``), so a crash or restart resumes where it stopped:
``{"activities": {"newest": "2026-11-20", "backfill_before": "2019-03-01",
"backfill_done": false}, "wellness": {…same…}, "retry_activities": ["123", …],
"extent": {"count": 2875, "oldest": "2014-03-02"}}``.
Every window or day is stored in its own transaction together with its cursor, and activities
are found again by their source's id, so a re-run adds nothing.

``extent`` (how many activities the account has and the date of the oldest) is found once, at
the start of the first backfill, by a binary search over one-item pages of the activity list
(about 2·log2(n) throttled calls). It sizes the progress bar and its ETA, and lets the backfill
stop at the real start of the history instead of after a long run of empty windows.

A backfill can be paused (``connection.backfill_paused``) or the process can be stopping: both
are checked between items (``interrupt``), and the run ends as ``paused`` or ``interrupted`` with
its cursors saved; the next run resumes there.

Size (~650 lines; ``Syncer`` alone ~450): backfill and incremental runs share the cursors,
the throttle, the retry schedule and the cooldowns of one run; what differs between sources
lives beside each source's protocol.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.models import ActivitySource, Connection, SyncRun, WorkRun
from app.models.owner import get_owner
from app.security.keys import SecretBox
from app.services import metrics, raw_store
from app.services.imports import store
from app.services.sync import connections
from app.services.sync.protocol import Item, Overlap, SyncProtocol
from app.sources import (
    SourceAuthError,
    SourceDataError,
    SourceError,
    SourceRateLimited,
    SourceUnavailable,
)

log = logging.getLogger(__name__)
SYNC_RUNS = Counter("domestique_sync_runs_total", "Source sync runs", ["source", "status"])
SYNC_ITEMS = Counter("domestique_sync_items_total", "Items synced", ["source", "kind"])


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class SyncOptions:
    delay_s: float = 1.0  # between calls: one request at a time, politely
    overlap_days: int = 3  # late sleep and HRV arrive after the day
    window_days: int = 30  # activity list window
    max_attempts: int = 4  # per call, for 5xx and network errors
    backoff_s: float = 2.0  # first retry wait; doubles, with jitter
    empty_windows_to_stop: int = 12  # a year of empty activity windows ends the backfill
    empty_days_to_stop: int = 60  # two months of empty wellness days end the backfill
    # Before the oldest activity, wellness stops sooner: after this many empty days in a row,
    # once it is more than ``wellness_margin_days`` older than the oldest activity.
    empty_days_before_history: int = 14
    wellness_margin_days: int = 30
    floor: date = date(2006, 1, 1)  # nothing older than Garmin Connect itself


def auth_code(error: SourceAuthError) -> str:
    """The message code for refused tokens: the adapter's own (Strava's inactive application,
    a missing Oura scope…) or the general one."""
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else "auth_expired"


def linkable(session: Session, work_run_id: uuid.UUID | None) -> uuid.UUID | None:
    """``work_run_id`` when its record is there to link to (recording the background run never
    stops the work, so its row may be missing), else none."""
    if work_run_id is None or session.get(WorkRun, work_run_id) is None:
        return None
    return work_run_id


class _Stop(Exception):
    def __init__(self, status: str, code: str, retry_after: float | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.retry_after = status, code, retry_after


@dataclass
class _Run:
    source: str
    run_id: int
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    done: int = 0
    total: int | None = None
    activity_ids: list[int] = field(default_factory=list)  # stored, for the metrics hook

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


class Syncer:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        box: SecretBox,
        protocol: SyncProtocol,
        *,
        clock: Clock | None = None,
        options: SyncOptions | None = None,
        jitter: Callable[[], float] = random.random,
        progress: Callable[[SyncRun], None] | None = None,
        interrupt: Callable[[], str | None] | None = None,
        work_run_id: uuid.UUID | None = None,
    ) -> None:
        self.sessions, self.settings, self.box = sessions, settings, box
        self.work_run_id = work_run_id  # the background run this sync is the detail of
        self.protocol, self.source = protocol, protocol.name
        self.clock = clock or SystemClock()
        self.options = options or SyncOptions()
        self.jitter = jitter
        self.progress = progress
        self.interrupt = interrupt or (lambda: None)

    # --- calls ------------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        """One throttled call; 5xx/network errors retried with exponential backoff and jitter;
        429 and refused tokens stop the run (the service's limits are respected, not fought).
        A source that tracks its rate-limit windows (``pause_for``) stops the run *before* a
        window is exhausted; the runner starts it again when the window resets."""
        attempt = 0
        while True:
            if (wait := self.protocol.pause_for()) > 0:
                raise _Stop("cooling_down", "rate_limited", wait)
            self.clock.sleep(self.options.delay_s)
            try:
                return fn()
            except SourceRateLimited as error:
                raise _Stop("cooling_down", "rate_limited", error.retry_after) from error
            except SourceAuthError as error:
                raise _Stop("needs_reconnect", auth_code(error)) from error
            except SourceUnavailable:
                attempt += 1
                if attempt >= self.options.max_attempts:
                    raise
                wait = self.options.backoff_s * 2 ** (attempt - 1)
                self.clock.sleep(wait * (1 + self.jitter()))
                log.info("%s unavailable (%s); retry %d", self.source, what, attempt)

    # --- state ------------------------------------------------------------------------------

    def _cursors(self) -> dict[str, Any]:
        with self.sessions() as session:
            return dict(connections.get_connection(session, self.source).cursors or {})

    def _zone(self, session: Session) -> ZoneInfo:
        owner = get_owner(session)
        return ZoneInfo(owner.timezone if owner else self.settings.timezone)

    def _today(self) -> date:
        with self.sessions() as session:
            return self.clock.now().astimezone(self._zone(session)).date()

    def _save_cursor(self, session: Session, name: str, values: dict[str, Any]) -> None:
        connection = connections.get_connection(session, self.source)
        cursors = dict(connection.cursors or {})
        cursors[name] = {**cursors.get(name, {}), **values}
        connection.cursors = cursors

    def _report(self, run: _Run) -> None:
        with self.sessions.begin() as session:
            row = session.get_one(SyncRun, run.run_id)
            row.items_done, row.counts, row.failures = run.done, dict(run.counts), run.failures
            row.items_total = run.total
            if self.progress is not None:
                self.progress(row)

    # --- activities -------------------------------------------------------------------------

    def _known(self, session: Session, activity_id: int) -> bool:
        return (
            session.execute(
                select(ActivitySource.id).where(
                    ActivitySource.source.in_((self.source, *self.protocol.same_ids_from)),
                    ActivitySource.external_id == str(activity_id),
                )
            ).first()
            is not None
        )

    def _activity(self, run: _Run, summary: Item) -> None:
        try:
            self._fetch_activity(run, summary)
        finally:
            run.done += 1

    def _overlapping(self, session: Session, summary: Item) -> int | None:
        """A stored activity (from another source) covering most of this one's time."""
        start, end = self.protocol.item_span(summary)
        return store.overlapping_activity(session, start, end, exclude_source=self.source)

    def _fetch_activity(self, run: _Run, summary: Item) -> None:
        activity_id = self.protocol.item_id(summary)
        with self.sessions() as session:
            if self._known(session, activity_id):
                run.count("activities_known")
                return
            try:
                covered = (
                    self._overlapping(session, summary)
                    if self.protocol.overlap is not Overlap.FETCH
                    else None
                )
            except (SourceDataError, KeyError, TypeError, ValueError) as error:
                # An item without a usable time: listed, never retried, the run goes on.
                run.failures.append({"activity_id": activity_id, "error": type(error).__name__})
                return
        if covered is not None:
            self._covered(run, summary, activity_id, covered)
            return
        try:
            original = self._call(
                f"original {activity_id}", lambda: self.protocol.fetch_original(activity_id)
            )
            decoded = self.protocol.decode(original, summary, str(activity_id))
        except (SourceUnavailable, SourceDataError) as error:
            run.failures.append({"activity_id": activity_id, "error": type(error).__name__})
            if self.protocol.retryable:
                self._remember_retry(activity_id)
            return
        try:
            legs = decoded or [self.protocol.summary_record(summary)]
        except (KeyError, TypeError, ValueError) as error:
            run.failures.append({"activity_id": activity_id, "error": type(error).__name__})
            return
        keys = [
            str(activity_id) if len(legs) == 1 else f"{activity_id}:{leg.multisport_index or 0}"
            for leg in legs
        ]
        with self.sessions.begin() as session:
            store.relax_commit(session)
            raw = raw_store.store_bytes(
                session,
                self.settings,
                original,
                original_name=f"{activity_id}{self.protocol.raw.original_suffix}",
                kind=self.protocol.raw.original,
                namespace=self.source,
            )
            self._keep_summary(session, summary, activity_id)
            result = store.store_activities(
                session, legs, source_keys=keys, raw_file_id=raw.id, zone=self._zone(session)
            )
            self._forget_retry(session, activity_id)
        run.activity_ids += result.activity_ids
        run.count("activities_added", result.added)
        run.count("activities_merged", result.duplicate)
        SYNC_ITEMS.labels(self.source, "activity").inc()

    def _keep_summary(self, session: Session, summary: Item, activity_id: int | str):
        return raw_store.store_bytes(
            session,
            self.settings,
            json.dumps(summary, sort_keys=True).encode(),
            original_name=f"activity-{activity_id}.json",
            kind=self.protocol.raw.json,
            namespace=self.source,
        )

    def _covered(self, run: _Run, summary: Item, activity_id: int | str, stored: int) -> None:
        """Another source already holds this activity: link it (the summary kept raw) or skip."""
        if self.protocol.overlap is Overlap.SKIP:
            run.count("activities_skipped")
            return
        with self.sessions.begin() as session:
            raw = self._keep_summary(session, summary, activity_id)
            store.link_source(
                session,
                stored,
                source=self.source,
                key=str(activity_id),
                external_id=str(activity_id),
                raw_file_id=raw.id,
            )
            self._forget_retry(session, activity_id)
        run.count("activities_merged")
        SYNC_ITEMS.labels(self.source, "activity").inc()

    def _remember_retry(self, activity_id: int) -> None:
        with self.sessions.begin() as session:
            connection = connections.get_connection(session, self.source)
            cursors = dict(connection.cursors or {})
            retry = set(cursors.get("retry_activities", []))
            retry.add(str(activity_id))
            cursors["retry_activities"] = sorted(retry)
            connection.cursors = cursors

    def _forget_retry(self, session: Session, activity_id: int) -> None:
        connection = connections.get_connection(session, self.source)
        cursors = dict(connection.cursors or {})
        retry = [i for i in cursors.get("retry_activities", []) if i != str(activity_id)]
        if retry != cursors.get("retry_activities", []):
            cursors["retry_activities"] = retry
            connection.cursors = cursors

    def _activity_window(self, run: _Run, start: date, end: date) -> int:
        summaries = self._call(
            f"activities {start}..{end}", lambda: self.protocol.items(start, end)
        )
        for summary in summaries:
            self._activity(run, summary)
        return len(summaries)

    # --- wellness ---------------------------------------------------------------------------

    def _day(self, run: _Run, day: date) -> bool:
        """Fetch and merge one day; True when the day had anything."""
        payloads = self._call(f"daily {day}", lambda: self.protocol.daily(day))
        wellness = self.protocol.wellness(day, payloads) if payloads else None
        with self.sessions.begin() as session:
            store.relax_commit(session)
            if payloads:
                raw_store.store_bytes(
                    session,
                    self.settings,
                    json.dumps(payloads, sort_keys=True, default=str).encode(),
                    original_name=f"daily-{day.isoformat()}.json",
                    kind=self.protocol.raw.json,
                    namespace=self.source,
                )
            touched = store.merge_wellness(session, [wellness]) if wellness else []
            self._save_cursor(session, "wellness", {"last_fetched": day.isoformat()})
        run.count("wellness_days", len(touched))
        run.done += 1
        return bool(wellness and wellness.values)

    # --- runs -------------------------------------------------------------------------------

    def run(self, mode: str = "auto") -> SyncRun:
        """``incremental`` (overlap + newer), ``backfill`` (older history, newest first),
        or ``auto``: incremental, then backfill where the history is not complete yet.

        A paused backfill is skipped (the incremental part still runs). While a cooldown from an
        earlier 429 lasts, nothing is called: the run is recorded as ``cooling_down``."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            connection = connections.get_connection(session, self.source)
            if connection.status != "connected" or connection.tokens_encrypted is None:
                raise SourceAuthError(f"{self.source} is not connected")
            cooling = connection.cooldown_until is not None and now < connection.cooldown_until
            row = SyncRun(
                source=self.source,
                work_run_id=linkable(session, self.work_run_id),
                mode=mode,
                status="cooling_down" if cooling else "running",
                started_at=now,
                error_code="rate_limited" if cooling else None,
                finished_at=now if cooling else None,
            )
            session.add(row)
            session.flush()
            run = _Run(self.source, row.id)
        if cooling:
            SYNC_RUNS.labels(self.source, "cooling_down").inc()
            return self._finished_row(run.run_id)
        status, code = "done", None
        try:
            self._incremental(run)
            if mode in ("auto", "backfill") and not self._paused():
                self._backfill(run)
            if run.failures:
                status = "partial"
        except _Stop as stop:
            status, code = stop.status, stop.code
            with self.sessions.begin() as session:
                if stop.status == "needs_reconnect":
                    connections.mark_needs_reconnect(session, self.source, stop.code)
                elif stop.status == "cooling_down":
                    connection = connections.get_connection(session, self.source)
                    wait = stop.retry_after if stop.retry_after is not None else 3600.0
                    connection.cooldown_until = self.clock.now() + timedelta(seconds=wait)
                    connection.last_error_code = stop.code
        except SourceError as error:
            status = "failed"
            code = (
                error.code
                if isinstance(error, SourceDataError)
                else "source_unavailable"
                if isinstance(error, SourceUnavailable)
                else "sync_failed"
            )
            log.warning("%s sync failed: %s", self.source, error)
        finally:
            self._keep_tokens()
        with self.sessions.begin() as session:
            row = session.get_one(SyncRun, run.run_id)
            row.status, row.error_code, row.finished_at = status, code, self.clock.now()
            row.items_done, row.counts, row.failures = run.done, run.counts, run.failures
            row.items_total = run.done if status in ("done", "partial") else run.total
            if status in ("done", "partial", "paused", "interrupted"):
                connection = connections.get_connection(session, self.source)
                connection.last_sync_at = row.finished_at
                if connection.last_error_code == "rate_limited":
                    connection.last_error_code = None
        metrics.after_import(self.sessions, run.activity_ids)
        SYNC_RUNS.labels(self.source, status).inc()
        return self._finished_row(run.run_id)

    def _finished_row(self, run_id: int) -> SyncRun:
        with self.sessions() as session:
            result = session.get_one(SyncRun, run_id)
            session.expunge(result)
            return result

    def _keep_tokens(self) -> None:
        try:
            tokens = self.protocol.current_tokens()
        except Exception:  # a client that cannot say keeps the stored tokens
            log.exception("could not read %s tokens after the run", self.source)
            return
        with self.sessions.begin() as session:
            connections.keep_rotated_tokens(session, self.box, self.source, tokens)

    def _paused(self) -> bool:
        with self.sessions() as session:
            return connections.get_connection(session, self.source).backfill_paused

    def _check_interrupt(self) -> None:
        """Between items: stop cleanly when the process is stopping or the owner paused."""
        reason = self.interrupt()
        if reason is not None:
            raise _Stop(reason, reason)
        with self.sessions() as session:
            connection = connections.get_connection(session, self.source)
            if connection.status != "connected":  # disconnected from the page meanwhile
                raise _Stop("interrupted", "not_connected")
            if connection.backfill_paused:
                raise _Stop("paused", "paused")

    def _incremental(self, run: _Run) -> None:
        today = self._today()
        cursors = self._cursors()
        for name in ("activities", "wellness"):
            newest = cursors.get(name, {}).get("newest")
            start = (
                date.fromisoformat(newest) - timedelta(days=self.options.overlap_days)
                if newest
                else today - timedelta(days=self.options.overlap_days)
            )
            if name == "activities":
                self._activity_window(run, start, today)
                for retry in list(cursors.get("retry_activities", [])):
                    self._retry(run, retry)
            elif not self.protocol.has_wellness:
                with self.sessions.begin() as session:
                    done = {"newest": today.isoformat(), "backfill_done": True}
                    self._save_cursor(session, name, done)
                continue
            else:
                day = today
                while day >= start:
                    self._day(run, day)
                    day -= timedelta(days=1)
            with self.sessions.begin() as session:
                values: dict[str, Any] = {"newest": today.isoformat()}
                if not cursors.get(name, {}).get("backfill_before"):
                    values["backfill_before"] = start.isoformat()
                self._save_cursor(session, name, values)
            self._report(run)

    def _retry(self, run: _Run, activity_id: str) -> None:
        try:
            summary = self._call(
                f"summary {activity_id}", lambda: self.protocol.retry_item(activity_id)
            )
        except (SourceUnavailable, SourceDataError) as error:
            run.failures.append({"activity_id": activity_id, "error": type(error).__name__})
            return
        self._activity(run, summary)

    def _extent(self) -> dict[str, Any]:
        """How many activities the account holds and the local date of the oldest (cached in
        the cursors): a doubling then binary search over one-item pages, each call throttled."""
        known = self._cursors().get("extent")
        if known is not None:
            return known

        def at(offset: int) -> Item | None:
            return self._call(f"activity #{offset}", lambda: self.protocol.item_at(offset))

        oldest = at(0)
        count = 0 if oldest is None else 1
        if oldest is not None:
            low, high = 0, 1
            while (item := at(high)) is not None:
                low, oldest, high = high, item, high * 2
            while high - low > 1:
                middle = (low + high) // 2
                if (item := at(middle)) is None:
                    high = middle
                else:
                    low, oldest = middle, item
            count = low + 1
        extent = {
            "count": count,
            "oldest": self.protocol.item_day(oldest).isoformat() if oldest else None,
        }
        with self.sessions.begin() as session:
            connection = connections.get_connection(session, self.source)
            connection.cursors = {**(connection.cursors or {}), "extent": extent}
        return extent

    def _backfill(self, run: _Run) -> None:
        extent = self._extent()
        oldest = date.fromisoformat(extent["oldest"]) if extent.get("oldest") else None
        with self.sessions() as session:
            connection = connections.get_connection(session, self.source)
            left = remaining(session, connection, self.options, self.protocol.same_ids_from)
        run.total = run.done + left.activities + left.days
        self._report(run)
        cursors = self._cursors()
        activities = cursors.get("activities", {})
        empty = 0
        while not activities.get("backfill_done"):
            self._check_interrupt()
            before = date.fromisoformat(activities["backfill_before"])
            start = max(self.options.floor, before - timedelta(days=self.options.window_days))
            found = self._activity_window(run, start, before - timedelta(days=1))
            empty = 0 if found else empty + 1
            finished = (
                start <= self.options.floor
                or (oldest is not None and start <= oldest)
                or (oldest is None and empty >= self.options.empty_windows_to_stop)
            )
            activities = {"backfill_before": start.isoformat(), "backfill_done": finished}
            with self.sessions.begin() as session:
                self._save_cursor(session, "activities", activities)
            self._report(run)
        wellness = cursors.get("wellness", {})
        history_start = (
            oldest - timedelta(days=self.options.wellness_margin_days) if oldest else None
        )
        empty = 0
        while not wellness.get("backfill_done"):
            self._check_interrupt()
            day = date.fromisoformat(wellness["backfill_before"]) - timedelta(days=1)
            had = self._day(run, day)
            empty = 0 if had else empty + 1
            finished = (
                day <= self.options.floor
                or empty >= self.options.empty_days_to_stop
                or (
                    history_start is not None
                    and day < history_start
                    and empty >= self.options.empty_days_before_history
                )
            )
            wellness = {"backfill_before": day.isoformat(), "backfill_done": finished}
            with self.sessions.begin() as session:
                self._save_cursor(session, "wellness", wellness)
            if run.done % 10 == 0:
                self._report(run)


def restart_backfill(session: Session, source: str) -> None:
    """Walk the whole history again from the newest data down (``domestique sync --full``):
    known activities are skipped cheaply, every day of wellness is fetched again."""
    connection = connections.get_connection(session, source)
    cursors = dict(connection.cursors or {})
    cursors.pop("extent", None)
    for name in ("activities", "wellness"):
        cursor = dict(cursors.get(name, {}))
        if cursor.get("newest"):
            cursor["backfill_before"] = cursor["newest"]
        cursor["backfill_done"] = False
        cursors[name] = cursor
    connection.cursors = cursors
    connection.backfill_paused = False


@dataclass(frozen=True)
class Remaining:
    """What a backfill still has to fetch (estimates: the activity count is Garmin's, days
    run back to a month before the oldest activity)."""

    activities: int
    days: int
    done: bool


def _known_activity_count(session: Session, sources: tuple[str, ...]) -> int:
    key = func.split_part(ActivitySource.external_id, ":", 1)
    return session.execute(
        select(func.count(func.distinct(key))).where(
            ActivitySource.source.in_(sources), ActivitySource.external_id.is_not(None)
        )
    ).scalar_one()


def remaining(
    session: Session,
    connection: Connection,
    options: SyncOptions,
    same_ids_from: tuple[str, ...] = (),
) -> Remaining:
    sources = (connection.source, *same_ids_from)
    cursors = connection.cursors or {}
    extent = cursors.get("extent") or {}
    activities, wellness = cursors.get("activities", {}), cursors.get("wellness", {})
    done = bool(activities.get("backfill_done") and wellness.get("backfill_done"))
    activities_left = 0
    if not activities.get("backfill_done") and extent.get("count") is not None:
        activities_left = max(0, int(extent["count"]) - _known_activity_count(session, sources))
    days_left = 0
    if (
        not wellness.get("backfill_done")
        and extent.get("oldest")
        and wellness.get("backfill_before")
    ):
        start = date.fromisoformat(extent["oldest"]) - timedelta(days=options.wellness_margin_days)
        days_left = max(0, (date.fromisoformat(wellness["backfill_before"]) - start).days)
    return Remaining(activities_left, days_left, done)
