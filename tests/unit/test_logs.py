"""Secrets never reach the logs; logs are JSON with the request id."""

from __future__ import annotations

import io
import json
import logging

import pytest
from fastapi.testclient import TestClient

from app.jobs.registry import JobRegistry
from app.logs import configure_logging
from app.security.redaction import redact, register_secret
from app.web.app import create_app
from tests.conftest import OWNER_PASSWORD, with_settings


@pytest.fixture
def log_stream():
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    yield stream
    logging.getLogger().handlers.clear()


def test_logs_are_json_lines_with_request_id(log_stream, client):
    response = client.get("/healthz")
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    access = [line for line in lines if line.get("logger") == "domestique.http"]
    assert access and access[-1]["request_id"] == response.headers["x-request-id"]
    assert access[-1]["status"] == 200 and "time" in access[-1]


def test_secrets_never_appear_in_logs(log_stream, settings, sessions, owner):
    secret_key = "a passphrase that is long enough to be a key!"
    metrics_token = "prometheus-scrape-token-42"
    application = create_app(
        with_settings(settings, secret_key=secret_key, metrics_token=metrics_token),
        jobs=JobRegistry(),
    )
    application.state.sessions = sessions
    credential = "garmin-refresh-token-SENSITIVE"
    with TestClient(application, follow_redirects=False) as client:
        client.post("/login", data={"username": "jiwoo", "password": OWNER_PASSWORD})
        client.post("/login", data={"username": "jiwoo", "password": "wrong-password-attempt"})
        client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
        stored = application.state.secret_box.encrypt(credential)
        assert application.state.secret_box.decrypt(stored) == credential
        log = logging.getLogger("app.test")
        # Code that carelessly logs a secret, or an exception carrying one, is still safe.
        log.warning("connecting with token %s and key %s", credential, secret_key)
        try:
            raise RuntimeError(f"login failed for password={OWNER_PASSWORD}")
        except RuntimeError:
            log.exception("failure")
        log.info("url %s", settings.database_url.get_secret_value())
    output = log_stream.getvalue()
    assert "connecting with token ***" in output  # the line is there, the value is not
    for secret in (secret_key, metrics_token, credential, OWNER_PASSWORD, "wrong-password-attempt"):
        assert secret not in output


def test_redact_catches_unregistered_credential_assignments():
    text = 'password=hunter22 token: "abc.def" Authorization: Bearer xyz123 plain words'
    redacted = redact(text)
    assert "hunter22" not in redacted and "abc.def" not in redacted and "xyz123" not in redacted
    assert "plain words" in redacted


def test_registered_secrets_are_redacted_anywhere():
    register_secret("S3CRET-VALUE-XYZ")
    assert redact("prefixS3CRET-VALUE-XYZsuffix") == "prefix***suffix"
    register_secret("abc")  # too short to redact safely
    assert redact("abc") == "abc"
