"""What the app does with its database before it serves: wait until the server answers, bring
the extensions up to the versions the server offers, keep TimescaleDB's telemetry off, migrate.

Docker ignores ``depends_on`` when its daemon restarts (a NAS reboot), so the app can start
before the database answers: the first connection is retried with a growing pause and a log
line saying why. A refusal that waiting cannot fix (a wrong password, a missing database) stops
at once with a sentence saying what to do.

Extensions are brought up to the server's versions by ``app.db.extensions``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db.extensions import ExtensionCheck, conninfo, first_line, update_extensions
from app.i18n import _, current_locale

log = logging.getLogger(__name__)

WAIT_S = 300.0
FIRST_PAUSE_S = 1.0
LONGEST_PAUSE_S = 15.0
CONNECT_TIMEOUT_S = 5

# Server refusals that go away by themselves (start-up, recovery, a full connection table).
_PASSING_REFUSALS = (
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "the database system is not accepting connections",
    "too many clients already",
    "remaining connection slots are reserved",
)
_PASSWORD_REFUSALS = ("password authentication failed", "no password supplied")


class DatabaseStartupError(Exception):
    """The database cannot be used. ``str()`` is the English sentence (for the log);
    ``sentence()`` says the same in the current locale (for the owner's terminal)."""

    def __init__(self, **params: object) -> None:
        self.params = params
        super().__init__(self.sentence("en"))

    def sentence(self, locale: str | None = None) -> str:
        token = current_locale.set(locale) if locale else None
        try:
            return self._sentence()
        finally:
            if token is not None:
                current_locale.reset(token)

    def _sentence(self) -> str:
        raise NotImplementedError


class DatabaseUnreachable(DatabaseStartupError):
    """The server did not answer within the wait."""

    def _sentence(self) -> str:
        return _(
            "The database did not answer within %(seconds)s s (%(reason)s). Is it running? "
            "With Docker Compose: `docker compose ps db` and `docker compose logs db`.",
            **self.params,
        )


class DatabasePasswordRefused(DatabaseStartupError):
    """The server answered and refused the password."""

    def _sentence(self) -> str:
        return _(
            "The database refused the password of user %(user)s. The database keeps the "
            "password it was first started with: changing `POSTGRES_PASSWORD` in `.env` "
            "afterwards does not change it. Either put that first password back into `.env`, or "
            "give the database the password that is in `.env`: `docker compose exec db psql -U "
            "%(user)s -d postgres -c '\\password %(user)s'` (type the `POSTGRES_PASSWORD` from "
            "`.env` twice), then `docker compose up -d`.",
            **self.params,
        )


class DatabaseRefused(DatabaseStartupError):
    """The server answered and refused for another reason (no such database or role, …)."""

    def _sentence(self) -> str:
        return _(
            "The database server refused the connection: %(reason)s. Check "
            "DOMESTIQUE_DATABASE_URL (with Docker Compose: `POSTGRES_USER` and `POSTGRES_DB` in "
            "compose.yaml).",
            **self.params,
        )


def _server_reason(error: psycopg.Error) -> str | None:
    """The server's own words for a refusal (``FATAL:  …``), None for a failure to reach it."""
    match = re.search(r"FATAL:\s+(.+)", str(error))
    return match.group(1).strip().splitlines()[0] if match else None


def wait_for_database(
    database_url: str,
    *,
    wait_s: float = WAIT_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Connect until the server accepts, pausing 1, 2, 4, 8, then 15 s between tries, for
    at most ``wait_s``; return the number of tries. A password or other lasting refusal raises
    at once; no answer within the wait raises ``DatabaseUnreachable``."""
    target = conninfo(database_url)
    user = make_url(database_url).username or "?"
    deadline = clock() + wait_s
    pause = FIRST_PAUSE_S
    tries = 0
    while True:
        tries += 1
        try:
            psycopg.connect(target, connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.OperationalError as error:
            text = str(error)
            if any(words in text for words in _PASSWORD_REFUSALS):
                raise DatabasePasswordRefused(user=user) from error
            reason = _server_reason(error)
            if reason is not None and not any(words in reason for words in _PASSING_REFUSALS):
                raise DatabaseRefused(reason=reason) from error
            why = reason or re.sub(r"^connection (is bad|failed): ", "", first_line(error))
            if clock() + pause > deadline:
                raise DatabaseUnreachable(seconds=f"{wait_s:.0f}", reason=why) from error
            log.warning(
                "the database is not answering yet (%s); trying again in %.0f s. After a "
                "reboot the app can start before the database.",
                why,
                pause,
            )
            sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_S)
            continue
        if tries > 1:
            log.info("the database answered after %d tries", tries)
        return tries


# --- telemetry -----------------------------------------------------------------------------


def telemetry_off(database_url: str) -> str | None:
    """Turn TimescaleDB's telemetry off for the whole server when it is on (installs made
    before compose set ``TIMESCALEDB_TELEMETRY=off``). Needs a superuser; otherwise the log
    says what to run. Returns the level found (None when this TimescaleDB has no telemetry)."""
    with psycopg.connect(
        conninfo(database_url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
    ) as connection:
        level, superuser = connection.execute(
            "SELECT current_setting('timescaledb.telemetry_level', true), "
            "current_setting('is_superuser') = 'on'"
        ).fetchone()
        if level in (None, "", "off"):
            return level
        if not superuser:
            log.warning(
                "TimescaleDB telemetry is %r; turn it off as a superuser: docker compose exec "
                'db psql -U <superuser> -d postgres -c "ALTER SYSTEM SET '
                "timescaledb.telemetry_level = 'off'\" -c 'SELECT pg_reload_conf()'",
                level,
            )
            return level
        connection.execute("ALTER SYSTEM SET timescaledb.telemetry_level = 'off'")
        connection.execute("SELECT pg_reload_conf()")
    log.info("TimescaleDB telemetry was %r; turned off for the whole server (ALTER SYSTEM)", level)
    return level


# --- all of it -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StartupReport:
    tries: int
    extensions: list[ExtensionCheck]
    telemetry_was: str | None
    # The settings the app runs with: as its own role when one was prepared (app.db.roles).
    settings: Settings | None = None


def prepare_database(
    database_url: str,
    revision: str = "head",
    *,
    wait_s: float = WAIT_S,
    settings: Settings | None = None,
) -> StartupReport:
    """Wait for the server, update extensions, turn telemetry off, migrate to ``revision``.
    With ``settings`` (``database_url`` is then their superuser's), the app's own role is
    created or brought back and given the schema first (``app.db.roles``), and the migrations
    run as that role, so what they create is its own. Raises ``DatabaseStartupError`` (a
    sentence) when the database cannot be used, and ``app.db.migrate.SchemaNewer`` when a newer
    Domestique migrated it."""
    from app.db.migrate import bring_up_to_date, upgrade
    from app.db.roles import create_extensions, prepare_role

    tries = wait_for_database(database_url, wait_s=wait_s)
    extensions = update_extensions(database_url)
    try:
        telemetry = telemetry_off(database_url)
    except psycopg.Error as error:
        log.warning("could not check TimescaleDB telemetry: %s", first_line(error))
        telemetry = None
    migrate_url = database_url
    if settings is not None:
        create_extensions(database_url)
        settings = prepare_role(settings)
        migrate_url = settings.database_url.get_secret_value()
    if revision == "head":
        bring_up_to_date(migrate_url)
    else:
        upgrade(migrate_url, revision)
    return StartupReport(
        tries=tries, extensions=extensions, telemetry_was=telemetry, settings=settings
    )
