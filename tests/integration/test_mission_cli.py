"""``domestique mission import/list/show/start/back/archive/delete`` on a new database."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from tests.support.missions import tour_mission


@pytest.fixture
def cli_env(monkeypatch, pg_cluster, tmp_path):
    url = pg_cluster.create_database("domestique_mission_cli")
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", url)
    monkeypatch.setenv("DOMESTIQUE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_import_list_start_back_and_delete(cli_env, tmp_path):
    runner = CliRunner()
    path = tmp_path / "tour.json"
    path.write_text(tour_mission().model_dump_json())
    stored = runner.invoke(cli, ["mission", "import", str(path)])
    assert stored.exit_code == 0, stored.output
    listed = json.loads(runner.invoke(cli, ["mission", "list", "--json"]).stdout)
    assert [(m["name"], m["state"]) for m in listed] == [("Virtual Tour 2027", "prep")]
    mission_id = listed[0]["id"]
    assert listed[0]["countdown"]["stages_total"] == 21

    started = runner.invoke(cli, ["mission", "start", str(mission_id)])
    assert started.exit_code == 0, started.output
    again = runner.invoke(cli, ["mission", "start", str(mission_id)])
    assert again.exit_code == 1
    assert "already" in again.stderr

    shown = json.loads(runner.invoke(cli, ["mission", "show", str(mission_id), "--json"]).stdout)
    assert shown["state"] == "training"
    assert shown["mission"]["stages"][0]["number"] == 1
    assert [(t["source"], t["target"], t["trigger"]) for t in shown["transitions"]] == [
        ("prep", "training", "owner")
    ]

    refused = runner.invoke(cli, ["mission", "delete", str(mission_id)])
    assert refused.exit_code == 1
    assert runner.invoke(cli, ["mission", "back", str(mission_id)]).exit_code == 0
    assert runner.invoke(cli, ["mission", "delete", str(mission_id)]).exit_code == 0
    assert json.loads(runner.invoke(cli, ["mission", "list", "--json"]).stdout) == []


def test_an_invalid_file_lists_every_problem_and_exits_2(cli_env, tmp_path):
    data = json.loads(tour_mission().model_dump_json())
    data["prep_start"] = "2027-08-01"  # after the event
    data["stages"][1]["date"] = "2027-12-24"  # outside the event
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    result = CliRunner().invoke(cli, ["mission", "import", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("prep_start:") for line in lines)
    assert any(line.startswith("stages.1") for line in lines)


def test_mission_plan_drafts_the_missions_plan_and_refuses_a_second(cli_env, tmp_path, monkeypatch):
    """``domestique mission plan ID``: the planner's draft from the mission (fake LLM server),
    a PROPOSED revision of a plan that records the mission; a second while it waits is refused
    with the sentence in the owner's language; without a model nothing is stored."""
    from sqlalchemy import create_engine, text

    from tests.integration.test_plan_drafting import START, model_weeks
    from tests.support.coach_llm import KEY, MODEL
    from tests.support.fake_llm import CHAT, FakeLlm
    from tests.web.test_mission_plan import fondo

    runner = CliRunner()
    path = tmp_path / "fondo.json"
    path.write_text(fondo().model_dump_json())
    assert runner.invoke(cli, ["mission", "import", str(path)]).exit_code == 0
    mission_id = json.loads(runner.invoke(cli, ["mission", "list", "--json"]).stdout)[0]["id"]
    args = ["mission", "plan", str(mission_id), "--start", START.isoformat(), "--hours", "8"]

    offline = runner.invoke(cli, args)
    assert offline.exit_code == 1 and offline.stderr.strip()

    server = FakeLlm(api_key=KEY).start()
    try:
        monkeypatch.setenv("DOMESTIQUE_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("DOMESTIQUE_LLM_MODEL", MODEL)
        monkeypatch.setenv("DOMESTIQUE_LLM_API_KEY", KEY)
        monkeypatch.setenv("DOMESTIQUE_DEFAULT_LOCALE", "ko")
        get_settings.cache_clear()
        server.answer({"weeks": model_weeks(3)})
        drafted = runner.invoke(cli, args)
        assert drafted.exit_code == 0, drafted.output
        assert f"proposed for mission {mission_id}" in drafted.stdout
        assert '"hours_per_week":8.0' in server.calls(CHAT)[0].body["messages"][0]["content"]
        again = runner.invoke(cli, args)
        assert again.exit_code == 1 and "승인" in again.stderr
        assert len(server.calls(CHAT)) == 1
    finally:
        server.stop()
    engine = create_engine(cli_env)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT p.mission_id, r.state FROM plan p "
                    "JOIN plan_revision r ON r.plan_id = p.id"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [(mission_id, "PROPOSED")]
