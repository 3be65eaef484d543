"""The Connections page: connect a source (Garmin: email, password and an MFA step; Strava and
Oura: the owner's own API application through OAuth), watch its backfill, sync now, pause or
resume the history download, disconnect. Every change is a POST answered with a redirect back to
the page (the cross-origin guard covers them); the OAuth callback is a GET whose single-use
``state`` proves it answers a Connect pressed here. The source's card polls itself with HTMX
while something is under way."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.i18n import format_datetime
from app.jobs.nightly import NIGHTLY_SYNC
from app.services import (
    connection_status,
    connections,
    linking,
    oauth,
    strava_uploads,
    wellness_sources,
)
from app.services.imports.messages import describe, known_codes
from app.services.sync_sources import SyncSource
from app.sources import SourceAuthError, SourceError, SourceUnavailable
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


def callback_url(request: Request, name: str) -> str:
    """Where the service sends the browser back: under ``DOMESTIQUE_PUBLIC_URL`` when set."""
    path = request.app.url_path_for("connections:callback", name=name)
    public = request.app.state.settings.public_url
    if public:
        return public.rstrip("/") + path
    return str(request.url_for("connections:callback", name=name))


def _apps(request: Request, session: Session) -> dict[str, dict]:
    """Per OAuth source: the saved application's client id and the callback address to give
    the service."""
    out = {}
    for source in request.app.state.sync_sources.values():
        if source.oauth is None:
            continue
        credentials = oauth.load_app_credentials(session, request.app.state.secret_box, source.name)
        url = callback_url(request, source.name)
        out[source.name] = {
            "client_id": credentials.client_id if credentials else None,
            "callback_url": url,
            "callback_host": urlsplit(url).hostname or "",
        }
    return out


def _context(request: Request, session: Session) -> dict:
    now = _now()
    runner = request.app.state.sync_runner
    views = [
        connection_status.source_view(session, source, now)
        for source in request.app.state.sync_sources.values()
    ]
    return {
        "views": views,
        "apps": _apps(request, session),
        "uploads": strava_uploads.summary(session),
        "upload_options": strava_uploads.options(session),
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
    """Forget the tokens (Strava is asked to withdraw its approval first); data stays."""
    source = _source(request, name)
    oauth.revoke(request.app.state.sessions, request.app.state.secret_box, source)
    with request.app.state.sessions.begin() as session:
        connections.disconnect(session, name)
        wellness_sources.connection_changed(session, name)
    return _back(request, name)


# --- OAuth sources (Strava, Oura) -----------------------------------------------------------


def _oauth_source(request: Request, name: str) -> SyncSource:
    source = _source(request, name)
    if source.oauth is None:
        raise HTTPException(status_code=404)
    return source


def _refusal(error: SourceError) -> str:
    """The message code for a connection the service refused or could not finish: the
    adapter's own when the page has a sentence for it (Strava's inactive application, Oura's
    retired personal token…), else a general one."""
    if isinstance(error, SourceUnavailable):
        return "oauth_unreachable"
    code = getattr(error, "code", None)
    if isinstance(error, SourceAuthError) and code in known_codes():
        return code
    return "oauth_code_rejected"


@router.post("/connections/{name}/app", name="connections:app")
def save_app(
    request: Request,
    name: str,
    client_id: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    client_secret: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    """Keep the owner's application credentials (encrypted), then connect at once."""
    _oauth_source(request, name)
    try:
        with request.app.state.sessions.begin() as session:
            oauth.save_app_credentials(
                session, request.app.state.secret_box, name, client_id, client_secret
            )
    except oauth.OAuthError as error:
        return _back(request, name, error.code)
    return authorize(request, name)


@router.post("/connections/{name}/authorize", name="connections:authorize")
def authorize(request: Request, name: str) -> Response:
    """Send the browser to the service to approve the owner's application."""
    source = _oauth_source(request, name)
    redirect_uri = callback_url(request, name)
    try:
        with request.app.state.sessions.begin() as session:
            url = oauth.begin(
                session,
                request.app.state.secret_box,
                name,
                _now(),
                lambda app, state: source.oauth.authorize_url(app.client_id, redirect_uri, state),
            )
    except oauth.OAuthError as error:
        return _back(request, name, error.code)
    return RedirectResponse(url, status_code=303)


def _refuse(request: Request, name: str, state: str, notice: str) -> Response:
    """End a callback without connecting; the state is spent either way, so the attempt
    cannot be replayed (a state that does not match says so instead)."""
    with request.app.state.sessions.begin() as session:
        try:
            oauth.take_state(session, name, state[:MAX_FIELD], _now())
        except oauth.OAuthError as refused:
            return _back(request, name, refused.code)
    return _back(request, name, notice)


@router.get("/connections/{name}/callback", name="connections:callback")
def callback(
    request: Request,
    name: str,
    state: str = "",
    code: str = "",
    error: str = "",
    scope: str = "",
) -> Response:
    """The service sends the browser back here with a code (or an error) and our state."""
    source = _oauth_source(request, name)
    if error or not code:
        return _refuse(request, name, state, "oauth_denied")
    if (
        name == "strava"
        and scope
        and not {"activity:read", "activity:read_all"} & set(scope.split(","))
    ):  # the owner unticked reading activities: connecting would import nothing
        return _refuse(request, name, state, "strava_read_scope_missing")
    redirect_uri = callback_url(request, name)
    try:
        oauth.finish(
            request.app.state.sessions,
            request.app.state.secret_box,
            name,
            state=state[:MAX_FIELD],
            now=_now(),
            exchange=lambda app: source.oauth.exchange(
                app.client_id, app.client_secret, code[:MAX_FIELD], redirect_uri
            ),
        )
    except oauth.OAuthError as refused:
        return _back(request, name, refused.code)
    except SourceError as refused:
        return _back(request, name, _refusal(refused))
    with request.app.state.sessions.begin() as session:
        wellness_sources.connection_changed(session, name)
        if name == "strava":
            strava_uploads.set_granted_scope(session, scope[:MAX_FIELD])
    request.app.state.sync_runner.submit_sync(name)
    if name == "strava":
        request.app.state.sync_runner.submit_uploads()  # any left waiting by a disconnect
    return _back(request, name)


@router.post("/connections/{name}/personal-token", name="connections:personal_token")
def personal_token(
    request: Request, name: str, token: Annotated[str, Form(max_length=2048)] = ""
) -> Response:
    """Oura's legacy personal access token, checked against Oura before it is stored."""
    source = _oauth_source(request, name)
    if source.oauth.personal_token is None:
        raise HTTPException(status_code=404)
    if not token.strip():
        return _back(request, name, "personal_token_missing")
    try:
        tokens = source.oauth.personal_token(token)
    except SourceError as refused:
        return _back(request, name, _refusal(refused))
    with request.app.state.sessions.begin() as session:
        connections.save_tokens(session, request.app.state.secret_box, name, tokens)
        wellness_sources.connection_changed(session, name)
    request.app.state.sync_runner.submit_sync(name)
    return _back(request, name)


@router.post("/connections/{name}/forget-app", name="connections:forget_app")
def forget_app(request: Request, name: str) -> Response:
    """Forget the application credentials (and the connection made with them)."""
    source = _oauth_source(request, name)
    oauth.revoke(request.app.state.sessions, request.app.state.secret_box, source)
    with request.app.state.sessions.begin() as session:
        connections.disconnect(session, name)
        oauth.forget_app_credentials(session, name)
        wellness_sources.connection_changed(session, name)
    return _back(request, name)


@router.post("/connections/strava/options", name="connections:strava_options")
def strava_options(
    request: Request, auto_upload: Annotated[str, Form(max_length=8)] = ""
) -> Response:
    """Turn auto-upload of new activities to Strava on or off."""
    _oauth_source(request, "strava")
    on = auto_upload == "on"
    with request.app.state.sessions.begin() as session:
        strava_uploads.set_auto_upload(session, on, _now())
    if on:
        request.app.state.sync_runner.submit_uploads()
    return _back(request, "strava")
