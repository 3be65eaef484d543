"""Cross-process exclusion with PostgreSQL session-level advisory locks.

The app and a `domestique sync` run from the command line are different processes; an advisory
lock held on its own connection (autocommit, so no transaction stays open for hours) makes "one
sync of a source at a time" true for both. The lock is released when the block ends, or by the
server if the process dies.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def try_advisory_lock(sessions: sessionmaker[Session], name: str) -> Iterator[bool]:
    """``with try_advisory_lock(sessions, "sync:garmin") as held:`` — ``held`` is False when
    another connection holds it (nothing waits)."""
    bind = sessions.kw["bind"]
    key = lock_key(name)
    if isinstance(bind, Engine):
        connection = bind.connect().execution_options(isolation_level="AUTOCOMMIT")
        owned = True
    else:  # tests: sessions bound to one connection inside a rolled-back transaction
        assert isinstance(bind, Connection)
        connection, owned = bind, False
    try:
        held = bool(
            connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        )
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        if owned:
            connection.close()


_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def _local(name: str) -> threading.Lock:
    with _local_guard:
        return _local_locks.setdefault(name, threading.Lock())


@contextmanager
def advisory_lock(sessions: sessionmaker[Session], name: str) -> Iterator[None]:
    """``with advisory_lock(sessions, "oauth:oura"):`` — waits for the lock. Held per process by
    a thread lock too, so threads exclude each other even when they share one connection (tests)."""
    bind = sessions.kw["bind"]
    key = lock_key(name)
    with _local(name):
        if isinstance(bind, Engine):
            connection = bind.connect().execution_options(isolation_level="AUTOCOMMIT")
            owned = True
        else:
            assert isinstance(bind, Connection)
            connection, owned = bind, False
        try:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        finally:
            if owned:
                connection.close()
