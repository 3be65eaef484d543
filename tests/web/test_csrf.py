"""Cross-origin protection on every state change."""

from __future__ import annotations

import pytest

from tests.conftest import OWNER_PASSWORD

STATE_CHANGES = [
    ("/logout", {}),
    ("/settings", {"display_name": "Mallory", "locale": "en", "timezone": "UTC"}),
    ("/settings/sign-out-everywhere", {}),
    ("/language", {"locale": "en", "next": "/"}),
]


@pytest.mark.parametrize(("path", "form"), STATE_CHANGES)
def test_hostile_origin_is_refused(signed_in, path, form):
    response = signed_in.post(path, data=form, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert "another site" in response.text or "다른 사이트" in response.text
    assert signed_in.get("/settings").status_code == 200  # still signed in, nothing changed
    assert "Mallory" not in signed_in.get("/settings").text


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_cross_site_fetch_metadata_is_refused(signed_in, site):
    response = signed_in.post("/logout", headers={"Sec-Fetch-Site": site})
    assert response.status_code == 403


def test_null_origin_is_refused(signed_in):
    assert signed_in.post("/logout", headers={"Origin": "null"}).status_code == 403


def test_login_from_another_site_is_refused(client, owner):
    response = client.post(
        "/login",
        data={"username": "jiwoo", "password": OWNER_PASSWORD},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403


def test_same_origin_requests_pass(signed_in):
    response = signed_in.post(
        "/settings",
        data={"display_name": "Jiwoo", "locale": "en", "timezone": "UTC"},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 303


def test_origin_on_another_port_is_another_site(signed_in):
    response = signed_in.post("/logout", headers={"Origin": "http://testserver:8080"})
    assert response.status_code == 403
