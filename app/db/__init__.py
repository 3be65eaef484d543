"""Engine and sessions (SQLAlchemy 2.0, psycopg 3). Services own transactions."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.security.redaction import register_secret


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url.get_secret_value()
    register_secret(url)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={
            "connect_timeout": 5,
            "application_name": "domestique",
            # No JIT compilation: it pays only on long analytical queries, and the planner
            # chooses it from estimated cost. On the sample hypertable (a chunk a month) a
            # read of 100 activities' samples right after an import, before autovacuum has
            # analysed the new chunks, is estimated at millions of rows and compiled for each
            # of its ~120 chunks: 1.4 s of LLVM for 0.2 s of work, every batch, until the
            # statistics catch up. https://www.postgresql.org/docs/17/jit-decision.html
            "options": "-c jit=off",
        },
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
