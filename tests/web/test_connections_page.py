"""The Connections page end to end: the real Garmin adapter (garminconnect underneath) against
the loopback fake Garmin Connect, syncs run inline in the test's transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from app.models import Activity, Connection, SyncRun, WorkRun
from app.services.sync import connections
from app.services.sync.adapters import garmin_source
from app.services.work.runner import InlineWorkRunner
from tests.conftest import with_settings
from tests.support.fake_garmin import FakeGarmin

ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def fake() -> Iterator[FakeGarmin]:
    server = FakeGarmin(mfa_code="246810").start()
    server.add_history(4, newest=date.today() - timedelta(days=1))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def wired(app, settings, sessions, fake):
    """The app's sync machinery pointed at the fake, with no throttle."""
    fast = with_settings(settings, sync_delay_s=0.0)
    app.state.sync_sources = {"garmin": garmin_source(fast, endpoints=fake.endpoints)}
    app.state.work_runner = InlineWorkRunner(
        sessions, fast, app.state.secret_box, app.state.sync_sources
    )
    return app


def _page(client) -> str:
    response = client.get("/connections")
    assert response.status_code == 200
    return response.text


def test_the_page_needs_the_owner(client):
    assert client.get("/connections").status_code == 303


def test_a_new_owner_sees_the_sign_in_form_and_the_next_nightly_sync(signed_in):
    page = _page(signed_in)
    assert 'data-testid="sign-in-form"' in page
    assert 'name="password"' in page
    assert "Next nightly sync:" in page  # the scheduler runs under the TestClient
    assert "Export Your Data" in page  # the bulk export is recommended


def test_sign_in_is_refused_from_another_origin(signed_in, wired, fake):
    response = signed_in.post(
        "/connections/garmin/sign-in",
        data={"email": fake.email, "password": fake.password},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403
    assert fake.password_posts == []


def test_connect_with_mfa_then_the_first_sync_fills_the_database(
    signed_in, wired, fake, db_session
):
    response = signed_in.post(
        "/connections/garmin/sign-in",
        data={"email": fake.email, "password": fake.password},
        headers=ORIGIN,
    )
    assert response.status_code == 303
    page = _page(signed_in)
    assert 'data-testid="mfa-form"' in page

    wrong = signed_in.post("/connections/garmin/mfa", data={"code": "000000"}, headers=ORIGIN)
    assert "notice=mfa_rejected" in wrong.headers["location"]
    assert "newest code" in signed_in.get(wrong.headers["location"]).text

    right = signed_in.post("/connections/garmin/mfa", data={"code": "246810"}, headers=ORIGIN)
    assert right.status_code == 303 and "notice" not in right.headers["location"]

    row = db_session.get(Connection, "garmin")
    db_session.refresh(row)
    assert row.status == "connected" and row.login_state is None
    assert row.cursors["activities"]["backfill_done"] and row.cursors["wellness"]["backfill_done"]
    assert db_session.execute(select(func.count()).select_from(Activity)).scalar_one() == 4
    run = db_session.execute(select(SyncRun)).scalars().one()
    assert run.status == "done" and run.counts["activities_added"] == 4
    everything = "\n".join(
        db_session.execute(
            text(
                "SELECT row_to_json(c)::text FROM connection c UNION ALL "
                "SELECT row_to_json(r)::text FROM sync_run r"
            )
        ).scalars()
    )
    assert fake.password not in everything

    page = _page(signed_in)
    assert 'data-status="connected"' in page
    assert 'data-testid="backfill-done"' in page
    assert 'data-testid="runs"' in page
    assert "me@example.com" not in page or fake.email in page

    metrics = signed_in.get("/metrics").text
    assert 'domestique_sync_runs_total{source="garmin",status="done"}' in metrics


def test_each_mfa_attempt_is_recorded_as_a_run_without_its_code(signed_in, wired, fake, db_session):
    signed_in.post(
        "/connections/garmin/sign-in",
        data={"email": fake.email, "password": fake.password},
        headers=ORIGIN,
    )
    signed_in.post("/connections/garmin/mfa", data={"code": "000000"}, headers=ORIGIN)
    signed_in.post("/connections/garmin/mfa", data={"code": "246810"}, headers=ORIGIN)

    attempts = (
        db_session.execute(select(WorkRun).where(WorkRun.kind == "mfa").order_by(WorkRun.queued_at))
        .scalars()
        .all()
    )
    assert [(r.status, r.error_code) for r in attempts] == [
        ("failed", "mfa_rejected"),
        ("done", None),
    ]
    assert all(r.parameters == {"source": "garmin"} and r.finished_at for r in attempts)
    recorded = json.dumps([[r.parameters, r.result, r.error_params] for r in attempts])
    assert "246810" not in recorded and "000000" not in recorded


def test_a_wrong_password_is_said_plainly(signed_in, wired, fake):
    signed_in.post(
        "/connections/garmin/sign-in",
        data={"email": fake.email, "password": "nope"},
        headers=ORIGIN,
    )
    page = _page(signed_in)
    assert 'data-testid="sign-in-error"' in page
    assert "did not accept the email or password" in page


def test_missing_fields_do_not_reach_garmin(signed_in, wired, fake):
    response = signed_in.post(
        "/connections/garmin/sign-in", data={"email": fake.email}, headers=ORIGIN
    )
    assert "notice=credentials_missing" in response.headers["location"]
    assert fake.password_posts == []


def test_tokens_that_stop_working_show_a_banner_on_every_page(signed_in, db_session, app):
    connections.save_tokens(db_session, app.state.secret_box, "garmin", "t", account="a@b.c")
    connections.mark_needs_reconnect(db_session, "garmin", "auth_expired")
    db_session.commit()
    for path in ("/", "/import", "/connections"):
        assert 'data-testid="reconnect-banner"' in signed_in.get(path).text
    assert "Reconnect on the Connections page" in _page(signed_in)


def test_pause_and_resume_the_history_download(signed_in, db_session, app):
    connections.save_tokens(db_session, app.state.secret_box, "garmin", "t", account="a@b.c")
    connection = connections.get_connection(db_session, "garmin")
    connection.cursors = {
        "activities": {"newest": "2026-11-20", "backfill_before": "2026-10-01"},
        "wellness": {"newest": "2026-11-20", "backfill_before": "2026-11-01"},
        "extent": {"count": 120, "oldest": "2024-01-01"},
    }
    db_session.commit()
    page = _page(signed_in)
    assert 'data-testid="backfill-figures"' in page and 'data-testid="pause"' in page

    signed_in.post("/connections/garmin/pause", headers=ORIGIN)
    db_session.refresh(connection)
    assert connection.backfill_paused
    assert 'data-paused="true"' in _page(signed_in)

    # resuming queues a sync; the unreachable test endpoint makes it fail, and says so
    signed_in.post("/connections/garmin/resume", headers=ORIGIN)
    db_session.refresh(connection)
    assert not connection.backfill_paused


def test_sync_now_needs_a_connection(signed_in):
    response = signed_in.post("/connections/garmin/sync", headers=ORIGIN)
    assert "notice=not_connected" in response.headers["location"]


def test_an_unknown_source_is_404(signed_in):
    assert signed_in.post("/connections/nope/sync", headers=ORIGIN).status_code == 404


def test_the_page_speaks_korean(signed_in):
    signed_in.post("/language", data={"locale": "ko", "next": "/connections"}, headers=ORIGIN)
    page = _page(signed_in)
    assert "다음 야간 동기화" in page and "비밀번호는 절대 저장하지 않습니다" in page
    assert "Next nightly sync" not in page
