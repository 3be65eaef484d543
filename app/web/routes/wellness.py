"""The Wellness page: daily trends with their averages and sources, for 90 days, 1 year or all."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app import i18n
from app.services.wellness import trends as wellness_views
from app.web.deps import db_session
from app.web.routes.pages import trend_spec
from app.web.templating import render

router = APIRouter()


@router.get("/wellness", name="wellness")
def page(
    request: Request,
    range_key: str = Query(wellness_views.DEFAULT_RANGE, alias="range"),
    session: Session = Depends(db_session),
) -> Response:
    today = datetime.now(ZoneInfo(i18n.current_timezone.get())).date()
    view = wellness_views.wellness_page(session, today=today, range_key=range_key)
    # The range switch swaps only the charts (hx-target="#wellness-charts").
    part = "_charts" if request.headers.get("hx-target") == "wellness-charts" else "_content"
    return render(
        request,
        "wellness/page.html",
        {
            "area": "wellness",
            "view": view,
            "trend_spec": trend_spec,
        },
        fragment=f"wellness/{part}.html",
    )
