"""What the Connections page shows for each source: status, sign-in step, cooldown, the queued
or running sync with its progress, the backfill's progress with an ETA, recent runs with their
error sentences and the last successful sync (the banner on every page is
``app.services.pages.attention``).

A sync's status comes from the background work's record (``work_run``, kind ``sync``) joined to
the sync's own row (``sync_run``, its detail) by ``app.services.work.runs`` — the record Settings
reads for backups and restores — so what the page says survives a restart: a sync queued and not
started is ``queued``, a run a stopped process left is ``interrupted``. Sync rows with no record
(from before migration 0025, or ``domestique sync``) are listed too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.models import Connection, SyncRun
from app.services.sync import connections
from app.services.sync.adapters import SyncSource
from app.services.sync.engine import remaining
from app.services.work import runs as work_runs

RECENT_RUNS = 8
MIN_ITEMS_FOR_RATE = 5
#: A sync that ended with these kept what it fetched up to its end: the "last successful sync".
SUCCEEDED = ("done", "partial", "paused")


@dataclass(frozen=True)
class SyncStatus:
    """One sync as the page shows it: ``queued`` (asked for, not started), ``running`` (with
    ``items_done`` of ``items_total``), or how it ended (``done``, ``partial``, ``paused``,
    ``cooling_down``, ``needs_reconnect``, ``failed``, ``interrupted``) with the code of the
    sentence that says why (``error_code``, ``error_params``)."""

    status: str
    mode: str
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    items_done: int
    items_total: int | None
    counts: dict[str, Any]
    failures: list[dict[str, Any]]
    error_code: str | None
    error_params: dict[str, Any]

    @property
    def at(self) -> datetime | None:
        """When it started, or was asked for while it waits."""
        return self.started_at or self.queued_at


def _sync_status(shown: work_runs.RunStatus) -> SyncStatus:
    detail: SyncRun | None = shown.detail
    code = shown.error_code
    if detail is None and code == "internal":  # refused before the sync's row was written
        error = shown.error_params.get("error")
        code = "not_connected" if error == "SourceAuthError" else "sync_failed"
    return SyncStatus(
        status=shown.status,
        mode=detail.mode if detail is not None else shown.parameters.get("mode", "auto"),
        queued_at=shown.queued_at,
        started_at=shown.started_at,
        finished_at=shown.finished_at,
        items_done=detail.items_done if detail is not None else 0,
        items_total=detail.items_total if detail is not None else None,
        counts=(detail.counts or {}) if detail is not None else {},
        failures=(detail.failures or []) if detail is not None else [],
        error_code=code,
        error_params={} if code != shown.error_code else shown.error_params,
    )


def sync_statuses(
    session: Session, name: str, limit: int = RECENT_RUNS
) -> tuple[list[SyncStatus], datetime | None]:
    """The newest syncs of source ``name``, newest first, and when the last successful one
    finished (over the whole history): one statement."""
    shown, last_success = work_runs.recent_with_detail(
        session,
        "sync",
        SyncRun,
        parameters={"source": name},
        unlinked=SyncRun.source == name,
        succeeded=(SyncRun.source == name) & SyncRun.status.in_(SUCCEEDED),
        limit=limit,
    )
    return [_sync_status(one) for one in shown], last_success


@dataclass(frozen=True)
class Backfill:
    done: bool
    paused: bool
    activities_done: int
    activities_left: int
    days_done: int
    days_left: int
    reached: date | None  # how far back the history has been fetched
    oldest: date | None  # the oldest activity of the account
    eta: timedelta | None

    @property
    def items_done(self) -> int:
        return self.activities_done + self.days_done

    @property
    def items_left(self) -> int:
        return self.activities_left + self.days_left

    @property
    def sized(self) -> bool:
        return self.oldest is not None


@dataclass(frozen=True)
class SourceView:
    source: SyncSource
    connection: Connection
    running: SyncStatus | None
    queued: bool
    runs: list[SyncStatus]
    last_success: datetime | None
    backfill: Backfill | None
    cooling_until: datetime | None
    mfa_expires_at: datetime | None

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def connected(self) -> bool:
        return self.connection.status == "connected"


def _seconds_per_item(runs: list[SyncStatus], now: datetime, fallback: float) -> float:
    """Measured from the running run, else the last runs that did enough work."""
    for run in runs:
        if run.items_done >= MIN_ITEMS_FOR_RATE and run.started_at is not None:
            end = run.finished_at or now
            return max((end - run.started_at).total_seconds() / run.items_done, 0.05)
    return fallback


def _backfill(
    session: Session, source: SyncSource, connection: Connection, runs: list[SyncStatus], now
) -> Backfill | None:
    cursors = connection.cursors or {}
    activities, wellness = cursors.get("activities", {}), cursors.get("wellness", {})
    if not activities and not wellness:
        return None
    left = remaining(session, connection, source.options, source.same_ids_from)
    extent = cursors.get("extent") or {}
    total_activities = extent.get("count")
    newest = wellness.get("newest")
    before = wellness.get("backfill_before")
    days_done = (
        (date.fromisoformat(newest) - date.fromisoformat(before)).days + 1
        if newest and before
        else 0
    )
    reached = min(
        (
            date.fromisoformat(c["backfill_before"])
            for c in (activities, wellness)
            if c.get("backfill_before")
        ),
        default=None,
    )
    eta = None
    if not left.done and extent:
        per_item = _seconds_per_item(runs, now, source.options.delay_s + 1.5)
        eta = timedelta(seconds=round(per_item * (left.activities + left.days)))
    return Backfill(
        done=left.done,
        paused=connection.backfill_paused,
        activities_done=(
            max(0, total_activities - left.activities) if total_activities is not None else 0
        ),
        activities_left=left.activities,
        days_done=days_done,
        days_left=left.days,
        reached=reached,
        oldest=date.fromisoformat(extent["oldest"]) if extent.get("oldest") else None,
        eta=eta,
    )


def source_view(session: Session, source: SyncSource, now: datetime) -> SourceView:
    connection = connections.peek_connection(session, source.name)
    runs, last_success = sync_statuses(session, source.name)
    unfinished = [run for run in runs if run.status in work_runs.UNFINISHED]
    running = next((run for run in unfinished if run.status == "running"), None)
    cooling = (
        connection.cooldown_until
        if connection.cooldown_until is not None and connection.cooldown_until > now
        else None
    )
    mfa_expires = (
        connection.mfa_expires_at
        if connection.login_state == "mfa"
        and connection.mfa_expires_at is not None
        and connection.mfa_expires_at > now
        else None
    )
    return SourceView(
        source=source,
        connection=connection,
        running=running,
        queued=any(run.status == "queued" for run in unfinished),
        runs=runs,
        last_success=last_success,
        backfill=_backfill(session, source, connection, runs, now),
        cooling_until=cooling,
        mfa_expires_at=mfa_expires,
    )
