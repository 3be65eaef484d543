"""The owner's first path in a real browser: setup → dashboard → log out → log in, in Korean
and English, at phone and desktop widths. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

import pytest

from tests.browser.conftest import VIEWPORTS
from tests.browser.steps import PASSWORD, open_page, sign_in

pytestmark = pytest.mark.browser

TEXT = {
    "en": {
        "welcome": "Welcome to Domestique",
        "create": "Create account",
        "dashboard": "Dashboard",
        "empty": "Nothing to show yet",
        "logout": "Log out",
        "sign_in": "Sign in",
        "wellness": "Wellness",
        "accept": "en-US,en;q=0.9",
    },
    "ko": {
        "welcome": "Domestique에 오신 것을 환영합니다",
        "create": "계정 만들기",
        "dashboard": "대시보드",
        "empty": "아직 표시할 내용이 없습니다",
        "logout": "로그아웃",
        "sign_in": "로그인",
        "wellness": "웰니스",
        "accept": "ko-KR,ko;q=0.9",
    },
}


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("locale", TEXT)
def test_setup_login_dashboard(
    browser, live_server, fresh_install, live_setup_code, artifacts_dir, locale, viewport
):
    words = TEXT[locale]
    shot = f"{locale}-{viewport}"
    viewport_size = VIEWPORTS[viewport]
    with open_page(
        browser, viewport=viewport_size, locale=locale, accept_language=words["accept"]
    ) as page:
        page.goto(live_server + "/wellness")
        assert page.url.endswith("/setup")
        assert page.locator("h1").inner_text() == words["welcome"]
        page.screenshot(path=artifacts_dir / f"{shot}-1-setup.png", full_page=True)

        page.fill("input[name=setup_code]", live_setup_code.lower())  # case and dash ignored
        page.fill("input[name=display_name]", "김지우")
        page.fill("input[name=username]", "jiwoo")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD)
        page.select_option("select[name=locale]", locale)
        page.select_option("select[name=timezone]", "Asia/Seoul")
        page.click(f"button:has-text('{words['create']}')")

        page.wait_for_url(live_server + "/")
        assert page.locator("main h1").inner_text() == words["dashboard"]
        assert page.get_by_test_id("empty-state").locator("h2").inner_text() == words["empty"]
        assert page.get_by_test_id("owner-name").inner_text() == "김지우"
        page.screenshot(path=artifacts_dir / f"{shot}-2-dashboard.png", full_page=True)

        # Boosted navigation (HTMX) to another page; the nav marks it current.
        page.click(f"nav.mainnav a:has-text('{words['wellness']}')")
        page.wait_for_url(live_server + "/wellness")
        assert page.locator("nav.mainnav a[aria-current=page]").inner_text() == words["wellness"]

        # Tap targets are at least 44 px high on every width.
        for link in page.locator("nav.mainnav a").all():
            assert link.bounding_box()["height"] >= 44

        page.click(f"button:has-text('{words['logout']}')")
        page.wait_for_url(live_server + "/login")
        page.screenshot(path=artifacts_dir / f"{shot}-3-login.png", full_page=True)

        sign_in(page, live_server)
        assert page.locator("main h1").inner_text() == words["dashboard"]


def test_language_switch_keeps_the_page(
    browser, live_server, fresh_install, live_setup_code, artifacts_dir
):
    with open_page(browser, viewport=VIEWPORTS["phone"], accept_language="en") as page:
        page.goto(live_server + "/setup")
        page.fill("input[name=setup_code]", live_setup_code)
        page.fill("input[name=display_name]", "Jiwoo")
        page.fill("input[name=username]", "jiwoo")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD)
        page.select_option("select[name=locale]", "en")
        page.click("button:has-text('Create account')")
        page.wait_for_url(live_server + "/")
        page.goto(live_server + "/connections")
        page.click(".lang-switch button[lang=ko]")
        page.wait_for_url(live_server + "/connections")
        assert page.locator("main h1").inner_text() == "연결"
        page.screenshot(path=artifacts_dir / "switch-ko-connections.png", full_page=True)
