"""A fake Garmin Connect speaking real HTTP on loopback, for ``app.sources.garmin`` tests.

Seam: ``garminconnect.client.Client`` keeps every base URL (SSO, connect, connectapi, the DI
token host, the mobile service URLs) as instance attributes set from its domain;
``app.sources.garmin.client.Endpoints`` sets them all, and tests pass ``FakeGarmin.endpoints``, so
the library's own login, token refresh and transport (requests *and* curl_cffi sessions) run
unchanged against this server. Nothing is patched; a test can assert that every base URL of the
client is ``http://127.0.0.1:<port>``.

One ``ThreadingHTTPServer`` serves all hosts (their paths do not overlap):

- SSO mobile flow: ``GET /mobile/sso/en_US/sign-in`` sets the ``SESSION`` cookie;
  ``POST /mobile/api/login`` answers ``responseStatus`` SUCCESSFUL / MFA_REQUIRED /
  INVALID_USERNAME_PASSWORD like Garmin; ``POST /{mobile,portal}/api/mfa/verifyCode``.
- DI OAuth2: ``POST /di-oauth2-service/oauth/token`` (service-ticket and refresh grants); every
  refresh rotates both tokens and retires the old refresh token.
- connectapi: the data endpoints, answering with payloads copied from garth's cassettes
  (``tests/fixtures/garmin/``), with Bearer checks (401 when expired or unknown).
- the workout library and calendar (``garminconnect``'s workout calls): ``POST
  /workout-service/workout`` stores the workout under a new id and answers it;
  ``GET|PUT|DELETE /workout-service/workout/{id}`` read it back as Garmin does
  (:func:`tests.support.garmin_workouts.garmin_echo`), replace it keeping the id (204), delete it
  with its schedules (204), and answer 404 for a workout that is not there;
  ``POST /workout-service/schedule/{workoutId}`` with ``{"date"}`` answers the schedule entry
  with its ``workoutScheduleId``; ``GET|PUT|DELETE /workout-service/schedule/{scheduleId}`` read,
  move (``calendarDate``) and remove it; ``GET /calendar-service/year/{y}/month/{m0}`` lists the
  scheduled workouts of a month as ``calendarItems``. Every request body is kept in
  ``payloads``; ``store_hook`` changes what Garmin keeps (for read-back differences).

Failures are queued per path prefix with ``fail(prefix, status, ...)``; ``sso_status`` makes
every SSO page answer that status (429 for a login rate limit).
"""

from __future__ import annotations

import base64
import copy
import io
import itertools
import json
import secrets
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from app.sources.garmin.client import Endpoints
from tests.support.garmin_workouts import garmin_echo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "garmin"
FIT_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "fit" / "12129115726_ACTIVITY.fit"
CLIENT_ID = "GARMIN_CONNECT_MOBILE_ANDROID_DI_2025Q2"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@dataclass
class Failure:
    prefix: str
    status: int
    headers: dict[str, str]
    body: bytes
    times: int
    delay_s: float = 0.0


@dataclass
class FakeGarmin:
    email: str = "owner@example.com"
    password: str = "correct horse battery"
    mfa_code: str | None = None  # set to require MFA
    sso_status: int | None = None  # every SSO page answers this (e.g. 429)
    access_lifetime_s: float = 3600.0
    activities_list: list[dict[str, Any]] = field(default_factory=list)
    daily_payloads: dict[tuple[str, date], Any] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    password_posts: list[dict[str, Any]] = field(default_factory=list)
    payloads: list[tuple[str, str, Any]] = field(default_factory=list)
    """Every request body sent to connectapi: (method, path, parsed JSON)."""
    workouts: dict[int, dict[str, Any]] = field(default_factory=dict)
    """The workout library as Garmin returns it, by workout id."""
    schedules: dict[int, dict[str, Any]] = field(default_factory=dict)
    """The calendar's scheduled workouts, by schedule id (the entries Garmin answers)."""
    store_hook: Callable[[dict[str, Any]], None] | None = None
    """Called on each workout before it is kept, to change what Garmin stores."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._workout_ids = itertools.count(1_000_000_001)
        self._schedule_ids = itertools.count(2_000_000_001)
        self._sessions: dict[str, dict[str, Any]] = {}
        self._tickets: set[str] = set()
        self.access_tokens: dict[str, float] = {}  # token -> exp
        self.refresh_tokens: set[str] = set()
        self._failures: list[Failure] = []
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeGarmin:
        fake = self

        class Handler(_Handler):
            garmin = fake

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
        base = self.base_url
        return Endpoints(
            sso=base,
            connect=base,
            connectapi=base,
            diauth_token_url=f"{base}/di-oauth2-service/oauth/token",
            mobile_integration=base,
        )

    # --- scenario controls ---------------------------------------------------------------------

    def fail(
        self,
        prefix: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        times: int = 1,
        delay_s: float = 0.0,
    ) -> None:
        """The next ``times`` requests whose path starts with ``prefix`` get this answer,
        after ``delay_s`` seconds (longer than the client's timeout = a timeout)."""
        self._failures.append(Failure(prefix, status, headers or {}, body, times, delay_s))

    def issue_tokens(self, *, expires_in: float | None = None) -> str:
        """Tokens as ``GarminClient.current_tokens()`` serializes them, valid on this fake."""
        access, refresh = self._new_pair(expires_in)
        return json.dumps(
            {"di_token": access, "di_refresh_token": refresh, "di_client_id": CLIENT_ID}
        )

    def revoke_all(self) -> None:
        self.refresh_tokens.clear()

    def add_history(self, count: int, *, newest: date) -> list[dict[str, Any]]:
        """``count`` activities, one a day back from ``newest``, shaped like the cassette."""
        template = load_fixture("activity_list_page1.json")[0]
        for i in range(count):
            item = copy.deepcopy(template)
            day = newest - timedelta(days=i)
            item["activityId"] = 20_000_000_000 + i
            item["startTimeLocal"] = f"{day} 08:10:21"
            item["startTimeGMT"] = f"{day} 14:10:21"
            self.activities_list.append(item)
        return self.activities_list

    def original_fit(self, activity_id: int) -> bytes:
        """The recorded FIT file; for ``add_history`` activities, a short run of their own that
        starts at their start time (so each is a distinct activity, as on Garmin)."""
        summary = next((a for a in self.activities_list if a["activityId"] == activity_id), None)
        if summary is None or activity_id < 20_000_000_000:
            return FIT_FILE.read_bytes()
        from tests.support.fitwriter import write_activity

        start = datetime.fromisoformat(summary["startTimeGMT"].replace(" ", "T")).replace(
            tzinfo=UTC
        )
        return write_activity(
            None, sport="running", start=start, samples={"heart_rate": np.full(120, 140.0)}
        )

    def set_daily(self, kind: str, day: date, payload: Any) -> None:
        self.daily_payloads[(kind, day)] = payload

    # --- internals -----------------------------------------------------------------------------

    def _jwt(self, exp: float) -> str:
        header = _b64({"alg": "HS256", "typ": "JWT"})
        payload = _b64({"client_id": CLIENT_ID, "exp": int(exp), "jti": next(self._counter)})
        return f"{header}.{payload}.fakesig"

    def _new_pair(self, expires_in: float | None = None) -> tuple[str, str]:
        lifetime = self.access_lifetime_s if expires_in is None else expires_in
        access = self._jwt(time.time() + lifetime)
        refresh = f"refresh-{next(self._counter)}-{secrets.token_hex(4)}"
        with self._lock:
            self.access_tokens[access] = time.time() + lifetime
            self.refresh_tokens.add(refresh)
        return access, refresh

    def take_failure(self, path: str) -> Failure | None:
        with self._lock:
            for f in self._failures:
                if path.startswith(f.prefix) and f.times > 0:
                    f.times -= 1
                    return f
        return None


class _Handler(BaseHTTPRequestHandler):
    garmin: FakeGarmin
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
        content_type: str = "application/json",
    ) -> None:
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
        body = body or b""
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _cookie(self, name: str) -> str | None:
        for part in (self.headers.get("Cookie") or "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == name:
                return v
        return None

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        g = self.garmin
        url = urlsplit(self.path)
        path, query = url.path, {k: v[-1] for k, v in parse_qs(url.query).items()}
        g.requests.append((method, self.path))
        body = self._body() if method != "GET" else b""
        is_sso = path.startswith(("/mobile/", "/portal/", "/sso/"))
        if body and path.startswith(("/workout-service/", "/calendar-service/")):
            with g._lock:
                g.payloads.append((method, path, json.loads(body)))
        if is_sso and g.sso_status is not None:
            return self._send(g.sso_status, b"<html><title>Too many</title></html>")
        failure = g.take_failure(path)
        if failure is not None:
            time.sleep(failure.delay_s)
            return self._send(failure.status, failure.body, headers=failure.headers)
        if is_sso:
            return self._sso(method, path, body)
        if path == "/di-oauth2-service/oauth/token" and method == "POST":
            return self._token(body)
        if not self._authorized():
            return self._send(401, {"message": "Token is not active"})
        if path.startswith(("/workout-service/", "/calendar-service/")):
            with g._lock:
                return self._workout_api(method, path, body)
        return self._api(path, query)

    # --- SSO -----------------------------------------------------------------------------------

    def _sso(self, method: str, path: str, body: bytes) -> None:
        g = self.garmin
        if method == "GET" and path == "/mobile/sso/en_US/sign-in":
            sid = secrets.token_hex(8)
            g._sessions[sid] = {}
            return self._send(
                200,
                b"<html><title>GARMIN Authentication Application</title></html>",
                headers={"Set-Cookie": f"SESSION={sid}; Path=/; HttpOnly"},
                content_type="text/html",
            )
        session = g._sessions.get(self._cookie("SESSION") or "")
        if method == "POST" and path == "/mobile/api/login":
            if session is None:  # Garmin answers a POST without the page's cookies with 429
                return self._send(429, b"")
            creds = json.loads(body)
            g.password_posts.append(creds)
            if creds.get("username") != g.email or creds.get("password") != g.password:
                return self._send(200, {"responseStatus": {"type": "INVALID_USERNAME_PASSWORD"}})
            if g.mfa_code is not None:
                session["mfa"] = True
                return self._send(
                    200,
                    {
                        "responseStatus": {"type": "MFA_REQUIRED"},
                        "customerMfaInfo": {"mfaLastMethodUsed": "email"},
                    },
                )
            return self._send(200, self._ticket())
        if method == "POST" and path.endswith("/api/mfa/verifyCode"):
            if session is None or not session.get("mfa"):
                return self._send(200, {"responseStatus": {"type": "SESSION_EXPIRED"}})
            if json.loads(body).get("mfaVerificationCode") != g.mfa_code:
                return self._send(200, {"responseStatus": {"type": "INVALID_MFA_CODE"}})
            session["mfa"] = False
            return self._send(200, self._ticket())
        return self._send(404, b"<html><title>Not found</title></html>", content_type="text/html")

    def _ticket(self) -> dict[str, Any]:
        ticket = f"ST-{secrets.token_hex(6)}-cas"
        self.garmin._tickets.add(ticket)
        return {"responseStatus": {"type": "SUCCESSFUL"}, "serviceTicketId": ticket}

    def _token(self, body: bytes) -> None:
        g = self.garmin
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") == "refresh_token":
            with g._lock:
                ok = form.get("refresh_token") in g.refresh_tokens
                g.refresh_tokens.discard(form.get("refresh_token", ""))
            if not ok:
                return self._send(400, {"error": "invalid_grant"})
        elif form.get("service_ticket") in g._tickets:
            g._tickets.discard(form["service_ticket"])
        else:
            return self._send(400, {"error": "invalid_grant"})
        access, refresh = g._new_pair()
        return self._send(
            200,
            {
                "access_token": access,
                "refresh_token": refresh,
                "token_type": "bearer",
                "expires_in": int(g.access_lifetime_s),
            },
        )

    # --- connectapi ----------------------------------------------------------------------------

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ")
        exp = self.garmin.access_tokens.get(token)
        return exp is not None and exp > time.time()

    def _api(self, path: str, query: dict[str, str]) -> None:
        g = self.garmin
        parts = path.strip("/").split("/")
        if path == "/userprofile-service/socialProfile":
            return self._send(200, {"displayName": "mtamizi", "userName": "owner"})
        if path == "/activitylist-service/activities/search/activities":
            lo = date.fromisoformat(query.get("startDate", "1900-01-01"))
            hi = date.fromisoformat(query.get("endDate", "2999-12-31"))
            chosen = [
                a
                for a in g.activities_list
                if lo <= datetime.fromisoformat(a["startTimeLocal"]).date() <= hi
            ]
            chosen.sort(key=lambda a: a["startTimeGMT"], reverse=True)
            start, limit = int(query.get("start", 0)), int(query.get("limit", 20))
            return self._send(200, chosen[start : start + limit])
        if path.startswith("/activity-service/activity/"):
            activity_id = int(parts[-1])
            if not any(a["activityId"] == activity_id for a in g.activities_list):
                return self._send(404, {"message": "Not found"})
            detail = load_fixture("activity.json")
            detail["activityId"] = activity_id
            return self._send(200, detail)
        if path.startswith("/download-service/files/activity/"):
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                zf.writestr(f"{parts[-1]}_ACTIVITY.fit", g.original_fit(int(parts[-1])))
            return self._send(200, buf.getvalue(), content_type="application/octet-stream")
        if path == "/sleep-service/sleep/dailySleepData":
            day = date.fromisoformat(query["date"])
            payload = g.daily_payloads.get(("sleep", day))
            if payload is None:
                payload = load_fixture("sleep_empty.json")
                payload["dailySleepDTO"]["calendarDate"] = day.isoformat()
            return self._send(200, payload)
        if path.startswith("/hrv-service/hrv/"):
            return self._daily("hrv", date.fromisoformat(parts[-1]), empty=None)
        if path == "/usersummary-service/usersummary/daily/":
            return self._daily("user_summary", date.fromisoformat(query["calendarDate"]), None)
        if path.startswith("/metrics-service/metrics/trainingreadiness/"):
            return self._daily("training_readiness", date.fromisoformat(parts[-1]), empty=[])
        if path.startswith("/metrics-service/metrics/maxmet/daily/"):
            return self._daily("max_metrics", date.fromisoformat(parts[-1]), empty=[])
        if path.startswith("/weight-service/weight/dayview/"):
            day = parts[-1]
            empty = {"startDate": day, "endDate": day, "dateWeightList": [], "totalAverage": {}}
            return self._daily("body_composition", date.fromisoformat(day), empty=empty)
        return self._send(404, {"message": "Not found"})

    def _daily(self, kind: str, day: date, empty: Any) -> None:
        payload = self.garmin.daily_payloads.get((kind, day), empty)
        if payload is None:
            return self._send(204)
        return self._send(200, payload)

    # --- the workout library and the calendar ----------------------------------------------------

    def _workout_api(self, method: str, path: str, body: bytes) -> None:
        g = self.garmin
        parts = path.strip("/").split("/")
        not_found = {"message": "Not found", "error": "NotFoundException"}
        if path == "/workout-service/workout" and method == "POST":
            workout_id = next(g._workout_ids)
            g.workouts[workout_id] = self._stored(json.loads(body), workout_id)
            return self._send(200, g.workouts[workout_id])
        if path.startswith("/workout-service/workout/") and len(parts) == 3:
            workout_id = int(parts[-1])
            if workout_id not in g.workouts:
                return self._send(404, not_found)
            if method == "GET":
                return self._send(200, g.workouts[workout_id])
            if method == "PUT":
                sent = json.loads(body)
                if sent.get("workoutId") != workout_id:
                    return self._send(400, {"message": "workoutId does not match the URL"})
                created = g.workouts[workout_id]["createdDate"]
                g.workouts[workout_id] = self._stored(sent, workout_id) | {"createdDate": created}
                g.workouts[workout_id]["updatedDate"] = "2027-02-02T06:00:00.0"
                return self._send(204)
            if method == "DELETE":
                del g.workouts[workout_id]
                for schedule_id in [
                    s for s, entry in g.schedules.items() if _scheduled_workout(entry) == workout_id
                ]:
                    del g.schedules[schedule_id]
                return self._send(204)
        if path.startswith("/workout-service/schedule/") and len(parts) == 3:
            number = int(parts[-1])
            if method == "POST":  # number is a workout id
                if number not in g.workouts:
                    return self._send(404, not_found)
                day = date.fromisoformat(json.loads(body)["date"])
                schedule_id = next(g._schedule_ids)
                g.schedules[schedule_id] = {
                    "workoutScheduleId": schedule_id,
                    "workout": {"workoutId": number},
                    "calendarDate": day.isoformat(),
                    "createdDate": "2027-02-01",
                    "ownerId": 1234567,
                    "newName": None,
                    "consumer": None,
                    "atpPlanTypeId": None,
                    "associatedActivityId": None,
                    "priority": None,
                    "nameChanged": False,
                    "protected": False,
                    "tpPlanName": None,
                    "isTimeTrainingPlan": False,
                }
                return self._send(200, self._schedule_entry(schedule_id))
            if number not in g.schedules:
                return self._send(404, not_found)
            entry = g.schedules[number]
            if method == "GET":
                return self._send(200, self._schedule_entry(number))
            if method == "PUT":
                sent = json.loads(body)
                if (sent.get("workout") or {}).get("workoutId") != _scheduled_workout(entry):
                    return self._send(400, {"message": "workout does not match the schedule"})
                entry["calendarDate"] = date.fromisoformat(sent["calendarDate"]).isoformat()
                return self._send(200, self._schedule_entry(number))
            if method == "DELETE":
                del g.schedules[number]
                return self._send(204)
        if path.startswith("/calendar-service/year/") and len(parts) == 5 and method == "GET":
            year, month = int(parts[2]), int(parts[4]) + 1  # Garmin counts months from 0
            items = [
                {
                    "id": schedule_id,
                    "itemType": "workout",
                    "workoutId": _scheduled_workout(entry),
                    "title": g.workouts[_scheduled_workout(entry)]["workoutName"],
                    "date": entry["calendarDate"],
                    "sportTypeKey": g.workouts[_scheduled_workout(entry)]["sportType"][
                        "sportTypeKey"
                    ],
                    "isParent": False,
                    "trainingPlanId": None,
                }
                for schedule_id, entry in sorted(g.schedules.items())
                if date.fromisoformat(entry["calendarDate"]).timetuple()[:2] == (year, month)
            ]
            return self._send(
                200, {"startDayOfMonth": 0, "numOfDaysInMonth": 31, "calendarItems": items}
            )
        return self._send(404, not_found)

    def _schedule_entry(self, schedule_id: int) -> dict[str, Any]:
        """A schedule as Garmin answers it: the entry with the whole workout inside."""
        entry = self.garmin.schedules[schedule_id]
        return entry | {"workout": self.garmin.workouts[_scheduled_workout(entry)]}

    def _stored(self, sent: dict[str, Any], workout_id: int) -> dict[str, Any]:
        stored = garmin_echo(sent, workout_id)
        if self.garmin.store_hook is not None:
            self.garmin.store_hook(stored)
        return stored


def _scheduled_workout(entry: dict[str, Any]) -> int:
    return entry["workout"]["workoutId"]
