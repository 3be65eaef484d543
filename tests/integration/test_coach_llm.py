"""The coach's language-model services against the real database and the fake LLM server:
settings precedence, the key encrypted at rest, every request recorded, the budget enforced
before a call (the month in the owner's time zone), the audit purge and the /metrics counters.

Nothing sleeps: the clock is injected (``tests.support.coach_llm.TestClock``)."""

from __future__ import annotations

import io
import logging
import socket
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from cryptography.fernet import Fernet
from prometheus_client import REGISTRY
from pydantic import BaseModel
from sqlalchemy import select, text

from app import i18n
from app.logs import configure_logging
from app.models import CoachSettings, LlmCall
from app.security.keys import SecretBox
from app.services.coach import audit, config, llm
from app.services.coach.config import SettingsForm
from tests.support.coach_llm import KEY, MODEL, TestClock, llm_settings
from tests.support.fake_llm import CHAT, EMBEDDINGS, openai_error


class Decision(BaseModel):
    action: Literal["rest", "ease", "maintain", "push"]
    reason: str


MESSAGES = [
    {"role": "system", "content": "You are a careful endurance coach."},
    {"role": "user", "content": "Should I rest today? TSB is -25."},
]


def ask(sessions, llm_env, llm_box, llm_clock, **kwargs):
    return llm.call_structured(
        sessions,
        llm_env,
        llm_box,
        purpose=kwargs.pop("purpose", "ask"),
        prompt_version=kwargs.pop("prompt_version", "ask-1"),
        messages=kwargs.pop("messages", MESSAGES),
        output=Decision,
        clock=llm_clock.clock,
        **kwargs,
    )


def rows(sessions) -> list[LlmCall]:
    with sessions() as session:
        return list(session.scalars(select(LlmCall).order_by(LlmCall.id)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- settings ----------------------------------------------------------------------------------


def test_each_setting_comes_from_the_page_else_the_environment_else_the_default(
    sessions, settings, llm_box, owner
):
    llm_env = llm_settings(
        settings,
        llm_base_url="http://ollama:11434/v1",
        llm_model="qwen3:8b",
        llm_monthly_token_budget=500_000,
    )
    with sessions() as session:
        current = config.load_config(session, llm_env)
    assert current.base_url == config.Value("http://ollama:11434/v1", "env")
    assert current.model == config.Value("qwen3:8b", "env")
    assert current.token_budget == config.Value(500_000, "env")
    assert current.timeout_s == config.Value(120.0, "default")
    assert current.retention_days == config.Value(30, "default")
    assert current.embedding_model == config.Value(None, "default")
    assert current.key.origin is None
    # The coach speaks the interface's language unless told otherwise.
    assert current.language.origin == "default"

    config.save_settings(
        sessions,
        llm_box,
        SettingsForm(
            model="gpt-4o-mini",
            timeout_s="45",
            retention_days="7",
            language="ko",
            token_budget="1,000,000",
        ),
    )
    with sessions() as session:
        current = config.load_config(session, llm_env)
    assert current.base_url == config.Value("http://ollama:11434/v1", "env")  # not entered here
    assert current.model == config.Value("gpt-4o-mini", "ui")
    assert current.timeout_s == config.Value(45.0, "ui")
    assert current.retention_days == config.Value(7, "ui")
    assert current.token_budget == config.Value(1_000_000, "ui")
    assert current.language == config.Value("ko", "ui")

    # Clearing a field hands it back to the environment.
    config.save_settings(sessions, llm_box, SettingsForm(timeout_s="45"))
    with sessions() as session:
        current = config.load_config(session, llm_env)
    assert current.model == config.Value("qwen3:8b", "env")
    assert current.token_budget == config.Value(500_000, "env")
    assert current.retention_days == config.Value(30, "default")


@pytest.mark.parametrize(
    ("form", "words"),
    [
        (SettingsForm(base_url="ollama:11434"), "http://"),
        (SettingsForm(model="gpt 4o"), "spaces"),
        (SettingsForm(timeout_s="soon"), "not a number"),
        (SettingsForm(timeout_s="0"), "between"),
        (SettingsForm(retention_days="99999"), "between"),
        (SettingsForm(language="fr"), "language"),
        (SettingsForm(prices=[("gpt-4o-mini", "0.15", "")]), "both prices"),
    ],
)
def test_a_wrong_value_is_refused_with_a_sentence_and_nothing_is_saved(
    sessions, llm_box, form, words
):
    with pytest.raises(config.CoachSettingsError, match=words):
        config.save_settings(sessions, llm_box, form)
    with sessions() as session:
        assert session.get(CoachSettings, 1) is None


def test_the_key_entered_on_the_page_is_encrypted_and_only_its_last_four_are_known(
    sessions, settings, llm_box, llm_server
):
    llm_env = llm_settings(settings, llm_api_key="sk-from-the-environment-0000")
    config.save_settings(
        sessions, llm_box, SettingsForm(base_url=llm_server.base_url, model=MODEL, api_key=KEY)
    )
    with sessions() as session:
        stored = session.execute(
            text("SELECT api_key_encrypted, api_key_last4 FROM coach_settings")
        ).one()
        dump = session.execute(text("SELECT row_to_json(c)::text FROM coach_settings c")).scalar()
    assert KEY not in dump and KEY[:-4] not in dump
    assert llm_box.decrypt(stored.api_key_encrypted) == KEY
    assert stored.api_key_last4 == KEY[-4:]

    with sessions() as session:
        shown = config.load_config(session, llm_env)  # no llm_box: the page's view
        used = config.load_config(session, llm_env, llm_box)
    assert shown.key == config.KeyState("ui", KEY[-4:]) and shown.api_key == ""
    assert used.api_key == KEY  # the page's key wins over the environment's
    assert KEY not in repr(used)

    # An empty key field keeps the key; "remove" hands it back to the environment.
    config.save_settings(sessions, llm_box, SettingsForm(base_url=llm_server.base_url, model=MODEL))
    with sessions() as session:
        assert config.load_config(session, llm_env, llm_box).api_key == KEY
    config.save_settings(
        sessions, llm_box, SettingsForm(base_url=llm_server.base_url, model=MODEL, forget_key=True)
    )
    with sessions() as session:
        back = config.load_config(session, llm_env, llm_box)
    assert back.key.origin == "env" and back.api_key == "sk-from-the-environment-0000"


def test_a_key_saved_under_another_secret_key_is_reported_not_used(
    sessions, settings, llm_box, llm_server, llm_clock
):
    config.save_settings(
        sessions, llm_box, SettingsForm(base_url=llm_server.base_url, model=MODEL, api_key=KEY)
    )
    other = SecretBox(Fernet.generate_key().decode())
    result = ask(sessions, llm_settings(settings), other, llm_clock)
    assert not result.ok and result.failure.code == "llm_key_unreadable"
    assert llm_server.requests == []


# --- calls -------------------------------------------------------------------------------------


def test_every_request_of_a_call_is_recorded_with_its_figures(
    sessions, llm_env, llm_box, llm_server, llm_clock
):
    llm_server.answer_text("Sure! I think you should rest.")  # not JSON: re-asked once
    llm_server.answer({"action": "rest", "reason": "TSB is low"})
    result = ask(
        sessions, llm_env, llm_box, llm_clock, purpose="daily_decision", prompt_version="decide-3"
    )
    assert result.ok and result.value == Decision(action="rest", reason="TSB is low")
    assert result.requests == 2 and result.model == MODEL

    first, second = rows(sessions)
    assert first.call_id == second.call_id == result.call_id
    assert (first.attempt, first.status, first.error_code) == (1, "invalid", "llm_invalid_json")
    assert (second.attempt, second.status, second.error_code) == (2, "ok", None)
    for row in (first, second):
        assert row.purpose == "daily_decision" and row.prompt_version == "decide-3"
        assert row.model == MODEL and row.kind == "chat"
        assert row.created_at == llm_clock.current
        assert row.prompt_tokens and row.prompt_tokens > 0 and row.completion_tokens
        assert row.latency_ms is not None and len(row.prompt_sha256) == 64
        assert "TSB is -25" in row.request and KEY not in row.request
        assert row.cost_usd is None  # no price entered
    assert second.temperature == 0.0  # the re-ask
    assert "rest" in second.response
    assert result.prompt_tokens == first.prompt_tokens + second.prompt_tokens


def test_a_secret_in_a_prompt_is_redacted_in_the_audit(
    sessions, llm_env, llm_box, llm_server, llm_clock
):
    llm_server.answer({"action": "ease", "reason": "ok"})
    messages = [{"role": "user", "content": "my api_key=sk-leaked-123456789 should I ease?"}]
    ask(sessions, llm_env, llm_box, llm_clock, messages=messages)
    (row,) = rows(sessions)
    assert "sk-leaked-123456789" not in row.request
    assert "api_key=***" in row.request


def test_the_cost_is_counted_when_the_model_has_a_price(
    sessions, llm_env, llm_box, llm_server, llm_clock
):
    config.save_settings(sessions, llm_box, SettingsForm(prices=[(MODEL, "2.50", "10")]))
    llm_server.answer({"action": "ease", "reason": "ok"})
    ask(sessions, llm_env, llm_box, llm_clock)
    (row,) = rows(sessions)
    expected = (row.prompt_tokens * 2.5 + row.completion_tokens * 10) / 1_000_000
    assert row.cost_usd == pytest.approx(expected)
    with sessions() as session:
        used = audit.usage(session, audit.month_of(llm_clock.current, "Asia/Seoul"))
    assert used.cost_usd == pytest.approx(expected) and used.unpriced_requests == 0


@pytest.mark.parametrize(
    ("script", "code", "words_en", "words_ko"),
    [
        (
            lambda f: f.fail(401, body=openai_error("bad key", code="invalid_api_key")),
            "llm_auth",
            "refused the API key",
            "API 키",
        ),
        (lambda f: f.fail(500, times=2), "llm_unavailable", "did not answer", "응답하지"),
        (
            lambda f: f.fail(
                429,
                body=openai_error("quota", type_="insufficient_quota", code="insufficient_quota"),
            ),
            "llm_quota_exceeded",
            "out of credit",
            "크레딧",
        ),
        (lambda f: f.truncate(times=2), "llm_truncated", "cut off", "잘려"),
        (lambda f: f.refuse(times=2), "llm_refused", "declined", "거절"),
        (
            lambda f: f.answer({"action": "sprint", "reason": "x"}, times=2),
            "llm_schema_violation",
            "expected form",
            "형식",
        ),
    ],
)
def test_a_failed_call_gives_a_code_and_a_sentence_in_the_owners_language(
    sessions, llm_env, llm_box, llm_server, llm_clock, owner, script, code, words_en, words_ko
):
    script(llm_server)
    owner_locale = "ko"
    with sessions.begin() as session:
        session.execute(text("UPDATE owner SET locale = :l"), {"l": owner_locale})
    result = ask(sessions, llm_env, llm_box, llm_clock)
    assert not result.ok and result.value is None
    assert result.failure.code == code
    assert words_ko in result.failure.sentence
    with i18n.using(locale="en"):
        assert words_en in result.failure.describe()
    recorded = rows(sessions)
    assert recorded and all(r.call_id == result.call_id for r in recorded)
    assert recorded[-1].error_code == code


def test_no_model_configured_is_a_sentence_and_no_request(sessions, settings, llm_box, llm_clock):
    result = ask(sessions, llm_settings(settings), llm_box, llm_clock)
    assert result.failure.code == "llm_not_configured"
    assert "Settings → Coach" in result.failure.describe()
    assert rows(sessions) == []


def test_the_key_is_never_logged(sessions, settings, llm_box, llm_server, llm_clock):
    key = "sk-proj-Coach7Lq2Wv9Xe4Rt8Yu1"
    llm_server.api_key = key
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    try:
        config.save_settings(
            sessions, llm_box, SettingsForm(base_url=llm_server.base_url, model=MODEL, api_key=key)
        )
        # Careless code logging the key right after it was saved is still safe.
        logging.getLogger("app.test").warning("the key was %s", key)
        llm_server.fail(500, body=openai_error(f"upstream said: invalid key {key}"), times=2)
        failed = ask(sessions, llm_settings(settings), llm_box, llm_clock)
    finally:
        logging.getLogger().handlers.clear()
    assert failed.failure.code == "llm_unavailable"
    assert llm_server.calls(CHAT)[0].headers["authorization"] == f"Bearer {key}"
    logged = stream.getvalue()
    assert "the key was ***" in logged
    assert key not in logged
    for row in rows(sessions):
        assert key not in (row.request or "") + (row.response or "") + (row.detail or "")


# --- budget ------------------------------------------------------------------------------------


def test_the_budget_is_enforced_before_the_call(
    sessions, llm_env, llm_box, llm_server, llm_clock, owner
):
    config.save_settings(sessions, llm_box, SettingsForm(token_budget="20"))
    llm_server.answer({"action": "rest", "reason": "tired legs after the long ride"})
    assert ask(sessions, llm_env, llm_box, llm_clock).ok  # under the budget when asked
    used = sum((r.prompt_tokens or 0) + (r.completion_tokens or 0) for r in rows(sessions))
    assert used >= 20
    sent = len(llm_server.requests)

    llm_clock.current += timedelta(hours=1)
    refused = ask(
        sessions, llm_env, llm_box, llm_clock, purpose="plan_draft", prompt_version="plan-2"
    )
    assert not refused.ok and refused.failure.code == "llm_budget_exceeded"
    assert len(llm_server.requests) == sent  # nothing reached the server
    assert refused.failure.params["resets_on"] == "2026-04-01"
    with i18n.using(locale="en"):
        assert "this month's budget" in refused.failure.describe()
        assert "20 tokens" in refused.failure.describe()
    last = rows(sessions)[-1]
    assert (last.status, last.error_code, last.purpose, last.attempt) == (
        "refused",
        "llm_budget_exceeded",
        "plan_draft",
        0,
    )
    assert last.prompt_tokens is None

    # The embeddings are held by the same budget.
    with sessions.begin() as session:
        session.execute(text("UPDATE coach_settings SET embedding_model = 'test-embed'"))
    vectors = llm.embed(
        sessions,
        llm_env,
        llm_box,
        purpose="library_index",
        texts=["easy run"],
        clock=llm_clock.clock,
    )
    assert vectors.failure.code == "llm_budget_exceeded" and llm_server.calls(EMBEDDINGS) == []


def test_a_cost_budget_stops_calls_once_spent(sessions, llm_env, llm_box, llm_server, llm_clock):
    config.save_settings(
        sessions,
        llm_box,
        SettingsForm(token_budget="0", cost_budget_usd="0.0001", prices=[(MODEL, "1000", "1000")]),
    )
    llm_server.answer({"action": "rest", "reason": "ok"})
    assert ask(sessions, llm_env, llm_box, llm_clock).ok
    refused = ask(sessions, llm_env, llm_box, llm_clock)
    assert refused.failure.code == "llm_budget_exceeded"
    assert refused.failure.params["kind"] == "cost"
    assert len(llm_server.calls(CHAT)) == 1


def test_the_budgets_month_is_the_owners_month_in_seoul(
    sessions, llm_env, llm_box, llm_server, owner
):
    """23:30 on 31 March in Seoul is still March (14:30 UTC); 00:30 on 1 April is April
    (15:30 UTC the same day)."""
    config.save_settings(sessions, llm_box, SettingsForm(token_budget="20"))
    march_night = TestClock(datetime(2026, 3, 31, 14, 0, tzinfo=UTC))  # 23:00 KST, 31 March
    llm_server.answer({"action": "rest", "reason": "tired legs after the long ride"})
    assert ask(sessions, llm_env, llm_box, march_night).ok

    march_night.current = datetime(2026, 3, 31, 14, 30, tzinfo=UTC)  # 23:30 KST
    refused = ask(sessions, llm_env, llm_box, march_night)
    assert refused.failure.code == "llm_budget_exceeded"
    assert refused.failure.params["resets_on"] == "2026-04-01"

    april = TestClock(datetime(2026, 3, 31, 15, 30, tzinfo=UTC))  # 00:30 KST, 1 April
    llm_server.answer({"action": "ease", "reason": "new month"})
    assert ask(sessions, llm_env, llm_box, april).ok
    with sessions() as session:
        month = audit.month_of(april.current, "Asia/Seoul")
        assert month.first_day.isoformat() == "2026-04-01"
        assert month.starts_at == datetime(2026, 3, 31, 15, 0, tzinfo=UTC)
        assert audit.usage(session, month).calls == 1


def test_usage_this_month_by_purpose(sessions, llm_env, llm_box, llm_server, llm_clock):
    llm_server.answer({"action": "rest", "reason": "a"})
    ask(sessions, llm_env, llm_box, llm_clock, purpose="ask")
    llm_server.answer_text("nope")
    llm_server.answer({"action": "push", "reason": "b"})
    ask(sessions, llm_env, llm_box, llm_clock, purpose="daily_decision")
    llm_server.answer({"action": "push", "reason": "c"})
    ask(sessions, llm_env, llm_box, llm_clock, purpose="daily_decision")
    with sessions() as session:
        used = audit.usage(session, audit.month_of(llm_clock.current, "Asia/Seoul"))
    by = {p.purpose: p for p in used.purposes}
    assert by["ask"].calls == 1 and by["ask"].requests == 1
    assert by["daily_decision"].calls == 2 and by["daily_decision"].requests == 3
    recorded = rows(sessions)
    assert used.prompt_tokens == sum(r.prompt_tokens for r in recorded)
    assert used.completion_tokens == sum(r.completion_tokens for r in recorded)
    assert used.cost_usd is None and used.unpriced_requests == 4


# --- audit purge -------------------------------------------------------------------------------


def test_the_audit_texts_are_emptied_after_the_retention(sessions, llm_env, llm_box, llm_server):
    config.save_settings(sessions, llm_box, SettingsForm(retention_days="30"))
    old = TestClock(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    recent = TestClock(datetime(2026, 1, 25, 12, 0, tzinfo=UTC))
    llm_server.answer({"action": "rest", "reason": "old"}, times=2)
    ask(sessions, llm_env, llm_box, old)
    ask(sessions, llm_env, llm_box, recent)

    now = datetime(2026, 2, 1, 12, 0, 1, tzinfo=UTC)  # 31 days after the first
    assert audit.purge_expired(sessions, llm_env, now=now) == 1
    first, second = rows(sessions)
    assert first.request is None and first.response is None and first.purged_at == now
    assert first.prompt_tokens and first.prompt_sha256  # the figures stay
    assert second.request is not None and second.purged_at is None
    assert audit.purge_expired(sessions, llm_env, now=now) == 0  # once


# --- metrics -----------------------------------------------------------------------------------


def _sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_metrics_count_requests_and_tokens(sessions, llm_env, llm_box, llm_server, llm_clock):
    purpose = "metrics_probe"
    before_ok = _sample("domestique_llm_calls_total", purpose=purpose, status="ok")
    before_invalid = _sample("domestique_llm_calls_total", purpose=purpose, status="invalid")
    before_prompt = _sample("domestique_llm_tokens_total", purpose=purpose, kind="prompt")
    before_completion = _sample("domestique_llm_tokens_total", purpose=purpose, kind="completion")
    llm_server.answer_text("not json")
    llm_server.answer({"action": "rest", "reason": "ok"})
    ask(sessions, llm_env, llm_box, llm_clock, purpose=purpose)
    recorded = rows(sessions)
    assert _sample("domestique_llm_calls_total", purpose=purpose, status="ok") == before_ok + 1
    assert (
        _sample("domestique_llm_calls_total", purpose=purpose, status="invalid")
        == before_invalid + 1
    )
    assert _sample(
        "domestique_llm_tokens_total", purpose=purpose, kind="prompt"
    ) == before_prompt + sum(r.prompt_tokens for r in recorded)
    assert _sample(
        "domestique_llm_tokens_total", purpose=purpose, kind="completion"
    ) == before_completion + sum(r.completion_tokens for r in recorded)

    config.save_settings(sessions, llm_box, SettingsForm(token_budget="1"))
    before_refused = _sample("domestique_llm_calls_total", purpose=purpose, status="refused")
    ask(sessions, llm_env, llm_box, llm_clock, purpose=purpose)
    assert (
        _sample("domestique_llm_calls_total", purpose=purpose, status="refused")
        == before_refused + 1
    )


# --- Test connection ---------------------------------------------------------------------------


def _test(sessions, settings, llm_box, llm_clock, **form):
    config.save_settings(sessions, llm_box, SettingsForm(**form))
    with i18n.using(locale="en"):
        return llm.test_connection(sessions, settings, llm_box, clock=llm_clock.clock)


def test_connection_ok_in_words_and_recorded(sessions, settings, llm_box, llm_server, llm_clock):
    llm_server.answer({"ok": True})
    result = _test(
        sessions,
        llm_settings(settings),
        llm_box,
        llm_clock,
        base_url=llm_server.base_url,
        model=MODEL,
        api_key=KEY,
        embedding_model="test-embed",
    )
    assert result.ok and result.code == "ok"
    assert result.sentences[0] == f"Connected: {MODEL} answered a structured request correctly."
    assert "embedding model test-embed answered too" in result.sentences[1]
    recorded = rows(sessions)
    assert [r.kind for r in recorded] == ["models", "chat", "embedding"]
    assert {r.purpose for r in recorded} == {"check"}
    assert {r.prompt_version for r in recorded} == {"check-1"}


@pytest.mark.parametrize(
    ("case", "code", "words"),
    [
        ("key", "key_refused", "refused the key"),
        ("model", "model_not_found", "does not have the model"),
        ("address", "wrong_address", "ends in /v1"),
        ("unreachable", "unreachable", "cannot be reached"),
        ("unstructured", "not_structured", "structured outputs"),
        ("rate", "rate_limited", "limiting requests"),
        ("quota", "quota_exceeded", "out of credit"),
    ],
)
def test_connection_failures_in_words(
    sessions, settings, llm_box, llm_server, llm_clock, case, code, words
):
    form = {"base_url": llm_server.base_url, "model": MODEL, "api_key": KEY}
    if case == "key":
        form["api_key"] = "sk-wrong-key-0000000000"
    elif case == "model":
        form["model"] = "llama9:70b"
    elif case == "address":
        form["base_url"] = llm_server.root_url
    elif case == "unreachable":
        form["base_url"] = f"http://127.0.0.1:{free_port()}/v1"
    elif case == "unstructured":
        llm_server.answer_text("ok", times=2)
    elif case == "rate":
        llm_server.fail(429, headers={"Retry-After": "5"})
    elif case == "quota":
        llm_server.fail(
            429,
            body=openai_error("quota", type_="insufficient_quota", code="insufficient_quota"),
        )
    result = _test(sessions, llm_settings(settings), llm_box, llm_clock, **form)
    assert not result.ok and result.code == code
    assert words in " ".join(result.sentences)
    assert llm_clock.sleeps == []  # the button never waits
    if case == "model":
        assert "The server offers: coach-model" in result.sentences[1]
    assert rows(sessions), "the test's requests are recorded too"


def test_connection_without_settings_says_how_to_configure(sessions, settings, llm_box, llm_clock):
    with i18n.using(locale="ko"):
        result = llm.test_connection(
            sessions, llm_settings(settings), llm_box, clock=llm_clock.clock
        )
    assert result.code == "not_configured" and not result.ok
    assert "설정" in result.sentences[0]


def test_the_app_schedules_the_audit_purge_at_night_in_the_owners_time_zone(
    settings, sessions, owner, llm_box, llm_server
):
    from zoneinfo import ZoneInfo

    from fastapi.testclient import TestClient

    from app.jobs.coach import AUDIT_PURGE
    from app.jobs.registry import JobRegistry
    from app.web.app import create_app

    app = create_app(settings, jobs=JobRegistry())
    app.state.sessions = sessions
    with TestClient(app):
        when = app.state.scheduler.next_run(AUDIT_PURGE)
    local = when.astimezone(ZoneInfo(owner.timezone))
    assert (local.hour, local.minute) == (3, 40)

    # The job's function is the purge with the retention in force.
    from app.jobs.coach import audit_purge_job

    config.save_settings(sessions, llm_box, SettingsForm(retention_days="1"))
    llm_env = llm_settings(
        settings, llm_base_url=llm_server.base_url, llm_model=MODEL, llm_api_key=KEY
    )
    llm_server.answer({"action": "rest", "reason": "old"})
    ask(sessions, llm_env, llm_box, TestClock(datetime.now(UTC) - timedelta(days=2)))
    audit_purge_job(sessions, llm_env).func()
    (row,) = rows(sessions)
    assert row.request is None and row.purged_at is not None
