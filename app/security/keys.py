"""The master key: encrypts connection credentials (Fernet) and signs session cookies.

It comes from ``DOMESTIQUE_SECRET_KEY`` (or ``_FILE``); otherwise it is generated once into
``data/secret.key`` with mode 0600. Losing it makes stored credentials unreadable, which is why
backups carry it (and must be kept as safe as the key itself).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config import Settings
from app.security.redaction import register_secret, register_secrets_in

KEY_FILE_NAME = "secret.key"
# The key before the last ``domestique rotate-key``, kept until the next verified backup.
PREVIOUS_KEY_FILE_NAME = "secret.key.previous"


class SecretKeyError(RuntimeError):
    """The configured key cannot be used."""


def _is_fernet_key(value: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(value.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def _derive(material: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material)


def load_master_key(settings: Settings) -> str:
    """Return the Fernet master key, creating ``data/secret.key`` on first run."""
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        register_secret(value)
        if _is_fernet_key(value):
            return value
        if len(value) < 32:
            raise SecretKeyError(
                "DOMESTIQUE_SECRET_KEY must be a Fernet key "
                "or a passphrase of at least 32 characters"
            )
        key = base64.urlsafe_b64encode(_derive(value.encode(), b"domestique master key")).decode()
        register_secret(key)
        return key
    path = Path(settings.data_dir) / KEY_FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
    value = path.read_text(encoding="ascii").strip()
    if not _is_fernet_key(value):
        raise SecretKeyError(f"{path} does not hold a valid key; restore it from a backup")
    register_secret(value)
    return value


def previous_keys(settings: Settings) -> list[str]:
    """The keys before the last rotation (``data/secret.key.previous``, one a line), while they
    are kept: values a rotation had not re-encrypted yet (it was interrupted) still decrypt."""
    path = Path(settings.data_dir) / PREVIOUS_KEY_FILE_NAME
    if settings.secret_key is not None or not path.is_file():
        return []
    values = [line.strip() for line in path.read_text(encoding="ascii").splitlines()]
    values = [value for value in values if _is_fernet_key(value)]
    for value in values:
        register_secret(value)
    return values


def forget_previous_keys(settings: Settings) -> bool:
    """After a verified backup under the current key: the keys kept from before the last
    rotation go. True when there were some."""
    path = Path(settings.data_dir) / PREVIOUS_KEY_FILE_NAME
    if not path.exists():
        return False
    path.unlink()
    return True


def write_key_file(path: Path, key: str) -> None:
    """Write ``key`` to ``path`` atomically (a temporary file, fsynced, renamed; mode 0600)."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def backup_signing_key(master_key: str) -> bytes:
    """The HMAC key that signs a backup's metadata, derived from the master key."""
    return _derive(master_key.encode(), b"domestique backup metadata")


def session_signing_key(master_key: str) -> str:
    """A separate key for signing session cookies, derived from the master key."""
    derived = _derive(master_key.encode(), b"domestique session cookies")
    key = base64.urlsafe_b64encode(derived).decode()
    register_secret(key)
    return key


class SecretBox:
    """Encrypts and decrypts small secrets (tokens, API keys) for storage in the database.

    One box serves the whole process; ``rekey`` swaps its key in place when a restore brought
    the backup's key, so every holder (routes, the sync runner, clients being built) uses the
    new key at once. It encrypts with the master key and decrypts with it or, after a key
    rotation, with the ``previous`` key (MultiFernet)."""

    def __init__(self, master_key: str, previous: Sequence[str] = ()) -> None:
        self._fernet = _multi(master_key, previous)

    def rekey(self, master_key: str, previous: Sequence[str] = ()) -> None:
        self._fernet = _multi(master_key, previous)  # one assignment: readers see old or new

    def encrypt(self, plaintext: str) -> str:
        register_secrets_in(plaintext)  # each token of a token document, not the document
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            plaintext = self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "a stored credential cannot be decrypted with this secret key; "
                "restore the key that encrypted it or reconnect the source"
            ) from exc
        register_secrets_in(plaintext)
        return plaintext


def _multi(master_key: str, previous: Sequence[str]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in (master_key, *previous)])
