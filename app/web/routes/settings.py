"""Settings: profile, language, time zone, the training profile (thresholds, units, fitness
constants, nightly sync time), recomputing metrics, the source of each wellness metric group,
signing out everywhere."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.i18n import _
from app.messages import describe
from app.services.owner import account, training_profile
from app.services.pages import settings as settings_service
from app.services.wellness import origins
from app.services.work.schedule import (
    DEFAULT_MORNING_TIME,
    NIGHTLY_BACKUP,
    decision_follows_sync,
)
from app.web.deps import current_owner, db_session
from app.web.templating import render

router = APIRouter()


def _page(
    request: Request,
    owner,
    *,
    error: str | None = None,
    saved: bool = False,
    password_error: str | None = None,
    status_code: int = 200,
) -> Response:
    model = settings_service.settings_page(request.app.state.sessions, request.app.state.settings)
    recompute = request.query_params.get("recompute")
    return render(
        request,
        "settings/page.html",
        {
            "profile": owner,
            "timezones": account.common_timezones(),
            "error": error,
            "saved": saved,
            "thresholds": model.thresholds,
            "today": model.today,
            "recompute_from": date.fromisoformat(recompute) if _is_date(recompute) else None,
            "recomputing": request.query_params.get("recomputing") == "1",
            "default_sync_time": request.app.state.settings.sync_time,
            "default_morning_time": DEFAULT_MORNING_TIME,
            "decision_follows_sync": decision_follows_sync,
            "choices": training_profile,
            "backups": _backups(request, model),
            "describe": describe,
            "wellness_sources": model.wellness_sources,
            "estimate_sources": model.estimate_sources,
            "password_error": password_error,
            "password_changed": request.query_params.get("password") == "changed",
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
        account.update_preferences(
            session,
            display_name=display_name,
            locale=locale,
            timezone=timezone,
            scheduler=request.app.state.scheduler,
        )
    except account.OwnerError as error:
        return _page(request, owner, error=str(error), status_code=422)
    return RedirectResponse(str(request.url_for("settings")) + "?saved=1", status_code=303)


def _backups(request: Request, model: settings_service.SettingsPage) -> dict:
    """The backups folder and the nightly backup's last outcome and next run."""
    scheduler = request.app.state.scheduler
    return {
        "files": model.backup_files,
        "folder": str(model.backup_folder),
        "last": model.last_nightly_backup,
        "next": scheduler.next_run(NIGHTLY_BACKUP) if scheduler is not None else None,
        "queued": request.query_params.get("backup") == "queued",
        "restore_asked": request.query_params.get("restore"),
        "upload": request.query_params.get("upload"),
        "uploaded": request.query_params.get("file"),
        "last_restore": model.last_restore,
        "last_backup": model.last_backup,
    }


def _is_date(text: str | None) -> bool:
    try:
        return text is not None and bool(date.fromisoformat(text))
    except ValueError:
        return False


@router.post("/settings/training", name="settings:training")
async def save_training(request: Request, owner=Depends(current_owner)) -> Response:
    form = await request.form()

    def field(name: str) -> str:
        value = form.get(name, "")
        return value.strip()[:40] if isinstance(value, str) else ""

    def store() -> training_profile.Saved:
        return settings_service.save_training_profile(
            request.app.state.sessions,
            field,
            default_sync_time=request.app.state.settings.sync_time,
            scheduler=request.app.state.scheduler,
        )

    try:
        saved = await run_in_threadpool(store)
    except training_profile.ProfileError as error:
        return await run_in_threadpool(_page, request, owner, error=str(error), status_code=422)
    url = request.url_for("settings").include_query_params(saved=1)
    if saved.recompute_from is not None:
        url = url.include_query_params(recompute=saved.recompute_from.isoformat())
    return RedirectResponse(str(url), status_code=303)


@router.post("/settings/wellness-sources", name="settings:wellness_sources")
async def save_wellness_sources(request: Request, owner=Depends(current_owner)) -> Response:
    """The owner's source per wellness metric group; every day is re-resolved at once (set-based,
    a few queries per thousand days)."""
    form = await request.form()
    chosen = {
        group: value.strip()[:32]
        for group in origins.GROUPS
        if isinstance(value := form.get(f"source_{group}", ""), str)
    }

    try:
        await run_in_threadpool(
            settings_service.save_wellness_sources, request.app.state.sessions, chosen
        )
    except origins.WellnessSourceError as error:
        return await run_in_threadpool(_page, request, owner, error=str(error), status_code=422)
    url = request.url_for("settings").include_query_params(saved=1)
    return RedirectResponse(str(url) + "#wellness-sources", status_code=303)


@router.post("/settings/recompute", name="settings:recompute")
def recompute(
    request: Request,
    from_day: Annotated[str, Form(alias="from")] = "",
    owner=Depends(current_owner),
) -> Response:
    start = date.fromisoformat(from_day) if _is_date(from_day) else None
    request.app.state.work_runner.submit_recompute(start)
    url = request.url_for("settings").include_query_params(recomputing=1)
    return RedirectResponse(str(url), status_code=303)


@router.post("/settings/password", name="settings:password")
def change_password(
    request: Request,
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    new_password_confirm: Annotated[str, Form(max_length=1024)] = "",
    session: Session = Depends(db_session),
    owner=Depends(current_owner),
) -> Response:
    """A new password (the current one required): every other session ends, this one stays."""
    wait = request.app.state.login_limiter.hit(f"password {owner.id}")
    try:
        if wait:
            raise account.OwnerError(
                _(
                    "Too many attempts. Please wait %(seconds)s seconds and try again.",
                    seconds=max(1, int(wait) + 1),
                )
            )
        changed = account.change_password(
            session, current=current_password, new=new_password, confirm=new_password_confirm
        )
    except account.OwnerError as error:
        return _page(request, owner, password_error=str(error), status_code=422)
    request.session["epoch"] = changed.session_epoch
    url = request.url_for("settings").include_query_params(password="changed")  # noqa: S106
    return RedirectResponse(str(url.replace(fragment="password")), status_code=303)


@router.post("/settings/sign-out-everywhere", name="settings:sign_out_everywhere")
def sign_out_everywhere(
    request: Request, session: Session = Depends(db_session), owner=Depends(current_owner)
) -> Response:
    account.sign_out_everywhere(session)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
