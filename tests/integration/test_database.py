"""Migrations and server features against the real PostgreSQL 17 + TimescaleDB + pgvector."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from app.db.migrate import current_revision, downgrade, head_revision, upgrade
from app.db.timescale import server_features


def test_upgrade_downgrade_upgrade(pg_cluster):
    url = pg_cluster.create_database("domestique_migrations")
    engine = create_engine(url)
    try:
        upgrade(url)
        assert current_revision(engine) == head_revision()
        assert {"owner", "scheduled_job_state", "activity", "sample", "daily_wellness"} <= set(
            inspect(engine).get_table_names()
        )
        downgrade(url, "base")
        assert current_revision(engine) is None
        assert "owner" not in inspect(engine).get_table_names()
        upgrade(url)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_server_features_detected(connection):
    features = server_features(connection)
    assert features.postgres_version.startswith("17")
    assert features.timescaledb_installed and features.timescaledb_available
    assert features.timescaledb_license in ("apache", "timescale")
    assert features.supports_policies == (features.timescaledb_license == "timescale")
    assert features.pgvector_installed


def test_only_one_owner_row_is_possible(connection):
    connection.execute(
        text(
            "INSERT INTO owner (id, display_name, username, password_hash, timezone) "
            "VALUES (1, 'a', 'a', 'x', 'UTC')"
        )
    )
    savepoint = connection.begin_nested()
    try:
        connection.execute(
            text(
                "INSERT INTO owner (id, display_name, username, password_hash, timezone) "
                "VALUES (2, 'b', 'b', 'x', 'UTC')"
            )
        )
        raise AssertionError("a second owner row was accepted")
    except Exception as error:
        assert "single_owner" in str(error)
    finally:
        savepoint.rollback()


def test_models_match_migrations(connection):
    """The SQLAlchemy models and the hand-written migrations describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.models import Base

    def include(obj, name, type_, reflected, compare_to):
        # TimescaleDB adds its own time index to each hypertable.
        return not (type_ == "index" and name and name.endswith("_time_idx"))

    context = MigrationContext.configure(
        connection, opts={"include_object": include, "compare_server_default": False}
    )
    diff = compare_metadata(context, Base.metadata)
    assert diff == [], "\n".join(map(str, diff))


def test_sample_tables_are_hypertables(connection):
    names = set(
        connection.execute(
            text("SELECT hypertable_name FROM timescaledb_information.hypertables")
        ).scalars()
    )
    assert {"sample", "health_sample"} <= names


def test_the_apps_connections_never_jit_compile(pg_cluster, tmp_path):
    """The planner JIT-compiles a statement it costs high; on the sample hypertable right after
    an import (statistics not yet caught up) that is 1.4 s of compiling per read of 100
    activities' samples. The app's engine turns it off; a plain connection shows it would
    compile the same statement."""
    from app.config import Settings
    from app.db import make_engine

    url = pg_cluster.create_database("domestique_no_jit")
    statement = text("EXPLAIN (ANALYZE, FORMAT JSON) SELECT sum(x) FROM generate_series(1, 1000) x")

    def compiled(engine) -> bool:
        with engine.connect() as connection:
            connection.execute(text("SET jit_above_cost = 0"))  # as if costed very high
            plan = connection.execute(statement).scalar_one()[0]
        engine.dispose()
        return "JIT" in plan

    plain = create_engine(url)
    with plain.connect() as connection:
        available = connection.execute(text("SELECT pg_jit_available()")).scalar_one()
    assert available, "this PostgreSQL has no JIT: the test would prove nothing"
    assert compiled(plain)
    settings = Settings(env="development", database_url=url, data_dir=tmp_path)
    assert not compiled(make_engine(settings))
