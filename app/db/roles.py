"""The app's own database role: it owns the schema and everything in it, and is not a superuser.

Docker Compose gives the app the superuser's credentials (``POSTGRES_USER``), which it needs for
a few things only: keeping the extensions current, turning telemetry off, and during a restore
creating, renaming and dropping databases. Everything else — every page, job, import, migration
and the replay of a backup's dump — runs as ``DOMESTIQUE_DATABASE_ROLE`` (``domestique_app``):

- LOGIN, NOSUPERUSER, NOCREATEDB, NOCREATEROLE, NOREPLICATION, NOBYPASSRLS. CREATEDB is not
  needed: the restore's fresh database is created by the superuser and handed to the role.
- its password is generated once into ``data/database-role.password`` (mode 0600): the app reads
  it from there on every start and sets it on the role, so a new database server (a restore on a
  new NAS) gets the role back on the next start.
- it owns the ``public`` schema and every table, view, sequence, function and type in it, and the
  TimescaleDB chunks; the extensions stay the superuser's. ``hand_over`` moves what an older
  install created as the superuser (an upgrade) and is idempotent.

A ``pg_restore`` run as this role cannot ``COPY … TO PROGRAM`` or read the server's files
(``pg_execute_server_program``, ``pg_read_server_files``), create functions in untrusted
languages, or touch another database.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db.extensions import conninfo
from app.security.redaction import register_secret

log = logging.getLogger(__name__)

PASSWORD_FILE_NAME = "database-role.password"  # noqa: S105 (a file name)
CONNECT_TIMEOUT_S = 5

# Schemas where TimescaleDB keeps a hypertable's chunks and its compressed copies: those tables
# belong to the hypertable's owner.
_CHUNK_SCHEMAS = ("_timescaledb_internal",)


def password_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / PASSWORD_FILE_NAME


def role_password(settings: Settings, *, create: bool = False) -> str | None:
    """The role's password from ``data/database-role.password``; with ``create``, generated
    (and written atomically, 0600) when the file is missing. None: no file and not ``create``."""
    path = password_path(settings)
    if not path.exists():
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    value = path.read_text(encoding="ascii").strip()
    register_secret(value)
    return value


def role_url(admin_url: str, role: str, password: str | None) -> str:
    """The SQLAlchemy URL of the same database, as ``role``."""
    url = make_url(admin_url).set(username=role, password=password)
    rendered = url.render_as_string(hide_password=False)
    register_secret(rendered)
    return rendered


def as_app_role(settings: Settings) -> Settings:
    """``settings`` as the running app uses them: ``database_url`` is the app role's and
    ``database_admin_url`` the superuser's, once the role exists (its password file does).
    Unchanged when the role is switched off (``DOMESTIQUE_DATABASE_ROLE=``), when the admin URL
    is set already, or before the first start created the role."""
    if not settings.database_role or settings.database_admin_url is not None:
        return settings
    try:
        password = role_password(settings)
    except OSError:  # an unreadable data folder: the start-up's folder check says what to do
        return settings
    if password is None:
        return settings
    admin = settings.database_url.get_secret_value()
    if make_url(admin).username == settings.database_role:
        return settings
    return settings.model_copy(
        update={
            "database_url": type(settings.database_url)(
                role_url(admin, settings.database_role, password)
            ),
            "database_admin_url": settings.database_url,
        }
    )


def admin_url(settings: Settings) -> str:
    """The URL with the superuser's credentials (the configured one when the app never switched)."""
    chosen = settings.database_admin_url or settings.database_url
    return chosen.get_secret_value()


def is_superuser(database_url: str) -> bool:
    with psycopg.connect(conninfo(database_url), connect_timeout=CONNECT_TIMEOUT_S) as connection:
        return connection.execute("SELECT current_setting('is_superuser') = 'on'").fetchone()[0]


def ensure_role(database_url: str, role: str, password: str | None) -> None:
    """Create ``role`` (or bring its attributes and password back to these; None: no password,
    or the one it has), as the superuser at ``database_url``, and let it connect to that
    database."""
    with psycopg.connect(
        conninfo(database_url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
    ) as connection:
        exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
        verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
        secret = sql.SQL("PASSWORD {}").format(sql.Literal(password)) if password else sql.SQL("")
        connection.execute(
            sql.SQL(
                "{} {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
                "INHERIT {}"
            ).format(verb, sql.Identifier(role), secret)
        )
        database = make_url(database_url).database
        connection.execute(
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(role)
            )
        )
        if not exists:
            log.info("created the database role %s (not a superuser) the app connects as", role)


def hand_over(database_url: str, role: str) -> int:
    """Make ``role`` the owner of the ``public`` schema and of every object in it that is not
    an extension's, and of TimescaleDB's chunks, in the database at ``database_url`` (as the
    superuser). Returns the number of objects whose owner changed (0 when all were the role's)."""
    moved = 0
    with psycopg.connect(
        conninfo(database_url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
    ) as connection:
        ident = sql.Identifier(role)
        with connection.transaction():
            connection.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(ident))
            # Tables first (their indexes and owned sequences follow), then what is left.
            for statement in _ownership_statements(connection, role):
                connection.execute(statement)
                moved += 1
        if moved:
            log.info("moved the ownership of %d database objects to the role %s", moved, role)
    return moved


def _ownership_statements(connection: psycopg.Connection, role: str) -> list[sql.Composed]:
    ident = sql.Identifier(role)
    statements: list[sql.Composed] = []
    relation_kinds = {
        "r": "TABLE",
        "p": "TABLE",
        "f": "FOREIGN TABLE",
        "v": "VIEW",
        "m": "MATERIALIZED VIEW",
        "S": "SEQUENCE",
    }
    rows = connection.execute(
        "SELECT n.nspname, c.relname, c.relkind FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = ANY(%s) AND pg_get_userbyid(c.relowner) <> %s "
        "AND (n.nspname = 'public' OR (n.nspname = ANY(%s) AND c.relkind IN ('r', 'p'))) "
        # A sequence owned by a column follows its table.
        "AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d "
        "  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
        "  AND d.objid = c.oid AND d.deptype = 'e') "
        "ORDER BY c.relkind = 'S', n.nspname <> 'public', c.relname",
        [list(relation_kinds), role, list(_CHUNK_SCHEMAS)],
    ).fetchall()
    for schema, name, kind in rows:
        statements.append(
            sql.SQL("ALTER {} {}.{} OWNER TO {}").format(
                sql.SQL(relation_kinds[kind]), sql.Identifier(schema), sql.Identifier(name), ident
            )
        )
    functions = connection.execute(
        "SELECT p.oid::regprocedure::text, p.prokind FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> %s AND NOT EXISTS "
        "(SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid "
        "AND d.deptype = 'e')",
        [role],
    ).fetchall()
    for signature, kind in functions:
        what = {"p": "PROCEDURE", "a": "AGGREGATE"}.get(kind, "FUNCTION")
        statements.append(
            sql.SQL("ALTER {} {} OWNER TO {}").format(sql.SQL(what), sql.SQL(signature), ident)
        )
    types = connection.execute(
        "SELECT t.oid::regtype::text FROM pg_type t "
        "JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'm') "
        "AND pg_get_userbyid(t.typowner) <> %s AND NOT EXISTS "
        "(SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid "
        "AND d.deptype = 'e')",
        [role],
    ).fetchall()
    for (name,) in types:
        statements.append(sql.SQL("ALTER TYPE {} OWNER TO {}").format(sql.SQL(name), ident))
    return statements


def create_extensions(database_url: str) -> list[str]:
    """As the superuser: the extensions the first migration asks for (when the server has
    them), so that the role, which may not create them, finds them there. Returns those
    created now."""
    created = []
    with psycopg.connect(
        conninfo(database_url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
    ) as connection:
        if connection.execute("SELECT current_setting('is_superuser') = 'on'").fetchone()[0]:
            for name in ("timescaledb", "vector"):
                missing = connection.execute(
                    "SELECT 1 FROM pg_available_extensions WHERE name = %s "
                    "AND installed_version IS NULL",
                    [name],
                ).fetchone()
                if missing:
                    connection.execute(
                        sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name))
                    )
                    created.append(name)
    return created


def app_role(settings: Settings) -> tuple[str, str | None] | None:
    """(name, password) of the role the app runs as, the role created or brought back to its
    attributes and password by the superuser; None when the role is switched off or the
    configured user is not a superuser (then it is the app's own user already; logged).

    With the superuser's URL in ``database_admin_url`` (configured, or set by ``as_app_role``),
    ``database_url`` names the role and its password; otherwise the role is
    ``database_role`` with the password in ``data/database-role.password`` (generated once)."""
    if not settings.database_role:
        return None
    admin = admin_url(settings)
    if settings.database_admin_url is not None:
        url = make_url(settings.database_url.get_secret_value())
        role, password = url.username, url.password
    else:
        role, password = settings.database_role, None
    if not role or role == make_url(admin).username:
        return None
    if not is_superuser(admin):
        log.info(
            "the database user of the app's settings is not a superuser: the app uses it for "
            "everything (no role %s is created)",
            role,
        )
        return None
    if settings.database_admin_url is None:
        password = role_password(settings, create=True)
    ensure_role(admin, role, None if password is None else str(password))
    return role, None if password is None else str(password)


def prepare_role(settings: Settings) -> Settings:
    """As the superuser in ``settings``: create the role (generating its password on first
    start), hand the schema over to it, and return the settings the app runs with from then on
    (``as_app_role``). Unchanged when there is no role to prepare (``app_role``)."""
    role = app_role(settings)
    if role is None:
        return settings
    hand_over(admin_url(settings), role[0])
    if settings.database_admin_url is not None:
        return settings
    return as_app_role(settings)
