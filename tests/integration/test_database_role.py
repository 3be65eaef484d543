"""The app's own database role (issue 21, item 9): created on first start by the superuser,
owner of the schema, not a superuser; an existing install's objects move to it; a restore
replays the dump as that role, so a crafted dump cannot run a program on the database server."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import roles
from app.db.migrate import upgrade
from app.db.startup import prepare_database
from app.services import backups
from app.services.backups import BackupError

ROLE = "domestique_app"


def _settings(url: str, tmp_path: Path) -> Settings:
    return Settings(
        env="development",
        database_url=url,
        data_dir=tmp_path / "data",
        backup_dir=tmp_path / "backups",
        timezone="Asia/Seoul",
    )


def _database(pg_cluster, tmp_path: Path, prefix: str) -> str:
    return pg_cluster.create_database(f"{prefix}_{os.getpid()}_{tmp_path.name[-12:]}")


def _query(url: str, sql: str, *params) -> list[tuple]:
    target = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(target, autocommit=True) as connection:
        cursor = connection.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []


def _not_the_roles(url: str) -> list[tuple]:
    """Tables, views and sequences of the schema (and TimescaleDB's chunks) another role owns."""
    return _query(
        url,
        "SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND pg_get_userbyid(c.relowner) <> %s "
        "AND (n.nspname = 'public' OR c.relname LIKE '\\_hyper\\_%%' "
        "OR c.relname LIKE 'compress\\_hyper\\_%%') "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')",
        ROLE,
    )


def test_an_existing_install_moves_to_a_role_that_is_not_a_superuser(pg_cluster, tmp_path):
    url = _database(pg_cluster, tmp_path, "role_upgrade")
    upgrade(url)  # an install from before: everything belongs to the superuser
    assert _not_the_roles(url)

    report = prepare_database(url, settings=_settings(url, tmp_path), wait_s=5)

    app = report.settings
    assert app is not None
    assert make_url(app.database_url.get_secret_value()).username == ROLE
    assert app.database_admin_url is not None
    assert app.database_admin_url.get_secret_value() == url
    [(superuser, createdb, createrole, replication, bypassrls, login)] = _query(
        url,
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin "
        "FROM pg_roles WHERE rolname = %s",
        ROLE,
    )
    assert (superuser, createdb, createrole, replication, bypassrls, login) == (
        False, False, False, False, False, True,
    )  # fmt: skip
    assert _not_the_roles(url) == []
    schema = "SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = 'public'"
    assert _query(url, schema) == [(ROLE,)]
    # The extensions stay the superuser's.
    owners = dict(_query(url, "SELECT extname, pg_get_userbyid(extowner)::text FROM pg_extension"))
    assert owners["timescaledb"] == "domestique"
    # The password is the app's alone, and a second start changes nothing.
    mode = stat.S_IMODE((tmp_path / "data" / roles.PASSWORD_FILE_NAME).stat().st_mode)
    assert mode == 0o600
    assert roles.hand_over(url, ROLE) == 0
    # The role uses its tables and cannot run programs on the server.
    engine = create_engine(app.database_url.get_secret_value())
    try:
        with engine.begin() as connection:
            assert connection.execute(text("SELECT current_user")).scalar() == ROLE
            connection.execute(text("INSERT INTO scheduled_job_state (job_id) VALUES ('x')"))
        with engine.connect() as connection, pytest.raises(Exception, match="pg_execute_server"):
            connection.execute(text("COPY (SELECT 1) TO PROGRAM 'true'"))
    finally:
        engine.dispose()


def test_a_new_install_is_created_by_the_role(pg_cluster, tmp_path):
    url = _database(pg_cluster, tmp_path, "role_new")
    report = prepare_database(url, settings=_settings(url, tmp_path), wait_s=5)
    assert report.settings is not None
    assert _query(url, "SELECT count(*) FROM alembic_version")[0][0] == 1
    assert _not_the_roles(url) == []
    assert {name for (name,) in _query(url, "SELECT extname FROM pg_extension")} >= {
        "timescaledb",
        "vector",
    }


def test_the_role_can_be_switched_off(pg_cluster, tmp_path):
    url = _database(pg_cluster, tmp_path, "role_off")
    settings = _settings(url, tmp_path).model_copy(update={"database_role": ""})
    report = prepare_database(url, settings=settings, wait_s=5)
    assert report.settings is not None
    assert report.settings.database_url.get_secret_value() == url
    assert not (tmp_path / "data" / roles.PASSWORD_FILE_NAME).exists()


_EVIL = """
CREATE FUNCTION run_a_program(value integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  IF current_database() <> '{source}' THEN
    COPY (SELECT 1) TO PROGRAM 'touch {marker}';
  END IF;
  RETURN value;
END $$;
CREATE TABLE innocent (value integer CHECK (run_a_program(value) = value));
INSERT INTO innocent VALUES (1);
"""


def test_a_crafted_dump_cannot_run_a_program_on_the_database_server(pg_cluster, tmp_path):
    """A dump whose check constraint calls COPY … TO PROGRAM on restore: replayed as the role,
    the server refuses it, the marker is never created and the install is unchanged."""
    marker = pg_cluster.root / f"ran-{tmp_path.name[-12:]}"
    source = _database(pg_cluster, tmp_path, "evil")
    upgrade(source)
    source_db = make_url(source).database
    _query(source, _EVIL.format(source=source_db, marker=marker))
    target = _database(pg_cluster, tmp_path, "victim")
    upgrade(target)
    _query(target, "INSERT INTO scheduled_job_state (job_id) VALUES ('kept')")
    data = tmp_path / "data"
    evil = _settings(source, tmp_path).model_copy(update={"backup_dir": tmp_path / "evil"})
    made = backups.make_backup(evil)

    # The dump is what it claims: replayed by the superuser, it runs the program.
    control = _database(pg_cluster, tmp_path, "control")
    dump = tmp_path / "db.dump"
    with backups._open_tar(made.path) as archive:
        archive.extract("db.dump", tmp_path, filter="data")
    control_run = subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={control.replace('+psycopg', '')}", str(dump)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert marker.exists(), control_run.stderr
    marker.unlink()

    victim = _settings(target, tmp_path)
    assert victim.data_dir == data
    with pytest.raises(BackupError) as refused:
        backups.restore_backup(victim, made.path, accept_unverified=True)
    assert refused.value.code == "backup_tool_failed"
    assert not marker.exists()
    assert _query(target, "SELECT job_id FROM scheduled_job_state") == [("kept",)]
    assert _query(target, "SELECT to_regclass('innocent')") == [(None,)]
    like = f"{make_url(target).database}_%"
    leftovers = _query(target, "SELECT datname FROM pg_database WHERE datname LIKE %s", like)
    assert leftovers == []


def test_a_restored_database_belongs_to_the_role_and_its_jobs_run_as_it(pg_cluster, tmp_path):
    url = _database(pg_cluster, tmp_path, "role_restore")
    settings = prepare_database(url, settings=_settings(url, tmp_path), wait_s=5).settings
    assert settings is not None
    # A job the dump says the superuser owns (a job runs as its owner).
    _query(
        url,
        "INSERT INTO _timescaledb_config.bgw_job (application_name, schedule_interval, "
        "max_runtime, max_retries, retry_period, proc_schema, proc_name, owner, scheduled) "
        "VALUES ('crafted', '1 day', '0', -1, '5 min', 'public', 'nothing', 'domestique', false)",
    )
    made = backups.make_backup(settings)
    backups.restore_backup(settings, made.path)
    assert _not_the_roles(url) == []
    jobs = _query(
        url,
        "SELECT owner::text FROM _timescaledb_config.bgw_job WHERE application_name = 'crafted'",
    )
    assert jobs == [(ROLE,)]
    # The catalog is read-only again for the role.
    [(may_insert,)] = _query(
        url,
        "SELECT has_table_privilege(%s, '_timescaledb_catalog.hypertable', 'INSERT')",
        ROLE,
    )
    assert may_insert is False


def test_after_the_first_start_the_process_connects_as_the_role(pg_cluster, tmp_path, monkeypatch):
    """`domestique migrate` (the start-up path `serve` takes) prepares the role; from then on
    the commands' settings, and the server's app factory's, use it."""
    from typer.testing import CliRunner

    from app.cli import cli
    from app.cli.base import _settings
    from app.config import get_settings

    url = _database(pg_cluster, tmp_path, "role_cli")
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", url)
    monkeypatch.setenv("DOMESTIQUE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        assert _settings().database_url.get_secret_value() == url  # before: the superuser
        migrated = CliRunner().invoke(cli, ["migrate"])
        assert migrated.exit_code == 0, migrated.output
        settings = _settings()
        assert make_url(settings.database_url.get_secret_value()).username == ROLE
        assert settings.database_admin_url is not None
        assert settings.database_admin_url.get_secret_value() == url
        engine = create_engine(settings.database_url.get_secret_value())
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT current_user")).scalar() == ROLE
                assert connection.execute(text("SELECT count(*) FROM owner")).scalar() == 0
        finally:
            engine.dispose()
    finally:
        get_settings.cache_clear()


def test_with_both_urls_configured_the_apps_url_names_the_role(pg_cluster, tmp_path):
    """DOMESTIQUE_DATABASE_ADMIN_URL set: DOMESTIQUE_DATABASE_URL's user and password are the
    role's; nothing is generated and its password is the configured one."""
    admin = _database(pg_cluster, tmp_path, "role_both")
    configured = make_url(admin).set(username="my_app", password="configured-pw-123")
    settings = _settings(configured.render_as_string(hide_password=False), tmp_path)
    settings = settings.model_copy(
        update={"database_admin_url": type(settings.database_url)(admin)}
    )
    report = prepare_database(admin, settings=settings, wait_s=5)
    assert report.settings == settings
    assert not (tmp_path / "data" / roles.PASSWORD_FILE_NAME).exists()
    [(superuser, password)] = _query(
        admin, "SELECT rolsuper, rolpassword IS NOT NULL FROM pg_authid WHERE rolname = 'my_app'"
    )
    assert superuser is False and password is True
    owners = _query(admin, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert owners == [("my_app",)]
