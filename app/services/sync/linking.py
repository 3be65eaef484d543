"""Connecting an account: sign in once (in the background; it is slow), answer an MFA
challenge as a second step, keep only the tokens.

The password lives only in the memory of the sign-in call and is never stored or logged. An MFA
challenge (the pending sign-in's SSO cookies) is stored encrypted and expires after
``MFA_TTL``; a wrong code may be tried again until then. A sign-in the service rate-limits
starts the growing cooldown of ``connections.record_login_refused``; a wrong password does not
(it is the owner's typo, not a loop), but it is never retried by itself either.

``connection.login_state``: ``signing_in`` → (``mfa`` →) NULL when connected, or ``failed``
with ``last_error_code`` saying why.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from app.security.keys import SecretBox
from app.services.sync import connections
from app.sources import (
    MfaCodeRejected,
    SourceAuthError,
    SourceError,
    SourceRateLimited,
    SourceUnavailable,
)

log = logging.getLogger(__name__)
MFA_TTL = timedelta(minutes=10)


class LoginResultLike(Protocol):
    tokens: str | None
    mfa_state: dict[str, Any] | None


class LoginClient(Protocol):
    def start_login(self, email_address: str, password: str) -> LoginResultLike: ...

    def finish_login(self, mfa_state: dict[str, Any], code: str) -> str: ...


class SignInRefused(Exception):
    """A sign-in cannot start now; ``code`` says why, ``until`` when it may (cooldowns)."""

    def __init__(self, code: str, until: datetime | None = None) -> None:
        super().__init__(code)
        self.code, self.until = code, until


def begin_sign_in(session: Session, source: str, account: str, now: datetime) -> None:
    """Check a sign-in may start and mark it under way (the caller then runs ``sign_in``)."""
    connection = connections.get_connection(session, source)
    if connection.login_state == "signing_in":
        raise SignInRefused("sign_in_running")
    if not connections.login_allowed(connection, now):
        raise SignInRefused("login_cooldown", connection.cooldown_until)
    connection.login_state = "signing_in"
    connection.account = account.strip()
    connection.last_error_code = None
    _forget_challenge(connection)
    session.flush()


def _forget_challenge(connection: Any) -> None:
    connection.mfa_state_encrypted = None
    connection.mfa_expires_at = None


def _failed(session: Session, source: str, code: str) -> None:
    connection = connections.get_connection(session, source)
    connection.login_state = "failed"
    connection.last_error_code = code
    _forget_challenge(connection)


def _refused(
    session: Session, source: str, error: SourceError, now: datetime, *, rate_code: str
) -> str:
    """Record why a sign-in step failed; returns the code shown to the owner."""
    if isinstance(error, SourceRateLimited):
        connections.record_login_refused(
            session, source, now, code=rate_code, retry_after=error.retry_after
        )
        _failed(session, source, rate_code)
        return rate_code
    code = (
        "login_refused"
        if isinstance(error, SourceAuthError)
        else "source_unavailable"
        if isinstance(error, SourceUnavailable)
        else getattr(error, "code", None) or "login_failed"
    )
    _failed(session, source, code)
    return code


def sign_in(
    sessions: sessionmaker[Session],
    box: SecretBox,
    source: str,
    client: LoginClient,
    email: str,
    password: str,
    now: Callable[[], datetime],
) -> str:
    """Run the sign-in; returns ``connected``, ``mfa`` or the error code recorded."""
    try:
        result = client.start_login(email, password)
    except SourceError as error:
        log.info("%s sign-in failed: %s", source, type(error).__name__)
        with sessions.begin() as session:
            return _refused(session, source, error, now(), rate_code="login_rate_limited")
    with sessions.begin() as session:
        connection = connections.get_connection(session, source)
        if result.mfa_state is not None:
            connection.login_state = "mfa"
            connection.mfa_state_encrypted = box.encrypt(json.dumps(result.mfa_state))
            connection.mfa_expires_at = now() + MFA_TTL
            return "mfa"
        assert result.tokens is not None
        connections.save_tokens(session, box, source, result.tokens, account=email)
        connection.login_state = None
        return "connected"


def submit_mfa_code(
    sessions: sessionmaker[Session],
    box: SecretBox,
    source: str,
    client: LoginClient,
    code: str,
    now: Callable[[], datetime],
) -> str:
    """Finish an MFA sign-in; ``connected``, or the error code (``mfa_rejected`` keeps the
    challenge for another try; ``mfa_expired`` and the rest end the sign-in)."""
    with sessions() as session:
        connection = connections.get_connection(session, source)
        encrypted, expires = connection.mfa_state_encrypted, connection.mfa_expires_at
    if connection.login_state != "mfa" or encrypted is None:
        return "mfa_expired"
    if expires is None or now() >= expires:
        with sessions.begin() as session:
            _failed(session, source, "mfa_expired")
        return "mfa_expired"
    try:
        tokens = client.finish_login(json.loads(box.decrypt(encrypted)), code)
    except MfaCodeRejected:
        with sessions.begin() as session:
            connections.get_connection(session, source).last_error_code = "mfa_rejected"
        return "mfa_rejected"
    except SourceError as error:
        with sessions.begin() as session:
            return _refused(session, source, error, now(), rate_code="login_rate_limited")
    with sessions.begin() as session:
        connection = connections.get_connection(session, source)
        connections.save_tokens(session, box, source, tokens, account=connection.account)
        connection.login_state = None
        _forget_challenge(connection)
    return "connected"


def cancel_sign_in(session: Session, source: str) -> None:
    connection = connections.get_connection(session, source)
    connection.login_state = None
    _forget_challenge(connection)
