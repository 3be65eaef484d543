"""One HTTP call to the LLM server as it happened (``LlmAttempt``): what the service stores in
``llm_call``. Results (``schemas.py``) and failures (``errors.py``) both carry the attempts that
led to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AttemptKind = Literal["chat", "embedding", "models"]
AttemptStatus = Literal["ok", "invalid", "error"]


@dataclass(frozen=True, slots=True)
class LlmAttempt:
    """One HTTP call to the LLM server, as it happened.

    ``status`` is ``ok`` (a usable answer), ``invalid`` (the server answered but the answer was
    rejected: not JSON, off the schema, cut off, refused — ``error_code`` says which) or
    ``error`` (an HTTP error, a timeout, no connection). ``prompt_sha256`` is the SHA-256 of the
    messages (or embedding inputs) sent in this call, as canonical JSON (:func:`prompt_sha256`).
    ``request`` is the request as sent, as JSON text (method, URL, headers, body) with the
    credentials removed; ``response`` the raw body as received (``None`` when nothing came
    back), with the key scrubbed should a server echo it. ``wait_s`` is what the client slept
    after this call before the next one (a ``Retry-After``, a backoff), else ``None``.
    """

    purpose: str
    kind: AttemptKind
    model: str
    number: int
    status: AttemptStatus
    error_code: str | None
    http_status: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int
    prompt_sha256: str | None
    request: str = field(repr=False)
    response: str | None = field(repr=False)
    detail: str | None = None
    temperature: float | None = None
    finish_reason: str | None = None
    wait_s: float | None = None
