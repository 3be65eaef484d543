"""Settings → Coach in a real browser against the fake LLM server: configure the endpoint, test
the connection (HTMX swaps the result in, in words) and see the request on What the coach
sees — in Korean on a phone and in English on a desktop, without console errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.steps import create_owner, open_page, sign_in
from tests.support.coach_llm import KEY, MODEL
from tests.support.fake_llm import CHAT, FakeLlm

pytestmark = pytest.mark.browser
CASES = {
    "ko-phone": ("ko", {"width": 360, "height": 740}, "코치 설정", "저장하고 연결 테스트",
                 KEY, "ok", "연결됐습니다", "코치가 보는 데이터"),
    "en-desktop": ("en", {"width": 1280, "height": 800}, "Coach settings",
                   "Save and test the connection", "sk-not-the-right-key-00", "key_refused",
                   "The server refused the key.", "What the coach sees"),
}  # fmt: skip


@pytest.fixture
def owner(live_database, fresh_install):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine(live_database)
    with sessionmaker(engine)() as session:
        create_owner(session)
    engine.dispose()


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    server = FakeLlm(api_key=KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("case", CASES)
def test_configure_and_test_the_coachs_model(
    browser, live_server, owner, fake_llm, artifacts_dir, case
):
    locale, viewport, link, test_button, key, code, words, context_link = CASES[case]
    fake_llm.answer({"ok": True})
    with open_page(browser, viewport=viewport, locale=locale) as page:
        sign_in(page, live_server)

        page.goto(live_server + "/settings")
        page.get_by_role("link", name=link).click()
        page.wait_for_url(live_server + "/settings/coach")
        form = page.get_by_test_id("coach-form")
        form.locator("input[name=base_url]").fill(fake_llm.base_url)
        form.locator("input[name=model]").fill(MODEL)
        form.locator("input[name=api_key]").fill(key)
        url = page.url
        page.get_by_role("button", name=test_button).click()
        result = page.locator(f"[data-testid=test-result][data-code={code}]")
        result.wait_for()
        assert words in result.inner_text()
        assert page.url == url  # swapped in place by HTMX
        assert fake_llm.calls(CHAT) or code == "key_refused"
        # The key typed is saved, never shown back: the field is empty again.
        assert page.locator("input[name=api_key]").input_value() == ""
        assert key not in page.content()
        assert page.get_by_test_id("key-last4").inner_text() == key[-4:]
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], "the page scrolls sideways"
        page.screenshot(path=artifacts_dir / f"coach-settings-{case}.png", full_page=True)

        page.get_by_test_id("context-link").click()
        page.wait_for_url(live_server + "/settings/coach/context")
        assert context_link in page.locator("h1").inner_text()
        page.get_by_test_id("call-check").wait_for()
        assert "snapshot_version" in page.get_by_test_id("snapshot").inner_text()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], "the page scrolls sideways"
        page.screenshot(path=artifacts_dir / f"coach-context-{case}.png", full_page=True)
