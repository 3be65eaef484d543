"""Settings → change password: the current one required, every other session ends."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.web.app import SESSION_COOKIE
from tests.conftest import OWNER_PASSWORD

NEW = "a brand new passphrase"


def _change(client, current=OWNER_PASSWORD, new=NEW, confirm=NEW):
    return client.post(
        "/settings/password",
        data={"current_password": current, "new_password": new, "new_password_confirm": confirm},
    )


def test_changing_the_password_ends_other_sessions_and_keeps_this_one(signed_in, app):
    other = TestClient(app, base_url="http://testserver", follow_redirects=False)
    other.cookies.set(SESSION_COOKIE, signed_in.cookies[SESSION_COOKIE])  # a second browser
    assert other.get("/settings").status_code == 200

    response = _change(signed_in)
    assert response.status_code == 303
    assert response.headers["location"].endswith("/settings?password=changed#password")
    page = signed_in.get("/settings?password=changed")
    assert page.status_code == 200 and "password was changed" in page.text

    assert other.get("/settings").status_code == 303  # signed out
    signed_in.post("/logout")
    old = signed_in.post("/login", data={"username": "jiwoo", "password": OWNER_PASSWORD})
    assert old.status_code == 401
    new = signed_in.post("/login", data={"username": "jiwoo", "password": NEW})
    assert new.status_code == 303


def test_a_wrong_current_password_changes_nothing(signed_in):
    response = _change(signed_in, current="not the password")
    assert response.status_code == 422
    assert "current password is not right" in response.text
    assert signed_in.get("/settings").status_code == 200  # still signed in
    signed_in.post("/logout")
    assert (
        signed_in.post("/login", data={"username": "jiwoo", "password": OWNER_PASSWORD}).status_code
        == 303
    )


def test_a_short_or_mismatched_new_password_is_refused(signed_in):
    assert _change(signed_in, new="short", confirm="short").status_code == 422
    mismatch = _change(signed_in, confirm="something else entirely")
    assert mismatch.status_code == 422 and "not the same" in mismatch.text


def test_the_form_is_in_both_languages(signed_in):
    signed_in.post("/settings", data={"display_name": "Jiwoo", "locale": "ko", "timezone": "UTC"})
    page = signed_in.get("/settings").text
    assert "비밀번호 변경" in page and 'name="current_password"' in page


def test_guessing_the_current_password_is_throttled(signed_in, app):
    for _ in range(app.state.settings.login_attempts_per_minute):
        _change(signed_in, current="guess")
    response = _change(signed_in)
    assert response.status_code == 422 and "Too many attempts" in response.text
