"""Connecting Garmin Connect in a real browser against the loopback fake: email and password,
the MFA step, the card updating itself while the sign-in and the first sync run in the
background, then the history in the database — in Korean and English, at phone width."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, text

from tests.browser.conftest import VIEWPORTS
from tests.browser.steps import create_owner, open_page, sign_in

pytestmark = pytest.mark.browser
WORDS = {
    "en": {"connect": "Connect", "verify": "Verify", "connected": "Connected"},
    "ko": {"connect": "연결", "verify": "확인", "connected": "연결됨"},
}


@pytest.fixture
def clean(live_database, fake_garmin):
    from sqlalchemy.orm import sessionmaker

    engine = create_engine(live_database)
    with engine.begin() as connection:
        for table in ("sync_run", "connection", "activity", "daily_wellness", "raw_file", "owner"):
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
        connection.execute(text("DELETE FROM sample"))
    with sessionmaker(engine)() as session:
        create_owner(session)
    fake_garmin.activities_list.clear()
    fake_garmin.add_history(3, newest=date.today() - timedelta(days=1))
    yield engine
    engine.dispose()


@pytest.mark.parametrize("locale", WORDS)
def test_connect_with_mfa_and_watch_the_first_sync(
    browser, live_server, fake_garmin, clean, artifacts_dir, locale
):
    words = WORDS[locale]
    with open_page(browser, viewport=VIEWPORTS["phone"], locale=locale) as page:
        sign_in(page, live_server)

        page.goto(live_server + "/connections")
        card = page.locator("[data-testid=source-garmin]")
        card.locator("input[name=email]").fill(fake_garmin.email)
        card.locator("input[name=password]").fill(fake_garmin.password)
        card.get_by_role("button", name=words["connect"], exact=True).click()

        # the sign-in runs in the background; the card polls itself until the MFA form appears
        mfa = page.locator("[data-testid=source-garmin] [data-testid=mfa-form]")
        mfa.wait_for(timeout=60_000)
        page.screenshot(path=artifacts_dir / f"connect-mfa-{locale}.png", full_page=True)
        mfa.locator("input[name=code]").fill("135790")
        mfa.get_by_role("button", name=words["verify"]).click()

        card = page.locator("[data-testid=source-garmin]")
        card.locator("[data-testid=backfill-done]").wait_for(timeout=60_000)
        assert card.locator("[data-testid=status]").inner_text() == words["connected"]
        assert card.locator("[data-testid=runs] tbody tr").count() >= 1
        page.screenshot(path=artifacts_dir / f"connect-done-{locale}.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS["phone"]["width"], "the page scrolls sideways on a phone"
    with clean.connect() as connection:
        activities = connection.execute(text("SELECT count(*) FROM activity")).scalar_one()
        stored = connection.execute(text("SELECT row_to_json(c)::text FROM connection c")).scalar()
    assert activities == 3
    assert fake_garmin.password not in stored
