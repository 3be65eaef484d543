"""The sign-in flow's state machine with a scripted login client: MFA as a second step, the
password never stored, a growing cooldown after rate-limited sign-ins, expiring MFA challenges.
(The real adapter against the loopback fake Garmin is covered in test_connections_web.)"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from app.models import Connection
from app.security.keys import SecretBox
from app.services.sync import connections, linking
from app.sources import MfaCodeRejected, SourceAuthError, SourceRateLimited, SourceUnavailable

PASSWORD = "hunter2-very-secret"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class Result:
    tokens: str | None = None
    mfa_state: dict[str, Any] | None = None


class ScriptedLogin:
    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.codes: list[str] = []

    def _next(self) -> Any:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def start_login(self, email_address: str, password: str) -> Result:
        return self._next()

    def finish_login(self, mfa_state: dict[str, Any], code: str) -> str:
        assert mfa_state == {"cookies": {"SESSION": "mfa-challenge-cookie"}}
        self.codes.append(code)
        return self._next()


class Clock:
    def __init__(self) -> None:
        self.current = NOW

    def __call__(self) -> datetime:
        return self.current


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key().decode())


def _start(sessions, box, client, clock, email="me@example.com") -> str:
    with sessions.begin() as session:
        linking.begin_sign_in(session, "garmin", email, clock())
    return linking.sign_in(sessions, box, "garmin", client, email, PASSWORD, clock)


def _row(sessions) -> Connection:
    with sessions() as session:
        row = session.get(Connection, "garmin")
        session.expunge(row)
        return row


def _database_text(db_session) -> str:
    rows = db_session.execute(text("SELECT row_to_json(c)::text FROM connection c")).scalars()
    return "\n".join(rows)


def test_a_sign_in_without_mfa_keeps_only_encrypted_tokens(sessions, box, db_session):
    clock = Clock()
    # long enough that it cannot turn up by chance in the ciphertext's base64 ("t1" did)
    token = "di-access-token-of-the-owner"
    tokens = f'{{"di_token": "{token}"}}'
    outcome = _start(sessions, box, ScriptedLogin(Result(tokens=tokens)), clock)

    assert outcome == "connected"
    row = _row(sessions)
    assert (row.status, row.login_state, row.account) == ("connected", None, "me@example.com")
    assert box.decrypt(row.tokens_encrypted) == tokens
    stored = _database_text(db_session)
    assert PASSWORD not in stored and token not in stored


def test_mfa_is_a_second_step_and_a_wrong_code_may_be_retried(sessions, box, db_session):
    clock = Clock()
    client = ScriptedLogin(
        Result(mfa_state={"cookies": {"SESSION": "mfa-challenge-cookie"}}),
        MfaCodeRejected("wrong"),
        '{"di_token": "t2"}',
    )
    assert _start(sessions, box, client, clock) == "mfa"
    row = _row(sessions)
    assert row.login_state == "mfa" and row.mfa_expires_at == NOW + linking.MFA_TTL
    assert "mfa-challenge-cookie" not in _database_text(db_session)  # encrypted too
    assert PASSWORD not in _database_text(db_session)

    wrong = linking.submit_mfa_code(sessions, box, "garmin", client, "000000", clock)
    assert wrong == "mfa_rejected"
    assert _row(sessions).login_state == "mfa"

    clock.current += timedelta(minutes=2)
    assert linking.submit_mfa_code(sessions, box, "garmin", client, " 123456 ", clock) == (
        "connected"
    )
    row = _row(sessions)
    assert (row.status, row.login_state, row.mfa_state_encrypted) == ("connected", None, None)
    assert client.codes == ["000000", " 123456 "]


def test_an_mfa_challenge_expires(sessions, box):
    clock = Clock()
    client = ScriptedLogin(Result(mfa_state={"cookies": {"SESSION": "mfa-challenge-cookie"}}))
    _start(sessions, box, client, clock)
    clock.current += linking.MFA_TTL
    assert linking.submit_mfa_code(sessions, box, "garmin", client, "1", clock) == "mfa_expired"
    row = _row(sessions)
    assert (row.login_state, row.mfa_state_encrypted, row.status) == (
        "failed",
        None,
        "disconnected",
    )


def test_a_wrong_password_fails_without_a_cooldown(sessions, box):
    clock = Clock()
    outcome = _start(sessions, box, ScriptedLogin(SourceAuthError("refused")), clock)
    assert outcome == "login_refused"
    row = _row(sessions)
    assert (row.login_state, row.last_error_code, row.cooldown_until) == (
        "failed",
        "login_refused",
        None,
    )
    # the owner may correct the typo at once
    assert _start(sessions, box, ScriptedLogin(Result(tokens="t")), clock) == "connected"


def test_rate_limited_sign_ins_back_off_2h_then_4h_and_say_until_when(sessions, box):
    clock = Clock()
    assert _start(sessions, box, ScriptedLogin(SourceRateLimited("429")), clock) == (
        "login_rate_limited"
    )
    assert _row(sessions).cooldown_until == NOW + timedelta(hours=2)

    clock.current += timedelta(hours=1)
    with sessions.begin() as session, pytest.raises(linking.SignInRefused) as refused:
        linking.begin_sign_in(session, "garmin", "me@example.com", clock())
    assert refused.value.code == "login_cooldown"
    assert refused.value.until == NOW + timedelta(hours=2)

    clock.current = NOW + timedelta(hours=2)
    _start(sessions, box, ScriptedLogin(SourceRateLimited("429")), clock)
    assert _row(sessions).cooldown_until == clock.current + timedelta(hours=4)

    clock.current += timedelta(hours=4)
    _start(sessions, box, ScriptedLogin(Result(tokens="t")), clock)
    row = _row(sessions)
    assert (row.status, row.login_failures, row.cooldown_until) == ("connected", 0, None)


def test_an_unreachable_service_is_said_plainly(sessions, box):
    clock = Clock()
    outcome = _start(sessions, box, ScriptedLogin(SourceUnavailable("502")), clock)
    assert outcome == "source_unavailable"
    assert _row(sessions).cooldown_until is None


def test_only_one_sign_in_at_a_time(sessions, box):
    with sessions.begin() as session:
        linking.begin_sign_in(session, "garmin", "me@example.com", NOW)
    with sessions.begin() as session, pytest.raises(linking.SignInRefused) as refused:
        linking.begin_sign_in(session, "garmin", "me@example.com", NOW)
    assert refused.value.code == "sign_in_running"


def test_disconnect_forgets_tokens_and_any_pending_challenge(sessions, box):
    clock = Clock()
    _start(sessions, box, ScriptedLogin(Result(tokens="t")), clock)
    with sessions.begin() as session:
        connections.disconnect(session, "garmin")
    row = _row(sessions)
    assert (row.status, row.tokens_encrypted, row.mfa_state_encrypted) == (
        "disconnected",
        None,
        None,
    )
    assert json.dumps(row.cursors) is not None
