"""While a backup is restored: the banner on every page (a whole page, and an HTMX fragment
with the banner out of band), state changes refused with a sentence, the banner polling until
the end, a moment without the database said as such; and sessions carried over a key change.

The restore itself runs in tests/integration/test_restore_while_running.py; here the app's
maintenance is entered and left directly."""

from __future__ import annotations

import json
import time
from base64 import b64decode, b64encode

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import text

from app.security.keys import session_signing_key
from app.web.app import SESSION_COOKIE

ORIGIN = {"Origin": "http://testserver"}
BANNER = 'data-testid="maintenance-banner"'


@pytest.fixture
def restoring(app):
    app.state.maintenance.begin("restore")
    app.state.maintenance.step("restore database")
    try:
        yield app.state.maintenance
    finally:
        if app.state.maintenance.active:
            app.state.maintenance.end(replaced=False)


def test_no_banner_without_maintenance(signed_in):
    assert BANNER not in signed_in.get("/").text
    assert signed_in.get("/maintenance?next=/wellness").headers["location"] == "/wellness"


@pytest.mark.parametrize("path", ["/", "/activities", "/wellness", "/settings", "/connections"])
def test_every_page_shows_the_banner_during_a_restore(signed_in, restoring, path):
    page = signed_in.get(path, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert BANNER in page.text
    assert "restoring a backup" in page.text and "restoring the database" in page.text
    # The banner polls, so it goes away (and the page reloads) when the restore ends.
    assert 'hx-get="/maintenance/banner"' in page.text


def test_an_htmx_fragment_carries_the_banner_out_of_band(signed_in, restoring):
    fragment = signed_in.get("/activities", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text  # still the fragment
    assert 'id="activities-content"' in fragment.text
    assert 'id="maintenance-status" hx-swap-oob="true"' in fragment.text and BANNER in fragment.text


def test_the_login_page_shows_it_too(client, owner, restoring):
    assert BANNER in client.get("/login").text


def test_changes_are_refused_with_a_sentence_in_the_owners_language(
    signed_in, restoring, db_session
):
    db_session.execute(text("UPDATE owner SET locale = 'ko'"))
    db_session.commit()
    for path, data in (
        ("/settings", {"display_name": "X", "locale": "en", "timezone": "UTC"}),
        ("/settings/backups", {}),
        ("/settings/recompute", {}),
        ("/connections/garmin/sync", {}),
        ("/language", {"locale": "en"}),
    ):
        response = signed_in.post(path, data=data, headers=ORIGIN)
        assert response.status_code == 503, path
        assert "아무것도 바꾸지 않았습니다" in response.text
        assert BANNER in response.text
    owner = db_session.execute(text("SELECT display_name, locale FROM owner")).one()
    assert tuple(owner) == ("Jiwoo Kim", "ko")
    # An OAuth callback would store tokens: refused as well.
    assert signed_in.get("/connections/strava/callback?code=x&state=y").status_code == 503


def test_an_htmx_change_is_sent_to_the_maintenance_page(signed_in, restoring):
    response = signed_in.post(
        "/connections/garmin/sync",
        headers={**ORIGIN, "HX-Request": "true", "HX-Current-URL": "http://testserver/wellness"},
    )
    assert response.status_code == 503
    assert response.headers["hx-redirect"] == "/maintenance?next=%2Fwellness"
    page = signed_in.get(response.headers["hx-redirect"], headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "Nothing was changed" in page.text and 'href="/wellness"' in page.text


def test_signing_in_and_out_still_work(client, owner, restoring):
    from tests.conftest import OWNER_PASSWORD

    signed = client.post("/login", data={"username": "jiwoo", "password": OWNER_PASSWORD})
    assert signed.status_code == 303
    assert client.get("/").status_code == 200
    assert client.post("/logout", headers=ORIGIN).status_code == 303


def test_the_polling_banner_reloads_the_page_when_the_restore_ends(signed_in, restoring):
    during = signed_in.get("/maintenance/banner", headers={"HX-Request": "true"})
    assert BANNER in during.text and "hx-refresh" not in during.headers
    restoring.end(replaced=False)
    after = signed_in.get("/maintenance/banner", headers={"HX-Request": "true"})
    assert BANNER not in after.text and after.headers["hx-refresh"] == "true"
    assert BANNER not in signed_in.get("/").text
    assert signed_in.post("/settings/recompute", headers=ORIGIN).status_code == 303


def test_a_moment_without_the_database_is_a_maintenance_page(app, signed_in, restoring, settings):
    from sqlalchemy.exc import OperationalError

    def switching():
        raise OperationalError("SELECT 1", {}, Exception("database is not accepting connections"))

    app.state.sessions = switching  # what the database switching over looks like
    response = signed_in.get("/wellness", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert "Restoring a backup" in response.text and response.headers["retry-after"]
    assert "Nothing was changed" not in response.text  # nothing was asked to change
    change = signed_in.post("/settings/recompute", headers={**ORIGIN, "Accept-Language": "en"})
    assert change.status_code == 503 and "Nothing was changed" in change.text
    restoring.end(replaced=False)
    with pytest.raises(OperationalError):  # outside a restore it is an error like any other
        signed_in.get("/wellness")


# --- sessions over a key change -------------------------------------------------------------


def _cookie(key: str, payload: dict) -> str:
    """A session cookie signed with ``key``, signed in a minute ago (within every lifetime)."""
    payload = {"since": int(time.time()) - 60, **payload}
    return TimestampSigner(key).sign(b64encode(json.dumps(payload).encode())).decode()


def test_a_restore_carries_the_sessions_open_here_over_to_the_new_key(app, signed_in, db_session):
    signing = app.state.session_signing
    before = signing.key
    restored_key = session_signing_key(Fernet.generate_key().decode())
    # What the restore did: the backup's key, and an owner whose epoch moved past 0 (ours)
    # and 3 (the backup's).
    db_session.execute(text("UPDATE owner SET session_epoch = 4"))
    db_session.commit()
    signing.rotate(restored_key, previous_epoch=0, epoch=4)

    assert signed_in.get("/").status_code == 200  # still signed in
    payload = json.loads(
        b64decode(TimestampSigner(restored_key).unsign(signed_in.cookies[SESSION_COOKIE]))
    )
    assert payload["epoch"] == 4  # signed again with the new key and epoch: survives a restart
    signing.rotate(restored_key, previous_epoch=None, epoch=None)  # what a restart knows
    assert signed_in.get("/").status_code == 200

    # Sessions from elsewhere or from other times do not come back.
    signing.key = before
    signing.rotate(restored_key, previous_epoch=0, epoch=4)
    for stale in (
        _cookie(restored_key, {"owner_id": 1, "epoch": 3}),  # the backup's, signed out since
        _cookie(restored_key, {"owner_id": 1, "epoch": 0}),  # the backup's key, our epoch
        _cookie(before, {"owner_id": 1, "epoch": 2}),  # ours, but ended before the restore
    ):
        other = TestClient(
            app, base_url="http://testserver", follow_redirects=False,
            cookies={SESSION_COOKIE: stale},
        )  # fmt: skip
        assert other.get("/").status_code == 303, stale
    carried = TestClient(
        app, base_url="http://testserver", follow_redirects=False,
        cookies={SESSION_COOKIE: _cookie(before, {"owner_id": 1, "epoch": 0})},
    )  # fmt: skip
    assert carried.get("/").status_code == 200  # and the same with our key and epoch is carried


# --- what the app keeps in memory ----------------------------------------------------------


def test_after_a_restore_caches_are_dropped_and_the_nightly_jobs_follow_the_restored_owner(
    app, signed_in, db_session
):
    from zoneinfo import ZoneInfo

    from app.jobs.nightly import NIGHTLY_BACKUP, NIGHTLY_SYNC
    from app.web.routes import activities, insights

    assert signed_in.get("/insights").status_code == 200
    assert insights._CACHE  # the page's statistics are kept per data version
    activities._DETAIL_CACHE[("kept",)] = ("an activity of the data before",)
    # The restored owner lives in New York and syncs at 03:10.
    db_session.execute(text("UPDATE owner SET timezone = 'America/New_York', sync_time = '03:10'"))
    db_session.commit()

    app.state.maintenance.begin("restore")
    app.state.maintenance.end(replaced=True)

    assert not insights._CACHE and not activities._DETAIL_CACHE
    scheduler = app.state.scheduler
    new_york = ZoneInfo("America/New_York")
    sync = scheduler.next_run(NIGHTLY_SYNC).astimezone(new_york)
    backup = scheduler.next_run(NIGHTLY_BACKUP).astimezone(new_york)
    assert (sync.hour, sync.minute) == (3, 10)
    assert (backup.hour, backup.minute) == (5, 30)
