"""Alembic, configured from Settings (there is no alembic.ini). Migrations run at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, pool, text

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


class SchemaNewer(Exception):
    """The database was migrated by a newer Domestique: this code must not touch it."""

    def __init__(self, revision: str) -> None:
        super().__init__(f"database revision {revision} is unknown to this version")
        self.revision = revision


def bring_up_to_date(database_url: str) -> bool:
    """Migrate to the newest revision unless the database is there already; True when it
    migrated. Idempotent and quick: a current database costs one connection and one query, so
    every command that needs the tables can call it first. Raises ``SchemaNewer`` for a
    revision this code does not know (instead of Alembic's "can't locate revision"), and
    SQLAlchemy's ``OperationalError`` when the database is unreachable."""
    engine = create_engine(
        database_url, poolclass=pool.NullPool, connect_args={"connect_timeout": 10}
    )
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    if revision == head_revision():
        return False
    if revision is not None and revision not in known_revisions():
        raise SchemaNewer(revision)
    upgrade(database_url)
    return True


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision in ``migrations/`` (loading the scripts costs milliseconds, and they
    do not change while the process runs)."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    head = script.get_current_head()
    assert head is not None
    return head


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    return frozenset(revision.revision for revision in script.walk_revisions())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
