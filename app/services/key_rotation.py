"""A new secret key: ``domestique rotate-key``.

The key in ``data/secret.key`` encrypts every stored credential (Fernet) and derives the keys
that sign session cookies and backups. Rotating it:

1. refuses while the app runs (it holds the key in memory) or a backup or restore runs, and
   when the key comes from ``DOMESTIQUE_SECRET_KEY`` (the owner changes that one);
2. reads every encrypted value and re-encrypts it under a new key (``MultiFernet.rotate``): a
   value that does not decrypt with the current key stops the rotation before anything changed;
3. keeps the current key beside the new one as ``data/secret.key.previous`` and writes the new
   one atomically (fsynced, renamed), then commits the re-encrypted values in the same one
   transaction. Interrupted anywhere, every value still decrypts: with the key it was encrypted
   under, which is either the new or the kept one (``SecretBox`` tries both);
4. the kept key is deleted by the next backup that verifies (it holds the new key and the
   values encrypted under it).

Sessions end (their signing key changed), and backups made before need the second
confirmation to restore (their signature was made with the old key).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.models import CoachSettings, Connection
from app.security.keys import (
    KEY_FILE_NAME,
    PREVIOUS_KEY_FILE_NAME,
    load_master_key,
    previous_keys,
    write_key_file,
)
from app.security.redaction import register_secret

log = logging.getLogger(__name__)

#: Every column holding a value encrypted with the secret key (a test checks the models for
#: columns named ``*_encrypted`` missing here).
ENCRYPTED_COLUMNS: dict[type, tuple[str, ...]] = {
    Connection: ("tokens_encrypted", "mfa_state_encrypted", "app_credentials_encrypted"),
    CoachSettings: ("api_key_encrypted",),
}


class KeyRotationError(Exception):
    """Rotation refused; ``code`` names why."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RotationResult:
    values: int  # encrypted values re-encrypted
    key_path: Path
    previous_path: Path


def rotate_key(settings: Settings, sessions: sessionmaker[Session]) -> RotationResult:
    """Re-encrypt every stored credential under a new key and make it the key (see the
    module's docstring). Raises ``KeyRotationError``."""
    from app.services import backups

    if settings.secret_key is not None:
        raise KeyRotationError(
            "the key comes from DOMESTIQUE_SECRET_KEY: set a new one there", code="key_from_env"
        )
    if backups.app_running(settings):
        raise KeyRotationError("the app is running", code="app_running")
    key_path = Path(settings.data_dir) / KEY_FILE_NAME
    previous_path = Path(settings.data_dir) / PREVIOUS_KEY_FILE_NAME
    with backups.one_at_a_time(settings):
        current = load_master_key(settings)
        new = Fernet.generate_key().decode()
        register_secret(new)
        older = [key for key in previous_keys(settings) if key != current]
        rotating = MultiFernet([Fernet(key.encode()) for key in (new, current, *older)])
        with sessions.begin() as session:
            count = 0
            for model, columns in ENCRYPTED_COLUMNS.items():
                for row in session.scalars(select(model).with_for_update()):
                    for column in columns:
                        value = getattr(row, column)
                        if value is None:
                            continue
                        try:
                            setattr(row, column, rotating.rotate(value.encode()).decode())
                        except InvalidToken as error:
                            raise KeyRotationError(
                                f"{model.__tablename__}.{column} does not decrypt with the "
                                "current key; nothing was changed",
                                code="undecryptable",
                            ) from error
                        count += 1
            session.flush()
            # Keys on disk before the commit: whatever happens next, every value decrypts with
            # the new key or the kept one.
            write_key_file(previous_path, "\n".join([current, *older]))
            write_key_file(key_path, new)
        log.info("rotated the secret key: %d encrypted values re-encrypted", count)
    return RotationResult(count, key_path, previous_path)
