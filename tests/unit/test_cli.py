"""The command line, against the real test database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from app.db.migrate import head_revision


@pytest.fixture
def cli_env(monkeypatch, pg_cluster, tmp_path):
    url = pg_cluster.create_database("domestique_cli")
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", url)
    monkeypatch.setenv("DOMESTIQUE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_migrate_check_and_create_owner(cli_env):
    runner = CliRunner()
    before = runner.invoke(cli, ["check"])
    assert before.exit_code == 0, before.output
    assert "schema: empty" in before.output

    migrated = runner.invoke(cli, ["migrate"])
    assert migrated.exit_code == 0, migrated.output

    checked = runner.invoke(cli, ["check"])
    assert checked.exit_code == 0
    assert "postgresql: 17" in checked.output
    assert "timescaledb: 2." in checked.output
    assert "edition apache" in checked.output or "edition timescale" in checked.output
    assert "pgvector: 0." in checked.output
    head = head_revision()
    assert f"schema: {head} (code expects {head})" in checked.output

    created = runner.invoke(
        cli,
        ["create-owner", "--username", "jiwoo", "--name", "Jiwoo", "--password-stdin"],
        input="a long password here\n",
    )
    assert created.exit_code == 0, created.output
    again = runner.invoke(
        cli,
        ["create-owner", "--username", "x", "--name", "X", "--password-stdin"],
        input="another long password\n",
    )
    assert again.exit_code == 1
    assert "already has its owner" in again.output


def _check_with(monkeypatch, **env: str | None):
    """Run `domestique check` with these DOMESTIQUE_* variables (None removes one)."""
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(f"DOMESTIQUE_{name}", raising=False)
        else:
            monkeypatch.setenv(f"DOMESTIQUE_{name}", value)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, ["check"])
    finally:
        get_settings.cache_clear()


def test_check_reports_an_unreachable_database(monkeypatch, tmp_path):
    result = _check_with(
        monkeypatch,
        ENV="development",
        DATABASE_URL=f"postgresql+psycopg://nobody@/x?host={tmp_path}",
    )
    assert result.exit_code == 1
    assert "database: unreachable (OperationalError)" in result.output


def test_placeholder_secrets_stop_the_cli_with_a_clear_message(monkeypatch):
    result = _check_with(monkeypatch, ENV=None, DATABASE_URL=None)
    assert result.exit_code == 2
    assert "DOMESTIQUE_DATABASE_URL has the sample password" in result.output


def test_import_and_stats(cli_env, tmp_path):
    import json
    from datetime import UTC, datetime

    import numpy as np

    from tests.support.fitwriter import write_activity

    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    folder = tmp_path / "incoming"
    (folder / "2025").mkdir(parents=True)
    write_activity(
        folder / "2025" / "ride.fit",
        sport="cycling",
        start=datetime(2025, 4, 1, 6, 0, tzinfo=UTC),
        samples={"power": np.full(120, 200.0)},
    )
    (folder / "notes.txt").write_text("not an activity")

    imported = runner.invoke(cli, ["import", str(folder), "--workers", "0"])
    assert imported.exit_code == 1, imported.output  # one file failed
    assert "activities added" in imported.output and "notes.txt" in imported.output

    again = runner.invoke(cli, ["import", str(folder / "2025" / "ride.fit"), "--workers", "0"])
    assert again.exit_code == 0, again.output

    stats = runner.invoke(cli, ["stats", "--json"])
    assert stats.exit_code == 0
    figures = json.loads(stats.output)
    assert figures["activities"] == 1 and figures["samples"] == 120
    assert figures["activities_by_sport"] == {"cycling": 1}
    assert figures["activities_by_source"] == {"fit": 1}
    assert figures["first_day"] == figures["last_day"] == "2025-04-01"
    assert figures["wellness_days"] == 0

    missing = runner.invoke(cli, ["import", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2


def test_sync_brings_garmin_history_and_full_walks_it_again(cli_env, monkeypatch):
    from datetime import date, timedelta

    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from app.config import get_settings
    from app.security.keys import SecretBox, load_master_key
    from app.services.sync import adapters, connections
    from app.services.sync.adapters import garmin_source
    from tests.support.fake_garmin import FakeGarmin

    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    assert runner.invoke(cli, ["sync"]).exit_code == 1  # nothing connected yet
    assert runner.invoke(cli, ["sync", "--source", "strava2"]).exit_code == 2

    fake = FakeGarmin().start()
    try:
        fake.add_history(3, newest=date.today() - timedelta(days=1))
        settings = get_settings()
        monkeypatch.setenv("DOMESTIQUE_SYNC_DELAY_S", "0")
        monkeypatch.setattr(
            adapters,
            "default_sources",
            lambda s: {"garmin": garmin_source(s, endpoints=fake.endpoints)},
        )
        engine = create_engine(cli_env)
        with sessionmaker(bind=engine).begin() as session:
            box = SecretBox(load_master_key(settings))
            connections.save_tokens(session, box, "garmin", fake.issue_tokens(), account="a@b.c")
        get_settings.cache_clear()

        first = runner.invoke(cli, ["sync", "--source", "garmin"])
        assert first.exit_code == 0, first.output
        assert "garmin: done" in first.output and "activities added 3" in first.output

        full = runner.invoke(cli, ["sync", "--full"])
        assert full.exit_code == 0, full.output
        assert "activities added 0" in full.output
        engine.dispose()
    finally:
        fake.stop()


def test_backup_prints_its_file_and_restore_brings_it_back(cli_env, monkeypatch, tmp_path):
    from pathlib import Path

    from sqlalchemy import create_engine, text

    monkeypatch.setenv("DOMESTIQUE_BACKUP_DIR", str(tmp_path / "backups"))
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    made = runner.invoke(cli, ["backup"])
    assert made.exit_code == 0, made.output
    path = Path(made.output.strip().splitlines()[-1])
    assert path.is_file() and path.parent == tmp_path / "backups"

    engine = create_engine(cli_env)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE daily_wellness"))
    engine.dispose()
    refused = runner.invoke(cli, ["restore", str(path)], input="n\n")
    assert refused.exit_code == 1
    restored = runner.invoke(cli, ["restore", str(path), "--yes"])
    assert restored.exit_code == 0, restored.output
    engine = create_engine(cli_env)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM daily_wellness")).scalar() == 0
    engine.dispose()
    assert runner.invoke(cli, ["restore", str(tmp_path / "missing.tar"), "--yes"]).exit_code == 2


def test_every_command_works_on_a_brand_new_database(cli_env, tmp_path, monkeypatch):
    """A fresh clone or install: nothing ran `migrate`. Commands that need the tables bring the
    database to this version first (as `serve` does), once; `check` still reports the state."""
    import json
    from datetime import UTC, datetime

    import numpy as np

    from tests.support.fitwriter import write_activity

    monkeypatch.setenv("DOMESTIQUE_BACKUP_DIR", str(tmp_path / "backups"))
    runner = CliRunner()
    assert "schema: empty" in runner.invoke(cli, ["check"]).output

    stats = runner.invoke(cli, ["stats", "--json"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.stdout)["activities"] == 0
    assert f"schema: {head_revision()}" in runner.invoke(cli, ["check"]).output

    write_activity(
        tmp_path / "ride.fit",
        sport="cycling",
        start=datetime(2025, 4, 1, 6, 0, tzinfo=UTC),
        samples={"power": np.full(60, 180.0)},
    )
    imported = runner.invoke(cli, ["import", str(tmp_path / "ride.fit"), "--workers", "0"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(runner.invoke(cli, ["stats", "--json"]).stdout)["activities"] == 1


@pytest.mark.parametrize(
    ("args", "stdin", "exit_code", "says"),
    [
        pytest.param(["stats"], None, 0, "activities: 0", id="stats"),
        pytest.param(["sync"], None, 1, "no source is connected", id="sync"),
        pytest.param(["recompute"], None, 0, "recomputed: activities 0", id="recompute"),
        pytest.param(["backup"], None, 0, "verified", id="backup"),
        pytest.param(
            ["create-owner", "--username", "jiwoo", "--name", "Jiwoo", "--password-stdin"],
            "a long password here\n",
            0,
            "owner jiwoo created",
            id="create-owner",
        ),
    ],
)
def test_commands_that_need_the_tables_create_them(
    cli_env, tmp_path, monkeypatch, args, stdin, exit_code, says
):
    monkeypatch.setenv("DOMESTIQUE_BACKUP_DIR", str(tmp_path / "backups"))
    result = CliRunner().invoke(cli, args, input=stdin)
    assert result.exit_code == exit_code, result.output
    assert says in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "database migrated to revision" in result.output


def test_restore_onto_a_brand_new_database_needs_no_migration(
    cli_env, pg_cluster, tmp_path, monkeypatch
):
    """The recovery path must not depend on the database it replaces: restoring onto an empty
    one (a new NAS) neither migrates it first nor writes a safety backup of nothing."""
    from pathlib import Path

    from sqlalchemy import create_engine, text

    backups = tmp_path / "backups"
    runner = CliRunner()
    # A backup of a populated database, made elsewhere …
    monkeypatch.setenv("DOMESTIQUE_BACKUP_DIR", str(backups))
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", pg_cluster.create_database("domestique_cli_a"))
    get_settings.cache_clear()
    owner = ["create-owner", "--username", "jiwoo", "--name", "Jiwoo", "--password-stdin"]
    assert runner.invoke(cli, owner, input="a long password here\n").exit_code == 0
    made = runner.invoke(cli, ["backup"])
    assert made.exit_code == 0, made.output
    path = Path(made.output.strip().splitlines()[-1])
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", cli_env)
    get_settings.cache_clear()
    # … restored onto a database nothing has touched.
    restored = runner.invoke(cli, ["restore", str(path), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "safety" not in restored.output
    engine = create_engine(cli_env)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT username FROM owner")).scalar() == "jiwoo"
    engine.dispose()
    assert [p.name for p in backups.iterdir() if "safety" in p.name] == []


def test_every_command_either_migrates_first_or_says_why_not():
    from app.cli import SCHEMA_FREE

    names = {}
    for info in cli.registered_commands:
        name = info.name or info.callback.__name__.replace("_", "-")
        names[name] = getattr(info.callback, "needs_schema", False)
    assert {name for name, migrates in names.items() if not migrates} == SCHEMA_FREE
    assert {"import", "sync", "backup", "stats", "recompute", "create-owner"} <= {
        name for name, migrates in names.items() if migrates
    }


def test_a_database_from_a_newer_version_is_left_alone_with_a_sentence(cli_env):
    from sqlalchemy import create_engine, text

    engine = create_engine(cli_env)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num varchar(32))"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('f00dfeedcafe')"))
    result = CliRunner().invoke(cli, ["stats"])
    assert result.exit_code == 1
    assert "migrated by a newer Domestique (revision f00dfeedcafe)" in result.output
    with engine.connect() as connection:
        tables = connection.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        ).scalar()
    engine.dispose()
    assert tables == 1  # nothing was created next to it


def test_an_unreachable_database_is_one_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", f"postgresql+psycopg://nobody@/x?host={tmp_path}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["stats"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "database unreachable (OperationalError)" in result.output
    assert isinstance(result.exception, SystemExit)  # a sentence, not a traceback


def test_folders_given_through_dots_are_walked_and_hidden_names_below_skipped(
    tmp_path, monkeypatch
):
    """Only names below the folder given are hidden: `../exports`, `./exports` and a path
    through a dot-folder (`~/.cache/…`) name what to import."""
    from app.services.imports import files_under

    exports = tmp_path / "exports"
    (exports / "2025" / ".thumbnails").mkdir(parents=True)
    (exports / "2025" / "ride.fit").write_bytes(b"ride")
    (exports / "2025" / ".thumbnails" / "ride.png").write_bytes(b"png")
    (exports / ".DS_Store").write_bytes(b"mac")
    hidden = tmp_path / ".cache" / "exports"
    hidden.mkdir(parents=True)
    (hidden / "run.fit").write_bytes(b"run")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")

    def names(path: str) -> list[str]:
        return [p.name for p in files_under([Path(path)])]

    assert names("../exports") == ["ride.fit"]
    assert names("../exports/2025") == ["ride.fit"]
    assert names("../.cache/exports") == ["run.fit"]
    assert names(str(hidden)) == ["run.fit"]
    assert names("..") == ["ride.fit"]  # .cache is below the folder given: skipped
    monkeypatch.chdir(exports)
    assert names(".") == names("./2025") == ["ride.fit"]
    assert names("2025/.thumbnails") == ["ride.png"]  # a hidden folder named explicitly
    assert names("2025/.thumbnails/ride.png") == ["ride.png"]  # a file named is taken as is


def test_import_of_a_folder_above_the_working_directory(cli_env, tmp_path, monkeypatch):
    import json
    from datetime import UTC, datetime

    import numpy as np

    from tests.support.fitwriter import write_activity

    (tmp_path / "exports").mkdir()
    (tmp_path / "work").mkdir()
    write_activity(
        tmp_path / "exports" / "ride.fit",
        sport="cycling",
        start=datetime(2025, 4, 1, 6, 0, tzinfo=UTC),
        samples={"power": np.full(60, 180.0)},
    )
    monkeypatch.chdir(tmp_path / "work")
    runner = CliRunner()
    imported = runner.invoke(cli, ["import", "../exports", "--workers", "0"])
    assert imported.exit_code == 0, imported.output
    assert json.loads(runner.invoke(cli, ["stats", "--json"]).stdout)["activities"] == 1


def test_setup_code_until_the_owner_exists(cli_env, tmp_path):
    runner = CliRunner()
    shown = runner.invoke(cli, ["setup-code"])
    assert shown.exit_code == 0, shown.output
    code = shown.stdout.strip().splitlines()[-1]
    assert (tmp_path / "setup-code").read_text().strip() == code.replace("-", "")
    assert runner.invoke(cli, ["setup-code"]).stdout.strip() == code  # the same until used
    created = runner.invoke(
        cli,
        ["create-owner", "--username", "jiwoo", "--name", "Jiwoo", "--password-stdin"],
        input="correct horse battery\n",
    )
    assert created.exit_code == 0, created.output
    assert not (tmp_path / "setup-code").exists()
    after = runner.invoke(cli, ["setup-code"])
    assert after.exit_code == 1 and "owner exists" in after.output


def test_reset_password_replaces_a_forgotten_one(cli_env):
    from sqlalchemy import create_engine, text

    from app.security.passwords import verify_password

    runner = CliRunner()
    created = runner.invoke(
        cli,
        ["create-owner", "--username", "jiwoo", "--name", "Jiwoo", "--password-stdin"],
        input="correct horse battery\n",
    )
    assert created.exit_code == 0, created.output
    short = runner.invoke(cli, ["reset-password", "--password-stdin"], input="short\n")
    assert short.exit_code == 1
    reset = runner.invoke(cli, ["reset-password", "--password-stdin"], input="a new long secret\n")
    assert reset.exit_code == 0, reset.output
    assert "jiwoo" in reset.stdout
    engine = create_engine(cli_env)
    with engine.connect() as connection:
        password_hash, epoch = connection.execute(
            text("SELECT password_hash, session_epoch FROM owner")
        ).one()
    engine.dispose()
    assert verify_password(password_hash, "a new long secret")
    assert not verify_password(password_hash, "correct horse battery")
    assert epoch == 1  # every session ended


def test_every_command_creates_files_for_its_own_user_only(cli_env, tmp_path, monkeypatch):
    import os
    import stat

    from app.services.raw_store import IncomingFile

    monkeypatch.setenv("DOMESTIQUE_BACKUP_DIR", str(tmp_path / "backups"))
    get_settings.cache_clear()
    previous = os.umask(0o022)
    try:
        made = CliRunner().invoke(cli, ["backup"])
        assert made.exit_code == 0, made.output
        backup = Path(made.stdout.strip().splitlines()[-1])
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        assert stat.S_IMODE(backup.parent.stat().st_mode) == 0o700
        incoming = IncomingFile(get_settings(), "ride.fit", 1024)
        incoming.write(b"raw bytes")
        assert stat.S_IMODE(incoming.finish().stat().st_mode) == 0o600
    finally:
        os.umask(previous)
