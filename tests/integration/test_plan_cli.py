"""``domestique plan`` on real files and a new database: check's exit codes (0 fine or only
adjusted, 1 blocked, 2 not a plan), example → import → list → approve → show → export."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.coach.plans import Plan
from app.config import get_settings
from tests.support.plans import uniform_plan


@pytest.fixture
def cli_env(monkeypatch, pg_cluster, tmp_path):
    url = pg_cluster.create_database("domestique_plan_cli")
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", url)
    monkeypatch.setenv("DOMESTIQUE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOMESTIQUE_DEFAULT_LOCALE", "en")
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _future_monday() -> date:
    today = date.today()
    return today + timedelta(days=7 - today.weekday())


def _write(tmp_path, name: str, data) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_check_exit_codes(cli_env, tmp_path):
    runner = CliRunner()
    easy = uniform_plan(["base"], start=_future_monday())
    easy["workouts"] = easy["workouts"][1:3]  # an easy run and a ride: nothing to change
    fine = runner.invoke(cli, ["plan", "check", _write(tmp_path, "fine.json", easy), "--json"])
    assert fine.exit_code == 0, fine.output
    assert json.loads(fine.stdout)["blocked"] is False

    heavy = uniform_plan(["build"] * 2, start=_future_monday(), hours_per_week=2.0)
    blocked = runner.invoke(cli, ["plan", "check", _write(tmp_path, "heavy.json", heavy)])
    assert blocked.exit_code == 1, blocked.output
    assert "[block] weekly_hours:" in blocked.stdout

    for name, text in (("broken.json", "{not json"), ("partial.json", '{"title": "x"}')):
        invalid = runner.invoke(cli, ["plan", "check", _write(tmp_path, name, text)])
        assert invalid.exit_code == 2, invalid.output
        assert name in invalid.stderr
    missing = runner.invoke(cli, ["plan", "check", str(tmp_path / "nowhere.json")])
    assert missing.exit_code == 2


def test_example_import_approve_show_export(cli_env, tmp_path):
    runner = CliRunner()
    example = runner.invoke(cli, ["plan", "example"])
    assert example.exit_code == 0
    plan = Plan.model_validate_json(example.stdout)
    assert plan.first_day == _future_monday()
    path = _write(tmp_path, "example.json", example.stdout)

    imported = runner.invoke(cli, ["plan", "import", path, "--json"])
    assert imported.exit_code == 0, imported.output
    stored = json.loads(imported.stdout)
    listed = json.loads(runner.invoke(cli, ["plan", "list", "--json"]).stdout)
    assert [r["state"] for r in listed[0]["revisions"]] == ["PROPOSED"]
    assert listed[0]["workouts"] == []

    command = ["plan", "approve", str(stored["revision_id"])]
    if stored["blocked"]:
        refused = runner.invoke(cli, command)
        assert refused.exit_code == 1 and "blocked" in refused.stderr
        command.append("--accept-blocks")
    approved = runner.invoke(cli, command)
    assert approved.exit_code == 0, approved.output

    shown = json.loads(
        runner.invoke(cli, ["plan", "show", str(stored["plan_id"]), "--json"]).stdout
    )
    assert shown["revisions"][0]["state"] == "APPROVED"
    assert {w["workout_id"] for w in shown["workouts"]} <= {w.id for w in plan.workouts}
    assert all(w["state"] == "PLANNED" for w in shown["workouts"])

    exported = runner.invoke(cli, ["plan", "export", str(stored["revision_id"])])
    assert exported.exit_code == 0
    assert Plan.model_validate_json(exported.stdout).title == plan.title
    markdown = runner.invoke(cli, ["plan", "export", str(stored["revision_id"]), "--markdown"])
    assert markdown.stdout.startswith(f"## {plan.title}")

    again = runner.invoke(cli, ["plan", "approve", str(stored["revision_id"])])
    assert again.exit_code == 1 and "APPROVED" in again.stderr
    unknown = runner.invoke(cli, ["plan", "show", "999999"])
    assert unknown.exit_code == 1 and "no such plan" in unknown.stderr

    first = plan.workouts[0]
    fit_path = tmp_path / "workout.fit"
    wrote = runner.invoke(cli, ["workout", "fit", first.id, str(fit_path)])
    assert wrote.exit_code == 0, wrote.output
    assert fit_path.read_bytes()[8:12] == b".FIT"
    missing = runner.invoke(cli, ["workout", "fit", "no-such-id", str(tmp_path / "x.fit")])
    assert missing.exit_code == 1 and not (tmp_path / "x.fit").exists()
