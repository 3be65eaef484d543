"""Every call to the language model goes through here: the settings in force, the monthly
budget checked **before** the call, the adapter (``app.sources.llm.LlmClient``), and every
request recorded (``app.services.coach.audit``) — whatever the outcome.

The functions the coach's features call:

- :func:`call_structured` — one validated Pydantic object, or a :class:`Failure` (a code and a
  sentence in the owner's language); never raises for what the server or the model did.
- :func:`embed` — vectors for the library, under the same budget and audit.
- :func:`test_connection` — *Test connection* in Settings → Coach, in words.

Each opens its own short transactions (read the settings and the month's usage; write the
records after the call): no transaction stays open while the model thinks.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from app import i18n
from app.coach.llm_messages import (
    BUDGET_EXCEEDED,
    KEY_UNREADABLE,
    NOT_CONFIGURED,
    check_sentence,
    embedding_check_sentence,
    failure_sentence,
    offered_models_sentence,
)
from app.config import Settings
from app.security.keys import SecretBox
from app.services.coach import audit
from app.services.coach.config import LlmConfig, load_config
from app.sources.llm import LlmAttempt, LlmClient
from app.sources.llm.client import DEFAULT_TEMPERATURE, Message

CHECK_PURPOSE = "check"
CHECK_PROMPT_VERSION = "check-1"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    """What the calls wait and measure with: injected in tests (nothing sleeps)."""

    now: Callable[[], datetime] = _utcnow
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


SYSTEM_CLOCK = Clock()


@dataclass(frozen=True)
class Failure:
    """Why a call gave nothing: the code (the adapter's ``llm_*``, ``llm_budget_exceeded``,
    ``llm_not_configured``, ``llm_key_unreadable``), its parameters, and the sentence in the
    owner's language. :meth:`describe` says it again in the reader's current language."""

    code: str
    params: Mapping[str, Any]
    sentence: str

    def describe(self) -> str:
        return failure_sentence(self.code, self.params)


@dataclass(frozen=True)
class CallResult[T: BaseModel]:
    value: T | None
    failure: Failure | None
    call_id: str | None = None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    raw_output: str | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class EmbedResult:
    vectors: tuple[tuple[float, ...], ...]
    model: str | None
    dimension: int | None
    failure: Failure | None
    call_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def _failure(config: LlmConfig | None, code: str, params: Mapping[str, Any] | None = None):
    locale = config.owner_locale if config is not None else None
    with i18n.using(locale=locale):
        sentence = failure_sentence(code, params)
    return Failure(code, dict(params or {}), sentence)


def make_client(config: LlmConfig, clock: Clock = SYSTEM_CLOCK) -> LlmClient:
    """The adapter for the settings in force (``config`` loaded with the box)."""
    if not config.configured:
        raise ValueError("the language model is not configured")
    return LlmClient(
        base_url=str(config.base_url.value),
        model=str(config.model.value),
        api_key=config.api_key,
        embedding_model=config.embedding_model.value,
        timeout_s=float(config.timeout_s.value),
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        now=lambda: clock.now().timestamp(),
    )


@dataclass(frozen=True)
class Budget:
    """The month's budget and what is used of it."""

    month: audit.Month
    tokens_used: int
    cost_used_usd: float
    token_budget: int  # 0: no limit
    cost_budget_usd: float | None

    @property
    def exceeded(self) -> str | None:
        """``tokens`` or ``cost`` when that budget is used up, else ``None``."""
        if self.token_budget and self.tokens_used >= self.token_budget:
            return "tokens"
        if self.cost_budget_usd is not None and self.cost_used_usd >= self.cost_budget_usd:
            return "cost"
        return None

    def params(self) -> dict[str, Any]:
        kind = self.exceeded
        if kind == "cost":
            used, budget = self.cost_used_usd, self.cost_budget_usd
        else:
            used, budget = self.tokens_used, self.token_budget
        return {
            "kind": kind,
            "used": used,
            "budget": budget,
            "resets_on": self.month.next_first_day.isoformat(),
        }


def budget(session: Session, config: LlmConfig, now: datetime) -> Budget:
    """The budget of the month ``now`` falls in, in the owner's time zone."""
    month = audit.month_of(now, config.timezone)
    tokens, cost = audit.month_totals(session, month)
    return Budget(month, tokens, cost, int(config.token_budget.value), config.cost_budget_usd.value)


def _prepare(
    sessions: sessionmaker[Session], settings: Settings, box: SecretBox, now: datetime
) -> tuple[LlmConfig, Budget | None, Failure | None]:
    with sessions() as session:
        config = load_config(session, settings, box)
        if not config.configured:
            return config, None, _failure(config, NOT_CONFIGURED)
        if not config.key.readable:
            return config, None, _failure(config, KEY_UNREADABLE)
        return config, budget(session, config, now), None


def _refuse(
    sessions: sessionmaker[Session],
    config: LlmConfig,
    spent: Budget,
    *,
    purpose: str,
    prompt_version: str | None,
    model: str,
    now: datetime,
) -> tuple[str, Failure]:
    call_id = uuid.uuid4().hex
    failure = _failure(config, BUDGET_EXCEEDED, spent.params())
    with sessions.begin() as session:
        audit.record_refusal(
            session,
            call_id=call_id,
            created_at=now,
            purpose=purpose,
            model=model,
            prompt_version=prompt_version,
            code=BUDGET_EXCEEDED,
            detail=f"{spent.exceeded} budget used: {spent.params()}",
        )
    return call_id, failure


def _record(
    sessions: sessionmaker[Session],
    config: LlmConfig,
    attempts: Iterable[LlmAttempt],
    *,
    call_id: str,
    now: datetime,
    prompt_version: str | None,
) -> None:
    with sessions.begin() as session:
        audit.record_attempts(
            session,
            attempts,
            call_id=call_id,
            created_at=now,
            prompt_version=prompt_version,
            prices=config.prices,
        )


def call_structured[T: BaseModel](
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    *,
    purpose: str,
    prompt_version: str,
    messages: Sequence[Message],
    output: type[T],
    schema: Mapping[str, Any] | None = None,
    validate: Callable[[T], Iterable[str]] | None = None,
    temperature: float | None = DEFAULT_TEMPERATURE,
    clock: Clock = SYSTEM_CLOCK,
) -> CallResult[T]:
    """Ask the chat model for one ``output`` object (strict JSON Schema; ``schema`` when the
    caller has its own strict one; ``validate`` for checks a schema cannot say — the adapter
    re-asks once with the problems). Refused before any request when the month's budget is
    used up or no model is configured. Every request is recorded with ``purpose`` and
    ``prompt_version``."""
    now = clock.now()
    config, spent, failure = _prepare(sessions, settings, box, now)
    if failure is not None:
        return CallResult(None, failure)
    assert spent is not None
    model = str(config.model.value)
    if spent.exceeded:
        call_id, failure = _refuse(
            sessions,
            config,
            spent,
            purpose=purpose,
            prompt_version=prompt_version,
            model=model,
            now=now,
        )
        return CallResult(None, failure, call_id, model)
    call_id = uuid.uuid4().hex
    with make_client(config, clock) as client:
        result = client.structured(
            messages,
            output,
            purpose=purpose,
            temperature=temperature,
            schema=schema,
            validate=validate,
        )
    _record(
        sessions,
        config,
        result.attempts,
        call_id=call_id,
        now=now,
        prompt_version=prompt_version,
    )
    failure = None
    if result.error is not None:
        failure = _failure(config, result.error.code, {"model": model})
    return CallResult(
        result.value,
        failure,
        call_id,
        model,
        result.prompt_tokens,
        result.completion_tokens,
        len(result.attempts),
        result.raw_output,
    )


def embed(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    *,
    purpose: str,
    texts: Sequence[str],
    clock: Clock = SYSTEM_CLOCK,
) -> EmbedResult:
    """One vector per text from the embedding model, under the same budget and audit as
    :func:`call_structured` (``llm_not_configured`` when no embedding model is set)."""
    now = clock.now()
    config, spent, failure = _prepare(sessions, settings, box, now)
    if failure is None and not config.embedding_model.value:
        failure = _failure(config, NOT_CONFIGURED)
    if failure is not None:
        return EmbedResult((), None, None, failure)
    assert spent is not None
    model = str(config.embedding_model.value)
    if spent.exceeded:
        call_id, failure = _refuse(
            sessions, config, spent, purpose=purpose, prompt_version=None, model=model, now=now
        )
        return EmbedResult((), model, None, failure, call_id)
    call_id = uuid.uuid4().hex
    with make_client(config, clock) as client:
        result = client.embed(texts, purpose=purpose)
    _record(sessions, config, result.attempts, call_id=call_id, now=now, prompt_version=None)
    if result.error is not None:
        return EmbedResult(
            (), model, None, _failure(config, result.error.code, {"model": model}), call_id
        )
    return EmbedResult(result.vectors, model, result.dimension, None, call_id)


# --- Test connection -------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionTest:
    """*Test connection* in words (the reader's language): ``code`` is the adapter's
    ``CheckCode`` (or ``not_configured``, ``key_unreadable``)."""

    code: str
    ok: bool
    sentences: list[str]
    model: str | None = None
    models: tuple[str, ...] | None = None


def test_connection(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> ConnectionTest:
    """One tiny structured call (and the server's model list; one embedding when an embedding
    model is set) through ``LlmClient.check``, recorded under the purpose ``check``. Not held
    back by the budget: it is how the owner finds out what works."""
    now = clock.now()
    with sessions() as session:
        config = load_config(session, settings, box)
    if not config.configured:
        return ConnectionTest("not_configured", False, [failure_sentence(NOT_CONFIGURED)])
    if not config.key.readable:
        return ConnectionTest("key_unreadable", False, [failure_sentence(KEY_UNREADABLE)])
    model = str(config.model.value)
    with make_client(config, clock) as client:
        result = client.check()
    _record(
        sessions,
        config,
        result.attempts,
        call_id=uuid.uuid4().hex,
        now=now,
        prompt_version=CHECK_PROMPT_VERSION,
    )
    sentences = [check_sentence(result.code, {"model": model})]
    if result.code == "model_not_found" and result.models:
        sentences.append(offered_models_sentence(list(result.models)))
    if result.embedding_code is not None:
        sentences.append(
            embedding_check_sentence(
                result.embedding_code,
                {"model": config.embedding_model.value, "dimension": result.embedding_dimension},
            )
        )
    return ConnectionTest(result.code, result.ok, sentences, model, result.models)
