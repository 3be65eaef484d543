"""Syncing a connected source (Garmin first): backfill newest-first and incremental runs, with
per-dataset cursors, throttling, retries with backoff, cooldowns and "needs reconnect".

The service talks to a client through the small ``SourceApi`` protocol; the Garmin adapter
implements it, and tests inject a hand-written fake. Time (``Clock``) is injected too, so the
throttle and the backoff schedule are tested without sleeping.

Cursors (``connection.cursors``), so a crash or restart resumes where it stopped:
``{"activities": {"newest": "2026-11-20", "backfill_before": "2019-03-01",
"backfill_done": false}, "wellness": {…same…}, "retry_activities": ["123", …],
"extent": {"count": 2875, "oldest": "2014-03-02"}}``.
Every window or day is stored in its own transaction together with its cursor, and activities
are found again by their Garmin id, so a re-run adds nothing.

``extent`` (how many activities the account has and the date of the oldest) is found once, at
the start of the first backfill, by a binary search over one-item pages of the activity list
(about 2·log2(n) throttled calls). It sizes the progress bar and its ETA, and lets the backfill
stop at the real start of the history instead of after a long run of empty windows.

A backfill can be paused (``connection.backfill_paused``) or the process can be stopping: both
are checked between items (``interrupt``), and the run ends as ``paused`` or ``interrupted`` with
its cursors saved; the next run resumes there.

Size (~740 lines; ``Syncer`` alone ~470): backfill and incremental runs share the cursors,
the throttle, the retry schedule and the cooldowns of one run. It shrinks when ``Mappers``
gives way to a per-source protocol (issue 16, item 6): what each source decodes and how it
overlaps then lives beside its adapter.
"""

from __future__ import annotations

import json
import logging
import random
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app import records
from app.config import Settings
from app.models import ActivitySource, Connection, SyncRun
from app.models.owner import get_owner
from app.security.keys import SecretBox
from app.services import metrics, raw_store
from app.services.imports import store
from app.services.sync import connections
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


class SourceApi(Protocol):
    """What the sync needs from a source client (the Garmin adapter implements it)."""

    def activities(self, start: date, end: date) -> list[dict[str, Any]]: ...

    def original_file(self, activity_id: int) -> bytes: ...

    def daily(self, day: date) -> dict[str, Any]: ...

    def activity_at(self, offset: int) -> dict[str, Any] | None:
        """The ``offset``-th activity counting from the newest (0-based), or None past the end."""
        ...

    def current_tokens(self) -> str: ...


class Paced(Protocol):
    """A client that knows its service's rate-limit windows (Strava) says, before a call, how
    long to wait (seconds, 0 when none): the run stops and is rescheduled instead of sleeping."""

    def pause_for(self) -> float: ...


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


@dataclass
class Mappers:
    """Source-specific translations of raw payloads into our records."""

    activity: Callable[[dict[str, Any]], records.Activity]
    wellness: Callable[[date, dict[str, Any]], records.DailyWellness | None]
    activity_id: Callable[[dict[str, Any]], int]
    activity_day: Callable[[dict[str, Any]], date]  # the local date an activity started
    # Other sources whose activity ids are this source's (Garmin's bulk export): an activity
    # already imported from one of them is not downloaded again.
    same_ids_from: tuple[str, ...] = ()
    # What the source's "original" download is: Garmin's ZIP around the FIT file by default;
    # ``decode(original, summary, source, activity_id)`` maps it to records.
    decode: Callable[[bytes, dict[str, Any], str, str], list[records.Activity]] | None = None
    original_kind: str = "garmin_original"
    original_suffix: str = ".zip"
    json_kind: str = "garmin_json"
    extras_key: str | None = "garmin"  # the summary is kept in the activity's extras under it
    # Fetches the summary to retry a failed activity with (None: Garmin, where the id is enough).
    retry_summary: Callable[[Any, str], dict[str, Any]] | None = None
    # An activity whose time another source already covers: "fetch" it anyway (Garmin), "link"
    # this source to the stored activity without downloading its details (Strava: the watch's
    # own file is better than Strava's streams, and it saves the rate limit), or "skip" it
    # (Oura's workouts: the ring's guess of a session the watch recorded).
    overlap: str = "fetch"
    span: Callable[[dict[str, Any]], tuple[datetime, datetime]] | None = None
    has_wellness: bool = True  # the source has daily wellness
    retryable: bool = True  # a failed download is tried again at the next sync


def garmin_mappers() -> Mappers:
    from app.sources.garmin import mapper

    return Mappers(
        activity=mapper.activity_summary_to_record,
        wellness=mapper.daily_to_wellness,
        activity_id=lambda summary: int(summary["activityId"]),
        activity_day=mapper.activity_local_day,
        same_ids_from=("garmin_export",),
    )


def auth_code(error: SourceAuthError) -> str:
    """The message code for refused tokens: the adapter's own (Strava's inactive application,
    a missing Oura scope…) or the general one."""
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else "auth_expired"


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
        api: SourceApi,
        mappers: Mappers,
        *,
        source: str = "garmin",
        clock: Clock | None = None,
        options: SyncOptions | None = None,
        jitter: Callable[[], float] = random.random,
        progress: Callable[[SyncRun], None] | None = None,
        interrupt: Callable[[], str | None] | None = None,
    ) -> None:
        self.sessions, self.settings, self.box, self.api = sessions, settings, box, api
        self.mappers, self.source = mappers, source
        self.clock = clock or SystemClock()
        self.options = options or SyncOptions()
        self.jitter = jitter
        self.progress = progress
        self.interrupt = interrupt or (lambda: None)

    # --- calls ------------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        """One throttled call; 5xx/network errors retried with exponential backoff and jitter;
        429 and refused tokens stop the run (the service's limits are respected, not fought).
        A client that tracks its rate-limit windows (``Paced``) stops the run *before* a window
        is exhausted; the runner starts it again when the window resets."""
        attempt = 0
        while True:
            pause_for = getattr(self.api, "pause_for", None)
            if pause_for is not None and (wait := pause_for()) > 0:
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
                    ActivitySource.source.in_((self.source, *self.mappers.same_ids_from)),
                    ActivitySource.external_id == str(activity_id),
                )
            ).first()
            is not None
        )

    def _activity(self, run: _Run, summary: dict[str, Any]) -> None:
        try:
            self._fetch_activity(run, summary)
        finally:
            run.done += 1

    def _overlapping(self, session: Session, summary: dict[str, Any]) -> int | None:
        """A stored activity (from another source) covering most of this one's time."""
        if self.mappers.span is None:
            return None
        start, end = self.mappers.span(summary)
        return store.overlapping_activity(session, start, end, exclude_source=self.source)

    def _fetch_activity(self, run: _Run, summary: dict[str, Any]) -> None:
        activity_id = self.mappers.activity_id(summary)
        with self.sessions() as session:
            if self._known(session, activity_id):
                run.count("activities_known")
                return
            try:
                covered = (
                    self._overlapping(session, summary) if self.mappers.overlap != "fetch" else None
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
                f"original {activity_id}", lambda: self.api.original_file(activity_id)
            )
            decode = self.mappers.decode or (
                lambda data, _summary, source, key: _decode_original(data, source, key)
            )
            decoded = decode(original, summary, self.source, str(activity_id))
        except (SourceUnavailable, SourceDataError) as error:
            run.failures.append({"activity_id": activity_id, "error": type(error).__name__})
            if self.mappers.retryable:
                self._remember_retry(activity_id)
            return
        try:
            legs = decoded or [self.mappers.activity(summary)]
        except (KeyError, TypeError, ValueError) as error:
            run.failures.append({"activity_id": activity_id, "error": type(error).__name__})
            return
        if self.mappers.extras_key:
            for leg in legs:
                leg.extras = {**leg.extras, self.mappers.extras_key: summary}
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
                original_name=f"{activity_id}{self.mappers.original_suffix}",
                kind=self.mappers.original_kind,
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

    def _keep_summary(self, session: Session, summary: dict[str, Any], activity_id: int):
        return raw_store.store_bytes(
            session,
            self.settings,
            json.dumps(summary, sort_keys=True).encode(),
            original_name=f"activity-{activity_id}.json",
            kind=self.mappers.json_kind,
            namespace=self.source,
        )

    def _covered(self, run: _Run, summary: dict[str, Any], activity_id: int, stored: int) -> None:
        """Another source already holds this activity: link it (the summary kept raw) or skip."""
        if self.mappers.overlap == "skip":
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
            f"activities {start}..{end}", lambda: self.api.activities(start, end)
        )
        for summary in summaries:
            self._activity(run, summary)
        return len(summaries)

    # --- wellness ---------------------------------------------------------------------------

    def _day(self, run: _Run, day: date) -> bool:
        """Fetch and merge one day; True when the day had anything."""
        payloads = self._call(f"daily {day}", lambda: self.api.daily(day))
        wellness = self.mappers.wellness(day, payloads) if payloads else None
        with self.sessions.begin() as session:
            store.relax_commit(session)
            if payloads:
                raw_store.store_bytes(
                    session,
                    self.settings,
                    json.dumps(payloads, sort_keys=True, default=str).encode(),
                    original_name=f"daily-{day.isoformat()}.json",
                    kind=self.mappers.json_kind,
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
            tokens = self.api.current_tokens()
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
            elif not self.mappers.has_wellness:
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
        fetch = self.mappers.retry_summary
        if fetch is None:
            self._activity(run, {"activityId": int(activity_id)})
            return
        try:
            summary = self._call(f"summary {activity_id}", lambda: fetch(self.api, activity_id))
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

        def at(offset: int) -> dict[str, Any] | None:
            return self._call(f"activity #{offset}", lambda: self.api.activity_at(offset))

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
            "oldest": self.mappers.activity_day(oldest).isoformat() if oldest else None,
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
            left = remaining(session, connection, self.options, self.mappers.same_ids_from)
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


def _decode_original(data: bytes, source: str, activity_id: str) -> list[records.Activity]:
    """The activities in Garmin's "original" download: a ZIP holding the FIT file (or the FIT
    file itself)."""
    from app.sources.fit import decode_fit, looks_like_fit

    if looks_like_fit(data[:14]):
        payloads = [data]
    else:
        try:
            with zipfile.ZipFile(BytesIO(data)) as archive:
                payloads = [
                    archive.read(name)
                    for name in archive.namelist()
                    if name.lower().endswith(".fit")
                    and archive.getinfo(name).file_size < 256 * 1024 * 1024
                ]
        except zipfile.BadZipFile as exc:
            raise SourceDataError(str(exc), code="zip_corrupt") from exc
    found: list[records.Activity] = []
    for payload in payloads:
        decoded = decode_fit(payload, source=source)
        for activity in decoded.activities:
            activity.external_id = activity_id
        found += decoded.activities
    return found
