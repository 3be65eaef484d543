"""Where the threshold estimates come from, on the activity page and in Settings, and leaving an
activity out of them in one click (HTMX or a plain form), behind the login and CSRF, in both
languages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from app.models import Activity, ActivityMetrics, AthleteThreshold
from tests.support.fitwriter import write_activity
from tests.support.importing import import_files

ORIGIN = {"Origin": "http://testserver"}
HTMX = {**ORIGIN, "HX-Request": "true", "HX-Target": "estimates"}
FIRST = date(2025, 5, 1)


def _ride(day: date, bpm: float, watts: float) -> bytes:
    seconds = 1800
    t = np.arange(seconds, dtype=float)
    power = np.full(seconds, 150.0)
    power[300:1500] = watts
    samples = {
        "heart_rate": np.minimum(110.0 + t / 10.0, bpm),
        "power": power,
        "cadence": np.full(seconds, 90.0),
        "speed": np.full(seconds, 8.0),
        "distance": 8.0 * t,
    }
    start = datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC)
    return write_activity(None, sport="cycling", start=start, samples=samples)


@pytest.fixture
def rides(sessions, settings, db_session) -> list[int]:
    """Three rides, the first with the highest heart rate and power of all."""
    import_files(
        sessions,
        settings,
        {
            "a.fit": _ride(FIRST, 186.0, 300.0),
            "b.fit": _ride(FIRST + timedelta(days=3), 172.0, 260.0),
            "c.fit": _ride(FIRST + timedelta(days=6), 160.0, 240.0),
        },
    )
    return list(db_session.execute(select(Activity.id).order_by(Activity.start_time)).scalars())


def _used(db_session, activity_id: int) -> dict:
    db_session.expire_all()
    return db_session.get(ActivityMetrics, activity_id).thresholds_used


def test_the_activity_page_links_each_estimate_to_its_activity(signed_in, rides):
    a, _b, c = rides
    page = signed_in.get(f"/activities/{c}", headers={"Accept-Language": "en"}).text
    for kind in ("hr_max_bpm", "lthr_bpm", "ftp_w"):
        assert f'data-testid="threshold-sources-{kind}"' in page
    assert f'href="/activities/{a}" data-testid="source-activity-{a}"' in page
    assert "the highest heart rate held for 20 s so far" in page
    assert 'data-excluded="false"' in page

    first = signed_in.get(f"/activities/{a}", headers={"Accept-Language": "en"}).text
    assert 'data-testid="estimates-holds"' in first  # the current estimates lean on it
    assert "Maximum heart rate" in first and "Leave out of threshold estimates" in first


def test_leaving_out_with_htmx_swaps_the_card_and_recomputes(signed_in, rides, db_session):
    a, b, c = rides
    response = signed_in.post(f"/activities/{a}/estimates", data={"use": "0"}, headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith("<section")  # the card alone
    assert 'id="estimates"' in response.text and 'data-excluded="true"' in response.text
    assert 'data-testid="estimates-recomputing"' in response.text
    assert "Use for estimates again" in response.text
    db_session.expire_all()
    assert db_session.get(Activity, a).excluded_from_estimates_at is not None
    # The test app's runner recomputes at once: the later rides lean on the second one now.
    used = _used(db_session, c)
    assert (used["hr_max_bpm"]["value"], used["hr_max_bpm"]["activity_ids"]) == (172.0, [b])
    assert used["ftp_w"]["activity_ids"] == [b]

    again = signed_in.post(f"/activities/{a}/estimates", data={"use": "1"}, headers=HTMX)
    assert 'data-excluded="false"' in again.text
    assert _used(db_session, c)["hr_max_bpm"]["activity_ids"] == [a]


def test_a_plain_form_goes_back_to_the_page(signed_in, rides, db_session):
    a, _b, _c = rides
    response = signed_in.post(f"/activities/{a}/estimates", data={"use": "0"}, headers=ORIGIN)
    assert response.status_code == 303
    assert (
        response.headers["location"]
        == f"http://testserver/activities/{a}?recomputing=2025-05-01#estimates"
    )
    page = signed_in.get(response.headers["location"], headers={"Accept-Language": "en"}).text
    assert 'data-testid="estimates-recomputing"' in page
    assert "Left out of threshold estimates since" in page


def test_settings_shows_the_sources_and_takes_an_activity_back(signed_in, rides, db_session):
    a, b, _c = rides
    page = signed_in.get("/settings", headers={"Accept-Language": "en"}).text
    assert 'data-testid="estimate-sources"' in page
    assert f'data-testid="source-activity-{a}"' in page and f'data-testid="exclude-{a}"' in page

    form = {"use": "0", "back": "settings"}
    response = signed_in.post(f"/activities/{a}/estimates", data=form, headers=ORIGIN)
    assert response.status_code == 303
    assert (
        response.headers["location"] == "http://testserver/settings?recomputing=1#estimate-sources"
    )
    page = signed_in.get("/settings", headers={"Accept-Language": "en"}).text
    assert 'data-testid="excluded-activities"' in page and f'data-testid="include-{a}"' in page
    assert f'data-testid="exclude-{b}"' in page  # the estimates come from the second ride now

    form = {"use": "1", "back": "settings"}
    assert signed_in.post(f"/activities/{a}/estimates", data=form, headers=ORIGIN).is_redirect
    page = signed_in.get("/settings", headers={"Accept-Language": "en"}).text
    assert 'data-testid="excluded-activities"' not in page
    assert _used(db_session, rides[2])["hr_max_bpm"]["activity_ids"] == [a]


def test_the_choice_needs_the_owner_and_this_site(client, signed_in, rides, db_session):
    a = rides[0]
    hostile = {"Origin": "http://evil.example"}
    refused = signed_in.post(f"/activities/{a}/estimates", data={"use": "0"}, headers=hostile)
    assert refused.status_code == 403
    assert signed_in.post("/logout", headers=ORIGIN).status_code == 303
    anonymous = client.post(f"/activities/{a}/estimates", data={"use": "0"}, headers=ORIGIN)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    db_session.expire_all()
    assert db_session.get(Activity, a).excluded_from_estimates_at is None


def test_unknown_activities_and_choices_are_refused(signed_in, rides, db_session):
    assert signed_in.post("/activities/999999/estimates", data={"use": "0"}).status_code == 404
    bad = signed_in.post(f"/activities/{rides[0]}/estimates", data={"use": "maybe"})
    assert bad.status_code == 422
    db_session.expire_all()
    assert db_session.get(Activity, rides[0]).excluded_from_estimates_at is None


def test_in_korean(signed_in, rides):
    a = rides[0]
    page = signed_in.get(f"/activities/{a}", headers={"Accept-Language": "ko"}).text
    assert "역치 추정" in page and "추정에서 제외" in page
    response = signed_in.post(
        f"/activities/{a}/estimates", data={"use": "0"}, headers={**HTMX, "Accept-Language": "ko"}
    )
    assert "다시 추정에 사용" in response.text
    settings_page = signed_in.get("/settings", headers={"Accept-Language": "ko"}).text
    assert "추정값의 출처" in settings_page and "추정에서 제외한 활동" in settings_page


def test_settings_tells_your_own_value_from_an_estimate(signed_in, sessions, settings, db_session):
    """Before: every value in use read "(estimated)", the owner's own FTP too."""
    db_session.add(AthleteThreshold(kind="ftp_w", value=250.0, valid_from=date(2025, 1, 1)))
    db_session.commit()
    import_files(sessions, settings, {"a.fit": _ride(FIRST, 180.0, 280.0)})
    page = signed_in.get("/settings", headers={"Accept-Language": "en"}).text

    def hint(kind: str) -> str:
        start = page.index(f'data-testid="in-use-{kind}"')
        return page[start : page.index("</p>", start)]

    assert "In use: 250 W (yours)" in hint("ftp_w") and "source-activity" not in hint("ftp_w")
    assert "(estimated)" in hint("hr_max_bpm") and "source-activity" in hint("hr_max_bpm")
