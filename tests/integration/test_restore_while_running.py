"""Restoring a backup while the app runs (Settings → Backups): the app's maintenance state.

Each test runs a whole app of its own — its own database, data folder, key, the real import and
sync runners on their threads, the scheduler — through ``TestClient``, and holds the restore at
a chosen step with events (never sleeps)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.migrate import upgrade
from app.jobs.registry import JobRegistry
from app.models import ActivitySource, Connection, ImportJob, RawFile, SyncRun
from app.security.keys import SecretBox
from app.services import backups
from app.services.owner import account as owners
from app.services.sync import connections, oauth
from app.services.sync.adapters import garmin_source, oura_source, strava_source
from app.services.work import runs
from app.web.app import create_app
from tests.support.fake_garmin import FakeGarmin
from tests.support.fake_oura import FakeOura
from tests.support.fake_strava import FakeStrava, make_streams
from tests.support.fitwriter import write_activity

ORIGIN = {"Origin": "http://testserver"}
PASSWORD = "a good password 1"
WAIT_S = 120


@pytest.fixture
def make_install(pg_cluster, tmp_path) -> Iterator[Callable[..., Settings]]:
    """Installs of their own on the test cluster; each with a key in its data folder and an
    owner. All share one backups folder, so a backup made by one can be restored by another."""
    made: list[str] = []

    def make(label: str, *, username: str = "jiwoo", locale: str = "ko") -> Settings:
        name = f"restore_{label}_{os.getpid()}_{len(list(tmp_path.parent.iterdir()))}"
        url = pg_cluster.create_database(name)
        made.append(name)
        upgrade(url)
        settings = Settings(
            env="development",
            database_url=url,
            data_dir=tmp_path / label,
            backup_dir=tmp_path / "backups",
            timezone="Asia/Seoul",
            sync_delay_s=0.0,
            import_workers=0,
        )
        settings.data_dir.mkdir(parents=True)
        (settings.data_dir / "secret.key").write_text(Fernet.generate_key().decode())
        with _sessions(settings) as sessions, sessions() as session:
            owners.create_owner(
                session, owners.NewOwner("Jiwoo", username, PASSWORD, locale, "Asia/Seoul")
            )
        return settings

    yield make
    for name in made:
        pg_cluster.create_database(name)  # leave nothing renamed behind


@contextmanager
def _sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = create_engine(settings.database_url.get_secret_value())
    try:
        yield sessionmaker(bind=engine, expire_on_commit=False)
    finally:
        engine.dispose()


def _box(settings: Settings) -> SecretBox:
    return SecretBox((settings.data_dir / "secret.key").read_text().strip())


def _sign_in(client: TestClient, username: str = "jiwoo") -> None:
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 303, response.text


@contextmanager
def _held_at(app, step: str) -> Iterator[threading.Event]:
    """Holds the restore when it reaches ``step`` until the block ends; yields the event set
    when it got there."""
    reached, release = threading.Event(), threading.Event()

    def hold(current: str) -> None:
        if current == step:
            reached.set()
            release.wait(WAIT_S)

    app.state.maintenance.step_observers.append(hold)
    try:
        yield reached
    finally:
        release.set()


def _restore(client: TestClient, backup: Path, *, foreign: bool = False) -> None:
    form = {"name": backup.name, "confirm": "yes"}
    if foreign:  # another key signed it: the page asks a second time, naming the risk
        asked = client.post("/settings/backups/restore", data=form, headers=ORIGIN)
        assert "restore=unverified" in asked.headers["location"]
        form["accept_unverified"] = "yes"
    response = client.post("/settings/backups/restore", data=form, headers=ORIGIN)
    assert response.status_code == 303 and "restore=queued" in response.headers["location"]


def _assert_restored(settings: Settings, backup: Path) -> None:
    """The restore's run is recorded as done in the restored database, before the maintenance
    ended (what the Settings page shows)."""
    with _sessions(settings) as sessions, sessions() as session:
        run = runs.latest(session, "restore")
        assert run is not None and run.parameters == {"file": backup.name}
        assert run.status == "done", (run.error_code, run.error_params)
        assert run.result["after"] and run.result["safety"]


def _fit(day: date) -> bytes:
    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=6)
    return write_activity(
        None, sport="cycling", start=start, samples={"power": np.full(300, 200.0)}
    )


# --- the tests ----------------------------------------------------------------------------


@pytest.fixture
def services() -> Iterator[tuple[FakeGarmin, FakeStrava, FakeOura]]:
    garmin, strava, oura = FakeGarmin().start(), FakeStrava().start(), FakeOura().start()
    yesterday = date.today() - timedelta(days=1)
    garmin.add_history(2, newest=yesterday)
    strava.add_activity(datetime.now(UTC) - timedelta(days=6), streams=make_streams(600))
    oura.add_history(2, newest=yesterday)
    try:
        yield garmin, strava, oura
    finally:
        for server in (garmin, strava, oura):
            server.stop()


def test_a_backup_made_with_another_key_connects_and_syncs_without_a_restart(
    make_install, services
):
    garmin, strava, oura = services
    # The old NAS: its own key, and all three services connected with it.
    old = make_install("old")
    old_box = _box(old)
    with _sessions(old) as sessions, sessions.begin() as session:
        connections.save_tokens(session, old_box, "garmin", garmin.issue_tokens(), account="me")
        oauth.save_app_credentials(
            session, old_box, "strava", str(strava.client_id), strava.client_secret
        )
        connections.save_tokens(session, old_box, "strava", strava.issue_tokens())
        oauth.save_app_credentials(session, old_box, "oura", oura.client_id, oura.client_secret)
        connections.save_tokens(session, old_box, "oura", oura.issue_tokens())
    backup = backups.make_backup(old).path

    # The new NAS runs with a key of its own; the owner restores the old NAS's backup.
    new = make_install("new", username="minji")
    old_key, new_key = ((s.data_dir / "secret.key").read_text() for s in (old, new))
    assert old_key != new_key
    sources = {
        "garmin": garmin_source(new, endpoints=garmin.endpoints),
        "strava": strava_source(new, endpoints=strava.endpoints),
        "oura": oura_source(new, endpoints=oura.endpoints),
    }
    app = create_app(new, jobs=JobRegistry(), sources=sources)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        _sign_in(client, "minji")
        _restore(client, backup, foreign=True)
        assert app.state.maintenance.wait_over(WAIT_S)
        _assert_restored(new, backup)

        # Still signed in (the session carried over to the restored owner), and the
        # connections the backup brought are there, readable with the backup's key.
        page = client.get("/connections")
        assert page.status_code == 200
        assert page.text.count('data-status="connected"') == 3
        runs = {name: app.state.work_runner.submit_sync(name).result(WAIT_S) for name in sources}
        for name, run in runs.items():
            assert isinstance(run, SyncRun), (name, run)
            assert run.status == "done", (name, run.error_code, run.failures)

    with _sessions(new) as sessions, sessions() as session:
        by_source = dict(
            session.execute(
                select(ActivitySource.source, func.count()).group_by(ActivitySource.source)
            ).all()
        )
        assert by_source.get("garmin") == 2 and by_source.get("strava") == 1
        assert by_source.get("oura", 0) >= 1
        assert {c.status for c in session.execute(select(Connection)).scalars()} == {"connected"}
    # The key file is the backup's now, so a restart reads the connections too.
    assert (new.data_dir / "secret.key").read_text() == old_key


def test_an_import_during_a_restore_is_refused_and_can_be_tried_again_after(make_install):
    install = make_install("one")
    backup = backups.make_backup(install).path
    app = create_app(install, jobs=JobRegistry(), sources={})
    imported = threading.Event()
    after_job = app.state.import_runner.after_job
    app.state.import_runner.after_job = lambda: (after_job(), imported.set())
    upload = {
        "files": ("ride.fit", _fit(date.today() - timedelta(days=2)), "application/octet-stream")
    }

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        _sign_in(client)
        with _held_at(app, "restore database") as reached:
            _restore(client, backup)
            assert reached.wait(WAIT_S)

            refused = client.post("/import", files=upload, headers=ORIGIN)
            assert refused.status_code == 503
            assert "아무것도 바꾸지 않았습니다" in refused.text  # the owner reads Korean
            assert 'data-testid="maintenance-refused"' in refused.text
            assert refused.headers["retry-after"]
            # HTMX would not show a 503: it is sent to the page that says the same.
            sync = client.post(
                "/connections/garmin/sync",
                headers={
                    **ORIGIN,
                    "HX-Request": "true",
                    "HX-Current-URL": "http://testserver/connections",
                },
            )
            assert sync.status_code == 503
            assert sync.headers["hx-redirect"] == "/maintenance?next=%2Fconnections"
            assert (
                'data-testid="maintenance-refused"' in client.get(sync.headers["hx-redirect"]).text
            )
            # Nothing of the refused upload was kept (the database is still the current one).
            with _sessions(install) as sessions, sessions() as session:
                for table in (ImportJob, RawFile):
                    assert session.execute(select(func.count()).select_from(table)).scalar() == 0
            assert not [p for p in install.raw_dir.rglob("*") if p.is_file()]

        assert app.state.maintenance.wait_over(WAIT_S)
        _assert_restored(install, backup)

        accepted = client.post("/import", files=upload, headers=ORIGIN)
        assert accepted.status_code == 303, accepted.text
        assert imported.wait(WAIT_S)
        job = client.get(accepted.headers["location"])
        assert job.status_code == 200  # still signed in after the restore

    with _sessions(install) as sessions, sessions() as session:
        (status,) = session.execute(select(ImportJob.status)).scalars()
        assert status == "done"
        assert session.execute(select(func.count()).select_from(ActivitySource)).scalar() == 1
