"""What every command shares: the Typer application, the settings, the schema check
(``@needs_schema``, ``SCHEMA_FREE``) and the start-up path of the database."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import typer

cli = typer.Typer(
    help="Domestique: a self-hosted training and health appliance.",
    no_args_is_help=True,
    add_completion=False,
)


@cli.callback()
def _process_start() -> None:
    """Every command (``serve`` too): files and folders this process creates — backups, raw
    files, the key — are readable by its own user only."""
    os.umask(0o077)


def _settings():
    from app.config import get_settings
    from app.db.roles import as_app_role

    try:
        # As the app's own database role once the first start created it (app.db.roles).
        return as_app_role(get_settings())
    except ValueError as error:  # pydantic ValidationError is a ValueError
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(2) from error


#: Commands that must not migrate first: ``serve`` migrates itself (``--no-migrate``),
#: ``migrate`` is the explicit form, ``check`` reports the schema as it is (and must work on an
#: unreachable database), ``restore`` replaces the database with a fresh one that it migrates
#: itself — the recovery path must not depend on migrating the database it throws away —, and
#: ``version`` needs no database.
SCHEMA_FREE = frozenset({"serve", "migrate", "check", "restore", "version"})


def _bring_schema_up_to_date(settings) -> None:
    """The one rule: migrate to this version (idempotent; one query when current), or say in
    one sentence why not."""
    from sqlalchemy.exc import OperationalError

    from app.db.migrate import SchemaNewer, bring_up_to_date, head_revision

    try:
        migrated = bring_up_to_date(settings.database_url.get_secret_value())
    except OperationalError as error:
        typer.echo(
            f"database unreachable ({type(error).__name__}): check DOMESTIQUE_DATABASE_URL and "
            "that PostgreSQL is running; `domestique check` says more",
            err=True,
        )
        raise typer.Exit(1) from error
    except SchemaNewer as error:
        _schema_newer(error)
    if migrated:
        typer.echo(f"database migrated to revision {head_revision()}", err=True)


def _schema_newer(error) -> None:
    from app.db.migrate import head_revision

    typer.echo(
        f"the database was migrated by a newer Domestique (revision {error.revision}); this "
        f"version knows up to {head_revision()}: upgrade Domestique or restore a backup",
        err=True,
    )
    raise typer.Exit(1) from error


def needs_schema[**P, R](command: Callable[P, R]) -> Callable[P, R]:
    """Mark a command that needs the tables: the database is brought to this version before it
    runs (after its arguments are parsed, so ``--help`` and usage errors touch nothing)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        _bring_schema_up_to_date(_settings())
        return command(*args, **kwargs)

    run.needs_schema = True  # type: ignore[attr-defined]
    return run


def prepare_database(settings, revision: str = "head", *, wait_s: float | None = None):
    """The start-up path of every command that needs the database: wait for it (a NAS reboot
    can start the app first; up to 5 minutes unless ``wait_s`` says otherwise), update its
    extensions, keep telemetry off, migrate. A database that cannot be used ends the command
    with exit code 1 and a sentence on stderr (the owner's default language) and in the log
    (English)."""
    import logging

    from app.db.migrate import SchemaNewer
    from app.db.roles import admin_url
    from app.db.startup import WAIT_S, DatabaseStartupError
    from app.db.startup import prepare_database as prepare

    try:
        report = prepare(
            admin_url(settings),
            revision,
            wait_s=WAIT_S if wait_s is None else wait_s,
            settings=settings,
        )
    except DatabaseStartupError as error:
        logging.getLogger("app.cli").error("%s", error)
        typer.echo(error.sentence(settings.default_locale), err=True)
        raise typer.Exit(1) from error
    except SchemaNewer as error:
        _schema_newer(error)
    # From now on the commands and the server's app factory connect as the app's own role
    # (``_settings()``, ``create_app()``: app.db.roles.as_app_role).
    return report.settings


def _check_folders(settings) -> None:
    """The data and backup folders must be writable by this process (uid 1000 in Docker); a
    database left in ``data/db`` by the layout before the Docker volume is pointed out."""
    import logging
    import uuid

    from app.i18n import _, current_locale

    for folder in (Path(settings.data_dir), Path(settings.backup_dir)):
        probe = folder / f".write-test-{uuid.uuid4().hex}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe.touch()
            probe.unlink()
        except OSError as error:
            logging.getLogger("app.cli").error(
                "cannot write to %s (%s); with Docker Compose run `sudo chown -R 1000:1000 "
                "data backups` in the Domestique folder",
                folder,
                error.strerror or error,
            )
            current_locale.set(settings.default_locale)
            typer.echo(
                _(
                    "Domestique cannot write to %(folder)s. With Docker Compose, run `sudo chown "
                    "-R 1000:1000 data backups` in the Domestique folder (the app runs as user "
                    "1000), then `docker compose up -d`.",
                    folder=str(folder),
                ),
                err=True,
            )
            raise typer.Exit(1) from error
    earlier = Path(settings.data_dir) / "db"
    if (earlier / "PG_VERSION").exists():
        logging.getLogger("app.cli").warning(
            "%s holds the database files of an earlier version of Domestique; the database is "
            "now in a Docker volume and does not read them. To bring that data over, restore a "
            'backup made before the upgrade (README, "Upgrading"), then delete %s',
            earlier,
            earlier,
        )


def _progress_bar(console):
    """The one progress bar of long commands: what, bar, done of total, time elapsed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
