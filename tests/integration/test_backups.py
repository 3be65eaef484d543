"""Backups against a real PostgreSQL with TimescaleDB: the round trip (import → backup → wipe →
restore gives back every table's rows and content), verification, retention, and the failure
drills (corrupt or truncated file, a newer schema, a full disk, a restore that fails part-way)."""

from __future__ import annotations

import os
import resource
import signal
import tarfile
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from app.config import Settings
from app.db.migrate import upgrade
from app.services import backups, imports
from app.services.backups import BackupError, Retention
from app.services.owner import account
from tests.support.fitwriter import write_activity


@pytest.fixture
def install(pg_cluster, tmp_path) -> Settings:
    """A whole install of its own: database, data folder with raw files, backups folder."""
    name = f"backup_{os.getpid()}_{len(list(tmp_path.parent.iterdir()))}"
    url = pg_cluster.create_database(name)
    upgrade(url)
    settings = Settings(
        env="development",
        database_url=url,
        data_dir=tmp_path / "data",
        backup_dir=tmp_path / "backups",
        timezone="Asia/Seoul",
    )
    engine = create_engine(url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    with sessions() as session:
        account.create_owner(
            session, account.NewOwner("Jiwoo", "jiwoo", "a good password 1", "ko", "Asia/Seoul")
        )
    fit = tmp_path / "ride.fit"
    write_activity(
        fit,
        sport="cycling",
        start=datetime(2026, 5, 1, 6, tzinfo=UTC),
        samples={"power": np.full(600, 210.0), "heart_rate": np.full(600, 140.0)},
    )
    raws = imports.keep_paths(sessions, settings, [fit])
    with sessions.begin() as session:
        job = imports.create_job(session, raws, origin="cli").id
    imports.run_job(sessions, settings, job, workers=0)
    (settings.data_dir / "secret.key").write_text(Fernet.generate_key().decode())
    engine.dispose()
    yield settings
    pg_cluster.create_database(name)  # leave nothing renamed behind


def _content(settings: Settings) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent digest of every table's content (but the owner's
    session epoch, which a restore moves on: see test_a_restore_ends_the_sessions_of_its_time)."""
    engine = create_engine(settings.database_url.get_secret_value())
    out = {}
    row = "(to_jsonb(t) - 'session_epoch')::text"
    with engine.connect() as connection:
        for name in sorted(inspect(connection).get_table_names()):
            count, digest = connection.execute(
                text(
                    f"SELECT count(*), md5(coalesce(string_agg(md5({row}), '' ORDER BY md5({row})), '')) FROM \"{name}\" t"  # noqa: S608, E501
                )
            ).one()
            out[name] = (count, digest)
    engine.dispose()
    return out


def _session_epoch(settings: Settings) -> int:
    engine = create_engine(settings.database_url.get_secret_value())
    with engine.connect() as connection:
        epoch = connection.execute(text("SELECT session_epoch FROM owner")).scalar_one()
    engine.dispose()
    return epoch


def _activities_page(settings: Settings) -> str:
    from fastapi.testclient import TestClient

    from app.jobs.registry import JobRegistry
    from app.web.app import create_app

    with TestClient(create_app(settings, jobs=JobRegistry()), follow_redirects=False) as client:
        signed = client.post("/login", data={"username": "jiwoo", "password": "a good password 1"})
        assert signed.status_code == 303
        return client.get("/activities", headers={"Accept-Language": "en"}).text


def test_round_trip_gives_back_every_row_and_file(install):
    before = _content(install)
    assert before["activity"][0] == 1 and before["sample"][0] == 600
    raw_files = sorted(p.relative_to(install.raw_dir) for p in install.raw_dir.rglob("*.fit"))

    page_before = _activities_page(install)
    assert 'data-testid="activity-table"' in page_before
    result = backups.make_backup(install)
    assert result.path.name.startswith("domestique-") and result.path.suffix == ".tar"
    meta = backups.verify(result.path)
    assert meta["row_counts"]["activity"] == 1 and meta["revision"]
    assert "db.dump" in meta["members"] and "secret.key" in meta["members"]

    # wipe: another activity arrives and the raw store loses a file
    engine = create_engine(install.database_url.get_secret_value())
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM daily_wellness"))
        connection.execute(text("DELETE FROM sample"))
        connection.execute(text("DELETE FROM activity"))
    engine.dispose()
    for path in install.raw_dir.rglob("*.fit"):
        path.unlink()

    restored = backups.restore_backup(install, result.path)
    assert _content(install) == before
    assert _activities_page(install) == page_before  # the app serves the same page again
    assert sorted(p.relative_to(install.raw_dir) for p in install.raw_dir.rglob("*.fit")) == (
        raw_files
    )
    assert restored.safety_backup is not None and restored.safety_backup.exists()
    assert restored.after["activity"] == 1


def test_a_corrupt_or_truncated_backup_is_refused_and_nothing_changes(install):
    good = backups.make_backup(install).path
    before = _content(install)
    truncated = good.with_name("domestique-20200101-000000.tar")
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(BackupError) as error:
        backups.restore_backup(install, truncated)
    assert error.value.code in ("backup_corrupt", "backup_unreadable")

    flipped = good.with_name("domestique-20200102-000000.tar")
    data = bytearray(good.read_bytes())
    with tarfile.open(good) as archive:
        offset = archive.getmember("db.dump").offset_data
    data[offset + 100] ^= 0xFF
    flipped.write_bytes(bytes(data))
    with pytest.raises(BackupError) as error:
        backups.verify(flipped)
    assert error.value.code == "backup_corrupt"
    assert _content(install) == before


def test_a_backup_from_a_newer_version_is_refused(install):
    with pytest.raises(BackupError) as error:
        backups.check_restorable({"format": 1, "revision": "9999", "app_version": "9.0"}, None)
    assert error.value.code == "backup_newer"
    assert backups.check_restorable(
        {"format": 1, "revision": None, "timescaledb": "2.0.0"}, {"timescaledb": "2.19.3"}
    ) == ["timescaledb_mismatch"]


def test_a_full_disk_leaves_no_partial_file_and_keeps_older_backups(install, tmp_path):
    older = backups.make_backup(install, now=datetime(2026, 1, 1, tzinfo=UTC)).path
    big = install.raw_dir / "zz" / "big.bin"
    big.parent.mkdir(parents=True, exist_ok=True)
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 * 1024 * 1024, limit[1]))
    try:
        with pytest.raises(BackupError) as error:
            backups.make_backup(install, retention=Retention(daily=1, weekly=0, monthly=0))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, previous)
    assert error.value.code in ("backup_disk", "backup_tool_failed")
    assert backups.list_backups(install.backup_dir) == [older]
    assert not [p for p in install.backup_dir.iterdir() if p.name.endswith(".partial")]


def test_a_restore_that_fails_part_way_leaves_the_current_state(install, monkeypatch):
    good = backups.make_backup(install).path
    before = _content(install)
    real_upgrade = __import__("app.db.migrate", fromlist=["upgrade"]).upgrade

    def broken(url: str, revision: str = "head") -> None:
        raise RuntimeError("the process was killed during the migration")

    monkeypatch.setattr("app.db.migrate.upgrade", broken)
    with pytest.raises(RuntimeError):
        backups.restore_backup(install, good)
    monkeypatch.setattr("app.db.migrate.upgrade", real_upgrade)
    assert _content(install) == before
    assert not list(install.raw_dir.parent.glob("raw.restore-*"))


def test_retention_keeps_daily_weekly_monthly_and_never_labelled_files(tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    start = datetime(2026, 11, 22, 4, 30)
    for days in range(0, 120):
        moment = start - timedelta(days=days)
        (folder / backups.backup_name(moment)).write_bytes(b"x")
    (folder / "domestique-safety-20250101-000000.tar").write_bytes(b"x")
    newest = folder / backups.backup_name(start)
    removed = backups.prune(folder, Retention(daily=7, weekly=4, monthly=6), keep=newest)
    kept = backups.list_backups(folder)
    assert len(kept) + len(removed) == 121
    assert folder / "domestique-safety-20250101-000000.tar" in kept
    nightly = [p for p in kept if "safety" not in p.name]
    assert len(nightly) <= 7 + 4 + 6 and newest in nightly
    assert len({p.name[11:19] for p in nightly}) == len(nightly)  # one per day at most


def test_a_second_backup_or_restore_waits_for_none_and_says_busy(install):
    from app.db.locks import lock_key

    good = backups.make_backup(install).path
    before = _content(install)
    admin = create_engine(
        make_url(install.database_url.get_secret_value()).set(database="postgres"),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as other:  # another process: `domestique restore` from a shell
            other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key(backups.BUSY_LOCK)})
            with pytest.raises(BackupError) as made:
                backups.make_backup(install)
            with pytest.raises(BackupError) as restored:
                backups.restore_backup(install, good)
            other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(backups.BUSY_LOCK)})
    finally:
        admin.dispose()
    assert made.value.code == restored.value.code == "backup_busy"
    assert backups.list_backups(install.backup_dir) == [good]
    assert _content(install) == before
    assert backups.make_backup(install).path.is_file()  # free again


def test_a_restore_ends_the_sessions_of_its_time(install):
    good = backups.make_backup(install).path  # the owner's session epoch is 0 in it
    engine = create_engine(install.database_url.get_secret_value())
    with engine.begin() as connection:  # signed out everywhere twice since
        connection.execute(text("UPDATE owner SET session_epoch = 2"))
    engine.dispose()

    restored = backups.restore_backup(install, good)
    # Past both: neither a session from the backup's time (0) nor one of just now (2) is valid.
    assert _session_epoch(install) == 3
    assert restored.switched == backups.Switched(
        key_replaced=True, session_epoch_before=2, session_epoch=3
    )


def test_the_command_line_does_not_restore_under_a_running_app(install):
    good = backups.make_backup(install).path
    before = _content(install)
    with backups.app_presence(install):  # what the running app holds for its lifetime
        assert backups.app_running(install)
        with pytest.raises(BackupError) as refused:
            backups.restore_backup(install, good)
    assert refused.value.code == "app_running"
    assert _content(install) == before
    assert not backups.app_running(install)
    assert backups.restore_backup(install, good).after["activity"] == 1  # the app has stopped


def test_domestique_restore_refuses_while_the_app_runs(install, monkeypatch):
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from app.cli import cli
    from app.config import get_settings
    from app.jobs.registry import JobRegistry
    from app.web.app import create_app

    good = backups.make_backup(install).path
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", install.database_url.get_secret_value())
    monkeypatch.setenv("DOMESTIQUE_DATA_DIR", str(install.data_dir))
    monkeypatch.setenv("DOMESTIQUE_BACKUP_DIR", str(install.backup_dir))
    get_settings.cache_clear()
    try:
        with TestClient(create_app(install, jobs=JobRegistry())) as client:
            refused = CliRunner().invoke(cli, ["restore", str(good), "--yes"])
            said = " ".join(refused.output.split())  # rich wraps long lines
            assert refused.exit_code == 1
            assert "Domestique is running and using this database" in said
            assert "docker compose stop app" in said
            assert client.get("/login").status_code == 200  # the app never noticed
        stopped = CliRunner().invoke(cli, ["restore", str(good), "--yes"])
        assert stopped.exit_code == 0, stopped.output
    finally:
        get_settings.cache_clear()


# --- hostile archives ---------------------------------------------------------------------


def _tar_with(path, members: dict[str, bytes], mode: str = "w") -> None:
    import io

    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_a_compressed_backup_is_refused_before_anything_is_inflated(tmp_path):
    """A gzip (bz2, xz) tar could inflate without bound: backups are plain tars only."""
    for mode in ("w:gz", "w:bz2", "w:xz"):
        path = tmp_path / f"domestique-upload-{mode[-2:]}.tar"
        _tar_with(path, {"metadata.json": b'{"format": 1}'}, mode)
        with pytest.raises(BackupError) as error:
            backups.read_metadata(path)
        assert error.value.code == "backup_unreadable"
    plain = tmp_path / "plain.tar"
    _tar_with(plain, {"metadata.json": b'{"format": 1}'})
    assert backups.read_metadata(plain) == {"format": 1}


def test_an_oversized_metadata_member_is_not_read(tmp_path, monkeypatch):
    from app.messages import describe

    monkeypatch.setattr(backups, "METADATA_MAX_BYTES", 1024 * 1024)
    path = tmp_path / "huge.tar"
    _tar_with(path, {"metadata.json": b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'})
    with pytest.raises(BackupError) as error:
        backups.read_metadata(path)
    assert error.value.code == "backup_member_too_large"
    sentence = describe(error.value.code, error.value.params)
    assert "metadata.json" in sentence and "1 MB" in sentence


def test_a_member_whose_size_differs_from_the_metadata_is_refused_unread(install, tmp_path):
    import json

    good = backups.make_backup(install).path
    with tarfile.open(good) as archive:
        metadata = json.loads(archive.extractfile("metadata.json").read())
    forged = tmp_path / "forged.tar"
    _tar_with(
        forged,
        {"metadata.json": json.dumps(metadata).encode(), "db.dump": b"\0" * 4096},
    )
    with pytest.raises(BackupError) as error:
        backups.verify(forged)
    assert error.value.code == "backup_corrupt" and error.value.params["name"] == "db.dump"


def test_an_upload_with_a_forged_time_never_replaces_an_earlier_one(install, tmp_path):
    """Two uploads claiming the same created_at are both kept; the first is untouched."""
    good = backups.make_backup(install).path
    first_copy, second_copy = tmp_path / "a.tar", tmp_path / "b.tar"
    first_copy.write_bytes(good.read_bytes())
    second_copy.write_bytes(good.read_bytes())
    first = backups.adopt_upload(install, first_copy)
    planted = first.read_bytes()
    second = backups.adopt_upload(install, second_copy)
    assert first != second and first.exists() and second.exists()
    assert first.read_bytes() == planted
    assert first.name.startswith("domestique-upload-")
    assert second.name.startswith("domestique-upload2-")
    assert second.name.endswith(first.name.removeprefix("domestique-upload-"))
    assert second in backups.list_backups(install.backup_dir)
    assert not list(install.backup_dir.glob(".upload-*"))


# --- authenticated backups ----------------------------------------------------------------


def _members(path) -> dict[str, bytes]:
    with tarfile.open(path) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}


def _rewrite(source, target, change) -> None:
    """A copy of ``source`` with its members changed by ``change`` (the HMAC kept as it was)."""
    import json

    members = _members(source)
    metadata = json.loads(members["metadata.json"])
    change(members, metadata)
    members["metadata.json"] = json.dumps(metadata, indent=1, sort_keys=True).encode()
    _tar_with(target, members)


def test_a_backup_is_signed_with_the_installs_key(install):
    made = backups.make_backup(install).path
    members = _members(made)
    assert list(members)[-1] == backups.MAC_MEMBER and len(members[backups.MAC_MEMBER]) == 64
    assert backups.is_authentic(install, made)


def test_a_tampered_metadata_json_is_refused_before_anything_changes(install, tmp_path):
    good = backups.make_backup(install).path
    forged = install.backup_dir / "domestique-20200103-000000.tar"
    _rewrite(good, forged, lambda members, metadata: metadata.update(app_version="0.0.1"))
    backups.verify(forged)  # every checksum still matches: only the HMAC can tell
    before = _content(install)
    with pytest.raises(BackupError) as error:
        backups.restore_backup(install, forged)
    assert error.value.code == "backup_unverified"
    assert _content(install) == before
    assert not list(install.backup_dir.glob("domestique-safety-*"))  # not even a safety backup


def test_a_tampered_dump_with_fixed_checksums_is_refused(install, tmp_path):
    import hashlib

    good = backups.make_backup(install).path
    # A second install's dump (its own rows) slipped in, with checksums to match.
    engine = create_engine(install.database_url.get_secret_value())
    with engine.begin() as connection:
        connection.execute(text("UPDATE owner SET username = 'intruder'"))
    engine.dispose()
    other = _members(backups.make_backup(install, label="other").path)["db.dump"]
    engine = create_engine(install.database_url.get_secret_value())
    with engine.begin() as connection:
        connection.execute(text("UPDATE owner SET username = 'jiwoo'"))
    engine.dispose()

    def swap(members, metadata):
        members["db.dump"] = other
        metadata["members"]["db.dump"] = {
            "sha256": hashlib.sha256(other).hexdigest(),
            "size": len(other),
        }

    forged = install.backup_dir / "domestique-20200104-000000.tar"
    _rewrite(good, forged, swap)
    backups.verify(forged)
    with pytest.raises(BackupError) as error:
        backups.restore_backup(install, forged)
    assert error.value.code == "backup_unverified"
    engine = create_engine(install.database_url.get_secret_value())
    with engine.connect() as connection:
        assert connection.execute(text("SELECT username FROM owner")).scalar() == "jiwoo"
    engine.dispose()


def test_a_foreign_key_backup_needs_the_explicit_second_confirmation(install, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import cli
    from app.config import get_settings

    made = backups.make_backup(install).path
    key_file = install.data_dir / "secret.key"
    their_key = key_file.read_text()
    key_file.write_text(Fernet.generate_key().decode())  # a new NAS, or the key was lost
    ours = key_file.read_text()
    assert not backups.is_authentic(install, made)
    before = _content(install)

    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", install.database_url.get_secret_value())
    monkeypatch.setenv("DOMESTIQUE_DATA_DIR", str(install.data_dir))
    monkeypatch.setenv("DOMESTIQUE_BACKUP_DIR", str(install.backup_dir))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        refused = runner.invoke(cli, ["restore", str(made), "--yes"])  # --yes is not enough
        assert refused.exit_code == 1
        assert "does not verify" in " ".join(refused.output.split())
        declined = runner.invoke(cli, ["restore", str(made)], input="y\nn\n")
        assert declined.exit_code == 1
        assert key_file.read_text() == ours and _content(install) == before
        with pytest.raises(BackupError) as error:
            backups.restore_backup(install, made)
        assert error.value.code == "backup_unverified"

        accepted = runner.invoke(cli, ["restore", str(made), "--yes", "--accept-unverified"])
        assert accepted.exit_code == 0, accepted.output
    finally:
        get_settings.cache_clear()
    assert key_file.read_text() == their_key  # only now is the key replaced
    assert _content(install) == before
    assert backups.is_authentic(install, made)
