"""``domestique rotate-key`` (issue 21): every encrypted value re-encrypted under a new key in
one transaction, the old key kept until the next verified backup, backups from before needing
the second confirmation."""

from __future__ import annotations

import os

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings, get_settings
from app.db.migrate import upgrade
from app.models import Base
from app.security.keys import (
    KEY_FILE_NAME,
    PREVIOUS_KEY_FILE_NAME,
    SecretBox,
    SecretKeyError,
    load_master_key,
    previous_keys,
)
from app.services import backups
from app.services.key_rotation import ENCRYPTED_COLUMNS, KeyRotationError, rotate_key
from app.services.sync import connections

TOKENS = '{"access_token": "ya29.rotation-test-access-token-0123456789"}'
API_KEY = "sk-rotation-test-api-key-abcdefghijklmnop"


@pytest.fixture
def install(pg_cluster, tmp_path):
    url = pg_cluster.create_database(f"rotate_{os.getpid()}_{tmp_path.name[-12:]}")
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
    box = SecretBox(load_master_key(settings))
    with sessions.begin() as session:
        connections.save_tokens(session, box, "garmin", TOKENS)
        connections.save_tokens(session, box, "oura", TOKENS.replace("access", "refresh"))
        session.execute(
            text("INSERT INTO coach_settings (id, api_key_encrypted) VALUES (1, :key)"),
            {"key": box.encrypt(API_KEY)},
        )
    yield settings, sessions
    engine.dispose()


def _stored(sessions) -> list[str]:
    with sessions() as session:
        return list(
            session.execute(
                text(
                    "SELECT tokens_encrypted FROM connection WHERE tokens_encrypted IS NOT NULL "
                    "UNION ALL SELECT api_key_encrypted FROM coach_settings ORDER BY 1"
                )
            ).scalars()
        )


def test_every_encrypted_column_of_the_models_is_rotated():
    named = {
        (mapper.class_, column.key)
        for mapper in Base.registry.mappers
        for column in mapper.columns
        if column.key.endswith("_encrypted")
    }
    listed = {(model, column) for model, columns in ENCRYPTED_COLUMNS.items() for column in columns}
    assert named == listed


def test_rotation_re_encrypts_everything_and_a_backup_after_it_verifies(install):
    settings, sessions = install
    old_key = load_master_key(settings)
    before = backups.make_backup(settings)
    ciphertexts = _stored(sessions)

    result = rotate_key(settings, sessions)

    new_key = load_master_key(settings)
    assert new_key != old_key and result.values == 3
    key_dir = settings.data_dir
    assert (key_dir / PREVIOUS_KEY_FILE_NAME).read_text().split() == [old_key]
    assert oct((key_dir / KEY_FILE_NAME).stat().st_mode & 0o777) == "0o600"
    assert oct((key_dir / PREVIOUS_KEY_FILE_NAME).stat().st_mode & 0o777) == "0o600"
    rotated = _stored(sessions)
    assert set(rotated).isdisjoint(ciphertexts)
    # Only the new key is needed now: the connections still decrypt, the old key alone fails.
    new_box, old_box = SecretBox(new_key), SecretBox(old_key)
    with sessions() as session:
        assert connections.load_tokens(session, new_box, "garmin") == TOKENS
        assert "refresh_token" in connections.load_tokens(session, new_box, "oura")
        with pytest.raises(SecretKeyError):
            connections.load_tokens(session, old_box, "garmin")
    from app.services.coach import config as coach_config

    with sessions() as session:
        row = session.get(coach_config.CoachSettings, 1)
        assert new_box.decrypt(row.api_key_encrypted) == API_KEY

    # A backup from before no longer verifies: restoring it needs the second confirmation.
    assert not backups.is_authentic(settings, before.path)
    with pytest.raises(backups.BackupError) as refused:
        backups.restore_backup(settings, before.path)
    assert refused.value.code == "backup_unverified"

    after = backups.make_backup(settings)
    assert backups.is_authentic(settings, after.path)
    assert backups.verify(after.path)["members"]["secret.key"]
    assert not (key_dir / PREVIOUS_KEY_FILE_NAME).exists()  # the verified backup holds the key
    assert previous_keys(settings) == []


def test_an_interrupted_rotation_leaves_every_value_readable(install, monkeypatch):
    """The keys are written before the commit: a failure between (a power cut) leaves the old
    ciphertexts under the new key file, and the kept key still opens them."""
    settings, sessions = install
    old_key = load_master_key(settings)
    ciphertexts = _stored(sessions)

    from app.services import key_rotation

    written = []

    def write_then_fail(path, key):
        key_rotation_write(path, key)
        written.append(path.name)
        if path.name == KEY_FILE_NAME:  # both keys are on disk, the commit has not happened
            raise RuntimeError("power cut before the commit")

    key_rotation_write = key_rotation.write_key_file
    monkeypatch.setattr(key_rotation, "write_key_file", write_then_fail)
    with pytest.raises(RuntimeError, match="power cut"):
        rotate_key(settings, sessions)
    assert written == [PREVIOUS_KEY_FILE_NAME, KEY_FILE_NAME]
    monkeypatch.undo()
    assert _stored(sessions) == ciphertexts
    assert load_master_key(settings) != old_key
    box = SecretBox(load_master_key(settings), previous_keys(settings))
    with sessions() as session:
        assert connections.load_tokens(session, box, "garmin") == TOKENS
    # Running it again finishes the job under a third key, the two before kept.
    rotate_key(settings, sessions)
    box = SecretBox(load_master_key(settings))
    with sessions() as session:
        assert connections.load_tokens(session, box, "garmin") == TOKENS
    assert old_key in previous_keys(settings)


def test_a_value_the_key_does_not_open_stops_the_rotation_before_anything_changes(install):
    settings, sessions = install
    old_key = load_master_key(settings)
    with sessions.begin() as session:
        session.execute(
            text("UPDATE connection SET mfa_state_encrypted = :foreign WHERE source = 'garmin'"),
            {"foreign": SecretBox(Fernet.generate_key().decode()).encrypt("{}")},  # another key
        )
    ciphertexts = _stored(sessions)
    with pytest.raises(KeyRotationError) as refused:
        rotate_key(settings, sessions)
    assert refused.value.code == "undecryptable"
    assert load_master_key(settings) == old_key
    assert not (settings.data_dir / PREVIOUS_KEY_FILE_NAME).exists()
    assert _stored(sessions) == ciphertexts


def test_rotation_is_refused_while_the_app_runs(install):
    settings, sessions = install
    old_key = load_master_key(settings)
    with backups.app_presence(settings), pytest.raises(KeyRotationError) as refused:
        rotate_key(settings, sessions)
    assert refused.value.code == "app_running"
    assert load_master_key(settings) == old_key


def test_the_command_rotates_and_says_what_to_do_next(install, monkeypatch):
    settings, _sessions = install
    old_key = load_master_key(settings)
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.setenv("DOMESTIQUE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DOMESTIQUE_BACKUP_DIR", str(settings.backup_dir))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["rotate-key"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "3 stored credentials re-encrypted" in result.output
    assert "domestique backup" in result.output
    assert load_master_key(settings) != old_key
