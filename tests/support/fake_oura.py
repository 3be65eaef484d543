"""A fake Oura API v2 speaking real HTTP on loopback, for ``app.sources.oura`` tests.

Seam: ``app.sources.oura.client.Endpoints`` holds the API base and both OAuth URLs; tests pass
``FakeOura.endpoints``, so the client's own httpx transport runs unchanged and a test can assert
that every URL it holds is ``http://127.0.0.1:<port>``. Nothing is patched.

Shapes follow Oura's published API v2 schemas (see ``tests/fixtures/oura/SOURCES.md``), not a
recording. One ``ThreadingHTTPServer`` serves:

- OAuth: ``GET /oauth/authorize`` approves at once and redirects (302) to the registered
  ``redirect_uri`` with ``code`` and ``state`` (unknown scope names are dropped silently, as Oura
  does); ``POST /oauth/token`` trades a code (single-use, bound to its ``redirect_uri``) or a
  refresh token. **Every refresh token works once**: the check-and-retire is atomic, so of two
  concurrent refreshes with one token exactly one gets a new pair and the other
  ``400 invalid_grant``. ``refresh_together`` holds each refresh request before that check until
  that many have arrived, so concurrent ones are all at Oura before any is answered;
  ``refresh_delay_s`` holds each one that long, so a caller that should wait for another's
  refresh has the time to get it wrong.
- ``GET /v2/usercollection/{collection}``: ``{"data": [...], "next_token": ...}`` pages of
  ``page_size`` documents, a ``next_token`` bound to its query; ``personal_info`` answers a bare
  document. Bearer checks: 401 ``{"detail": ...}`` for unknown or expired tokens, and Oura's
  scope message when the token lacks the collection's scope. Date filters mimic the reported
  inconsistency: ``sleep`` keeps ``start_date < day <= end_date``, the others
  ``start_date <= day < end_date`` (the client asks one day wider on both sides).

Failures are queued per path prefix with ``fail(prefix, status, headers=..., body=..., times=...)``.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import secrets
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from app.sources.oura.client import COLLECTIONS, Endpoints

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "oura"
FIXTURE_DAY = date(2026, 3, 10)
REDIRECT_URI = "http://nas.local:8000/connections/oura/callback"
ALL_SCOPES = frozenset(
    {"email", "personal", "daily", "heartrate", "workout", "tag", "session", "spo2", "stress"}
    | {"heart_health", "ring_configuration"}
)

# The scope each collection demands (Oura's 401 names it).
SCOPE_OF: dict[str, str] = {
    "daily_readiness": "daily",
    "sleep": "daily",
    "daily_sleep": "daily",
    "daily_activity": "daily",
    "daily_stress": "daily",
    "daily_spo2": "spo2",
    "daily_resilience": "stress",
    "vO2_max": "heart_health",
    "workout": "workout",
    "personal_info": "personal",
}
PATH_OF = COLLECTIONS  # our collection name → Oura's path


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@functools.cache
def _fixture_day() -> dict[str, list[dict[str, Any]]]:
    return load_fixture("day.json")  # copied before every use


def _shift(value: Any, days: int) -> Any:
    """An ISO date or datetime string moved by ``days`` (other values unchanged)."""
    if not isinstance(value, str) or len(value) < 10:
        return value
    try:
        if len(value) == 10:
            return (date.fromisoformat(value) + timedelta(days=days)).isoformat()
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    shifted = (moment + timedelta(days=days)).isoformat(timespec="milliseconds")
    return shifted


_TIME_KEYS = ("day", "timestamp", "bedtime_start", "bedtime_end", "start_datetime", "end_datetime")


def documents_for(day: date) -> dict[str, list[dict[str, Any]]]:
    """``day.json``'s documents moved to ``day``, with fresh ids."""
    days = (day - FIXTURE_DAY).days
    out: dict[str, list[dict[str, Any]]] = {}
    for name, docs in _fixture_day().items():
        moved = []
        for doc in docs:
            doc = copy.deepcopy(doc)
            doc["id"] = str(uuid.uuid4())
            for key in _TIME_KEYS:
                if key in doc:
                    doc[key] = _shift(doc[key], days)
            for sample in ("heart_rate", "hrv", "met"):
                if isinstance(doc.get(sample), dict):
                    doc[sample]["timestamp"] = _shift(doc[sample]["timestamp"], days)
            moved.append(doc)
        out[name] = moved
    return out


@dataclass
class Failure:
    prefix: str
    status: int
    headers: dict[str, str]
    body: bytes
    times: int
    delay_s: float = 0.0


@dataclass
class FakeOura:
    client_id: str = "oura-client-7f3a"
    client_secret: str = "oura-secret-91c2"
    redirect_uri: str = REDIRECT_URI
    access_lifetime_s: int = 86400
    page_size: int = 50
    refresh_delay_s: float = 0.0
    refresh_together: int = 1
    personal: dict[str, Any] = field(default_factory=lambda: load_fixture("personal_info.json"))
    # Oura path → documents (any order; served sorted by day).
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    refresh_attempts: list[str] = field(default_factory=list)  # refresh tokens received

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._barrier: threading.Barrier | None = None
        self._counter = itertools.count(1)
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, tuple[float, frozenset[str]]] = {}
        self.refresh_tokens: dict[str, frozenset[str]] = {}  # live refresh token → scopes
        self.personal_tokens: set[str] = set()
        self._page_tokens: dict[str, tuple[str, str, str, int]] = {}
        self._failures: list[Failure] = []
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeOura:
        fake = self

        class Handler(_Handler):
            oura = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def endpoints(self) -> Endpoints:
        base = self.base_url
        return Endpoints(
            api=base, authorize_url=f"{base}/oauth/authorize", token_url=f"{base}/oauth/token"
        )

    # --- scenario controls ---------------------------------------------------------------------

    def fail(
        self,
        prefix: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | dict[str, Any] = b"",
        times: int = 1,
        delay_s: float = 0.0,
    ) -> None:
        """The next ``times`` requests whose path starts with ``prefix`` get this answer, after
        ``delay_s`` seconds (longer than the client's timeout = a timeout)."""
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        self._failures.append(Failure(prefix, status, headers or {}, raw, times, delay_s))

    def issue_tokens(
        self, *, expires_in: int | None = None, scopes: frozenset[str] = ALL_SCOPES
    ) -> str:
        """OAuth tokens as ``OuraClient.current_tokens()`` serializes them, valid here."""
        access, refresh, expires_at = self._new_pair(frozenset(scopes), expires_in)
        return json.dumps(
            {
                "kind": "oauth",
                "access_token": access,
                "refresh_token": refresh,
                "expires_at": expires_at,
                "scope": None,
            }
        )

    def issue_personal_token(self) -> str:
        token = f"PAT{secrets.token_hex(16).upper()}"
        self.personal_tokens.add(token)
        return token

    def add_day(self, day: date, **replace: list[dict[str, Any]]) -> dict[str, list[dict]]:
        """Every collection's documents for ``day`` (``day.json`` moved there); ``replace``
        swaps one collection's list (``sleep=[]`` for a night without the ring)."""
        docs = documents_for(day)
        docs.update(replace)
        for name, items in docs.items():
            self.documents.setdefault(PATH_OF[name], []).extend(items)
        return docs

    def add_history(self, days: int, *, newest: date) -> None:
        """``days`` consecutive dates of documents, ending at ``newest``."""
        for i in range(days):
            self.add_day(newest - timedelta(days=i))

    def take_failure(self, path: str) -> Failure | None:
        with self._lock:
            for f in self._failures:
                if path.startswith(f.prefix) and f.times > 0:
                    f.times -= 1
                    return f
        return None

    # --- internals -----------------------------------------------------------------------------

    def _refresh_barrier(self, parties: int) -> threading.Barrier:
        with self._lock:
            if self._barrier is None or self._barrier.parties != parties:
                self._barrier = threading.Barrier(parties)
            return self._barrier

    def _new_pair(
        self, scopes: frozenset[str], expires_in: int | None = None
    ) -> tuple[str, str, int]:
        lifetime = self.access_lifetime_s if expires_in is None else expires_in
        access = f"access-{next(self._counter)}-{secrets.token_hex(8)}"
        refresh = f"refresh-{next(self._counter)}-{secrets.token_hex(8)}"
        expires_at = int(time.time() + lifetime)
        with self._lock:
            self.access_tokens[access] = (expires_at, scopes)
            self.refresh_tokens[refresh] = scopes
        return access, refresh, expires_at

    def _page_token(self, path: str, start: str, end: str, offset: int) -> str:
        token = secrets.token_urlsafe(12)
        with self._lock:
            self._page_tokens[token] = (path, start, end, offset)
        return token


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that timed out and hung up is a scenario here, not a server error
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    oura: FakeOura
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # headers and body in one segment: no Nagle/delayed-ACK stall per request

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(
        self,
        status: int,
        body: bytes | dict[str, Any] | list[Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
        body = body or b""
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        o = self.oura
        url = urlsplit(self.path)
        path, query = url.path, {k: v[-1] for k, v in parse_qs(url.query).items()}
        o.requests.append((method, self.path))
        body = self._body() if method == "POST" else b""
        failure = o.take_failure(path)
        if failure is not None:
            time.sleep(failure.delay_s)
            return self._send(failure.status, failure.body, headers=failure.headers)
        if path == "/oauth/authorize" and method == "GET":
            return self._authorize(query)
        if path == "/oauth/token" and method == "POST":
            return self._token(body)
        if method == "GET" and path.startswith("/v2/usercollection/"):
            return self._collection(path.removeprefix("/v2/usercollection/"), query)
        return self._send(404, {"detail": "Not Found"})

    # --- OAuth ---------------------------------------------------------------------------------

    def _authorize(self, query: dict[str, str]) -> None:
        o = self.oura
        if query.get("client_id") != o.client_id or query.get("response_type") != "code":
            return self._send(400, {"detail": "Invalid client_id or response_type"})
        if query.get("redirect_uri") != o.redirect_uri:
            return self._send(400, {"detail": "Invalid redirect_uri"})
        scopes = frozenset(query.get("scope", "").split()) & ALL_SCOPES
        code = secrets.token_urlsafe(16)
        with o._lock:
            o.codes[code] = {"scopes": scopes, "redirect_uri": query["redirect_uri"]}
        params = urlencode({"code": code, "scope": " ".join(sorted(scopes)), **_state(query)})
        return self._send(302, headers={"Location": f"{o.redirect_uri}?{params}"})

    def _token(self, body: bytes) -> None:
        o = self.oura
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        if form.get("client_id") != o.client_id or form.get("client_secret") != o.client_secret:
            return self._send(401, {"error": "invalid_client"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with o._lock:
                issued = o.codes.pop(form.get("code", ""), None)
            if issued is None or issued["redirect_uri"] != form.get("redirect_uri"):
                return self._send(400, {"error": "invalid_grant"})
            return self._tokens(issued["scopes"])
        if grant == "refresh_token":
            old = form.get("refresh_token", "")
            o.refresh_attempts.append(old)
            if o.refresh_together > 1:
                o._refresh_barrier(o.refresh_together).wait(timeout=30)
            time.sleep(o.refresh_delay_s)
            with o._lock:
                scopes = o.refresh_tokens.pop(old, None)  # single-use: retired at once
            if scopes is None:
                return self._send(400, {"error": "invalid_grant"})
            return self._tokens(scopes)
        return self._send(400, {"error": "unsupported_grant_type"})

    def _tokens(self, scopes: frozenset[str]) -> None:
        access, refresh, expires_at = self.oura._new_pair(scopes)
        return self._send(
            200,
            {
                "token_type": "bearer",
                "access_token": access,
                "expires_in": max(0, int(expires_at - time.time())),
                "refresh_token": refresh,
            },
        )

    # --- usercollection ------------------------------------------------------------------------

    def _scopes(self) -> frozenset[str] | None:
        o = self.oura
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if token in o.personal_tokens:
            return ALL_SCOPES
        held = o.access_tokens.get(token)
        if held is None or held[0] <= time.time():
            return None
        return held[1]

    def _collection(self, path: str, query: dict[str, str]) -> None:
        o = self.oura
        if path not in SCOPE_OF:
            return self._send(404, {"detail": "Not Found"})
        scopes = self._scopes()
        if scopes is None:
            return self._send(401, {"detail": "Invalid or expired access token"})
        if SCOPE_OF[path] not in scopes:
            return self._send(
                401, {"detail": f"Token is not authorized access {SCOPE_OF[path]} scope."}
            )
        if path == "personal_info":
            return self._send(200, o.personal)
        token = query.get("next_token")
        if token:
            with o._lock:
                page = o._page_tokens.get(token)
            if page is None or page[:3] != (
                path,
                query.get("start_date", ""),
                query.get("end_date", ""),
            ):
                return self._send(400, {"detail": "Invalid next_token"})
            offset = page[3]
        else:
            offset = 0
        try:
            lo = date.fromisoformat(query.get("start_date") or "1970-01-01")
            hi = date.fromisoformat(query.get("end_date") or "2999-12-31")
        except ValueError:
            return self._send(
                422, {"detail": [{"loc": ["query", "start_date"], "msg": "invalid date"}]}
            )
        docs = sorted(o.documents.get(path, []), key=lambda d: d["day"])
        if path == "sleep":
            chosen = [d for d in docs if lo < date.fromisoformat(d["day"]) <= hi]
        else:
            chosen = [d for d in docs if lo <= date.fromisoformat(d["day"]) < hi]
        page_items = chosen[offset : offset + o.page_size]
        more = offset + o.page_size < len(chosen)
        next_token = (
            o._page_token(
                path, query.get("start_date", ""), query.get("end_date", ""), offset + o.page_size
            )
            if more
            else None
        )
        return self._send(200, {"data": page_items, "next_token": next_token})


def _state(query: dict[str, str]) -> dict[str, str]:
    return {"state": query["state"]} if "state" in query else {}
