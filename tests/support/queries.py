"""Count the SQL statements a block runs (to prove a page has no N+1 queries); wait until
another session waits for an advisory lock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, event, text

from app.db.locks import lock_key


@contextmanager
def count_queries(connection: Connection) -> Iterator[list[str]]:
    """``with count_queries(connection) as statements: …`` — ``len(statements)`` afterwards.
    Savepoint bookkeeping is not counted."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", record)


def wait_for_lock_waiter(connection: Connection, name: str, *, timeout: float = 30.0) -> None:
    """Return once another session is blocked on the advisory lock ``name`` (``pg_locks`` shows
    its request not granted). PostgreSQL raises no event for that, so this asks again at once,
    one query per look, until it is true — a state to reach, not a time to wait."""
    key = lock_key(name) & 0xFFFFFFFFFFFFFFFF  # pg_locks shows the bigint as two unsigned oids
    query = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND objsubid = 1 AND classid::bigint = :high AND objid::bigint = :low"
    )
    params = {"high": key >> 32, "low": key & 0xFFFFFFFF}
    deadline = time.monotonic() + timeout
    while not connection.execute(query, params).scalar():
        if time.monotonic() > deadline:
            raise AssertionError(f"nobody waited for the advisory lock {name!r}")


@contextmanager
def count_bytes(connection: Connection) -> Iterator[list[int]]:
    """``with count_bytes(connection) as received: …`` — ``sum(received)`` afterwards: the
    bytes of every value the statements returned (what the database sent, not the protocol's
    framing), to prove a page reads what it shows rather than a whole document."""
    received: list[int] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        result = cursor.pgresult
        if result is None:
            return
        received.append(
            sum(
                len(result.get_value(row, column) or b"")
                for row in range(result.ntuples)
                for column in range(result.nfields)
            )
        )

    event.listen(connection, "after_cursor_execute", record)
    try:
        yield received
    finally:
        event.remove(connection, "after_cursor_execute", record)
