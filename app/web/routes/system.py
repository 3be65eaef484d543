"""Health, metrics, the language switch and the maintenance page and banner."""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app import __version__
from app.i18n import SUPPORTED_LOCALES
from app.services.owner import account
from app.services.pages.status import database_status
from app.web.deps import db_session, safe_next
from app.web.gate import LANGUAGE_COOKIE, is_signed_in, load_owner
from app.web.templating import MAINTENANCE_BANNER, render

router = APIRouter()


def _bearer_ok(request: Request) -> bool:
    """Whether the request carries ``DOMESTIQUE_METRICS_TOKEN`` (never, when it is unset)."""
    token = request.app.state.settings.metrics_token
    if token is None:
        return False
    expected = f"Bearer {token.get_secret_value()}"
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), expected.encode())


def _owner_signed_in(request: Request) -> bool:
    settings = request.app.state.settings
    try:
        owner = load_owner(request.app.state.sessions)
    except DBAPIError:
        return False
    return is_signed_in(
        request, owner, now=time.time(), absolute_s=settings.session_absolute_days * 86400
    )


@router.get("/healthz", name="system:health")
async def health(request: Request) -> JSONResponse:
    """Status only for anyone (the container's health check); versions, the schema and the
    scheduler for the signed-in owner or a caller with the metrics token."""
    database = await run_in_threadpool(database_status, request.app.state.engine)
    status = "ok" if database.ok else "unavailable"
    code = 200 if database.ok else 503
    if not _bearer_ok(request) and not (
        database.ok and await run_in_threadpool(_owner_signed_in, request)
    ):
        return JSONResponse({"status": status}, status_code=code)
    scheduler = request.app.state.scheduler
    body = {
        "status": status,
        "version": __version__,
        "database": database.as_dict(),
        "scheduler": {
            "running": bool(scheduler and scheduler.running),
            "jobs": len(scheduler.jobs) if scheduler else 0,
        },
    }
    return JSONResponse(body, status_code=code)


@router.get("/metrics", name="system:metrics")
async def metrics(request: Request) -> Response:
    if request.app.state.settings.metrics_token is not None and not _bearer_ok(request):
        return Response("unauthorized\n", status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.post("/language", name="system:language")
def switch_language(
    request: Request,
    locale: str = Form(...),
    next: str = Form("/"),
    session: Session = Depends(db_session),
) -> Response:
    """Switch the language and come back to the same page."""
    if locale not in SUPPORTED_LOCALES:
        return Response(status_code=400)
    if request.state.owner is not None:
        account.update_preferences(session, locale=locale)
    target = safe_next(next)
    if request.headers.get("hx-request") == "true":
        response: Response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        locale,
        max_age=365 * 86400,
        samesite="lax",
        httponly=True,
        secure=request.app.state.settings.session_cookie_secure,
    )
    return response


@router.get("/maintenance", name="system:maintenance")
def maintenance_page(request: Request, next: str = "/") -> Response:
    """Where a refused HTMX request lands while a backup is restored; afterwards, back."""
    back = safe_next(next)
    if not request.app.state.maintenance.active:
        return RedirectResponse(back, status_code=303)
    return render(request, "maintenance/page.html", {"back": back, "refused": True})


@router.get("/maintenance/banner", name="system:maintenance_banner")
def maintenance_banner(request: Request) -> Response:
    """The banner, polled while it shows: the same with the current step, or — the restore has
    ended — nothing, and the page reloads to show the restored data."""
    response = render(request, MAINTENANCE_BANNER, {})
    if not request.app.state.maintenance.active:
        response.headers["HX-Refresh"] = "true"
    return response
