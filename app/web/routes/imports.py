"""The Import page: upload files, watch the job, read the result."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.messages import describe
from app.services import imports
from app.services.raw_store import TooLarge
from app.web.deps import db_session
from app.web.templating import render
from app.web.uploads import UploadError, receive_files

router = APIRouter()


def _page(request: Request, session: Session, *, error: str | None = None, status_code=200):
    return render(
        request,
        "imports/page.html",
        {
            "jobs": imports.recent_jobs(session),
            "stats": imports.database_stats(session),
            "error": error,
        },
        fragment="imports/_content.html",
        status_code=status_code,
    )


@router.get("/import", name="imports")
def import_page(request: Request, session: Session = Depends(db_session)) -> Response:
    return _page(request, session)


@router.post("/import", name="imports:upload")
async def upload(request: Request) -> Response:
    from app.i18n import _

    settings = request.app.state.settings
    try:
        received = await receive_files(request, settings)
    except TooLarge as error:
        message = describe("too_large", {"limit_mb": error.limit_mb})
        return await run_in_threadpool(_error_page, request, message, 413)
    except UploadError:
        return await run_in_threadpool(_error_page, request, _("Choose files to import."), 400)
    if not received:
        return await run_in_threadpool(_error_page, request, _("Choose files to import."), 400)
    job_id = await run_in_threadpool(
        imports.create_upload_job, request.app.state.sessions, received
    )
    request.app.state.import_runner.submit(job_id)
    url = str(request.url_for("imports:job", job_id=job_id))
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Location": url})
    return RedirectResponse(url, status_code=303)


def _error_page(request: Request, message: str, status_code: int) -> Response:
    with request.app.state.sessions() as session:
        return _page(request, session, error=message, status_code=status_code)


@router.get("/import/jobs/{job_id}", name="imports:job")
def job_page(request: Request, job_id: int, session: Session = Depends(db_session)) -> Response:
    job = imports.get_job(session, job_id)
    if job is None:
        raise HTTPException(status_code=404)
    return render(
        request,
        "imports/job.html",
        {"job": job, "describe": describe},
        fragment="imports/_job.html",
    )
