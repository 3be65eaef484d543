"""LlmClient against a fake OpenAI-compatible server on loopback (tests/support/fake_llm.py).

The OpenAI SDK and its httpx2 transport run unchanged; only the base URL points at the fake.
Waits go through an injected ``sleep`` that records what it was asked (nothing sleeps), and the
timeout cases let the client's own timeout fire while the fake holds the answer.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from enum import StrEnum
from typing import Annotated, Literal

import openai
import pytest
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, Field

from app.coach.example import plan_example
from app.coach.llm_schema import (
    DraftInvalid,
    LlmPlanDraft,
    draft_from_plan,
    llm_plan_schema,
    plan_from_draft,
)
from app.logs import configure_logging
from app.sources import SourceAuthError, SourceDataError, SourceRateLimited, SourceUnavailable
from app.sources.llm import (
    LlmAuthError,
    LlmClient,
    LlmOutputInvalid,
    LlmRateLimited,
    LlmUnavailable,
    prompt_sha256,
    strict_json_schema,
)
from app.sources.llm.client import DEFAULT_RATE_LIMIT_WAIT_S, RETRY_BACKOFF_S
from tests.support.embedder import DIMENSION, embed_text
from tests.support.fake_llm import CHAT, EMBEDDINGS, MODELS, FakeLlm, openai_error, schema_problem

KEY = "sk-test-3f9a1c7e5b2d4a60"
MESSAGES = [
    {"role": "system", "content": "You are a careful endurance coach."},
    {"role": "user", "content": "Should I rest today? TSB is -25."},
]


class Decision(BaseModel):
    action: Literal["rest", "recover", "ease", "maintain", "push"]
    reason: str


class Intensity(StrEnum):
    low = "low"
    moderate = "moderate"
    high = "high"


class Run(BaseModel):
    kind: Literal["run"]
    km: float
    pace_s_per_km: int | None = None


class Ride(BaseModel):
    kind: Literal["ride"]
    minutes: int
    watts: int | None = None


class Session(BaseModel):
    day: str
    intensity: Intensity
    note: str | None = None
    activity: Annotated[Run | Ride, Field(discriminator="kind")]


class Week(BaseModel):
    focus: Intensity
    sessions: list[Session]
    flags: list[str]


WEEK = {
    "focus": "moderate",
    "sessions": [
        {
            "day": "2026-03-02",
            "intensity": "low",
            "note": None,
            "activity": {"kind": "run", "km": 8.5, "pace_s_per_km": None},
        },
        {
            "day": "2026-03-04",
            "intensity": "high",
            "note": "4 x 8 min at threshold",
            "activity": {"kind": "ride", "minutes": 75, "watts": 240},
        },
    ],
    "flags": ["hrv_low"],
}


@pytest.fixture
def fake() -> Iterator[FakeLlm]:
    server = FakeLlm(api_key=KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_client(fake: FakeLlm, sleeps: list[float], **kwargs) -> LlmClient:
    options = {
        "base_url": fake.base_url,
        "model": "coach-model",
        "api_key": KEY,
        "embedding_model": "test-embed",
        "timeout_s": 5.0,
        "sleep": sleeps.append,
    }
    options.update(kwargs)
    return LlmClient(**options)


@pytest.fixture
def client(fake: FakeLlm, sleeps: list[float]) -> Iterator[LlmClient]:
    with make_client(fake, sleeps) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


# --- success ---------------------------------------------------------------------------------


def test_structured_answer_is_sent_strict_and_parsed(fake, client):
    fake.answer({"action": "rest", "reason": "TSB is far below -20."})
    result = client.structured(MESSAGES, Decision, purpose="daily_decision")

    assert result.ok and result.error is None and result.code is None
    assert result.value == Decision(action="rest", reason="TSB is far below -20.")
    assert result.unwrap() is result.value
    assert json.loads(result.raw_output) == {"action": "rest", "reason": "TSB is far below -20."}
    (sent,) = fake.calls(CHAT)
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == "coach-model" and sent.body["messages"] == MESSAGES
    assert sent.body["temperature"] == 0.2
    fmt = sent.body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["name"] == "Decision"
    schema = fmt["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["action", "reason"]
    assert schema["properties"]["action"]["enum"] == ["rest", "recover", "ease", "maintain", "push"]

    (attempt,) = result.attempts
    assert (attempt.purpose, attempt.kind, attempt.model, attempt.number) == (
        "daily_decision",
        "chat",
        "coach-model",
        1,
    )
    assert attempt.status == "ok" and attempt.error_code is None and attempt.http_status == 200
    # the fake counts words: 6 + 7 in the prompt, 8 in the answer's JSON text
    assert (attempt.prompt_tokens, attempt.completion_tokens) == (13, 8)
    assert (result.prompt_tokens, result.completion_tokens) == (13, 8)
    assert attempt.latency_ms >= 0 and attempt.temperature == 0.2
    assert attempt.finish_reason == "stop" and attempt.wait_s is None
    canonical = json.dumps(MESSAGES, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert attempt.prompt_sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    request = json.loads(attempt.request)
    assert request["method"] == "POST" and request["url"] == f"{fake.base_url}/chat/completions"
    assert request["body"] == sent.body
    assert "authorization" not in {name.lower() for name in request["headers"]}
    assert KEY not in attempt.request
    assert json.loads(attempt.response)["choices"][0]["message"]["content"] == result.raw_output


def test_nested_model_with_a_discriminated_union_goes_through_and_parses_back(fake, client):
    # What the SDK's own conversion sends (and parse() would): pydantic's oneOf, which OpenAI's
    # strict mode refuses — the fake refuses it the same way.
    assert "'oneOf' is not permitted" in schema_problem(to_strict_json_schema(Week))

    fake.answer(WEEK)
    result = client.structured(MESSAGES, Week, purpose="plan_draft")

    assert result.ok, result.error
    assert result.value == Week.model_validate(WEEK)
    assert isinstance(result.value.sessions[1].activity, Ride)
    assert result.value.sessions[0].activity.pace_s_per_km is None
    schema = fake.calls(CHAT)[0].body["response_format"]["json_schema"]["schema"]
    assert schema_problem(schema) is None
    nodes = list(walk(schema))
    assert not any("oneOf" in n or "discriminator" in n for n in nodes if isinstance(n, dict))
    objects = [n for n in nodes if isinstance(n, dict) and n.get("type") == "object"]
    assert len(objects) >= 4  # Week, Session, Run, Ride
    assert all(o["additionalProperties"] is False for o in objects)
    assert all(sorted(o["required"]) == sorted(o["properties"]) for o in objects)
    assert schema == strict_json_schema(Week)


def test_a_schema_given_by_the_caller_is_sent_and_the_answer_validated_with_the_model(fake, client):
    inlined = {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["rest", "push"]},
            "reason": {"type": "string"},
        },
        "required": ["action", "reason"],
        "additionalProperties": False,
    }
    fake.answer({"action": "push", "reason": "fresh"})
    result = client.structured(MESSAGES, Decision, purpose="p", schema=inlined)
    assert result.value == Decision(action="push", reason="fresh")
    assert fake.calls(CHAT)[0].body["response_format"]["json_schema"]["schema"] == inlined

    # a schema strict mode refuses is the server's 400, not retried
    loose = {"type": "object", "properties": {"action": {"type": "string"}}}
    result = client.structured(MESSAGES, Decision, purpose="p", schema=loose)
    assert result.code == "llm_bad_request" and "additionalProperties" in result.error.detail
    assert len(fake.calls(CHAT)) == 2 and fake.pending == 0


def test_a_coach_plan_draft_goes_through_with_its_own_schema_and_checks(fake, client):
    # app.coach's strict schema (inlined, no $ref) as sent; its conversion to a plan as the check
    plan = plan_example()
    good = draft_from_plan(plan).model_dump(mode="json")
    bad = copy.deepcopy(good)
    bad["weeks"][0]["workouts"][0]["date"] = "2026-02-30"
    fake.answer(bad)
    fake.answer(good)

    def becomes_a_plan(draft: LlmPlanDraft) -> list[str]:
        try:
            plan_from_draft(
                draft,
                title=plan.title,
                goal=plan.goal,
                availability=plan.availability,
                constraints=plan.constraints,
                health=plan.health,
            )
        except DraftInvalid as invalid:
            return [str(error) for error in invalid.errors]
        return []

    result = client.structured(
        MESSAGES,
        LlmPlanDraft,
        purpose="plan_draft",
        schema=llm_plan_schema(),
        validate=becomes_a_plan,
    )
    assert result.value == LlmPlanDraft.model_validate(good)
    first, second = fake.calls(CHAT)
    sent_schema = first.body["response_format"]["json_schema"]
    assert sent_schema["schema"] == llm_plan_schema() and sent_schema["name"] == "LlmPlanDraft"
    assert schema_problem(sent_schema["schema"]) is None
    assert (
        "- weeks.0.workouts.0.date: “2026-02-30” is not a date (YYYY-MM-DD)"
        in (second.body["messages"][-1]["content"])
    )
    assert [a.error_code for a in result.attempts] == ["llm_schema_violation", None]


# --- the one re-ask --------------------------------------------------------------------------


def test_invalid_json_is_re_asked_once_at_temperature_zero(fake, client):
    fake.answer_text("Sure! You should rest today.")
    fake.answer({"action": "rest", "reason": "Fatigue."})
    result = client.structured(MESSAGES, Decision, purpose="daily_decision")

    assert result.value == Decision(action="rest", reason="Fatigue.")
    first, second = fake.calls(CHAT)
    assert first.body["temperature"] == 0.2 and second.body["temperature"] == 0
    assert second.body["messages"][:2] == MESSAGES
    assistant, user = second.body["messages"][2:]
    assert assistant == {"role": "assistant", "content": "Sure! You should rest today."}
    assert user["role"] == "user" and "not valid JSON" in user["content"]
    assert [a.status for a in result.attempts] == ["invalid", "ok"]
    assert [a.error_code for a in result.attempts] == ["llm_invalid_json", None]
    assert [a.temperature for a in result.attempts] == [0.2, 0]
    assert result.attempts[0].prompt_sha256 == prompt_sha256(MESSAGES)
    assert result.attempts[1].prompt_sha256 == prompt_sha256(second.body["messages"])
    assert result.prompt_tokens == sum(a.prompt_tokens for a in result.attempts)


def test_a_schema_violation_is_re_asked_with_the_validation_errors(fake, client):
    fake.answer({"action": "sprint"})
    fake.answer({"action": "ease", "reason": "Legs are heavy."})
    result = client.structured(MESSAGES, Decision, purpose="daily_decision")

    assert result.value == Decision(action="ease", reason="Legs are heavy.")
    reask = fake.calls(CHAT)[1].body["messages"][-1]["content"]
    assert "does not follow the response schema" in reask
    assert "- action: Input should be 'rest', 'recover', 'ease', 'maintain' or 'push'" in reask
    assert "- reason: Field required" in reask
    assert fake.calls(CHAT)[1].body["messages"][-2]["content"] == '{"action": "sprint"}'
    assert result.attempts[0].error_code == "llm_schema_violation"


def test_two_failures_give_a_code_and_no_result(fake, client):
    fake.answer({"action": "sprint", "reason": "go"}, times=2)
    fake.answer({"action": "rest", "reason": "never asked for"})
    result = client.structured(MESSAGES, Decision, purpose="daily_decision")

    assert result.value is None and not result.ok and result.raw_output is None
    assert result.code == "llm_schema_violation"
    assert isinstance(result.error, LlmOutputInvalid) and isinstance(result.error, SourceDataError)
    assert result.error.attempts == result.attempts
    assert len(fake.calls(CHAT)) == 2 and fake.pending == 1
    assert [a.status for a in result.attempts] == ["invalid", "invalid"]
    with pytest.raises(LlmOutputInvalid) as raised:
        result.unwrap()
    assert raised.value.code == "llm_schema_violation"


def test_a_cut_off_answer_is_re_asked_without_the_fragment(fake, client):
    fake.truncate('{"action": "rest", "reas', times=2)
    result = client.structured(MESSAGES, Decision, purpose="daily_decision")

    assert result.value is None and result.code == "llm_truncated"
    second = fake.calls(CHAT)[1].body
    assert second["messages"][:2] == MESSAGES and len(second["messages"]) == 3
    assert "cut off" in second["messages"][2]["content"]
    assert second["temperature"] == 0
    assert [a.finish_reason for a in result.attempts] == ["length", "length"]


def test_a_refusal_is_re_asked_once(fake, client):
    fake.refuse("I can't give medical advice.")
    fake.answer({"action": "recover", "reason": "Easy day."})
    result = client.structured(MESSAGES, Decision, purpose="daily_decision")
    assert result.value == Decision(action="recover", reason="Easy day.")
    assert result.attempts[0].error_code == "llm_refused"
    assert "refusal" in fake.calls(CHAT)[1].body["messages"][-1]["content"]

    fake.content_filter(times=2)
    result = client.structured(MESSAGES, Decision, purpose="daily_decision")
    assert result.value is None and result.code == "llm_refused"
    assert [a.finish_reason for a in result.attempts] == ["content_filter", "content_filter"]


def test_the_callers_checks_count_as_validation_errors(fake, client):
    fake.answer({"action": "push", "reason": "x"})
    fake.answer({"action": "rest", "reason": "Readiness is 55."})

    def no_push_when_tired(decision: Decision) -> list[str]:
        return ["action: push is not allowed at TSB -25"] if decision.action == "push" else []

    result = client.structured(
        MESSAGES, Decision, purpose="daily_decision", validate=no_push_when_tired
    )
    assert result.value == Decision(action="rest", reason="Readiness is 55.")
    assert (
        "- action: push is not allowed at TSB -25"
        in fake.calls(CHAT)[1].body["messages"][-1]["content"]
    )


def test_an_answer_that_is_not_a_chat_completion_is_not_re_asked(fake, client):
    fake.fail(200, body="<html>Welcome to my NAS</html>", headers={"Content-Type": "text/html"})
    result = client.structured(MESSAGES, Decision, purpose="p")
    assert result.value is None and result.code == "llm_bad_response"
    assert len(fake.calls(CHAT)) == 1
    assert result.attempts[0].response == "<html>Welcome to my NAS</html>"


# --- HTTP errors -----------------------------------------------------------------------------


def test_a_refused_key_is_llm_auth_and_not_retried(fake, sleeps):
    with make_client(fake, sleeps, api_key="sk-wrong-key-000000") as wrong:
        result = wrong.structured(MESSAGES, Decision, purpose="p")
    assert result.code == "llm_auth" and result.value is None
    assert isinstance(result.error, LlmAuthError) and isinstance(result.error, SourceAuthError)
    assert len(fake.calls(CHAT)) == 1 and sleeps == []
    assert result.attempts[0].http_status == 401 and result.attempts[0].status == "error"

    fake.fail(403, body=openai_error("Project does not have access to model", code="forbidden"))
    with make_client(fake, sleeps) as right:
        assert right.structured(MESSAGES, Decision, purpose="p").code == "llm_auth"
    assert len(fake.calls(CHAT)) == 2 and sleeps == []


def test_an_unknown_model_is_model_not_found(fake, sleeps):
    with make_client(fake, sleeps, model="llama9:70b") as c:
        result = c.structured(MESSAGES, Decision, purpose="p")
    assert result.code == "llm_model_not_found"
    assert "llama9:70b" in result.error.detail and result.error.attempts[0].http_status == 404
    assert len(fake.calls(CHAT)) == 1

    # Ollama's own wording
    fake.fail(404, body=openai_error('model "qwen3" not found, try pulling it first'))
    with make_client(fake, sleeps) as c:
        assert c.structured(MESSAGES, Decision, purpose="p").code == "llm_model_not_found"


def test_a_base_url_without_the_api_path_is_endpoint_not_found(fake, sleeps):
    with make_client(fake, sleeps, base_url=fake.root_url) as c:
        result = c.structured(MESSAGES, Decision, purpose="p")
    assert result.code == "llm_endpoint_not_found"
    assert fake.requests[-1].path == "/chat/completions"


def test_429_waits_once_per_retry_after_then_succeeds(fake, client, sleeps):
    fake.fail(429, body=openai_error("Rate limit reached"), headers={"Retry-After": "7"})
    fake.answer({"action": "rest", "reason": "ok"})
    result = client.structured(MESSAGES, Decision, purpose="p")
    assert result.ok and sleeps == [7.0]
    assert [a.wait_s for a in result.attempts] == [7.0, None]
    assert [a.error_code for a in result.attempts] == ["llm_rate_limited", None]


def test_429_twice_gives_up_after_one_wait(fake, client, sleeps):
    fake.fail(429, headers={"retry-after-ms": "1500"}, times=2)
    fake.answer({"action": "rest", "reason": "never asked for"})
    result = client.structured(MESSAGES, Decision, purpose="p")
    assert result.code == "llm_rate_limited" and result.value is None
    assert isinstance(result.error, LlmRateLimited) and isinstance(result.error, SourceRateLimited)
    assert result.error.retry_after == 1.5
    assert sleeps == [1.5] and len(fake.calls(CHAT)) == 2


def test_429_asking_for_longer_than_the_cap_gives_up_at_once(fake, client, sleeps):
    fake.fail(429, headers={"Retry-After": "120"})
    result = client.structured(MESSAGES, Decision, purpose="p")
    assert result.code == "llm_rate_limited" and result.error.retry_after == 120.0
    assert sleeps == [] and len(fake.calls(CHAT)) == 1


def test_429_with_an_http_date_or_no_header(fake, sleeps):
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp()
    later = format_datetime(datetime(2026, 3, 10, 12, 0, 30, tzinfo=UTC), usegmt=True)
    with make_client(fake, sleeps, now=lambda: now) as c:
        fake.fail(429, headers={"Retry-After": later})
        fake.answer({"action": "rest", "reason": "ok"})
        assert c.structured(MESSAGES, Decision, purpose="p").ok
        fake.fail(429)
        fake.answer({"action": "rest", "reason": "ok"})
        assert c.structured(MESSAGES, Decision, purpose="p").ok
    assert sleeps == [30.0, DEFAULT_RATE_LIMIT_WAIT_S]


def test_an_exhausted_quota_gives_up_at_once(fake, client, sleeps):
    fake.fail(
        429,
        body=openai_error(
            "You exceeded your current quota, please check your plan and billing details.",
            type_="insufficient_quota",
            code="insufficient_quota",
        ),
        headers={"Retry-After": "1"},
    )
    result = client.structured(MESSAGES, Decision, purpose="p")
    assert result.code == "llm_quota_exceeded" and isinstance(result.error, SourceRateLimited)
    assert sleeps == [] and len(fake.calls(CHAT)) == 1


def test_a_server_error_is_retried_once_with_backoff(fake, client, sleeps):
    fake.fail(500, body=openai_error("The server had an error", type_="server_error"))
    fake.answer({"action": "rest", "reason": "ok"})
    result = client.structured(MESSAGES, Decision, purpose="p")
    assert result.ok and sleeps == [RETRY_BACKOFF_S]
    assert [a.http_status for a in result.attempts] == [500, 200]

    fake.fail(503, times=2)
    fake.answer({"action": "rest", "reason": "never asked for"})
    result = client.structured(MESSAGES, Decision, purpose="p")
    assert result.code == "llm_unavailable" and isinstance(result.error, SourceUnavailable)
    assert sleeps == [RETRY_BACKOFF_S, RETRY_BACKOFF_S]
    assert len(fake.calls(CHAT)) == 4  # the SDK's own retries are off: exactly two per call


def test_a_timeout_is_retried_once_then_unavailable(fake, sleeps):
    fake.hold(times=2)
    fake.answer({"action": "rest", "reason": "never asked for"})
    with make_client(fake, sleeps, timeout_s=0.3, retry_backoff_s=0.5) as c:
        result = c.structured(MESSAGES, Decision, purpose="p")
    assert result.code == "llm_unavailable" and isinstance(result.error, LlmUnavailable)
    assert "no answer within 0.3 s" in result.error.detail
    assert sleeps == [0.5] and len(fake.calls(CHAT)) == 2
    assert all(a.http_status is None and a.response is None for a in result.attempts)
    assert all(a.latency_ms >= 300 for a in result.attempts)
    assert json.loads(result.attempts[0].request)["body"]["model"] == "coach-model"


def test_one_timeout_then_an_answer(fake, sleeps):
    fake.hold(times=1)
    fake.answer({"action": "rest", "reason": "ok"})
    with make_client(fake, sleeps, timeout_s=0.3) as c:
        result = c.structured(MESSAGES, Decision, purpose="p")
    assert result.ok and [a.status for a in result.attempts] == ["error", "ok"]
    assert sleeps == [RETRY_BACKOFF_S]


def test_no_server_at_all_is_unavailable_after_one_retry(sleeps):
    with LlmClient(
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        model="m",
        sleep=sleeps.append,
    ) as c:
        result = c.structured(MESSAGES, Decision, purpose="p")
    assert result.code == "llm_unavailable" and "no connection" in result.error.detail
    assert len(result.attempts) == 2 and sleeps == [RETRY_BACKOFF_S]


def test_a_model_that_refuses_a_temperature_is_sent_none(fake, sleeps):
    fake.rejects_temperature = True
    fake.answer({"action": "rest", "reason": "ok"}, times=2)
    with make_client(fake, sleeps) as c:
        assert c.structured(MESSAGES, Decision, purpose="p").ok
        first, second = fake.calls(CHAT)
        assert first.body["temperature"] == 0.2 and "temperature" not in second.body
        # the client remembers: the next call sends none at once
        result = c.structured(MESSAGES, Decision, purpose="p")
    assert result.ok and len(result.attempts) == 1 and result.attempts[0].temperature is None
    assert "temperature" not in fake.calls(CHAT)[2].body and sleeps == []


def test_another_4xx_is_a_bad_request_and_not_retried(fake, client, sleeps):
    fake.fail(
        400,
        body=openai_error(
            "This model's maximum context length is 8192 tokens.", code="context_length_exceeded"
        ),
    )
    result = client.structured(MESSAGES, Decision, purpose="p")
    assert result.code == "llm_bad_request" and "maximum context length" in result.error.detail
    assert len(fake.calls(CHAT)) == 1 and sleeps == []


# --- records ---------------------------------------------------------------------------------


def test_latency_comes_from_the_injected_clock(fake, sleeps):
    ticks = iter([100.0, 101.25, 200.0, 200.5])
    fake.answer_text("not json")
    fake.answer({"action": "rest", "reason": "ok"})
    with make_client(fake, sleeps, monotonic=lambda: next(ticks)) as c:
        result = c.structured(MESSAGES, Decision, purpose="p")
    assert [a.latency_ms for a in result.attempts] == [1250, 500]


def test_the_prompt_hash_is_stable_and_follows_the_content():
    reordered = [{"content": m["content"], "role": m["role"]} for m in MESSAGES]
    assert prompt_sha256(MESSAGES) == prompt_sha256(reordered)
    assert prompt_sha256(MESSAGES) == (
        hashlib.sha256(
            json.dumps(MESSAGES, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
    )
    changed = [*MESSAGES[:1], {"role": "user", "content": "Should I rest today? TSB is -26."}]
    assert prompt_sha256(changed) != prompt_sha256(MESSAGES)
    korean = [{"role": "user", "content": "오늘 쉬어야 할까요?"}]
    assert (
        prompt_sha256(korean)
        == hashlib.sha256('[{"content":"오늘 쉬어야 할까요?","role":"user"}]'.encode()).hexdigest()
    )


def test_the_key_never_reaches_the_logs_or_the_audit(fake, sleeps):
    key = "sk-proj-Zq8v1Tn4Kx2Lm9Wp7Rs3"
    fake.api_key = key
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    try:
        client = make_client(fake, sleeps, api_key=key)
        fake.answer({"action": "rest", "reason": "ok"})
        good = client.structured(MESSAGES, Decision, purpose="p")
        fake.fail(500, body=openai_error(f"upstream said: invalid key {key}"), times=2)
        bad = client.structured(MESSAGES, Decision, purpose="p")
        # code that carelessly logs the key is still safe
        logging.getLogger("app.test").warning("calling with %s", key)
        logging.getLogger("app.test").warning("client %r", client)
        client.close()
    finally:
        logging.getLogger().handlers.clear()
    assert good.ok and bad.code == "llm_unavailable"
    assert all(r.headers["authorization"] == f"Bearer {key}" for r in fake.calls(CHAT))
    output = stream.getvalue()
    assert "calling with ***" in output and "llm_unavailable" in output
    assert key not in output
    for attempt in (*good.attempts, *bad.attempts):
        assert key not in attempt.request and key not in (attempt.response or "")
        assert key not in (attempt.detail or "")
    assert "upstream said: invalid key ***" in bad.attempts[0].response
    assert key not in repr(client) and key not in repr(bad.error)


def test_an_empty_key_sends_no_authorization_and_the_environment_is_ignored(
    fake, sleeps, monkeypatch
):
    fake.api_key = None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-1234")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-environment")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-environment")
    fake.answer({"action": "rest", "reason": "ok"})
    fake.answer({"ok": True})
    with make_client(fake, sleeps, api_key="") as c:
        assert not c.has_key
        assert c.structured(MESSAGES, Decision, purpose="p").ok
        assert c.embed(["easy run"]).ok
        assert c.check().ok
    assert len(fake.requests) == 5  # chat, embedding, and check's models, chat, embedding
    for request in fake.requests:
        assert "authorization" not in request.headers
        assert "openai-organization" not in request.headers
        assert "openai-project" not in request.headers


# --- embeddings ------------------------------------------------------------------------------


def test_embeddings_come_in_batches_with_model_and_dimension(fake, sleeps):
    texts = ["easy run", "tempo run", "long ride", "쉬운 달리기", "회복 주간"]
    with make_client(fake, sleeps, embedding_batch_size=2) as c:
        result = c.embed(texts, purpose="library_index")
    assert result.ok and result.model == "test-embed" and result.dimension == DIMENSION
    assert len(result.vectors) == 5 and all(len(v) == DIMENSION for v in result.vectors)
    for text, vector in zip(texts, result.vectors, strict=True):
        assert vector == pytest.approx(embed_text(text))
    calls = fake.calls(EMBEDDINGS)
    assert [c.body["input"] for c in calls] == [texts[0:2], texts[2:4], texts[4:]]
    assert all(c.body["encoding_format"] == "float" for c in calls)
    assert all(c.body["model"] == "test-embed" for c in calls)
    assert [a.kind for a in result.attempts] == ["embedding"] * 3
    assert [a.prompt_tokens for a in result.attempts] == [4, 4, 2]
    assert result.prompt_tokens == 10
    assert result.attempts[0].prompt_sha256 == prompt_sha256(texts[0:2])
    assert all(a.purpose == "library_index" and a.status == "ok" for a in result.attempts)
    assert [a.number for a in result.attempts] == [1, 2, 3]


def test_embedding_failures_map_like_chat(fake, sleeps):
    with make_client(fake, sleeps) as c:
        fake.fail(500, path=EMBEDDINGS)
        assert c.embed(["a text"]).ok and sleeps == [RETRY_BACKOFF_S]
        fake.fail(429, headers={"Retry-After": "2"}, times=2, path=EMBEDDINGS)
        limited = c.embed(["a text"])
        assert limited.code == "llm_rate_limited" and sleeps == [RETRY_BACKOFF_S, 2.0]
        assert limited.vectors == () and limited.dimension is None
        with pytest.raises(LlmRateLimited):
            limited.unwrap()
    with make_client(fake, sleeps, embedding_model="nomic-embed-text") as c:
        assert c.embed(["a text"]).code == "llm_model_not_found"
    with make_client(fake, sleeps, api_key="sk-wrong-key-000000") as c:
        assert c.embed(["a text"]).code == "llm_auth"
    # a batch that fails stops the whole call: no partial vectors
    fake.fail(200, body={"object": "list", "data": [], "model": "test-embed"}, path=EMBEDDINGS)
    with make_client(fake, sleeps, embedding_batch_size=1) as c:
        broken = c.embed(["one", "two"])
    assert broken.code == "llm_bad_response" and broken.vectors == ()
    assert len(broken.attempts) == 1


def test_embed_refuses_what_no_server_could_fix(fake, sleeps):
    with (
        make_client(fake, sleeps, embedding_model=None) as c,
        pytest.raises(ValueError, match="no embedding model"),
    ):
        c.embed(["text"])
    with make_client(fake, sleeps) as c:
        with pytest.raises(ValueError):
            c.embed(["text", "  "])
        empty = c.embed([])
    assert empty.ok and empty.vectors == () and empty.attempts == ()
    assert fake.requests == []


# --- Test connection -------------------------------------------------------------------------


def test_check_ok_lists_models_and_tries_the_embedding_model(fake, client):
    fake.answer({"ok": True})
    result = client.check()
    assert result.ok and result.code == "ok" and result.failure_code is None
    assert result.models == ("coach-model", "test-embed") and result.model_listed is True
    assert result.embedding_code == "ok" and result.embedding_dimension == DIMENSION
    assert [a.kind for a in result.attempts] == ["models", "chat", "embedding"]
    assert [a.number for a in result.attempts] == [1, 2, 3]
    assert all(a.purpose == "check" for a in result.attempts)
    chat = fake.calls(CHAT)[0].body
    assert chat["temperature"] == 0
    assert chat["response_format"]["json_schema"]["schema"]["properties"]["ok"]["type"] == "boolean"


def test_check_without_a_model_list_still_works(fake, client):
    fake.list_models = False
    fake.answer({"ok": True})
    result = client.check()
    assert result.code == "ok" and result.models is None and result.model_listed is None
    assert result.attempts[0].http_status == 404


def test_check_says_what_is_wrong(fake, sleeps):
    with make_client(fake, sleeps, api_key="sk-wrong-key-000000") as c:
        refused = c.check()
    assert refused.code == "key_refused" and not refused.ok
    assert [r.path for r in fake.requests] == [MODELS]  # no chat call after a refused key

    with make_client(fake, sleeps, model="llama9:70b") as c:
        missing = c.check()
    assert missing.code == "model_not_found" and missing.failure_code == "llm_model_not_found"
    assert missing.model_listed is False and "coach-model" in missing.models

    with make_client(fake, sleeps, base_url=fake.root_url) as c:
        assert c.check().code == "wrong_address"

    fake.answer_text("ok", times=2)  # a server that ignores the schema
    with make_client(fake, sleeps, embedding_model=None) as c:
        unstructured = c.check()
    assert unstructured.code == "not_structured"
    assert unstructured.failure_code == "llm_invalid_json"
    assert unstructured.embedding_code is None
    assert [(a.kind, a.number) for a in unstructured.attempts] == [
        ("models", 1),
        ("chat", 2),
        ("chat", 3),
    ]

    fake.fail(429, headers={"Retry-After": "5"})
    with make_client(fake, sleeps, embedding_model=None) as c:
        assert c.check().code == "rate_limited"
    assert sleeps == []  # the button does not wait

    fake.answer({"ok": True})
    with make_client(fake, sleeps, embedding_model="nomic-embed-text") as c:
        partial = c.check()
    assert partial.code == "ok" and partial.embedding_code == "model_not_found"
    assert not partial.ok

    with LlmClient(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m") as c:
        unreachable = c.check()
    assert unreachable.code == "unreachable" and len(unreachable.attempts) == 1


# --- construction ----------------------------------------------------------------------------


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        LlmClient(base_url="localhost:11434", model="m")
    with pytest.raises(ValueError):
        LlmClient(base_url="http://localhost:11434/v1", model=" ")
    with pytest.raises(ValueError):
        LlmClient(base_url="http://localhost:11434/v1", model="m", timeout_s=0)
    with (
        LlmClient(base_url="http://localhost:11434/v1/", model="m") as c,
        pytest.raises(ValueError),
    ):
        c.structured([{"role": "tool", "content": "x"}], Decision, purpose="p")


def test_the_fake_answers_base64_embeddings_as_the_sdk_asks_by_default(fake):
    with openai.OpenAI(base_url=fake.base_url, api_key=KEY, max_retries=0) as sdk:
        answer = sdk.embeddings.create(model="test-embed", input=["tempo run", "회복 주간"])
    assert fake.calls(EMBEDDINGS)[0].body["encoding_format"] == "base64"
    assert [item.index for item in answer.data] == [0, 1]
    assert answer.data[0].embedding == pytest.approx(embed_text("tempo run"), abs=1e-7)
    assert answer.data[1].embedding == pytest.approx(embed_text("회복 주간"), abs=1e-7)
