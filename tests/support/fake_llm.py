"""A fake OpenAI-compatible LLM server speaking real HTTP on loopback, for
``app.sources.llm`` tests.

Seam: the client's base URL. Tests pass ``FakeLlm.base_url`` (``http://127.0.0.1:<port>/v1``),
so the OpenAI SDK and its ``httpx2`` transport run unchanged. Nothing is patched.

One ``ThreadingHTTPServer`` serves, shaped like OpenAI's API (and where they differ, noted):

- ``POST /v1/chat/completions``: checks the key (when ``api_key`` is set: a missing or wrong
  Bearer token is OpenAI's 401 ``invalid_api_key``), the model (unknown: OpenAI's 404
  ``model_not_found``), ``temperature`` (``rejects_temperature``: the 400 OpenAI's reasoning
  models give, ``param: "temperature"``) and a strict ``response_format`` schema the way
  OpenAI's strict mode does (``strict_schema_checks``: every object closed with
  ``additionalProperties: false`` and every property required; ``oneOf``, ``allOf``, ``not``
  and the conditional keywords refused, with OpenAI's "Invalid schema for response_format"
  400), then answers the next scripted reply: a JSON object (``answer``), any text
  (``answer_text``: invalid JSON, or JSON off the schema), a cut-off answer with
  ``finish_reason=length`` (``truncate``), a ``refusal``, a ``content_filter`` stop. With
  nothing scripted it answers 500 ``fake_llm: no answer scripted`` (a test that forgot to
  script fails loudly). ``usage`` counts words: prompt tokens are the words of every message,
  completion tokens the words of the answer.
- ``POST /v1/embeddings``: the deterministic test embedder (``tests/support/embedder.py``,
  ``dimension`` floats), ``encoding_format`` ``float`` or ``base64`` (float32), one item per
  input with its ``index``; unknown model → 404; prompt tokens are words.
- ``GET /v1/models``: the chat and embedding models, or (``list_models=False``) a plain 404 as
  from a server without the list. Any other path: ``404 page not found`` (text/plain, as
  Ollama's Go router answers a wrong base URL).

Failures are queued per path with ``fail(status, body=..., headers=..., times=..., path=...)``
and come before every check; ``hold(times=..., path=...)`` makes the next requests wait, without
an answer, until ``release()`` (or ``stop()``): the client's own timeout fires first, and a test
that needs to know the request arrived waits on ``wait_for_requests`` (a condition, not a
sleep). Every request is recorded (``requests``: method, path, headers, parsed body).
"""

from __future__ import annotations

import base64
import itertools
import json
import struct
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.embedder import DIMENSION, embed_text

CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
MODELS = "/v1/models"
HOLD_LIMIT_S = 30.0  # a held request gives up by itself, so a broken test cannot hang
CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z
_REFUSED_KEYWORDS = (
    "oneOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "patternProperties",
    "unevaluatedProperties",
)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # names lowercased
    body: Any  # parsed JSON, or None
    raw: bytes


@dataclass
class _Scripted:
    path: str
    kind: str  # status | hold | content | length | refusal | content_filter
    times: int = 1
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content: str | None = None


@dataclass
class FakeLlm:
    api_key: str | None = None
    chat_models: frozenset[str] = frozenset({"coach-model"})
    embedding_models: frozenset[str] = frozenset({"test-embed"})
    list_models: bool = True
    rejects_temperature: bool = False
    strict_schema_checks: bool = True
    dimension: int = DIMENSION
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._script: deque[_Scripted] = deque()
        self._release = threading.Event()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeLlm:
        fake = self

        class Handler(_Handler):
            llm = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def root_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    # --- scripting -----------------------------------------------------------------------------

    def answer(self, obj: Any, *, times: int = 1) -> None:
        """The next chat answer(s): ``obj`` as JSON text."""
        self.answer_text(json.dumps(obj, ensure_ascii=False), times=times)

    def answer_text(self, text: str, *, times: int = 1) -> None:
        """The next chat answer(s), as given (e.g. not JSON, or JSON off the schema)."""
        self._push(_Scripted(CHAT, "content", times, content=text))

    def truncate(self, text: str = '{"ok": tr', *, times: int = 1) -> None:
        """An answer cut off at the output limit: ``finish_reason=length``."""
        self._push(_Scripted(CHAT, "length", times, content=text))

    def refuse(self, text: str = "I'm sorry, I can't help with that.", *, times: int = 1) -> None:
        """A refusal: ``message.refusal`` set, no content."""
        self._push(_Scripted(CHAT, "refusal", times, content=text))

    def content_filter(self, *, times: int = 1) -> None:
        """An answer stopped by the content filter: ``finish_reason=content_filter``."""
        self._push(_Scripted(CHAT, "content_filter", times, content=None))

    def fail(
        self,
        status: int,
        *,
        body: bytes | dict[str, Any] | str = b"",
        headers: dict[str, str] | None = None,
        times: int = 1,
        path: str = CHAT,
    ) -> None:
        """The next ``times`` requests to ``path`` get this answer, before any check."""
        raw = _encode(body)
        self._push(_Scripted(path, "status", times, status, raw, dict(headers or {})))

    def hold(self, *, times: int = 1, path: str = CHAT) -> None:
        """The next ``times`` requests to ``path`` get no answer until ``release()``."""
        self._push(_Scripted(path, "hold", times))

    def release(self) -> None:
        self._release.set()

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: len(self.requests) >= count, timeout=timeout)

    def calls(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    @property
    def pending(self) -> int:
        """Scripted replies not yet used."""
        with self._lock:
            return sum(s.times for s in self._script)

    # --- internals -----------------------------------------------------------------------------

    def _push(self, item: _Scripted) -> None:
        with self._lock:
            self._script.append(item)

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)
            self._lock.notify_all()

    def _take(self, path: str, kinds: tuple[str, ...]) -> _Scripted | None:
        """The first scripted reply for ``path``, if it is one of ``kinds``."""
        with self._lock:
            for item in self._script:
                if item.path == path:
                    if item.kind not in kinds:
                        return None
                    item.times -= 1
                    if item.times <= 0:
                        self._script.remove(item)
                    return item
        return None


def _encode(body: bytes | dict[str, Any] | str) -> bytes:
    if isinstance(body, dict):
        return json.dumps(body).encode()
    if isinstance(body, str):
        return body.encode()
    return body


def openai_error(
    message: str, *, type_: str = "invalid_request_error", param: str | None = None, code=None
) -> dict[str, Any]:
    """An error body as OpenAI's API writes it."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def schema_problem(schema: Any) -> str | None:
    """Why OpenAI's strict mode would refuse ``schema``, or ``None``: the context (a path like
    OpenAI's ``('properties', 'items')``) and the rule broken."""

    def walk(node: Any, context: tuple[str, ...]) -> str | None:
        if not isinstance(node, dict):
            return None
        for keyword in _REFUSED_KEYWORDS:
            if keyword in node:
                return f"In context={context}, '{keyword}' is not permitted."
        properties = node.get("properties")
        if node.get("type") == "object" or isinstance(properties, dict):
            if node.get("additionalProperties") is not False:
                return (
                    f"In context={context}, 'additionalProperties' is required to be supplied "
                    "and to be false."
                )
            names = list(properties or {})
            missing = [name for name in names if name not in (node.get("required") or [])]
            if missing:
                return (
                    f"In context={context}, 'required' is required to be supplied and to be an "
                    f"array including every key in properties. Missing '{missing[0]}'."
                )
        children: list[tuple[tuple[str, ...], Any]] = []
        for name, sub in (properties or {}).items():
            children.append(((*context, "properties", name), sub))
        for name, sub in (node.get("$defs") or {}).items():
            children.append(((*context, "$defs", name), sub))
        if isinstance(node.get("items"), dict):
            children.append(((*context, "items"), node["items"]))
        for i, sub in enumerate(node.get("anyOf") or []):
            children.append(((*context, "anyOf", str(i)), sub))
        for where, sub in children:
            found = walk(sub, where)
            if found:
                return found
        return None

    if not isinstance(schema, dict) or schema.get("type") != "object":
        return "In context=(), the root schema must be an object ('type': 'object')."
    return walk(schema, ())


def _words(text: str | None) -> int:
    return len((text or "").split())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that timed out and hung up is a scenario here, not a server error
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    llm: FakeLlm
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(
        self,
        status: int,
        body: bytes | dict[str, Any] | str = b"",
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        raw = _encode(body)
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if raw and not any(k.lower() == "content-type" for k in headers or {}):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if raw:
            self.wfile.write(raw)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        llm = self.llm
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = self.path.split("?", 1)[0]
        headers = {name.lower(): value for name, value in self.headers.items()}
        llm._record(Recorded(method, path, headers, body, raw))

        scripted = llm._take(path, ("status", "hold"))
        if scripted is not None and scripted.kind == "hold":
            llm._release.wait(HOLD_LIMIT_S)
            return self._send(503, openai_error("released", type_="server_error"))
        if scripted is not None:
            return self._send(scripted.status, scripted.body, headers=scripted.headers)

        if (method, path) not in (("POST", CHAT), ("POST", EMBEDDINGS), ("GET", MODELS)):
            return self._send(404, "404 page not found", content_type="text/plain")
        if path == MODELS and not llm.list_models:
            return self._send(404, "404 page not found", content_type="text/plain")
        if llm.api_key is not None and headers.get("authorization") != f"Bearer {llm.api_key}":
            given = (headers.get("authorization") or "").removeprefix("Bearer ")
            shown = f"{given[:3]}***{given[-4:]}" if len(given) > 8 else "***"
            return self._send(
                401,
                openai_error(
                    f"Incorrect API key provided: {shown}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    code="invalid_api_key",
                ),
            )
        if path == MODELS:
            return self._models()
        if not isinstance(body, dict):
            return self._send(400, openai_error("We could not parse the JSON body."))
        if path == CHAT:
            return self._chat(body)
        return self._embeddings(body)

    # --- /v1/models ----------------------------------------------------------------------------

    def _models(self) -> None:
        names = sorted(self.llm.chat_models | self.llm.embedding_models)
        data = [
            {"id": name, "object": "model", "created": CREATED, "owned_by": "fake"}
            for name in names
        ]
        return self._send(200, {"object": "list", "data": data})

    # --- /v1/chat/completions ------------------------------------------------------------------

    def _chat(self, body: dict[str, Any]) -> None:
        llm = self.llm
        model = body.get("model")
        if model not in llm.chat_models:
            return self._send(
                404,
                openai_error(
                    f"The model `{model}` does not exist or you do not have access to it.",
                    code="model_not_found",
                ),
            )
        messages = body.get("messages")
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages
        ):
            return self._send(400, openai_error("Invalid 'messages'.", param="messages"))
        if llm.rejects_temperature and "temperature" in body:
            value = body["temperature"]
            return self._send(
                400,
                openai_error(
                    f"Unsupported value: 'temperature' does not support {value} with this "
                    "model. Only the default (1) value is supported.",
                    param="temperature",
                    code="unsupported_value",
                ),
            )
        fmt = body.get("response_format")
        if llm.strict_schema_checks and isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            spec = fmt.get("json_schema") or {}
            if spec.get("strict") is True:
                problem = schema_problem(spec.get("schema"))
                if problem:
                    name = spec.get("name")
                    return self._send(
                        400,
                        openai_error(
                            f"Invalid schema for response_format '{name}': {problem}",
                            param="response_format",
                        ),
                    )
        scripted = llm._take(CHAT, ("content", "length", "refusal", "content_filter"))
        if scripted is None:
            return self._send(
                500, openai_error("fake_llm: no answer scripted", type_="server_error")
            )
        content: str | None = scripted.content
        refusal = None
        finish_reason = "stop"
        if scripted.kind == "length":
            finish_reason = "length"
        elif scripted.kind == "refusal":
            content, refusal = None, scripted.content
        elif scripted.kind == "content_filter":
            finish_reason = "content_filter"
        prompt_tokens = sum(_words(m.get("content")) for m in messages)
        completion_tokens = _words(content or refusal)
        return self._send(
            200,
            {
                "id": f"chatcmpl-fake-{next(llm._ids)}",
                "object": "chat.completion",
                "created": CREATED,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": refusal},
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )

    # --- /v1/embeddings ------------------------------------------------------------------------

    def _embeddings(self, body: dict[str, Any]) -> None:
        llm = self.llm
        model = body.get("model")
        if model not in llm.embedding_models:
            return self._send(
                404,
                openai_error(
                    f"The model `{model}` does not exist or you do not have access to it.",
                    code="model_not_found",
                ),
            )
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if (
            not isinstance(inputs, list)
            or not inputs
            or not all(isinstance(t, str) and t for t in inputs)
        ):
            return self._send(400, openai_error("'input' must be text or a list of texts."))
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            return self._send(400, openai_error("Invalid 'encoding_format'.", param="encoding"))
        data = []
        for index, text in enumerate(inputs):
            vector: Any = embed_text(text, llm.dimension)
            if encoding == "base64":
                packed = struct.pack(f"<{len(vector)}f", *vector)
                vector = base64.b64encode(packed).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(_words(t) for t in inputs)
        return self._send(
            200,
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )
