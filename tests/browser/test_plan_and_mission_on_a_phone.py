"""The planner and the daily coach in a real browser on a phone, in Korean, against the fake LLM
server: a plan drafted from the Plan page's questionnaire (its progress shown while the coach
drafts, then the proposal), approved, changed through the plan chat, approved again and seen on
the calendar; a mission built with the wizard, started, and the morning decision on the
dashboard. Nothing scrolls sideways and the console stays clean (open_page fails on errors)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from app.coach.llm_schema import draft_from_plan
from app.coach.plans import Plan
from app.models import PlannedWorkout
from app.services.coach import config
from app.services.metrics.recompute import owner_today
from tests.browser.steps import create_owner, open_page, sign_in
from tests.support.coach_llm import MODEL
from tests.support.fake_llm import CHAT, FakeLlm
from tests.support.plans import uniform_plan
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


def _model_weeks(start, focus: list[str]) -> list[dict]:
    """What a model drafting from ``start`` answers: the standard week in the model's shape,
    without ids (Domestique gives them)."""
    plan = Plan.model_validate(uniform_plan(focus, start=start))
    weeks = json.loads(draft_from_plan(plan).model_dump_json())["weeks"]
    for week in weeks:
        for workout in week["workouts"]:
            workout["id"] = None
    return weeks


def test_a_drafted_plan_changed_by_chat_reaches_the_calendar(
    browser, live_server, sessions, fake_llm, artifacts_dir
):
    with sessions() as session:
        today = owner_today(session)
    start = today + timedelta(days=7 - today.weekday())  # the form's default: next Monday
    weeks = _model_weeks(start, ["base", "build", "build", "recovery", "base", "build"])
    fake_llm.answer({"weeks": weeks[:4]})  # the first four weeks at once
    fake_llm.hold()  # the last two wait until the page has shown the progress
    fake_llm.answer({"weeks": weeks[4:]})  # what the retry after the held call gets
    with open_page(browser, viewport=PHONE, locale="ko") as page:
        sign_in(page, live_server)
        page.goto(live_server + "/plan")
        form = page.get_by_test_id("draft-form")
        form.locator("input[name=goal_name]").fill("봄 10 km")
        form.locator("input[name=weeks]").fill("6")
        form.locator("input[name=hours_per_week]").fill("9")
        page.get_by_test_id("draft-submit").click()
        running = page.locator('[data-testid="draft-status"][data-status="running"]')
        running.wait_for()
        page.locator('[data-testid="draft-status"] progress[value="1"]').wait_for(timeout=30_000)
        assert "2" in running.inner_text()  # "1 of 2 parts"
        _no_sideways_scroll(page)
        page.screenshot(path=artifacts_dir / "plan-draft-progress-ko-phone.png", full_page=True)
        fake_llm.release()
        done = page.get_by_test_id("draft-done")
        done.wait_for(timeout=30_000)  # the page polls the background draft
        done.locator("a").click()
        page.get_by_test_id("proposed-revision").first.wait_for()
        page.screenshot(path=artifacts_dir / "plan-draft-proposal-ko-phone.png", full_page=True)
        _approve(page)
        page.get_by_test_id("plan-week").first.wait_for()

        with sessions() as session:
            rows = session.scalars(
                select(PlannedWorkout).order_by(PlannedWorkout.day, PlannedWorkout.workout_id)
            ).all()
        assert rows and rows[0].day >= start
        moved = next(r for r in rows if r.day.weekday() == 5)  # the first Saturday's easy run
        new_day = moved.day - timedelta(days=1)
        fake_llm.answer(
            {
                "answer": f"{moved.name}을(를) 하루 앞당겼어요.",
                "change_set": {
                    "summary": "하루 앞당김",
                    "operations": [
                        {
                            "op": "move_workout",
                            "workout_id": moved.workout_id,
                            "date": new_day.isoformat(),
                        }
                    ],
                },
            }
        )
        page.get_by_test_id("plan-chat-form").locator("textarea").fill(
            f"{moved.name}을(를) 하루 앞당겨 주세요"
        )
        page.get_by_test_id("plan-chat-form").locator("button[type=submit]").click()
        page.get_by_test_id("plan-chat-revision").wait_for()
        _approve(page)
        page.get_by_test_id("plan-week").first.wait_for()

        page.goto(f"{live_server}/calendar?view=week&date={new_day.isoformat()}")
        day = page.locator(f'[data-testid="cal-day"][data-day="{new_day.isoformat()}"]')
        assert day.locator(f'[data-workout="{moved.workout_id}"]').count() == 1
        _no_sideways_scroll(page)
        page.screenshot(path=artifacts_dir / "plan-chat-calendar-ko-phone.png", full_page=True)
    drafting = [c.body for c in fake_llm.calls(CHAT)][:3]
    assert "4 weeks starting " + start.isoformat() in drafting[0]["messages"][-1]["content"]
    assert "2 weeks starting" in drafting[2]["messages"][-1]["content"]  # the retry


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
