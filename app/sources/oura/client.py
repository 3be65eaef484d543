"""Oura API v2 over HTTP (httpx): OAuth2, tokens, and the ``usercollection`` documents as raw
JSON. Mapping to our records lives in ``mapper.py``.

Shapes and status codes follow Oura's published API v2 documentation
(https://cloud.ouraring.com/v2/docs), not a recording of a real answer. What callers must know:

- **Refresh tokens are single-use.** Every refresh answers a *new* refresh token and retires the
  one sent. This client never refreshes on its own: ``refresh()`` is an explicit call that returns
  the new ``OuraTokens``, so the caller can run it under a lock (one refresh per connection at a
  time, across processes) and persist the new pair in the same transaction *before* using it.
  Within one client, ``refresh()`` calls are serialized and a refresh token that reached Oura is
  never sent again: after Oura answered (or may have answered: a 5xx, a read timeout) the token is
  spent, and a second ``refresh()`` with it raises ``OuraAuthError(code="oura_refresh_rejected")``
  without a request. Only a refresh that provably never reached Oura's token service (connection
  refused, a 429) leaves the token usable. Two clients holding the same stored token (a missing
  lock) race at Oura: one gets the new pair, the other ``oura_refresh_rejected``.
- **Access tokens** expire (``expires_in`` is read from each answer, never assumed).
  ``needs_refresh()`` says when to refresh before a job; a 401 on a data call is
  ``OuraAuthError(code="oura_token_rejected")`` (refresh once, then reconnect), except when Oura
  names a scope the token lacks (``oura_scope_missing``: refreshing cannot help; reconnect and
  grant it).
- **Personal access tokens** (``from_personal_token``) are a legacy option: Oura stopped issuing
  them; one that still works is used as a Bearer token, cannot be refreshed, and a 401 with it is
  ``oura_personal_token_rejected``.
- **Dates** are the owner's local dates as Oura files them (``day``; a night's sleep belongs to
  the day it ends). Oura's ``start_date``/``end_date`` filters have been reported to treat one end
  as exclusive, differently per collection, so each range is asked one day wider on both sides and
  the documents are filtered on their own ``day``: every method returns exactly the documents whose
  ``day`` is in ``[start, end]``. ``next_token`` pages are followed to the end.
- **Errors**: 401 → ``OuraAuthError``; 403 (no active Oura membership) →
  ``OuraMembershipRequired``; 426 (the owner's Oura app is too old) →
  ``SourceDataError(code="oura_upgrade_required")``; 429 → ``SourceRateLimited`` with
  ``Retry-After`` when sent; 5xx, timeouts and network failures → ``SourceUnavailable``; other 4xx
  → ``SourceDataError(code="oura_bad_request")``; malformed JSON or an unexpected shape →
  ``SourceDataError(code="oura_bad_payload")``. Nothing here retries or sleeps.

Every public method raises only ``app.sources`` errors (and ``ValueError`` for arguments that no
answer from Oura could make right).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from app.security.redaction import register_secret
from app.sources import SourceAuthError, SourceDataError, SourceRateLimited, SourceUnavailable
from app.sources.retry_after import retry_after_s

REQUEST_TIMEOUT_S = 30.0
REFRESH_MARGIN_S = 600.0

# Scopes asked for by default. Oura's documentation lists ``spo2Daily``; tokens have been seen
# refused on ``daily_spo2`` without ``spo2``, on ``daily_resilience`` without ``stress`` and on
# ``vO2_max`` without ``heart_health``, so those names are asked for. Oura ignores names it does
# not know, and a missing scope shows up later as ``oura_scope_missing``.
DEFAULT_SCOPES = (
    "personal",
    "daily",
    "heartrate",
    "workout",
    "session",
    "spo2",
    "stress",
    "heart_health",
)
KNOWN_SCOPES = frozenset(
    {*DEFAULT_SCOPES, "email", "tag", "spo2Daily", "ring_configuration"},
)

# Our name of each dated collection → its path under ``/v2/usercollection/`` (note ``vO2_max``).
COLLECTIONS: dict[str, str] = {
    "daily_readiness": "daily_readiness",
    "sleep": "sleep",
    "daily_sleep": "daily_sleep",
    "daily_activity": "daily_activity",
    "daily_stress": "daily_stress",
    "daily_spo2": "daily_spo2",
    "daily_resilience": "daily_resilience",
    "vo2_max": "vO2_max",
    "workout": "workout",
}

# Oura's 401 body for a missing scope: "Token is not authorized access spo2 scope."
_SCOPE_DETAIL = re.compile(r"authorized (?:to )?access (?:the )?([A-Za-z0-9_]+) scope", re.I)


class OuraAuthError(SourceAuthError):
    """Oura refused the tokens; ``code`` says what the owner (or the sync) does next:

    - ``oura_token_rejected``: the access token was refused; refresh once, then reconnect;
    - ``oura_scope_missing``: the token lacks ``params["scope"]``; reconnect and grant it;
    - ``oura_refresh_rejected``: the refresh token was refused or already used; reconnect;
    - ``oura_code_rejected``: the authorization code or the app credentials were refused;
    - ``oura_personal_token_rejected``: the legacy personal access token no longer works;
    - ``oura_not_connected``: no tokens are held.
    """

    def __init__(self, message: str, *, code: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class OuraMembershipRequired(OuraAuthError):
    """403: Oura serves this owner's data only with an active Oura membership. Nothing was
    imported; the owner renews the membership in the Oura app, then syncs again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="oura_membership_required")


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Oura's API host and OAuth pages. Tests point all three at the loopback fake."""

    api: str = "https://api.ouraring.com"
    authorize_url: str = "https://cloud.ouraring.com/oauth/authorize"
    token_url: str = "https://api.ouraring.com/oauth/token"  # noqa: S105 (a URL)

    def collection_url(self, path: str) -> str:
        return f"{self.api.rstrip('/')}/v2/usercollection/{path}"


@dataclass(frozen=True, slots=True)
class OuraTokens:
    """One token pair. ``refresh_token is None`` for a legacy personal access token;
    ``expires_at`` is Unix seconds (UTC), ``None`` when Oura did not say (personal tokens)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: int | None = None
    scope: str | None = None

    @property
    def personal(self) -> bool:
        return self.refresh_token is None

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": "personal" if self.personal else "oauth",
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_at": self.expires_at,
                "scope": self.scope,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> OuraTokens:
        try:
            stored = json.loads(text)
            access = stored["access_token"]
            refresh = stored.get("refresh_token")
            expires_at = stored.get("expires_at")
            if not isinstance(access, str) or not access:
                raise ValueError("no access token")
            if refresh is not None and (not isinstance(refresh, str) or not refresh):
                raise ValueError("bad refresh token")
            expires_at = None if expires_at is None else int(expires_at)
            scope = stored.get("scope")
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise OuraAuthError(
                "stored Oura tokens are unreadable", code="oura_not_connected"
            ) from e
        return cls(access, refresh, expires_at, scope if isinstance(scope, str) else None)


def _detail(response: httpx.Response) -> str:
    """Oura's error text (``detail``, ``error_description``, ``error`` or ``message``)."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or "")[:300]
    if isinstance(body, dict):
        for key in ("detail", "error_description", "error", "message", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:300]
    return json.dumps(body)[:300]


def _bad_payload(message: str, what: str) -> SourceDataError:
    return SourceDataError(message, code="oura_bad_payload", what=what)


def _day_of(document: Any, what: str) -> date:
    if not isinstance(document, dict):
        raise _bad_payload(f"Oura sent a {type(document).__name__} in {what}", what)
    try:
        return date.fromisoformat(str(document["day"])[:10])
    except (KeyError, ValueError) as e:
        raise _bad_payload(f"Oura document without a valid day in {what}", what) from e


class OuraClient:
    """One owner's Oura connection. Data calls are not meant to run from two threads at once;
    ``refresh()`` is safe to call from several (it is serialized)."""

    DAILY: tuple[str, ...] = tuple(COLLECTIONS)

    def __init__(
        self,
        *,
        endpoints: Endpoints | None = None,
        timeout: float = REQUEST_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.endpoints = endpoints or Endpoints()
        self._clock = clock
        self._http = httpx.Client(
            timeout=timeout, follow_redirects=False, headers={"Accept": "application/json"}
        )
        self._tokens: OuraTokens | None = None
        self._refresh_lock = threading.Lock()
        self._spent: set[str] = set()  # refresh tokens that reached Oura from this client

    # --- tokens --------------------------------------------------------------------------------

    @classmethod
    def from_tokens(cls, tokens: str, **kwargs: Any) -> OuraClient:
        """A client holding tokens serialized by ``current_tokens()``."""
        client = cls(**kwargs)
        client._tokens = OuraTokens.from_json(tokens)
        return client

    @classmethod
    def from_personal_token(cls, token: str, **kwargs: Any) -> OuraClient:
        """A client using a legacy personal access token (no refresh, no expiry known)."""
        token = (token or "").strip()
        if not token:
            raise ValueError("an Oura personal access token is needed")
        register_secret(token)
        client = cls(**kwargs)
        client._tokens = OuraTokens(access_token=token)
        return client

    @property
    def tokens(self) -> OuraTokens | None:
        return self._tokens

    def current_tokens(self) -> str:
        """The tokens now held, as JSON (``kind``, ``access_token``, ``refresh_token``,
        ``expires_at``, ``scope``). They change on every refresh: persist them."""
        if self._tokens is None:
            raise OuraAuthError("not connected to Oura", code="oura_not_connected")
        return self._tokens.to_json()

    def adopt(self, tokens: str) -> None:
        """Hold tokens another client refreshed and the caller stored (``current_tokens`` JSON)."""
        with self._refresh_lock:
            self._tokens = OuraTokens.from_json(tokens)

    def needs_refresh(self, margin_s: float = REFRESH_MARGIN_S) -> bool:
        """True when OAuth tokens expire within ``margin_s`` (never for a personal token)."""
        t = self._tokens
        if t is None or t.personal or t.expires_at is None:
            return False
        return t.expires_at - self._clock() <= margin_s

    def base_urls(self) -> list[str]:
        e = self.endpoints
        return [e.api, e.authorize_url, e.token_url]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OuraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- OAuth ---------------------------------------------------------------------------------

    def authorization_url(
        self,
        client_id: str,
        redirect_uri: str,
        state: str,
        scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
    ) -> str:
        """Where to send the owner's browser to approve the owner's own Oura application."""
        unknown = set(scopes) - KNOWN_SCOPES
        if unknown or not scopes:
            raise ValueError(f"unknown Oura scopes: {sorted(unknown)}")
        if not client_id or not redirect_uri or not state:
            raise ValueError("client_id, redirect_uri and state are needed")
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(scopes),
                "state": state,
            }
        )
        return f"{self.endpoints.authorize_url}?{query}"

    def exchange_code(
        self, client_id: str, client_secret: str, code: str, redirect_uri: str
    ) -> OuraTokens:
        """Trade the code from the OAuth callback for tokens (also held by this client)."""
        register_secret(client_secret)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        what = "the authorization code"
        try:
            response = self._http.post(self.endpoints.token_url, data=form)
        except httpx.HTTPError as e:
            raise SourceUnavailable(f"Oura unreachable on {what}: {type(e).__name__}") from e
        if response.status_code in (400, 401, 403):
            raise OuraAuthError(
                f"Oura refused {what} ({response.status_code}): {_detail(response)}",
                code="oura_code_rejected",
            )
        self._tokens = self._token_answer(response, what)
        return self._tokens

    def refresh(self, client_id: str, client_secret: str) -> OuraTokens:
        """Spend the refresh token for a new pair, held at once and returned: persist it before
        any other call. Serialized per client; a refresh token is never sent twice."""
        with self._refresh_lock:
            held = self._tokens
            if held is None:
                raise OuraAuthError("not connected to Oura", code="oura_not_connected")
            if held.refresh_token is None:
                raise OuraAuthError(
                    "a personal access token cannot be refreshed",
                    code="oura_personal_token_rejected",
                )
            old = held.refresh_token
            what = "the token refresh"
            if old in self._spent:
                raise OuraAuthError(
                    "this Oura refresh token was already used", code="oura_refresh_rejected"
                )
            form = {
                "grant_type": "refresh_token",
                "refresh_token": old,
                "client_id": client_id,
                "client_secret": client_secret,
            }
            try:
                response = self._http.post(self.endpoints.token_url, data=form)
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:  # never reached Oura
                raise SourceUnavailable(f"Oura unreachable on {what}: {type(e).__name__}") from e
            except httpx.HTTPError as e:
                self._spent.add(old)
                raise SourceUnavailable(f"Oura unreachable on {what}: {type(e).__name__}") from e
            if response.status_code != 429:
                self._spent.add(old)
            if response.status_code in (400, 401, 403):
                raise OuraAuthError(
                    f"Oura refused {what} ({response.status_code}): {_detail(response)}",
                    code="oura_refresh_rejected",
                )
            self._tokens = self._token_answer(response, what)
            return self._tokens

    def _token_answer(self, response: httpx.Response, what: str) -> OuraTokens:
        if response.status_code != 200:
            raise self._status_error(response, what)
        try:
            body = response.json()
            access, refresh = body["access_token"], body["refresh_token"]
            expires_in = body.get("expires_in")
            if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
                raise ValueError("empty tokens")
            expires_at = None if expires_in is None else int(self._clock() + float(expires_in))
            scope = body.get("scope")
        except (ValueError, KeyError, TypeError) as e:
            raise _bad_payload(f"Oura sent no usable tokens for {what}", what) from e
        register_secret(access)
        register_secret(refresh)
        return OuraTokens(access, refresh, expires_at, scope if isinstance(scope, str) else None)

    # --- transport -----------------------------------------------------------------------------

    def _status_error(self, response: httpx.Response, what: str) -> Exception:
        status = response.status_code
        detail = _detail(response)
        if status == 429:
            return SourceRateLimited(
                f"Oura rate limited {what}",
                retry_after=retry_after_s(response.headers.get("Retry-After"), self._clock()),
            )
        if status == 401:
            scope = _SCOPE_DETAIL.search(detail)
            if scope:
                return OuraAuthError(
                    f"Oura token lacks the {scope.group(1)} scope for {what}",
                    code="oura_scope_missing",
                    scope=scope.group(1),
                )
            if self._tokens is not None and self._tokens.personal:
                return OuraAuthError(
                    f"Oura refused the personal access token on {what}: {detail}",
                    code="oura_personal_token_rejected",
                )
            return OuraAuthError(
                f"Oura refused the access token on {what}: {detail}", code="oura_token_rejected"
            )
        if status == 403:
            return OuraMembershipRequired(f"Oura requires a membership for {what}: {detail}")
        if status == 426:
            return SourceDataError(
                f"Oura asks for a newer Oura app before serving {what}: {detail}",
                code="oura_upgrade_required",
            )
        if status >= 500:
            return SourceUnavailable(f"Oura answered {status} on {what}")
        return SourceDataError(
            f"Oura answered {status} on {what}: {detail}", code="oura_bad_request", what=what
        )

    def _get(self, url: str, what: str, params: dict[str, str] | None = None) -> Any:
        if self._tokens is None:
            raise OuraAuthError("not connected to Oura", code="oura_not_connected")
        headers = {"Authorization": f"Bearer {self._tokens.access_token}"}
        try:
            response = self._http.get(url, params=params, headers=headers)
        except httpx.HTTPError as e:
            raise SourceUnavailable(f"Oura unreachable on {what}: {type(e).__name__}") from e
        if response.status_code != 200:
            raise self._status_error(response, what)
        try:
            return response.json()
        except ValueError as e:
            raise _bad_payload(f"Oura sent malformed JSON for {what}", what) from e

    # --- data ----------------------------------------------------------------------------------

    def personal_info(self) -> dict[str, Any]:
        """The owner's profile (``id``, ``age``, ``weight``, ``height``, ``biological_sex``,
        ``email``): a bare document, not a ``data`` list."""
        what = "the personal info"
        payload = self._get(self.endpoints.collection_url("personal_info"), what)
        if not isinstance(payload, dict) or "data" in payload:
            raise _bad_payload(f"Oura sent an unexpected shape for {what}", what)
        return payload

    def collection(self, name: str, start: date, end: date) -> list[dict[str, Any]]:
        """Every document of collection ``name`` (a key of ``COLLECTIONS``) whose ``day`` is in
        ``[start, end]``, following ``next_token`` to the last page, in Oura's order."""
        if name not in COLLECTIONS:
            raise ValueError(f"unknown Oura collection {name!r}")
        if start > end:
            raise ValueError("start must not be after end")
        what = f"{name} {start}..{end}"
        url = self.endpoints.collection_url(COLLECTIONS[name])
        params = {
            "start_date": (start - timedelta(days=1)).isoformat(),
            "end_date": (end + timedelta(days=1)).isoformat(),
        }
        out: dict[str, dict[str, Any]] = {}
        seen_tokens: set[str] = set()
        while True:
            payload = self._get(url, what, params)
            if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
                raise _bad_payload(f"Oura sent no data list for {what}", what)
            for document in payload["data"]:
                day = _day_of(document, what)
                if start <= day <= end:
                    key = str(document.get("id") or f"{day}#{len(out)}")
                    out[key] = document  # a document repeated across pages is kept once
            next_token = payload.get("next_token")
            if next_token is None or next_token == "":
                return list(out.values())
            if not isinstance(next_token, str) or next_token in seen_tokens:
                raise _bad_payload(f"Oura sent a bad or repeated next_token for {what}", what)
            seen_tokens.add(next_token)
            params = {**params, "next_token": next_token}

    def daily_readiness(self, start: date, end: date) -> list[dict[str, Any]]:
        return self.collection("daily_readiness", start, end)

    def sleep(self, start: date, end: date) -> list[dict[str, Any]]:
        """Sleep periods (``type``: ``long_sleep``, ``sleep``, ``late_nap``, ``rest``,
        ``deleted``), each filed on the day it ends."""
        return self.collection("sleep", start, end)

    def daily_sleep(self, start: date, end: date) -> list[dict[str, Any]]:
        return self.collection("daily_sleep", start, end)

    def daily_activity(self, start: date, end: date) -> list[dict[str, Any]]:
        return self.collection("daily_activity", start, end)

    def daily_stress(self, start: date, end: date) -> list[dict[str, Any]]:
        return self.collection("daily_stress", start, end)

    def daily_spo2(self, start: date, end: date) -> list[dict[str, Any]]:
        return self.collection("daily_spo2", start, end)

    def daily_resilience(self, start: date, end: date) -> list[dict[str, Any]]:
        return self.collection("daily_resilience", start, end)

    def vo2_max(self, start: date, end: date) -> list[dict[str, Any]]:
        return self.collection("vo2_max", start, end)

    def workouts(self, start: date, end: date) -> list[dict[str, Any]]:
        return self.collection("workout", start, end)

    def daily(self, start: date, end: date) -> dict[date, dict[str, list[dict[str, Any]]]]:
        """Every dated collection (``DAILY``) for ``[start, end]``, grouped by local date: only
        dates with at least one document appear, and each has every collection name as a key
        (an empty list where Oura had nothing). One paginated request chain per collection."""
        by_day: dict[date, dict[str, list[dict[str, Any]]]] = {}
        for name in self.DAILY:
            for document in self.collection(name, start, end):
                day = _day_of(document, name)
                slot = by_day.setdefault(day, {n: [] for n in self.DAILY})
                slot[name].append(document)
        return dict(sorted(by_day.items()))
