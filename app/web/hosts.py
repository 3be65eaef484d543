"""The Host allowlist: the app answers only to the names it is known by.

DNS rebinding lets a web page on another site reach a LAN address under the attacker's own
name (the browser sends ``Host: evil.example``); refusing unknown names closes that door. An IP
address in ``Host`` cannot come from rebinding (the browser would send the name it resolved), so
every IP address is accepted — the NAS's own, whichever interface the owner used. Names accepted:
``localhost``, this machine's host name, the host of ``DOMESTIQUE_PUBLIC_URL`` and those in
``DOMESTIQUE_ALLOWED_HOSTS`` (``*.example.com`` for a domain and its subdomains, ``*`` for any).
``/healthz`` answers whatever the name (the container's health check).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app import i18n
from app.config import Settings
from app.i18n import _

log = logging.getLogger(__name__)
EXEMPT_PATHS = frozenset({"/healthz"})


def allowed_hosts(settings: Settings) -> list[str]:
    """The names (and ``*.domain`` patterns) this install answers to."""
    names = ["localhost", "*.localhost"]
    for name in (socket.gethostname(), socket.getfqdn()):
        if name:
            names.append(name)
    if settings.public_url:
        host = urlsplit(settings.public_url).hostname
        if host:
            names.append(host)
    names.extend(settings.allowed_host_list)
    return sorted({name.lower().rstrip(".") for name in names if name})


def host_of(header: str) -> str:
    """The host name of a ``Host`` header, without the port (IPv6 in brackets unwrapped)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    if header.count(":") == 1:
        header = header.split(":", 1)[0]
    return header.rstrip(".")


def is_allowed(host: str, patterns: Iterable[str]) -> bool:
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    for pattern in patterns:
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith("*.") and (host == pattern[2:] or host.endswith(pattern[1:])):
            return True
    return False


class HostAllowlistMiddleware:
    """400 with a sentence naming the setting, for a ``Host`` this install does not answer to."""

    def __init__(self, app: ASGIApp, *, allowed: Iterable[str], default_locale: str) -> None:
        self.app = app
        self.allowed = tuple(allowed)
        self.default_locale = default_locale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = host_of(headers.get("host", ""))
        if is_allowed(host, self.allowed):
            await self.app(scope, receive, send)
            return
        log.warning(
            "request for host %r refused (not in the allowed hosts; see DOMESTIQUE_ALLOWED_HOSTS)",
            host[:100],
        )
        with i18n.using(i18n.negotiate(headers.get("accept-language"), self.default_locale)):
            message = _(
                "Domestique does not answer to the address %(host)s. If it is yours, add it to "
                "DOMESTIQUE_ALLOWED_HOSTS (or set DOMESTIQUE_PUBLIC_URL) and restart.",
                host=host[:100] or "?",
            )
        await PlainTextResponse(message, status_code=400)(scope, receive, send)
