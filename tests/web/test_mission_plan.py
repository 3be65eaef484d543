"""A mission seeds a plan through the planner: the mission's page offers the questionnaire
filled from the mission (event → goal, the builder's hours and days, its constraints), the
coach drafts it with the fake LLM server, the draft is a PROPOSED revision of a plan that
records the mission, and the page links to it; a draft that stays malformed stores nothing and
says why; a mission past its training cannot seed one — in English and Korean."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from app.coach.missions import Mission
from app.models import MissionRow, PlanRevision, TrainingPlan
from app.services.missions import plan as mission_plan
from tests.integration.test_plan_drafting import START, model_weeks
from tests.support.fake_llm import CHAT, FakeLlm

EN = {"Accept-Language": "en"}
KO = {"Accept-Language": "ko"}
DAYS = ["tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture
def fake(llm_server: FakeLlm) -> FakeLlm:
    return llm_server


def fondo(**changes) -> Mission:
    data = {
        "name": "Winter Fondo",
        "type": "gran_fondo",
        "prep_start": date(2026, 11, 2),
        "event_start": date(2027, 1, 23),
        "event_end": date(2027, 1, 23),
        "time_zone": "Asia/Seoul",
        "goal": "Finish strong.",
        "constraints": {"min_readiness": 60, "max_hard_days_per_week": 2},
        "weekly_hours_min": 6,
        "weekly_hours_max": 9,
        "training_days": DAYS,
    }
    data.update(changes)
    return Mission.model_validate(data)


def _import(client, mission: Mission, *, start: bool = True) -> str:
    response = client.post(
        "/missions/import",
        files={"file": ("m.json", mission.model_dump_json().encode(), "application/json")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    if start:
        assert client.post(f"{location}/move", data={"target": "training"}).status_code == 303
    return location


def _draft(client, location: str, headers=EN):
    return client.post(
        f"{location}/plan",
        data={"start": START.isoformat(), "weekdays": DAYS, "hours_per_week": "9"},
        headers=headers,
        follow_redirects=False,
    )


def _plans(sessions) -> list[TrainingPlan]:
    with sessions() as session:
        return list(session.scalars(select(TrainingPlan)))


def test_the_mission_page_offers_the_questionnaire_filled_from_the_mission(signed_in, with_model):
    location = _import(signed_in, fondo())
    page = signed_in.get(location, headers=EN).text
    form = page[page.index('data-testid="mission-plan-form"') :]
    assert 'name="hours_per_week" min="1" max="40" step="0.5" inputmode="decimal" value="9"' in form
    assert 'value="mon">' in form and 'value="tue" checked>' in form
    assert "Train 6 to 9 hours a week." in form
    assert "No hard day below readiness 60." in form and "At most 2 hard days a week." in form
    assert "Finish strong." in form


def test_the_draft_becomes_a_proposed_revision_of_the_missions_plan(
    signed_in, sessions, fake, with_model
):
    location = _import(signed_in, fondo())
    mission_id = int(location.rsplit("/", 1)[1])
    fake.answer({"weeks": model_weeks(3)})
    response = _draft(signed_in, location)
    assert response.status_code == 303, response.text
    [plan] = _plans(sessions)
    assert plan.mission_id == mission_id
    with sessions() as session:
        [revision] = session.scalars(select(PlanRevision))
        assert (revision.state, revision.origin) == ("PROPOSED", "llm")
        assert revision.content["goal"]["event_date"] == "2027-01-23"
        assert revision.content["goal"]["event_type"] == "gran_fondo"
        assert revision.content["goal"]["sport"] == "ride"
        assert revision.content["availability"]["weekdays"] == DAYS
    [call] = fake.calls(CHAT)
    system = call.body["messages"][0]["content"]
    assert "Winter Fondo" in system and "No hard day below readiness 60." in system
    assert "3 weeks starting 2027-01-04" in call.body["messages"][-1]["content"]

    page = signed_in.get(location, headers=EN).text
    assert 'data-testid="draft-done"' in page
    link = re.search(r'data-testid="mission-plan-link"><a href="([^"]+)">Winter Fondo</a>', page)
    assert link and link.group(1) == "/plan#proposed"
    assert 'data-testid="mission-plan-refusal"' in page  # one proposal at a time
    again = _draft(signed_in, location, headers=KO)
    assert again.status_code == 409
    assert "승인" in re.search(r'data-testid="mission-error">([^<]+)<', again.text).group(1)
    assert len(fake.calls(CHAT)) == 1
    other = _import(signed_in, fondo(name="Spring Fondo"), start=False)
    assert 'data-testid="draft-status"' not in signed_in.get(other, headers=EN).text


def test_an_approved_plan_is_replaced_by_a_new_revision_of_it(
    signed_in, sessions, fake, with_model
):
    location = _import(signed_in, fondo())
    fake.answer({"weeks": model_weeks(3)}, times=2)
    _draft(signed_in, location)
    with sessions() as session:
        revision_id = session.scalars(select(PlanRevision.id)).one()
    from app.services.plans import revisions

    revisions.approve(sessions, revision_id, accept_blocks=True)
    assert _draft(signed_in, location).status_code == 303
    [plan] = _plans(sessions)
    with sessions() as session:
        states = session.scalars(
            select(PlanRevision.state)
            .where(PlanRevision.plan_id == plan.id)
            .order_by(PlanRevision.number)
        ).all()
    assert states == ["APPROVED", "PROPOSED"]


def test_a_malformed_draft_stores_nothing_and_says_why_in_korean(
    signed_in, sessions, fake, with_model
):
    location = _import(signed_in, fondo())
    fake.answer({"weeks": model_weeks(4)[1:4]}, times=2)  # starts a week late, twice
    assert _draft(signed_in, location, headers=KO).status_code == 303
    assert len(fake.calls(CHAT)) == 2
    assert _plans(sessions) == []
    page = signed_in.get(location, headers=KO).text
    failed = re.search(r'data-testid="draft-failed">([^<]+)<', page).group(1)
    assert "초안" in failed
    assert 'data-testid="mission-plan-form"' in page  # the owner can try again


def test_only_a_mission_in_preparation_or_training_seeds_a_plan(signed_in, sessions, fake):
    location = _import(signed_in, fondo(), start=False)
    mission_id = int(location.rsplit("/", 1)[1])
    with sessions.begin() as session:
        session.get(MissionRow, mission_id).state = "archived"
    page = signed_in.get(location, headers=EN).text
    assert "Only a mission in preparation or training can seed a plan." in page
    refused = _draft(signed_in, location)
    assert refused.status_code == 409
    assert fake.calls(CHAT) == []
    with pytest.raises(mission_plan.PlanRefused):
        mission_plan.questionnaire_for(sessions, mission_id + 1000)
    assert signed_in.post("/missions/999999/plan", data={}).status_code == 404


def test_a_hostile_origin_cannot_draft_a_plan(signed_in, sessions, fake, with_model):
    location = _import(signed_in, fondo())
    response = signed_in.post(
        f"{location}/plan", data={"hours_per_week": "9"}, headers={"Origin": "http://evil.example"}
    )
    assert response.status_code == 403
    assert fake.calls(CHAT) == []
