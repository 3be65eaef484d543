"""The Wellness sources part of Settings (with and without HTMX, cross-origin refused) and the
other sources' values on the Wellness page."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app import records
from app.models import DailyWellness
from app.models.owner import get_owner
from app.services.imports import store

ORIGIN = {"Origin": "http://testserver", "Accept-Language": "en"}
EN = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true", "Accept-Language": "en"}


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Seoul")).date()  # the test owner's time zone


def _two_sources(db_session, days: int = 3) -> None:
    entries = []
    for i in range(days):
        day = today() - timedelta(days=i)
        entries.append(records.DailyWellness(day, "garmin", {"sleep_s": 25200, "steps": 9000}))
        entries.append(records.DailyWellness(day, "oura", {"sleep_s": 27000, "spo2_avg": 97}))
    entries.append(records.DailyWellness(today(), "apple_health", {"steps": 8800}))
    store.merge_wellness(db_session, entries)
    db_session.commit()


def _group(html: str, group: str) -> str:
    match = re.search(rf'data-testid="wellness-group-{group}".*?</fieldset>', html, re.S)
    assert match, f"no group {group}"
    return match.group(0)


@pytest.mark.parametrize("headers", [EN, HTMX], ids=["page", "htmx"])
def test_each_group_lists_the_sources_with_its_data(signed_in, db_session, headers):
    _two_sources(db_session)
    page = signed_in.get("/settings", headers=headers).text
    assert ("<html" in page) == ("HX-Request" not in headers)  # the fragment for HTMX
    assert 'data-testid="wellness-sources-form"' in page
    sleep = _group(page, "sleep")
    assert '<option value="" selected>Automatic</option>' in sleep
    assert '<option value="garmin" >Garmin Connect (3 days)</option>' in sleep
    assert '<option value="oura" >Oura (3 days)</option>' in sleep
    assert "apple_health" not in sleep  # Apple Health has no sleep here
    steps = _group(page, "activity")
    assert "Apple Health (1 day)" in steps and "Garmin Connect (3 days)" in steps
    assert "No values yet." in _group(page, "body")


def test_a_choice_is_saved_re_resolves_and_is_shown(signed_in, db_session):
    _two_sources(db_session)
    response = signed_in.post(
        "/settings/wellness-sources", data={"source_sleep": "oura"}, headers=ORIGIN
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("/settings?saved=1#wellness-sources")
    db_session.expire_all()
    assert get_owner(db_session).wellness_preference == {"sleep": "oura"}
    row = db_session.get(DailyWellness, today())
    assert row.sleep_s == 27000 and row.sources["sleep_s"] == "oura"
    page = signed_in.get("/settings?saved=1", headers=EN).text
    assert "Settings saved." in page
    assert '<option value="oura" selected>Oura (3 days)</option>' in _group(page, "sleep")

    back = signed_in.post("/settings/wellness-sources", data={"source_sleep": ""}, headers=ORIGIN)
    assert back.status_code == 303
    db_session.expire_all()
    assert db_session.get(DailyWellness, today()).sleep_s == 25200


def test_an_unknown_source_is_refused(signed_in, db_session):
    _two_sources(db_session)
    response = signed_in.post(
        "/settings/wellness-sources", data={"source_sleep": "fitbit"}, headers=ORIGIN
    )
    assert response.status_code == 422
    assert "fitbit is not a wellness source." in response.text
    db_session.expire_all()
    assert get_owner(db_session).wellness_preference == {}


def test_a_choice_from_another_site_is_refused(signed_in, db_session):
    _two_sources(db_session)
    response = signed_in.post(
        "/settings/wellness-sources",
        data={"source_sleep": "oura"},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403
    db_session.expire_all()
    assert get_owner(db_session).wellness_preference == {}
    assert db_session.get(DailyWellness, today()).sleep_s == 25200


def test_the_wellness_page_shows_the_other_sources_value(signed_in, db_session):
    _two_sources(db_session)
    page = signed_in.get("/wellness", headers=EN).text
    card = re.search(r'data-testid="metric-sleep".*?</section>', page, re.S).group(0)
    assert 'data-testid="latest-source">Garmin Connect<' in card
    others = re.search(r'data-testid="other-sources">(.*?)</dd>', card, re.S).group(1)
    assert "Other sources:" in others and "Oura 7 h 30 min" in others
    steps = re.search(r'data-testid="metric-steps".*?</section>', page, re.S).group(0)
    assert "Apple Health 8,800" in steps
