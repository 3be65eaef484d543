"""What the Connections page shows for each source: status, sign-in step, cooldown, the running
sync, the backfill's progress with an ETA and recent runs (the banner on every page is
``app.services.pages.attention``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Connection, SyncRun
from app.services.sync import connections
from app.services.sync.adapters import SyncSource
from app.services.sync.engine import remaining

RECENT_RUNS = 8
MIN_ITEMS_FOR_RATE = 5


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
    running: SyncRun | None
    runs: list[SyncRun]
    backfill: Backfill | None
    cooling_until: datetime | None
    mfa_expires_at: datetime | None

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def connected(self) -> bool:
        return self.connection.status == "connected"


def _seconds_per_item(runs: list[SyncRun], now: datetime, fallback: float) -> float:
    """Measured from the running run, else the last runs that did enough work."""
    for run in runs:
        if run.items_done >= MIN_ITEMS_FOR_RATE:
            end = run.finished_at or now
            return max((end - run.started_at).total_seconds() / run.items_done, 0.05)
    return fallback


def _backfill(
    session: Session, source: SyncSource, connection: Connection, runs: list[SyncRun], now
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
    runs = list(
        session.execute(
            select(SyncRun)
            .where(SyncRun.source == source.name)
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
            .limit(RECENT_RUNS)
        ).scalars()
    )
    running = runs[0] if runs and runs[0].status == "running" else None
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
        runs=runs,
        backfill=_backfill(session, source, connection, runs, now),
        cooling_until=cooling,
        mfa_expires_at=mfa_expires,
    )
