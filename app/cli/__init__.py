"""``domestique``: the command line. Every command calls a service.

Commands that read or write the tables are marked ``@needs_schema``: they bring the database to
this version first, as ``serve`` does at start, so every command works on a new database. The
others are listed in ``SCHEMA_FREE`` with the reason; a test keeps the two lists complete."""

from __future__ import annotations

from app.cli.base import SCHEMA_FREE, cli, needs_schema, prepare_database

# Each module registers its commands, in the order `domestique --help` lists them.
# isort: off
from app.cli import server, owner, data, coach, plans, missions  # noqa: F401
# isort: on

__all__ = ["SCHEMA_FREE", "cli", "main", "needs_schema", "prepare_database"]


def main() -> None:
    cli()
