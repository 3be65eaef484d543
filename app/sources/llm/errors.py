"""What can go wrong with an LLM call, as the source error types every adapter raises.

Each error carries a ``code`` (the owner's sentence is chosen from it by the service or page; the
adapter has no user-visible text) and ``attempts``, the record of every HTTP call that led to it,
so a service can store the audit trail of a failed call as well as of a good one.

``structured()`` and ``embed()`` do not raise these: they return a result whose ``error`` is one
of them (``result.unwrap()`` raises it). ``ValueError`` is raised only for arguments that no
answer from a server could make right.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.sources import SourceAuthError, SourceDataError, SourceRateLimited, SourceUnavailable
from app.sources.llm.attempts import LlmAttempt

# Failure codes. The first group is about the server, the second about the model's answer.
AUTH = "llm_auth"  # 401/403: the key was refused ("check the key")
MODEL_NOT_FOUND = "llm_model_not_found"  # 404 naming the model: not on that server
ENDPOINT_NOT_FOUND = "llm_endpoint_not_found"  # 404 for the path: the base URL is wrong
RATE_LIMITED = "llm_rate_limited"  # 429, after waiting once per Retry-After (or too long to wait)
QUOTA_EXCEEDED = "llm_quota_exceeded"  # 429 insufficient_quota: the account is out of credit
UNAVAILABLE = "llm_unavailable"  # 5xx, timeout, connection refused — after one retry
BAD_REQUEST = "llm_bad_request"  # another 4xx: the server refused the request as sent
BAD_RESPONSE = "llm_bad_response"  # a 2xx that is not an OpenAI-shaped answer
INVALID_JSON = "llm_invalid_json"  # the answer is not JSON (or empty) — after the one re-ask
SCHEMA_VIOLATION = "llm_schema_violation"  # JSON that breaks the schema or the caller's checks
TRUNCATED = "llm_truncated"  # finish_reason=length: the answer was cut off
REFUSED = "llm_refused"  # the model refused (refusal, or finish_reason=content_filter)

OUTPUT_CODES = frozenset({INVALID_JSON, SCHEMA_VIOLATION, TRUNCATED, REFUSED})
ALL_CODES = frozenset(
    {
        AUTH,
        MODEL_NOT_FOUND,
        ENDPOINT_NOT_FOUND,
        RATE_LIMITED,
        QUOTA_EXCEEDED,
        UNAVAILABLE,
        BAD_REQUEST,
        BAD_RESPONSE,
    }
    | OUTPUT_CODES
)


class LlmError:
    """Mixed into each source error type: the failure ``code``, a short technical ``detail``
    (for logs and the audit, never shown as the owner's sentence) and the ``attempts``."""

    code: str
    detail: str
    attempts: tuple[LlmAttempt, ...]

    def _init_llm(self, code: str, detail: str, attempts: Sequence[LlmAttempt]) -> None:
        if code not in ALL_CODES:
            raise ValueError(f"unknown LLM failure code {code!r}")
        self.code = code
        self.detail = detail
        self.attempts = tuple(attempts)


class LlmAuthError(SourceAuthError, LlmError):
    """The server refused the key (401, 403)."""

    def __init__(self, detail: str, *, attempts: Sequence[LlmAttempt] = ()) -> None:
        super().__init__(f"{AUTH}: {detail}")
        self._init_llm(AUTH, detail, attempts)


class LlmRateLimited(SourceRateLimited, LlmError):
    """429 after the one wait, a wait longer than allowed, or an exhausted quota."""

    def __init__(
        self,
        detail: str,
        *,
        code: str = RATE_LIMITED,
        retry_after: float | None = None,
        attempts: Sequence[LlmAttempt] = (),
    ) -> None:
        super().__init__(f"{code}: {detail}", retry_after=retry_after)
        self._init_llm(code, detail, attempts)


class LlmUnavailable(SourceUnavailable, LlmError):
    """5xx, a timeout or no connection, twice."""

    def __init__(self, detail: str, *, attempts: Sequence[LlmAttempt] = ()) -> None:
        super().__init__(f"{UNAVAILABLE}: {detail}")
        self._init_llm(UNAVAILABLE, detail, attempts)


class LlmRequestError(SourceDataError, LlmError):
    """The server does not know the model or the path, refused the request as sent, or answered
    something that is not an OpenAI-shaped answer."""

    def __init__(self, detail: str, *, code: str, attempts: Sequence[LlmAttempt] = ()) -> None:
        super().__init__(f"{code}: {detail}", code=code)
        self._init_llm(code, detail, attempts)


class LlmOutputInvalid(SourceDataError, LlmError):
    """The model answered twice (the second time at temperature 0, told what was wrong) and
    neither answer could be used. Nothing of it is passed on."""

    def __init__(self, detail: str, *, code: str, attempts: Sequence[LlmAttempt] = ()) -> None:
        if code not in OUTPUT_CODES:
            raise ValueError(f"{code!r} is not an output failure")
        super().__init__(f"{code}: {detail}", code=code)
        self._init_llm(code, detail, attempts)


type LlmFailure = (
    LlmAuthError | LlmRateLimited | LlmUnavailable | LlmRequestError | LlmOutputInvalid
)


def error_for(
    code: str,
    detail: str,
    *,
    attempts: Sequence[LlmAttempt] = (),
    retry_after: float | None = None,
) -> LlmFailure:
    """The source error type of a failure code."""
    if code == AUTH:
        return LlmAuthError(detail, attempts=attempts)
    if code in (RATE_LIMITED, QUOTA_EXCEEDED):
        return LlmRateLimited(detail, code=code, retry_after=retry_after, attempts=attempts)
    if code == UNAVAILABLE:
        return LlmUnavailable(detail, attempts=attempts)
    if code in OUTPUT_CODES:
        return LlmOutputInvalid(detail, code=code, attempts=attempts)
    return LlmRequestError(detail, code=code, attempts=attempts)
