"""Connections: tokens encrypted at rest and rotated, needs-reconnect, the login cooldown
schedule (with a fake clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet
from sqlalchemy import text

from app.security.keys import SecretBox
from app.services.sync import connections

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def test_cooldown_doubles_from_two_hours_to_at_most_a_day():
    hours = [connections.login_cooldown(n) / timedelta(hours=1) for n in range(0, 8)]
    assert hours == [0, 2, 4, 8, 16, 24, 24, 24]


def test_refused_logins_grow_the_cooldown_and_a_success_resets_it(db_session):
    box = SecretBox(Fernet.generate_key().decode())
    clock = NOW
    attempts = []
    for _ in range(4):
        connection = connections.get_connection(db_session, "garmin")
        assert connections.login_allowed(connection, clock)
        next_at = connections.record_login_refused(db_session, "garmin", clock, code="auth")
        assert not connections.login_allowed(connection, next_at - timedelta(seconds=1))
        attempts.append(next_at - clock)
        clock = next_at  # the owner tries again exactly when allowed
    assert attempts == [timedelta(hours=h) for h in (2, 4, 8, 16)]

    # Retry-After longer than the schedule wins.
    later = connections.record_login_refused(
        db_session, "garmin", clock, code="rate_limited", retry_after=30 * 3600
    )
    assert later - clock == timedelta(hours=30)

    connection = connections.save_tokens(db_session, box, "garmin", "tokens-1", account="a@b.c")
    assert connection.status == "connected"
    assert connection.login_failures == 0 and connection.cooldown_until is None


def test_tokens_are_encrypted_and_rotation_is_kept(db_session):
    box = SecretBox(Fernet.generate_key().decode())
    connections.save_tokens(db_session, box, "garmin", '{"refresh": "secret-refresh-1"}')
    stored = db_session.execute(
        text("SELECT tokens_encrypted FROM connection WHERE source = 'garmin'")
    ).scalar_one()
    assert "secret-refresh-1" not in stored
    assert connections.load_tokens(db_session, box, "garmin") == '{"refresh": "secret-refresh-1"}'

    assert not connections.keep_rotated_tokens(
        db_session, box, "garmin", '{"refresh": "secret-refresh-1"}'
    )
    assert connections.keep_rotated_tokens(
        db_session, box, "garmin", '{"refresh": "secret-refresh-2"}'
    )
    assert connections.load_tokens(db_session, box, "garmin") == '{"refresh": "secret-refresh-2"}'


def test_needs_reconnect_and_disconnect(db_session):
    box = SecretBox(Fernet.generate_key().decode())
    connections.save_tokens(db_session, box, "garmin", "t")
    connections.mark_needs_reconnect(db_session, "garmin", "auth_expired")
    connection = connections.get_connection(db_session, "garmin")
    assert (connection.status, connection.last_error_code) == ("needs_reconnect", "auth_expired")
    connections.disconnect(db_session, "garmin")
    assert connections.load_tokens(db_session, box, "garmin") is None
    assert connections.get_connection(db_session, "garmin").status == "disconnected"
