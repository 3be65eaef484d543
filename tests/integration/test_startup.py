"""The start-up path the container runs (``domestique serve`` / ``migrate``) against real
PostgreSQL clusters: a database that comes up late, a password it refuses, extensions behind
the server's version, TimescaleDB telemetry left on by an older install.

Each test has a cluster of its own: they change ``template1``, ``pg_hba.conf`` and
``ALTER SYSTEM`` settings, which must not leak into the session's database.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine

from app.db.extensions import update_extensions
from app.db.migrate import current_revision, head_revision
from app.db.startup import (
    DatabaseRefused,
    DatabaseUnreachable,
    prepare_database,
    telemetry_off,
    wait_for_database,
)
from app.services.pages.status import database_status
from tests.support.postgres import TemporaryCluster

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60


@pytest.fixture
def cluster() -> Iterator[TemporaryCluster]:
    started = TemporaryCluster().start()
    try:
        yield started
    finally:
        started.stop()


def _sql(cluster: TemporaryCluster, database: str, *statements: str) -> list[tuple]:
    with psycopg.connect(
        host=str(cluster.socket_dir), user=cluster.user, dbname=database, autocommit=True
    ) as connection:
        rows: list[tuple] = []
        for statement in statements:
            cursor = connection.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
        return rows


def _cli(*args: str, env: dict[str, str], user: str | None = None) -> subprocess.Popen[str]:
    """``domestique ARGS`` in a child process, as the container runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        user=user,
    )


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# --- a database that answers late -----------------------------------------------------------


def test_migrate_waits_for_a_database_that_starts_after_the_app(tmp_path):
    cluster = TemporaryCluster().start()
    try:
        _sql(cluster, "postgres", "CREATE DATABASE domestique")
        cluster.stop_server()
        process = _cli(
            "migrate",
            env={
                "DOMESTIQUE_ENV": "development",
                "DOMESTIQUE_DATABASE_URL": cluster.url("domestique"),
                "DOMESTIQUE_DATA_DIR": str(tmp_path / "data"),
            },
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        seen: list[dict] = []
        # The app is running and has said why it waits: only now does the database start.
        while not any("not answering yet" in entry.get("message", "") for entry in seen):
            line = lines.get(timeout=TIMEOUT_S)
            assert line is not None, f"the app ended before waiting: {process.stderr.read()}"
            seen.extend(_json_lines(line))
        cluster.start()
        assert process.wait(timeout=TIMEOUT_S) == 0, process.stderr.read()
        reader.join(TIMEOUT_S)
        while (line := lines.get(timeout=TIMEOUT_S)) is not None:
            seen.extend(_json_lines(line))

        waiting = next(entry for entry in seen if "not answering yet" in entry["message"])
        assert waiting["level"] == "WARNING"
        assert "No such file or directory" in waiting["message"]  # the socket is not there yet
        assert "After a reboot the app can start before the database" in waiting["message"]
        assert any(re.match(r"the database answered after \d+ tries", e["message"]) for e in seen)
        engine = create_engine(cluster.url("domestique"))
        try:
            assert current_revision(engine) == head_revision()
        finally:
            engine.dispose()
    finally:
        cluster.stop()


def test_waiting_pauses_longer_each_time_and_gives_up_with_a_sentence(tmp_path, caplog):
    """Nothing listens on the socket: the tries are real, the clock is injected."""
    now = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    url = f"postgresql+psycopg://domestique@/domestique?host={tmp_path}"
    with caplog.at_level(logging.WARNING), pytest.raises(DatabaseUnreachable) as raised:
        wait_for_database(url, wait_s=60, sleep=sleep, clock=lambda: now[0])
    assert pauses == [1, 2, 4, 8, 15, 15, 15]  # one more would end past 60 s
    assert "did not answer within 60 s" in str(raised.value)
    assert "docker compose logs db" in str(raised.value)
    assert "데이터베이스가 60초 안에 응답하지 않았습니다" in raised.value.sentence("ko")
    assert len([r for r in caplog.records if "not answering yet" in r.getMessage()]) == 7


def test_a_refusal_that_waiting_cannot_fix_stops_at_once(cluster):
    def sleep(seconds: float) -> None:
        raise AssertionError("a refusal must not be retried")

    with pytest.raises(DatabaseRefused) as raised:
        wait_for_database(cluster.url("no_such_database"), sleep=sleep)
    assert 'database "no_such_database" does not exist' in str(raised.value)
    assert "DOMESTIQUE_DATABASE_URL" in str(raised.value)


# --- the password the database was created with ----------------------------------------------


def test_serve_says_what_to_do_when_the_database_keeps_its_first_password(cluster, tmp_path):
    """The cluster was initialised with the old sample password; .env now has a real one."""
    _sql(
        cluster,
        "postgres",
        "CREATE ROLE nas LOGIN SUPERUSER PASSWORD 'change-me'",
        "CREATE DATABASE domestique OWNER nas",
    )
    hba = cluster.data / "pg_hba.conf"
    hba.write_text("local all nas scram-sha-256\n" + hba.read_text())
    _sql(cluster, "postgres", "SELECT pg_reload_conf()")
    password = "Ab3dEf6hIj9kLm2nOp5qRs8t"  # what the owner now has in .env
    process = _cli(
        "serve",
        env={
            "DOMESTIQUE_ENV": "production",
            "DOMESTIQUE_DEFAULT_LOCALE": "ko",
            "DOMESTIQUE_DATABASE_URL": (
                f"postgresql+psycopg://nas:{password}@/domestique?host={cluster.socket_dir}"
            ),
            "DOMESTIQUE_DATA_DIR": str(tmp_path / "data"),
            "DOMESTIQUE_BACKUP_DIR": str(tmp_path / "backups"),
        },
    )
    stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 1
    # In words, in the owner's language, on the terminal:
    assert "데이터베이스가 사용자 nas의 비밀번호를 거부했습니다" in stderr
    assert "docker compose exec db psql -U nas -d postgres -c '\\password nas'" in stderr
    # and in English in the log, at once (a refused password is not worth waiting for):
    errors = [entry for entry in _json_lines(stdout) if entry["level"] == "ERROR"]
    assert len(errors) == 1
    assert "The database refused the password of user nas" in errors[0]["message"]
    assert "keeps the password it was first started with" in errors[0]["message"]
    assert not any("not answering yet" in entry["message"] for entry in _json_lines(stdout))
    assert password not in stdout + stderr


# --- extensions ------------------------------------------------------------------------------


def _share_dir(cluster: TemporaryCluster) -> Path:
    rows = _sql(cluster, "postgres", "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")
    return Path(rows[0][0])


def install_older_vector(cluster: TemporaryCluster, database: str, older: str) -> str:
    """pgvector as it was at ``older``: the current version installed, then every object the
    real ``vector--<older>--<current>.sql`` update script adds taken out again, and the recorded
    version set back. ``ALTER EXTENSION vector UPDATE`` must then run that very script (it
    fails if any object it creates is still there). The server has only the newest install
    script, so CREATE EXTENSION cannot install ``older`` itself. Returns the current version."""
    _sql(cluster, database, "CREATE EXTENSION vector")
    current = _sql(
        cluster, database, "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
    )[0][0]
    script = (_share_dir(cluster) / "extension" / f"vector--{older}--{current}.sql").read_text()
    undo: list[str] = []
    for statement in (part.strip() for part in script.split(";")):
        body = "\n".join(
            line for line in statement.splitlines() if not line.startswith(("--", "\\echo"))
        ).strip()
        if not body:
            continue
        if function := re.match(r"CREATE FUNCTION (\w+\([^)]*\))", body):
            undo += [
                f"ALTER EXTENSION vector DROP FUNCTION {function[1]}",
                f"DROP FUNCTION {function[1]}",
            ]
        elif cast := re.match(r"CREATE CAST (\([^)]*\))", body):
            undo = [f"ALTER EXTENSION vector DROP CAST {cast[1]}", f"DROP CAST {cast[1]}", *undo]
        else:
            raise AssertionError(f"cannot undo this statement of the update script: {body}")
    assert undo, "the update script adds nothing"
    _sql(
        cluster,
        database,
        *undo,
        f"UPDATE pg_extension SET extversion = '{older}' WHERE extname = 'vector'",  # noqa: S608
    )
    return current


def _vector(cluster: TemporaryCluster, database: str) -> tuple[str, int]:
    rows = _sql(
        cluster,
        database,
        "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector'), "
        "(SELECT count(*) FROM pg_proc WHERE proname = 'array_to_sparsevec')",
    )
    return rows[0]


def test_start_up_updates_extensions_behind_in_the_app_database_template1_and_postgres(
    cluster, caplog
):
    _sql(cluster, "postgres", "CREATE DATABASE domestique")
    url = cluster.url("domestique")
    for database in ("domestique", "template1", "postgres"):
        current = install_older_vector(cluster, database, "0.7.4")
        assert _vector(cluster, database) == ("0.7.4", 0)
    engine = create_engine(url)
    try:
        behind = database_status(engine).as_dict()
        assert behind["extensions"]["vector"] == {"installed": "0.7.4", "default": current}
        assert behind["extensions_current"] is False

        with caplog.at_level(logging.INFO):
            report = prepare_database(url)

        for database in ("domestique", "template1", "postgres"):
            assert _vector(cluster, database) == (current, 4), database
        updated = {(c.database, c.name): c for c in report.extensions}
        assert updated["template1", "vector"].updated_to == current
        assert updated["domestique", "vector"].installed == "0.7.4"
        assert all(c.current for c in report.extensions)
        messages = [record.getMessage() for record in caplog.records]
        for database in ("domestique", "template1", "postgres"):
            assert f"updated vector from 0.7.4 to {current} in database {database}" in messages
        # A database made from template1 now (as a restore makes one) starts current.
        _sql(cluster, "postgres", "CREATE DATABASE restored")
        assert _vector(cluster, "restored") == (current, 4)

        healthy = database_status(engine).as_dict()
        assert healthy["extensions"]["vector"] == {"installed": current, "default": current}
        timescaledb = healthy["extensions"]["timescaledb"]
        assert timescaledb["installed"] == timescaledb["default"] == healthy["timescaledb"]
        assert healthy["extensions_current"] is True
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_an_update_that_fails_is_logged_with_the_command_and_start_up_goes_on(cluster, caplog):
    """The app's role does not own the extension (as a role that is not a superuser would)."""
    _sql(
        cluster,
        "postgres",
        "CREATE ROLE app LOGIN",
        "CREATE DATABASE owned OWNER app",
    )
    install_older_vector(cluster, "owned", "0.7.4")
    url = f"postgresql+psycopg://app@/owned?host={cluster.socket_dir}"
    with caplog.at_level(logging.INFO):
        checks = update_extensions(url)
    failed = next(c for c in checks if c.database == "owned" and c.name == "vector")
    assert failed.updated_to is None and "must be owner" in failed.error
    assert not failed.current
    assert _vector(cluster, "owned")[0] == "0.7.4"
    error = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert 'psql -X -U <user> -d owned -c "ALTER EXTENSION vector UPDATE"' in error.getMessage()


# --- telemetry -------------------------------------------------------------------------------


def test_start_up_turns_off_telemetry_an_older_install_left_on(cluster, caplog):
    """Installs made before compose set TIMESCALEDB_TELEMETRY=off have it at "basic"."""
    _sql(
        cluster,
        "postgres",
        "ALTER SYSTEM SET timescaledb.telemetry_level = 'basic'",
        "SELECT pg_reload_conf()",
    )
    # A role that is not a superuser cannot change it, and says what to run.
    _sql(cluster, "postgres", "CREATE ROLE app LOGIN")
    with caplog.at_level(logging.INFO):
        assert telemetry_off(f"postgresql+psycopg://app@/postgres?host={cluster.socket_dir}") == (
            "basic"
        )
    assert "ALTER SYSTEM SET timescaledb.telemetry_level = 'off'" in caplog.records[-1].getMessage()
    assert _sql(cluster, "postgres", "SHOW timescaledb.telemetry_level") == [("basic",)]

    with caplog.at_level(logging.INFO):
        assert telemetry_off(cluster.url("postgres")) == "basic"
    assert "turned off for the whole server" in caplog.records[-1].getMessage()
    # For every new session, and after a restart (postgresql.auto.conf):
    assert _sql(cluster, "postgres", "SHOW timescaledb.telemetry_level") == [("off",)]
    auto = (cluster.data / "postgresql.auto.conf").read_text()
    assert "timescaledb.telemetry_level = 'off'" in auto
    # Already off: nothing to do, nothing logged.
    caplog.clear()
    assert telemetry_off(cluster.url("postgres")) == "off"
    assert not caplog.records


# --- the folders the app writes ----------------------------------------------------------------


def test_serve_says_how_to_fix_a_folder_it_cannot_write():
    """data/ and backups/ as a fresh copy of the repository leaves them on a NAS: owned by
    another user than the app's (uid 1000 in the image; here ``nobody`` against root)."""
    folder = Path(tempfile.mkdtemp(prefix="domestique-nas-"))
    try:
        folder.chmod(0o755)
        (folder / "data").mkdir(mode=0o755)
        (folder / "backups").mkdir(mode=0o755)
        process = _cli(
            "serve",
            env={
                "DOMESTIQUE_ENV": "development",
                "DOMESTIQUE_DEFAULT_LOCALE": "en",
                "DOMESTIQUE_DATA_DIR": str(folder / "data"),
                "DOMESTIQUE_BACKUP_DIR": str(folder / "backups"),
                "DOMESTIQUE_DATABASE_URL": f"postgresql+psycopg://x@/x?host={folder}",
            },
            user="nobody",
        )
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        assert process.returncode == 1
        assert f"Domestique cannot write to {folder / 'data'}." in stderr
        assert "sudo chown -R 1000:1000 data backups" in stderr
        (error,) = [e for e in _json_lines(stdout) if e["level"] == "ERROR"]
        assert "Permission denied" in error["message"]
        assert not any("database" in e["message"] for e in _json_lines(stdout))
    finally:
        shutil.rmtree(folder)


# --- a restore and the extensions' versions ----------------------------------------------------


def test_a_restore_does_not_take_template1s_out_of_date_extensions(cluster, tmp_path):
    """A restored database used to be a copy of template1 and keep its extension versions."""
    from app.config import Settings
    from app.services import backups

    _sql(cluster, "postgres", "CREATE DATABASE domestique")
    settings = Settings(
        env="development",
        database_url=cluster.url("domestique"),
        data_dir=tmp_path / "data",
        backup_dir=tmp_path / "backups",
    )
    prepare_database(cluster.url("domestique"))
    made = backups.make_backup(settings)
    current = install_older_vector(cluster, "template1", "0.7.4")

    restored = backups.restore_backup(settings, made.path)

    assert restored.warnings == []
    assert _vector(cluster, "domestique") == (current, 4)
    timescaledb = _sql(
        cluster,
        "domestique",
        "SELECT extversion, (SELECT default_version FROM pg_available_extensions "
        "WHERE name = 'timescaledb') FROM pg_extension WHERE extname = 'timescaledb'",
    )
    assert timescaledb[0][0] == timescaledb[0][1]


def test_timescaledb_for_a_restore_is_the_backups_version_when_the_server_has_it(cluster, caplog):
    from app.db.extensions import create_timescaledb_for_restore

    default = _sql(
        cluster,
        "postgres",
        "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'",
    )[0][0]
    _sql(cluster, "postgres", "CREATE DATABASE same", "CREATE DATABASE gone")
    assert create_timescaledb_for_restore(cluster.url("same"), default) == default
    # This server carries only one TimescaleDB library; an image that dropped the backup's
    # version gets the default, and the log says so (the restore also warns the owner).
    with caplog.at_level(logging.WARNING):
        assert create_timescaledb_for_restore(cluster.url("gone"), "2.10.0") == default
    assert "cannot install TimescaleDB 2.10.0" in caplog.records[-1].getMessage()
    assert _sql(
        cluster, "gone", "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ) == [(default,)]


def test_serve_points_out_a_database_left_in_data_db(pg_cluster, tmp_path):
    """Before the Docker volume the cluster lived in data/db; after an upgrade the app starts
    on an empty database, and the log must say where the old one is and what to do."""
    (tmp_path / "data" / "db").mkdir(parents=True)
    (tmp_path / "data" / "db" / "PG_VERSION").write_text("17\n")
    process = _cli(
        "serve",
        env={
            "DOMESTIQUE_ENV": "development",
            "DOMESTIQUE_DATA_DIR": str(tmp_path / "data"),
            "DOMESTIQUE_BACKUP_DIR": str(tmp_path / "backups"),
            # Refused at once, so that serve stops right after the folder checks.
            "DOMESTIQUE_DATABASE_URL": pg_cluster.url("no_such_database"),
        },
    )
    stdout, _ = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 1
    (warning,) = [e for e in _json_lines(stdout) if e["level"] == "WARNING"]
    assert (
        f"{tmp_path / 'data' / 'db'} holds the database files of an earlier" in (warning["message"])
    )
    assert "restore a backup made before the upgrade" in warning["message"]
