"""The calendar: planned workouts next to the activities done, by week or month."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from app.services.plans import calendar as calendar_service
from app.services.plans import devices, follow
from app.web.templating import render

router = APIRouter()


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/calendar", name="calendar")
async def calendar_page(
    request: Request,
    view: str = Query("week", max_length=8),
    day: str | None = Query(None, alias="date", max_length=10),
) -> Response:
    return await _calendar(request, view=view, anchor=_day(day))


async def _calendar(
    request: Request,
    *,
    view: str = "week",
    anchor: date | None = None,
    feed_address: str | None = None,
) -> Response:
    sessions = request.app.state.sessions

    def read() -> calendar_service.CalendarView:
        with sessions() as session:
            return calendar_service.calendar_view(session, view=view, anchor=anchor)

    cal = await run_in_threadpool(read)
    return render(
        request,
        "calendar/page.html",
        {"cal": cal, "feed_address": feed_address},
        fragment="calendar/_content.html",
    )


@router.get("/plan/workouts/{workout_id}.fit", name="plan:workout_fit")
async def workout_fit(request: Request, workout_id: str) -> Response:
    """An approved workout as a FIT workout file for any device."""
    found = await run_in_threadpool(
        devices.workout_file, request.app.state.sessions, workout_id[:40]
    )
    if found is None:
        return Response(status_code=404)
    return Response(
        found.data,
        media_type="application/vnd.ant.fit",
        headers={"Content-Disposition": f'attachment; filename="{found.name}"'},
    )


@router.post("/calendar/feed", name="calendar:feed_new")
async def feed_new(request: Request) -> Response:
    """A new address for the calendar feed, shown once (the previous one stops working)."""
    token = await run_in_threadpool(devices.make_token, request.app.state.sessions)
    address = str(request.url_for("calendar:feed", token=token))
    return await _calendar(request, feed_address=address)


@router.post("/calendar/feed/revoke", name="calendar:feed_revoke")
async def feed_revoke(request: Request) -> Response:
    await run_in_threadpool(devices.revoke, request.app.state.sessions)
    return RedirectResponse(str(request.url_for("calendar")) + "#feed", status_code=303)


@router.get("/calendar/feed/{token}.ics", name="calendar:feed")
async def feed(request: Request, token: str) -> Response:
    """The calendar feed: no login (calendar apps cannot sign in); the token is the key."""
    data = await run_in_threadpool(devices.feed, request.app.state.sessions, token[:100])
    if data is None:
        return Response(status_code=404)
    return Response(
        data,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )


@router.post("/plan/workouts/{workout_id}/skip", name="plan:workout_skip")
async def workout_skip(request: Request, workout_id: str) -> Response:
    """Skip a planned workout on purpose, or (``undo``) take the skip back."""
    form = await request.form(max_files=0, max_fields=3)
    undo = form.get("undo") == "yes"
    try:
        await run_in_threadpool(
            lambda: follow.skip(request.app.state.sessions, workout_id[:40], skipped=not undo)
        )
    except follow.SkipRefused as refused:
        return Response(status_code=404 if refused.code == "not_found" else 409)
    back = request.headers.get("referer") or str(request.url_for("calendar"))
    if not back.startswith(str(request.base_url)):
        back = str(request.url_for("calendar"))
    return RedirectResponse(back, status_code=303)
