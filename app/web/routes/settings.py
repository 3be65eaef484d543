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
from app.models.metrics import THRESHOLD_KINDS
from app.models.owner import get_owner
from app.services import estimate_sources, owners, training_profile, wellness_sources
from app.services.imports.messages import describe
from app.services.metrics.recompute import owner_today
from app.web.deps import apply_owner_schedule, current_owner, db_session
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
    with request.app.state.sessions() as session:
        today = owner_today(session)
        thresholds = training_profile.thresholds_view(session, today)
        sources = estimate_sources.overview(session)
        wellness_choices = wellness_sources.choices(session)
    recompute = request.query_params.get("recompute")
    return render(
        request,
        "settings/page.html",
        {
            "profile": owner,
            "timezones": owners.common_timezones(),
            "error": error,
            "saved": saved,
            "thresholds": thresholds,
            "today": today,
            "recompute_from": date.fromisoformat(recompute) if _is_date(recompute) else None,
            "recomputing": request.query_params.get("recomputing") == "1",
            "default_sync_time": request.app.state.settings.sync_time,
            "choices": training_profile,
            "backups": _backups(request),
            "describe": describe,
            "wellness_sources": wellness_choices,
            "estimate_sources": sources,
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
        owners.update_preferences(
            session, display_name=display_name, locale=locale, timezone=timezone
        )
    except owners.OwnerError as error:
        return _page(request, owner, error=str(error), status_code=422)
    apply_owner_schedule(request)
    return RedirectResponse(str(request.url_for("settings")) + "?saved=1", status_code=303)


def _backups(request: Request) -> dict:
    """The backups folder and the nightly backup's last outcome and next run."""
    from app.jobs.nightly import NIGHTLY_BACKUP
    from app.models import ScheduledJobState
    from app.services import backups

    settings = request.app.state.settings
    files = [
        {"name": p.name, "size": p.stat().st_size, "modified": p.stat().st_mtime}
        for p in backups.list_backups(settings.backup_dir)
    ]
    with request.app.state.sessions() as session:
        state = session.get(ScheduledJobState, NIGHTLY_BACKUP)
        last = (state.last_status, state.last_finished_at, state.last_error) if state else None
    scheduler = request.app.state.scheduler
    return {
        "files": files,
        "folder": str(settings.backup_dir),
        "last": last,
        "next": scheduler.next_run(NIGHTLY_BACKUP) if scheduler is not None else None,
        "queued": request.query_params.get("backup") == "queued",
        "restore_asked": request.query_params.get("restore"),
        "upload": request.query_params.get("upload"),
        "uploaded": request.query_params.get("file"),
        "last_restore": getattr(request.app.state.sync_runner, "last_restore", None),
        "last_backup": getattr(request.app.state.sync_runner, "last_backup", None),
    }


def _is_date(text: str | None) -> bool:
    try:
        return text is not None and bool(date.fromisoformat(text))
    except ValueError:
        return False


def _sync_time(posted: str, session: Session, request: Request) -> str | None:
    """The owner's own sync time; the default posted back unchanged stays "the default"."""
    owner = get_owner(session)
    default = request.app.state.settings.sync_time
    if not posted or (posted == default and owner is not None and owner.sync_time is None):
        return None
    return posted


@router.post("/settings/training", name="settings:training")
async def save_training(request: Request, owner=Depends(current_owner)) -> Response:
    form = await request.form()

    def field(name: str) -> str:
        value = form.get(name, "")
        return value.strip()[:40] if isinstance(value, str) else ""

    def store() -> training_profile.Saved:
        with request.app.state.sessions.begin() as session:
            try:
                birth_year = int(field("birth_year")) if field("birth_year") else None
                ctl_days = int(field("ctl_days") or 42)
                atl_days = int(field("atl_days") or 7)
                since = date.fromisoformat(field("valid_from")) if field("valid_from") else None
            except ValueError as exc:
                raise training_profile.ProfileError(
                    _("Some values are not numbers or dates.")
                ) from exc
            return training_profile.save(
                session,
                today=owner_today(session),
                sex=field("sex") or None,
                birth_year=birth_year,
                hr_zone_model=field("hr_zone_model") or "lthr",
                units=field("units") or "metric",
                sync_time=_sync_time(field("sync_time"), session, request),
                ctl_days=ctl_days,
                atl_days=atl_days,
                tsb_variant=field("tsb_variant") or "yesterday",
                thresholds={kind: field(kind) for kind in THRESHOLD_KINDS},
                valid_from=since,
            )

    try:
        saved = await run_in_threadpool(store)
    except training_profile.ProfileError as error:
        return await run_in_threadpool(_page, request, owner, error=str(error), status_code=422)
    if saved.sync_time_changed:
        await run_in_threadpool(apply_owner_schedule, request)
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
        for group in wellness_sources.GROUPS
        if isinstance(value := form.get(f"source_{group}", ""), str)
    }

    def store() -> None:
        with request.app.state.sessions.begin() as session:
            wellness_sources.save_preference(session, chosen)

    try:
        await run_in_threadpool(store)
    except wellness_sources.WellnessSourceError as error:
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
    request.app.state.sync_runner.submit_recompute(start)
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
            raise owners.OwnerError(
                _(
                    "Too many attempts. Please wait %(seconds)s seconds and try again.",
                    seconds=max(1, int(wait) + 1),
                )
            )
        changed = owners.change_password(
            session, current=current_password, new=new_password, confirm=new_password_confirm
        )
    except owners.OwnerError as error:
        return _page(request, owner, password_error=str(error), status_code=422)
    request.session["epoch"] = changed.session_epoch
    url = request.url_for("settings").include_query_params(password="changed")  # noqa: S106
    return RedirectResponse(str(url.replace(fragment="password")), status_code=303)


@router.post("/settings/sign-out-everywhere", name="settings:sign_out_everywhere")
def sign_out_everywhere(
    request: Request, session: Session = Depends(db_session), owner=Depends(current_owner)
) -> Response:
    owners.sign_out_everywhere(session)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
