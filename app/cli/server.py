"""Running the server and looking after its database: serve, migrate, check, version."""

from __future__ import annotations

import typer

from app import __version__
from app.cli.base import (
    _check_folders,
    _settings,
    cli,
    prepare_database,
)


@cli.command()
def serve(
    host: str = typer.Option(None, help="Listen address (default DOMESTIQUE_HOST)."),
    port: int = typer.Option(None, help="Port (default DOMESTIQUE_PORT)."),
    migrate_first: bool = typer.Option(
        True, "--migrate/--no-migrate", help="Apply migrations before serving."
    ),
) -> None:
    """Serve the web app (one worker: the scheduler lives in this process)."""
    import uvicorn

    from app.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    _check_folders(settings)
    if migrate_first:
        prepare_database(settings)
    uvicorn.run(
        "app.web.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=1,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # the app reads X-Forwarded-* from DOMESTIQUE_TRUSTED_PROXIES only
        timeout_graceful_shutdown=10,
    )


@cli.command()
def migrate(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Wait for the database, update its extensions and apply migrations (up to REVISION)."""
    from app.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    prepare_database(settings, revision)
    typer.echo(f"database at revision {revision}")


@cli.command()
def check() -> None:
    """Print versions, database reachability, TimescaleDB edition and pgvector."""
    from app.db import make_engine
    from app.services.pages.status import database_status, versions

    settings = _settings()
    for name, value in versions().items():
        typer.echo(f"{name}: {value}")
    engine = make_engine(settings)
    status = database_status(engine)
    engine.dispose()
    if not status.ok:
        typer.echo(f"database: unreachable ({status.error})")
        raise typer.Exit(1)
    features = status.features
    assert features is not None
    typer.echo("database: ok")
    typer.echo(f"postgresql: {features.postgres_version}")
    typer.echo(
        f"timescaledb: {features.timescaledb_installed or 'not installed'} "
        f"(edition {features.timescaledb_edition}; server offers "
        f"{features.timescaledb_available or 'none'})"
    )
    typer.echo(
        f"pgvector: {features.pgvector_installed or 'not installed'} "
        f"(server offers {features.pgvector_available or 'none'})"
    )
    typer.echo(f"schema: {status.revision or 'empty'} (code expects {status.head})")


@cli.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)
