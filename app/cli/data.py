"""The data: import, sync, backup, restore, stats, recompute."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from app.cli.base import (
    _progress_bar,
    _settings,
    cli,
    needs_schema,
)


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
    for key in imports.SUMMARY_KEYS:
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
    from app.security.keys import SecretBox, load_master_key, previous_keys
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
    box = SecretBox(load_master_key(settings), previous_keys(settings))
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
