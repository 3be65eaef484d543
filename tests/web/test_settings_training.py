"""The training part of Settings: dated thresholds in the owner's units, the recompute offer,
fitness constants, units everywhere, and the nightly sync following the owner's time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app import i18n
from app.jobs.nightly import NIGHTLY_SYNC
from app.models import Activity
from app.models.metrics import AthleteThreshold
from app.models.owner import get_owner

ORIGIN = {"Origin": "http://testserver"}
BASE = {
    "sex": "female",
    "birth_year": "1990",
    "hr_zone_model": "lthr",
    "units": "metric",
    "ctl_days": "42",
    "atl_days": "7",
    "tsb_variant": "yesterday",
}


def _post(client, **fields):
    return client.post("/settings/training", data={**BASE, **fields}, headers=ORIGIN)


def _thresholds(db_session) -> dict[str, float]:
    db_session.expire_all()
    rows = db_session.execute(select(AthleteThreshold)).scalars()
    return {row.kind: row.value for row in rows}


def test_the_form_lists_every_threshold_with_what_is_in_use(signed_in):
    page = signed_in.get("/settings").text
    assert 'data-testid="training-form"' in page
    for kind in ("ftp_w", "lthr_bpm", "hr_max_bpm", "hr_rest_bpm", "threshold_pace_s_per_km"):
        assert f'name="{kind}"' in page and f'data-testid="in-use-{kind}"' in page
    assert "Not used yet." in page


def test_a_new_threshold_is_dated_and_recomputing_is_offered(signed_in, db_session):
    response = _post(signed_in, ftp_w="251", threshold_pace_s_per_km="4:05")
    assert response.status_code == 303
    assert "recompute=" in response.headers["location"]
    assert _thresholds(db_session) == {"ftp_w": 251.0, "threshold_pace_s_per_km": 245.0}
    owner = get_owner(db_session)
    assert (owner.sex, owner.birth_year) == ("female", 1990)

    page = signed_in.get(response.headers["location"]).text
    assert 'data-testid="recompute-offer"' in page
    assert 'value="251"' in page and 'value="4:05"' in page

    again = _post(signed_in, ftp_w="251", threshold_pace_s_per_km="4:05")
    assert "recompute=" not in again.headers["location"]  # nothing changed

    done = signed_in.post(
        "/settings/recompute", data={"from": date.today().isoformat()}, headers=ORIGIN
    )
    assert done.status_code == 303 and "recomputing=1" in done.headers["location"]


def test_imperial_values_are_stored_in_metric_and_shown_back_in_imperial(signed_in, db_session):
    _post(signed_in, units="imperial", weight_kg="154", threshold_pace_s_per_km="7:00")
    stored = _thresholds(db_session)
    assert stored["weight_kg"] == pytest.approx(154 / i18n.POUNDS_PER_KG)
    assert stored["threshold_pace_s_per_km"] == pytest.approx(420 * 1000 / i18n.METERS_PER_MILE)
    page = signed_in.get("/settings").text
    assert 'value="154.0"' in page and 'value="7:00"' in page and "(/mi)" in page


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"threshold_pace_s_per_km": "fast"}, "minutes:seconds"),
        ({"ftp_w": "9000"}, "outside the range"),
        ({"ctl_days": "5"}, "Fitness takes"),
        ({"birth_year": "1700"}, "birth year"),
        ({"sync_time": "25:00"}, "HH:MM"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_stored(signed_in, db_session, fields, words):
    response = _post(signed_in, **{"ftp_w": "250", **fields})
    assert response.status_code == 422
    assert words in response.text
    assert _thresholds(db_session) == {}


def test_changing_the_fitness_constants_offers_a_full_recompute(signed_in, db_session):
    db_session.add(
        Activity(
            sport="running",
            start_time=datetime(2025, 5, 1, 7, tzinfo=UTC),
            local_date=date(2025, 5, 1),
        )
    )
    db_session.commit()
    response = _post(signed_in, ctl_days="28", atl_days="5")
    assert "recompute=2025-05-01" in response.headers["location"]
    owner = get_owner(db_session)
    db_session.refresh(owner)
    assert (owner.ctl_days, owner.atl_days) == (28, 5)


def test_a_new_sync_time_moves_the_nightly_job(app, sessions, owner):
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        client.post("/login", data={"username": "jiwoo", "password": "correct horse battery"})
        _post(client, sync_time="05:45")
        when = app.state.scheduler.next_run(NIGHTLY_SYNC)
    local = when.astimezone(ZoneInfo(owner.timezone))
    assert (local.hour, local.minute) == (5, 45)


def test_units_change_how_distances_read():
    token = i18n.current_units.set("imperial")
    try:
        assert i18n.format_distance(16093.44) == "10.0 mi"
        assert i18n.format_pace(300) == "8:03 /mi"
        assert i18n.format_weight(70) == "154.3 lb"
        assert i18n.format_elevation(100) == "328 ft"
    finally:
        i18n.current_units.reset(token)
    assert i18n.format_distance(16093.44) == "16.1 km"
    assert i18n.format_pace(300) == "5:00 /km"


def test_a_new_morning_time_moves_the_morning_decision_and_the_page_says_when_it_runs(
    app, sessions, owner
):
    from app.services.work.schedule import MORNING_DECISION

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        client.post("/login", data={"username": "jiwoo", "password": "correct horse battery"})
        page = client.get("/settings", headers={"Accept-Language": "en"}).text
        assert 'name="morning_time" value="06:00"' in page  # the default, in the owner's zone
        when = app.state.scheduler.next_run(MORNING_DECISION)
        assert when.astimezone(ZoneInfo(owner.timezone)).hour == 6
        _post(client, sync_time="04:30", morning_time="07:15")
        when = app.state.scheduler.next_run(MORNING_DECISION)
        page = client.get("/settings", headers={"Accept-Language": "en"}).text
        assert "if the sync is still running then" in page
        _post(client, sync_time="04:30", morning_time="03:00")  # before the sync
        page = client.get("/settings", headers={"Accept-Language": "ko"}).text
        refused = _post(client, sync_time="04:30", morning_time="7 am")
    local = when.astimezone(ZoneInfo(owner.timezone))
    assert (local.hour, local.minute) == (7, 15)
    hint = page[page.index('data-testid="morning-hint"') :].split("</p>")[0]
    assert "동기화" in hint  # it will run after the sync, in Korean
    assert refused.status_code == 422 and "HH:MM" in refused.text
    with sessions() as session:
        assert get_owner(session).morning_time == "03:00"
