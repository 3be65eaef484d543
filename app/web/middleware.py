"""ASGI middleware, outermost first: request context (id, logs, metrics), the body size limit
(app.web.limits), cross-origin protection (CSRF), and — after the session — the owner gate
(app.web.gate)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import urlsplit

from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.i18n import _
from app.logs import request_id

log = logging.getLogger("domestique.http")

REQUESTS = Counter("domestique_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "domestique_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """A request id (kept from ``X-Request-ID`` when sane), one JSON access log line, metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex[:16]
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            label = getattr(route, "path", None) or (
                "/static" if scope["path"].startswith("/static/") else "unmatched"
            )
            REQUESTS.labels(scope["method"], label, str(status)).inc()
            LATENCY.labels(scope["method"], label).observe(elapsed)
            log.info(
                "%s %s %s %.1fms",
                scope["method"],
                scope["path"],
                status,
                elapsed * 1000,
                extra={"status": status, "duration_ms": round(elapsed * 1000, 1)},
            )
            request_id.reset(token)


def _same_origin(origin: str, host: str | None, scheme: str) -> bool:
    parts = urlsplit(origin)
    return (
        bool(host)
        and parts.netloc.lower() == (host or "").lower()
        and parts.scheme in ("http", "https")
    )


class CrossOriginProtectionMiddleware:
    """CSRF by origin: a state-changing request must come from this site.

    ``Sec-Fetch-Site`` decides when the browser sends it (``same-origin`` or ``none`` pass);
    otherwise ``Origin`` must name this host. Requests carrying neither come from non-browser
    clients, which cannot be tricked into sending the owner's cookie, and pass.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        fetch_site = headers.get("sec-fetch-site")
        origin = headers.get("origin")
        if fetch_site is not None:
            allowed = fetch_site in ("same-origin", "none")
        elif origin is not None:
            allowed = origin != "null" and _same_origin(
                origin, headers.get("host"), scope["scheme"]
            )
        else:
            allowed = True
        if not allowed:
            log.warning(
                "cross-origin %s %s refused (origin=%s, sec-fetch-site=%s)",
                scope["method"],
                scope["path"],
                origin,
                fetch_site,
            )
            response = PlainTextResponse(
                _("This request came from another site and was refused."), status_code=403
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
