"""Backups on the Settings page: back up now (in the background) and download a backup."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from app.services import backups

router = APIRouter()
NAME = re.compile(r"^domestique-[a-z]*-?\d{8}-\d{6}\.tar$")


@router.post("/settings/backups", name="backups:now")
def back_up_now(request: Request) -> Response:
    request.app.state.sync_runner.submit_backup()
    url = request.url_for("settings").include_query_params(backup="queued")
    return RedirectResponse(str(url.replace(fragment="backups")), status_code=303)


@router.get("/backups/{name}", name="backups:download")
def download(request: Request, name: str) -> Response:
    """One of our backup files, by its exact name (nothing else in the folder is served)."""
    folder = request.app.state.settings.backup_dir
    if not NAME.match(name) or name not in {p.name for p in backups.list_backups(folder)}:
        raise HTTPException(status_code=404)
    return FileResponse(folder / name, filename=name, media_type="application/x-tar")
