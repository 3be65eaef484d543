"""What the PostgreSQL server offers: TimescaleDB (and its license) and pgvector.

Compression and retention policies need the ``timescale`` license (the Docker image); the Debian
packages of the development root are the Apache edition. Detect, never assume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

# The extensions the app keeps at the server's default version, in update order (the toolkit
# after TimescaleDB). timescaledb_toolkit comes with the Docker image, not the development root.
MANAGED_EXTENSIONS = ("timescaledb", "timescaledb_toolkit", "vector")


def version_key(version: str) -> tuple[int, ...]:
    """``"2.19.3"`` → ``(2, 19, 3)``; a pre-release (``2.0.0-rc4``) sorts by its numbers."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


@dataclass(frozen=True)
class ServerFeatures:
    postgres_version: str
    timescaledb_available: str | None  # version the server could install
    timescaledb_installed: str | None  # version installed in this database
    timescaledb_license: str | None  # "apache" or "timescale" when installed
    pgvector_available: str | None
    pgvector_installed: str | None
    # (installed, default) of each managed extension installed in this database; start-up
    # updates the ones behind (app.db.startup), so a difference here means that failed.
    extensions: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def timescaledb_edition(self) -> str:
        if not self.timescaledb_installed:
            return "absent"
        return self.timescaledb_license or "unknown"

    @property
    def extensions_current(self) -> bool:
        return all(
            version_key(installed) >= version_key(default)
            for installed, default in self.extensions.values()
        )

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
        extensions=_managed_extensions(connection),
    )


def _managed_extensions(connection: Connection) -> dict[str, tuple[str, str]]:
    rows = connection.execute(
        text(
            "SELECT name, installed_version, default_version FROM pg_available_extensions "
            "WHERE name = ANY(:names) AND installed_version IS NOT NULL"
        ),
        {"names": list(MANAGED_EXTENSIONS)},
    )
    return {name: (installed, default) for name, installed, default in rows}
