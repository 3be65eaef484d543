"""The planner and the daily coach in a real browser on a phone, in Korean, against the fake LLM
server: a plan file imported, approved, changed through the plan chat, approved again and seen
on the calendar; a mission built with the wizard, started, and the morning decision on the
dashboard. Nothing scrolls sideways and the console stays clean (open_page fails on errors)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from app.coach.example import plan_example
from app.services.coach import config
from app.services.metrics.recompute import owner_today
from tests.browser.steps import create_owner, open_page, sign_in
from tests.support.coach_llm import MODEL
from tests.support.fake_llm import FakeLlm
from tests.unit.coach.test_mission_draft import TOUR_END, draft_data

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    server = FakeLlm().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sessions(live_database, fresh_install, fake_llm):
    engine = create_engine(live_database)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        create_owner(session)
    config.save_settings(
        factory, None, config.SettingsForm(base_url=fake_llm.base_url, model=MODEL)
    )
    yield factory
    engine.dispose()


def _approve(page) -> None:
    """Approve the newest proposed revision (accepting its blocks when it has any)."""
    revision = page.get_by_test_id("proposed-revision").first
    revision.wait_for()
    blocks = revision.get_by_test_id("accept-blocks")
    if blocks.count():
        blocks.check()
    revision.get_by_test_id("approve").click()
    page.get_by_test_id("proposed-revision").first.wait_for(state="detached")


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_plan_changed_by_chat_reaches_the_calendar(
    browser, live_server, sessions, fake_llm, artifacts_dir, tmp_path
):
    with sessions() as session:
        today = owner_today(session)
    monday = today - timedelta(days=today.weekday())
    plan = plan_example(monday)
    path = tmp_path / "plan.json"
    path.write_text(plan.model_dump_json())
    moved = next(w for w in plan.workouts if w.date > today + timedelta(days=1))
    new_day = moved.date - timedelta(days=1)
    fake_llm.answer(
        {
            "answer": f"{moved.name}을(를) 하루 앞당겼어요.",
            "change_set": {
                "summary": "하루 앞당김",
                "operations": [
                    {"op": "move_workout", "workout_id": moved.id, "date": new_day.isoformat()}
                ],
            },
        }
    )
    with open_page(browser, viewport=PHONE, locale="ko") as page:
        sign_in(page, live_server)
        page.goto(live_server + "/plan")
        page.get_by_test_id("plan-import").locator("input[type=file]").set_input_files(str(path))
        page.get_by_test_id("plan-import").locator("button[type=submit]").click()
        _approve(page)
        page.get_by_test_id("plan-week").first.wait_for()

        page.get_by_test_id("plan-chat-form").locator("textarea").fill(
            f"{moved.name}을(를) 하루 앞당겨 주세요"
        )
        page.get_by_test_id("plan-chat-form").locator("button[type=submit]").click()
        page.get_by_test_id("plan-chat-revision").wait_for()
        _approve(page)
        page.get_by_test_id("plan-week").first.wait_for()

        page.goto(f"{live_server}/calendar?view=week&date={new_day.isoformat()}")
        day = page.locator(f'[data-testid="cal-day"][data-day="{new_day.isoformat()}"]')
        assert day.locator(f'[data-workout="{moved.id}"]').count() == 1
        _no_sideways_scroll(page)
        page.screenshot(path=artifacts_dir / "plan-chat-calendar-ko-phone.png", full_page=True)


def test_a_mission_built_with_the_wizard_and_the_morning_decision(
    browser, live_server, sessions, fake_llm, artifacts_dir
):
    fake_llm.answer({**draft_data(), "goal": "모든 스테이지를 완주합니다."})
    fake_llm.answer(
        {
            "action": "maintain",
            "reason": "준비도가 좋으니 계획대로 훈련하세요.",
            "intensity": "moderate",
            "flags": [],
            "confidence": 0.7,
            "workout": None,
            "ride_mode": None,
            "mode_rationale": None,
            "strategic_notes": None,
        }
    )
    with open_page(browser, viewport=PHONE, locale="ko") as page:
        sign_in(page, live_server)
        page.goto(live_server + "/missions")
        wizard = page.get_by_test_id("mission-wizard")
        wizard.locator("input[name=event_name]").fill("Virtual Tour 2027")
        wizard.locator("input[name=event_start]").fill("2027-07-03")
        wizard.locator("input[name=event_end]").fill(TOUR_END.isoformat())
        wizard.locator("select[name=type]").select_option("road_stage_race")
        wizard.locator("input[name=time_zone]").fill("Asia/Seoul")
        page.get_by_test_id("draft-mission").click()
        done = page.get_by_test_id("mission-draft-done")
        done.wait_for(timeout=30_000)  # the page polls the background draft
        done.locator("a").click()
        page.get_by_test_id("mission-detail").wait_for()
        page.get_by_test_id("move-training").click()
        page.locator('[data-testid="mission-detail"][data-state="training"]').wait_for()
        _no_sideways_scroll(page)

        page.goto(live_server + "/")
        page.get_by_test_id("decide-now").click()
        reason = page.get_by_test_id("decision-reason")
        reason.wait_for(timeout=30_000)
        assert "계획대로" in reason.inner_text()
        assert "Virtual Tour 2027" in page.get_by_test_id("coach-day").inner_text()
        _no_sideways_scroll(page)
        page.screenshot(path=artifacts_dir / "mission-decision-ko-phone.png", full_page=True)
    sent = [json.loads(json.dumps(c.body)) for c in fake_llm.calls("/v1/chat/completions")]
    assert len(sent) == 2
