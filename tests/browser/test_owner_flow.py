"""The owner's morning in a real browser: import two activities, read the dashboard, open the
activities list and one activity's charts and route, look at insights, switch to imperial units
in Settings and see the list follow — in Korean and English, at 390 px and 1280 px, with
screenshots and no console errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.browser.steps import create_owner, open_page, sign_in
from tests.support.fitwriter import write_activity

pytestmark = pytest.mark.browser
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
WORDS = {
    "en": {"dashboard": "Dashboard", "activities": "Activities", "insights": "Insights",
           "settings": "Settings", "save": "Save", "date": "Date"},
    "ko": {"dashboard": "대시보드", "activities": "활동", "insights": "인사이트",
           "settings": "설정", "save": "저장", "date": "날짜"},
}  # fmt: skip


@pytest.fixture
def owner(live_database, fresh_install):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine(live_database)
    with sessionmaker(engine)() as session:
        create_owner(session)
    engine.dispose()


def _files(tmp_path, offset_days: int):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2 + offset_days)
    t = np.arange(2400, dtype=float)
    lat = 37.5 + 0.0001 * np.sin(t / 200)
    lon = 127.0 + 0.0002 * t / 2400
    run = tmp_path / "run.fit"
    write_activity(
        run,
        sport="running",
        start=start,
        samples={
            "heart_rate": 140 + 10 * np.sin(t / 300),
            "speed": np.full(t.size, 3.2),
            "distance": 3.2 * t,
            "altitude": 30 + 5 * np.sin(t / 500),
            "cadence": np.full(t.size, 86.0),
            "position_lat": lat,
            "position_long": lon,
        },
    )
    ride = tmp_path / "ride.fit"
    write_activity(
        ride,
        sport="cycling",
        start=start + timedelta(days=1),
        samples={"power": 200 + 30 * np.sin(t / 100), "heart_rate": np.full(t.size, 135.0)},
    )
    return [run, ride]


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("locale", WORDS)
def test_import_then_read_every_page(
    browser, live_server, owner, artifacts_dir, tmp_path, locale, viewport
):
    words = WORDS[locale]
    shot = f"flow-{locale}-{viewport}"
    with open_page(browser, viewport=VIEWPORTS[viewport], locale=locale) as page:
        sign_in(page, live_server)

        page.goto(live_server + "/import")
        page.get_by_test_id("import-files").set_input_files(_files(tmp_path, len(shot)))
        page.locator("#import-form button[type=submit]").click()
        page.wait_for_url("**/import/jobs/*")
        page.locator("[data-testid=import-job][data-status=done]").wait_for(timeout=60_000)
        assert page.get_by_test_id("activities-added").inner_text() == "2"

        page.goto(live_server + "/")
        assert page.locator("main h1").inner_text() == words["dashboard"]
        page.get_by_test_id("form").wait_for()
        page.locator("figure.chart .uplot").first.wait_for()  # the PMC chart drew
        legend = page.locator("figure.chart .u-legend").first  # uPlot's own would say "Time"
        assert legend.locator(".u-series .u-label").first.inner_text() == words["date"]
        page.screenshot(path=artifacts_dir / f"{shot}-1-dashboard.png", full_page=True)

        page.goto(live_server + "/activities")
        assert page.get_by_test_id("activity-table").locator("tbody tr").count() == 2
        page.screenshot(path=artifacts_dir / f"{shot}-2-activities.png", full_page=True)
        page.get_by_test_id("activity-table").locator("td.name a").last.click()
        page.get_by_test_id("activity-summary").wait_for()
        page.locator("figure.chart .uplot").first.wait_for()
        assert page.get_by_test_id("route").locator("svg polyline").count() == 1
        assert page.locator("nav.mainnav a[aria-current=page]").inner_text() == words["activities"]
        page.screenshot(path=artifacts_dir / f"{shot}-3-activity.png", full_page=True)

        page.goto(live_server + "/insights")
        assert page.locator("main h1").inner_text() == words["insights"]
        page.screenshot(path=artifacts_dir / f"{shot}-4-insights.png", full_page=True)

        page.goto(live_server + "/settings")
        form = page.get_by_test_id("training-form")
        form.locator("select[name=units]").select_option("imperial")
        form.get_by_role("button", name=words["save"]).click()
        page.wait_for_url("**/settings?saved=1*")
        page.goto(live_server + "/activities")
        assert " mi" in page.get_by_test_id("activity-table").inner_text()
        page.screenshot(path=artifacts_dir / f"{shot}-5-imperial.png", full_page=True)

        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[viewport]["width"], "the page scrolls sideways"
