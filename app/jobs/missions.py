"""The missions' clock: every few minutes (and once at start-up, for a NAS that was off across
a midnight) the moves the clock owes — the event starting at midnight of its first day, the
mission completing at midnight after its last, in the mission's own time zone — are made and
recorded (``app.services.missions.apply_due``: idempotent)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from app.jobs.registry import JobSpec
from app.services import missions

log = logging.getLogger(__name__)

MISSION_CLOCK = "missions.clock"
EVERY_MINUTES = 5


def tick(
    sessions: sessionmaker[Session],
    now: Callable[[], datetime] | None = None,
    *,
    completed: Callable[[int], object] | None = None,
) -> int:
    """Make every move due now; returns how many were made; ``completed(mission_id)`` for each
    mission whose event just ended (the wrap-up). Never raises (a failure is logged and the
    next tick tries again)."""
    moment = (now or (lambda: datetime.now(UTC)))()
    try:
        made = missions.apply_due(sessions, moment)
    except Exception:
        log.exception("the missions' clock could not move a mission; it tries again shortly")
        return 0
    for mission_id, move in made:
        if completed is not None and move.target.value == "mission_complete":
            try:
                completed(mission_id)
            except Exception:
                log.exception("mission %s: the wrap-up could not be queued", mission_id)
        log.info(
            "mission %s: %s → %s (due %s)",
            mission_id,
            move.source.value,
            move.target.value,
            move.due_at.isoformat() if move.due_at else "now",
        )
    return len(made)


def mission_clock_job(
    sessions: sessionmaker[Session], completed: Callable[[int], object] | None = None
) -> JobSpec:
    return JobSpec(
        id=MISSION_CLOCK,
        description="Start and complete missions at midnight in their own time zone",
        func=lambda: tick(sessions, completed=completed),
        trigger=IntervalTrigger(minutes=EVERY_MINUTES, timezone="UTC"),
        catch_up=False,  # start-up runs it once instead (app.web.app)
    )
