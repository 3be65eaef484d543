"""A throwaway PostgreSQL 17 (+ TimescaleDB, pgvector) cluster for the test session and the
benchmarks: Unix socket only, in a temporary directory, stopped at the end."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("DOMESTIQUE_PG_BIN", "/usr/lib/postgresql/17/bin"))
CONFIG = """
listen_addresses = ''
shared_preload_libraries = 'timescaledb'
timescaledb.telemetry_level = off
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 60
"""


class TemporaryCluster:
    """``start()`` initialises and starts; ``initialise()`` alone prepares a cluster that a test
    starts later (a database that comes up after the app). ``extra_config`` is appended to
    ``postgresql.conf`` (later lines win)."""

    def __init__(self, extra_config: str = "") -> None:
        self.extra_config = extra_config
        self.root = Path(tempfile.mkdtemp(prefix="domestique-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.user = "domestique"
        self._as_postgres = os.geteuid() == 0

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, text=True)

    def initialise(self) -> TemporaryCluster:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(
                f"PostgreSQL 17 not found in {PG_BIN}; run the tests with `make test`"
            )
        self.socket_dir.mkdir(parents=True)
        if self._as_postgres:
            uid = pwd.getpwnam("postgres").pw_uid
            for path in (self.root, self.socket_dir):
                os.chown(path, uid, -1)
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        with (self.data / "postgresql.conf").open("a") as handle:
            handle.write(CONFIG + self.extra_config)
        return self

    def start(self) -> TemporaryCluster:
        if not (self.data / "PG_VERSION").exists():
            self.initialise()
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            f"-k {self.socket_dir}",
            "-l",
            str(self.root / "server.log"),
            "-w",
            "start",
        )
        return self

    def stop_server(self) -> None:
        """Stop the server cleanly and keep its files (``start()`` brings it back)."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(
                    str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
                )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@/{database}?host={self.socket_dir}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host=str(self.socket_dir), user=self.user, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
