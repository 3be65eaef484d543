"""First-run setup, login and logout."""

from __future__ import annotations

import logging
import math
import time

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.i18n import SUPPORTED_LOCALES, _, current_locale
from app.services.owner import account
from app.web.deps import db_session, safe_next
from app.web.templating import render

router = APIRouter()
log = logging.getLogger(__name__)


def _sign_in(request: Request, owner) -> None:
    request.session.clear()
    # `since`: the absolute lifetime of a login counts from here (app.web.gate)
    request.session.update(owner_id=owner.id, epoch=owner.session_epoch, since=int(time.time()))


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/setup", name="auth:setup")
def setup_form(request: Request) -> Response:
    return render(
        request,
        "auth/setup.html",
        {
            "form": {
                "locale": current_locale.get(),
                "timezone": request.app.state.settings.timezone,
            },
            "timezones": account.common_timezones(),
        },
    )


@router.post("/setup", name="auth:setup_submit")
def setup_submit(
    request: Request,
    display_name: str = Form(""),
    username: str = Form(""),
    password: str = Form(""),
    password_confirm: str = Form(""),
    locale: str = Form("en"),
    timezone: str = Form("UTC"),
    setup_code: str = Form(""),
    session: Session = Depends(db_session),
) -> Response:
    form = {
        "display_name": display_name,
        "username": username,
        "locale": locale,
        "timezone": timezone,
    }
    try:
        wait = request.app.state.login_limiter.hit(f"setup {_client(request)}")
        if wait:
            raise account.OwnerError(
                _(
                    "Too many attempts. Please wait %(seconds)s seconds and try again.",
                    seconds=max(1, math.ceil(wait)),
                )
            )
        if password != password_confirm:
            raise account.OwnerError(_("The two passwords are not the same."))
        owner = account.setup_owner(
            session,
            account.NewOwner(
                display_name=display_name,
                username=username,
                password=password,
                locale=locale if locale in SUPPORTED_LOCALES else None,
                timezone=timezone,
            ),
            data_dir=request.app.state.settings.data_dir,
            code=setup_code,
            scheduler=request.app.state.scheduler,
        )
    except account.OwnerError as error:
        return render(
            request,
            "auth/setup.html",
            {
                "form": form,
                "error": str(error),
                "timezones": account.common_timezones(),
            },
            status_code=422,
        )
    _sign_in(request, owner)
    return RedirectResponse(request.url_for("dashboard"), status_code=303)


@router.get("/login", name="auth:login")
def login_form(request: Request, next: str = "/") -> Response:
    if request.state.owner is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": safe_next(next)})


@router.post("/login", name="auth:login_submit")
def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
    session: Session = Depends(db_session),
) -> Response:
    client = _client(request)
    wait = request.app.state.login_throttle.hit(client, username)
    context = {"next": safe_next(next), "username": username}
    if wait:
        seconds = max(1, math.ceil(wait))
        return render(
            request,
            "auth/login.html",
            {
                **context,
                "error": _(
                    "Too many login attempts. Please wait %(seconds)s seconds and try again.",
                    seconds=seconds,
                ),
            },
            status_code=429,
            headers={"Retry-After": str(seconds)},
        )
    owner = account.authenticate(session, username, password)
    if owner is None:
        return render(
            request,
            "auth/login.html",
            {
                **context,
                "error": _("The user name or password is not right."),
            },
            status_code=401,
        )
    request.app.state.login_throttle.succeeded(client, username)
    _sign_in(request, owner)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", name="auth:logout")
def logout(request: Request, session: Session = Depends(db_session)) -> Response:
    """Signing out ends the login everywhere (a copy of the cookie stops working too)."""
    if request.state.owner is not None:
        try:
            account.sign_out_everywhere(session)
        except DBAPIError:  # a restore is switching databases: it moves the epoch anyway
            log.warning("sign-out could not end the other sessions (the database is away)")
    request.session.clear()
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": "/login"})
    return RedirectResponse("/login", status_code=303)
