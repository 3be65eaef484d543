"""The dashboard's daily-coach card: the active mission with its phase and countdown, today's
decision with every overrule, asking now, and a day without a model — English and Korean."""

from __future__ import annotations

from datetime import UTC, datetime

from app.coach.missions import MissionState
from app.services import missions
from app.services.coach import day as coach_day
from tests.integration.test_coach_day import KEY, PUSH
from tests.support.coach_llm import MODEL, TestClock, llm_settings
from tests.support.fake_llm import FakeLlm
from tests.support.missions import tour_mission


def _mission(sessions) -> int:
    mission_id = missions.import_mission(sessions, tour_mission().model_dump(mode="json"))
    missions.move(sessions, mission_id, MissionState.TRAINING, now_utc=datetime.now(UTC))
    return mission_id


def test_the_card_shows_the_mission_and_asking_without_a_model_says_why(signed_in, sessions):
    _mission(sessions)
    page = signed_in.get("/", headers={"Accept-Language": "en"})
    assert 'data-testid="coach-day"' in page.text and "Virtual Tour 2027" in page.text
    assert "days to go" in page.text
    asked = signed_in.post("/coach/day", follow_redirects=False)
    assert asked.status_code == 303
    page = signed_in.get("/", headers={"Accept-Language": "ko"})
    assert 'data-testid="decision-failed"' in page.text


def test_todays_decision_and_its_overrule_in_korean(signed_in, sessions, settings, app):
    from app.models import DailyWellness
    from app.services.metrics.recompute import owner_today

    mission_id = _mission(sessions)
    with sessions() as session:
        today = owner_today(session)
    with sessions.begin() as session:
        session.add(DailyWellness(day=today, training_readiness=30))
    fake = FakeLlm(api_key=KEY).start()
    try:
        env = llm_settings(settings, llm_base_url=fake.base_url, llm_model=MODEL, llm_api_key=KEY)
        fake.answer({**PUSH, "reason": "다리가 가벼우니 강하게 갑시다."})
        view = coach_day.run_day(
            sessions, env, app.state.secret_box, today=today, clock=TestClock().clock
        )
    finally:
        fake.stop()
    assert view.decision.action == "rest"
    page = signed_in.get("/", headers={"Accept-Language": "ko"}).text
    assert "다리가 가벼우니 강하게 갑시다." in page
    assert 'data-testid="overruled"' in page
    assert "오늘: 휴식" in page
    mornings = signed_in.get(f"/missions/{mission_id}", headers={"Accept-Language": "en"}).text
    assert mornings.count('data-testid="decision-day"') == 1
    assert "1 overrule" in mornings
