"""Backups on the Settings page: back up now and restore (in the background), download."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.services import backups
from app.services.raw_store import TooLarge
from app.services.work.maintenance import MaintenanceActive
from app.web.gate import refuse_during_maintenance
from app.web.uploads import UploadError, receive_files

router = APIRouter()
NAME = re.compile(r"^domestique-(?:[a-z]+\d*-)?\d{8}-\d{6}\.tar$")


@router.post("/settings/backups", name="backups:now")
def back_up_now(request: Request) -> Response:
    request.app.state.work_runner.submit_backup()
    url = request.url_for("settings").include_query_params(backup="queued")
    return RedirectResponse(str(url.replace(fragment="backups")), status_code=303)


@router.post("/settings/backups/upload", name="backups:upload")
async def upload(request: Request) -> Response:
    """A backup file from another machine: streamed to disk, verified, then listed."""
    settings = request.app.state.settings
    try:
        received = await receive_files(request, settings, field_name="backup")
    except (UploadError, TooLarge):
        received = []
    if len(received) != 1:
        for item in received:
            item.discard()
        return _back(request, upload="missing")
    path = received[0].finish()
    try:
        kept = await run_in_threadpool(backups.adopt_upload, settings, path)
    except backups.BackupError as error:
        return _back(request, upload=error.code)
    return _back(request, upload="done", file=kept.name)


def _back(request: Request, **params: str) -> RedirectResponse:
    url = request.url_for("settings").include_query_params(**params)
    return RedirectResponse(str(url.replace(fragment="backups")), status_code=303)


@router.post("/settings/backups/restore", name="backups:restore")
def restore(
    request: Request,
    name: Annotated[str, Form(max_length=80)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
    accept_unverified: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Restore one of our backups, after the owner ticked the confirmation — and, for a backup
    this install did not sign, a second one that names the risk."""
    folder = request.app.state.settings.backup_dir
    if not NAME.match(name) or name not in {p.name for p in backups.list_backups(folder)}:
        raise HTTPException(status_code=404)
    if confirm != "yes":
        url = request.url_for("settings").include_query_params(restore="unconfirmed")
        return RedirectResponse(str(url.replace(fragment="backups")), status_code=303)
    accepted = accept_unverified == "yes"
    if not accepted and not backups.is_authentic(request.app.state.settings, folder / name):
        url = request.url_for("settings").include_query_params(restore="unverified", file=name)
        return RedirectResponse(str(url.replace(fragment="backups")), status_code=303)
    try:  # the app's maintenance begins now: every page shows it until the restore ends
        request.app.state.work_runner.submit_restore(folder / name, accept_unverified=accepted)
    except MaintenanceActive:  # another restore began a moment ago
        return refuse_during_maintenance(request)
    url = request.url_for("settings").include_query_params(restore="queued")
    return RedirectResponse(str(url.replace(fragment="backups")), status_code=303)


@router.get("/backups/{name}", name="backups:download")
def download(request: Request, name: str) -> Response:
    """One of our backup files, by its exact name (nothing else in the folder is served)."""
    folder = request.app.state.settings.backup_dir
    if not NAME.match(name) or name not in {p.name for p in backups.list_backups(folder)}:
        raise HTTPException(status_code=404)
    return FileResponse(folder / name, filename=name, media_type="application/x-tar")
