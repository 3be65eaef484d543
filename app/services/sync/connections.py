"""Connections to outside services: tokens encrypted at rest, rotation, "needs reconnect", and
a login cooldown that grows instead of a retry loop.

Garmin's login rate limit is per account and re-arms when retried, so a refused login is never
retried by itself: the next attempt waits ``login_cooldown(failures)`` (2 h, 4 h, 8 h … at most
24 h), or longer when the service said so (``Retry-After``). The clock is a parameter, so the
schedule is tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.models import Connection
from app.security.keys import SecretBox

FIRST_LOGIN_COOLDOWN = timedelta(hours=2)
MAX_LOGIN_COOLDOWN = timedelta(hours=24)


@dataclass(frozen=True)
class ClientContext:
    """What building a client may need: the stored tokens, and for OAuth sources the database
    (to refresh under a lock and store the new tokens at once)."""

    tokens: str
    sessions: sessionmaker[Session]
    box: SecretBox


def login_cooldown(failures: int) -> timedelta:
    """How long to wait after the ``failures``-th refused login in a row (1-based)."""
    if failures <= 0:
        return timedelta(0)
    return min(FIRST_LOGIN_COOLDOWN * 2 ** (failures - 1), MAX_LOGIN_COOLDOWN)


def get_connection(session: Session, source: str) -> Connection:
    """The connection row for ``source``, created (disconnected) on first use."""
    connection = session.get(Connection, source)
    if connection is None:
        connection = Connection(source=source, status="disconnected", cursors={})
        session.add(connection)
        session.flush()
    return connection


def peek_connection(session: Session, source: str) -> Connection:
    """The connection row, or an unsaved disconnected one (for pages: a GET writes nothing)."""
    return session.get(Connection, source) or Connection(
        source=source, status="disconnected", cursors={}, login_failures=0, backfill_paused=False
    )


def login_allowed(connection: Connection, now: datetime) -> bool:
    return connection.cooldown_until is None or now >= connection.cooldown_until


def record_login_refused(
    session: Session,
    source: str,
    now: datetime,
    *,
    code: str,
    retry_after: float | None = None,
) -> datetime:
    """Count a refused or rate-limited login; returns when the next attempt may happen."""
    connection = get_connection(session, source)
    connection.login_failures += 1
    wait = login_cooldown(connection.login_failures)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    connection.cooldown_until = now + wait
    connection.last_error_code = code
    session.flush()
    return connection.cooldown_until


def save_tokens(
    session: Session, box: SecretBox, source: str, tokens: str, *, account: str | None = None
) -> Connection:
    """A successful login: keep the tokens (encrypted; never the password). Signing in to a
    *different* account starts its history afresh (the cursors belong to the old one)."""
    connection = get_connection(session, source)
    if account and connection.account and account != connection.account:
        connection.cursors = {}
    connection.tokens_encrypted = box.encrypt(tokens)
    connection.status = "connected"
    connection.account = account or connection.account
    connection.login_failures = 0
    connection.cooldown_until = None
    connection.last_error_code = None
    session.flush()
    return connection


def load_tokens(session: Session, box: SecretBox, source: str) -> str | None:
    connection = session.get(Connection, source)
    if connection is None or connection.tokens_encrypted is None:
        return None
    return box.decrypt(connection.tokens_encrypted)


def keep_rotated_tokens(session: Session, box: SecretBox, source: str, tokens: str) -> bool:
    """After every job: store the tokens the service rotated (returns whether they changed).
    Garmin rotates refresh tokens; forgetting the new ones logs the owner out within days.
    A connection the owner disconnected meanwhile stays disconnected: nothing is written."""
    connection = session.get(Connection, source, with_for_update=True)
    if connection is None or connection.tokens_encrypted is None:
        return False
    if connection.status not in ("connected", "needs_reconnect"):
        return False
    if box.decrypt(connection.tokens_encrypted) == tokens:
        return False
    connection.tokens_encrypted = box.encrypt(tokens)
    session.flush()
    return True


def mark_needs_reconnect(session: Session, source: str, code: str) -> None:
    """The tokens stopped working: stop calling the service until the owner reconnects. A
    source that decides which wellness values are shown by default (Oura) hands them back."""
    from app.services.wellness import origins

    connection = get_connection(session, source)
    was = connection.status
    connection.status = "needs_reconnect"
    connection.last_error_code = code
    session.flush()
    if was == "connected":
        origins.connection_changed(session, source)


def disconnect(session: Session, source: str) -> None:
    """Forget the tokens. Imported data and sync cursors stay."""
    connection = get_connection(session, source)
    connection.tokens_encrypted = None
    connection.status = "disconnected"
    connection.login_state = None
    connection.mfa_state_encrypted = None
    connection.mfa_expires_at = None
    session.flush()
