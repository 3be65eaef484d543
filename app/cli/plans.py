"""Training plans: plan check / import / list / show / approve / reject / export / example.

Ids: ``plan show`` takes a plan's id; ``approve``, ``reject`` and ``export`` take a revision's
id (``plan list`` shows both)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from app.cli.base import _settings, cli, needs_schema

plan_cli = typer.Typer(
    help="Training plans: check a plan file, import it, approve a revision, export it.",
    no_args_is_help=True,
)
cli.add_typer(plan_cli, name="plan")

EXIT_INVALID = 2


def _sessions(settings):
    from app.db import make_engine, make_session_factory

    engine = make_engine(settings)
    return engine, make_session_factory(engine)


def _read(file: Path):
    """The plan in ``file``, or the problems on stderr and exit code 2."""
    from app.services.plans.revisions import PlanInvalid, parse_plan

    try:
        return parse_plan(file.read_bytes())
    except OSError as error:
        typer.echo(f"{file}: {error.strerror or error}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    except PlanInvalid as invalid:
        for problem in invalid.problems:
            where = f"{problem['where']}: " if problem["where"] else ""
            typer.echo(f"{file}: {where}{problem['message']}", err=True)
        raise typer.Exit(EXIT_INVALID) from None


def _fail(error) -> None:
    from app.services.plans.revisions import error_sentence

    typer.echo(error_sentence(error.code, **error.params), err=True)
    raise typer.Exit(1)


def _locale():
    from app import i18n

    return i18n.using(locale=_settings().default_locale)


FILE_ARGUMENT = typer.Argument(..., help="A plan in Domestique's JSON format.")


@plan_cli.command("check")
@needs_schema
def plan_check(
    file: Path = FILE_ARGUMENT,
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Run the guardrails on a plan file against your data and print every finding; nothing is
    stored. Exit code 0: fine or only adjusted, 1: blocked, 2: not a valid plan."""
    from app.services.plans.revisions import check, finding_sentences

    with _locale():
        plan = _read(file)
        engine, sessions = _sessions(_settings())
        try:
            checked = check(sessions, plan)
        finally:
            engine.dispose()
        report = checked.report_json()
        findings = finding_sentences(report)
        if as_json:
            report["findings"] = findings
            typer.echo(json.dumps(report, ensure_ascii=False))
        else:
            for finding in findings:
                typer.echo(f"[{finding['severity']}] {finding['rule']}: {finding['sentence']}")
            typer.echo(
                f"{len(findings)} findings; " + ("blocked" if checked.blocked else "not blocked"),
                err=True,
            )
    raise typer.Exit(checked.exit_code)


@plan_cli.command("import")
@needs_schema
def plan_import(
    file: Path = FILE_ARGUMENT,
    plan_id: int = typer.Option(
        None, "--plan", help="Add the file as a new revision of this plan (default: a new plan)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Check a plan file and keep it as a PROPOSED revision with its report; `plan approve`
    puts it on the calendar."""
    from app.services.plans.revisions import PlanError, import_plan

    with _locale():
        plan = _read(file)
        engine, sessions = _sessions(_settings())
        try:
            stored = import_plan(sessions, plan, plan_id=plan_id)
        except PlanError as error:
            _fail(error)
        finally:
            engine.dispose()
    if as_json:
        typer.echo(json.dumps(stored.__dict__))
        return
    typer.echo(
        f"plan {stored.plan_id}, revision {stored.revision_id} (#{stored.number}) PROPOSED: "
        f"{stored.findings} findings" + (", blocked" if stored.blocked else "")
    )


@plan_cli.command("list")
@needs_schema
def plan_list(as_json: bool = typer.Option(False, "--json", help="One JSON array.")) -> None:
    """Plans with their revisions (ids, states) and the approved workouts on the calendar."""
    from app.services.plans.views import list_plans

    engine, sessions = _sessions(_settings())
    try:
        plans = list_plans(sessions)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(plans, ensure_ascii=False))
        return
    for plan in plans:
        typer.echo(f"plan {plan['id']}: {plan['title']} ({plan['goal']})")
        for r in plan["revisions"]:
            typer.echo(
                f"  revision {r['id']} #{r['number']} {r['state']} {r['origin']} "
                f"adjust {r['adjustments']} block {r['blocks']} report {r['reports']}"
            )
        typer.echo(f"  {len(plan['workouts'])} workouts on the calendar")


@plan_cli.command("show")
@needs_schema
def plan_show(
    plan_id: int = typer.Argument(..., help="The plan's id (`plan list`)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """One plan: its revisions with every finding, and the workouts on the calendar."""
    from app.services.plans.revisions import PlanError
    from app.services.plans.views import show_plan

    engine, sessions = _sessions(_settings())
    with _locale():
        try:
            plan = show_plan(sessions, plan_id)
        except PlanError as error:
            _fail(error)
        finally:
            engine.dispose()
    if as_json:
        typer.echo(json.dumps(plan, ensure_ascii=False))
        return
    typer.echo(f"plan {plan['id']}: {plan['title']} ({plan['goal']})")
    for r in plan["revisions"]:
        typer.echo(f"revision {r['id']} #{r['number']} {r['state']} ({r['origin']})")
        for f in r["findings"]:
            typer.echo(f"  [{f['severity']}] {f['sentence']}")
    for w in plan["workouts"]:
        typer.echo(f"{w['date']} {w['sport']:8} {w['state']:8} {w['workout_id']}: {w['name']}")


@plan_cli.command("approve")
@needs_schema
def plan_approve(
    revision_id: int = typer.Argument(..., help="The revision's id (`plan list`)."),
    accept_blocks: bool = typer.Option(
        False, "--accept-blocks", help="Approve even though the plan check blocked it."
    ),
) -> None:
    """Approve a PROPOSED revision: it goes on the calendar and the plan's previous approved
    revision is superseded (workouts keep their states)."""
    from app.services.plans.revisions import PlanError, approve

    engine, sessions = _sessions(_settings())
    with _locale():
        try:
            stored = approve(sessions, revision_id, accept_blocks=accept_blocks)
        except PlanError as error:
            _fail(error)
        finally:
            engine.dispose()
    typer.echo(f"revision {stored.revision_id} of plan {stored.plan_id} APPROVED")


@plan_cli.command("reject")
@needs_schema
def plan_reject(
    revision_id: int = typer.Argument(..., help="The revision's id (`plan list`)."),
) -> None:
    """Reject a PROPOSED revision (kept, REJECTED; the calendar does not change)."""
    from app.services.plans.revisions import PlanError, reject

    engine, sessions = _sessions(_settings())
    with _locale():
        try:
            stored = reject(sessions, revision_id)
        except PlanError as error:
            _fail(error)
        finally:
            engine.dispose()
    typer.echo(f"revision {stored.revision_id} of plan {stored.plan_id} REJECTED")


@plan_cli.command("export")
@needs_schema
def plan_export(
    revision_id: int = typer.Argument(..., help="The revision's id (`plan list`)."),
    markdown: bool = typer.Option(
        False, "--markdown", help="A Markdown summary with your context, to paste into a chat."
    ),
) -> None:
    """Print a revision as JSON in the plan format (or a Markdown summary)."""
    from app.services.plans.revisions import PlanError
    from app.services.plans.views import export_json, export_markdown, revision_plan

    engine, sessions = _sessions(_settings())
    with _locale():
        try:
            if markdown:
                typer.echo(export_markdown(sessions, revision_id), nl=False)
            else:
                typer.echo(export_json(revision_plan(sessions, revision_id)[1]), nl=False)
        except PlanError as error:
            _fail(error)
        finally:
            engine.dispose()


@plan_cli.command("example")
def plan_example() -> None:
    """Print a valid example plan (runs, rides and a swim with every kind of step and target)
    starting next Monday, to start from; `plan check` and `plan import` read it."""
    from datetime import date, timedelta

    from app.coach.example import plan_example as example
    from app.services.plans.views import export_json

    today = date.today()
    typer.echo(export_json(example(today + timedelta(days=7 - today.weekday()))), nl=False)


workout_cli = typer.Typer(
    help="Approved workouts for any device: the FIT workout file.", no_args_is_help=True
)
cli.add_typer(workout_cli, name="workout")


@workout_cli.command("fit")
@needs_schema
def workout_fit(
    workout_id: str = typer.Argument(..., help="The workout's id (plan show lists them)."),
    out: Path = typer.Argument(..., dir_okay=False, help="Where to write the .fit file."),  # noqa: B008
) -> None:
    """Write an approved workout as a FIT workout file (copy it to a watch's GARMIN/NewFiles
    folder over USB, or open it in Wahoo's, Coros' or Hammerhead's app). Exit code 1 when no
    approved workout has that id."""
    from app.db import make_engine, make_session_factory
    from app.services.plans import devices

    engine = make_engine(_settings())
    try:
        found = devices.workout_file(make_session_factory(engine), workout_id)
    finally:
        engine.dispose()
    if found is None:
        typer.echo(f"no approved workout {workout_id}", err=True)
        raise typer.Exit(1)
    out.write_bytes(found.data)
    typer.echo(f"wrote {out} ({len(found.data):,} bytes)")
