"""Oura end to end against the loopback fake: connecting through OAuth (or a legacy personal
token) from the Connections page, syncing wellness and workouts, and single-use refresh tokens
refreshed once under the lock however many callers want them at the same moment."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from app.db.locks import lock_key
from app.models import Activity, ActivitySource, Connection, DailyWellness
from app.services.sync import connections, oauth
from app.services.sync.adapters import oura_refresh, oura_source
from app.services.sync.connections import ClientContext
from app.services.work.runner import InlineWorkRunner
from app.sources.oura.client import OuraClient
from tests.conftest import with_settings
from tests.support.fake_oura import FakeOura
from tests.support.fitwriter import write_activity
from tests.support.importing import import_files
from tests.support.queries import wait_for_lock_waiter

ORIGIN = {"Origin": "http://testserver"}
CALLBACK = "http://testserver/connections/oura/callback"
SEOUL = ZoneInfo("Asia/Seoul")


def _yesterday() -> date:
    return datetime.now(SEOUL).date() - timedelta(days=1)


@pytest.fixture
def oura() -> Iterator[FakeOura]:
    server = FakeOura(redirect_uri=CALLBACK, page_size=3).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def runner(app, settings, sessions, oura) -> InlineWorkRunner:
    fast = with_settings(settings, sync_delay_s=0.0)
    app.state.sync_sources = {"oura": oura_source(fast, endpoints=oura.endpoints)}
    app.state.work_runner = InlineWorkRunner(
        sessions, fast, app.state.secret_box, app.state.sync_sources
    )
    app.state.work_runner.scheduled = []
    return app.state.work_runner


def _connect_directly(sessions, box, oura: FakeOura, *, expires_in: int | None = None) -> None:
    with sessions.begin() as session:
        oauth.save_app_credentials(session, box, "oura", oura.client_id, oura.client_secret)
        connections.save_tokens(session, box, "oura", oura.issue_tokens(expires_in=expires_in))


def test_the_page_gives_the_redirect_uri_and_the_legacy_token_option(signed_in, runner):
    page = signed_in.get("/connections").text
    assert f'data-testid="callback-url">{CALLBACK}<' in page
    assert 'data-testid="personal-token"' in page
    assert "developer.ouraring.com" in page


def test_connecting_through_oauth_imports_the_history(signed_in, runner, oura, db_session):
    oura.add_history(8, newest=_yesterday())

    response = signed_in.post(
        "/connections/oura/app",
        data={"client_id": oura.client_id, "client_secret": oura.client_secret},
        headers=ORIGIN,
        follow_redirects=False,
    )
    authorize = response.headers["location"]
    assert parse_qs(urlsplit(authorize).query)["redirect_uri"] == [CALLBACK]
    approved = httpx.get(authorize, follow_redirects=False)
    back = signed_in.get(
        approved.headers["location"].removeprefix("http://testserver"), follow_redirects=False
    )
    assert "notice" not in back.headers["location"]

    connection = db_session.get(Connection, "oura")
    db_session.refresh(connection)
    assert connection.status == "connected"
    assert connection.account == oura.personal["email"]
    days = db_session.execute(select(DailyWellness).order_by(DailyWellness.day)).scalars().all()
    assert [d.day for d in days] == [_yesterday() - timedelta(days=i) for i in range(7, -1, -1)]
    night = days[-1]
    assert night.sleep_s is not None and night.hrv_rmssd_ms is not None
    assert night.sources["sleep_s"] == "oura"
    assert night.sources["hrv_rmssd_ms"] == "oura"
    # Paged (3 documents a page): the sleep collection needed several requests per window.
    assert sum("next_token" in path for _, path in oura.requests) > 0
    workouts = db_session.execute(
        select(ActivitySource).where(ActivitySource.source == "oura")
    ).scalars()
    assert len(list(workouts)) == 8  # the ring's workouts, nothing else recorded them


def test_a_personal_access_token_is_checked_then_used(signed_in, runner, oura, db_session):
    oura.add_history(2, newest=_yesterday())
    token = oura.issue_personal_token()

    refused = signed_in.post(
        "/connections/oura/personal-token",
        data={"token": "not-a-token"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert "notice=oura_personal_token_rejected" in refused.headers["location"]
    assert db_session.get(Connection, "oura") is None

    accepted = signed_in.post(
        "/connections/oura/personal-token",
        data={"token": token},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert "notice" not in accepted.headers["location"]
    assert len(db_session.execute(select(DailyWellness)).scalars().all()) == 2


def test_a_workout_the_watch_recorded_is_not_imported_twice(
    sessions, settings, app, runner, oura, db_session
):
    day = _yesterday()
    oura.add_history(3, newest=day)
    # The fixture's workout runs 18:02:40–18:47:10 in Seoul; the watch recorded it too.
    start = datetime(day.year, day.month, day.day, 18, 2, 10, tzinfo=SEOUL).astimezone(UTC)
    seconds = 2700
    fit = write_activity(
        None,
        sport="running",
        start=start,
        samples={"heart_rate": np.full(seconds, 150.0), "speed": np.full(seconds, 3.0)},
    )
    import_files(sessions, settings, {"run.fit": fit})
    _connect_directly(sessions, app.state.secret_box, oura)

    run = runner.submit_sync("oura").result()

    assert run.status == "done", run.error_code
    assert run.counts.get("activities_skipped") == 1
    assert run.counts.get("activities_added") == 2
    assert len(db_session.execute(select(Activity)).scalars().all()) == 3


def test_rejected_tokens_ask_to_reconnect_oura(signed_in, sessions, app, runner, oura):
    oura.add_history(1, newest=_yesterday())
    _connect_directly(sessions, app.state.secret_box, oura)
    oura.access_tokens.clear()

    run = runner.submit_sync("oura").result()

    assert (run.status, run.error_code) == ("needs_reconnect", "oura_token_rejected")
    assert "Oura no longer accepts the saved sign-in" in signed_in.get("/connections").text


def test_an_expiring_token_is_refreshed_before_the_sync_and_stored_first(
    sessions, app, runner, oura
):
    oura.add_history(1, newest=_yesterday())
    _connect_directly(sessions, app.state.secret_box, oura, expires_in=60)
    with sessions() as session:
        before = json.loads(connections.load_tokens(session, app.state.secret_box, "oura"))

    run = runner.submit_sync("oura").result()

    assert run.status == "done"
    with sessions() as session:
        after = json.loads(connections.load_tokens(session, app.state.secret_box, "oura"))
    assert oura.refresh_attempts == [before["refresh_token"]]
    assert after["refresh_token"] in oura.refresh_tokens


@pytest.fixture
def committed(engine):
    """Sessions on their own connections (committed for real), so the advisory lock is taken
    by separate database sessions as in production; the rows are removed afterwards."""
    factory = sessionmaker(engine, expire_on_commit=False)
    yield factory
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM connection WHERE source = 'oura'"))


def test_concurrent_refreshes_of_a_single_use_token_spend_it_once(committed, oura, settings, app):
    box = app.state.secret_box
    oura.refresh_delay_s = 0.2  # the fake holds each refresh, so two would overlap
    _connect_directly(committed, box, oura, expires_in=30)
    with committed() as session:
        stored = connections.load_tokens(session, box, "oura")
    clients = [OuraClient.from_tokens(stored, endpoints=oura.endpoints) for _ in range(3)]
    context = ClientContext(stored, committed, box)
    errors: list[BaseException] = []

    def refresh(client: OuraClient) -> None:
        try:
            oura_refresh(context, client, endpoints=oura.endpoints)
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=refresh, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    assert len(oura.refresh_attempts) == 1  # one refresh reached Oura
    with committed() as session:
        now_stored = json.loads(connections.load_tokens(session, box, "oura"))
    assert now_stored["refresh_token"] in oura.refresh_tokens
    for client in clients:  # every holder now uses the new pair
        assert json.loads(client.current_tokens())["access_token"] == now_stored["access_token"]
        assert client.personal_info()["email"] == oura.personal["email"]


def test_a_refresh_waits_for_another_process_holding_the_lock(committed, oura, app, engine):
    box = app.state.secret_box
    _connect_directly(committed, box, oura, expires_in=30)
    with committed() as session:
        stored = connections.load_tokens(session, box, "oura")
    client = OuraClient.from_tokens(stored, endpoints=oura.endpoints)
    context = ClientContext(stored, committed, box)
    with engine.connect() as other:  # "another process": its own database session
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key("oauth:oura")})
        worker = threading.Thread(
            target=oura_refresh, args=(context, client), kwargs={"endpoints": oura.endpoints}
        )
        worker.start()
        wait_for_lock_waiter(other, "oauth:oura")
        assert oura.refresh_attempts == []  # still waiting for the lock
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key("oauth:oura")})
        other.commit()
    worker.join(10)
    assert len(oura.refresh_attempts) == 1
    assert not client.needs_refresh()


def test_disconnecting_oura_gives_sleep_back_to_garmin(
    signed_in, sessions, app, runner, oura, db_session
):
    from app import records
    from app.services.imports import store

    day = _yesterday()
    oura.add_history(1, newest=day)
    with sessions.begin() as session:
        store.merge_wellness(session, [records.DailyWellness(day, "garmin", {"sleep_s": 25200.0})])
    _connect_directly(sessions, app.state.secret_box, oura)
    runner.submit_sync("oura").result()
    row = db_session.get(DailyWellness, day)
    db_session.refresh(row)
    assert row.sources["sleep_s"] == "oura" and row.sleep_s != 25200.0

    signed_in.post("/connections/oura/disconnect", headers=ORIGIN)

    db_session.refresh(row)
    assert (row.sources["sleep_s"], row.sleep_s) == ("garmin", 25200.0)


def test_a_workout_without_a_usable_time_is_listed_and_the_rest_imported(
    sessions, app, runner, oura, db_session
):
    day = _yesterday()
    oura.add_history(2, newest=day)
    broken = oura.documents["workout"][0]
    broken["start_datetime"] = "2026-03-10T18:02:40"  # no offset: Oura's contract broken
    _connect_directly(sessions, app.state.secret_box, oura)

    run = runner.submit_sync("oura").result()

    assert run.status == "partial"
    assert len(run.failures) == 1
    assert run.counts.get("activities_added") == 1
    assert len(db_session.execute(select(DailyWellness)).scalars().all()) == 2


def test_the_watch_s_file_absorbs_the_ring_s_workout_when_it_arrives_later(
    sessions, settings, app, runner, oura, db_session
):
    day = _yesterday()
    oura.add_history(1, newest=day)
    _connect_directly(sessions, app.state.secret_box, oura)
    runner.submit_sync("oura").result()
    assert len(db_session.execute(select(Activity)).scalars().all()) == 1

    start = datetime(day.year, day.month, day.day, 18, 4, 0, tzinfo=SEOUL).astimezone(UTC)
    fit = write_activity(
        None,
        sport="running",
        start=start,
        samples={"heart_rate": np.full(2500, 150.0), "speed": np.full(2500, 3.0)},
    )
    import_files(sessions, settings, {"run.fit": fit})

    activity = db_session.execute(select(Activity)).scalar_one()
    db_session.refresh(activity)
    assert activity.sample_count == 2500
    sources = db_session.execute(
        select(ActivitySource.source).where(ActivitySource.activity_id == activity.id)
    ).scalars()
    assert sorted(sources) == ["fit", "oura"]


def test_rejected_oura_tokens_give_the_wellness_back_to_garmin(
    sessions, app, runner, oura, db_session
):
    from app import records
    from app.services.imports import store

    day = _yesterday()
    oura.add_history(1, newest=day)
    with sessions.begin() as session:
        store.merge_wellness(session, [records.DailyWellness(day, "garmin", {"sleep_s": 25200.0})])
    _connect_directly(sessions, app.state.secret_box, oura)
    runner.submit_sync("oura").result()
    oura.access_tokens.clear()

    runner.submit_sync("oura").result()

    row = db_session.get(DailyWellness, day)
    db_session.refresh(row)
    assert (row.sources["sleep_s"], row.sleep_s) == ("garmin", 25200.0)
