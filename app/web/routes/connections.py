"""The Connections page: connect a source (with an MFA step), watch its backfill, sync now,
pause or resume the history download, disconnect. Every change is a POST answered with a
redirect back to the page (the cross-origin guard covers them); the source's card polls itself
with HTMX while something is under way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.i18n import format_datetime
from app.jobs.nightly import NIGHTLY_SYNC
from app.services import connection_status, connections, linking
from app.services.imports.messages import describe
from app.services.sync_sources import SyncSource
from app.web.deps import db_session
from app.web.templating import render

router = APIRouter()
MAX_FIELD = 320


def _now() -> datetime:
    return datetime.now(UTC)


def _source(request: Request, name: str) -> SyncSource:
    source = request.app.state.sync_sources.get(name)
    if source is None:
        raise HTTPException(status_code=404)
    return source


def _next_run(request: Request) -> datetime | None:
    scheduler = request.app.state.scheduler
    return scheduler.next_run(NIGHTLY_SYNC) if scheduler is not None else None


def _context(request: Request, session: Session) -> dict:
    now = _now()
    runner = request.app.state.sync_runner
    views = [
        connection_status.source_view(session, source, now)
        for source in request.app.state.sync_sources.values()
    ]
    return {
        "views": views,
        "busy": {view.name: runner.busy(view.name) for view in views},
        "next_run": _next_run(request),
        "notice": request.query_params.get("notice"),
        "notice_source": request.query_params.get("source"),
        "describe": describe,
        "format_datetime": format_datetime,
    }


@router.get("/connections", name="connections")
def page(request: Request, session: Session = Depends(db_session)) -> Response:
    return render(
        request,
        "connections/page.html",
        _context(request, session),
        fragment="connections/_content.html",
    )


@router.get("/connections/{name}/card", name="connections:card")
def card(request: Request, name: str, session: Session = Depends(db_session)) -> Response:
    source = _source(request, name)
    context = _context(request, session)
    context["view"] = next(v for v in context["views"] if v.name == source.name)
    return render(request, "connections/_card.html", context)


def _back(request: Request, name: str, notice: str | None = None) -> RedirectResponse:
    url = request.url_for("connections").include_query_params(source=name)
    if notice:
        url = url.include_query_params(notice=notice)
    return RedirectResponse(str(url.replace(fragment=name)), status_code=303)


@router.post("/connections/{name}/sign-in", name="connections:sign_in")
def sign_in(
    request: Request,
    name: str,
    email: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    password: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    _source(request, name)
    if not email.strip() or not password:
        return _back(request, name, "credentials_missing")
    try:
        with request.app.state.sessions.begin() as session:
            linking.begin_sign_in(session, name, email, _now())
    except linking.SignInRefused as refused:
        return _back(request, name, refused.code)
    request.app.state.sync_runner.submit_sign_in(name, email.strip(), password)
    return _back(request, name)


@router.post("/connections/{name}/mfa", name="connections:mfa")
def mfa(request: Request, name: str, code: Annotated[str, Form(max_length=32)] = "") -> Response:
    _source(request, name)
    if not code.strip():
        return _back(request, name, "mfa_code_missing")
    outcome = request.app.state.sync_runner.submit_mfa(name, code)
    return _back(request, name, None if outcome == "connected" else outcome)


@router.post("/connections/{name}/cancel", name="connections:cancel")
def cancel(request: Request, name: str) -> Response:
    _source(request, name)
    with request.app.state.sessions.begin() as session:
        linking.cancel_sign_in(session, name)
    return _back(request, name)


@router.post("/connections/{name}/sync", name="connections:sync")
def sync_now(request: Request, name: str) -> Response:
    _source(request, name)
    with request.app.state.sessions() as session:
        connection = connections.peek_connection(session, name)
    if connection.status != "connected":
        return _back(request, name, "not_connected")
    request.app.state.sync_runner.submit_sync(name)
    return _back(request, name)


def _set_paused(request: Request, name: str, paused: bool) -> None:
    with request.app.state.sessions.begin() as session:
        connections.get_connection(session, name).backfill_paused = paused


@router.post("/connections/{name}/pause", name="connections:pause")
def pause(request: Request, name: str) -> Response:
    _source(request, name)
    _set_paused(request, name, True)
    return _back(request, name)


@router.post("/connections/{name}/resume", name="connections:resume")
def resume(request: Request, name: str) -> Response:
    _source(request, name)
    _set_paused(request, name, False)
    request.app.state.sync_runner.submit_sync(name)
    return _back(request, name)


@router.post("/connections/{name}/disconnect", name="connections:disconnect")
def disconnect(request: Request, name: str) -> Response:
    _source(request, name)
    with request.app.state.sessions.begin() as session:
        connections.disconnect(session, name)
    return _back(request, name)
