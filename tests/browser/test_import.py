"""Importing in a real browser: choose files, watch the job finish, read the summary — in
Korean and English, at phone and desktop widths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from tests.browser.conftest import VIEWPORTS
from tests.browser.steps import create_owner, open_page, sign_in
from tests.support.fitwriter import write_activity

pytestmark = pytest.mark.browser
WORDS = {
    "en": {"added": "Activities added", "failed": "Not a file Domestique can read"},
    "ko": {"added": "추가된 활동", "failed": "Domestique가 읽을 수 없는 파일"},
}


@pytest.fixture
def owner_and_clean_data(live_database):
    from sqlalchemy.orm import sessionmaker

    engine = create_engine(live_database)
    with engine.begin() as connection:
        for table in ("import_job", "activity", "daily_wellness", "raw_file", "owner"):
            connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
    with sessionmaker(engine)() as session:
        create_owner(session)
    engine.dispose()


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("locale", WORDS)
def test_upload_two_files_and_read_the_result(
    browser, live_server, owner_and_clean_data, artifacts_dir, tmp_path, locale, viewport
):
    start = datetime(2025, 3, 1, 23, 0, tzinfo=UTC) + timedelta(days=len(locale + viewport))
    ride = tmp_path / "ride.fit"
    write_activity(ride, sport="cycling", start=start, samples={"power": np.full(900, 180.0)})
    junk = tmp_path / "notes.fit"
    junk.write_bytes(b"this is not a FIT file at all" * 10)

    with open_page(browser, viewport=VIEWPORTS[viewport], locale=locale) as page:
        sign_in(page, live_server)

        page.goto(live_server + "/import")
        page.get_by_test_id("import-files").set_input_files([ride, junk])
        page.screenshot(path=artifacts_dir / f"import-{locale}-{viewport}-1-chosen.png")
        page.locator("#import-form button[type=submit]").click()
        page.wait_for_url("**/import/jobs/*")
        job = page.get_by_test_id("import-job")
        job.and_(page.locator("[data-status=done]")).wait_for(timeout=30_000)

        assert page.get_by_test_id("activities-added").inner_text() == "1"
        assert page.get_by_test_id("files-failed").inner_text() == "1"
        assert WORDS[locale]["added"] in job.inner_text()
        problems = page.get_by_test_id("import-problems").inner_text()
        assert "notes.fit" in problems and WORDS[locale]["failed"] in problems
        page.screenshot(
            path=artifacts_dir / f"import-{locale}-{viewport}-2-done.png", full_page=True
        )
