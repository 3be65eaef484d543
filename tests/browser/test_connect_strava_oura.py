"""Connecting Strava and Oura in a real browser: the owner follows the card's instructions,
enters their application's client ID and secret, is sent to the service (the loopback fake
approves at once) and back, and the first sync fills the database — Strava in English at
desktop width, Oura in Korean on a phone."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from tests.browser.conftest import VIEWPORTS
from tests.browser.steps import create_owner, open_page, sign_in
from tests.support.fake_strava import make_streams

pytestmark = pytest.mark.browser
TABLES = ("sync_run", "activity_source", "activity", "daily_wellness", "raw_file", "connection")


@pytest.fixture
def clean(live_database, fake_strava, fake_oura):
    from sqlalchemy.orm import sessionmaker

    engine = create_engine(live_database)
    with engine.begin() as connection:
        for table in (*TABLES, "owner"):
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
        connection.execute(text("DELETE FROM sample"))
    with sessionmaker(engine)() as session:
        create_owner(session)
    fake_strava.activities_list.clear()
    for day in (1, 2):
        fake_strava.add_activity(datetime.now(UTC) - timedelta(days=day), streams=make_streams(300))
    fake_oura.documents.clear()
    fake_oura.add_history(3, newest=date.today() - timedelta(days=1))
    yield engine
    engine.dispose()


def _connect(page, live_server, name: str, client_id: str, secret: str, save: str) -> None:
    page.goto(live_server + "/connections")
    card = page.locator(f"[data-testid=source-{name}]")
    card.locator("input[name=client_id]").fill(client_id)
    card.locator("input[name=client_secret]").fill(secret)
    card.get_by_role("button", name=save).click()
    # Away to the service and back: the card says connected.
    page.wait_for_url(f"{live_server}/connections?source={name}#{name}")
    status = page.locator(f"[data-testid=source-{name}] [data-testid=status]")
    assert status.get_attribute("class") == "badge ok"


def _count(engine, sql: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar_one()


def _wait_for(engine, sql: str, expected: int, page) -> None:
    for _ in range(120):
        if _count(engine, sql) >= expected:
            return
        page.wait_for_timeout(250)
    raise AssertionError(f"{sql} never reached {expected}")


@contextmanager
def _signed_in_page(browser, live_server: str, locale: str, viewport: str):
    """A signed-in page; no script error may happen on it."""
    with open_page(browser, viewport=VIEWPORTS[viewport], locale=locale) as page:
        sign_in(page, live_server)
        yield page


def test_connect_strava(browser, live_server, fake_strava, clean, artifacts_dir):
    with _signed_in_page(browser, live_server, "en", "desktop") as page:
        page.goto(live_server + "/connections")
        card = page.locator("[data-testid=source-strava]")
        assert card.locator("[data-testid=callback-host]").inner_text() == "127.0.0.1"
        page.screenshot(path=artifacts_dir / "connect-strava-setup-en.png", full_page=True)
        _connect(
            page,
            live_server,
            "strava",
            str(fake_strava.client_id),
            fake_strava.client_secret,
            "Save and connect",
        )
        _wait_for(clean, "SELECT count(*) FROM activity WHERE sample_count = 300", 2, page)
        page.reload()
        page.screenshot(path=artifacts_dir / "connect-strava-done-en.png", full_page=True)
        assert page.locator("[data-testid=strava-options]").is_visible()
    with clean.connect() as connection:
        stored = connection.execute(
            text("SELECT row_to_json(c)::text FROM connection c WHERE source = 'strava'")
        ).scalar_one()
    assert fake_strava.client_secret not in stored


def test_connect_oura_in_korean_on_a_phone(browser, live_server, fake_oura, clean, artifacts_dir):
    with _signed_in_page(browser, live_server, "ko", "phone") as page:
        page.goto(live_server + "/connections")
        card = page.locator("[data-testid=source-oura]")
        assert card.locator("[data-testid=callback-url]").inner_text() == fake_oura.redirect_uri
        assert "애플리케이션" in card.inner_text()
        _connect(
            page, live_server, "oura", fake_oura.client_id, fake_oura.client_secret, "저장하고 연결"
        )
        _wait_for(clean, "SELECT count(*) FROM daily_wellness", 3, page)
        page.reload()
        page.screenshot(path=artifacts_dir / "connect-oura-done-ko.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS["phone"]["width"], "the page scrolls sideways on a phone"
