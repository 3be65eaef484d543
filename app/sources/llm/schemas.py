"""The typed results of the LLM adapter — of ``structured()``, ``embed()`` and ``check()`` —
and the strict JSON Schema a Pydantic model is sent as. Each call's record, ``LlmAttempt``,
lives in ``attempts.py`` (the failures of ``errors.py`` carry it too)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from openai.lib._pydantic import _ensure_strict_json_schema, to_strict_json_schema
from pydantic import BaseModel, Field

from app.sources.llm.attempts import AttemptKind, AttemptStatus, LlmAttempt
from app.sources.llm.errors import LlmFailure

__all__ = [
    "AttemptKind",
    "AttemptStatus",
    "CheckResult",
    "ConnectionCheck",
    "EmbeddingResult",
    "LlmAttempt",
    "StructuredResult",
    "response_format",
    "strict_json_schema",
]


def _token_sum(attempts: Sequence[LlmAttempt], name: str) -> int:
    return sum(getattr(a, name) or 0 for a in attempts)


@dataclass(frozen=True, slots=True)
class StructuredResult[T: BaseModel]:
    """A validated object, or an ``error`` (an ``app.sources`` error carrying a ``code``) and no
    object; ``attempts`` either way. ``raw_output`` is the text the accepted object was read
    from."""

    model: str
    value: T | None
    error: LlmFailure | None
    attempts: tuple[LlmAttempt, ...]
    raw_output: str | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.value is not None

    @property
    def code(self) -> str | None:
        return None if self.error is None else self.error.code

    @property
    def prompt_tokens(self) -> int:
        return _token_sum(self.attempts, "prompt_tokens")

    @property
    def completion_tokens(self) -> int:
        return _token_sum(self.attempts, "completion_tokens")

    def unwrap(self) -> T:
        """The object, or raise the error."""
        if self.value is None:
            assert self.error is not None
            raise self.error
        return self.value


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    """One vector per input text, in order, of ``dimension`` floats from ``model``; or an
    ``error`` and no vectors. The vectors are as the server sent them (not normalised)."""

    model: str
    vectors: tuple[tuple[float, ...], ...]
    dimension: int | None
    error: LlmFailure | None
    attempts: tuple[LlmAttempt, ...]

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def code(self) -> str | None:
        return None if self.error is None else self.error.code

    @property
    def prompt_tokens(self) -> int:
        return _token_sum(self.attempts, "prompt_tokens")

    def unwrap(self) -> tuple[tuple[float, ...], ...]:
        if self.error is not None:
            raise self.error
        return self.vectors


CheckCode = Literal[
    "ok",
    "key_refused",
    "model_not_found",
    "wrong_address",
    "unreachable",
    "not_structured",
    "rate_limited",
    "quota_exceeded",
]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What *Test connection* found, as a code the page turns into words:

    - ``ok``: the chat model answered a structured request correctly;
    - ``key_refused``: 401/403 — check the key;
    - ``model_not_found``: the server does not have that model (``models`` lists those it has,
      when it lists them);
    - ``wrong_address``: nothing OpenAI-compatible answers at that base URL (usually it should
      end in ``/v1``);
    - ``unreachable``: no answer, a timeout or a server error, twice;
    - ``not_structured``: the server answered but cannot give JSON that follows a schema
      (structured outputs unsupported, or the model ignores them);
    - ``rate_limited`` / ``quota_exceeded``: the account is throttled or out of credit.

    ``failure_code`` is the adapter's finer code behind a failure. ``models`` are the model ids
    ``/models`` listed (``None`` when the server has no such list); ``model_listed`` says
    whether the chat model is among them. When an embedding model is set it is tried too:
    ``embedding_code`` (same vocabulary) and its ``embedding_dimension``.
    """

    code: CheckCode
    failure_code: str | None
    detail: str | None
    models: tuple[str, ...] | None
    model_listed: bool | None
    embedding_code: CheckCode | None
    embedding_dimension: int | None
    attempts: tuple[LlmAttempt, ...]

    @property
    def ok(self) -> bool:
        return self.code == "ok" and self.embedding_code in (None, "ok")


class ConnectionCheck(BaseModel):
    """The tiny answer *Test connection* asks for."""

    ok: bool = Field(description="Always true.")


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema sent for ``model`` with ``"strict": true``: the OpenAI SDK's own
    conversion (``to_strict_json_schema``, what ``chat.completions.parse`` sends: every property
    required, ``additionalProperties: false``), with one fix. Pydantic writes a *discriminated*
    union as ``oneOf`` plus a ``discriminator`` mapping, which the SDK passes on unchanged and
    OpenAI's strict mode refuses ("'oneOf' is not permitted"); here it becomes ``anyOf`` (the
    tags are ``const`` values, so at most one branch can match either way) without the
    mapping, and the branches are made strict like the rest."""
    schema = to_strict_json_schema(model)
    _one_of_to_any_of(schema)
    return _ensure_strict_json_schema(schema, path=(), root=schema)


def _one_of_to_any_of(node: Any) -> None:
    if isinstance(node, dict):
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
            node.pop("discriminator", None)
        for value in node.values():
            _one_of_to_any_of(value)
    elif isinstance(node, list):
        for item in node:
            _one_of_to_any_of(item)


def response_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The Chat Completions ``response_format`` for a strict JSON Schema."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": _schema_name(name),
            "strict": True,
            "schema": copy.deepcopy(schema),
        },
    }


def _schema_name(name: str) -> str:
    # OpenAI: a-z, A-Z, 0-9, underscores and dashes, at most 64 characters.
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in name)
    return cleaned[:64] or "answer"
