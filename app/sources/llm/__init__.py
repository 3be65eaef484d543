"""The OpenAI-compatible LLM adapter: the only module that talks to a language model
(``client.py``; each call's record in ``attempts.py``, results in ``schemas.py``, failures in
``errors.py``)."""

from app.sources.llm.client import LlmClient, prompt_sha256
from app.sources.llm.errors import (
    LlmAuthError,
    LlmError,
    LlmOutputInvalid,
    LlmRateLimited,
    LlmRequestError,
    LlmUnavailable,
)
from app.sources.llm.schemas import (
    CheckResult,
    EmbeddingResult,
    LlmAttempt,
    StructuredResult,
    strict_json_schema,
)

__all__ = [
    "CheckResult",
    "EmbeddingResult",
    "LlmAttempt",
    "LlmAuthError",
    "LlmClient",
    "LlmError",
    "LlmOutputInvalid",
    "LlmRateLimited",
    "LlmRequestError",
    "LlmUnavailable",
    "StructuredResult",
    "prompt_sha256",
    "strict_json_schema",
]
