"""The Connections page: connect a source (Garmin: email, password and an MFA step; Strava and
Oura: the owner's own API application through OAuth), watch its backfill, sync now, pause or
resume the history download, disconnect. Every change is a POST answered with a redirect back to
the page (the cross-origin guard covers them); the OAuth callback is a GET whose single-use
``state`` proves it answers a Connect pressed here. The source's card polls itself with HTMX
while something is under way. Each route calls one function of ``app.services.sync.connect``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app.i18n import format_datetime
from app.messages import describe
from app.services.sync import connect
from app.services.sync.adapters import SyncSource
from app.services.sync.oauth import OAuthError
from app.services.work.schedule import NIGHTLY_SYNC
from app.web.templating import render

router = APIRouter()
MAX_FIELD = connect.MAX_FIELD


def _now() -> datetime:
    return datetime.now(UTC)


def _desk(request: Request) -> connect.Desk:
    state = request.app.state
    return connect.Desk(state.sessions, state.secret_box, state.sync_sources, state.work_runner)


def _source(request: Request, name: str) -> SyncSource:
    source = request.app.state.sync_sources.get(name)
    if source is None:
        raise HTTPException(status_code=404)
    return source


def _oauth_source(request: Request, name: str) -> SyncSource:
    source = _source(request, name)
    if source.oauth is None:
        raise HTTPException(status_code=404)
    return source


def callback_url(request: Request, name: str) -> str:
    """Where the service sends the browser back: under ``DOMESTIQUE_PUBLIC_URL`` when set."""
    path = request.app.url_path_for("connections:callback", name=name)
    public = request.app.state.settings.public_url
    if public:
        return public.rstrip("/") + path
    return str(request.url_for("connections:callback", name=name))


def _context(request: Request) -> dict:
    scheduler = request.app.state.scheduler
    model = connect.page(
        _desk(request),
        _now(),
        callback_url=lambda name: callback_url(request, name),
        next_run=scheduler.next_run(NIGHTLY_SYNC) if scheduler is not None else None,
    )
    return {
        **vars(model),
        "notice": request.query_params.get("notice"),
        "notice_source": request.query_params.get("source"),
        "describe": describe,
        "format_datetime": format_datetime,
    }


@router.get("/connections", name="connections")
def page(request: Request) -> Response:
    return render(
        request, "connections/page.html", _context(request), fragment="connections/_content.html"
    )


@router.get("/connections/{name}/card", name="connections:card")
def card(request: Request, name: str) -> Response:
    source = _source(request, name)
    context = _context(request)
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
    return _back(request, name, connect.sign_in(_desk(request), name, email, password, _now()))


@router.post("/connections/{name}/mfa", name="connections:mfa")
def mfa(request: Request, name: str, code: Annotated[str, Form(max_length=32)] = "") -> Response:
    _source(request, name)
    return _back(request, name, connect.answer_mfa(_desk(request), name, code))


@router.post("/connections/{name}/cancel", name="connections:cancel")
def cancel(request: Request, name: str) -> Response:
    _source(request, name)
    connect.cancel_sign_in(_desk(request), name)
    return _back(request, name)


@router.post("/connections/{name}/sync", name="connections:sync")
def sync_now(request: Request, name: str) -> Response:
    _source(request, name)
    return _back(request, name, connect.sync_now(_desk(request), name))


@router.post("/connections/{name}/pause", name="connections:pause")
def pause(request: Request, name: str) -> Response:
    _source(request, name)
    connect.set_backfill_paused(_desk(request), name, True)
    return _back(request, name)


@router.post("/connections/{name}/resume", name="connections:resume")
def resume(request: Request, name: str) -> Response:
    _source(request, name)
    connect.set_backfill_paused(_desk(request), name, False)
    return _back(request, name)


@router.post("/connections/{name}/disconnect", name="connections:disconnect")
def disconnect(request: Request, name: str) -> Response:
    """Forget the tokens (Strava is asked to withdraw its approval first); data stays."""
    connect.disconnect(_desk(request), _source(request, name))
    return _back(request, name)


# --- OAuth sources (Strava, Oura) -----------------------------------------------------------


@router.post("/connections/{name}/app", name="connections:app")
def save_app(
    request: Request,
    name: str,
    client_id: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    client_secret: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    """Keep the owner's application credentials (encrypted), then connect at once."""
    _oauth_source(request, name)
    refused = connect.save_app(_desk(request), name, client_id, client_secret)
    if refused is not None:
        return _back(request, name, refused)
    return authorize(request, name)


@router.post("/connections/{name}/authorize", name="connections:authorize")
def authorize(request: Request, name: str) -> Response:
    """Send the browser to the service to approve the owner's application."""
    source = _oauth_source(request, name)
    try:
        url = connect.authorize(_desk(request), source, callback_url(request, name), _now())
    except OAuthError as error:
        return _back(request, name, error.code)
    return RedirectResponse(url, status_code=303)


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
    notice = connect.finish_oauth(
        _desk(request),
        source,
        state=state,
        code=code,
        error=error,
        scope=scope,
        redirect_uri=callback_url(request, name),
        now=_now(),
    )
    return _back(request, name, notice)


@router.post("/connections/{name}/personal-token", name="connections:personal_token")
def personal_token(
    request: Request, name: str, token: Annotated[str, Form(max_length=2048)] = ""
) -> Response:
    """Oura's legacy personal access token, checked against Oura before it is stored."""
    source = _oauth_source(request, name)
    if source.oauth.personal_token is None:
        raise HTTPException(status_code=404)
    return _back(request, name, connect.connect_personal_token(_desk(request), source, token))


@router.post("/connections/{name}/forget-app", name="connections:forget_app")
def forget_app(request: Request, name: str) -> Response:
    """Forget the application credentials (and the connection made with them)."""
    connect.disconnect(_desk(request), _oauth_source(request, name), forget_app=True)
    return _back(request, name)


@router.post("/connections/strava/options", name="connections:strava_options")
def strava_options(
    request: Request, auto_upload: Annotated[str, Form(max_length=8)] = ""
) -> Response:
    """Turn auto-upload of new activities to Strava on or off."""
    _oauth_source(request, "strava")
    connect.set_strava_auto_upload(_desk(request), auto_upload == "on", _now())
    return _back(request, "strava")
