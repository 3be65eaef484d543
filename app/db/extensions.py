"""Extensions at the versions the server offers.

A newer database image brings newer extension libraries, but a database keeps the extension
version it was created with until ``ALTER EXTENSION … UPDATE`` runs; ``template1`` too, and every
database made from it starts at its version. TimescaleDB wants that statement first in a fresh
session (the old library must not be loaded yet), so each update gets its own connection. The
image may drop an old TimescaleDB library; a session that would load it fails, so the versions
are read with ``timescaledb.disable_load`` set.

A ``pg_dump`` of a TimescaleDB database restores only into the TimescaleDB version it was made
with, to be updated afterwards: ``create_timescaledb_for_restore`` creates that version when the
server still carries it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

import psycopg
from sqlalchemy.engine import make_url

from app.db.timescale import MANAGED_EXTENSIONS, version_key

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5
# Besides the app's own database: template1 (what CREATE DATABASE copies) and postgres (where
# backups take their lock).
OTHER_DATABASES = ("template1", "postgres")


def conninfo(database_url: str, database: str | None = None) -> str:
    """The libpq URI of a SQLAlchemy URL (optionally of another database on the same server)."""
    url = make_url(database_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class ExtensionCheck:
    database: str
    name: str
    installed: str
    default: str
    updated_to: str | None = None  # set when this start-up updated it
    error: str | None = None  # why an update failed

    @property
    def behind(self) -> bool:
        return version_key(self.installed) < version_key(self.default)

    @property
    def current(self) -> bool:
        return self.updated_to == self.default or not self.behind


def installed_extensions(target: str) -> list[tuple[str, str, str]]:
    """(name, installed, default) of each managed extension installed in the database at
    ``target``. TimescaleDB's loader is told not to load its library: the installed version's
    library may be gone from a newer image."""
    with psycopg.connect(
        target,
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT_S,
        options="-c timescaledb.disable_load=on",
    ) as connection:
        rows = connection.execute(
            "SELECT name, installed_version, default_version FROM pg_available_extensions "
            "WHERE name = ANY(%s) AND installed_version IS NOT NULL",
            [list(MANAGED_EXTENSIONS)],
        ).fetchall()
    order = {name: index for index, name in enumerate(MANAGED_EXTENSIONS)}
    return sorted(rows, key=lambda row: order[row[0]])


def _update(target: str, name: str) -> str:
    """``ALTER EXTENSION name UPDATE`` as the first statement of a fresh session; the version
    installed afterwards."""
    with psycopg.connect(target, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as connection:
        connection.execute(f'ALTER EXTENSION "{name}" UPDATE')  # name from MANAGED_EXTENSIONS
        row = connection.execute(
            "SELECT extversion FROM pg_extension WHERE extname = %s", [name]
        ).fetchone()
    return row[0] if row else "?"


def update_extensions(
    database_url: str, databases: Iterable[str] | None = None
) -> list[ExtensionCheck]:
    """Compare each managed extension's installed and default version in ``databases``
    (default: the app's database, ``template1`` and ``postgres``) and update the ones behind.
    Failures are logged with the command to run by hand and returned, never raised: the app
    may still work."""
    app_database = make_url(database_url).database or "?"
    if databases is None:
        databases = (app_database, *(d for d in OTHER_DATABASES if d != app_database))
    checks: list[ExtensionCheck] = []
    for database in databases:
        target = conninfo(database_url, database)
        try:
            found = installed_extensions(target)
        except psycopg.Error as error:
            log.warning(
                "could not read the extension versions of database %s: %s",
                database,
                first_line(error),
            )
            continue
        for name, installed, default in found:
            check = ExtensionCheck(database, name, installed, default)
            if version_key(installed) > version_key(default):
                log.warning(
                    "database %s has %s %s, newer than the %s this server offers; was the "
                    "database image downgraded?",
                    database,
                    name,
                    installed,
                    default,
                )
            elif check.behind:
                check = _update_one(target, check)
            checks.append(check)
    return checks


def _update_one(target: str, check: ExtensionCheck) -> ExtensionCheck:
    try:
        version = _update(target, check.name)
    except psycopg.Error as error:
        log.error(
            "could not update %s from %s to %s in database %s (%s); run it by hand, as the "
            "first command of a new session: docker compose exec db psql -X -U <user> -d %s "
            '-c "ALTER EXTENSION %s UPDATE"',
            check.name,
            check.installed,
            check.default,
            check.database,
            first_line(error),
            check.database,
            check.name,
        )
        return replace(check, error=first_line(error))
    log.info(
        "updated %s from %s to %s in database %s",
        check.name,
        check.installed,
        version,
        check.database,
    )
    return replace(check, updated_to=version)


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def create_timescaledb_for_restore(database_url: str, version: str | None) -> str:
    """TimescaleDB in a new, empty database (made from ``template0``) about to receive a dump
    made with ``version``: that version when the server can install it, else the default (the
    restore then warns). Returns the version created."""
    target = conninfo(database_url)
    if version:
        try:
            with psycopg.connect(target, autocommit=True) as connection:
                connection.execute(
                    psycopg.sql.SQL("CREATE EXTENSION timescaledb VERSION {}").format(
                        psycopg.sql.Literal(version)
                    )
                )
            return version
        except psycopg.Error as error:
            log.warning(
                "this server cannot install TimescaleDB %s, which the backup was made with "
                "(%s); restoring into the default version",
                version,
                first_line(error),
            )
    with psycopg.connect(target, autocommit=True) as connection:  # a session with nothing loaded
        connection.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        row = connection.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
    return row[0] if row else "?"
