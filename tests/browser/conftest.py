"""A live server (uvicorn in a thread, its own database) and Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import create_engine, text

from app.config import Settings
from app.db.migrate import upgrade
from app.jobs.registry import JobRegistry
from app.security import setup_code
from app.services.sync.adapters import garmin_source, oura_source, strava_source
from app.services.work.runner import WorkRunner
from app.web.app import create_app
from tests.support.fake_garmin import FakeGarmin
from tests.support.fake_oura import FakeOura
from tests.support.fake_strava import FakeStrava
from tests.support.shared import unavailable

CHROMIUM = os.environ.get("DOMESTIQUE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture(scope="session")
def live_database(pg_cluster) -> str:
    url = pg_cluster.create_database("domestique_browser")
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def fake_garmin() -> Iterator[FakeGarmin]:
    """The live server's Garmin Connect: the loopback fake, asking for an MFA code."""
    server = FakeGarmin(mfa_code="135790").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fake_strava() -> Iterator[FakeStrava]:
    server = FakeStrava().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fake_oura() -> Iterator[FakeOura]:
    server = FakeOura().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("live-data")


@pytest.fixture
def live_setup_code(live_data_dir) -> str:
    """The code the first-run page asks for (the log's and `domestique setup-code`'s)."""
    return setup_code.current(live_data_dir)


@pytest.fixture(scope="session")
def live_server(live_database, live_data_dir, fake_garmin, fake_strava, fake_oura) -> Iterator[str]:
    settings = Settings(
        env="development",
        database_url=live_database,
        data_dir=live_data_dir,
        timezone="Asia/Seoul",
        login_attempts_per_minute=100,
    )
    # Listening before the server runs: the browser's first connection waits in the backlog
    # until uvicorn has started, so nothing polls for "started" (and no other process can take
    # the port between choosing and binding it).
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    app = create_app(settings, jobs=JobRegistry())
    fast = settings.model_copy(update={"sync_delay_s": 0.0})
    app.state.sync_sources = {
        "garmin": garmin_source(fast, endpoints=fake_garmin.endpoints),
        "strava": strava_source(fast, endpoints=fake_strava.endpoints),
        "oura": oura_source(fast, endpoints=fake_oura.endpoints),
    }
    fake_oura.redirect_uri = f"http://127.0.0.1:{port}/connections/oura/callback"
    app.state.work_runner = WorkRunner(
        app.state.sessions,
        fast,
        app.state.secret_box,
        app.state.sync_sources,
        maintenance=app.state.maintenance,
    )
    server = uvicorn.Server(uvicorn.Config(app, log_config=None))

    def serve() -> None:
        try:
            server.run(sockets=[listening])
        finally:  # a server that failed to start refuses connections instead of hanging them
            listening.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def fresh_install(live_database) -> None:
    """Each browser test starts from a first run: no owner and no data (the live database is
    shared by the whole browser session)."""
    engine = create_engine(live_database)
    with engine.begin() as connection:
        tables = connection.execute(
            text(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium at {CHROMIUM} (run the tests with `make test`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    from tests.conftest import ARTIFACTS

    path = ARTIFACTS / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
