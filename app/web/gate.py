"""The owner gate: first-run setup, login required everywhere but a few public paths, and the
locale and time zone of each request."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app import i18n
from app.models.owner import Owner, get_owner

PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = {"/healthz", "/metrics", "/login", "/language", "/favicon.ico"}
LANGUAGE_COOKIE = "domestique_lang"


def _redirect(request: Request, url: str) -> Response:
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def is_signed_in(request: Request, owner: Owner | None) -> bool:
    return (
        owner is not None
        and request.session.get("owner_id") == owner.id
        and request.session.get("epoch") == owner.session_epoch
    )


def choose_locale(request: Request, owner: Owner | None, signed_in: bool, default: str) -> str:
    if signed_in and owner is not None and owner.locale:
        return owner.locale
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in i18n.SUPPORTED_LOCALES:
        return cookie
    return i18n.negotiate(request.headers.get("accept-language"), default)


class OwnerGateMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, default_locale: str, default_timezone: str) -> None:
        super().__init__(app)
        self.default_locale = default_locale
        self.default_timezone = default_timezone

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if path.startswith(PUBLIC_PREFIXES) or path in ("/healthz", "/metrics"):
            return await call_next(request)
        owner = await run_in_threadpool(_load_owner, request.app.state.sessions)
        signed_in = is_signed_in(request, owner)
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
            if owner is not None and not signed_in and path not in PUBLIC_PATHS:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return _redirect(request, f"/login?next={quote(target, safe='')}")
            return await call_next(request)
        finally:
            i18n.current_locale.reset(locale_token)
            i18n.current_timezone.reset(tz_token)
            i18n.current_units.reset(units_token)


def _load_owner(sessions) -> Owner | None:
    with sessions() as session:
        owner = get_owner(session)
        if owner is not None:
            session.expunge(owner)
        return owner
