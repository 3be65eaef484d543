"""The Connections page end to end: the real Garmin adapter (garminconnect underneath) against
the loopback fake Garmin Connect, syncs run inline in the test's transaction."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from app.jobs.registry import JobRegistry
from app.models import Activity, Connection, SyncRun, WorkRun
from app.services.imports.runner import InlineRunner
from app.services.sync import connections
from app.services.sync.adapters import garmin_source
from app.services.work import runs
from app.services.work.runner import InlineWorkRunner, QueuedWorkRunner, WorkRunner
from app.web.app import create_app
from tests.conftest import OWNER_PASSWORD, with_settings
from tests.support.fake_garmin import FakeGarmin
from tests.support.queries import count_queries

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


# --- the status read from the background work's record ---------------------------------------


def _fresh_client(settings, sessions, sources, runner) -> TestClient:
    """Another app instance over the same database (a restart): it knows only what is stored.
    Use it with ``with``; the owner is signed in."""
    application = create_app(settings, jobs=JobRegistry())
    application.state.sessions = sessions
    application.state.import_runner = InlineRunner(sessions, settings)
    application.state.sync_sources = sources
    application.state.work_runner = runner(application)
    client = TestClient(application, base_url="http://testserver", follow_redirects=False)
    client.__enter__()
    signed = client.post("/login", data={"username": "jiwoo", "password": OWNER_PASSWORD})
    assert signed.status_code == 303
    return client


def _card(page: str, name: str = "garmin") -> str:
    start = page.index(f'data-testid="source-{name}"')
    return page[start : page.index("</section>", start)]


def _rows(card: str) -> list[str]:
    return re.findall(r'<tr data-status="([a-z_]+)">', card)


def _inline(settings, sessions, sources):
    return lambda application: InlineWorkRunner(
        sessions, settings, application.state.secret_box, sources
    )


def test_a_sync_is_queued_then_running_then_done_as_the_database_says(
    signed_in, app, settings, sessions, fake, db_session
):
    fast = with_settings(settings, sync_delay_s=0.0)
    plain = garmin_source(fast, endpoints=fake.endpoints)
    seen: list[tuple[str, int]] = []
    sources = {"garmin": replace(plain, client=lambda context: _Watched(plain.client(context)))}
    runner = QueuedWorkRunner(sessions, fast, app.state.secret_box, sources)
    app.state.sync_sources, app.state.work_runner = sources, runner
    connections.save_tokens(db_session, app.state.secret_box, "garmin", fake.issue_tokens())
    db_session.commit()

    assert signed_in.post("/connections/garmin/sync", headers=ORIGIN).status_code == 303
    with _fresh_client(settings, sessions, sources, _inline(settings, sessions, sources)) as other:
        queued = _card(_page(other))
        assert 'data-running="true"' in queued and 'data-testid="sync-queued"' in queued
        assert 'hx-trigger="every 2s"' in queued  # the card follows it
        assert _rows(queued) == ["queued"]

        def look() -> None:  # the sync has fetched its first day of wellness
            with sessions() as session:
                (done,) = session.execute(select(SyncRun.items_done)).scalars()
            seen.append((_card(_page(other)), done))

        _Watched.on_daily = look
        try:
            assert runner.run_queued() == 1
        finally:
            _Watched.on_daily = None
        running, items = seen[0]
        assert 'data-testid="sync-running"' in running and _rows(running) == ["running"]
        assert items > 0 and f'value="{items}"' in running  # the progress the sync's row holds
        assert "Never" in running  # no sync has succeeded yet

        done = _card(_page(other))
    assert _rows(done) == ["done"]
    assert 'data-running="false"' in done and 'data-testid="sync-running"' not in done
    assert "Never" not in done.split('data-testid="last-sync"')[1][:80]
    work = db_session.execute(select(WorkRun).where(WorkRun.kind == "sync")).scalars().one()
    detail = db_session.execute(select(SyncRun)).scalars().one()
    assert detail.work_run_id == work.id and work.status == "done"


class _Watched:
    """A sync protocol that calls ``on_daily`` (when set) before its first day of wellness."""

    on_daily = None

    def __init__(self, inner) -> None:
        self._inner, self._called = inner, False

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def daily(self, day):
        if _Watched.on_daily is not None and not self._called:
            self._called = True
            _Watched.on_daily()
        return self._inner.daily(day)


def _left_by_a_killed_process(sessions) -> None:
    """A sync the process was running when it was killed: its record and its row say running."""
    at = datetime.now(UTC) - timedelta(hours=1)
    run_id = runs.new_id()
    runs.started(sessions, run_id, "sync", {"source": "garmin", "mode": "auto"}, at, at)
    with sessions.begin() as session:
        session.add(
            SyncRun(
                source="garmin",
                work_run_id=run_id,
                mode="auto",
                status="running",
                items_done=3,
                started_at=at,
            )
        )


@pytest.mark.parametrize(
    ("language", "sentence", "label"),
    [
        ("en", "It was cut short when Domestique stopped before it finished", "Interrupted"),
        ("ko", "끝나기 전에 Domestique가 멈춰서 중단되었습니다", "중단됨"),
    ],
)
def test_a_sync_a_killed_process_left_running_shows_interrupted_after_a_restart(
    signed_in, app, settings, sessions, db_session, language, sentence, label
):
    connections.save_tokens(db_session, app.state.secret_box, "garmin", "t", account="a@b.c")
    db_session.commit()
    _left_by_a_killed_process(sessions)
    before = _card(_page(signed_in))  # the process that was killed saw it running
    assert 'data-testid="sync-running"' in before

    # A restart: the real runner's start-up marks what the last process left (it resumes
    # nothing here: its sources are none).
    def restarted(application):
        return WorkRunner(sessions, settings, application.state.secret_box, {})

    with _fresh_client(settings, sessions, app.state.sync_sources, restarted) as other:
        page = other.get("/connections", headers={"Accept-Language": language}).text
    card = _card(page)
    assert _rows(card) == ["interrupted"]
    assert 'data-testid="sync-running"' not in card and 'data-running="false"' in card
    assert sentence in card and label in card


@pytest.mark.parametrize(
    ("language", "sentence", "label"),
    [
        ("en", "Garmin Connect asked Domestique to slow down", "Waiting (rate limit)"),
        ("ko", "Garmin Connect에서 요청 속도를 줄여 달라고 했습니다", "대기 중 (요청 제한)"),
    ],
)
def test_a_sync_that_ended_on_an_error_says_why_in_the_owners_language(
    signed_in, wired, fake, db_session, language, sentence, label
):
    connections.save_tokens(db_session, wired.state.secret_box, "garmin", fake.issue_tokens())
    db_session.commit()
    fake.fail(
        "/activitylist-service/activities/search/activities", 429, headers={"Retry-After": "600"}
    )
    signed_in.post("/connections/garmin/sync", headers=ORIGIN)
    card = _card(signed_in.get("/connections", headers={"Accept-Language": language}).text)
    assert _rows(card) == ["cooling_down"]
    row = card[card.index('<tr data-status="cooling_down">') :]
    assert label in row
    assert sentence in re.search(r'data-testid="run-error">([^<]+)<', row).group(1)


def test_the_page_reads_the_runs_in_as_many_statements_however_many_there_are(
    signed_in, app, sessions, db_session, connection
):
    connections.save_tokens(db_session, app.state.secret_box, "garmin", "t", account="a@b.c")
    db_session.commit()
    _left_by_a_killed_process(sessions)
    with count_queries(connection) as few:
        assert signed_in.get("/connections").status_code == 200
    for _ in range(12):
        _left_by_a_killed_process(sessions)
    runs.queued(sessions, runs.new_id(), "sync", {"source": "garmin"}, datetime.now(UTC))
    with count_queries(connection) as many:
        card = _card(_page(signed_in))
    assert len(_rows(card)) == 8 and _rows(card)[0] == "queued"
    assert len(many) == len(few)


def test_a_sync_refused_before_it_began_is_listed_with_its_reason(signed_in, app, db_session):
    connections.save_tokens(db_session, app.state.secret_box, "garmin", "t", account="a@b.c")
    db_session.commit()
    runner = QueuedWorkRunner(
        app.state.sessions, app.state.settings, app.state.secret_box, app.state.sync_sources
    )
    app.state.work_runner = runner
    signed_in.post("/connections/garmin/sync", headers=ORIGIN)
    signed_in.post("/connections/garmin/disconnect", headers=ORIGIN)  # before it runs
    assert runner.run_queued() == 1
    card = _card(_page(signed_in))
    assert _rows(card) == ["failed"]
    assert "This source is not connected." in card.split('data-testid="run-error">')[1]
