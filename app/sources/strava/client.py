"""Strava API v3 over HTTP, through stravalib's protocol layer (``stravalib.protocol.ApiV3``).

A thin protocol wrapper: OAuth (authorize URL, code exchange, refresh), raw JSON (athlete,
activity list, activity detail, streams) and uploads. Mapping to our records lives in
``mapper.py``. We drive ``ApiV3`` and not stravalib's ``Client``: the ``Client`` turns payloads
into pydantic models (we keep Strava's raw JSON), and its default rate limiter *sleeps the
thread* until a window resets. What this adapter does instead, which callers must know:

- **rate limits**: our limiter only records ``X-RateLimit-*`` / ``X-ReadRateLimit-*`` (the usage
  and limits of the 15-minute window, reset at :00/:15/:30/:45 UTC, and of the day, reset at
  midnight UTC); it never waits. ``rate_limits()`` returns the last counters seen so a sync can
  slow down or stop before Strava refuses; a 429 becomes ``SourceRateLimited`` whose
  ``retry_after`` is the time to the end of the exhausted window (the day's when both are).
- **tokens**: access tokens last six hours. Before each API call a token within five minutes of
  ``expires_at`` is refreshed with the client id/secret given to the constructor (or to
  ``exchange_code``). Strava may return a *new refresh token* on any refresh and then retires the
  old one: persist ``current_tokens()`` after every job, or pass ``on_refresh`` to persist at
  once. stravalib's own refresh (driven by ``STRAVA_CLIENT_*`` environment variables) is off:
  only ``app/config.py`` reads the environment. A 401 is ``SourceAuthError`` at once (no retry).
- **403**: an inactive application (the app owner has no Strava subscription, enforced since
  mid-2026) or an app over its athlete limit is ``StravaAppInactive``; other 403s (a missing
  scope) are ``SourceAuthError``.

Every public method raises only ``app.sources`` errors (and ``ValueError`` for arguments that no
answer from Strava could make right). Not thread-safe: one job at a time.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from stravalib import exc
from stravalib.protocol import AccessInfo, ApiV3

from app.security.redaction import register_secret
from app.sources import (
    SourceAuthError,
    SourceDataError,
    SourceError,
    SourceRateLimited,
    SourceUnavailable,
)
from app.sources.retry_after import retry_after_s

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

PAGE_SIZE = 200  # Strava's maximum per_page
REQUEST_TIMEOUT_S = 30.0
REFRESH_MARGIN_S = 300.0
DEFAULT_SCOPE = ("read", "activity:read_all", "activity:write")
SCOPES = frozenset(
    {
        "read",
        "read_all",
        "profile:read_all",
        "profile:write",
        "activity:read",
        "activity:read_all",
        "activity:write",
    }
)
STREAM_KEYS = (
    "time",
    "latlng",
    "distance",
    "altitude",
    "velocity_smooth",
    "heartrate",
    "cadence",
    "watts",
    "temp",
    "moving",
    "grade_smooth",
)
UPLOAD_DATA_TYPES = ("fit", "fit.gz", "tcx", "tcx.gz", "gpx", "gpx.gz")
_LIBRARY_OAUTH = "https://www.strava.com/oauth/"  # where stravalib sends token requests
_DELETED = "The created activity has been deleted."
_DUPLICATE = re.compile(r"duplicate of\D*(\d+)", re.IGNORECASE)
_INACTIVE = re.compile(r"inactive|athlete limit|limit of connected athletes", re.IGNORECASE)


class StravaAppInactive(SourceAuthError):
    """Strava refuses every call of the owner's API application (403): it is inactive because
    the account that owns it has no Strava subscription, or it is over its athlete limit. The
    owner fixes it at https://www.strava.com/settings/api, then reconnects."""

    def __init__(self, message: str, *, code: str = "strava_app_inactive") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Base URLs of Strava's API and OAuth pages. Tests point both at the loopback fake."""

    api: str = "https://www.strava.com/api/v3"
    oauth: str = "https://www.strava.com/oauth"

    @property
    def authorize_url(self) -> str:
        return f"{self.oauth.rstrip('/')}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.oauth.rstrip('/')}/token"


def quarter_end(moment: datetime) -> datetime:
    start = moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
    return start + timedelta(minutes=15)


def day_end(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def _pair(headers: Mapping[str, str], name: str) -> tuple[int, int] | None:
    value = headers.get(name)
    if not value:
        return None
    try:
        short, daily = (int(part.strip()) for part in str(value).split(","))
    except ValueError:
        return None
    return short, daily


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Strava's counters as of ``seen_at`` (UTC): every request counts in the overall windows,
    GETs also in the read windows; ``None`` where the headers were absent."""

    seen_at: datetime
    short_usage: int
    short_limit: int
    daily_usage: int
    daily_limit: int
    read_short_usage: int | None = None
    read_short_limit: int | None = None
    read_daily_usage: int | None = None
    read_daily_limit: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], seen_at: datetime) -> RateLimits | None:
        usage = _pair(headers, "X-RateLimit-Usage")
        limit = _pair(headers, "X-RateLimit-Limit")
        if usage is None or limit is None:
            return None
        read_usage = _pair(headers, "X-ReadRateLimit-Usage") or (None, None)
        read_limit = _pair(headers, "X-ReadRateLimit-Limit") or (None, None)
        return cls(
            seen_at=seen_at,
            short_usage=usage[0],
            short_limit=limit[0],
            daily_usage=usage[1],
            daily_limit=limit[1],
            read_short_usage=read_usage[0],
            read_short_limit=read_limit[0],
            read_daily_usage=read_usage[1],
            read_daily_limit=read_limit[1],
        )

    def _windows(self, read: bool) -> list[tuple[int | None, int | None, datetime]]:
        quarter, day = quarter_end(self.seen_at), day_end(self.seen_at)
        windows = [
            (self.short_usage, self.short_limit, quarter),
            (self.daily_usage, self.daily_limit, day),
        ]
        if read:
            windows += [
                (self.read_short_usage, self.read_short_limit, quarter),
                (self.read_daily_usage, self.read_daily_limit, day),
            ]
        return windows

    def used_fraction(self, *, read: bool = True) -> float:
        """The fullest window's usage over its limit (1.0 = exhausted), as of ``seen_at``."""
        fractions = [
            usage / limit for usage, limit, _ in self._windows(read) if usage is not None and limit
        ]
        return max(fractions, default=0.0)

    def pause_s(self, now: datetime, *, share: float = 0.9, read: bool = True) -> float:
        """Seconds to hold off from ``now`` once the fullest window is ``share`` used (until
        that window resets, plus 5 s of slack for clocks), else 0. ``read=False`` for uploads."""
        if self.used_fraction(read=read) < share:
            return 0.0
        daily = [(self.daily_usage, self.daily_limit)]
        if read:
            daily.append((self.read_daily_usage, self.read_daily_limit))
        daily_full = any(
            used is not None and limit and used / limit >= share for used, limit in daily
        )
        reset = day_end(self.seen_at) if daily_full else quarter_end(self.seen_at)
        return max(1.0, (reset - now).total_seconds() + 5.0)

    def wait_s(self, now: datetime, *, read: bool = True) -> float:
        """Seconds from ``now`` until every window exhausted at ``seen_at`` has reset (0 when
        none was, or it already reset). ``read=False`` for uploads (overall windows only)."""
        ends = [
            end
            for usage, limit, end in self._windows(read)
            if usage is not None and limit is not None and usage >= limit
        ]
        if not ends:
            return 0.0
        return max(0.0, (max(ends) - now).total_seconds())


@dataclass(frozen=True, slots=True)
class UploadStatus:
    """Where an upload stands. ``done`` once Strava finished with it, either way: then exactly
    one of ``activity_id`` (created) and ``error`` (Strava's text) is set; ``duplicate_of`` is
    the existing activity when the error says the file is a duplicate of it."""

    done: bool
    activity_id: int | None
    error: str | None
    duplicate_of: int | None


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_upload(payload: Mapping[str, Any]) -> UploadStatus:
    """An ``Upload`` payload (``id``, ``external_id``, ``error``, ``status``, ``activity_id``) as
    an ``UploadStatus``. Strava reports a duplicate as an error such as
    ``"a.fit duplicate of activity 123"`` (sometimes with the activity link as HTML)."""
    error = payload.get("error") or None
    status = str(payload.get("status") or "")
    activity_id = _int_or_none(payload.get("activity_id"))
    if error is None and status == _DELETED:
        error = status
    if error is not None:
        error = str(error)
        match = _DUPLICATE.search(error)
        duplicate_of = int(match.group(1)) if match else None
        return UploadStatus(done=True, activity_id=None, error=error, duplicate_of=duplicate_of)
    return UploadStatus(
        done=activity_id is not None, activity_id=activity_id, error=None, duplicate_of=None
    )


def _error_text(response: requests.Response | None) -> tuple[str, list[Any]]:
    """Strava's ``Fault`` body (``message`` and ``errors``) as text and the error list."""
    if response is None:
        return "", []
    try:
        body = response.json()
    except ValueError:
        return (response.text or "")[:500], []
    if not isinstance(body, dict):
        return json.dumps(body)[:500], []
    errors = body.get("errors")
    errors = errors if isinstance(errors, list) else [errors] if isinstance(errors, dict) else []
    return json.dumps(body)[:500], errors


def _is_inactive(text: str, errors: list[Any]) -> bool:
    for error in errors:
        if (
            isinstance(error, dict)
            and error.get("resource") == "Application"
            and str(error.get("code", "")).lower() == "inactive"
        ):
            return True
    return bool(_INACTIVE.search(text))


class _TimeoutSession(requests.Session):
    """stravalib passes no timeout; every request of this session gets one."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


class _Protocol(ApiV3):
    """stravalib's protocol layer with its base URLs taken from ``Endpoints``."""

    def __init__(
        self,
        endpoints: Endpoints,
        session: requests.Session,
        rate_limiter: Callable[[Any, Any], None],
    ) -> None:
        self.endpoints = endpoints
        super().__init__(requests_session=session, rate_limiter=rate_limiter)

    def _check_credentials(self) -> None:
        # stravalib reads STRAVA_CLIENT_ID/SECRET from the environment to refresh tokens on its
        # own; StravaClient refreshes them itself, with the credentials it was given.
        self.client_id = None
        self.client_secret = None

    def resolve_url(self, url: str) -> str:
        if url.startswith(_LIBRARY_OAUTH):
            return f"{self.endpoints.oauth.rstrip('/')}/{url.removeprefix(_LIBRARY_OAUTH)}"
        if url.startswith(("http://", "https://")):
            return url
        return f"{self.endpoints.api.rstrip('/')}/{url.strip('/')}"


def _bad_payload(message: str, what: str) -> SourceDataError:
    return SourceDataError(message, code="strava_bad_payload", what=what)


def _activity_id(activity_id: int | str) -> int:
    value = _int_or_none(activity_id)
    if value is None or value <= 0:
        raise SourceDataError(f"not a Strava id: {activity_id!r}", code="strava_bad_request")
    return value


def _aware(moment: datetime, name: str) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return int(moment.timestamp())


class StravaClient:
    """One owner's Strava connection, built with the owner's own API application credentials."""

    def __init__(
        self,
        client_id: int | str | None = None,
        client_secret: str | None = None,
        *,
        endpoints: Endpoints | None = None,
        timeout: float = REQUEST_TIMEOUT_S,
        page_size: int = PAGE_SIZE,
        clock: Callable[[], datetime] | None = None,
        on_refresh: Callable[[str], None] | None = None,
    ) -> None:
        self.endpoints = endpoints or Endpoints()
        self._client_id = client_id
        self._client_secret = client_secret
        self._page_size = page_size
        self._clock = clock or (lambda: datetime.now(UTC))
        self._on_refresh = on_refresh
        self._rate_limits: RateLimits | None = None
        self.athlete_id: int | None = None
        self._protocol = _Protocol(self.endpoints, _TimeoutSession(timeout), self._record_rates)

    # --- tokens --------------------------------------------------------------------------------

    @classmethod
    def from_tokens(cls, tokens: str, **kwargs: Any) -> StravaClient:
        """A client holding tokens serialized by ``current_tokens()``; ``kwargs`` as for the
        constructor (``client_id``, ``client_secret`` for the refresh, ``endpoints``…)."""
        client = cls(**kwargs)
        try:
            stored = json.loads(tokens)
            access, refresh = str(stored["access_token"]), str(stored["refresh_token"])
            expires_at = int(stored["expires_at"])
        except (TypeError, ValueError, KeyError) as e:
            raise SourceAuthError("stored Strava tokens are unreadable") from e
        client._protocol.access_token = access
        client._protocol.refresh_token = refresh
        client._protocol.token_expires = expires_at
        client.athlete_id = _int_or_none(stored.get("athlete_id"))
        return client

    def current_tokens(self) -> str:
        """The tokens now held, as JSON (``access_token``, ``refresh_token``, ``expires_at``,
        ``athlete_id``). They change on every refresh: persist them."""
        p = self._protocol
        if not p.access_token or not p.refresh_token:
            raise SourceAuthError("not connected to Strava")
        return json.dumps(
            {
                "access_token": p.access_token,
                "refresh_token": p.refresh_token,
                "expires_at": p.token_expires,
                "athlete_id": self.athlete_id,
            }
        )

    def base_urls(self) -> list[str]:
        return [self.endpoints.api, self.endpoints.oauth]

    def rate_limits(self) -> RateLimits | None:
        """The rate-limit counters of the last API answer, ``None`` before the first."""
        return self._rate_limits

    def _now(self) -> datetime:
        return self._clock()

    def _record_rates(self, headers: Any, method: Any) -> None:
        """stravalib's rate-limiter hook: remember the counters, never wait."""
        limits = RateLimits.from_headers(headers, self._now())
        if limits is not None:
            self._rate_limits = limits

    # --- OAuth ---------------------------------------------------------------------------------

    def authorization_url(
        self,
        client_id: int | str,
        redirect_uri: str,
        state: str,
        scope: tuple[str, ...] | list[str] = DEFAULT_SCOPE,
        *,
        approval_prompt: str = "auto",
    ) -> str:
        """Where to send the owner's browser to approve the application."""
        unknown = set(scope) - SCOPES
        if unknown or not scope:
            raise ValueError(f"unknown Strava scopes: {sorted(unknown)}")
        if approval_prompt not in ("auto", "force"):
            raise ValueError("approval_prompt must be 'auto' or 'force'")
        library_url = self._protocol.authorization_url(
            client_id=int(client_id),
            redirect_uri=redirect_uri,
            approval_prompt=approval_prompt,  # type: ignore[arg-type]
            scope=list(scope),  # type: ignore[arg-type]
            state=state,
        )
        base = urlsplit(self.endpoints.authorize_url)
        return urlunsplit((base.scheme, base.netloc, base.path, urlsplit(library_url).query, ""))

    def _set_tokens(self, info: Mapping[str, Any], what: str) -> None:
        try:
            access, refresh = str(info["access_token"]), str(info["refresh_token"])
            expires_at = int(info["expires_at"])
        except (TypeError, ValueError, KeyError) as e:
            raise _bad_payload(f"Strava sent no usable tokens for {what}", what) from e
        register_secret(access)
        register_secret(refresh)
        self._protocol.access_token = access
        self._protocol.refresh_token = refresh
        self._protocol.token_expires = expires_at

    def exchange_code(self, client_id: int | str, client_secret: str, code: str) -> str:
        """Trade the code from the OAuth callback for tokens (``current_tokens()`` JSON). The
        credentials are kept for the refreshes that follow."""
        register_secret(client_secret)
        self._client_id, self._client_secret = client_id, client_secret
        what = "the authorization code"

        def call() -> tuple[AccessInfo, dict[str, Any] | None]:
            return self._protocol.exchange_code_for_token(
                client_id=int(client_id),
                client_secret=client_secret,
                code=code,
                return_athlete=True,
            )

        try:
            info, athlete = self._call(what, call, token=True)
        except (KeyError, TypeError) as e:
            raise _bad_payload(
                "Strava sent no usable tokens for the authorization code", what
            ) from e
        self._set_tokens(info, what)
        self.athlete_id = _int_or_none(athlete.get("id")) if isinstance(athlete, dict) else None
        return self.current_tokens()

    def refresh(self, client_id: int | str | None = None, client_secret: str | None = None) -> str:
        """Refresh the access token now; returns the new ``current_tokens()`` (the refresh token
        may have changed: persist it)."""
        client_id = client_id if client_id is not None else self._client_id
        client_secret = client_secret if client_secret is not None else self._client_secret
        if client_id is None or not client_secret:
            raise SourceAuthError("the Strava client id and secret are needed to refresh tokens")
        refresh_token = self._protocol.refresh_token
        if not refresh_token:
            raise SourceAuthError("no Strava refresh token: connect first")
        what = "the token refresh"

        def call() -> AccessInfo:
            return self._protocol.refresh_access_token(
                client_id=int(client_id), client_secret=client_secret, refresh_token=refresh_token
            )

        try:
            info = self._call(what, call, token=True)
        except (KeyError, TypeError) as e:
            raise _bad_payload("Strava sent no usable tokens for the refresh", what) from e
        self._set_tokens(info, what)
        tokens = self.current_tokens()
        if self._on_refresh is not None:
            self._on_refresh(tokens)
        return tokens

    def needs_refresh(self) -> bool:
        """True when the access token expires within ``REFRESH_MARGIN_S`` (five minutes)."""
        expires = self._protocol.token_expires
        return expires is not None and expires - self._now().timestamp() <= REFRESH_MARGIN_S

    def _ensure_fresh(self) -> None:
        p = self._protocol
        if not p.access_token:
            raise SourceAuthError("not connected to Strava")
        if p.token_expires is None:
            return
        left = p.token_expires - self._now().timestamp()
        if left > REFRESH_MARGIN_S:
            return
        if self._client_id is None or not self._client_secret:
            if left <= 0:
                raise SourceAuthError(
                    "the Strava access token expired and no client secret is set to refresh it"
                )
            return
        self.refresh()

    def deauthorize(self) -> None:
        """Withdraw the owner's approval of the application (``POST /oauth/deauthorize``): every
        token stops working and the app leaves the owner's list on strava.com."""
        what = "the deauthorization"
        self._ensure_fresh()
        self._call(
            what,
            lambda: self._protocol.post(f"{self.endpoints.oauth.rstrip('/')}/deauthorize"),
            read=False,
        )

    # --- transport -----------------------------------------------------------------------------

    def _call(
        self, what: str, call: Callable[[], T], *, read: bool = True, token: bool = False
    ) -> T:
        """Run one stravalib call; every failure becomes an ``app.sources`` error."""
        try:
            return call()
        except SourceError:
            raise
        except exc.Fault as e:
            raise self._fault(e, what, read=read, token=token) from e
        except (requests.JSONDecodeError, json.JSONDecodeError) as e:
            raise _bad_payload(f"Strava sent malformed JSON for {what}", what) from e
        except (requests.RequestException, OSError) as e:
            raise SourceUnavailable(f"Strava unreachable on {what}: {type(e).__name__}") from e

    def _fault(self, error: exc.Fault, what: str, *, read: bool, token: bool) -> SourceError:
        response = error.response
        status = getattr(response, "status_code", None)
        text, errors = _error_text(response)
        if status == 429 and response is not None:
            return SourceRateLimited(
                f"Strava rate limited {what}", retry_after=self._retry_after(response, read)
            )
        if isinstance(error, exc.ApplicationInactive) or (
            status == 403 and _is_inactive(text, errors)
        ):
            return StravaAppInactive(
                f"Strava refuses the API application on {what}: {text}", code="strava_app_inactive"
            )
        if status in (401, 403):
            return SourceAuthError(f"Strava refused the tokens ({status}) on {what}: {text}")
        if status is not None and status >= 500:
            return SourceUnavailable(f"Strava answered {status} on {what}")
        if token and status is not None and 400 <= status < 500:
            return SourceAuthError(f"Strava refused {what} ({status}): {text}")
        if status == 404:
            return SourceDataError(f"Strava has no {what} (404)", code="strava_not_found")
        if status is not None and 400 <= status < 500:
            return SourceDataError(
                f"Strava answered {status} on {what}: {text}", code="strava_bad_request"
            )
        return _bad_payload(f"Strava sent an error body for {what}: {text}", what)

    def _retry_after(self, response: requests.Response, read: bool) -> float:
        """Seconds to the end of the exhausted window; Retry-After when no window is reported
        exhausted; else the end of the current 15-minute window."""
        now = self._now()
        limits = RateLimits.from_headers(response.headers, now)
        if limits is not None:
            wait = limits.wait_s(now, read=read)
            if wait > 0:
                return wait
        header = retry_after_s(response.headers.get("Retry-After"), now.timestamp())
        if header is not None:
            return header
        return (quarter_end(now) - now).total_seconds()

    def _get(self, path: str, what: str, **params: Any) -> Any:
        self._ensure_fresh()
        return self._call(what, lambda: self._protocol.get(path, **params))

    @staticmethod
    def _expect(payload: Any, kind: type, what: str) -> Any:
        if not isinstance(payload, kind):
            raise _bad_payload(f"Strava sent {type(payload).__name__} for {what}", what)
        return payload

    # --- data ----------------------------------------------------------------------------------

    def athlete(self) -> dict[str, Any]:
        """The connected athlete (``GET /athlete``)."""
        payload = self._expect(self._get("/athlete", "the athlete"), dict, "the athlete")
        athlete_id = _int_or_none(payload.get("id"))
        if athlete_id is None:
            raise _bad_payload("Strava athlete without id", "the athlete")
        self.athlete_id = athlete_id
        return payload

    def activity_pages(self, after: datetime, before: datetime) -> Iterator[list[dict[str, Any]]]:
        """Pages of activity summaries started strictly between ``after`` and ``before``
        (aware datetimes), oldest first (Strava sorts ascending when ``after`` is given), so a
        sync can move its cursor page by page. An activity seen on an earlier page is skipped."""
        what = "the activity list"
        after_s, before_s = _aware(after, "after"), _aware(before, "before")
        seen: set[int] = set()
        page = 1
        while True:
            items = self._expect(
                self._get(
                    "/athlete/activities",
                    what,
                    after=after_s,
                    before=before_s,
                    page=page,
                    per_page=self._page_size,
                ),
                list,
                what,
            )
            fresh = []
            for item in items:
                item_id = _int_or_none(item.get("id")) if isinstance(item, dict) else None
                if item_id is None or not isinstance(item.get("start_date"), str):
                    raise _bad_payload("Strava activity list entry without id or start", what)
                if item_id not in seen:
                    seen.add(item_id)
                    fresh.append(item)
            if fresh:
                yield sorted(fresh, key=lambda a: a["start_date"])
            if len(items) < self._page_size:
                return
            page += 1

    def activities(self, after: datetime, before: datetime) -> list[dict[str, Any]]:
        """Every activity summary between ``after`` and ``before``, **oldest first**, fetched
        ``page_size`` (200) at a time; stops at the first short page."""
        out = [item for page in self.activity_pages(after, before) for item in page]
        return sorted(out, key=lambda a: a["start_date"])

    def activity_at(self, offset: int) -> dict[str, Any] | None:
        """The ``offset``-th activity counting from the newest (0-based), or None past the end:
        one ``per_page=1`` page of the list, which Strava sorts newest first without ``after``."""
        if offset < 0:
            raise ValueError("offset must not be negative")
        what = "the activity list"
        items = self._expect(
            self._get("/athlete/activities", what, page=offset + 1, per_page=1), list, what
        )
        if not items:
            return None
        item = items[0]
        if not isinstance(item, dict) or not isinstance(item.get("start_date"), str):
            raise _bad_payload("Strava activity list entry without id or start", what)
        return item

    def activity(self, activity_id: int | str) -> dict[str, Any]:
        """The detailed activity (laps, splits, calories, device name…)."""
        what = f"activity {activity_id}"
        payload = self._expect(
            self._get(f"/activities/{_activity_id(activity_id)}", what), dict, what
        )
        if _int_or_none(payload.get("id")) is None:
            raise _bad_payload(f"Strava sent no id for {what}", what)
        return payload

    def streams(self, activity_id: int | str) -> dict[str, list[Any]]:
        """The activity's streams by type (``STREAM_KEYS``; absent types are left out, a manual
        activity has none). ``time`` is seconds from the start; ``latlng`` is ``[lat, lon]``."""
        what = f"the streams of activity {activity_id}"
        payload = self._get(
            f"/activities/{_activity_id(activity_id)}/streams",
            what,
            keys=",".join(STREAM_KEYS),
            key_by_type="true",
        )
        if isinstance(payload, list):  # the un-keyed shape: [{"type": ..., "data": [...]}, …]
            try:
                payload = {item["type"]: item for item in payload}
            except (TypeError, KeyError) as e:
                raise _bad_payload(f"Strava sent an unreadable stream list for {what}", what) from e
        payload = self._expect(payload, dict, what)
        out: dict[str, list[Any]] = {}
        for key, stream in payload.items():
            data = stream.get("data") if isinstance(stream, dict) else None
            if not isinstance(data, list):
                raise _bad_payload(f"Strava stream {key!r} without data in {what}", what)
            out[str(key)] = data
        return out

    # --- uploads -------------------------------------------------------------------------------

    def upload(
        self,
        fit_bytes: bytes,
        *,
        external_id: str,
        name: str | None = None,
        data_type: str = "fit",
    ) -> int:
        """Upload an activity file (multipart ``POST /uploads``); returns the upload id to poll
        with ``upload_status``. ``external_id`` lets Strava and us recognise the file later."""
        if data_type not in UPLOAD_DATA_TYPES:
            raise ValueError(f"Strava accepts {UPLOAD_DATA_TYPES}, not {data_type!r}")
        what = f"the upload of {external_id}"
        form = {"data_type": data_type, "external_id": external_id}
        if name:
            form["name"] = name
        files = {
            "file": (
                f"{external_id}.{data_type}",
                io.BytesIO(fit_bytes),
                "application/octet-stream",
            )
        }
        self._ensure_fresh()
        payload = self._expect(
            self._call(
                what,
                lambda: self._protocol.post("/uploads", files=files, data=form),  # type: ignore[arg-type]
                read=False,
            ),
            dict,
            what,
        )
        upload_id = _int_or_none(payload.get("id"))
        if upload_id is None:
            raise _bad_payload(f"Strava sent no upload id for {what}", what)
        return upload_id

    def upload_status(self, upload_id: int | str) -> UploadStatus:
        """Where the upload stands (one ``GET /uploads/{id}``; the caller polls, never us)."""
        what = f"upload {upload_id}"
        payload = self._expect(self._get(f"/uploads/{_activity_id(upload_id)}", what), dict, what)
        return parse_upload(payload)
