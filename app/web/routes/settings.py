"""Settings: profile, language, time zone, signing out everywhere."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.services import owners
from app.web.deps import current_owner, db_session
from app.web.templating import render

router = APIRouter()


def _page(
    request: Request,
    owner,
    *,
    error: str | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "settings/page.html",
        {
            "profile": owner,
            "timezones": owners.common_timezones(),
            "error": error,
            "saved": saved,
        },
        fragment="settings/_content.html",
        status_code=status_code,
    )


@router.get("/settings", name="settings")
def settings_page(request: Request, saved: bool = False, owner=Depends(current_owner)) -> Response:
    return _page(request, owner, saved=saved)


@router.post("/settings", name="settings:save")
def save_settings(
    request: Request,
    display_name: str = Form(...),
    locale: str = Form(...),
    timezone: str = Form(...),
    session: Session = Depends(db_session),
    owner=Depends(current_owner),
) -> Response:
    try:
        owners.update_preferences(
            session, display_name=display_name, locale=locale, timezone=timezone
        )
    except owners.OwnerError as error:
        return _page(request, owner, error=str(error), status_code=422)
    return RedirectResponse(str(request.url_for("settings")) + "?saved=1", status_code=303)


@router.post("/settings/sign-out-everywhere", name="settings:sign_out_everywhere")
def sign_out_everywhere(
    request: Request, session: Session = Depends(db_session), owner=Depends(current_owner)
) -> Response:
    owners.sign_out_everywhere(session)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
