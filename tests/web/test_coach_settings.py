"""Settings → Coach and What the coach sees through HTTP: behind the login, CSRF on every form,
which value is in force and where it came from, the key never shown back, *Test connection*
in words (with and without HTMX), the usage this month, the withhold switches, Korean and
English."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from app.models import CoachSettings, LlmCall
from tests.support.coach_llm import KEY, MODEL, TestClock, llm_settings
from tests.support.fake_llm import CHAT, FakeLlm
from tests.support.korean import ALLOWED, english_words, visible_text

ORIGIN = {"Origin": "http://testserver"}
KO = {"Accept-Language": "ko-KR,ko;q=0.9"}
EN = {"Accept-Language": "en"}
HTMX = {"HX-Request": "true"}


@pytest.fixture
def fake() -> Iterator[FakeLlm]:
    server = FakeLlm(api_key=KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock(app) -> TestClock:
    test_clock = TestClock(datetime.now(UTC))
    app.state.llm_clock = test_clock.clock
    return test_clock


def form(fake: FakeLlm, **changes) -> dict[str, str]:
    return {"base_url": fake.base_url, "model": MODEL, "api_key": KEY, **changes}


def in_force(page: str, name: str) -> tuple[str, str]:
    """(the origin, the words) of the "in force" line of a field."""
    match = re.search(rf'data-testid="in-force-{name}" data-origin="(\w+)">(.*?)</p>', page, re.S)
    assert match, name
    return match.group(1), re.sub(r"<[^>]+>", "", match.group(2)).strip()


def test_the_pages_are_behind_the_login(client, owner):
    for path in ("/settings/coach", "/settings/coach/context"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    refused = client.post("/settings/coach", data={"model": "x"}, headers=ORIGIN)
    assert refused.status_code in (303, 401, 403)


def test_settings_links_to_the_coach(signed_in):
    page = signed_in.get("/settings", headers=EN).text
    assert 'href="/settings/coach"' in page and 'href="/settings/coach/context"' in page


def test_the_page_says_which_value_is_in_force_and_where_from(app, signed_in, settings):
    app.state.settings = llm_settings(
        settings, llm_base_url="http://ollama:11434/v1", llm_model="qwen3:8b"
    )
    page = signed_in.get("/settings/coach", headers=EN).text
    assert in_force(page, "base_url") == (
        "env",
        "In force: http://ollama:11434/v1 (from the environment)",
    )
    assert in_force(page, "model") == ("env", "In force: qwen3:8b (from the environment)")
    assert in_force(page, "timeout_s") == ("default", "In force: 120 (default)")
    assert in_force(page, "token_budget") == ("default", "In force: 2,000,000 tokens (default)")
    assert in_force(page, "embedding_model")[0] == "default"
    assert "No key set" in page

    saved = signed_in.post(
        "/settings/coach",
        data={"model": "gpt-4o-mini", "retention_days": "14", "token_budget": "0"},
        headers=ORIGIN,
    )
    assert saved.status_code == 303
    page = signed_in.get(saved.headers["location"], headers=EN).text
    assert 'data-testid="saved"' in page
    assert in_force(page, "model") == ("ui", "In force: gpt-4o-mini (entered here)")
    assert in_force(page, "base_url")[0] == "env"
    assert in_force(page, "retention_days") == ("ui", "In force: 14 days (entered here)")
    assert in_force(page, "token_budget") == ("ui", "In force: no limit (entered here)")
    assert 'value="gpt-4o-mini"' in page


def test_the_key_is_stored_encrypted_and_never_shown_back(app, signed_in, db_session, fake):
    response = signed_in.post("/settings/coach", data=form(fake), headers=ORIGIN)
    assert response.status_code == 303
    stored = db_session.execute(text("SELECT row_to_json(c)::text FROM coach_settings c")).scalar()
    assert KEY not in stored
    assert app.state.secret_box.decrypt(db_session.get(CoachSettings, 1).api_key_encrypted) == KEY
    for headers in (EN, KO, {**EN, **HTMX}):
        page = signed_in.get("/settings/coach", headers=headers).text
        assert KEY not in page and KEY[:-4] not in page
    page = signed_in.get("/settings/coach", headers=EN).text
    assert "Key set (entered here)." in page
    assert f'data-testid="key-last4">{KEY[-4:]}<' in page
    assert 'name="api_key" type="password"' in page


def test_a_wrong_value_keeps_what_was_typed_except_the_key(signed_in, db_session, fake):
    response = signed_in.post(
        "/settings/coach", data=form(fake, timeout_s="soon"), headers={**ORIGIN, **EN}
    )
    assert response.status_code == 422
    assert "The timeout is not a number." in response.text
    assert f'value="{fake.base_url}"' in response.text and 'value="soon"' in response.text
    assert KEY not in response.text
    assert db_session.get(CoachSettings, 1) is None  # nothing saved


@pytest.mark.parametrize(
    "path", ["/settings/coach", "/settings/coach/test", "/settings/coach/context"]
)
def test_a_hostile_origin_changes_nothing(signed_in, db_session, fake, path):
    data = {**form(fake), "withhold": "wellness"}
    response = signed_in.post(path, data=data, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert db_session.get(CoachSettings, 1) is None
    assert fake.requests == []


def test_test_connection_with_htmx_swaps_the_result_in_words(signed_in, fake, clock):
    fake.answer({"ok": True})
    response = signed_in.post(
        "/settings/coach/test", data=form(fake), headers={**ORIGIN, **HTMX, **EN}
    )
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="coach-settings"' in response.text
    assert 'data-testid="test-result" data-code="ok"' in response.text
    assert f"Connected: {MODEL} answered a structured request correctly." in response.text
    assert fake.calls(CHAT)[0].headers["authorization"] == f"Bearer {KEY}"
    # The test's requests count in the usage this month.
    assert 'data-purpose="check"' in response.text and "Connection test" in response.text


def test_test_connection_without_htmx_and_in_korean(signed_in, fake, clock):
    response = signed_in.post(
        "/settings/coach/test",
        data=form(fake, api_key="sk-wrong-key-000000000"),
        headers={**ORIGIN, **KO},
    )
    assert response.status_code == 200
    assert '<html lang="ko">' in response.text
    assert 'data-code="key_refused"' in response.text
    assert "서버가 키를 거부했습니다. API 키를 확인하세요." in response.text
    assert "sk-wrong-key-000000000" not in response.text


def test_test_connection_model_not_found_lists_the_servers_models(signed_in, fake, clock):
    response = signed_in.post(
        "/settings/coach/test", data=form(fake, model="llama9:70b"), headers={**ORIGIN, **EN}
    )
    assert 'data-code="model_not_found"' in response.text
    assert "The server does not have the model llama9:70b." in response.text
    assert "The server offers: coach-model, test-embed." in response.text


def test_the_usage_this_month_and_a_used_up_budget(signed_in, db_session, fake, clock):
    fake.answer({"ok": True})
    signed_in.post(
        "/settings/coach/test",
        data=form(
            fake, token_budget="10", price_model=MODEL, price_prompt="1", price_completion="2"
        ),
        headers={**ORIGIN, **EN},
    )
    rows = db_session.scalars(select(LlmCall).where(LlmCall.kind == "chat")).all()
    prompt = sum(r.prompt_tokens for r in rows)
    completion = sum(r.completion_tokens for r in rows)
    page = signed_in.get("/settings/coach", headers=EN).text
    assert f'data-testid="usage-prompt">{prompt}<' in page
    assert f'data-testid="usage-completion">{completion}<' in page
    assert 'data-testid="usage-calls">1<' in page
    assert 'data-testid="budget-exceeded"' in page  # more than 10 tokens used
    assert 'data-testid="usage-cost">US$0.00<' in page
    assert 'value="coach-model"' in page  # the price row


def test_metrics_count_the_calls(signed_in, fake, clock):
    fake.answer({"ok": True})
    signed_in.post("/settings/coach/test", data=form(fake), headers=ORIGIN)
    metrics = signed_in.get("/metrics").text
    assert re.search(r'domestique_llm_calls_total\{purpose="check",status="ok"\} [1-9]', metrics)
    assert re.search(
        r'domestique_llm_tokens_total\{kind="prompt",purpose="check"\} [1-9]', metrics
    ) or re.search(r'domestique_llm_tokens_total\{purpose="check",kind="prompt"\} [1-9]', metrics)


def test_what_the_coach_sees_shows_the_snapshot_and_the_last_calls(signed_in, fake, clock):
    fake.answer({"ok": True})
    signed_in.post("/settings/coach/test", data=form(fake), headers=ORIGIN)
    page = signed_in.get("/settings/coach/context", headers=EN).text
    assert 'data-testid="snapshot"' in page and "snapshot_version" in page
    assert 'data-testid="call-check"' in page
    assert "Connection test" in page
    assert "You are a connection test" in page  # the exact request sent
    assert KEY not in page

    fragment = signed_in.get("/settings/coach/context", headers={**EN, **HTMX}).text
    assert "<html" not in fragment and 'id="coach-context"' in fragment


def _snapshot(page: str) -> dict:
    found = re.search(r'data-testid="snapshot"><code>(.*?)</code>', page, re.S)
    assert found
    return json.loads(html.unescape(found.group(1)))


def test_withholding_a_group_is_stored_and_applied(signed_in, db_session):
    shown = _snapshot(signed_in.get("/settings/coach/context", headers=EN).text)
    assert "wellness" in shown and "body_weight" in shown and shown["withheld"] == []
    response = signed_in.post(
        "/settings/coach/context", data={"withhold": ["wellness", "notes"]}, headers=ORIGIN
    )
    assert response.status_code == 303
    assert db_session.get(CoachSettings, 1).withheld == ["wellness", "notes"]
    page = signed_in.get(response.headers["location"], headers=EN).text
    assert 'data-testid="saved"' in page
    shown = _snapshot(page)
    assert "wellness" not in shown and "body_weight" in shown
    assert shown["withheld"] == ["wellness", "notes"]
    assert re.search(r'value="wellness"\s+checked', page)
    assert not re.search(r'value="body_weight"\s+checked', page)

    bad = signed_in.post("/settings/coach/context", data={"withhold": "gps"}, headers=ORIGIN)
    assert bad.status_code == 400
    assert db_session.get(CoachSettings, 1).withheld == ["wellness", "notes"]


@pytest.mark.parametrize("path", ["/settings/coach", "/settings/coach/context"])
def test_the_pages_read_as_korean(signed_in, fake, clock, path):
    fake.answer({"ok": True})
    signed_in.post("/settings/coach/test", data=form(fake), headers={**ORIGIN, **KO})
    page = signed_in.get(path, headers=KO).text
    assert '<html lang="ko">' in page
    english = {w for t in visible_text(page) for w in english_words(t, ALLOWED | {"Jiwoo", "Kim"})}
    assert english == set()
    assert "코치" in page
