"""The owner gate: first-run setup, login required everywhere but a few public paths, the
locale and time zone of each request — and, while the app's maintenance lasts (a restore),
the refusal of every request that would change something."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app import i18n
from app.security.keys import SecretKeyError
from app.services.owner import account

if TYPE_CHECKING:
    from app.models.owner import Owner

PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = {
    "/healthz",
    "/metrics",
    "/login",
    "/language",
    "/favicon.ico",
    "/maintenance/banner",
}
LANGUAGE_COOKIE = "domestique_lang"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Allowed while the maintenance lasts: signing in and out change only the cookie.
MAINTENANCE_ALLOWED = {"/login", "/logout"}
# GET requests that store something: the OAuth callbacks keep the tokens they receive.
CHANGING_GETS = re.compile(r"^/connections/[^/]+/callback$")
# The calendar feed: calendar apps cannot sign in; the token in the address is the key (the
# route answers 404 to a wrong one).
FEED = re.compile(r"^/calendar/feed/[A-Za-z0-9_-]{20,100}\.ics$")


def _redirect(request: Request, url: str) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def is_signed_in(
    request: Request, owner: Owner | None, *, now: float, absolute_s: float | None = None
) -> bool:
    """The session is the owner's, of the current epoch, and — with ``absolute_s`` — signed in
    less than that long ago (however often it was used since)."""
    since = request.session.get("since")
    return (
        owner is not None
        and request.session.get("owner_id") == owner.id
        and request.session.get("epoch") == owner.session_epoch
        and (
            absolute_s is None or (isinstance(since, int | float) and 0 <= now - since < absolute_s)
        )
    )


def choose_locale(request: Request, owner: Owner | None, signed_in: bool, default: str) -> str:
    if signed_in and owner is not None and owner.locale:
        return owner.locale
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in i18n.SUPPORTED_LOCALES:
        return cookie
    return i18n.negotiate(request.headers.get("accept-language"), default)


class OwnerGateMiddleware(BaseHTTPMiddleware):
    def __init__(
        self,
        app,
        default_locale: str,
        default_timezone: str,
        absolute_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(app)
        self.default_locale = default_locale
        self.default_timezone = default_timezone
        self.absolute_s = absolute_s
        self.clock = clock

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if path.startswith(PUBLIC_PREFIXES) or path in ("/healthz", "/metrics"):
            return await call_next(request)
        maintenance = request.app.state.maintenance
        try:
            owner = await run_in_threadpool(load_owner, request.app.state.sessions)
        except DBAPIError:
            if not maintenance.active:
                raise
            # The database is switching over: a moment without it, said as such.
            return await self._switching(request)
        signed_in = is_signed_in(request, owner, now=self.clock(), absolute_s=self.absolute_s)
        request.state.owner = owner if signed_in else None
        locale_token = i18n.current_locale.set(
            choose_locale(request, owner, signed_in, self.default_locale)
        )
        tz_token = i18n.current_timezone.set(
            owner.timezone if owner is not None else self.default_timezone
        )
        units_token = i18n.current_units.set(
            owner.units if owner is not None and owner.units else "metric"
        )
        try:
            if owner is None and path not in ("/setup", "/language", "/favicon.ico"):
                return _redirect(request, "/setup")
            if owner is not None and path == "/setup":
                return _redirect(request, "/" if signed_in else "/login")
            public = path in PUBLIC_PATHS or (
                request.method in SAFE_METHODS and FEED.match(path) is not None
            )
            if owner is not None and not signed_in and not public:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return _redirect(request, f"/login?next={quote(target, safe='')}")
            if maintenance.active and changes_state(request):
                return await run_in_threadpool(refuse_during_maintenance, request)
            try:
                return await call_next(request)
            except (DBAPIError, SecretKeyError):
                if not maintenance.active:
                    raise
                return await self._switching(request)
        finally:
            i18n.current_locale.reset(locale_token)
            i18n.current_timezone.reset(tz_token)
            i18n.current_units.reset(units_token)

    async def _switching(self, request: Request) -> Response:
        """The database is away for a moment (the restore switches over): the maintenance
        page, without the owner (who cannot be read now)."""
        locale = choose_locale(request, None, False, self.default_locale)
        token = i18n.current_locale.set(locale)
        try:
            request.state.owner = None
            return await run_in_threadpool(
                maintenance_response, request, refused=changes_state(request)
            )
        finally:
            i18n.current_locale.reset(token)


def changes_state(request: Request) -> bool:
    """Whether the request would store something (refused while the maintenance lasts)."""
    path = request.url.path
    if path in MAINTENANCE_ALLOWED:
        return False
    return request.method not in SAFE_METHODS or bool(CHANGING_GETS.match(path))


def refuse_during_maintenance(request: Request) -> Response:
    return maintenance_response(request, refused=True)


def maintenance_response(request: Request, *, refused: bool) -> Response:
    """503 with the maintenance page; ``refused``: it says that nothing was changed. HTMX does
    not swap an error response, so a refused HTMX request is sent to that page instead."""
    from app.web.templating import render

    back = _page_of(request)
    response = render(
        request, "maintenance/page.html", {"back": back, "refused": refused}, status_code=503
    )
    response.headers["Retry-After"] = "30"
    if refused and request.headers.get("hx-request") == "true":
        response.headers["HX-Redirect"] = f"/maintenance?next={quote(back, safe='')}"
    return response


def _page_of(request: Request) -> str:
    """The page the request came from (its path on this host), to go back to afterwards."""
    from app.web.deps import safe_next

    parts = urlsplit(request.headers.get("hx-current-url") or request.headers.get("referer") or "")
    if parts.netloc and parts.netloc != request.url.netloc:
        return "/"
    return safe_next((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))


def load_owner(sessions) -> Owner | None:
    return account.load_owner(sessions)
