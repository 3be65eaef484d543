"""Connecting OAuth sources (Strava, Oura) with the owner's own API application.

- **Application credentials** (client id and secret) are the owner's; they are stored encrypted
  in ``connection.app_credentials_encrypted`` and survive a disconnect.
- **Authorization**: ``begin`` makes a random ``state`` (256 bits), keeps only its SHA-256
  digest for ``STATE_TTL``, and returns the URL to send the browser to. ``finish`` (the callback)
  spends the state in one conditional UPDATE (a state works once, even for two callbacks at the
  same moment), trades the code for tokens and stores them encrypted. A callback without a
  matching state changes nothing.
- **Refresh under a lock**: ``fresh_tokens`` takes the source's PostgreSQL advisory lock (so two
  threads or two processes never refresh the same single-use Oura refresh token), reads the
  tokens *again* inside the lock (the other holder may have refreshed them already), refreshes
  only when still needed, and commits the new pair before anything uses it.

The adapters (``app/sources/strava``, ``app/sources/oura``) talk HTTP; this module is where
tokens meet the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from app.db.locks import advisory_lock
from app.models import Connection
from app.security.keys import SecretBox
from app.services.sync import connections
from app.services.sync.connections import ClientContext
from app.sources import SourceAuthError, SourceError

log = logging.getLogger(__name__)
STATE_TTL = timedelta(minutes=15)
OAUTH_SOURCES = ("strava", "oura")


class OAuthError(Exception):
    """Connecting failed in a way the page explains (``code`` is a message code)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class AppCredentials:
    client_id: str
    client_secret: str

    def to_json(self) -> str:
        return json.dumps({"client_id": self.client_id, "client_secret": self.client_secret})


def save_app_credentials(
    session: Session, box: SecretBox, source: str, client_id: str, client_secret: str
) -> None:
    client_id, client_secret = client_id.strip(), client_secret.strip()
    if not client_id or not client_secret:
        raise OAuthError("app_credentials_missing")
    if source == "strava" and not client_id.isdigit():
        raise OAuthError("strava_client_id_invalid")
    connection = connections.get_connection(session, source)
    connection.app_credentials_encrypted = box.encrypt(
        AppCredentials(client_id, client_secret).to_json()
    )
    session.flush()


def load_app_credentials(session: Session, box: SecretBox, source: str) -> AppCredentials | None:
    connection = connections.peek_connection(session, source)
    if connection.app_credentials_encrypted is None:
        return None
    stored = json.loads(box.decrypt(connection.app_credentials_encrypted))
    return AppCredentials(str(stored["client_id"]), str(stored["client_secret"]))


def forget_app_credentials(session: Session, source: str) -> None:
    connection = connections.get_connection(session, source)
    connection.app_credentials_encrypted = None
    session.flush()


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def begin(
    session: Session,
    box: SecretBox,
    source: str,
    now: datetime,
    authorize_url: Callable[[AppCredentials, str], str],
) -> str:
    """Start an authorization: returns the URL to redirect the owner's browser to."""
    credentials = load_app_credentials(session, box, source)
    if credentials is None:
        raise OAuthError("app_credentials_missing")
    state = secrets.token_urlsafe(32)
    connection = connections.get_connection(session, source)
    connection.oauth_state_hash = _digest(state)
    connection.oauth_state_expires_at = now + STATE_TTL
    session.flush()
    return authorize_url(credentials, state)


def take_state(session: Session, source: str, state: str, now: datetime) -> None:
    """Check and spend the callback's ``state`` in one statement, so two callbacks racing with
    the same state cannot both pass (raises ``OAuthError("oauth_state_invalid")``)."""
    spent = session.execute(
        update(Connection)
        .where(
            Connection.source == source,
            Connection.oauth_state_hash == _digest(state or ""),
            Connection.oauth_state_expires_at > now,
        )
        .values(oauth_state_hash=None, oauth_state_expires_at=None)
        .returning(Connection.source)
    ).first()
    if spent is None:
        raise OAuthError("oauth_state_invalid")


def finish(
    sessions: sessionmaker[Session],
    box: SecretBox,
    source: str,
    *,
    state: str,
    now: datetime,
    exchange: Callable[[AppCredentials], tuple[str, str | None]],
) -> None:
    """The callback: spend the state, trade the code (``exchange`` returns the tokens JSON and
    an account label) and store the tokens. The state is spent even when the exchange fails."""
    with sessions.begin() as session:
        take_state(session, source, state, now)
        credentials = load_app_credentials(session, box, source)
    if credentials is None:
        raise OAuthError("app_credentials_missing")
    tokens, account = exchange(credentials)
    with sessions.begin() as session:
        connections.save_tokens(session, box, source, tokens, account=account)


def fresh_tokens(
    sessions: sessionmaker[Session],
    box: SecretBox,
    source: str,
    refresh: Callable[[str, AppCredentials | None], str | None],
) -> str:
    """The source's tokens, refreshed first when ``refresh`` says so.

    ``refresh(tokens, credentials)`` returns the new tokens JSON after spending the refresh
    token, or None when no refresh is needed. It runs under the source's advisory lock with the
    tokens read inside the lock; the new tokens are committed before this returns. When the
    refresh raises, nothing is stored and the error goes to the caller."""
    with advisory_lock(sessions, f"oauth:{source}"):
        with sessions() as session:
            tokens = connections.load_tokens(session, box, source)
            credentials = load_app_credentials(session, box, source)
        if tokens is None:
            raise SourceAuthError(f"{source} is not connected")
        renewed = refresh(tokens, credentials)
        if renewed is None or renewed == tokens:
            return tokens
        with sessions.begin() as session:
            connections.keep_rotated_tokens(session, box, source, renewed)
        return renewed


def revoke(sessions: sessionmaker[Session], box: SecretBox, source) -> bool:
    """Before forgetting the tokens on *Disconnect*: ask the service to withdraw the owner's
    approval where it can (Strava). Best effort: the owner can always revoke on the service's
    site, and a failure here must not keep the connection alive. Returns whether it worked."""
    withdraw = source.oauth.revoke if source.oauth is not None else None
    if withdraw is None:
        return False
    with sessions() as session:
        tokens = connections.load_tokens(session, box, source.name)
    if tokens is None:
        return False
    try:
        withdraw(ClientContext(tokens, sessions, box))
    except SourceError as error:
        log.warning("%s did not withdraw its approval: %s", source.name, type(error).__name__)
        return False
    return True
