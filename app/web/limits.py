"""Request body limits: small everywhere, large only on the upload routes and only after login.

A request is refused with 413 as soon as its declared ``Content-Length`` is over the limit —
before the body is read — and a body without one (chunked) is counted while it streams. The
upload routes (``UPLOAD_PATHS``) take up to ``DOMESTIQUE_MAX_UPLOAD_MB``; which limit applies to
them is decided at the first read of the body, after the owner gate (``app.web.gate``) has said
whether the owner is signed in. An anonymous request there never gets its body read: the gate
sends it to the login page first.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.i18n import _

# POST routes whose bodies are files; every other request gets the small limit.
UPLOAD_PATHS = frozenset(
    {"/import", "/settings/backups/upload", "/settings/coach/library", "/plan/import"}
)


def owner_signed_in(scope: Scope) -> bool:
    """Whether the owner gate found the owner signed in (it sets ``request.state.owner``)."""
    state = scope.get("state") or {}
    return state.get("owner") is not None


class BodySizeLimitMiddleware:
    """Refuses request bodies over the limit with 413, by header at once and while streaming."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_upload_bytes: int,
        upload_paths: frozenset[str] = UPLOAD_PATHS,
        may_upload: Callable[[Scope], bool] = owner_signed_in,
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_upload = max(max_upload_bytes, max_body_bytes)
        self.upload_paths = upload_paths
        self.may_upload = may_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"] in self.upload_paths
        declared = _content_length(scope)
        if declared is not None and declared > (self.max_upload if upload else self.max_body):
            await self._refuse(scope, receive, send, upload=upload)
            return
        limit: int | None = None if upload else self.max_body  # uploads: at the first read
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal limit, received, refused
            if refused:
                return {"type": "http.disconnect"}
            if limit is None:
                limit = self.max_upload if self.may_upload(scope) else self.max_body
                if declared is not None and declared > limit:
                    refused = True
                    await self._refuse(scope, receive, send, upload=limit == self.max_upload)
                    return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now; the app sees a client that went away, and whatever it
                    # tries to send afterwards is dropped.
                    refused = True
                    await self._refuse(scope, receive, send, upload=limit == self.max_upload)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, *, upload: bool) -> None:
        if upload:
            message = _(
                "The upload is larger than %(mb)s MiB; nothing was stored.",
                mb=self.max_upload // (1024 * 1024),
            )
        else:
            message = _(
                "The request is larger than %(kb)s KiB; nothing was stored.",
                kb=self.max_body // 1024,
            )
        await PlainTextResponse(message, status_code=413)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    declared = Headers(scope=scope).get("content-length")
    return int(declared) if declared and declared.isdigit() else None
