"""Drafting a plan with the fake LLM server, mesocycle by mesocycle: six weeks take two calls
(four weeks, then two, the second seeing the first), progress after each, and the plan ends as a
PROPOSED revision (origin llm) checked by the guardrails; an answer with the wrong weeks is sent
back once, then the draft fails and nothing is kept; the questionnaire's form; the work runner's
record and progress."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.coach.llm_schema import draft_from_plan
from app.coach.plan_draft import Questionnaire, mesocycles
from app.coach.plans import Plan
from app.models import PlanRevision, WorkRun
from app.security.keys import SecretBox
from app.services.plans import drafting
from app.services.work.runner import InlineWorkRunner
from tests.support.coach_llm import TestClock
from tests.support.fake_llm import CHAT, FakeLlm
from tests.support.plans import uniform_plan

START = date(2027, 1, 4)


@pytest.fixture
def fake(llm_server: FakeLlm) -> FakeLlm:
    """The shared fake LLM server (tests.support.coach_llm)."""
    return llm_server


@pytest.fixture
def box(llm_box: SecretBox) -> SecretBox:
    return llm_box


@pytest.fixture
def clock() -> TestClock:
    return TestClock(datetime(2027, 1, 1, 3, 0, tzinfo=UTC))


@pytest.fixture
def env(llm_env):
    return llm_env


def questionnaire(weeks: int = 6) -> Questionnaire:
    data = uniform_plan(["base"] * weeks, start=START)
    return Questionnaire.model_validate(
        {
            "title": "Spring 10 k",
            "goal": {"name": "Spring 10 k", "sport": "run"},
            "availability": data["availability"],
            "start": START,
            "weeks": weeks,
        }
    )


def model_weeks(weeks: int = 6) -> list[dict]:
    """What a model would answer: the uniform plan's weeks in the model's schema, new ids."""
    plan = Plan.model_validate(
        uniform_plan(["base", "build", "build", "recovery"] * 2, start=START)
    )
    found = json.loads(draft_from_plan(plan).model_dump_json())["weeks"][:weeks]
    for week in found:
        for workout in week["workouts"]:
            workout["id"] = None
    return found


def test_the_plan_is_split_into_mesocycles():
    assert mesocycles(6) == [(0, 4), (4, 2)]
    assert mesocycles(16) == [(0, 4), (4, 4), (8, 4), (12, 4)]
    assert mesocycles(1) == [(0, 1)]


def test_a_draft_in_two_calls_becomes_a_proposed_revision(sessions, owner, env, box, clock, fake):
    weeks = model_weeks()
    fake.answer({"weeks": weeks[:4]})
    fake.answer({"weeks": weeks[4:]})
    seen: list[tuple[int, int]] = []
    stored = drafting.draft_plan(
        sessions,
        env,
        box,
        questionnaire(),
        language="ko",
        progress=lambda done, total: seen.append((done, total)),
        clock=clock.clock,
    )
    assert seen == [(0, 2), (1, 2), (2, 2)]
    calls = fake.calls(CHAT)
    assert len(calls) == 2
    assert "4 weeks starting 2027-01-04" in calls[0].body["messages"][-1]["content"]
    assert "2 weeks starting 2027-02-01" in calls[1].body["messages"][-1]["content"]
    assert "Weeks drafted so far: none" in calls[0].body["messages"][0]["content"]
    assert "- 2027-01-25 recovery:" in calls[1].body["messages"][0]["content"]
    assert "Korean" in calls[0].body["messages"][0]["content"]
    with sessions() as session:
        revision = session.get(PlanRevision, stored.revision_id)
        plan = Plan.model_validate(revision.content)
        assert revision.state == "PROPOSED" and revision.origin == "llm"
        assert "findings" in revision.report
    assert len(plan.weeks) == 6 and len(plan.workouts) == 36
    assert len({w.id for w in plan.workouts}) == 36


def test_wrong_weeks_are_sent_back_once_then_the_draft_fails(
    sessions, owner, env, box, clock, fake
):
    weeks = model_weeks()
    fake.answer({"weeks": weeks[1:5]}, times=2)  # starts a week late, twice
    with pytest.raises(drafting.DraftFailed) as failed:
        drafting.draft_plan(sessions, env, box, questionnaire(), language="en", clock=clock.clock)
    assert failed.value.sentence
    retry = fake.calls(CHAT)[1].body["messages"][-1]["content"]
    assert "2027-01-04" in retry  # the reason went back
    with sessions() as session:
        assert session.execute(select(PlanRevision)).first() is None


def test_without_a_model_nothing_is_asked(sessions, owner, settings, box, clock, fake):
    with pytest.raises(drafting.DraftFailed):
        drafting.draft_plan(sessions, settings, box, questionnaire(), language="en")
    assert fake.calls(CHAT) == []


def test_the_form_becomes_a_questionnaire():
    form = drafting.DraftForm(
        goal_name="Seoul Marathon",
        sport="run",
        event_type="marathon",
        event_date="2027-03-21",
        weekdays=("tue", "thu", "sat", "sun"),
        hours_per_week="7",
        long_day="sun",
    )
    made = drafting.questionnaire_from(form, today=date(2026, 12, 30))
    assert made.start == START  # next Monday
    assert made.weeks == 11 and made.last_day >= date(2027, 3, 21)
    assert made.title == "Seoul Marathon"
    with pytest.raises(drafting.DraftFormInvalid):
        drafting.questionnaire_from(
            drafting.DraftForm(goal_name="x", weekdays=("mon",), hours_per_week="5"),
            today=date(2026, 12, 30),
        )  # neither an event date nor weeks
    with pytest.raises(drafting.DraftFormInvalid) as invalid:
        drafting.questionnaire_from(
            drafting.DraftForm(goal_name="x", weeks="4", weekdays=(), hours_per_week="5"),
            today=date(2026, 12, 30),
        )
    assert any("weekdays" in problem for problem in invalid.value.problems)


def test_the_work_runner_records_the_draft_and_its_progress(sessions, owner, env, box, clock, fake):
    runner = InlineWorkRunner(sessions, env, box, {})
    weeks = model_weeks(4)
    fake.answer({"weeks": weeks})
    form = drafting.DraftForm(
        goal_name="Base",
        weeks="4",
        weekdays=("tue", "wed", "thu", "fri", "sat", "sun"),
        hours_per_week="9",
        start="2027-01-04",
    )
    drafting.submit_draft(runner, sessions, env, box, form, language="en", clock=clock.clock)
    assert runner.last_plan_draft["status"] == "done"
    assert (runner.last_plan_draft["done"], runner.last_plan_draft["total"]) == (1, 1)
    with sessions() as session:
        run = session.execute(select(WorkRun).where(WorkRun.kind == "plan")).scalar_one()
        assert run.status == "done"
        assert run.result["revision_id"] == runner.last_plan_draft["revision_id"]
