from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet

from app.config import Settings
from app.security.keys import SecretBox, SecretKeyError, load_master_key, session_signing_key
from app.security.passwords import hash_password, verify_password


def _settings(tmp_path, **values) -> Settings:
    return Settings(env="development", data_dir=tmp_path, **values)


def test_key_is_generated_once_with_mode_0600(tmp_path):
    first = load_master_key(_settings(tmp_path))
    path = tmp_path / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(_settings(tmp_path)) == first
    Fernet(first.encode())  # a valid key


def test_configured_fernet_key_is_used_as_is(tmp_path):
    key = Fernet.generate_key().decode()
    assert load_master_key(_settings(tmp_path, secret_key=key)) == key
    assert not (tmp_path / "secret.key").exists()


def test_passphrase_is_derived_and_short_ones_refused(tmp_path):
    phrase = "correct horse battery staple and then some more"
    derived = load_master_key(_settings(tmp_path, secret_key=phrase))
    assert derived == load_master_key(_settings(tmp_path, secret_key=phrase))
    assert derived != phrase
    with pytest.raises(SecretKeyError, match="32 characters"):
        load_master_key(_settings(tmp_path, secret_key="too-short-phrase"))


def test_corrupt_key_file_is_a_clear_error(tmp_path):
    (tmp_path / "secret.key").write_text("not a key")
    with pytest.raises(SecretKeyError, match="restore it from a backup"):
        load_master_key(_settings(tmp_path))


def test_secret_box_round_trip_and_wrong_key(tmp_path):
    box = SecretBox(Fernet.generate_key().decode())
    token = box.encrypt("garmin-oauth-token-value")
    assert "garmin-oauth-token-value" not in token
    assert box.decrypt(token) == "garmin-oauth-token-value"
    with pytest.raises(SecretKeyError, match="cannot be decrypted"):
        SecretBox(Fernet.generate_key().decode()).decrypt(token)


def test_session_key_differs_from_master_key():
    master = Fernet.generate_key().decode()
    assert session_signing_key(master) != master
    assert session_signing_key(master) == session_signing_key(master)


def test_password_hashing_is_argon2id():
    hashed = hash_password("a long enough password")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "a long enough password")
    assert not verify_password(hashed, "another password")
    assert not verify_password("not-a-hash", "anything")
