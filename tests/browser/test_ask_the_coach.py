"""Ask the coach in a real browser against the fake LLM server: on the Plan page, in Korean on a
phone and in English on a desktop — the answer appears with its citation, which opens the
library passage it names; nothing scrolls sideways and the console stays clean."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from app.services.coach import config, library
from tests.browser.steps import create_owner, open_page, sign_in
from tests.support.coach_llm import MODEL
from tests.support.fake_llm import CHAT, FakeLlm

pytestmark = pytest.mark.browser
CASES = {
    "ko-phone": ("ko", {"width": 360, "height": 740}, "계획", "질문하기",
                 "마라톤 전에 테이퍼링은 얼마나 해야 하나요?",
                 "보통 2주 동안 훈련량을 40–60% 줄입니다."),
    "en-desktop": ("en", {"width": 1280, "height": 800}, "Plan", "Ask",
                   "How long should my taper be before a marathon?",
                   "About two weeks, with 40–60 % less volume."),
}  # fmt: skip


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    server = FakeLlm().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sessions(live_database, fresh_install):
    engine = create_engine(live_database)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        create_owner(session)
    library.sync_shipped(factory)
    yield factory
    engine.dispose()


@pytest.mark.parametrize("case", CASES)
def test_ask_the_coach_and_open_a_citation(
    browser, live_server, sessions, fake_llm, artifacts_dir, case
):
    locale, viewport, plan, ask_button, question, answer = CASES[case]
    config.save_settings(
        sessions,
        None,  # no key: the fake server asks for none
        config.SettingsForm(base_url=fake_llm.base_url, model=MODEL),
    )
    with sessions() as session:
        cited = library.search(session, question)[0]
    fake_llm.answer({"answer": answer, "citations": [cited.chunk_id]})
    with open_page(browser, viewport=viewport, locale=locale) as page:
        sign_in(page, live_server)

        page.get_by_role("navigation").get_by_role("link", name=plan, exact=True).click()
        page.wait_for_url(live_server + "/plan")
        page.get_by_test_id("question").fill(question)
        page.get_by_role("button", name=ask_button, exact=True).click()
        reply = page.get_by_test_id("message-coach")
        reply.wait_for()
        assert answer in reply.inner_text()
        assert question in page.get_by_test_id("message-owner").inner_text()
        sent = fake_llm.calls(CHAT)[0].body["messages"]
        assert sent[-1]["content"] == question
        link = reply.get_by_test_id("citation")
        assert link.inner_text() == f"{cited.title} — {cited.heading}"
        assert page.get_by_test_id("conversation-row").count() == 1
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], "the page scrolls sideways"
        page.screenshot(path=artifacts_dir / f"ask-the-coach-{case}.png", full_page=True)

        link.click()
        page.wait_for_url(f"{live_server}/library/passages/{cited.chunk_id}")
        assert page.get_by_test_id("passage-section").inner_text() == cited.heading
        assert page.locator("h1").inner_text() == cited.title
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], "the page scrolls sideways"
