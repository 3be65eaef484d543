"""Missions: mission import / list / show / start / back / archive / delete / plan."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from app.cli.base import _settings, cli, needs_schema

mission_cli = typer.Typer(
    help="Missions: a goal event with its season, stages and points.", no_args_is_help=True
)
cli.add_typer(mission_cli, name="mission")


def _sessions():
    from app.db import make_engine, make_session_factory

    engine = make_engine(_settings())
    return engine, make_session_factory(engine)


def _summary_json(summary) -> dict[str, Any]:
    return {
        "id": summary.id,
        "name": summary.name,
        "state": summary.state.value,
        "type": summary.mission.type,
        "prep_start": summary.mission.prep_start.isoformat(),
        "event_start": summary.mission.event_start.isoformat(),
        "event_end": summary.mission.event_end.isoformat(),
        "time_zone": summary.mission.time_zone,
        "countdown": summary.countdown.as_dict(),
    }


@mission_cli.command("import")
@needs_schema
def mission_import(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A mission JSON file."),  # noqa: B008
) -> None:
    """Store a mission from a JSON file (the format of `mission show --json`'s "mission"); it
    waits in preparation until you start it."""
    from app.services import missions

    engine, sessions = _sessions()
    try:
        mission_id = missions.import_mission(sessions, path.read_bytes())
    except missions.MissionInvalid as invalid:
        for problem in invalid.problems:
            where = f"{problem.where}: " if problem.where else ""
            typer.echo(f"{where}{problem.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(f"mission {mission_id} stored (in preparation)")


@mission_cli.command("list")
@needs_schema
def mission_list(
    as_json: bool = typer.Option(False, "--json", help="One JSON array on one line."),
) -> None:
    """Every mission, the active one first."""
    from app.services import missions

    engine, sessions = _sessions()
    try:
        with sessions() as session:
            summaries = missions.list_missions(session, datetime.now(UTC))
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([_summary_json(s) for s in summaries], ensure_ascii=False))
        return
    if not summaries:
        typer.echo("no missions yet: `domestique mission import FILE`")
    for s in summaries:
        typer.echo(
            f"{s.id:>4}  {s.state.value:<16} {s.mission.event_start}…{s.mission.event_end}  "
            f"{s.name}"
        )


@mission_cli.command("show")
@needs_schema
def mission_show(
    mission_id: int = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on one line."),
) -> None:
    """A mission: its document, countdown and every move of its lifecycle."""
    from app.services import missions

    engine, sessions = _sessions()
    try:
        with sessions() as session:
            view = missions.mission_view(session, mission_id, datetime.now(UTC))
    finally:
        engine.dispose()
    if view is None:
        typer.echo(f"no mission {mission_id}", err=True)
        raise typer.Exit(1)
    data = {
        **_summary_json(view.summary),
        "mission": view.mission.model_dump(mode="json"),
        "transitions": [
            {
                "source": t.source.value,
                "target": t.target.value,
                "trigger": t.trigger,
                "due_at": t.due_at.isoformat() if t.due_at else None,
                "at": t.at.isoformat(),
            }
            for t in view.transitions
        ],
    }
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    typer.echo(f"{view.summary.name} — {view.summary.state.value}")
    c = view.summary.countdown
    typer.echo(f"phase {c.phase}, {c.days_to_event} days to the event, {c.stages_total} stages")
    for t in data["transitions"]:
        typer.echo(f"  {t['at']}  {t['source']} → {t['target']} ({t['trigger']})")


def _move(mission_id: int, target: str) -> None:
    from app.coach.missions import MissionState
    from app.services import missions

    engine, sessions = _sessions()
    try:
        done = missions.move(sessions, mission_id, MissionState(target), now_utc=datetime.now(UTC))
    except missions.MissionRefused as refused:
        typer.echo(refused.message, err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"mission {mission_id}: {done.source.value} → {done.target.value}")


@mission_cli.command("start")
@needs_schema
def mission_start(mission_id: int = typer.Argument(...)) -> None:
    """Start training for a mission (one mission is active at a time)."""
    _move(mission_id, "training")


@mission_cli.command("back")
@needs_schema
def mission_back(mission_id: int = typer.Argument(...)) -> None:
    """Take a mission in training back to preparation (before its event starts)."""
    _move(mission_id, "prep")


@mission_cli.command("archive")
@needs_schema
def mission_archive(mission_id: int = typer.Argument(...)) -> None:
    """Archive a completed mission."""
    _move(mission_id, "archived")


@mission_cli.command("delete")
@needs_schema
def mission_delete(mission_id: int = typer.Argument(...)) -> None:
    """Delete a mission still in preparation."""
    from app.services import missions

    engine, sessions = _sessions()
    try:
        missions.delete_mission(sessions, mission_id)
    except missions.MissionRefused as refused:
        typer.echo(refused.message, err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"mission {mission_id} deleted")


@mission_cli.command("plan")
@needs_schema
def mission_plan(
    mission_id: int = typer.Argument(...),
    hours: float = typer.Option(
        None, "--hours", help="Most training hours a week (default: the mission's)."
    ),
    days: str = typer.Option(
        None, "--days", help="Training days, e.g. tue,thu,sat,sun (default: the mission's)."
    ),
    start: str = typer.Option(
        None, "--start", help="The plan's first day, YYYY-MM-DD (default: next Monday)."
    ),
) -> None:
    """Draft a plan for the mission with the coach (the planner's drafting, its guardrails):
    the draft waits for your approval on the Plan page or `domestique plan approve`. Exit code
    1 when the mission cannot seed a plan now or the draft failed (nothing stored; the reason is
    printed), 2 when the questionnaire is invalid."""
    from app import i18n
    from app.security.keys import SecretBox, load_master_key, previous_keys
    from app.services.missions import plan as mission_plan_service
    from app.services.plans import drafting

    changes: dict[str, Any] = {}
    if hours is not None:
        changes["hours_per_week"] = f"{hours:g}"
    if days is not None:
        changes["weekdays"] = tuple(d.strip() for d in days.split(",") if d.strip())
    if start is not None:
        changes["start"] = start
    settings = _settings()
    engine, sessions = _sessions()
    try:
        with i18n.using(locale=settings.default_locale):
            try:
                stored = mission_plan_service.draft_mission_plan(
                    sessions,
                    settings,
                    SecretBox(load_master_key(settings), previous_keys(settings)),
                    mission_id,
                    changes,
                    language=settings.default_locale,
                    progress=lambda done, total: typer.echo(f"drafted {done} of {total}", err=True),
                )
            except mission_plan_service.PlanRefused as refused:
                typer.echo(refused.sentence, err=True)
                raise typer.Exit(1) from None
            except drafting.DraftFormInvalid as invalid:
                for problem in invalid.problems:
                    typer.echo(problem, err=True)
                raise typer.Exit(2) from None
            except drafting.DraftFailed as failed:
                typer.echo(failed.sentence, err=True)
                raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(
        f"plan {stored.plan_id} revision {stored.number} proposed for mission {mission_id} "
        f"({stored.findings} guardrail findings{', blocked' if stored.blocked else ''})"
    )
