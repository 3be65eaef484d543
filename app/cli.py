"""``domestique``: the command line. Every command calls a service.

Commands that read or write the tables are marked ``@needs_schema``: they bring the database to
this version first, as ``serve`` does at start, so every command works on a new database. The
others are listed in ``SCHEMA_FREE`` with the reason; a test keeps the two lists complete."""

from __future__ import annotations

import functools
import getpass
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import typer

from app import __version__

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

    try:
        return get_settings()
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


def prepare_database(settings, revision: str = "head", *, wait_s: float | None = None) -> None:
    """The start-up path of every command that needs the database: wait for it (a NAS reboot
    can start the app first; up to 5 minutes unless ``wait_s`` says otherwise), update its
    extensions, keep telemetry off, migrate. A database that cannot be used ends the command
    with exit code 1 and a sentence on stderr (the owner's default language) and in the log
    (English)."""
    import logging

    from app.db.migrate import SchemaNewer
    from app.db.startup import WAIT_S, DatabaseStartupError
    from app.db.startup import prepare_database as prepare

    try:
        prepare(
            settings.database_url.get_secret_value(),
            revision,
            wait_s=WAIT_S if wait_s is None else wait_s,
        )
    except DatabaseStartupError as error:
        logging.getLogger("app.cli").error("%s", error)
        typer.echo(error.sentence(settings.default_locale), err=True)
        raise typer.Exit(1) from error
    except SchemaNewer as error:
        _schema_newer(error)


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


@cli.command("create-owner")
@needs_schema
def create_owner(
    username: str = typer.Option(..., prompt=True),
    display_name: str = typer.Option(..., "--name", prompt="Your name"),
    locale: str = typer.Option("en", help="ko or en"),
    timezone: str = typer.Option(None, help="IANA time zone (default DOMESTIQUE_TIMEZONE)."),
    password_stdin: bool = typer.Option(False, help="Read the password from standard input."),
) -> None:
    """Create the owner account (instead of the first-run page)."""
    from app.db import make_engine, make_session_factory
    from app.services.owner import account as owners

    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            typer.echo("the two passwords differ", err=True)
            raise typer.Exit(1)
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            owners.create_owner(
                session,
                owners.NewOwner(
                    display_name=display_name,
                    username=username,
                    password=password,
                    locale=locale,
                    timezone=timezone or settings.timezone,
                ),
                data_dir=settings.data_dir,
            )
    except owners.OwnerError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    finally:
        engine.dispose()
    typer.echo(f"owner {username} created")


@cli.command("reset-password")
@needs_schema
def reset_password(
    password_stdin: bool = typer.Option(False, help="Read the new password from standard input."),
) -> None:
    """Set a new password for the owner (a forgotten one); every session ends."""
    from app.db import make_engine, make_session_factory
    from app.services.owner import account as owners

    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("New password again: ") != password:
            typer.echo("the two passwords differ", err=True)
            raise typer.Exit(1)
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            username = owners.reset_password(session, password).username
    except owners.OwnerError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    finally:
        engine.dispose()
    typer.echo(f"password of {username} changed; every session has ended")


@cli.command("setup-code")
@needs_schema
def setup_code() -> None:
    """Print the one-time code the first-run page asks for (while no owner exists)."""
    from app.db import make_engine, make_session_factory
    from app.services.owner import account as owners

    settings = _settings()
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            code = owners.pending_setup_code(session, settings.data_dir)
    finally:
        engine.dispose()
    if code is None:
        typer.echo("the owner exists: no setup code is needed (sign in at /login)", err=True)
        raise typer.Exit(1)
    typer.echo(code)


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


@cli.command("import")
@needs_schema
def import_(
    paths: list[Path] = typer.Argument(..., help="FIT files, ZIPs, exports or folders."),  # noqa: B008
    workers: int = typer.Option(
        None, help="Decoder processes (default DOMESTIQUE_IMPORT_WORKERS)."
    ),
) -> None:
    """Import FIT files, ZIPs of them, Garmin's data export, Strava's archive or an Apple Health
    export."""
    from rich.console import Console
    from rich.table import Table

    from app.db import make_engine, make_session_factory
    from app.i18n import current_locale
    from app.logs import configure_logging
    from app.messages import describe
    from app.services import imports

    settings = _settings()
    configure_logging("WARNING")
    current_locale.set(settings.default_locale)
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        typer.echo(f"not found: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    console = Console(stderr=True)
    engine = make_engine(settings)
    sessions = make_session_factory(engine)
    try:
        raws = imports.keep_paths(sessions, settings, paths)
        if not raws:
            typer.echo("no files found", err=True)
            raise typer.Exit(2)
        with sessions.begin() as session:
            job_id = imports.create_job(session, raws, origin="cli").id
        with _progress_bar(console) as bar:
            task = bar.add_task("import", total=len(raws))
            job = imports.run_job(
                sessions,
                settings,
                job_id,
                workers=workers,
                progress=lambda j: bar.update(task, total=max(j.total, 1), completed=j.done),
            )
    finally:
        engine.dispose()
    summary = job.summary
    table = Table(title=f"import job {job.id}: {job.status}")
    table.add_column("")
    table.add_column("", justify="right")
    for key in (
        "activities_added",
        "activities_duplicate",
        "wellness_days",
        "samples",
        "health_samples",
        "files_failed",
        "files_skipped",
    ):
        table.add_row(key.replace("_", " "), f"{summary.get(key, 0):,}")
    console.print(table)
    for item in job.items:
        if item.status in ("failed", "skipped"):
            console.print(
                f"[red]{item.status}[/red] {item.name}: "
                f"{describe(item.error_code, item.error_params)}"
            )
        for notice in item.notices:
            console.print(
                f"[yellow]note[/yellow] {item.name}: {describe(notice['code'], notice['params'])}"
            )
    if job.error:
        console.print(f"[red]job failed[/red]: {job.error}")
    if job.status != "done" or summary.get("files_failed"):
        raise typer.Exit(1)


@cli.command()
@needs_schema
def sync(
    source: str = typer.Option(
        None, help="Only this source (e.g. garmin); default: every connected source."
    ),
    full: bool = typer.Option(
        False, "--full", help="Walk the whole history again (known activities are skipped)."
    ),
) -> None:
    """Sync connected sources now, with a progress bar (Ctrl-C stops cleanly between items)."""
    import signal
    import threading

    from rich.console import Console

    from app.db import make_engine, make_session_factory
    from app.i18n import current_locale
    from app.logs import configure_logging
    from app.messages import describe
    from app.security.keys import SecretBox, load_master_key
    from app.services.sync.adapters import default_sources
    from app.services.sync.engine import restart_backfill
    from app.services.work.runner import SyncBusy, connected_sources, sync_source
    from app.sources import SourceAuthError

    settings = _settings()
    configure_logging("WARNING")
    current_locale.set(settings.default_locale)
    sources = default_sources(settings)
    if source is not None and source not in sources:
        typer.echo(f"unknown source {source!r}; known: {', '.join(sources)}", err=True)
        raise typer.Exit(2)
    console = Console(stderr=True)
    engine = make_engine(settings)
    sessions = make_session_factory(engine)
    box = SecretBox(load_master_key(settings))
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    failed = False
    try:
        targets = [sources[source]] if source else connected_sources(sessions, sources)
        if not targets:
            typer.echo("no source is connected; connect one on the Connections page", err=True)
            raise typer.Exit(1)
        for target in targets:
            if full:
                with sessions.begin() as session:
                    restart_backfill(session, target.name)
            with _progress_bar(console) as bar:
                task = bar.add_task(target.name, total=None)
                try:
                    run = sync_source(
                        sessions,
                        settings,
                        box,
                        target,
                        "backfill" if full else "auto",
                        progress=lambda r, task=task: bar.update(
                            task, total=r.items_total, completed=r.items_done
                        ),
                        interrupt=lambda: "interrupted" if stop.is_set() else None,
                    )
                except SyncBusy:
                    console.print(f"[red]{target.name}[/red]: {describe('sync_busy')}")
                    failed = True
                    continue
                except SourceAuthError:
                    console.print(f"[red]{target.name}[/red]: {describe('not_connected')}")
                    failed = True
                    continue
            counts = run.counts
            console.print(
                f"{target.name}: {run.status} · activities added "
                f"{counts.get('activities_added', 0):,} · merged "
                f"{counts.get('activities_merged', 0):,} · wellness days "
                f"{counts.get('wellness_days', 0):,} · failed items {len(run.failures):,}"
            )
            if run.error_code:
                console.print(f"  {describe(run.error_code, {'source': target.label})}")
            failed = failed or run.status not in ("done", "paused")
    finally:
        signal.signal(signal.SIGINT, previous)
        engine.dispose()
    if failed:
        raise typer.Exit(1)


@cli.command()
@needs_schema
def backup() -> None:
    """Write a verified backup to DOMESTIQUE_BACKUP_DIR; the file's path is the last line."""
    from rich.console import Console

    from app.i18n import current_locale
    from app.logs import configure_logging
    from app.messages import describe
    from app.services import backups

    settings = _settings()
    configure_logging("WARNING")
    current_locale.set(settings.default_locale)
    console = Console(stderr=True)
    try:
        with console.status("backup") as status:
            result = backups.make_backup(
                settings,
                retention=backups.Retention.from_settings(settings),
                progress=lambda step: status.update(f"backup: {step}"),
            )
    except backups.BackupError as error:
        console.print(f"[red]backup failed[/red]: {describe(error.code, error.params)}")
        raise typer.Exit(1) from error
    counts = result.metadata["row_counts"]
    console.print(
        f"{result.size / 1e6:,.1f} MB · {counts.get('activity', 0):,} activities · "
        f"{counts.get('daily_wellness', 0):,} wellness days · verified"
    )
    for path in result.pruned:
        console.print(f"removed by retention: {path.name}")
    typer.echo(str(result.path))


@cli.command()
def restore(
    file: Path = typer.Argument(..., help="A backup file (domestique-….tar)."),  # noqa: B008
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    accept_unverified: bool = typer.Option(
        False,
        "--accept-unverified",
        help="Restore a backup this installation's key does not verify (made elsewhere or "
        "under a lost key): its data and its key replace ours unchecked.",
    ),
) -> None:
    """Replace the database and raw files with a backup (a safety backup is taken first)."""
    from rich.console import Console
    from rich.table import Table

    from app.i18n import current_locale
    from app.logs import configure_logging
    from app.messages import describe
    from app.services import backups

    settings = _settings()
    configure_logging("WARNING")
    current_locale.set(settings.default_locale)
    console = Console(stderr=True)
    if not file.is_file():
        typer.echo(f"not found: {file}", err=True)
        raise typer.Exit(2)
    try:
        metadata = backups.read_metadata(file)
    except backups.BackupError as error:
        console.print(f"[red]{describe(error.code, error.params)}[/red]")
        raise typer.Exit(1) from error
    console.print(
        f"{file.name}: made {metadata.get('created_at')} by version {metadata.get('app_version')}"
        f", {metadata.get('row_counts', {}).get('activity', 0):,} activities"
    )
    if not yes and not typer.confirm(
        "Replace the current database and raw files with this backup?", default=False
    ):
        raise typer.Exit(1)
    authentic = backups.is_authentic(settings, file)
    if not authentic and not accept_unverified:
        console.print(
            "[yellow]This backup does not verify with this installation's secret key: it was "
            "made elsewhere or under a lost key, changed since, or written before backups were "
            "signed. Restoring it replaces all data with whatever it holds, and its secret key "
            "replaces this installation's; a backup from someone else could take over your "
            "accounts or run their code in the database.[/yellow]"
        )
        if yes or not typer.confirm(
            "Did you make this backup yourself, and restore it unverified?", default=False
        ):
            console.print(f"[red]{describe('backup_unverified')}[/red]")
            raise typer.Exit(1)
    try:
        with console.status("restore") as status:
            result = backups.restore_backup(
                settings,
                file,
                progress=lambda step: status.update(f"restore: {step}"),
                accept_unverified=not authentic,
            )
    except backups.BackupError as error:
        console.print(f"[red]restore failed[/red]: {describe(error.code, error.params)}")
        raise typer.Exit(1) from error
    table = Table(title="row counts")
    for column in ("table", "before", "after"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for name in sorted(set(result.before) | set(result.after)):
        if result.before.get(name) or result.after.get(name):
            table.add_row(name, f"{result.before.get(name, 0):,}", f"{result.after.get(name, 0):,}")
    console.print(table)
    for warning in result.warnings:
        console.print(f"[yellow]{describe(warning)}[/yellow]")
    if result.safety_backup:
        console.print(f"the state before the restore is in {result.safety_backup}")


@cli.command()
@needs_schema
def stats(as_json: bool = typer.Option(False, "--json", help="One JSON object.")) -> None:
    """Print what the database holds."""
    import json

    from app.db import make_engine, make_session_factory
    from app.services.imports import database_stats

    settings = _settings()
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            figures = database_stats(session)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(figures, sort_keys=True))
        return
    for key, value in figures.items():
        if isinstance(value, dict):
            typer.echo(f"{key}:")
            for name, count in value.items():
                typer.echo(f"  {name}: {count:,}")
        else:
            typer.echo(f"{key}: {value:,}" if isinstance(value, int) else f"{key}: {value}")


@cli.command()
@needs_schema
def recompute(
    from_day: datetime = typer.Option(  # noqa: B008
        None,
        "--from",
        formats=["%Y-%m-%d"],
        help="Recompute from this date (YYYY-MM-DD); default: everything.",
    ),
) -> None:
    """Recompute training metrics: every activity, the daily series and the estimates."""
    from rich.console import Console

    from app.db import make_engine, make_session_factory
    from app.logs import configure_logging
    from app.services import metrics

    settings = _settings()
    configure_logging("WARNING")
    console = Console(stderr=True)
    engine = make_engine(settings)
    try:
        with _progress_bar(console) as bar:
            task = bar.add_task("recompute", total=None)
            result = metrics.recompute_all(
                make_session_factory(engine),
                from_day.date() if from_day else None,
                progress=lambda done, total: bar.update(task, total=total, completed=done),
            )
    finally:
        engine.dispose()
    typer.echo(
        f"recomputed: activities {result.activities:,} · daily series from "
        f"{result.from_day.isoformat() if result.from_day else '-'}"
    )


coach_cli = typer.Typer(help="The coach: ask it, what it sees, its audit.", no_args_is_help=True)
cli.add_typer(coach_cli, name="coach")


@coach_cli.command("context")
@needs_schema
def coach_context(
    as_json: bool = typer.Option(False, "--json", help="One JSON object on one line."),
    today: datetime = typer.Option(  # noqa: B008
        None, "--today", formats=["%Y-%m-%d"], help="As of this day (default: today)."
    ),
) -> None:
    """Print the context snapshot the coach's next call would send (the groups withheld in
    Settings → Coach left out)."""
    from app.db import make_engine, make_session_factory
    from app.services.coach.context import build_snapshot

    settings = _settings()
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            snapshot = build_snapshot(session, today=today.date() if today else None)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(snapshot.text)
        return
    typer.echo(snapshot.pretty())
    typer.echo(
        f"snapshot version {snapshot.version} · {snapshot.size_bytes:,} bytes · "
        f"sha256 {snapshot.sha256}",
        err=True,
    )


@coach_cli.command("purge-audit")
@needs_schema
def coach_purge_audit() -> None:
    """Empty the texts of language-model requests older than the audit retention and delete
    the conversations with the coach untouched as long, now (the nightly job does it every
    day)."""
    from app.db import make_engine, make_session_factory
    from app.services.coach.audit import purge_expired

    settings = _settings()
    engine = make_engine(settings)
    try:
        emptied = purge_expired(make_session_factory(engine), settings)
    finally:
        engine.dispose()
    typer.echo(f"emptied the texts of {emptied:,} requests")
    deleted = _purge_conversations(settings)
    typer.echo(f"deleted {deleted:,} conversations with the coach")


def _purge_conversations(settings) -> int:
    from app.db import make_engine, make_session_factory
    from app.services.coach import ask

    engine = make_engine(settings)
    try:
        return ask.purge_expired(make_session_factory(engine), settings)
    finally:
        engine.dispose()


@coach_cli.command("ask")
@needs_schema
def coach_ask(
    question: str = typer.Argument(..., help="The question, in Korean or English."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
    conversation: int = typer.Option(
        None, "--conversation", help="Continue this conversation (its id)."
    ),
) -> None:
    """Ask the coach: the answer, grounded on your data and the guideline library, with the
    passages it cites (the conversation is kept, as on the Plan page)."""
    from app import i18n

    settings = _settings()
    with i18n.using(locale=settings.default_locale):  # not set for the process: tests go on
        _coach_ask(settings, question, as_json, conversation)


def _coach_ask(settings, question: str, as_json: bool, conversation: int | None) -> None:
    import json

    from app.logs import configure_logging
    from app.security.keys import SecretBox, load_master_key
    from app.services.coach import ask

    engine, sessions = _library_sessions(settings)
    configure_logging("WARNING", sys.stderr)  # stdout is the answer's (and --json's)
    try:
        box = SecretBox(load_master_key(settings))
        answer = ask.ask(sessions, settings, box, question, conversation_id=conversation)
    except ask.AskError as error:
        typer.echo(ask.error_sentence(error.code), err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(answer.as_dict(), ensure_ascii=False))
    elif answer.failure is not None:
        typer.echo(answer.failure.sentence, err=True)
        if answer.passages:
            typer.echo("library passages:", err=True)
            for p in answer.passages:
                typer.echo(f"  [{p.chunk_id}] {p.title} › {p.heading} [{p.lang}]", err=True)
    else:
        typer.echo(answer.answer)
        for number, c in enumerate(answer.citations, start=1):
            typer.echo(f"[{number}] {c['title']} › {c['section']} [{c['lang']}] (#{c['chunk_id']})")
        if answer.conversation_id is not None:
            typer.echo(f"conversation {answer.conversation_id}", err=True)
    if answer.failure is not None:
        raise typer.Exit(1)


library_cli = typer.Typer(
    help="The coach's guideline library: search it, add and remove your own documents.",
    no_args_is_help=True,
)
cli.add_typer(library_cli, name="library")


def _library_sessions(settings):
    """An engine and sessions with the shipped library brought up to date (quick when it is)."""
    from app.db import make_engine, make_session_factory
    from app.logs import configure_logging
    from app.services.coach import library

    configure_logging("WARNING")
    engine = make_engine(settings)
    sessions = make_session_factory(engine)
    library.sync_shipped(sessions)
    return engine, sessions


@library_cli.command("search")
@needs_schema
def library_search(
    query: str = typer.Argument(..., help="The question or words to look for."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
    lang: str = typer.Option(None, "--lang", help="ko or en (default: the query's own language)."),
    k: int = typer.Option(5, "-k", min=1, max=50, help="How many passages."),
) -> None:
    """Ranked passages of the library for QUERY, with document, section and language."""
    import json

    from app.services.coach import library

    if lang not in (None, "ko", "en"):
        typer.echo("--lang must be ko or en", err=True)
        raise typer.Exit(2)
    settings = _settings()
    engine, sessions = _library_sessions(settings)
    try:
        with sessions() as session:
            chosen = lang or library.query_language(query)
            passages = library.search(session, query, lang=chosen, k=k)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "query": query,
                    "lang": chosen,
                    "retrieval": "lexical",
                    "passages": [p.as_dict() for p in passages],
                },
                ensure_ascii=False,
            )
        )
        return
    if not passages:
        typer.echo("no passage matches")
        return
    for number, passage in enumerate(passages, start=1):
        where = passage.slug or f"document {passage.document_id}"
        page = f", p. {passage.page}" if passage.page else ""
        typer.echo(
            f"{number}. {passage.title} › {passage.heading} [{passage.lang}] ({where}{page})"
        )
        excerpt = " ".join(passage.text.split())
        typer.echo(f"   {excerpt[:240]}{'…' if len(excerpt) > 240 else ''}")


@library_cli.command("add")
@needs_schema
def library_add(
    file: Path = typer.Argument(  # noqa: B008
        ..., exists=True, dir_okay=False, readable=True, help="A Markdown, text or PDF file."
    ),
) -> None:
    """Add your own document (Markdown, plain text or PDF) to the library."""
    from app.coach.library_files import MAX_FILE_BYTES, LibraryFileError
    from app.i18n import current_locale
    from app.services.coach import library

    settings = _settings()
    current_locale.set(settings.default_locale)
    if file.stat().st_size > MAX_FILE_BYTES:
        data = b"x" * (MAX_FILE_BYTES + 1)  # refused by size without reading it all
    else:
        data = file.read_bytes()
    engine, sessions = _library_sessions(settings)
    try:
        info = library.add_document(sessions, file.name, data)
    except LibraryFileError as error:
        typer.echo(library.error_sentence(error), err=True)
        raise typer.Exit(1) from error
    finally:
        engine.dispose()
    typer.echo(
        f"added document {info.id}: {info.title} ({info.kind}, {info.lang}, {info.chunks} passages)"
    )


@library_cli.command("list")
@needs_schema
def library_list(as_json: bool = typer.Option(False, "--json", help="One JSON array.")) -> None:
    """The library's documents: yours first, then the shipped ones."""
    import json

    from app.services.coach import library

    engine, sessions = _library_sessions(_settings())
    try:
        with sessions() as session:
            documents = library.list_documents(session)
    finally:
        engine.dispose()
    if as_json:
        rows = [
            {
                "id": d.id,
                "origin": d.origin,
                "slug": d.slug,
                "title": d.title,
                "lang": d.lang,
                "kind": d.kind,
                "file_name": d.file_name,
                "chunks": d.chunks,
            }
            for d in documents
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for d in documents:
        name = d.file_name if d.origin == "owner" else d.slug
        typer.echo(f"{d.id:>5}  {d.origin:<7} {d.lang}  {d.chunks:>3}  {d.title}  ({name})")


@library_cli.command("remove")
@needs_schema
def library_remove(
    document_id: int = typer.Argument(..., help="The id `library list` shows."),
) -> None:
    """Remove one of your own documents from the library."""
    from app.i18n import current_locale
    from app.services.coach import library

    settings = _settings()
    current_locale.set(settings.default_locale)
    engine, sessions = _library_sessions(settings)
    try:
        info = library.remove_document(sessions, document_id)
    except library.LibraryError as error:
        typer.echo(library.error_sentence(error), err=True)
        raise typer.Exit(1) from error
    finally:
        engine.dispose()
    typer.echo(f"removed document {info.id}: {info.title} ({info.file_name})")


@cli.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
