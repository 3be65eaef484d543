"""The calendar: planned workouts next to the activities done, by week or month."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.services.plans import calendar as calendar_service
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
    sessions = request.app.state.sessions

    def read() -> calendar_service.CalendarView:
        with sessions() as session:
            return calendar_service.calendar_view(session, view=view, anchor=_day(day))

    cal = await run_in_threadpool(read)
    return render(
        request,
        "calendar/page.html",
        {"cal": cal},
        fragment="calendar/_content.html",
    )
