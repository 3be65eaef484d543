"""The record of the background work (``work_run``): every run the runner takes — what was
asked, when it was queued, started and finished, how it ended and a small result — so that its
status survives a restart and the pages read it from one place.

Recording never stops the work: a write that fails (the database is being replaced, say) is
logged and the run goes on. A run's id is made here (a UUID), so its outcome can be written by
id into a database a restore put in place meanwhile.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.models import WorkRun

log = logging.getLogger(__name__)

UNFINISHED = ("queued", "running")


@dataclass(frozen=True)
class Outcome:
    """How a run ended: ``done`` or ``failed`` (with a code and its parameters), and a small
    JSON-able result."""

    status: str
    result: dict[str, Any]
    error_code: str | None = None
    error_params: dict[str, Any] | None = None


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def queued(
    sessions: sessionmaker[Session],
    run_id: uuid.UUID,
    kind: str,
    parameters: dict[str, Any],
    at: datetime,
) -> None:
    """A run was asked for and waits its turn."""
    _write(sessions, run_id, kind, parameters, at, status="queued")


def started(
    sessions: sessionmaker[Session],
    run_id: uuid.UUID,
    kind: str,
    parameters: dict[str, Any],
    queued_at: datetime,
    at: datetime,
) -> None:
    """The run begins (its queued row is written now when it could not be then)."""
    _write(sessions, run_id, kind, parameters, queued_at, status="running", started_at=at)


def finished(
    sessions: sessionmaker[Session],
    run_id: uuid.UUID,
    kind: str,
    parameters: dict[str, Any],
    queued_at: datetime,
    started_at: datetime,
    at: datetime,
    outcome: Outcome,
) -> None:
    """The run ended; written whole when the database no longer has its row (a restore)."""
    _write(
        sessions,
        run_id,
        kind,
        parameters,
        queued_at,
        status=outcome.status,
        started_at=started_at,
        finished_at=at,
        error_code=outcome.error_code,
        error_params=outcome.error_params or {},
        result=outcome.result,
    )


def _write(
    sessions: sessionmaker[Session],
    run_id: uuid.UUID,
    kind: str,
    parameters: dict[str, Any],
    queued_at: datetime,
    **values: Any,
) -> None:
    try:
        with sessions.begin() as session:
            row = session.get(WorkRun, run_id)
            if row is None:
                row = WorkRun(id=run_id, kind=kind, parameters=parameters, queued_at=queued_at)
                session.add(row)
            for name, value in values.items():
                setattr(row, name, value)
    except Exception:  # the record must never stop the work
        log.exception("recording the %s run failed", kind)


def interrupt_left(
    sessions: sessionmaker[Session], now: datetime, *, keep: Collection[uuid.UUID] = ()
) -> int:
    """Mark the runs a stopped process (or a restored backup) left queued or running as
    ``interrupted``, except ``keep`` (this process's own). Returns how many."""
    statement = (
        update(WorkRun)
        .where(WorkRun.status.in_(UNFINISHED))
        .values(status="interrupted", finished_at=now)
    )
    if keep:
        statement = statement.where(WorkRun.id.not_in(list(keep)))
    with sessions.begin() as session:
        return session.execute(statement).rowcount


def latest(session: Session, kind: str) -> WorkRun | None:
    """The newest run of ``kind`` (a read helper)."""
    return session.execute(
        select(WorkRun)
        .where(WorkRun.kind == kind)
        .order_by(WorkRun.queued_at.desc(), WorkRun.started_at.desc().nulls_last())
        .limit(1)
    ).scalar()


def recent(session: Session, kind: str | None = None, limit: int = 20) -> list[WorkRun]:
    """The newest runs (of ``kind``), newest first."""
    statement = select(WorkRun).order_by(WorkRun.queued_at.desc()).limit(limit)
    if kind is not None:
        statement = statement.where(WorkRun.kind == kind)
    return list(session.execute(statement).scalars())
