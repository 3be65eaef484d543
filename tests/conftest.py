"""Shared fixtures: one real PostgreSQL for the session, each test in a rolled-back transaction."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.migrate import upgrade
from app.jobs.registry import JobRegistry
from app.services.imports.runner import InlineRunner
from app.services.owner import account
from app.services.sync.adapters import garmin_source
from app.services.work.runner import InlineWorkRunner
from app.sources.garmin.client import Endpoints
from app.web.app import create_app
from tests.support.postgres import TemporaryCluster

# Keeps every FIT file the tests write, for the test that reads each through both FIT paths.
pytest_plugins = ["tests.support.generated_fit", "tests.support.coach_llm"]
# Starlette's TestClient sends `Host: testserver`; the app answers only to the names it knows.
os.environ.setdefault("DOMESTIQUE_ALLOWED_HOSTS", "testserver")

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("DOMESTIQUE_TEST_ARTIFACTS", ROOT / "test-artifacts"))
OWNER_PASSWORD = "correct horse battery"
UNREACHABLE = Endpoints(
    sso="http://127.0.0.1:9",
    connect="http://127.0.0.1:9",
    connectapi="http://127.0.0.1:9",
    diauth_token_url="http://127.0.0.1:9/token",
    mobile_integration="http://127.0.0.1:9",
)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[TemporaryCluster]:
    cluster = TemporaryCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def database_url(pg_cluster: TemporaryCluster) -> str:
    url = pg_cluster.create_database("domestique_test")
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits are savepoints inside the test's transaction."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db_session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        env="development",
        database_url=database_url,
        data_dir=tmp_path / "data",
        backup_dir=tmp_path / "backups",
        timezone="Asia/Seoul",
    )


@pytest.fixture
def app(settings: Settings, sessions: sessionmaker[Session]):
    application = create_app(settings, jobs=JobRegistry())
    application.state.sessions = sessions
    # Imports run at once in the request's thread, inside the test's transaction.
    application.state.import_runner = InlineRunner(sessions, settings)
    # So do syncs; Garmin points at a closed loopback port, so nothing can reach garmin.com.
    application.state.sync_sources = {"garmin": garmin_source(settings, endpoints=UNREACHABLE)}
    application.state.work_runner = InlineWorkRunner(
        sessions,
        settings,
        application.state.secret_box,
        application.state.sync_sources,
        maintenance=application.state.maintenance,
    )
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def owner(db_session: Session):
    return account.create_owner(
        db_session,
        account.NewOwner(
            display_name="Jiwoo Kim",
            username="jiwoo",
            password=OWNER_PASSWORD,
            locale=None,
            timezone="Asia/Seoul",
        ),
    )


@pytest.fixture
def signed_in(client: TestClient, owner) -> TestClient:
    response = client.post("/login", data={"username": "jiwoo", "password": OWNER_PASSWORD})
    assert response.status_code == 303, response.text
    return client


def setup_code_of(settings: Settings) -> str:
    """The code /setup asks for (printed in the log, shown by `domestique setup-code`)."""
    from app.security import setup_code

    return setup_code.current(settings.data_dir)


def with_settings(settings: Settings, **changes) -> Settings:
    """A validated copy of ``settings`` with ``changes`` (model_copy would skip validation)."""
    return Settings.model_validate({**settings.model_dump(), **changes})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "unavailable(what): the case's inputs are missing (tests.support.shared)"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    from tests.support.shared import unavailable

    for marker in item.iter_markers("unavailable"):
        unavailable(marker.args[0])
