"""Count the SQL statements a block runs (to prove a page has no N+1 queries)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, event


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
