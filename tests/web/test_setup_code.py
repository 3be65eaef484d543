"""The one-time setup code: /setup creates the owner only with it."""

from __future__ import annotations

import logging
import stat

from fastapi.testclient import TestClient

from app.jobs.registry import JobRegistry
from app.security import setup_code
from app.services.owner import account
from app.web.app import create_app
from tests.conftest import OWNER_PASSWORD, setup_code_of, with_settings

FORM = {
    "display_name": "Mallory",
    "username": "mallory",
    "password": OWNER_PASSWORD,
    "password_confirm": OWNER_PASSWORD,
    "locale": "en",
    "timezone": "UTC",
}


def test_setup_without_the_code_creates_nothing(client, db_session, settings):
    for code in ("", "AAAAA-AAAAA", setup_code_of(settings)[:-1]):
        response = client.post("/setup", data={**FORM, "setup_code": code})
        assert response.status_code == 422
        assert "setup code is not right" in response.text
    assert not account.owner_exists(db_session)
    assert 'value="mallory"' in response.text  # the form keeps what was typed


def test_the_code_is_kept_in_data_with_mode_0600_and_stays_the_same(settings):
    first = setup_code_of(settings)
    path = settings.data_dir / "setup-code"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert setup_code_of(settings) == first
    assert len(setup_code.normalize(first)) == 10
    assert setup_code.matches(settings.data_dir, first.lower().replace("-", " "))


def test_guessing_the_code_is_throttled(settings, sessions, db_session):
    application = create_app(
        with_settings(settings, login_attempts_per_minute=3), jobs=JobRegistry()
    )
    application.state.sessions = sessions
    with TestClient(application, follow_redirects=False) as client:
        for _ in range(3):
            client.post("/setup", data={**FORM, "setup_code": "WRONG-GUESS"})
        right = {**FORM, "setup_code": setup_code_of(settings)}
        response = client.post("/setup", data=right)
        assert response.status_code == 422 and "Too many attempts" in response.text
    assert not account.owner_exists(db_session)


def test_the_app_logs_the_code_at_start_while_no_owner_exists(app, settings, caplog):
    with caplog.at_level(logging.WARNING, logger="app.web.app"), TestClient(app):
        pass
    code = setup_code_of(settings)
    assert any(code in record.getMessage() for record in caplog.records)


def test_no_code_once_the_owner_exists(app, settings, owner, caplog):
    setup_code_of(settings)  # left over from before the owner
    with caplog.at_level(logging.WARNING, logger="app.web.app"), TestClient(app):
        pass
    assert not any("setup code" in record.getMessage() for record in caplog.records)
    assert not (settings.data_dir / "setup-code").exists()
