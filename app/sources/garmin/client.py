"""Garmin Connect over HTTP, through ``garminconnect`` (≥ 0.3.20, its own SSO login; not garth).

A thin protocol wrapper: log in (with MFA as a second step), hold and rotate the DI OAuth tokens,
fetch raw JSON and the original activity files. Mapping to our records lives in ``mapper.py``.
It also writes to the owner's workout library and calendar: upload, update in place, read back
and delete a workout; schedule, move and unschedule it (the JSON comes from and goes back to
``app.coach.garmin_workout``; a delete or unschedule of what is already gone counts as done).

We drive ``garminconnect.client.Client`` (login, token refresh, authenticated transport) and not
the ``Garmin`` facade: the facade retries 5xx with sleeps and loads the profile after login with
more retries, and the sync service owns retries and backoff. What the library still does on its
own, which callers must know:

- **login** tries up to five strategies (mobile+cffi over 3 TLS fingerprints, mobile+requests,
  widget+cffi, portal+cffi over 5 fingerprints, portal+requests), with random pauses between the
  sign-in page and the credential POST (2-5 s mobile, 3-8 s widget, 10-20 s portal). A refused
  password or an MFA challenge stops the chain at once; 429s and bot challenges move on to the
  next strategy, so one ``start_login`` is bounded at 11 attempts but is never a single request.
  ``skip_login_strategies`` narrows the chain. A 429 from login carries no Retry-After (the
  library drops the response), so ``SourceRateLimited.retry_after`` is ``None`` there.
- **token refresh**: before each request, an access token within 15 min of its ``exp`` is
  refreshed (DI refresh grant; Garmin returns a *new refresh token*, so persist
  ``current_tokens()`` after every job). A failed refresh is swallowed by the library; the request
  then goes out with the old token, and a 401 triggers one more refresh and one retry. A second
  401 becomes ``SourceAuthError``. No other retries happen in this adapter.
- **MFA state**: ``LoginResult.mfa_state`` is the library's JSON-able ``client_state`` (the SSO
  session cookies, the flow name and request params; never the password). It grants the pending
  login, so keep it encrypted and short-lived like a password.

Every public method raises only ``app.sources`` errors.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import requests
from garminconnect.client import Client
from garminconnect.exceptions import (
    GarminConnectAuthenticationError,
    GarminConnectConnectionError,
    GarminConnectTooManyRequestsError,
)

from app.security.redaction import redact, register_secret, register_secrets_in
from app.sources import (
    MfaCodeRejected,
    SourceAuthError,
    SourceDataError,
    SourceError,
    SourceRateLimited,
    SourceUnavailable,
)
from app.sources.retry_after import retry_after_s

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

ACTIVITY_PAGE_SIZE = 100
REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Base URLs of the Garmin hosts the library talks to. Production uses ``for_domain``;
    tests point every one of them at the loopback fake, so nothing reaches the internet."""

    sso: str
    connect: str
    connectapi: str
    diauth_token_url: str
    mobile_integration: str

    @classmethod
    def for_domain(cls, domain: str = "garmin.com") -> Endpoints:
        return cls(
            sso=f"https://sso.{domain}",
            connect=f"https://connect.{domain}",
            connectapi=f"https://connectapi.{domain}",
            diauth_token_url=f"https://diauth.{domain}/di-oauth2-service/oauth/token",
            mobile_integration=f"https://mobile.integration.{domain}",
        )


class _Client(Client):
    """``garminconnect``'s client with its base URLs taken from ``Endpoints``."""

    def __init__(self, endpoints: Endpoints, skip_strategies: frozenset[str]) -> None:
        super().__init__("garmin.com", verify_login=True)
        self._sso = endpoints.sso
        self._connect = endpoints.connect
        self._connectapi = endpoints.connectapi
        self._ios_service_url = f"{endpoints.mobile_integration}/gcm/ios"
        self._mobile_sso_service_url = f"{endpoints.mobile_integration}/gcm/android"
        self._portal_service_url = f"{endpoints.connect}/app"
        self._di_token_url = endpoints.diauth_token_url
        self.skip_strategies = set(skip_strategies)

    def base_urls(self) -> list[str]:
        return [
            self._sso,
            self._connect,
            self._connectapi,
            self._ios_service_url,
            self._mobile_sso_service_url,
            self._portal_service_url,
            self._di_token_url,
        ]


@dataclass(frozen=True, slots=True)
class LoginResult:
    """Either ``tokens`` (done) or ``mfa_state`` (call ``finish_login`` with the code)."""

    tokens: str | None = None
    mfa_state: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def needs_mfa(self) -> bool:
        return self.mfa_state is not None


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) if response is not None else None
    return retry_after_s(headers.get("Retry-After") if headers else None, time.time())


def _garmin_id(value: int | str, kind: str = "activity") -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as e:
        raise SourceDataError(
            f"not a Garmin {kind} id: {value!r}", code="garmin_bad_payload"
        ) from e
    if number <= 0 or isinstance(value, bool):
        raise SourceDataError(f"not a Garmin {kind} id: {value!r}", code="garmin_bad_payload")
    return number


def _activity_id(activity_id: int | str) -> int:
    return _garmin_id(activity_id, "activity")


@dataclass(frozen=True, slots=True)
class ScheduledWorkout:
    """A workout on Garmin's calendar: the schedule's own id, the workout's id, the day."""

    schedule_id: int
    workout_id: int
    day: date


def _status_error(status: int, response: Any, what: str) -> SourceError:
    if status == 429:
        return SourceRateLimited(f"Garmin rate limited {what}", retry_after=_retry_after(response))
    if status in (401, 403):
        return SourceAuthError(f"Garmin refused the tokens ({status}) on {what}")
    if status >= 500:
        return SourceUnavailable(f"Garmin answered {status} on {what}")
    if status == 404:
        return SourceDataError(f"Garmin has no {what} (404)", code="garmin_not_found")
    return SourceDataError(f"Garmin answered {status} on {what}", code="garmin_bad_request")


@contextmanager
def _translate(what: str) -> Iterator[None]:
    """Turn every garminconnect/requests/curl failure into an ``app.sources`` error."""
    try:
        yield
    except SourceError:
        raise
    except GarminConnectTooManyRequestsError as e:
        raise SourceRateLimited(f"Garmin rate limited {what}") from e
    except GarminConnectAuthenticationError as e:
        raise SourceAuthError(redact(f"Garmin refused {what}: {e}")) from e
    except GarminConnectConnectionError as e:
        response = getattr(e, "response", None)
        status = getattr(response, "status_code", None)
        if status is not None:
            raise _status_error(status, response, what) from e
        raise SourceUnavailable(redact(f"Garmin unreachable on {what}: {e}")) from e
    except (requests.RequestException, OSError) as e:
        raise SourceUnavailable(f"Garmin unreachable on {what}: {type(e).__name__}") from e


class GarminClient:
    """One owner's Garmin Connect session. Not thread-safe: one job at a time."""

    def __init__(
        self,
        *,
        endpoints: Endpoints | None = None,
        skip_login_strategies: frozenset[str] = frozenset(),
        timeout: float = REQUEST_TIMEOUT_S,
        page_size: int = ACTIVITY_PAGE_SIZE,
    ) -> None:
        self.endpoints = endpoints or Endpoints.for_domain()
        self._skip = skip_login_strategies
        self._timeout = timeout
        self._page_size = page_size
        self._client = _Client(self.endpoints, skip_login_strategies)

    # --- connecting --------------------------------------------------------------------------

    @classmethod
    def from_tokens(cls, tokens: str, **kwargs: Any) -> GarminClient:
        client = cls(**kwargs)
        with _translate("the stored tokens"):
            try:
                client._client.loads(tokens)
            except GarminConnectConnectionError as e:
                raise SourceAuthError("stored Garmin tokens are unreadable") from e
        return client

    def start_login(self, email_address: str, password: str) -> LoginResult:
        """Log in with the password (never kept). Returns tokens, or an MFA state to finish."""
        register_secret(password)  # an error or a library's debug line may carry it
        with _translate("the login"):
            status, state = self._client.login(email_address, password, return_on_mfa=True)
        if status == "needs_mfa":
            return LoginResult(mfa_state=json.loads(json.dumps(state)))
        return LoginResult(tokens=self.current_tokens())

    def finish_login(self, mfa_state: dict[str, Any], code: str) -> str:
        """Complete an MFA login (in any process) and return the tokens."""
        self._client = _Client(self.endpoints, self._skip)
        try:
            with _translate("the MFA code"):
                self._client.resume_login(mfa_state, code.strip())
        except SourceAuthError as e:
            if "MFA verification failed" in str(e):
                raise MfaCodeRejected("Garmin rejected the MFA code") from e
            raise
        return self.current_tokens()

    def current_tokens(self) -> str:
        """The serialized tokens now held (they change when Garmin rotates them)."""
        tokens = self._client.dumps()
        register_secrets_in(tokens)  # a rotated token is a secret from the moment it arrives
        return tokens

    def base_urls(self) -> list[str]:
        return self._client.base_urls()

    # --- data ---------------------------------------------------------------------------------

    def _get(self, path: str, what: str, *, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` on connectapi; the parsed JSON, or ``None`` for an empty answer."""
        with _translate(what):
            resp = self._client.request(
                "GET", "connectapi", path, params=params, timeout=self._timeout
            )
        if resp.status_code == 204 or not getattr(resp, "content", b"").strip():
            return None
        try:
            return json.loads(resp.content)
        except ValueError as e:
            raise SourceDataError(
                f"Garmin sent malformed JSON for {what}", code="garmin_bad_payload", what=what
            ) from e

    def _expect(self, payload: Any, kind: type | tuple[type, ...], what: str) -> Any:
        if payload is not None and not isinstance(payload, kind):
            raise SourceDataError(
                f"Garmin sent {type(payload).__name__} for {what}",
                code="garmin_bad_payload",
                what=what,
            )
        return payload

    def activities(self, start: date, end: date) -> list[dict[str, Any]]:
        """Activity summaries started between ``start`` and ``end`` (local dates, inclusive),
        newest first, fetched page by page."""
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self._expect(
                self._get(
                    "/activitylist-service/activities/search/activities",
                    "the activity list",
                    params={
                        "startDate": start.isoformat(),
                        "endDate": end.isoformat(),
                        "start": offset,
                        "limit": self._page_size,
                    },
                ),
                list,
                "the activity list",
            )
            page = page or []
            if not all(isinstance(a, dict) and "activityId" in a for a in page):
                raise SourceDataError(
                    "Garmin activity list entry without activityId",
                    code="garmin_bad_payload",
                    what="the activity list",
                )
            out.extend(page)
            if len(page) < self._page_size:
                return out
            offset += len(page)

    def activity_at(self, offset: int) -> dict[str, Any] | None:
        """The ``offset``-th activity of the whole history, newest first (0-based), or ``None``
        past the oldest: one-item pages let the sync size a backfill in O(log n) calls."""
        page = self._expect(
            self._get(
                "/activitylist-service/activities/search/activities",
                "the activity list",
                params={"start": int(offset), "limit": 1},
            ),
            list,
            "the activity list",
        )
        if not page:
            return None
        if not isinstance(page[0], dict) or "activityId" not in page[0]:
            raise SourceDataError(
                "Garmin activity list entry without activityId",
                code="garmin_bad_payload",
                what="the activity list",
            )
        return page[0]

    def activity(self, activity_id: int | str) -> dict[str, Any]:
        what = f"activity {activity_id}"
        payload = self._expect(
            self._get(f"/activity-service/activity/{_activity_id(activity_id)}", what), dict, what
        )
        if payload is None:
            raise SourceDataError(f"Garmin sent nothing for {what}", code="garmin_bad_payload")
        return payload

    def original_file(self, activity_id: int | str) -> bytes:
        """The ORIGINAL upload: a ZIP holding the FIT file."""
        what = f"the original file of activity {activity_id}"
        with _translate(what):
            resp = self._client.request(
                "GET",
                "connectapi",
                f"/download-service/files/activity/{_activity_id(activity_id)}",
                headers={"Accept": "*/*"},
                timeout=self._timeout,
            )
        content = getattr(resp, "content", b"") or b""
        if not content.startswith(b"PK"):
            raise SourceDataError(f"Garmin sent no ZIP for {what}", code="garmin_bad_payload")
        return content

    def sleep(self, day: date) -> dict[str, Any] | None:
        return self._expect(
            self._get(
                "/sleep-service/sleep/dailySleepData",
                f"sleep {day}",
                params={"date": day.isoformat(), "nonSleepBufferMinutes": 60},
            ),
            dict,
            f"sleep {day}",
        )

    def hrv(self, day: date) -> dict[str, Any] | None:
        return self._expect(self._get(f"/hrv-service/hrv/{day}", f"HRV {day}"), dict, "HRV")

    def user_summary(self, day: date) -> dict[str, Any] | None:
        """Resting HR, steps, stress, body battery, intensity minutes, SpO2, respiration."""
        return self._expect(
            self._get(
                "/usersummary-service/usersummary/daily/",
                f"the daily summary {day}",
                params={"calendarDate": day.isoformat()},
            ),
            dict,
            "the daily summary",
        )

    def training_readiness(self, day: date) -> list[dict[str, Any]] | None:
        return self._expect(
            self._get(f"/metrics-service/metrics/trainingreadiness/{day}", f"readiness {day}"),
            list,
            "training readiness",
        )

    def max_metrics(self, day: date) -> list[dict[str, Any]] | None:
        return self._expect(
            self._get(f"/metrics-service/metrics/maxmet/daily/{day}/{day}", f"VO2max {day}"),
            list,
            "max metrics",
        )

    def body_composition(self, day: date) -> dict[str, Any] | None:
        return self._expect(
            self._get(
                f"/weight-service/weight/dayview/{day}",
                f"weight {day}",
                params={"includeAll": "true"},
            ),
            dict,
            "weight",
        )

    DAILY: tuple[str, ...] = (
        "sleep",
        "hrv",
        "user_summary",
        "training_readiness",
        "max_metrics",
        "body_composition",
    )

    def daily(self, day: date) -> dict[str, Any]:
        """Every daily payload for ``day`` by name (``DAILY``); ``None`` where Garmin had none."""
        calls: dict[str, Callable[[date], Any]] = {name: getattr(self, name) for name in self.DAILY}
        return {name: call(day) for name, call in calls.items()}

    # --- workouts and the calendar --------------------------------------------------------------
    #
    # garminconnect's ``WorkoutsMixin`` calls (URLs and bodies as it sends them), through our
    # transport so that errors translate like the data calls: 429 → ``SourceRateLimited`` with
    # the Retry-After wait, a second 401 → ``SourceAuthError``, 5xx → ``SourceUnavailable``,
    # 404 → ``SourceDataError("garmin_not_found")``, any other refusal → ``"garmin_bad_request"``.
    # The payloads are the JSON of ``app.coach.garmin_workout``; nothing here reads a step.

    WORKOUTS = "/workout-service/workout"
    SCHEDULE = "/workout-service/schedule"

    def _send(self, method: str, path: str, what: str, *, body: Any = None) -> Any:
        """``method`` on connectapi with a JSON ``body``; the parsed answer, ``None`` if empty."""
        kwargs: dict[str, Any] = {"timeout": self._timeout}
        if body is not None:
            kwargs["json"] = body
        with _translate(what):
            resp = self._client.request(method, "connectapi", path, **kwargs)
        content = getattr(resp, "content", b"") or b""
        if resp.status_code == 204 or not content.strip():
            return None
        try:
            return json.loads(content)
        except ValueError as e:
            raise SourceDataError(
                f"Garmin sent malformed JSON for {what}", code="garmin_bad_payload", what=what
            ) from e

    def _positive_id(self, payload: Any, key: str, what: str) -> int:
        value = payload.get(key) if isinstance(payload, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SourceDataError(
                f"Garmin answered {what} without a {key}", code="garmin_bad_payload", what=what
            )
        return value

    def upload_workout(self, payload: dict[str, Any]) -> int:
        """Create a workout in the owner's Garmin library (``upload_workout``); its id."""
        what = f"the upload of workout {payload.get('workoutName')!r}"
        answer = self._send("POST", self.WORKOUTS, what, body=payload)
        return self._positive_id(answer, "workoutId", what)

    def update_workout(self, workout_id: int, payload: dict[str, Any]) -> None:
        """Replace workout ``workout_id`` with ``payload`` in place (``update_workout``: a PUT
        of the whole workout). The id stays, and with it every schedule of the workout."""
        number = _garmin_id(workout_id, "workout")
        self._send(
            "PUT",
            f"{self.WORKOUTS}/{number}",
            f"the update of workout {number}",
            body=payload | {"workoutId": number},
        )

    def workout(self, workout_id: int) -> dict[str, Any]:
        """The workout as Garmin stored it (``get_workout_by_id``), for the read-back check."""
        number = _garmin_id(workout_id, "workout")
        what = f"workout {number}"
        payload = self._expect(self._send("GET", f"{self.WORKOUTS}/{number}", what), dict, what)
        if payload is None:
            raise SourceDataError(f"Garmin sent nothing for {what}", code="garmin_bad_payload")
        return payload

    def delete_workout(self, workout_id: int) -> bool:
        """Delete workout ``workout_id`` (``delete_workout``). ``False`` when Garmin no longer
        had it: gone is what was asked, so that counts as done."""
        number = _garmin_id(workout_id, "workout")
        return self._gone_is_done("DELETE", f"{self.WORKOUTS}/{number}", f"workout {number}")

    def schedule_workout(self, workout_id: int, day: date) -> int:
        """Put workout ``workout_id`` on the calendar on ``day`` (``schedule_workout``); the
        schedule's id (``workoutScheduleId``), which moving and removing it need."""
        number = _garmin_id(workout_id, "workout")
        what = f"the schedule of workout {number} on {day.isoformat()}"
        answer = self._send(
            "POST", f"{self.SCHEDULE}/{number}", what, body={"date": day.isoformat()}
        )
        return self._positive_id(answer, "workoutScheduleId", what)

    def reschedule_workout(self, schedule_id: int, day: date) -> None:
        """Move scheduled workout ``schedule_id`` to ``day``, keeping its id
        (``reschedule_workout``: the schedule entry is read, then put back with the new
        ``calendarDate`` — two calls)."""
        number = _garmin_id(schedule_id, "schedule")
        what = f"scheduled workout {number}"
        current = self._expect(self._send("GET", f"{self.SCHEDULE}/{number}", what), dict, what)
        current = current or {}
        workout = current.get("workout")
        body = current | {
            "calendarDate": day.isoformat(),
            "workout": (
                {"workoutId": workout.get("workoutId")} if isinstance(workout, dict) else None
            ),
        }
        moving = f"the move of {what} to {day.isoformat()}"
        self._send("PUT", f"{self.SCHEDULE}/{number}", moving, body=body)

    def unschedule_workout(self, schedule_id: int) -> bool:
        """Take scheduled workout ``schedule_id`` off the calendar, keeping the workout
        (``unschedule_workout``). ``False`` when it was no longer there (done all the same)."""
        number = _garmin_id(schedule_id, "schedule")
        return self._gone_is_done(
            "DELETE", f"{self.SCHEDULE}/{number}", f"scheduled workout {number}"
        )

    def scheduled_workouts(self, year: int, month: int) -> list[ScheduledWorkout]:
        """The workouts on the calendar in ``month`` (1-12) of ``year`` (Garmin counts months
        from 0 in the URL, as ``get_scheduled_workouts`` does); other calendar items are
        left out."""
        if not 1 <= month <= 12:
            raise ValueError(f"month must be 1-12, got {month}")
        what = f"the calendar of {year}-{month:02d}"
        payload = self._expect(
            self._send("GET", f"/calendar-service/year/{int(year)}/month/{month - 1}", what),
            dict,
            what,
        )
        found: list[ScheduledWorkout] = []
        for item in (payload or {}).get("calendarItems") or []:
            if not isinstance(item, dict) or item.get("itemType") != "workout":
                continue
            try:
                found.append(
                    ScheduledWorkout(
                        schedule_id=self._positive_id(item, "id", what),
                        workout_id=self._positive_id(item, "workoutId", what),
                        day=date.fromisoformat(str(item.get("date"))),
                    )
                )
            except ValueError as e:
                raise SourceDataError(
                    f"Garmin sent a calendar item without a date in {what}",
                    code="garmin_bad_payload",
                    what=what,
                ) from e
        return found

    def _gone_is_done(self, method: str, path: str, what: str) -> bool:
        try:
            self._send(method, path, what)
        except SourceDataError as e:
            if e.code == "garmin_not_found":
                return False
            raise
        return True
