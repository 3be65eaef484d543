"""The coach: coach context / ask / purge-audit, and the guideline library (library search /
add / list / remove)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import typer

from app.cli.base import (
    _settings,
    cli,
    needs_schema,
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
    from app.security.keys import SecretBox, load_master_key, previous_keys
    from app.services.coach import ask

    engine, sessions = _library_sessions(settings)
    configure_logging("WARNING", sys.stderr)  # stdout is the answer's (and --json's)
    try:
        box = SecretBox(load_master_key(settings), previous_keys(settings))
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
    from app import i18n
    from app.coach.library_files import MAX_FILE_BYTES, LibraryFileError
    from app.services.coach import library

    settings = _settings()
    if file.stat().st_size > MAX_FILE_BYTES:
        data = b"x" * (MAX_FILE_BYTES + 1)  # refused by size without reading it all
    else:
        data = file.read_bytes()
    engine, sessions = _library_sessions(settings)
    try:  # the owner's language for the sentences, not set for the process: tests go on
        with i18n.using(locale=settings.default_locale):
            info = library.add_document(sessions, file.name, data)
    except LibraryFileError as error:
        with i18n.using(locale=settings.default_locale):
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
    from app import i18n
    from app.services.coach import library

    settings = _settings()
    engine, sessions = _library_sessions(settings)
    try:
        info = library.remove_document(sessions, document_id)
    except library.LibraryError as error:
        with i18n.using(locale=settings.default_locale):
            typer.echo(library.error_sentence(error), err=True)
        raise typer.Exit(1) from error
    finally:
        engine.dispose()
    typer.echo(f"removed document {info.id}: {info.title} ({info.file_name})")


@coach_cli.command("day")
@needs_schema
def coach_day(
    as_json: bool = typer.Option(False, "--json", help="One JSON object on one line."),
    day: datetime = typer.Option(  # noqa: B008
        None, "--date", formats=["%Y-%m-%d"], help="Decide this day (default: today)."
    ),
) -> None:
    """Ask the daily coach for the day's decision now (the morning run does it at the time set
    in Settings, after the nightly sync, for the active mission): the model's proposal, the
    decision after the safety rules and every overrule. Exit code 1 when no decision could be
    made (the reason is printed)."""
    import json

    from app.db import make_engine, make_session_factory
    from app.security.keys import SecretBox, load_master_key, previous_keys
    from app.services.coach import day as coach_day_service

    settings = _settings()
    engine = make_engine(settings)
    try:
        sessions = make_session_factory(engine)
        view = coach_day_service.run_day(
            sessions,
            settings,
            SecretBox(load_master_key(settings), previous_keys(settings)),
            today=day.date() if day else None,
        )
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(view.as_dict(), ensure_ascii=False))
    elif view.decision is not None:
        d = view.decision
        typer.echo(f"{view.day}: {d.action} ({d.intensity}) — {d.reason}")
        if d.ride_mode:
            typer.echo(f"ride mode: {d.ride_mode}; expected points: {d.expected_points}")
        for finding in view.findings:
            typer.echo(f"  overruled: {finding['text']}")
    else:
        typer.echo(view.failure or "no decision", err=True)
    if view.decision is None:
        raise typer.Exit(1)
