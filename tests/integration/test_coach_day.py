"""The daily coach against the real database and the fake LLM server: a decision stored with
the model's proposal; a push on a low-readiness day overruled with the reason; an answer that
stays invalid gives no decision and a sentence; no model configured; what reaches the model."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.coach.missions import MissionState
from app.coach.plans import Plan
from app.models import CoachDay, DailyWellness, LlmCall
from app.security.keys import SecretBox
from app.services import missions
from app.services.coach import day as coach_day
from app.services.plans import revisions
from tests.support.coach_llm import KEY, MODEL, TestClock
from tests.support.fake_llm import CHAT, FakeLlm
from tests.support.missions import tour_mission
from tests.support.plans import uniform_plan

START = date(2027, 1, 4)
TUESDAY = date(2027, 1, 5)  # the week's key intervals


@pytest.fixture
def fake(llm_server: FakeLlm) -> FakeLlm:
    """The shared fake LLM server (tests.support.coach_llm)."""
    return llm_server


@pytest.fixture
def box(llm_box: SecretBox) -> SecretBox:
    return llm_box


@pytest.fixture
def clock() -> TestClock:
    return TestClock(datetime(2027, 1, 4, 21, 0, tzinfo=UTC))  # Tuesday 06:00 in Seoul


@pytest.fixture
def env(llm_env):
    return llm_env


@pytest.fixture
def followed(sessions, owner):
    stored = revisions.import_plan(
        sessions, Plan.model_validate(uniform_plan(["build"], start=START)), today=START
    )
    revisions.approve(sessions, stored.revision_id, accept_blocks=True, today=START)
    mission_id = missions.import_mission(
        sessions, tour_mission(prep_start=date(2026, 12, 1)).model_dump(mode="json")
    )
    missions.move(
        sessions, mission_id, MissionState.TRAINING, now_utc=datetime(2027, 1, 1, tzinfo=UTC)
    )
    return mission_id


PUSH = {
    "action": "push",
    "reason": "Fresh legs: make the intervals harder today.",
    "intensity": "high",
    "flags": ["fresh"],
    "confidence": 0.8,
    "workout": None,
    "ride_mode": None,
    "mode_rationale": None,
    "strategic_notes": None,
}


def _run(sessions, env, box, clock):
    return coach_day.run_day(sessions, env, box, today=TUESDAY, clock=clock.clock)


def test_a_decision_is_stored_with_the_mission_and_what_the_model_saw(
    sessions, env, box, clock, fake, followed
):
    fake.answer({**PUSH, "action": "maintain", "intensity": "moderate"})
    view = _run(sessions, env, box, clock)
    assert view.status == "decided"
    assert view.decision.action == "maintain"
    assert view.mission_name == "Virtual Tour 2027" and view.phase == "base"
    request = fake.calls(CHAT)[0].body["messages"]
    today = request[1]["content"]
    assert '"today": "2027-01-05"' in today and "w1-tue" in today  # the planned workout
    assert '"phase": "base"' in today
    with sessions() as session:
        assert session.execute(select(LlmCall.purpose)).scalars().all() == ["daily_decision"]
        stored = session.get(CoachDay, TUESDAY)
        assert stored.snapshot_sha256 and stored.prompt_tokens > 0
    # A second run replaces the day's decision.
    fake.answer({**PUSH, "action": "ease", "intensity": "low"})
    assert _run(sessions, env, box, clock).decision.action == "ease"


def test_a_push_on_a_low_readiness_day_is_overruled_with_the_reason(
    sessions, env, box, clock, fake, followed
):
    with sessions.begin() as session:
        session.add(DailyWellness(day=TUESDAY, training_readiness=35))
    fake.answer(PUSH)
    view = _run(sessions, env, box, clock)
    assert view.proposed.action == "push"
    assert view.decision.action == "rest"
    assert view.findings and all(f["text"] for f in view.findings)
    assert any("readiness" in f["code"] for f in view.findings)


def test_an_answer_that_stays_invalid_gives_no_decision_and_a_sentence(
    sessions, env, box, clock, fake, followed
):
    wrong_day = {
        **PUSH,
        "action": "maintain",
        "workout": {
            "id": "w1-tue",
            "date": "2027-01-09",
            "sport": "run",
            "name": "Intervals",
            "purpose": "",
            "key": True,
            "race": False,
            "blocks": [],
            "notes": None,
        },
    }
    fake.answer(wrong_day, times=2)
    view = _run(sessions, env, box, clock)
    assert view.status == "failed" and view.decision is None
    assert view.failure
    assert len(fake.calls(CHAT)) == 2  # one re-ask, then nothing made up


def test_without_a_model_the_day_says_how_to_set_one_up(
    sessions, settings, box, clock, fake, followed
):
    view = coach_day.run_day(sessions, settings, box, today=TUESDAY, clock=clock.clock)
    assert view.status == "failed" and view.failure
    assert fake.calls(CHAT) == []


def test_the_command_line_asks_for_the_day(sessions, env, fake, followed, monkeypatch, pg_cluster):
    """``domestique coach day --json`` on the test's database (the CLI reads the environment)."""
    from typer.testing import CliRunner

    from app.cli import cli
    from app.config import get_settings

    url = pg_cluster.create_database("domestique_coach_day_cli")
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", url)
    monkeypatch.setenv("DOMESTIQUE_DATA_DIR", str(env.data_dir))
    monkeypatch.setenv("DOMESTIQUE_LLM_BASE_URL", fake.base_url)
    monkeypatch.setenv("DOMESTIQUE_LLM_MODEL", MODEL)
    monkeypatch.setenv("DOMESTIQUE_LLM_API_KEY", KEY)
    get_settings.cache_clear()
    try:
        fake.answer({**PUSH, "action": "rest", "intensity": "low", "reason": "쉬는 날입니다."})
        result = CliRunner().invoke(cli, ["coach", "day", "--date", "2027-01-05", "--json"])
        assert result.exit_code == 0, result.output
        assert '"action": "rest"' in result.stdout
        monkeypatch.delenv("DOMESTIQUE_LLM_MODEL")
        get_settings.cache_clear()
        no_model = CliRunner().invoke(cli, ["coach", "day", "--date", "2027-01-06"])
        assert no_model.exit_code == 1 and no_model.stderr.strip()
    finally:
        get_settings.cache_clear()


def test_an_eased_session_becomes_a_plan_proposal_not_a_change(
    sessions, env, box, clock, fake, followed
):
    from app.coach.llm_schema import llm_workout
    from app.coach.plans import PlannedWorkout
    from app.models import PlannedWorkout as PlannedWorkoutRow
    from app.models import PlanRevision
    from tests.support.plans import easy_run, workout

    easier = PlannedWorkout.model_validate(
        workout("w1-tue", TUESDAY, "run", "Easy run instead", easy_run(40))
    )
    fake.answer(
        {
            **PUSH,
            "action": "ease",
            "intensity": "low",
            "reason": "Legs are heavy: an easy run today.",
            "workout": llm_workout(easier).model_dump(mode="json"),
        }
    )
    view = _run(sessions, env, box, clock)
    assert view.decision.workout is not None and view.decision.workout.name == "Easy run instead"
    with sessions() as session:
        proposed = session.scalars(
            select(PlanRevision).where(PlanRevision.state == "PROPOSED")
        ).all()
        calendar_name = session.execute(
            select(PlannedWorkoutRow.name).where(PlannedWorkoutRow.workout_id == "w1-tue")
        ).scalar_one()
    assert [r.origin for r in proposed] == ["adaptation"]
    assert Plan.model_validate(proposed[0].content).workout("w1-tue").name == "Easy run instead"
    assert calendar_name != "Easy run instead"  # nothing changed before approval
