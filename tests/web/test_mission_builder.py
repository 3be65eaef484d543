"""The mission builder: the wizard's answers checked, the coach's draft (fake LLM server) stored
in preparation with the owner's answers winning, an answer that stays invalid storing nothing,
no model configured — on the Missions page, in English and Korean."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import LlmCall, MissionRow
from tests.support.fake_llm import CHAT, FakeLlm
from tests.unit.coach.test_mission_draft import TOUR_END, draft_data

EN = {"Accept-Language": "en"}


@pytest.fixture
def fake(llm_server: FakeLlm) -> FakeLlm:
    """The shared fake LLM server (tests.support.coach_llm)."""
    return llm_server


ANSWERS = {
    "event_name": "Virtual Tour 2027",
    "event_start": "2027-07-03",
    "event_end": TOUR_END.isoformat(),
    "type": "road_stage_race",
    "time_zone": "Asia/Seoul",
    "weekly_hours_min": "6",
    "weekly_hours_max": "10",
    "training_days": ["tue", "wed", "thu", "sat", "sun"],
    "ftp_w": "250",
    "style": "breakaway",
    "min_readiness": "65",
}


def _missions(sessions) -> list[MissionRow]:
    with sessions() as session:
        return list(session.scalars(select(MissionRow)))


def test_the_coach_drafts_a_mission_that_waits_in_preparation(
    signed_in, sessions, fake, with_model
):
    fake.answer({**draft_data(), "goal": "모든 스테이지 완주"})
    response = signed_in.post("/missions/draft", data=ANSWERS, follow_redirects=False)
    assert response.status_code == 303
    [row] = _missions(sessions)
    assert (row.name, row.state, row.origin) == ("Virtual Tour 2027", "prep", "llm")
    assert row.document["event_start"] == "2027-07-03" and len(row.document["stages"]) == 23
    assert row.document["constraints"]["min_readiness"] == 65  # the owner's wins
    page = signed_in.get("/missions", headers=EN).text
    assert 'data-testid="mission-draft-done"' in page
    system = fake.calls(CHAT)[0].body["messages"][0]["content"]
    assert "Keep the event's name, type and dates exactly" in system
    with sessions() as session:
        assert session.scalars(select(LlmCall.purpose)).all() == ["mission_draft"]


def test_a_draft_that_stays_invalid_stores_nothing_and_says_why(
    signed_in, sessions, fake, with_model
):
    moved = {**draft_data(), "event_start": "2027-07-10"}  # the model moved the event
    fake.answer(moved, times=2)
    signed_in.post("/missions/draft", data=ANSWERS)
    assert _missions(sessions) == []
    assert len(fake.calls(CHAT)) == 2
    page = signed_in.get("/missions", headers={"Accept-Language": "ko"}).text
    assert 'data-testid="mission-draft-failed"' in page


def test_answers_that_cannot_be_are_refused_before_any_call(signed_in, sessions, fake, with_model):
    past = {**ANSWERS, "event_start": "2020-01-01", "event_end": "2020-01-03"}
    response = signed_in.post("/missions/draft", data=past, headers=EN)
    assert response.status_code == 422 and 'data-testid="wizard-problems"' in response.text
    bad_hours = {**ANSWERS, "weekly_hours_min": "12", "weekly_hours_max": "6"}
    assert signed_in.post("/missions/draft", data=bad_hours).status_code == 422
    assert fake.calls(CHAT) == [] and _missions(sessions) == []


def test_without_a_model_the_page_says_how(signed_in, sessions, fake):
    signed_in.post("/missions/draft", data=ANSWERS)
    page = signed_in.get("/missions", headers=EN).text
    assert 'data-testid="mission-draft-failed"' in page
    assert fake.calls(CHAT) == [] and _missions(sessions) == []


def test_the_wizard_is_prefilled_from_the_owners_data(signed_in, owner):
    page = signed_in.get("/missions", headers=EN).text
    assert f'name="time_zone" value="{owner.timezone}"' in page
