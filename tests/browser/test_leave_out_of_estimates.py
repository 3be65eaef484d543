"""Leaving an activity out of the threshold estimates in a real browser: the estimate links to the
ride it came from, one click on that ride's page swaps its card in place (HTMX), and Settings
takes it back — in Korean on a phone and in English on a desktop, without console errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.browser.steps import create_owner, open_page, sign_in
from tests.support.fitwriter import write_activity

pytestmark = pytest.mark.browser
CASES = {
    "ko-phone": ("ko", {"width": 360, "height": 740}, "역치 추정에서 제외", "다시 사용"),
    "en-desktop": ("en", {"width": 1280, "height": 800}, "Leave out of threshold estimates",
                   "Use again"),
}  # fmt: skip


@pytest.fixture
def owner(live_database, fresh_install):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine(live_database)
    with sessionmaker(engine)() as session:
        create_owner(session)
    engine.dispose()


def _rides(tmp_path) -> list:
    """A hard ride (HR up to 182) and, two days later, an easy one (HR 150)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=5)
    t = np.arange(1800, dtype=float)
    files = []
    for k, (bpm, watts) in enumerate(((182.0, 300.0), (150.0, 220.0))):
        path = tmp_path / f"ride-{k}.fit"
        write_activity(
            path,
            sport="cycling",
            start=start + timedelta(days=2 * k),
            samples={
                "heart_rate": np.minimum(110.0 + t / 10.0, bpm),
                "power": np.where((t > 300) & (t < 1500), watts, 150.0),
                "cadence": np.full(t.size, 90.0),
            },
        )
        files.append(path)
    return files


def _open_when_computed(page, url: str) -> None:
    """Open ``url`` once its metrics are stored: an import job says "done" just before it
    computes them (``app.services.imports.jobs.run_job``), so the page is opened again until
    they are there (each load is one request; no waiting in between)."""
    for _ in range(200):
        page.goto(url)
        if page.get_by_test_id("metrics-pending").count() == 0:
            return
    raise AssertionError(f"the metrics of {url} were never computed")


@pytest.mark.parametrize("case", CASES)
def test_leave_a_ride_out_and_take_it_back(
    browser, live_server, owner, artifacts_dir, tmp_path, case
):
    locale, viewport, leave_out, use_again = CASES[case]
    with open_page(browser, viewport=viewport, locale=locale) as page:
        sign_in(page, live_server)
        page.goto(live_server + "/import")
        page.get_by_test_id("import-files").set_input_files(_rides(tmp_path))
        page.locator("#import-form button[type=submit]").click()
        page.locator("[data-testid=import-job][data-status=done]").wait_for(timeout=60_000)

        # The easy ride's maximum heart rate was estimated from the hard ride: follow the link.
        page.goto(live_server + "/activities")
        page.get_by_test_id("activity-table").locator("td.name a").first.click()
        page.get_by_test_id("activity-summary").wait_for()
        _open_when_computed(page, page.url)
        source = page.get_by_test_id("threshold-sources-hr_max_bpm").locator("a")
        source.click()
        card = page.get_by_test_id("activity-estimates")
        card.get_by_test_id("estimates-holds").wait_for()
        url = page.url
        card.get_by_role("button", name=leave_out).click()
        page.locator("[data-testid=activity-estimates][data-excluded=true]").wait_for()
        assert page.url == url  # swapped in place, no navigation
        page.get_by_test_id("estimates-recomputing").wait_for()
        page.screenshot(path=artifacts_dir / f"leave-out-{case}-1-left-out.png", full_page=True)

        card.screenshot(path=artifacts_dir / f"leave-out-{case}-1-card.png")
        page.goto(live_server + "/settings#estimate-sources")
        page.get_by_test_id("estimate-sources").screenshot(
            path=artifacts_dir / f"leave-out-{case}-2-sources.png"
        )
        excluded = page.get_by_test_id("excluded-activities")
        excluded.get_by_role("button", name=use_again).click()
        page.wait_for_url("**/settings?recomputing=1*")
        assert page.get_by_test_id("excluded-activities").count() == 0
        page.screenshot(path=artifacts_dir / f"leave-out-{case}-3-settings.png", full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], "the page scrolls sideways"
