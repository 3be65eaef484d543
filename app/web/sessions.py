"""The owner's session: a signed cookie (Starlette's ``Session``, itsdangerous' signer) whose key
derives from the master key — and that key can change while the app runs.

A restore may bring the backup's key, and it moves the owner's ``session_epoch`` past both the
current and the restored one (``app.services.backups``), so no session from the backup's time
comes back. Sessions that were valid here just before the restore are carried over: a cookie
that verifies with the *previous* key and holds the previous epoch gets the new epoch and is
signed again with the new key on its next response. Any other cookie is simply not signed in.
The carry-over lives in memory: a session first used after a restart signs in again.
"""

from __future__ import annotations

import json
import threading
import time
from base64 import b64decode, b64encode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from itsdangerous import BadSignature, TimestampSigner
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import Session
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class _CarryOver:
    previous_key: str
    previous_epoch: int
    epoch: int


class SessionSigning:
    """The key that signs session cookies now, and what carries sessions over a key change."""

    def __init__(self, key: str) -> None:
        self._lock = threading.Lock()
        self.key = key
        self.carry: _CarryOver | None = None

    def rotate(self, key: str, *, previous_epoch: int | None, epoch: int | None) -> None:
        """Sign with ``key`` from now on; a session signed with the key used until now and
        holding ``previous_epoch`` becomes a session of ``epoch`` (None: none carries over)."""
        with self._lock:
            if previous_epoch is None or epoch is None:
                self.carry = None
            else:
                self.carry = _CarryOver(self.key, previous_epoch, epoch)
            self.key = key


# A session in use is signed again (a new Max-Age) when its cookie is older than this: the
# login stays while it is used, up to the owner's absolute lifetime (``app.web.gate``).
REFRESH_AFTER_S = 86400


def _decode(
    signer: TimestampSigner, cookie: bytes, max_age: int | None
) -> tuple[dict[str, Any], float] | None:
    """The payload and the time it was signed (seconds since the epoch), or None."""
    try:
        value, signed_at = signer.unsign(cookie, max_age=max_age, return_timestamp=True)
        payload = json.loads(b64decode(value))
    except (BadSignature, ValueError):
        return None
    return (payload, signed_at.timestamp()) if isinstance(payload, dict) else None


class OwnerSessionMiddleware:
    """Starlette's ``SessionMiddleware`` with the key read from ``SessionSigning`` per request
    (same cookie format, flags and ``request.session`` interface)."""

    def __init__(
        self,
        app: ASGIApp,
        signing: SessionSigning,
        session_cookie: str = "session",
        max_age: int | None = 14 * 24 * 60 * 60,
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.clock = clock
        self.signing = signing
        self.session_cookie = session_cookie
        self.max_age = max_age
        self.security_flags = "httponly; samesite=" + same_site
        if https_only:
            self.security_flags += "; secure"

    def _load(self, cookie: str | None) -> tuple[Session, bool]:
        """The session in ``cookie`` and whether the cookie held one."""
        if not cookie:
            return Session(), False
        data = cookie.encode("utf-8")
        carry = self.signing.carry
        if carry is not None:
            before = _decode(TimestampSigner(carry.previous_key), data, self.max_age)
            if before is not None and before[0].get("epoch") == carry.previous_epoch:
                session = Session({**before[0], "epoch": carry.epoch})
                session.mark_modified()  # signed again, with the current key
                return session, True
        decoded = _decode(TimestampSigner(self.signing.key), data, self.max_age)
        if decoded is None:
            return Session(), False
        payload, signed_at = decoded
        session = Session(payload)
        if payload and self.clock() - signed_at > REFRESH_AFTER_S:
            session.mark_modified()  # in use: a new Max-Age (the sliding lifetime)
        return session, True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        scope["session"], had_session = self._load(connection.cookies.get(self.session_cookie))

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                session: Session = scope["session"]
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                if session.accessed:
                    headers.add_vary_header("Cookie")
                if session.modified and session:
                    signed = TimestampSigner(self.signing.key).sign(
                        b64encode(json.dumps(session).encode("utf-8"))
                    )
                    max_age = f"Max-Age={self.max_age}; " if self.max_age is not None else ""
                    headers.append(
                        "Set-Cookie",
                        f"{self.session_cookie}={signed.decode('utf-8')}; path=/; "
                        f"{max_age}{self.security_flags}",
                    )
                elif session.modified and had_session:  # cleared: forget the cookie
                    headers.append(
                        "Set-Cookie",
                        f"{self.session_cookie}=null; path=/; "
                        f"expires=Thu, 01 Jan 1970 00:00:00 GMT; {self.security_flags}",
                    )
            await send(message)

        await self.app(scope, receive, send_wrapper)
