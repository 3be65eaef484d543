"""The one-time setup code: before the owner exists, ``/setup`` asks for it.

Anyone on the LAN could otherwise create the owner of a new install before its real owner does.
The code is written to ``data/setup-code`` (mode 0600) the first time it is needed, printed in the
app's log at start and shown by ``domestique setup-code`` — both need access to the NAS, which a
stranger on the LAN does not have. It is removed once the owner exists.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

FILE_NAME = "setup-code"
# No 0/O, 1/I/L: read from a log and typed on a phone.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 10


def _path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


def normalize(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _formatted(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def current(data_dir: Path) -> str:
    """The setup code (``ABCDE-FGHJK``), created on first use."""
    path = _path(data_dir)
    try:
        return _formatted(normalize(path.read_text(encoding="ascii")))
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first: use that one
        return _formatted(normalize(path.read_text(encoding="ascii")))
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(code + "\n")
    return _formatted(code)


def matches(data_dir: Path, given: str) -> bool:
    """Whether ``given`` is the setup code (spaces, dashes and case ignored; constant time)."""
    expected = normalize(current(data_dir))
    return hmac.compare_digest(normalize(given).encode(), expected.encode())


def forget(data_dir: Path) -> None:
    _path(data_dir).unlink(missing_ok=True)
