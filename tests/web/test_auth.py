"""First run, login, logout, throttling, cookies — through HTTP, with and without HTMX."""

from __future__ import annotations

import pytest

from app.services.owner import account
from tests.conftest import OWNER_PASSWORD, setup_code_of, with_settings

PROTECTED = [
    "/",
    "/activities",
    "/wellness",
    "/insights",
    "/plan",
    "/calendar",
    "/missions",
    "/connections",
    "/settings",
]
SETUP_FORM = {
    "display_name": "Jiwoo Kim",
    "username": "jiwoo",
    "password": OWNER_PASSWORD,
    "password_confirm": OWNER_PASSWORD,
    "locale": "ko",
    "timezone": "Asia/Seoul",
}


@pytest.mark.parametrize("path", [*PROTECTED, "/login"])
def test_first_run_sends_every_page_to_setup(client, path):
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/setup"


def test_first_run_redirect_for_htmx_uses_hx_redirect(client):
    response = client.get("/activities", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/setup"


def test_setup_creates_the_owner_signs_in_and_disappears(client, db_session, settings):
    form = client.get("/setup")
    assert form.status_code == 200 and 'name="password_confirm"' in form.text
    assert 'name="setup_code"' in form.text

    code = setup_code_of(settings)
    response = client.post("/setup", data={**SETUP_FORM, "setup_code": code})
    assert response.status_code == 303 and response.headers["location"].endswith("/")
    assert account.owner_exists(db_session)

    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Jiwoo Kim" in dashboard.text
    assert "대시보드" in dashboard.text  # the owner chose Korean

    again = client.get("/setup")
    assert again.status_code == 303 and again.headers["location"] == "/"
    assert not (settings.data_dir / "setup-code").exists()  # used once, then gone
    second = client.post("/setup", data={**SETUP_FORM, "username": "intruder", "setup_code": code})
    assert second.status_code == 303  # the gate answers before the form is read
    assert not client.cookies.get("owner_id")


def test_setup_rejects_mismatched_and_short_passwords(client, db_session, settings):
    form = {**SETUP_FORM, "setup_code": setup_code_of(settings)}
    response = client.post("/setup", data={**form, "password_confirm": "different one"})
    assert response.status_code == 422
    assert "두 비밀번호가 서로 다릅니다" in response.text or "not the same" in response.text
    short = client.post("/setup", data={**form, "password": "short", "password_confirm": "short"})
    assert short.status_code == 422
    assert not account.owner_exists(db_session)


@pytest.mark.parametrize("path", PROTECTED)
def test_pages_need_the_owner(client, owner, path):
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_login_returns_to_the_page_asked_for(client, owner):
    response = client.post(
        "/login", data={"username": "jiwoo", "password": OWNER_PASSWORD, "next": "/wellness"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/wellness"
    assert client.get("/wellness").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_login_never_redirects_off_site(client, owner, target):
    response = client.post(
        "/login", data={"username": "jiwoo", "password": OWNER_PASSWORD, "next": target}
    )
    assert response.headers["location"] == "/"


def test_wrong_password_is_refused_with_a_message(client, owner):
    response = client.post("/login", data={"username": "jiwoo", "password": "wrong password!"})
    assert response.status_code == 401
    assert client.get("/").status_code == 303


def test_login_is_throttled_per_client(client, owner, settings):
    for _ in range(settings.login_attempts_per_minute):
        assert (
            client.post("/login", data={"username": "jiwoo", "password": "nope"}).status_code == 401
        )
    blocked = client.post("/login", data={"username": "jiwoo", "password": OWNER_PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert "Too many login attempts" in blocked.text
    assert client.get("/").status_code == 303  # the right password did not get through


def test_session_cookie_flags(client, owner):
    response = client.post("/login", data={"username": "jiwoo", "password": OWNER_PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "domestique_session=" in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie


def test_secure_cookie_when_configured(settings, sessions, owner):
    from fastapi.testclient import TestClient

    from app.jobs.registry import JobRegistry
    from app.web.app import create_app

    application = create_app(
        with_settings(settings, **{"session_cookie_secure": True}), jobs=JobRegistry()
    )
    application.state.sessions = sessions
    with TestClient(application, base_url="https://testserver", follow_redirects=False) as client:
        response = client.post("/login", data={"username": "jiwoo", "password": OWNER_PASSWORD})
        assert "; secure" in response.headers["set-cookie"].lower()


def test_logout_ends_the_session(signed_in):
    assert signed_in.get("/").status_code == 200
    response = signed_in.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert signed_in.get("/").status_code == 303


def test_sign_out_everywhere_invalidates_other_browsers(signed_in, app, owner):
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as other:
        other.post("/login", data={"username": "jiwoo", "password": OWNER_PASSWORD})
        assert other.get("/").status_code == 200
        assert signed_in.post("/settings/sign-out-everywhere").status_code == 303
        assert other.get("/").status_code == 303
    assert signed_in.get("/").status_code == 303


def test_a_forged_cookie_is_not_a_session(client, owner):
    client.cookies.set("domestique_session", "eyJvd25lcl9pZCI6IDF9.forged.signature")
    assert client.get("/").status_code == 303
