"""What the PostgreSQL server offers: TimescaleDB (and its license) and pgvector.

Compression and retention policies need the ``timescale`` license (the Docker image); the Debian
packages of the development root are the Apache edition. Detect, never assume.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class ServerFeatures:
    postgres_version: str
    timescaledb_available: str | None  # version the server could install
    timescaledb_installed: str | None  # version installed in this database
    timescaledb_license: str | None  # "apache" or "timescale" when installed
    pgvector_available: str | None
    pgvector_installed: str | None

    @property
    def timescaledb_edition(self) -> str:
        if not self.timescaledb_installed:
            return "absent"
        return self.timescaledb_license or "unknown"

    @property
    def supports_policies(self) -> bool:
        """Compression and retention policies (not in the Apache edition)."""
        return self.timescaledb_license == "timescale"


def _scalar(connection: Connection, sql: str, **params: object) -> str | None:
    value = connection.execute(text(sql), params).scalar()
    return None if value is None else str(value)


def server_features(connection: Connection) -> ServerFeatures:
    installed = "SELECT extversion FROM pg_extension WHERE extname = :name"
    available = "SELECT default_version FROM pg_available_extensions WHERE name = :name"
    ts_installed = _scalar(connection, installed, name="timescaledb")
    license_ = (
        _scalar(connection, "SELECT current_setting('timescaledb.license', true)")
        if ts_installed
        else None
    )
    return ServerFeatures(
        postgres_version=_scalar(connection, "SHOW server_version") or "?",
        timescaledb_available=_scalar(connection, available, name="timescaledb"),
        timescaledb_installed=ts_installed,
        timescaledb_license=license_,
        pgvector_available=_scalar(connection, available, name="vector"),
        pgvector_installed=_scalar(connection, installed, name="vector"),
    )
