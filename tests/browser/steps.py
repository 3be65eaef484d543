"""Steps every browser test takes: a page in a language and on a screen size that fails the test
on any page or console error (a Content-Security-Policy violation is a console error), and
signing in as the owner the browser fixtures create."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page

from app.services.owner import account

USERNAME = "jiwoo"
PASSWORD = "a very good password"


@contextmanager
def open_page(
    browser: Browser,
    *,
    viewport: dict[str, int],
    locale: str | None = None,
    accept_language: str | None = None,
) -> Iterator[Page]:
    """A page in a new browser context; after the block, no page or console error may have
    happened (the context is closed either way)."""
    options: dict = {"viewport": viewport}
    if locale is not None:
        options["locale"] = locale
    language = accept_language or locale
    if language is not None:
        options["extra_http_headers"] = {"Accept-Language": language}
    context = browser.new_context(**options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        yield page
    finally:
        context.close()
    assert errors == []


def sign_in(page: Page, live_server: str, *, username: str = USERNAME, password: str = PASSWORD):
    """Sign in on the login page and wait for the dashboard."""
    page.goto(live_server + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(live_server + "/")


def create_owner(session) -> None:
    """The owner every signed-in browser test uses: 지우, Korean time."""
    account.create_owner(session, account.NewOwner("지우", USERNAME, PASSWORD, None, "Asia/Seoul"))
