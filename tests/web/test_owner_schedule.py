"""The nightly jobs run in the owner's time zone from the first minute: after setup and after
every change in Settings, without a restart; the Connections and Settings pages say when."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from fastapi.testclient import TestClient

from app.jobs.nightly import NIGHTLY_BACKUP, NIGHTLY_SYNC
from app.jobs.registry import JobRegistry
from app.services.work.runner import InlineWorkRunner
from app.web.app import create_app
from tests.conftest import OWNER_PASSWORD, setup_code_of, with_settings

ORIGIN = {"Origin": "http://testserver"}
SETUP = {
    "display_name": "Jiwoo Kim",
    "username": "jiwoo",
    "password": OWNER_PASSWORD,
    "password_confirm": OWNER_PASSWORD,
    "locale": "en",
    "timezone": "Asia/Seoul",
}


@pytest.fixture
def utc_server(settings, sessions) -> Iterator[TestClient]:
    """A server whose DOMESTIQUE_TIMEZONE is UTC, on a first run (no owner yet)."""
    app = create_app(with_settings(settings, timezone="UTC"), jobs=JobRegistry())
    app.state.sessions = sessions
    app.state.work_runner = InlineWorkRunner(sessions, settings, app.state.secret_box, {})
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        yield client


def _setup(client: TestClient) -> dict[str, str]:
    return {**SETUP, "setup_code": setup_code_of(client.app.state.settings)}


def _local(client: TestClient, job_id: str, zone: str) -> tuple[int, int]:
    when = client.app.state.scheduler.next_run(job_id)
    assert when is not None
    local = when.astimezone(ZoneInfo(zone))
    return local.hour, local.minute


def _shown(when: datetime, zone: str) -> str:
    """How the pages write a moment for an English-speaking owner in ``zone``."""
    return format_datetime(when, "short", tzinfo=ZoneInfo(zone), locale="en")


def test_setup_puts_the_nightly_jobs_in_the_owners_time_zone(utc_server):
    assert _local(utc_server, NIGHTLY_SYNC, "UTC") == (4, 30)  # before there is an owner

    assert utc_server.post("/setup", data=_setup(utc_server), headers=ORIGIN).status_code == 303

    assert _local(utc_server, NIGHTLY_SYNC, "Asia/Seoul") == (4, 30)
    assert _local(utc_server, NIGHTLY_BACKUP, "Asia/Seoul") == (5, 30)
    page = utc_server.get("/connections").text
    next_sync = utc_server.app.state.scheduler.next_run(NIGHTLY_SYNC)
    assert f"Next nightly sync: {_shown(next_sync, 'Asia/Seoul')}" in page
    assert "4:30" in _shown(next_sync, "Asia/Seoul")


def test_a_new_time_zone_in_settings_moves_the_sync_and_the_backup(utc_server):
    utc_server.post("/setup", data=_setup(utc_server), headers=ORIGIN)
    saved = utc_server.post(
        "/settings",
        data={"display_name": "Jiwoo Kim", "locale": "en", "timezone": "Europe/Berlin"},
        headers=ORIGIN,
    )
    assert saved.status_code == 303

    assert _local(utc_server, NIGHTLY_SYNC, "Europe/Berlin") == (4, 30)
    assert _local(utc_server, NIGHTLY_BACKUP, "Europe/Berlin") == (5, 30)
    page = utc_server.get("/settings").text
    next_backup = utc_server.app.state.scheduler.next_run(NIGHTLY_BACKUP)
    assert _shown(next_backup, "Europe/Berlin") in page
