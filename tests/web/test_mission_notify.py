"""How to be told: the mission builder asks (the dashboard only, or an e-mail morning brief
too) and keeps it on the mission, the mission's page changes it (not once the mission is
complete) and says plainly that Domestique sends no e-mail yet; a morning without a decision
raises the banner every page carries, with the reason — in English and Korean."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.models import MissionRow
from app.services.coach import day as coach_day
from app.services.metrics.recompute import owner_today
from tests.support.coach_llm import TestClock
from tests.support.fake_llm import FakeLlm
from tests.support.missions import tour_mission
from tests.unit.coach.test_mission_draft import draft_data
from tests.web.test_mission_builder import ANSWERS

EN = {"Accept-Language": "en"}
KO = {"Accept-Language": "ko"}


@pytest.fixture
def fake(llm_server: FakeLlm) -> FakeLlm:
    return llm_server


def _documents(sessions) -> list[dict]:
    with sessions() as session:
        return [row.document for row in session.scalars(select(MissionRow).order_by(MissionRow.id))]


def test_the_builder_asks_how_to_be_told_and_keeps_it(signed_in, sessions, fake, with_model):
    page = signed_in.get("/missions", headers=EN).text
    assert 'name="notify" value="dashboard" checked' in page and 'value="email"' in page
    fake.answer(draft_data(), times=2)
    signed_in.post("/missions/draft", data={**ANSWERS, "notify": "email"})
    signed_in.post("/missions/draft", data={**ANSWERS, "event_name": "Autumn Tour"})
    assert [d["notify_by"] for d in _documents(sessions)] == [["email"], []]


def _import(client) -> str:
    response = client.post(
        "/missions/import",
        files={"file": ("m.json", tour_mission().model_dump_json().encode(), "application/json")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return response.headers["location"]


def test_the_mission_page_changes_how_to_be_told_and_says_e_mail_is_not_sent_yet(
    signed_in, sessions
):
    location = _import(signed_in)
    assert 'data-testid="notify-email-hint"' not in signed_in.get(location, headers=EN).text
    saved = signed_in.post(f"{location}/notify", data={"notify": "email"}, follow_redirects=False)
    assert saved.status_code == 303
    assert _documents(sessions)[0]["notify_by"] == ["email"]
    page = signed_in.get(location, headers=KO).text
    hint = re.search(r'data-testid="notify-email-hint">([^<]+)<', page).group(1)
    assert "이메일" in hint
    assert 'name="notify" value="email" checked' in page
    signed_in.post(f"{location}/notify", data={"notify": "dashboard"})
    assert _documents(sessions)[0]["notify_by"] == []
    with sessions.begin() as session:
        session.scalars(select(MissionRow)).one().state = "mission_complete"
    refused = signed_in.post(f"{location}/notify", data={"notify": "email"}, headers=EN)
    assert refused.status_code == 409 and "complete" in refused.text
    assert _documents(sessions)[0]["notify_by"] == []
    assert signed_in.post("/missions/999999/notify", data={"notify": "email"}).status_code == 404
    hostile = signed_in.post(
        f"{location}/notify", data={"notify": "email"}, headers={"Origin": "http://evil.example"}
    )
    assert hostile.status_code == 403


def test_a_morning_without_a_decision_raises_the_banner_with_the_reason(
    app, signed_in, sessions, fake, with_model
):
    box = app.state.secret_box
    assert 'data-testid="decision-banner"' not in signed_in.get("/missions", headers=EN).text
    with sessions() as session:
        today = owner_today(session)
    clock = TestClock(datetime.now(UTC))
    fake.answer({"action": "dance"}, times=2)  # invalid twice: no decision, never made up
    view = coach_day.run_day(sessions, with_model, box, today=today, clock=clock.clock)
    assert view.status == "failed"
    for url in ("/missions", "/settings"):
        page = signed_in.get(url, headers=EN).text
        banner = re.search(r'data-testid="decision-banner">(.+?)</p>', page, re.S).group(1)
        assert "no decision this morning" in banner and "expected form" in banner
    korean = signed_in.get("/", headers=KO).text
    banner = re.search(r'data-testid="decision-banner">(.+?)</p>', korean, re.S).group(1)
    assert "결정" in banner and "no decision" not in banner
    fake.answer(
        {
            "action": "maintain",
            "reason": "Steady day.",
            "intensity": "moderate",
            "flags": [],
            "confidence": 0.7,
            "workout": None,
            "ride_mode": None,
            "mode_rationale": None,
            "strategic_notes": None,
        }
    )
    assert coach_day.run_day(sessions, with_model, box, today=today, clock=clock.clock).decision
    assert 'data-testid="decision-banner"' not in signed_in.get("/missions", headers=EN).text
