"""What the plan pages remember between requests: a stored revision's content never changes, so
what is read or computed from it (its validated plan, the weeks a page shows, the estimates of
their workouts under given thresholds) is kept in small in-process maps of the most recently
used values, keyed by the database and the revision's id (and by the thresholds for estimates:
new thresholds are a new key, so the old estimates are never read again). The database is part
of the key because revision ids are only unique within one (the tests serve several databases
from one process)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.coach.plans import Plan, PlannedWorkout
from app.models import PlanRevision

_EVERY: list[Recent] = []


class Recent[K: Hashable, V]:
    """At most ``size`` values, the least recently used dropped first; safe across threads (the
    pages run in the web server's thread pool)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        _EVERY.append(self)

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value of ``key``, made by ``make()`` (outside the lock) when it is not kept."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def forget_all() -> None:
    """Drop every kept value (tests measuring the work of a first request)."""
    for kept in _EVERY:
        kept.clear()


def database_of(session: Session) -> tuple[str | None, int | None, str | None]:
    """Which database ``session`` reads (part of every key here)."""
    url = session.get_bind().engine.url
    return url.host, url.port, url.database


_PLANS: Recent[tuple[Hashable, int], Plan] = Recent(8)


def revision_plan(session: Session, revision_id: int) -> Plan:
    """A stored revision's plan, read and validated once (a two-year plan's content takes longer
    to read and validate than a page takes to render)."""

    def load() -> Plan:
        content = session.execute(
            select(PlanRevision.content).where(PlanRevision.id == revision_id)
        ).scalar_one()
        return Plan.model_validate(content)

    return _PLANS.get((database_of(session), revision_id), load)


_WORKOUTS: Recent[tuple[Hashable, int], dict[str, PlannedWorkout]] = Recent(8)


def revision_workouts(session: Session, revision_id: int) -> dict[str, PlannedWorkout]:
    """A stored revision's workouts by id."""
    return _WORKOUTS.get(
        (database_of(session), revision_id),
        lambda: {w.id: w for w in revision_plan(session, revision_id).workouts},
    )


_WEEKS: Recent[tuple[Hashable, int], tuple[date, int]] = Recent(16)


def revision_weeks(session: Session, revision_id: int) -> tuple[date, int]:
    """A stored revision's first day and number of weeks (the weeks follow one another), read
    out of its content by the database once."""

    def load() -> tuple[date, int]:
        first, count = session.execute(
            select(
                PlanRevision.content[("weeks", 0, "start")].astext,
                func.jsonb_array_length(PlanRevision.content["weeks"]),
            ).where(PlanRevision.id == revision_id)
        ).one()
        return date.fromisoformat(first), int(count)

    return _WEEKS.get((database_of(session), revision_id), load)
