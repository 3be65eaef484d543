"""The owner: create-owner, reset-password, setup-code."""

from __future__ import annotations

import getpass
import sys

import typer

from app.cli.base import (
    _settings,
    cli,
    needs_schema,
)


def _read_password(from_stdin: bool, prompt: str) -> str:
    """One line of standard input, or the password typed twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass(f"{prompt}: ")
    if getpass.getpass(f"{prompt} again: ") != password:
        typer.echo("the two passwords differ", err=True)
        raise typer.Exit(1)
    return password


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
    password = _read_password(password_stdin, "Password")
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
    password = _read_password(password_stdin, "New password")
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


@cli.command("rotate-key")
@needs_schema
def rotate_key() -> None:
    """Re-encrypt every stored credential under a new secret key (the app must be stopped);
    the old key is kept beside it until the next verified backup."""
    from app.db import make_engine, make_session_factory
    from app.services.key_rotation import KeyRotationError
    from app.services.key_rotation import rotate_key as rotate

    settings = _settings()
    engine = make_engine(settings)
    try:
        result = rotate(settings, make_session_factory(engine))
    except KeyRotationError as error:
        hint = {
            "app_running": "stop the app first: docker compose stop app, then docker compose "
            "run --rm app domestique rotate-key, then docker compose start app",
            "key_from_env": "the key is DOMESTIQUE_SECRET_KEY; put a new one there yourself "
            "(stored credentials then need reconnecting)",
        }.get(error.code, "")
        typer.echo(f"{error}{'; ' + hint if hint else ''}", err=True)
        raise typer.Exit(1) from error
    finally:
        engine.dispose()
    typer.echo(
        f"new secret key in {result.key_path}; {result.values} stored credentials re-encrypted. "
        f"The old key is kept in {result.previous_path} until the next backup verifies: make "
        "one now (domestique backup). Every session has ended; backups made before this need "
        "the second confirmation to restore."
    )
