"""Pages and fragments, language and localisation."""

from __future__ import annotations

import re

import pytest

AREAS = {
    "/": ("Dashboard", "대시보드"),
    "/activities": ("Activities", "활동"),
    "/wellness": ("Wellness", "웰니스"),
    "/insights": ("Insights", "인사이트"),
    "/plan": ("Plan", "계획"),
    "/calendar": ("Calendar", "캘린더"),
    "/missions": ("Missions", "미션"),
    "/connections": ("Connections", "연결"),
    "/settings": ("Settings", "설정"),
}


@pytest.mark.parametrize("path", AREAS)
def test_full_page_and_htmx_fragment(signed_in, path):
    title, _ko = AREAS[path]
    page = signed_in.get(path, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "HX-Request" in page.headers["vary"]
    assert page.text.lstrip().startswith("<!doctype html>")
    assert f"<h1>{title}</h1>" in page.text
    assert 'aria-current="page"' in page.text

    fragment = signed_in.get(path, headers={"HX-Request": "true", "Accept-Language": "en"})
    assert fragment.status_code == 200
    assert "HX-Request" in fragment.headers["vary"]
    assert "<html" not in fragment.text and f"<h1>{title}</h1>" in fragment.text

    boosted = signed_in.get(path, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text  # boosted navigation swaps the whole body


@pytest.mark.parametrize("path", AREAS)
def test_pages_in_korean(signed_in, path):
    _title, korean = AREAS[path]
    page = signed_in.get(path, headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"})
    assert f"<h1>{korean}</h1>" in page.text
    assert '<html lang="ko">' in page.text


def test_empty_states_say_how_to_get_data_in(signed_in):
    page = signed_in.get("/", headers={"Accept-Language": "en"})
    assert 'data-testid="empty-state"' in page.text
    assert "Import FIT files" in page.text and 'href="/connections"' in page.text


def test_language_switch_keeps_the_page_and_is_remembered(signed_in):
    response = signed_in.post("/language", data={"locale": "ko", "next": "/wellness?range=90"})
    assert response.status_code == 303
    assert response.headers["location"] == "/wellness?range=90"
    page = signed_in.get("/wellness", headers={"Accept-Language": "en"})
    assert "<h1>웰니스</h1>" in page.text  # the owner's choice beats the browser's
    signed_in.post("/language", data={"locale": "en", "next": "/"})
    assert "<h1>Wellness</h1>" in signed_in.get("/wellness").text


def test_language_switch_before_login_uses_a_cookie(client, owner):
    client.post("/language", data={"locale": "ko", "next": "/login"})
    page = client.get("/login", headers={"Accept-Language": "en"})
    assert "<h1>로그인</h1>" in page.text


def test_language_switch_refuses_unknown_languages(signed_in):
    assert signed_in.post("/language", data={"locale": "xx", "next": "/"}).status_code == 400


def test_settings_save_and_validate(signed_in):
    response = signed_in.post(
        "/settings", data={"display_name": "지우", "locale": "ko", "timezone": "Europe/Berlin"}
    )
    assert response.status_code == 303
    page = signed_in.get("/settings")
    assert "설정을 저장했습니다" not in page.text  # only after the redirect's ?saved=1
    saved = signed_in.get(response.headers["location"])
    assert "설정을 저장했습니다" in saved.text
    assert re.search(r"<option selected>Europe/Berlin</option>", saved.text)
    assert 'data-testid="owner-name">지우<' in saved.text

    bad = signed_in.post(
        "/settings", data={"display_name": "지우", "locale": "ko", "timezone": "Mars/Olympus"}
    )
    assert bad.status_code == 422
    assert "알 수 없는 시간대" in bad.text


def test_static_files_are_public_and_htmx_is_local(client):
    css = client.get("/static/css/app.css")
    assert css.status_code == 200 and "--tap: 44px" in css.text
    page = client.get("/setup")
    assert re.search(
        r'<script src="http://testserver/static/vendor/htmx-[\d.]+\.min\.js"', page.text
    )
    assert "cdn" not in page.text.lower() and "unpkg" not in page.text.lower()
