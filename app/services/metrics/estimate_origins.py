"""Where the threshold estimates come from, and the owner's say over it.

Every estimated threshold records the activities it came from (``thresholds_used[kind]
["activity_ids"]``, see ``app.services.metrics.thresholds``). This module names them for the
pages, tells an activity's page whether the current estimates lean on it and what its streams
were cleaned of, and lets the owner leave an activity out of every estimate (or take it back):
``set_excluded`` stores the choice and returns the day from which metrics must be recomputed;
the caller queues that (``WorkRunner.submit_recompute_changed``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.models import Activity, ActivityMetrics

#: The thresholds an activity can be the source of, in the order pages list them.
ESTIMATED_KINDS = ("hr_max_bpm", "lthr_bpm", "ftp_w", "threshold_pace_s_per_km")


@dataclass(frozen=True)
class ActivityLink:
    """Enough of an activity to link to it."""

    id: int
    name: str | None
    sport: str
    day: date


@dataclass(frozen=True)
class EstimateStatus:
    """One activity's part in the threshold estimates."""

    activity_id: int
    day: date
    excluded_at: datetime | None
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    holds: tuple[str, ...] = ()  # kinds whose current estimate comes from this activity

    @property
    def excluded(self) -> bool:
        return self.excluded_at is not None


def links(session: Session, ids: Iterable[int]) -> dict[int, ActivityLink]:
    """The activities of ``ids`` that exist, by id (one query)."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return {}
    rows = session.execute(
        select(Activity.id, Activity.name, Activity.sport, Activity.local_date).where(
            Activity.id.in_(wanted)
        )
    ).all()
    return {row.id: ActivityLink(row.id, row.name, row.sport, row.local_date) for row in rows}


def source_ids(entry: Any) -> tuple[int, ...]:
    """The activity ids one ``thresholds_used`` entry names (none for the owner's values)."""
    if not isinstance(entry, dict):
        return ()
    found = entry.get("activity_ids") or ()
    return tuple(int(i) for i in found if isinstance(i, int) and not isinstance(i, bool))


def current_thresholds(session: Session) -> dict[str, Any]:
    """``thresholds_used`` of the newest activity with metrics: the thresholds in force."""
    used = session.execute(
        select(ActivityMetrics.thresholds_used)
        .join(Activity, Activity.id == ActivityMetrics.activity_id)
        .order_by(Activity.start_time.desc(), Activity.id.desc())
        .limit(1)
    ).scalar()
    return used or {}


def status(session: Session, activity_id: int) -> EstimateStatus | None:
    """This activity's exclusion, the artifacts removed from its streams and the current
    estimates that come from it (``None`` for an unknown activity)."""
    row = session.execute(
        select(Activity.local_date, Activity.excluded_from_estimates_at, ActivityMetrics.artifacts)
        .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .where(Activity.id == activity_id)
    ).first()
    if row is None:
        return None
    current = current_thresholds(session)
    holds = tuple(
        kind
        for kind in ESTIMATED_KINDS
        if _estimated(current.get(kind)) and activity_id in source_ids(current.get(kind))
    )
    return EstimateStatus(
        activity_id=activity_id,
        day=row.local_date,
        excluded_at=row.excluded_from_estimates_at,
        artifacts=row.artifacts or {},
        holds=holds,
    )


def _estimated(entry: Any) -> bool:
    return isinstance(entry, dict) and str(entry.get("source") or "").startswith("estimated:")


@dataclass(frozen=True)
class CurrentEstimate:
    """A threshold in force that was estimated, and the activities it came from."""

    kind: str
    value: float
    source: str  # how it was estimated (``max_sustained_hr``, ``eftp_90d`` …)
    activities: tuple[ActivityLink, ...]


@dataclass(frozen=True)
class Overview:
    """What Settings shows: the estimates in force with their activities, and the activities
    the owner left out."""

    estimates: list[CurrentEstimate]
    excluded: list[tuple[ActivityLink, datetime]]

    @property
    def by_kind(self) -> dict[str, CurrentEstimate]:
        return {estimate.kind: estimate for estimate in self.estimates}


def overview(session: Session) -> Overview:
    current = current_thresholds(session)
    entries = {kind: current[kind] for kind in ESTIMATED_KINDS if _estimated(current.get(kind))}
    named = links(session, (i for entry in entries.values() for i in source_ids(entry)))
    estimates = [
        CurrentEstimate(
            kind=kind,
            value=float(entry["value"]),
            source=str(entry["source"]).partition(":")[2],
            activities=tuple(named[i] for i in source_ids(entry) if i in named),
        )
        for kind, entry in entries.items()
    ]
    excluded = [
        (ActivityLink(row.id, row.name, row.sport, row.local_date), row.excluded_from_estimates_at)
        for row in session.execute(
            select(
                Activity.id,
                Activity.name,
                Activity.sport,
                Activity.local_date,
                Activity.excluded_from_estimates_at,
            )
            .where(Activity.excluded_from_estimates_at.is_not(None))
            .order_by(Activity.local_date.desc(), Activity.id.desc())
        )
    ]
    return Overview(estimates=estimates, excluded=excluded)


def set_excluded(session: Session, activity_id: int, excluded: bool) -> date | None:
    """Leave the activity out of threshold estimates (or take it back). Returns its day, from
    which metrics must be recomputed, or ``None`` when the activity is unknown. Setting the
    state it already has changes nothing (and still returns the day: a recompute then finds
    nothing to redo)."""
    row = session.execute(
        select(Activity.local_date, Activity.excluded_from_estimates_at).where(
            Activity.id == activity_id
        )
    ).first()
    if row is None:
        return None
    if excluded != (row.excluded_from_estimates_at is not None):
        session.execute(
            update(Activity)
            .where(Activity.id == activity_id)
            .values(excluded_from_estimates_at=func.now() if excluded else None)
        )
    return row.local_date


def choose(sessions: sessionmaker[Session], runner, activity_id: int, *, use: bool) -> date | None:
    """Leave an activity out of the threshold estimates or use it again, then recompute from
    its day on the background-work runner; the day, or ``None`` when there is no such activity."""
    with sessions.begin() as session:
        day = set_excluded(session, activity_id, excluded=not use)
    if day is not None:
        runner.submit_recompute_changed(day)
    return day
