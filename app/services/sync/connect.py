"""What the Connections page does, one function per action, each owning its side effects: sign in
(Garmin), the OAuth flow and personal tokens (Strava, Oura), sync now, pause or resume the
history, disconnect and forget the application — and after every change of who is connected,
which wellness source wins is settled again (``origins.connection_changed``).

Each action returns the notice code the page shows (``None`` when all went well); the page's
sentences for them are in ``app.messages``. Work that takes long (a sign-in, a sync, uploads) is
queued on the background-work runner, never done in the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from app.messages import known_codes
from app.security.keys import SecretBox
from app.services.sync import connections, linking, oauth, status, strava_uploads
from app.services.sync.adapters import SyncSource
from app.services.wellness import origins
from app.sources import SourceAuthError, SourceError, SourceUnavailable

MAX_FIELD = 320
STRAVA_READ_SCOPES = frozenset({"activity:read", "activity:read_all"})


class Runner(Protocol):
    """The part of the background-work runner the Connections page uses."""

    def submit_sync(self, name: str, mode: str = "auto") -> Any: ...
    def submit_uploads(self) -> Any: ...
    def submit_sign_in(self, name: str, email: str, password: str) -> Any: ...
    def submit_mfa(self, name: str, code: str) -> str: ...


@dataclass(frozen=True)
class Desk:
    """What the actions need from the running app: the database, the key box, the sources the
    sync knows and the runner that does the long work."""

    sessions: sessionmaker[Session]
    box: SecretBox
    sources: dict[str, SyncSource]
    runner: Runner


@dataclass(frozen=True)
class ConnectionsPage:
    """The Connections page's read model."""

    views: list[status.SourceView]
    apps: dict[str, dict]
    uploads: dict[str, int]
    upload_options: strava_uploads.UploadOptions
    next_run: datetime | None


def page(
    desk: Desk,
    now: datetime,
    *,
    callback_url: Callable[[str], str],
    next_run: datetime | None,
) -> ConnectionsPage:
    """Every source's card (its syncs as the background work's record says: ``status``), the
    OAuth applications (client id, the callback address to give the service) and Strava's
    uploads."""
    with desk.sessions() as session:
        views = [status.source_view(session, source, now) for source in desk.sources.values()]
        apps = {}
        for source in desk.sources.values():
            if source.oauth is None:
                continue
            credentials = oauth.load_app_credentials(session, desk.box, source.name)
            url = callback_url(source.name)
            apps[source.name] = {
                "client_id": credentials.client_id if credentials else None,
                "callback_url": url,
                "callback_host": urlsplit(url).hostname or "",
            }
        uploads = strava_uploads.summary(session)
        upload_options = strava_uploads.options(session)
    return ConnectionsPage(
        views=views,
        apps=apps,
        uploads=uploads,
        upload_options=upload_options,
        next_run=next_run,
    )


# --- email and password (Garmin) -------------------------------------------------------------


def sign_in(desk: Desk, name: str, email: str, password: str, now: datetime) -> str | None:
    """Start a sign-in in the background (it is slow); the card follows it."""
    if not email.strip() or not password:
        return "credentials_missing"
    try:
        with desk.sessions.begin() as session:
            linking.begin_sign_in(session, name, email, now)
    except linking.SignInRefused as refused:
        return refused.code
    desk.runner.submit_sign_in(name, email.strip(), password)
    return None


def answer_mfa(desk: Desk, name: str, code: str) -> str | None:
    if not code.strip():
        return "mfa_code_missing"
    outcome = desk.runner.submit_mfa(name, code)
    return None if outcome == "connected" else outcome


def cancel_sign_in(desk: Desk, name: str) -> None:
    with desk.sessions.begin() as session:
        linking.cancel_sign_in(session, name)


# --- syncing ---------------------------------------------------------------------------------


def sync_now(desk: Desk, name: str) -> str | None:
    with desk.sessions() as session:
        connection = connections.peek_connection(session, name)
    if connection.status != "connected":
        return "not_connected"
    desk.runner.submit_sync(name)
    return None


def set_backfill_paused(desk: Desk, name: str, paused: bool) -> None:
    """Pause the history download, or resume it at once."""
    with desk.sessions.begin() as session:
        connections.get_connection(session, name).backfill_paused = paused
    if not paused:
        desk.runner.submit_sync(name)


# --- disconnecting ---------------------------------------------------------------------------


def disconnect(desk: Desk, source: SyncSource, *, forget_app: bool = False) -> None:
    """Forget the tokens (the service is asked to withdraw its approval first, where it can) —
    and with ``forget_app`` the owner's application credentials too; the data stays."""
    oauth.revoke(desk.sessions, desk.box, source)
    with desk.sessions.begin() as session:
        connections.disconnect(session, source.name)
        if forget_app:
            oauth.forget_app_credentials(session, source.name)
        origins.connection_changed(session, source.name)


# --- OAuth (Strava, Oura) --------------------------------------------------------------------


def refusal(error: SourceError) -> str:
    """The message code for a connection the service refused or could not finish: the
    adapter's own when the page has a sentence for it (Strava's inactive application, Oura's
    retired personal token…), else a general one."""
    if isinstance(error, SourceUnavailable):
        return "oauth_unreachable"
    code = getattr(error, "code", None)
    if isinstance(error, SourceAuthError) and code in known_codes():
        return code
    return "oauth_code_rejected"


def save_app(desk: Desk, name: str, client_id: str, client_secret: str) -> str | None:
    """Keep the owner's application credentials, encrypted."""
    try:
        with desk.sessions.begin() as session:
            oauth.save_app_credentials(session, desk.box, name, client_id, client_secret)
    except oauth.OAuthError as error:
        return error.code
    return None


def authorize(desk: Desk, source: SyncSource, redirect_uri: str, now: datetime) -> str:
    """Where to send the browser to approve the owner's application (``OAuthError`` when it
    cannot be asked)."""
    assert source.oauth is not None
    authorize_url = source.oauth.authorize_url
    with desk.sessions.begin() as session:
        return oauth.begin(
            session,
            desk.box,
            source.name,
            now,
            lambda app, state: authorize_url(app.client_id, redirect_uri, state),
        )


def _refuse(desk: Desk, name: str, state: str, notice: str, now: datetime) -> str:
    """End a callback without connecting; the state is spent either way, so the attempt
    cannot be replayed (a state that does not match says so instead)."""
    with desk.sessions.begin() as session:
        try:
            oauth.take_state(session, name, state[:MAX_FIELD], now)
        except oauth.OAuthError as refused:
            return refused.code
    return notice


def finish_oauth(
    desk: Desk,
    source: SyncSource,
    *,
    state: str,
    code: str,
    error: str,
    scope: str,
    redirect_uri: str,
    now: datetime,
) -> str | None:
    """The service sent the browser back: trade the code for tokens, settle the wellness
    sources, and start the first sync (for Strava also the uploads a disconnect left waiting)."""
    assert source.oauth is not None
    name = source.name
    if error or not code:
        return _refuse(desk, name, state, "oauth_denied", now)
    if name == "strava" and scope and not STRAVA_READ_SCOPES & set(scope.split(",")):
        # the owner unticked reading activities: connecting would import nothing
        return _refuse(desk, name, state, "strava_read_scope_missing", now)
    exchange = source.oauth.exchange
    try:
        oauth.finish(
            desk.sessions,
            desk.box,
            name,
            state=state[:MAX_FIELD],
            now=now,
            exchange=lambda app: exchange(
                app.client_id, app.client_secret, code[:MAX_FIELD], redirect_uri
            ),
        )
    except oauth.OAuthError as refused:
        return refused.code
    except SourceError as refused:
        return refusal(refused)
    with desk.sessions.begin() as session:
        origins.connection_changed(session, name)
        if name == "strava":
            strava_uploads.set_granted_scope(session, scope[:MAX_FIELD])
    desk.runner.submit_sync(name)
    if name == "strava":
        desk.runner.submit_uploads()  # any left waiting by a disconnect
    return None


def connect_personal_token(desk: Desk, source: SyncSource, token: str) -> str | None:
    """Oura's legacy personal access token, checked against Oura before it is stored."""
    assert source.oauth is not None and source.oauth.personal_token is not None
    if not token.strip():
        return "personal_token_missing"
    try:
        tokens = source.oauth.personal_token(token)
    except SourceError as refused:
        return refusal(refused)
    with desk.sessions.begin() as session:
        connections.save_tokens(session, desk.box, source.name, tokens)
        origins.connection_changed(session, source.name)
    desk.runner.submit_sync(source.name)
    return None


def set_strava_auto_upload(desk: Desk, on: bool, now: datetime) -> None:
    """Turn auto-upload of new activities to Strava on (and upload what it covers) or off."""
    with desk.sessions.begin() as session:
        strava_uploads.set_auto_upload(session, on, now)
    if on:
        desk.runner.submit_uploads()
