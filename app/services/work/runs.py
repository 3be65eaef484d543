"""The record of the background work (``work_run``): every run the runner takes — what was
asked, when it was queued, started and finished, how it ended and a small result — so that its
status survives a restart and the pages read it from one place: ``status_of`` says how a run
stands as a page shows it, ``latest`` and ``recent_with_detail`` read runs (the latter with the
detail record a kind of work keeps of its own: a sync's ``sync_run``).

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

from sqlalchemy import ColumnElement, Uuid, null, select, union_all, update
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


@dataclass(frozen=True)
class RunStatus:
    """How one run stands, as the pages show it. ``status`` is the record's (``queued``,
    ``running``, ``done``, ``failed``, ``interrupted``) until the work's own detail record has
    finished, whose finer status (a sync's ``partial``, ``cooling_down`` …) then says it; a run
    a stopped process cut short is ``interrupted`` with the code ``work_interrupted`` even when
    its detail still says ``running``. ``detail`` is that record (``None`` while queued, or for
    work that keeps none); ``run`` is ``None`` for a detail from before the record, or made
    outside the runner (the command line)."""

    status: str
    error_code: str | None
    error_params: dict[str, Any]
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    parameters: dict[str, Any]
    result: dict[str, Any]
    run: WorkRun | None
    detail: Any | None


def status_of(run: WorkRun | None, detail: Any | None = None) -> RunStatus:
    """``run`` (and its ``detail``: a row with ``status``, ``error_code``, ``started_at`` and
    ``finished_at``) as the pages show it; one of the two at least."""
    finished = detail is not None and detail.finished_at is not None
    if run is None or finished:  # run is None: a detail with no record
        status, code, params = detail.status, detail.error_code, {}
        if run is not None and code is None and status == "failed":
            code, params = run.error_code, run.error_params or {}
    else:
        status, code, params = run.status, run.error_code, run.error_params or {}
    if status == "interrupted" and code is None:  # marked so by the next run, or at start-up
        code = "work_interrupted"
    return RunStatus(
        status=status,
        error_code=code,
        error_params=params,
        queued_at=run.queued_at if run is not None else None,
        started_at=detail.started_at if detail is not None else run.started_at,
        finished_at=(
            detail.finished_at if finished else run.finished_at if run is not None else None
        ),
        parameters=(run.parameters or {}) if run is not None else {},
        result=(run.result or {}) if run is not None else {},
        run=run,
        detail=detail,
    )


def recent_with_detail(
    session: Session,
    kind: str,
    detail: Any,
    *,
    parameters: dict[str, Any],
    unlinked: ColumnElement[bool],
    succeeded: ColumnElement[bool],
    limit: int = 20,
) -> tuple[list[RunStatus], datetime | None]:
    """The newest runs of ``kind`` whose parameters include ``parameters``, each with its
    ``detail`` row (a model with ``id``, ``work_run_id``, ``started_at`` and ``finished_at``),
    and the detail rows without a run that ``unlinked`` picks (rows from before the record, the
    command line's), newest first; and when the newest detail that ``succeeded`` (a condition
    on ``detail``) finished, over the whole history. One statement, each part read newest
    first through its index."""
    linked = (
        select(
            WorkRun.id.label("run_id"),
            detail.id.label("detail_id"),
            WorkRun.queued_at.label("at"),
        )
        .outerjoin(detail, detail.work_run_id == WorkRun.id)
        .where(WorkRun.kind == kind, WorkRun.parameters.contains(parameters))
        .order_by(WorkRun.queued_at.desc())
        .limit(limit)
        .subquery()
    )
    alone = (
        select(
            null().cast(Uuid).label("run_id"),
            detail.id.label("detail_id"),
            detail.started_at.label("at"),
        )
        .where(detail.work_run_id.is_(None), unlinked)
        .order_by(detail.started_at.desc())
        .limit(limit)
        .subquery()
    )
    both = union_all(select(linked), select(alone)).subquery()
    last_success = (
        select(detail.finished_at)
        .where(succeeded)
        .order_by(detail.started_at.desc())
        .limit(1)
        .correlate(None)
        .scalar_subquery()
    )
    statement = (
        select(WorkRun, detail, last_success)
        .select_from(both)
        .outerjoin(WorkRun, WorkRun.id == both.c.run_id)
        .outerjoin(detail, detail.id == both.c.detail_id)
        .order_by(both.c.at.desc(), both.c.detail_id.desc().nulls_first())
        .limit(limit)
    )
    rows = session.execute(statement).all()
    if not rows:
        return [], None
    return [status_of(run, row) for run, row, _ in rows], rows[0][2]


def recent(session: Session, kind: str | None = None, limit: int = 20) -> list[WorkRun]:
    """The newest runs (of ``kind``), newest first."""
    statement = select(WorkRun).order_by(WorkRun.queued_at.desc()).limit(limit)
    if kind is not None:
        statement = statement.where(WorkRun.kind == kind)
    return list(session.execute(statement).scalars())
