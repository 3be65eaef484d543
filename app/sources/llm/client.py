"""The one client for every LLM call: any OpenAI-compatible server (OpenAI, Ollama, vLLM,
LM Studio, llama.cpp's ``llama-server``) through the official ``openai`` SDK (3.x; its HTTP
layer is ``httpx2``), Chat Completions with strict structured outputs and ``/embeddings``.

Built from plain parameters — the service passes what Settings or the database say; nothing
here reads the environment, and the SDK's own environment defaults (``OPENAI_API_KEY``,
``OPENAI_BASE_URL``, ``OPENAI_ORG_ID``, ``OPENAI_PROJECT_ID``) are overridden. The SDK's retries
are off (``max_retries=0``): the policy is ours, and the same for every call:

- **Output** (``structured``): the answer must be JSON that validates against the Pydantic
  model (and the caller's ``validate`` check). Invalid JSON, a schema violation,
  ``finish_reason=length`` or a refusal → **one re-ask at temperature 0** with the problems
  appended as a user message; a second failure → no object and a failure code. Free text is
  never passed on.
- **401/403** → ``llm_auth``; **404** → ``llm_model_not_found`` when the server names the model,
  else ``llm_endpoint_not_found`` (a wrong base URL); **429** → wait once per ``Retry-After``
  (``retry-after-ms``, seconds or an HTTP date; 10 s when absent) through the injected
  ``sleep`` if at most ``max_rate_limit_wait_s``, then ``llm_rate_limited`` (at once when
  longer); a 429 ``insufficient_quota`` → ``llm_quota_exceeded`` at once; **5xx, 408, timeouts
  and connection errors** → one retry after ``retry_backoff_s``, then ``llm_unavailable``;
  another **4xx** → ``llm_bad_request``, except a 400 naming ``temperature`` (OpenAI's reasoning
  models accept only their default): the call is sent again without it, and this client stops
  sending one.
- **Records**: every HTTP call gives an :class:`~app.sources.llm.attempts.LlmAttempt` (tokens,
  latency from the injected ``monotonic`` clock, status, code, the prompt's SHA-256, the request
  without credentials and the raw response), returned with every result, good or bad.

The key is registered with the log redaction when the client is built; with an empty key (a
local Ollama) no ``Authorization`` header is sent at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx2
import openai
from pydantic import BaseModel, ValidationError

from app.security.redaction import register_secret
from app.sources.llm import errors
from app.sources.llm.errors import LlmFailure, error_for
from app.sources.llm.schemas import (
    AttemptKind,
    AttemptStatus,
    CheckCode,
    CheckResult,
    ConnectionCheck,
    EmbeddingResult,
    LlmAttempt,
    StructuredResult,
    response_format,
    strict_json_schema,
)
from app.sources.retry_after import retry_after_s

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 120.0  # a local model on a NAS's CPU can take a minute to answer
CONNECT_TIMEOUT_S = 10.0
DEFAULT_TEMPERATURE = 0.2
REASK_TEMPERATURE = 0.0
DEFAULT_RATE_LIMIT_WAIT_S = 10.0  # a 429 without Retry-After
MAX_RATE_LIMIT_WAIT_S = 60.0
RETRY_BACKOFF_S = 2.0
EMBEDDING_BATCH_SIZE = 64
MAX_PROBLEMS_LISTED = 20
_CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie"}
)
_ROLES = frozenset({"system", "developer", "user", "assistant"})
_NO_KEY_PLACEHOLDER = "no-key"  # the SDK wants a key; the header is omitted per request

type Message = Mapping[str, str]


def prompt_sha256(payload: object) -> str:
    """SHA-256 (hex) of ``payload`` as canonical JSON (sorted keys, no spaces, UTF-8): the same
    messages give the same hash in every process."""
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Failure:
    code: str
    detail: str
    retry_after: float | None = None
    temperature_refused: bool = False


@dataclass(frozen=True, slots=True)
class _Sent:
    """What one HTTP call gave: the parts of its attempt record, and the failure if any."""

    http_status: int | None
    request: str
    response: str | None
    latency_ms: int
    failure: _Failure | None
    raw: Any = None  # the SDK's raw response on a 2xx


class LlmClient:
    """One OpenAI-compatible endpoint: a chat model for structured answers and, optionally, an
    embedding model. Thread-safe as the SDK is; ``close()`` (or ``with``) frees its
    connections."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        embedding_model: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_rate_limit_wait_s: float = MAX_RATE_LIMIT_WAIT_S,
        retry_backoff_s: float = RETRY_BACKOFF_S,
        embedding_batch_size: int = EMBEDDING_BATCH_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        url = urlsplit(base_url.strip())
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"the LLM base URL must be an http(s) URL, not {base_url!r}")
        if not model.strip():
            raise ValueError("a chat model is required")
        if timeout_s <= 0 or embedding_batch_size < 1 or max_rate_limit_wait_s < 0:
            raise ValueError("timeout, batch size and waits must be positive")
        self.base_url = base_url.strip().rstrip("/")
        self.model = model.strip()
        self.embedding_model = (embedding_model or "").strip() or None
        self.timeout_s = timeout_s
        self.max_rate_limit_wait_s = max_rate_limit_wait_s
        self.retry_backoff_s = retry_backoff_s
        self.embedding_batch_size = embedding_batch_size
        self._key = api_key.strip()
        register_secret(self._key)
        self._sleep = sleep
        self._monotonic = monotonic
        self._now = now
        self._omit_temperature = False
        self._extra_headers: dict[str, Any] = {} if self._key else {"Authorization": openai.Omit()}
        self._sdk = openai.OpenAI(
            api_key=self._key or _NO_KEY_PLACEHOLDER,
            base_url=self.base_url,
            timeout=httpx2.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S)),
            max_retries=0,
        )
        # The SDK fills these from OPENAI_* variables when not given; this client says them all.
        self._sdk.organization = None
        self._sdk.project = None
        self._sdk.admin_api_key = None
        self._sdk.webhook_secret = None

    def __repr__(self) -> str:  # never the key
        return f"LlmClient(base_url={self.base_url!r}, model={self.model!r})"

    def close(self) -> None:
        self._sdk.close()

    def __enter__(self) -> LlmClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def has_key(self) -> bool:
        return bool(self._key)

    # --- structured answers ----------------------------------------------------------------

    def structured[T: BaseModel](
        self,
        messages: Sequence[Message],
        output: type[T],
        *,
        purpose: str,
        temperature: float | None = DEFAULT_TEMPERATURE,
        schema: Mapping[str, Any] | None = None,
        validate: Callable[[T], Iterable[str]] | None = None,
    ) -> StructuredResult[T]:
        """Ask the chat model for one ``output`` object.

        ``messages`` are Chat Completions messages (``role``: system, developer, user or
        assistant; ``content``: text). ``output`` is sent as a strict JSON Schema
        (:func:`~app.sources.llm.schemas.strict_json_schema`) unless ``schema`` gives one already
        strict; the answer is validated with ``output`` either way. ``validate`` may check what
        a schema cannot say and return the problems (empty: fine); they are treated like a
        schema violation, re-asked once with the rest. ``temperature=None`` sends none (the
        server's default). Never raises for what the server or the model did: see
        :class:`StructuredResult`.
        """
        return self._structured(
            messages,
            output,
            purpose=purpose,
            temperature=temperature,
            schema=schema,
            validate=validate,
            wait_on_rate_limit=True,
        )

    def _structured[T: BaseModel](
        self,
        messages: Sequence[Message],
        output: type[T],
        *,
        purpose: str,
        temperature: float | None,
        schema: Mapping[str, Any] | None,
        validate: Callable[[T], Iterable[str]] | None,
        wait_on_rate_limit: bool,
    ) -> StructuredResult[T]:
        sent = _checked_messages(messages)
        fmt = response_format(
            output.__name__, dict(schema) if schema is not None else strict_json_schema(output)
        )
        attempts: list[LlmAttempt] = []
        reasked = rate_waited = retried = False
        while True:
            attempt, outcome = self._chat_attempt(
                purpose=purpose,
                number=len(attempts) + 1,
                messages=sent,
                output=output,
                fmt=fmt,
                temperature=temperature,
                validate=validate,
            )
            if isinstance(outcome, tuple):
                attempts.append(attempt)
                value, text = outcome
                return StructuredResult(self.model, value, None, tuple(attempts), text)
            failure, reask = outcome, None
            wait: float | None = None
            if failure.temperature_refused and not self._omit_temperature:
                self._omit_temperature = True
                log.info("the server refuses a temperature for %s; sending none", self.model)
            elif failure.code in errors.OUTPUT_CODES and not reasked:
                reasked = True
                reask = _reask_messages(failure, attempt)
            elif (
                failure.code == errors.RATE_LIMITED
                and wait_on_rate_limit
                and not rate_waited
                and (wait := _rate_limit_wait(failure)) <= self.max_rate_limit_wait_s
            ):
                rate_waited = True
            elif failure.code == errors.UNAVAILABLE and not retried:
                retried = True
                wait = self.retry_backoff_s
            else:
                attempts.append(attempt)
                log.warning("LLM call %s failed: %s (%s)", purpose, failure.code, failure.detail)
                error = error_for(
                    failure.code,
                    failure.detail,
                    attempts=attempts,
                    retry_after=failure.retry_after,
                )
                return StructuredResult(self.model, None, error, tuple(attempts))
            if wait is not None:
                attempt = replace(attempt, wait_s=wait)
            attempts.append(attempt)
            log.info("LLM call %s: %s, trying again", purpose, failure.code)
            if reask is not None:
                sent = [*sent, *reask]
                temperature = REASK_TEMPERATURE
            if wait is not None:
                self._sleep(wait)

    def _chat_attempt[T: BaseModel](
        self,
        *,
        purpose: str,
        number: int,
        messages: list[dict[str, str]],
        output: type[T],
        fmt: dict[str, Any],
        temperature: float | None,
        validate: Callable[[T], Iterable[str]] | None,
    ) -> tuple[LlmAttempt, tuple[T, str] | _Failure]:
        kwargs: dict[str, Any] = {}
        if temperature is not None and not self._omit_temperature:
            kwargs["temperature"] = temperature
        sent = self._send(
            lambda: self._sdk.chat.completions.with_raw_response.parse(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                response_format=fmt,  # type: ignore[arg-type]
                extra_headers=self._extra_headers,
                **kwargs,
            )
        )
        finish_reason = None
        outcome: tuple[T, str] | _Failure
        if sent.failure is not None:
            outcome = sent.failure
        else:
            outcome, finish_reason = _read_answer(sent.raw, output, validate)
        prompt_tokens, completion_tokens = _usage(sent.response)
        attempt = self._attempt(
            sent,
            kind="chat",
            purpose=purpose,
            model=self.model,
            number=number,
            failure=outcome if isinstance(outcome, _Failure) else None,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            prompt_hash=prompt_sha256(messages),
            temperature=kwargs.get("temperature"),
            finish_reason=finish_reason,
        )
        return attempt, outcome

    # --- embeddings --------------------------------------------------------------------------

    def embed(self, texts: Sequence[str], *, purpose: str = "embedding") -> EmbeddingResult:
        """One vector per text from the embedding model (``/embeddings``, floats), in batches of
        ``embedding_batch_size``, each batch one HTTP call under the same policy as chat (no
        re-ask: there is no output to fix). On a failure no vectors are returned."""
        if self.embedding_model is None:
            raise ValueError("no embedding model is configured")
        items = list(texts)
        if any(not isinstance(t, str) or not t.strip() for t in items):
            raise ValueError("every text to embed must be a non-empty string")
        model = self.embedding_model
        attempts: list[LlmAttempt] = []
        vectors: list[tuple[float, ...]] = []
        dimension: int | None = None
        for start in range(0, len(items), self.embedding_batch_size):
            batch = items[start : start + self.embedding_batch_size]
            got = self._embed_batch(batch, purpose=purpose, attempts=attempts)
            if isinstance(got, _Failure):
                error = error_for(
                    got.code, got.detail, attempts=attempts, retry_after=got.retry_after
                )
                log.warning("LLM embedding %s failed: %s (%s)", purpose, got.code, got.detail)
                return EmbeddingResult(model, (), None, error, tuple(attempts))
            if dimension is not None and len(got[0]) != dimension:
                error = error_for(
                    errors.BAD_RESPONSE,
                    f"vectors of {len(got[0])} dimensions after {dimension}",
                    attempts=attempts,
                )
                return EmbeddingResult(model, (), None, error, tuple(attempts))
            dimension = len(got[0])
            vectors.extend(got)
        return EmbeddingResult(model, tuple(vectors), dimension, None, tuple(attempts))

    def _embed_batch(
        self,
        batch: list[str],
        *,
        purpose: str,
        attempts: list[LlmAttempt],
        wait_on_rate_limit: bool = True,
    ) -> list[tuple[float, ...]] | _Failure:
        assert self.embedding_model is not None
        model = self.embedding_model
        rate_waited = retried = False
        while True:
            sent = self._send(
                lambda: self._sdk.embeddings.with_raw_response.create(
                    model=model,
                    input=batch,
                    encoding_format="float",
                    extra_headers=self._extra_headers,
                )
            )
            outcome = sent.failure or _read_vectors(sent.raw, len(batch))
            prompt_tokens, _ = _usage(sent.response)
            attempt = self._attempt(
                sent,
                kind="embedding",
                purpose=purpose,
                model=model,
                number=len(attempts) + 1,
                failure=outcome if isinstance(outcome, _Failure) else None,
                prompt_tokens=prompt_tokens,
                completion_tokens=None,
                prompt_hash=prompt_sha256(batch),
            )
            if not isinstance(outcome, _Failure):
                attempts.append(attempt)
                return outcome
            wait: float | None = None
            if (
                outcome.code == errors.RATE_LIMITED
                and wait_on_rate_limit
                and not rate_waited
                and (wait := _rate_limit_wait(outcome)) <= self.max_rate_limit_wait_s
            ):
                rate_waited = True
            elif outcome.code == errors.UNAVAILABLE and not retried:
                retried = True
                wait = self.retry_backoff_s
            else:
                attempts.append(attempt)
                return outcome
            attempts.append(replace(attempt, wait_s=wait))
            self._sleep(wait)

    # --- Test connection ---------------------------------------------------------------------

    def check(self) -> CheckResult:
        """What the *Test connection* button says: ``/models`` when the server has it (a 404
        there is fine), then one tiny structured call to the chat model (a 429 is reported,
        not waited for), then, when an embedding model is set, one tiny embedding."""
        attempts: list[LlmAttempt] = []
        listed = self._list_models(attempts)
        if isinstance(listed, _Failure):
            return CheckResult(
                _check_code(listed.code),
                listed.code,
                listed.detail,
                None,
                None,
                None,
                None,
                tuple(attempts),
            )
        model_listed = None if listed is None else self.model in listed
        answer = self._structured(
            [
                {"role": "system", "content": "You are a connection test. Answer in JSON."},
                {"role": "user", "content": 'Answer with the JSON object {"ok": true}.'},
            ],
            ConnectionCheck,
            purpose="check",
            temperature=0.0,
            schema=None,
            validate=lambda value: [] if value.ok else ["ok: must be true"],
            wait_on_rate_limit=False,
        )
        attempts.extend(_renumbered(answer.attempts, after=len(attempts)))
        code: CheckCode = "ok" if answer.ok else _check_code(answer.code)
        embedding_code: CheckCode | None = None
        dimension = None
        if self.embedding_model is not None and code not in ("key_refused", "unreachable"):
            batch: list[LlmAttempt] = []
            vectors = self._embed_batch(
                ["connection test"], purpose="check", attempts=batch, wait_on_rate_limit=False
            )
            attempts.extend(_renumbered(batch, after=len(attempts)))
            if isinstance(vectors, _Failure):
                embedding_code = _check_code(vectors.code)
            else:
                embedding_code, dimension = "ok", len(vectors[0])
        return CheckResult(
            code,
            answer.code,
            None if answer.error is None else answer.error.detail,
            listed,
            model_listed,
            embedding_code,
            dimension,
            tuple(attempts),
        )

    def _list_models(self, attempts: list[LlmAttempt]) -> tuple[str, ...] | _Failure | None:
        sent = self._send(
            lambda: self._sdk.models.with_raw_response.list(extra_headers=self._extra_headers)
        )
        failure = sent.failure
        listed: tuple[str, ...] | None = None
        if failure is None:
            try:
                listed = tuple(str(item["id"]) for item in json.loads(sent.response or "")["data"])
            except (ValueError, KeyError, TypeError):
                listed = None  # something answers, but not a model list: the chat call decides
        attempts.append(
            self._attempt(
                sent,
                kind="models",
                purpose="check",
                model=self.model,
                number=1,
                failure=failure,
                prompt_tokens=None,
                completion_tokens=None,
                prompt_hash=None,
            )
        )
        if failure is not None and (
            failure.code == errors.AUTH
            or (failure.code == errors.UNAVAILABLE and sent.http_status is None)
        ):
            return failure  # the chat call would meet the same
        return listed

    # --- one HTTP call -----------------------------------------------------------------------

    def _send(self, call: Callable[[], Any]) -> _Sent:
        start = self._monotonic()
        try:
            raw = call()
        except openai.APIStatusError as e:
            latency = self._elapsed_ms(start)
            return _Sent(
                e.status_code,
                self._request_text(e.request),
                self._scrub(_response_text(e.response)),
                latency,
                self._status_failure(e),
            )
        except openai.APITimeoutError as e:
            latency = self._elapsed_ms(start)
            failure = _Failure(errors.UNAVAILABLE, f"no answer within {self.timeout_s:g} s")
            return _Sent(None, self._request_text(e.request), None, latency, failure)
        except openai.APIConnectionError as e:
            latency = self._elapsed_ms(start)
            cause = e.__cause__ or e
            failure = _Failure(errors.UNAVAILABLE, f"no connection: {cause}"[:300])
            return _Sent(None, self._request_text(e.request), None, latency, failure)
        latency = self._elapsed_ms(start)
        response = raw.http_response
        return _Sent(
            response.status_code,
            self._request_text(response.request),
            self._scrub(_response_text(response)),
            latency,
            None,
            raw,
        )

    def _elapsed_ms(self, start: float) -> int:
        return max(0, round((self._monotonic() - start) * 1000))

    def _status_failure(self, e: openai.APIStatusError) -> _Failure:
        status = e.status_code
        message = _error_message(e)
        detail = self._scrub(f"HTTP {status}: {message}"[:300])
        if status in (401, 403):
            return _Failure(errors.AUTH, detail)
        if status == 404:
            names_model = e.code == "model_not_found" or "model" in message.lower()
            code = errors.MODEL_NOT_FOUND if names_model else errors.ENDPOINT_NOT_FOUND
            return _Failure(code, detail)
        if status == 429:
            if "insufficient_quota" in (e.code, e.type):
                return _Failure(errors.QUOTA_EXCEEDED, detail)
            return _Failure(errors.RATE_LIMITED, detail, _retry_after(e.response, self._now()))
        if status == 408 or status >= 500:
            return _Failure(errors.UNAVAILABLE, detail)
        refused_temperature = status == 400 and (
            e.param == "temperature" or "'temperature'" in message
        )
        return _Failure(errors.BAD_REQUEST, detail, temperature_refused=refused_temperature)

    def _attempt(
        self,
        sent: _Sent,
        *,
        kind: AttemptKind,
        purpose: str,
        model: str,
        number: int,
        failure: _Failure | None,
        prompt_tokens: int | None,
        completion_tokens: int | None,
        prompt_hash: str | None,
        temperature: float | None = None,
        finish_reason: str | None = None,
    ) -> LlmAttempt:
        status: AttemptStatus = "ok"
        if failure is not None:
            status = "invalid" if failure.code in errors.OUTPUT_CODES else "error"
        return LlmAttempt(
            purpose=purpose,
            kind=kind,
            model=model,
            number=number,
            status=status,
            error_code=None if failure is None else failure.code,
            http_status=sent.http_status,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=sent.latency_ms,
            prompt_sha256=prompt_hash,
            request=sent.request,
            response=sent.response,
            detail=None if failure is None else failure.detail,
            temperature=temperature,
            finish_reason=finish_reason,
        )

    def _request_text(self, request: httpx2.Request | None) -> str:
        """The request as sent, as JSON text, without credential headers or the key."""
        if request is None:
            return ""
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in _CREDENTIAL_HEADERS
        }
        body: Any
        try:
            raw = request.content
        except httpx2.RequestNotRead:
            raw = b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        text = json.dumps(
            {"method": request.method, "url": str(request.url), "headers": headers, "body": body},
            ensure_ascii=False,
        )
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        if self._key and len(self._key) >= 4:
            text = text.replace(self._key, "***")
        return text


# --- reading answers ------------------------------------------------------------------------


def _read_answer[T: BaseModel](
    raw: Any, output: type[T], validate: Callable[[T], Iterable[str]] | None
) -> tuple[tuple[T, str] | _Failure, str | None]:
    """The validated object and its text, or why not; and the finish reason."""
    try:
        completion = raw.parse()
    except openai.LengthFinishReasonError:
        return _Failure(errors.TRUNCATED, "the answer reached the output limit"), "length"
    except openai.ContentFilterFinishReasonError:
        return _Failure(errors.REFUSED, "the answer was withheld by a content filter"), (
            "content_filter"
        )
    except Exception as e:  # not a chat completion at all
        return _Failure(errors.BAD_RESPONSE, f"not a chat completion: {type(e).__name__}"), None
    try:
        choice = completion.choices[0]
        message = choice.message
        finish_reason = choice.finish_reason
        refusal = message.refusal
        content = message.content
    except (AttributeError, IndexError, TypeError):
        return _Failure(errors.BAD_RESPONSE, "a chat completion without a message"), None
    if refusal:
        return _Failure(errors.REFUSED, f"refused: {refusal}"[:300]), finish_reason
    if not isinstance(content, str) or not content.strip():
        return _Failure(errors.INVALID_JSON, "an empty answer"), finish_reason
    try:
        value = output.model_validate_json(content)
    except ValidationError as e:
        problems = _problems(e)
        json_broken = any(err["type"] == "json_invalid" for err in e.errors())
        code = errors.INVALID_JSON if json_broken else errors.SCHEMA_VIOLATION
        return _Failure(code, "\n".join(problems)), finish_reason
    if validate is not None:
        problems = [str(p) for p in validate(value)]
        if problems:
            return _Failure(errors.SCHEMA_VIOLATION, "\n".join(problems)), finish_reason
    return (value, content), finish_reason


def _problems(e: ValidationError) -> list[str]:
    lines = []
    for err in e.errors(include_url=False, include_context=False, include_input=False):
        where = ".".join(str(part) for part in err["loc"]) or "(the whole answer)"
        lines.append(f"{where}: {err['msg']}")
    if len(lines) > MAX_PROBLEMS_LISTED:
        lines = [*lines[:MAX_PROBLEMS_LISTED], f"… and {len(lines) - MAX_PROBLEMS_LISTED} more"]
    return lines


def _reask_messages(failure: _Failure, attempt: LlmAttempt) -> list[dict[str, str]]:
    """The messages appended for the one re-ask: the rejected answer (when it was JSON text
    worth fixing) and a user message saying what was wrong."""
    previous = _answer_content(attempt.response)
    appended: list[dict[str, str]] = []
    if failure.code in (errors.INVALID_JSON, errors.SCHEMA_VIOLATION) and previous:
        appended.append({"role": "assistant", "content": previous})
    problems = "\n".join(f"- {line}" for line in failure.detail.splitlines())
    again = (
        "Answer again with only one JSON object that follows the response schema exactly: "
        "no other text, no code fences."
    )
    if failure.code == errors.SCHEMA_VIOLATION:
        text = f"That answer does not follow the response schema. Problems:\n{problems}\n{again}"
    elif failure.code == errors.INVALID_JSON:
        text = f"That answer is not valid JSON ({failure.detail}). {again}"
    elif failure.code == errors.TRUNCATED:
        text = (
            "Your answer was cut off: it reached the output length limit. "
            f"{again} Keep every text field short so the whole object fits."
        )
    else:
        text = f"Your answer was a refusal or was withheld. If you can answer: {again}"
    appended.append({"role": "user", "content": text})
    return appended


def _answer_content(response: str | None) -> str | None:
    try:
        content = json.loads(response or "")["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) and content.strip() else None


def _read_vectors(raw: Any, expected: int) -> list[tuple[float, ...]] | _Failure:
    try:
        data = raw.parse().data
        rows = sorted(((item.index, item.embedding) for item in data), key=lambda r: r[0])
    except Exception as e:
        return _Failure(errors.BAD_RESPONSE, f"not an embedding list: {type(e).__name__}")
    if [index for index, _ in rows] != list(range(expected)):
        return _Failure(errors.BAD_RESPONSE, f"{len(rows)} embeddings for {expected} texts")
    vectors: list[tuple[float, ...]] = []
    for _, embedding in rows:
        if not isinstance(embedding, list) or not embedding:
            return _Failure(errors.BAD_RESPONSE, "an embedding that is not a list of numbers")
        try:
            vector = tuple(float(x) for x in embedding)
        except (TypeError, ValueError):
            return _Failure(errors.BAD_RESPONSE, "an embedding that is not a list of numbers")
        if not all(math.isfinite(x) for x in vector) or len(vector) != len(embedding):
            return _Failure(errors.BAD_RESPONSE, "an embedding with a value that is not finite")
        if vectors and len(vector) != len(vectors[0]):
            return _Failure(errors.BAD_RESPONSE, "embeddings of different dimensions")
        vectors.append(vector)
    return vectors


def _usage(response: str | None) -> tuple[int | None, int | None]:
    try:
        usage = json.loads(response or "")["usage"]
    except (ValueError, KeyError, TypeError):
        return None, None
    if not isinstance(usage, dict):
        return None, None

    def count(name: str) -> int | None:
        value = usage.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return count("prompt_tokens"), count("completion_tokens")


def _response_text(response: httpx2.Response) -> str:
    try:
        return response.text
    except httpx2.ResponseNotRead:
        return ""


def _error_message(e: openai.APIStatusError) -> str:
    body = e.body
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or body.get("detail")
        if isinstance(message, str):
            return message
    if isinstance(body, str) and body.strip():
        return body.strip()
    return _response_text(e.response).strip() or e.message


def _retry_after(response: httpx2.Response, now: float) -> float | None:
    """Seconds to wait per ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = (response.headers.get(name) or "").strip()
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        if math.isfinite(seconds):
            return max(0.0, seconds)
        return math.inf
    return retry_after_s(response.headers.get("retry-after"), now)  # an HTTP date


def _rate_limit_wait(failure: _Failure) -> float:
    return DEFAULT_RATE_LIMIT_WAIT_S if failure.retry_after is None else failure.retry_after


def _checked_messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    checked = []
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if role not in _ROLES or not isinstance(content, str):
            raise ValueError(f"a message needs a role in {sorted(_ROLES)} and text content")
        checked.append({"role": role, "content": content})
    if not checked:
        raise ValueError("at least one message is required")
    return checked


_CHECK_CODES: dict[str | None, CheckCode] = {
    errors.AUTH: "key_refused",
    errors.MODEL_NOT_FOUND: "model_not_found",
    errors.ENDPOINT_NOT_FOUND: "wrong_address",
    errors.BAD_RESPONSE: "wrong_address",
    errors.UNAVAILABLE: "unreachable",
    errors.RATE_LIMITED: "rate_limited",
    errors.QUOTA_EXCEEDED: "quota_exceeded",
    errors.BAD_REQUEST: "not_structured",
    **dict.fromkeys(errors.OUTPUT_CODES, "not_structured"),
}


def _renumbered(attempts: Iterable[LlmAttempt], *, after: int) -> list[LlmAttempt]:
    return [replace(a, number=after + a.number) for a in attempts]


def _check_code(code: str | None) -> CheckCode:
    return _CHECK_CODES.get(code, "unreachable")


__all__ = ["LlmClient", "LlmFailure", "Message", "prompt_sha256"]
