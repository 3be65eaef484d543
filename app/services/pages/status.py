"""What /healthz and `domestique check` report."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from app import __version__
from app.db.migrate import current_revision, head_revision
from app.db.timescale import ServerFeatures, server_features


@dataclass(frozen=True)
class DatabaseStatus:
    ok: bool
    error: str | None = None
    features: ServerFeatures | None = None
    revision: str | None = None
    head: str | None = None

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {"ok": self.ok}
        if self.error:
            result["error"] = self.error
        if self.features:
            result.update(
                postgres=self.features.postgres_version,
                timescaledb=self.features.timescaledb_installed,
                timescaledb_edition=self.features.timescaledb_edition,
                pgvector=self.features.pgvector_installed,
                extensions={
                    name: {"installed": installed, "default": default}
                    for name, (installed, default) in self.features.extensions.items()
                },
                extensions_current=self.features.extensions_current,
            )
        if self.revision or self.head:
            result.update(revision=self.revision, head=self.head)
        return result


def database_status(engine: Engine) -> DatabaseStatus:
    try:
        with engine.connect() as connection:
            features = server_features(connection)
        return DatabaseStatus(
            ok=True, features=features, revision=current_revision(engine), head=head_revision()
        )
    except (SQLAlchemyError, OSError) as exc:
        # The message names the failure kind only: driver messages can carry connection details.
        return DatabaseStatus(ok=False, error=type(exc).__name__)


def versions() -> dict[str, str]:
    return {"domestique": __version__, "python": sys.version.split()[0]}
