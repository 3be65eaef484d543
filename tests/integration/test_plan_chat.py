"""The plan chat against the real database and the fake LLM server: a change set becomes a new
PROPOSED revision (origin chat) checked by the guardrails and compared with the approved one; a
change set that cannot be applied is sent back once with its reasons, then fails with nothing
stored; a free-text answer changes nothing; no model configured."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.coach.plans import Plan
from app.models import LlmCall, PlanRevision
from app.security.keys import SecretBox
from app.services.plans import chat, revisions
from tests.support.coach_llm import TestClock
from tests.support.fake_llm import CHAT, FakeLlm
from tests.support.plans import uniform_plan

START = date(2027, 1, 4)
TODAY = START


@pytest.fixture
def fake(llm_server: FakeLlm) -> FakeLlm:
    """The shared fake LLM server (tests.support.coach_llm)."""
    return llm_server


@pytest.fixture
def box(llm_box: SecretBox) -> SecretBox:
    return llm_box


@pytest.fixture
def clock() -> TestClock:
    return TestClock(datetime(2027, 1, 4, 3, 0, tzinfo=UTC))


@pytest.fixture
def env(llm_env):
    return llm_env


@pytest.fixture
def approved(sessions, owner):
    stored = revisions.import_plan(
        sessions, Plan.model_validate(uniform_plan(["base", "build"], start=START)), today=TODAY
    )
    revisions.approve(sessions, stored.revision_id, today=TODAY)
    return stored


def _revisions(sessions) -> list[PlanRevision]:
    with sessions() as session:
        return list(session.execute(select(PlanRevision).order_by(PlanRevision.id)).scalars())


def _send(sessions, env, box, clock, plan_id, message):
    return chat.chat(sessions, env, box, plan_id, message, clock=clock.clock, today=TODAY)


def test_a_change_set_becomes_a_proposed_revision(sessions, env, box, clock, fake, approved):
    fake.answer(
        {
            "answer": "두 번째 주 수요일 이지 런을 뺐어요.",
            "change_set": {
                "summary": "두 번째 주 수요일 휴식",
                "operations": [{"op": "remove_workout", "workout_id": "w2-wed"}],
            },
        }
    )
    outcome = _send(sessions, env, box, clock, approved.plan_id, "다음 주 수요일은 쉬고 싶어요")
    assert outcome.failure is None
    assert outcome.answer.startswith("두 번째 주")
    assert outcome.revision is not None and outcome.revision.number == 2
    newest = _revisions(sessions)[-1]
    assert newest.state == "PROPOSED" and newest.origin == "chat"
    assert newest.base_revision_id == approved.revision_id
    assert Plan.model_validate(newest.content).workout("w2-wed") is None
    system = fake.calls(CHAT)[0].body["messages"][0]["content"]
    assert '"id":"w2-wed"' in system  # the plan with its ids
    assert "2027-01-04" in system  # today
    with sessions() as session:
        purposes = session.execute(select(LlmCall.purpose)).scalars().all()
    assert purposes == ["plan_change"]


def test_a_change_set_that_cannot_apply_is_sent_back_then_fails(
    sessions, env, box, clock, fake, approved
):
    bad = {
        "answer": "Done.",
        "change_set": {
            "summary": "Remove a workout",
            "operations": [{"op": "remove_workout", "workout_id": "no-such-id"}],
        },
    }
    fake.answer(bad, times=2)
    outcome = _send(sessions, env, box, clock, approved.plan_id, "Drop the ride next week")
    assert outcome.revision is None and outcome.answer is None
    assert outcome.failure
    retry = fake.calls(CHAT)[1].body["messages"]
    assert "no-such-id" in retry[-1]["content"]  # the reason went back to the model
    assert len(_revisions(sessions)) == 1


def test_a_question_changes_nothing(sessions, env, box, clock, fake, approved):
    fake.answer({"answer": "The long run builds endurance.", "change_set": None})
    outcome = _send(sessions, env, box, clock, approved.plan_id, "Why the long run?")
    assert outcome.answer == "The long run builds endurance." and outcome.revision is None
    assert len(_revisions(sessions)) == 1


def test_without_a_model_it_says_how(sessions, settings, box, clock, fake, approved):
    outcome = _send(sessions, settings, box, clock, approved.plan_id, "Move it")
    assert outcome.failure and outcome.answer is None
    assert fake.calls(CHAT) == []
    with pytest.raises(revisions.PlanError):
        _send(sessions, settings, box, clock, 999999, "Move it")
    assert _send(sessions, settings, box, clock, approved.plan_id, "   ").failure


def test_dates_in_the_past_are_refused_by_code(sessions, env, box, clock, fake, approved):
    past = (TODAY - timedelta(days=1)).isoformat()
    fake.answer(
        {
            "answer": "Moved.",
            "change_set": {
                "summary": "Move",
                "operations": [{"op": "move_workout", "workout_id": "w1-wed", "date": past}],
            },
        },
        times=2,
    )
    outcome = _send(sessions, env, box, clock, approved.plan_id, "Move Wednesday's run")
    assert outcome.revision is None and outcome.failure
