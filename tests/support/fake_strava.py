"""A fake Strava speaking real HTTP on loopback, for ``app.sources.strava`` tests.

Seam: ``app.sources.strava.client.Endpoints`` holds the API and OAuth base URLs; tests pass
``FakeStrava.endpoints`` (``http://127.0.0.1:<port>/api/v3`` and ``…/oauth``), so stravalib's
protocol layer runs unchanged against this server. Nothing is patched.

Answers are shaped like Strava's (``tests/fixtures/strava``, copied from stravalib's recorded
payloads, and the swagger schemas in ``../shared/fixtures/strava/stravalib/strava_swagger.json``):

- OAuth: ``GET /oauth/authorize`` approves at once and redirects (302) to ``redirect_uri`` with
  ``code``, ``state`` and ``scope``; ``POST /oauth/token`` (form) does the code exchange (codes
  are single-use) and the refresh grant; each refresh rotates the refresh token when
  ``rotate_refresh`` (the old one is retired) and an unknown one is 400 ``invalid``;
  ``POST /oauth/deauthorize`` (Bearer) retires every token.
- API (Bearer token required, else 401): ``/athlete``, ``/athlete/activities`` (``before``,
  ``after``, ``page``, ``per_page``; ascending when ``after`` is given, like Strava),
  ``/activities/{id}``, ``/activities/{id}/streams`` (``keys``, ``key_by_type``), ``POST
  /uploads`` (multipart) and ``GET /uploads/{id}`` (processing for ``upload_polls`` polls, then
  ready, an error, or a duplicate of an earlier upload).
- Every answer carries ``X-RateLimit-*`` (and ``X-ReadRateLimit-*`` for GETs); API calls count,
  and a call over a limit is answered 429 like Strava. ``set_usage`` jumps the counters.

Failures are queued per path prefix with ``fail(prefix, status, ...)``.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import itertools
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from app.sources.strava.client import Endpoints

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "strava"
ATHLETE_ID = 1513  # the recorded athlete's id

# Strava's fault bodies (swagger ``Fault``: message + errors[resource, field, code]).
UNAUTHORIZED = {
    "message": "Authorization Error",
    "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}],
}
NOT_FOUND = {
    "message": "Record Not Found",
    "errors": [{"resource": "Activity", "field": "id", "code": "invalid"}],
}
RATE_LIMITED = {
    "message": "Rate Limit Exceeded",
    "errors": [{"resource": "Application", "field": "rate limit", "code": "exceeded"}],
}
APP_INACTIVE = {
    "message": "Forbidden",
    "errors": [{"resource": "Application", "field": "Status", "code": "Inactive"}],
}
PROCESSING = "Your activity is still being processed."
READY = "Your activity is ready."
FAILED = "There was an error processing your activity."
# Fields of a DetailedActivity that a SummaryActivity (the list) does not carry.
DETAIL_ONLY = (
    "segment_efforts",
    "splits_metric",
    "splits_standard",
    "best_efforts",
    "laps",
    "calories",
    "description",
    "photos",
    "gear",
    "device_name",
    "embed_token",
)


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _fault(resource: str, field_name: str, code: str = "invalid") -> dict[str, Any]:
    return {
        "message": "Bad Request",
        "errors": [{"resource": resource, "field": field_name, "code": code}],
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def make_streams(seconds: int, *, start_latlng: tuple[float, float] = (37.78, -122.39)) -> dict:
    """A run of ``seconds`` one-second points, every stream type present (as lists)."""
    time_s = list(range(seconds))
    distance = [round(2.8 * t, 1) for t in time_s]
    return {
        "time": time_s,
        "latlng": [[start_latlng[0] + t * 1e-5, start_latlng[1] + t * 1e-5] for t in time_s],
        "distance": distance,
        "altitude": [round(10 + 2 * math.sin(t / 60), 1) for t in time_s],
        "velocity_smooth": [2.8 for _ in time_s],
        "heartrate": [120 + min(t, 40) for t in time_s],
        "cadence": [86 for _ in time_s],
        "watts": [250 for _ in time_s],
        "temp": [21 for _ in time_s],
        "moving": [True for _ in time_s],
        "grade_smooth": [0.5 for _ in time_s],
    }


@dataclass
class Failure:
    prefix: str
    status: int
    headers: dict[str, str]
    body: bytes
    times: int
    delay_s: float = 0.0


@dataclass
class FakeStrava:
    client_id: int = 4242
    client_secret: str = "fake-client-secret"
    access_lifetime_s: float = 6 * 3600.0
    rotate_refresh: bool = True
    limits: tuple[int, int] = (200, 2000)  # overall: 15 minutes, day
    read_limits: tuple[int, int] = (100, 1000)  # GETs
    upload_polls: int = 1  # GETs answered "processing" before an upload is finished
    activities_list: list[dict[str, Any]] = field(default_factory=list)
    streams_by_id: dict[int, dict[str, list[Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    upload_posts: list[dict[str, Any]] = field(default_factory=list)
    deauthorized: list[str] = field(default_factory=list)  # access tokens sent to deauthorize

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._ids = itertools.count(30_000_000_000)
        self.codes: dict[str, str] = {}  # code -> granted scope
        self.access_tokens: dict[str, float] = {}  # token -> expires_at
        self.refresh_tokens: set[str] = set()
        self.usage = [0, 0]
        self.read_usage = [0, 0]
        self.uploads: dict[int, dict[str, Any]] = {}
        self._history_ids: set[int] = set()
        self._failures: list[Failure] = []
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeStrava:
        fake = self

        class Handler(_Handler):
            strava = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
        return Endpoints(api=f"{self.base_url}/api/v3", oauth=f"{self.base_url}/oauth")

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
        """The next ``times`` requests whose path starts with ``prefix`` (``/api/v3/athlete``,
        ``/oauth/token``…) get this answer after ``delay_s`` seconds; ``headers`` override the
        rate-limit headers."""
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        self._failures.append(Failure(prefix, status, headers or {}, body, times, delay_s))

    def set_usage(
        self,
        *,
        short: int | None = None,
        daily: int | None = None,
        read_short: int | None = None,
        read_daily: int | None = None,
    ) -> None:
        with self._lock:
            for counters, i, value in (
                (self.usage, 0, short),
                (self.usage, 1, daily),
                (self.read_usage, 0, read_short),
                (self.read_usage, 1, read_daily),
            ):
                if value is not None:
                    counters[i] = value

    def issue_tokens(self, *, expires_in: float | None = None, athlete_id: int = ATHLETE_ID) -> str:
        """Tokens as ``StravaClient.current_tokens()`` serializes them, valid on this fake."""
        access, refresh, expires_at = self._new_pair(expires_in)
        return json.dumps(
            {
                "access_token": access,
                "refresh_token": refresh,
                "expires_at": expires_at,
                "athlete_id": athlete_id,
            }
        )

    def revoke_all(self) -> None:
        """The owner revoked the application: every token stops working."""
        with self._lock:
            self.access_tokens.clear()
            self.refresh_tokens.clear()

    def summary_template(self) -> dict[str, Any]:
        """The recorded detailed activity trimmed to a ``SummaryActivity``."""
        summary = load_fixture("activity.3.json")
        for key in DETAIL_ONLY:
            summary.pop(key, None)
        summary["resource_state"] = 2
        summary["map"] = {
            "id": summary["map"]["id"],
            "summary_polyline": summary["map"].get("summary_polyline"),
            "resource_state": 2,
        }
        summary["sport_type"] = summary["type"]
        return summary

    def add_activity(
        self,
        start: datetime,
        *,
        sport_type: str = "Run",
        streams: dict[str, list[Any]] | None = None,
        activity_id: int | None = None,
    ) -> dict[str, Any]:
        """One activity starting at ``start`` (aware), with ``streams`` (None: none at all)."""
        item = self.summary_template()
        item["id"] = activity_id or next(self._ids)
        item["athlete"] = {"id": ATHLETE_ID, "resource_state": 1}
        item["start_date"] = _iso(start)
        item["start_date_local"] = _iso(start - timedelta(hours=8))
        item["type"] = item["sport_type"] = sport_type
        item["external_id"] = f"garmin_push_{item['id'] - 10_000_000_000}"
        item["upload_id"] = item["id"] + 7
        with self._lock:
            self.activities_list.append(item)
            if streams is not None:
                self.streams_by_id[item["id"]] = streams
        return item

    def add_history(
        self, count: int, *, newest: datetime, every: timedelta = timedelta(days=1)
    ) -> list[dict[str, Any]]:
        """A very long history: ``count`` activities, one per ``every`` back from ``newest``,
        alternating runs and rides; streams are generated on request (``streams_for``)."""
        for i in range(count):
            item = self.add_activity(
                newest - i * every,
                sport_type="Run" if i % 2 == 0 else "Ride",
                activity_id=10_000_000_000 + i,
            )
            self._history_ids.add(item["id"])
        return self.activities_list

    def streams_for(self, activity_id: int) -> dict[str, list[Any]] | None:
        if activity_id in self.streams_by_id:
            return self.streams_by_id[activity_id]
        if activity_id in self._history_ids:
            return make_streams(600)
        return None

    # --- internals -----------------------------------------------------------------------------

    def _activity(self, activity_id: int) -> dict[str, Any] | None:
        return next((a for a in self.activities_list if a["id"] == activity_id), None)

    def _new_pair(self, expires_in: float | None = None) -> tuple[str, str, int]:
        lifetime = self.access_lifetime_s if expires_in is None else expires_in
        n = next(self._counter)
        access = f"access-{n}-{secrets.token_hex(8)}"
        refresh = f"refresh-{n}-{secrets.token_hex(8)}"
        expires_at = int(time.time() + lifetime)
        with self._lock:
            self.access_tokens[access] = expires_at
            self.refresh_tokens.add(refresh)
        return access, refresh, expires_at

    def take_failure(self, path: str) -> Failure | None:
        with self._lock:
            for f in self._failures:
                if path.startswith(f.prefix) and f.times > 0:
                    f.times -= 1
                    return f
        return None

    def count(self, method: str) -> bool:
        """Count one API request; False when it is over a limit (Strava answers 429)."""
        with self._lock:
            self.usage = [u + 1 for u in self.usage]
            over = any(u > limit for u, limit in zip(self.usage, self.limits, strict=True))
            if method == "GET":
                self.read_usage = [u + 1 for u in self.read_usage]
                over = over or any(
                    u > limit for u, limit in zip(self.read_usage, self.read_limits, strict=True)
                )
            return not over

    def rate_headers(self, method: str) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": f"{self.limits[0]},{self.limits[1]}",
            "X-RateLimit-Usage": f"{self.usage[0]},{self.usage[1]}",
        }
        if method == "GET":
            headers["X-ReadRateLimit-Limit"] = f"{self.read_limits[0]},{self.read_limits[1]}"
            headers["X-ReadRateLimit-Usage"] = f"{self.read_usage[0]},{self.read_usage[1]}"
        return headers


class _Handler(BaseHTTPRequestHandler):
    strava: FakeStrava
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    # --- plumbing ------------------------------------------------------------------------------

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
        merged = {**self.strava.rate_headers(self.command), **(headers or {})}
        self.send_response(status)
        for k, v in merged.items():
            self.send_header(k, v)
        if body:
            self.send_header("Content-Type", "application/json; charset=utf-8")
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
        s = self.strava
        url = urlsplit(self.path)
        path, query = url.path, {k: v[-1] for k, v in parse_qs(url.query).items()}
        s.requests.append((method, self.path))
        body = self._body() if method == "POST" else b""
        failure = s.take_failure(path)
        if failure is not None:
            time.sleep(failure.delay_s)
            return self._send(failure.status, failure.body, headers=failure.headers)
        if path == "/oauth/authorize" and method == "GET":
            return self._authorize(query)
        if path == "/oauth/token" and method == "POST":
            return self._token(body)
        if path == "/oauth/deauthorize" and method == "POST":
            return self._deauthorize()
        if not path.startswith("/api/v3/"):
            return self._send(404, NOT_FOUND)
        if not self._authorized():
            return self._send(401, UNAUTHORIZED)
        if not s.count(method):
            return self._send(429, RATE_LIMITED)
        return self._api(method, path.removeprefix("/api/v3"), query, body)

    # --- OAuth ---------------------------------------------------------------------------------

    def _authorize(self, query: dict[str, str]) -> None:
        s = self.strava
        if query.get("client_id") != str(s.client_id):
            return self._send(400, _fault("Application", "client_id"))
        if not query.get("redirect_uri") or query.get("response_type") != "code":
            return self._send(400, _fault("Application", "redirect_uri"))
        code = secrets.token_hex(10)
        scope = query.get("scope", "read")
        s.codes[code] = scope
        params = {"state": query.get("state", ""), "code": code, "scope": scope}
        location = f"{query['redirect_uri']}?{urlencode(params)}"
        return self._send(302, headers={"Location": location})

    def _token(self, body: bytes) -> None:
        s = self.strava
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        if form.get("client_id") != str(s.client_id):
            return self._send(400, _fault("Application", "client_id"))
        if form.get("client_secret") != s.client_secret:
            return self._send(401, _fault("Application", "client_secret"))
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with s._lock:
                ok = s.codes.pop(form.get("code", ""), None) is not None
            if not ok:
                return self._send(400, _fault("AuthorizationCode", "code"))
            access, refresh, expires_at = s._new_pair()
            athlete = load_fixture("athlete.3.json")
            summary = {
                k: athlete.get(k)
                for k in ("id", "username", "firstname", "lastname", "city", "state", "sex")
            }
            summary["resource_state"] = 2
            return self._send(200, self._tokens(access, refresh, expires_at) | {"athlete": summary})
        if grant == "refresh_token":
            old = form.get("refresh_token", "")
            with s._lock:
                ok = old in s.refresh_tokens
                if ok and s.rotate_refresh:
                    s.refresh_tokens.discard(old)
            if not ok:
                return self._send(400, _fault("RefreshToken", "refresh_token"))
            access, refresh, expires_at = s._new_pair()
            if not s.rotate_refresh:
                with s._lock:
                    s.refresh_tokens.discard(refresh)
                refresh = old
            return self._send(200, self._tokens(access, refresh, expires_at))
        return self._send(400, _fault("Application", "grant_type"))

    def _deauthorize(self) -> None:
        """The athlete withdraws the application: every token of it stops working."""
        if not self._authorized():
            return self._send(401, UNAUTHORIZED)
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        self.strava.deauthorized.append(token)
        self.strava.revoke_all()
        return self._send(200, {"access_token": token})

    def _tokens(self, access: str, refresh: str, expires_at: int) -> dict[str, Any]:
        return {
            "token_type": "Bearer",
            "access_token": access,
            "expires_at": expires_at,
            "expires_in": max(0, int(expires_at - time.time())),
            "refresh_token": refresh,
        }

    # --- API -----------------------------------------------------------------------------------

    def _authorized(self) -> bool:
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        expires_at = self.strava.access_tokens.get(token)
        return expires_at is not None and expires_at > time.time()

    def _api(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        s = self.strava
        parts = path.strip("/").split("/")
        if method == "GET" and path == "/athlete":
            return self._send(200, load_fixture("athlete.3.json"))
        if method == "GET" and path == "/athlete/activities":
            return self._list(query)
        if method == "GET" and len(parts) == 2 and parts[0] == "activities":
            item = s._activity(int(parts[1])) if parts[1].isdigit() else None
            if item is None:
                return self._send(404, NOT_FOUND)
            detail = load_fixture("activity.3.json")
            detail.update({k: v for k, v in item.items() if k not in ("map", "resource_state")})
            detail["device_name"] = "Garmin Forerunner 945"
            return self._send(200, detail)
        if method == "GET" and len(parts) == 3 and parts[0] == "activities":
            return self._streams(int(parts[1]) if parts[1].isdigit() else 0, query)
        if method == "POST" and path == "/uploads":
            return self._upload(body)
        if method == "GET" and len(parts) == 2 and parts[0] == "uploads" and parts[1].isdigit():
            return self._upload_status(int(parts[1]))
        return self._send(404, NOT_FOUND)

    def _list(self, query: dict[str, str]) -> None:
        s = self.strava
        after = float(query.get("after", 0))
        before = float(query.get("before", 1e12))
        page = int(query.get("page", 1))
        per_page = min(int(query.get("per_page", 30)), 200)
        chosen = [a for a in s.activities_list if after < _epoch(a["start_date"]) < before]
        chosen.sort(key=lambda a: a["start_date"], reverse="after" not in query)
        return self._send(200, chosen[(page - 1) * per_page : page * per_page])

    def _streams(self, activity_id: int, query: dict[str, str]) -> None:
        s = self.strava
        if s._activity(activity_id) is None:
            return self._send(404, NOT_FOUND)
        keys = [k for k in query.get("keys", "").split(",") if k]
        if not keys:
            return self._send(400, _fault("Stream", "keys", "missing"))
        streams = s.streams_for(activity_id) or {}
        chosen = {k: v for k, v in streams.items() if k in keys}
        series_type = "distance" if "distance" in streams else "time"
        shaped = [
            {
                "type": k,
                "data": v,
                "series_type": series_type,
                "original_size": len(v),
                "resolution": "high",
            }
            for k, v in chosen.items()
        ]
        if query.get("key_by_type", "").lower() == "true":
            return self._send(200, {item.pop("type"): item for item in shaped})
        return self._send(200, shaped)

    def _multipart(self, body: bytes) -> dict[str, Any]:
        header = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
        out: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                out[name] = {"filename": part.get_filename(), "content": payload}
            else:
                out[name] = payload.decode()
        return out

    def _upload(self, body: bytes) -> None:
        s = self.strava
        if not (self.headers.get("Content-Type") or "").startswith("multipart/form-data"):
            return self._send(400, _fault("Upload", "file", "missing"))
        form = self._multipart(body)
        s.upload_posts.append(form)
        file = form.get("file")
        if not isinstance(file, dict) or not file["content"]:
            return self._send(400, _fault("Upload", "file", "empty"))
        if form.get("data_type") not in ("fit", "fit.gz", "tcx", "tcx.gz", "gpx", "gpx.gz"):
            return self._send(400, _fault("Upload", "data_type"))
        upload_id = next(s._ids)
        digest = hashlib.sha256(file["content"]).hexdigest()
        earlier = next(
            (u for u in s.uploads.values() if u["digest"] == digest and u["activity_id"]), None
        )
        if earlier is not None:
            outcome = ("duplicate", earlier["activity_id"])
        elif form["data_type"].startswith("fit") and file["content"][8:12] != b".FIT":
            outcome = ("error", None)
        else:
            outcome = ("ready", None)
        record = {
            "id": upload_id,
            "external_id": form.get("external_id") or file["filename"],
            "filename": file["filename"],
            "digest": digest,
            "outcome": outcome,
            "polls": 0,
            "activity_id": None,
        }
        if outcome[0] == "ready":  # Strava knows the content at once: a second copy is a dup
            record["activity_id"] = next(s._ids)
        s.uploads[upload_id] = record
        return self._send(201, self._upload_body(record, processing=True))

    def _upload_body(self, record: dict[str, Any], *, processing: bool) -> dict[str, Any]:
        body = {
            "id": record["id"],
            "id_str": str(record["id"]),
            "external_id": record["external_id"],
            "error": None,
            "status": PROCESSING,
            "activity_id": None,
        }
        if processing:
            return body
        kind, other = record["outcome"]
        if kind == "ready":
            body.update(status=READY, activity_id=record["activity_id"])
        elif kind == "duplicate":
            body.update(
                status=FAILED,
                error=f"{record['filename']} duplicate of <a href='/activities/{other}' "
                f"target='_blank'>activity {other}</a>",
            )
        else:
            body.update(status=FAILED, error="Improperly formatted data.")
        return body

    def _upload_status(self, upload_id: int) -> None:
        s = self.strava
        record = s.uploads.get(upload_id)
        if record is None:
            return self._send(404, _fault("Upload", "id"))
        record["polls"] += 1
        processing = record["polls"] <= s.upload_polls
        if not processing and record["outcome"][0] == "ready" and not record.get("created"):
            record["created"] = True
            item = s.add_activity(datetime.now(UTC), activity_id=record["activity_id"])
            item["external_id"] = record["filename"]
        return self._send(200, self._upload_body(record, processing=processing))
