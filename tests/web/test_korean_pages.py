"""Every main page in Korean reads as Korean: no English word outside the allowlist of brand
names, acronyms and units (the README's *Translations* says which and why), no particle left
in its combined form, and the sentences built from names agree with them."""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
from lxml import html as lxml_html
from sqlalchemy import insert

from app.models import DailyWellness
from app.services.owner import account
from app.services.sync.adapters import garmin_source, oura_source, strava_source
from app.sources.oura.client import Endpoints as OuraEndpoints
from app.sources.strava.client import Endpoints as StravaEndpoints
from tests.conftest import UNREACHABLE
from tests.support.korean import ALLOWED, ISO_DATE, english_words, visible_text
from tests.web.test_activities_pages import _run_fit
from tests.web.test_dashboard_wellness import today

KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
EN = {"Accept-Language": "en"}
ORIGIN = {"Origin": "http://testserver"}
CLOSED = "http://127.0.0.1:9"  # nothing listens: no page may call a service while rendering

COMBINED_PARTICLE = re.compile(r"이\(가\)|을\(를\)|은\(는\)|과\(와\)|\(으\)로|\(이\)랑")
TEST_DATA = {"Jiwoo", "Kim"}  # the test owner's name


def page_english(page: str) -> set[str]:
    allowed = ALLOWED | TEST_DATA
    return {word for text in visible_text(page) for word in english_words(text, allowed)}


@pytest.fixture
def every_source(app, settings):
    """The Connections page with all three services' cards (their instructions included)."""
    app.state.sync_sources = {
        "garmin": garmin_source(settings, endpoints=UNREACHABLE),
        "strava": strava_source(settings, endpoints=StravaEndpoints(api=CLOSED, oauth=CLOSED)),
        "oura": oura_source(
            settings, endpoints=OuraEndpoints(api=CLOSED, authorize_url=CLOSED, token_url=CLOSED)
        ),
    }


@pytest.fixture
def owner_with_data(signed_in, db_session, every_source) -> dict[str, str]:
    """An imported run (and so the daily training series from its day on) and 240 days of
    wellness in which more sleep lowers the next morning's resting heart rate."""
    upload = signed_in.post(
        "/import", files=[("files", ("아침 달리기.fit", _run_fit(), "application/octet-stream"))]
    )
    assert upload.status_code == 303
    rng = np.random.default_rng(7)
    days = 240
    sleep = rng.normal(7.2, 0.8, days)
    noise = rng.normal(0, 1.2, days)
    rows = []
    for i in range(days):
        values = {
            "sleep_s": float(sleep[i] * 3600),
            "sleep_deep_s": 3600.0,
            "sleep_light_s": 4 * 3600.0,
            "sleep_rem_s": 5400.0,
            "sleep_awake_s": 1200.0,
            "sleep_score": 80.0 + i % 7,
            "resting_hr": 50.0 + noise[i] - (3.0 * (sleep[i - 1] - 7.2) if i else 0.0),
            "hrv_rmssd_ms": 60.0 + i % 9,
            "stress_avg": 30.0 + i % 11,
            "body_battery_high": 80.0 + i % 13,
            "body_battery_low": 20.0 + i % 5,
            "training_readiness": 60.0 + i % 17,
            "weight_kg": 70.0 + (i % 10) / 10,
            "steps": 8000.0 + 37 * i,
            "vo2max_running": 52.0,
        }
        day = today() - timedelta(days=days - 1 - i)
        rows.append({"day": day, **values, "sources": dict.fromkeys(values, "garmin")})
    db_session.execute(insert(DailyWellness.__table__), rows)
    db_session.commit()
    activity = re.search(r'href="(/activities/\d+)"', signed_in.get("/activities").text)
    return {"job": upload.headers["location"], "activity": activity.group(1)}


MAIN_PAGES = ("/", "/activities", "activity", "/wellness", "/insights", "/plan", "/calendar",
              "/missions", "/connections", "/import", "job", "/settings", "/settings/coach",
              "/settings/coach/context")  # fmt: skip


def _pages(client, urls, headers) -> dict[str, str]:
    pages = {}
    for url in urls:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        pages[url] = response.text
    return pages


def _check_korean(pages: dict[str, str]) -> None:
    english = {url: page_english(page) for url, page in pages.items()}
    assert {url: words for url, words in english.items() if words} == {}
    iso = {url: ISO_DATE.findall(" ".join(visible_text(page))) for url, page in pages.items()}
    assert {url: dates for url, dates in iso.items() if dates} == {}  # Korean dates: 2026. 3. 6.
    combined = {url: COMBINED_PARTICLE.findall(page) for url, page in pages.items()}
    assert {url: found for url, found in combined.items() if found} == {}
    assert all('<html lang="ko">' in page for page in pages.values())


def test_every_main_page_with_data_reads_as_korean(signed_in, owner_with_data):
    urls = [owner_with_data.get(path, path) for path in MAIN_PAGES]
    _check_korean(_pages(signed_in, urls, KO))
    # the check can fail: the same pages in English are full of words it would report
    english = _pages(signed_in, urls, EN)
    assert all(len(page_english(page)) > 10 for page in english.values())


def test_every_main_page_of_a_new_owner_reads_as_korean(signed_in, every_source):
    _check_korean(_pages(signed_in, [path for path in MAIN_PAGES if path.startswith("/")], KO))


def test_signing_in_and_setting_up_read_as_korean(client, db_session):
    _check_korean(_pages(client, ["/setup"], KO))
    account.create_owner(
        db_session, account.NewOwner("지우", "jiwoo", "a long enough password", None, "Asia/Seoul")
    )
    db_session.commit()
    _check_korean(_pages(client, ["/login"], KO))


def test_the_insight_sentence_agrees_with_its_names(signed_in, owner_with_data):
    page = lxml_html.fromstring(signed_in.get("/insights", headers=KO).text)
    sentences = [p.text_content() for p in page.find_class("insight-sentence")]
    sleep = next(s for s in sentences if s.startswith("수면"))
    assert re.match(
        r"수면이 [\d.]+시간 이상이었던 날로부터 1일 뒤에는 안정 시 심박수가 [\d.]+ % 낮습니다"
        r"\(n = \d+, q (<|=) [\d.]+\)\.$",
        sleep,
    ), sleep
    assert not any("q = <" in s or "q = 0.000" in s for s in sentences)
