"""The owner's pages: the dashboard, and the areas whose issues have not landed yet (each says
what will appear and how to get data in)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.routing import NoMatchFound

from app import i18n
from app.services.pages import dashboard as dashboard_service
from app.services.wellness.trends import DEFAULT_RANGE, Trend
from app.web.charts import chart_spec
from app.web.deps import db_session
from app.web.templating import render

router = APIRouter()

AREAS: tuple[str, ...] = ()  # every area has its own routes now (missions: app.web.routes.missions)


def activity_links(request: Request):
    """``href(activity_id)``: the activity's page (``activities:detail``, or its plain path
    while that route does not exist)."""
    try:
        request.url_for("activities:detail", activity_id=0)
    except NoMatchFound:
        return lambda activity_id: f"/activities/{activity_id}"
    return lambda activity_id: request.url_for("activities:detail", activity_id=activity_id).path


@router.get("/", name="dashboard")
def dashboard(
    request: Request,
    range_key: str = Query(DEFAULT_RANGE, alias="range"),
    session: Session = Depends(db_session),
) -> Response:
    now = datetime.now(ZoneInfo(i18n.current_timezone.get()))
    view = dashboard_service.dashboard(session, now=now, range_key=range_key)
    # The range switch swaps only the chart (hx-target="#pmc"); other HTMX requests get the
    # page's content.
    part = "_pmc" if request.headers.get("hx-target") == "pmc" else "_content"
    return render(
        request,
        "dashboard/page.html",
        {
            "view": view,
            "deciding": request.app.state.work_runner.deciding(),
            "activity_href": activity_links(request),
            "trend_spec": trend_spec,
        },
        fragment=f"dashboard/{part}.html",
    )


def trend_spec(trend: Trend) -> dict[str, Any]:
    """A service's trend as the uPlot payload of ``static/js/charts.js`` (already one point per
    day or week, so no further downsampling)."""
    return chart_spec(trend.x, trend.lines, x_kind="date", height=trend.height, points=None)


def _area_page(area: str):
    def page(request: Request) -> Response:
        return render(
            request, f"{area}/page.html", {"area": area}, fragment=f"{area}/_content.html"
        )

    page.__name__ = f"{area}_page"
    return page


for _area in AREAS:
    router.add_api_route(f"/{_area}", _area_page(_area), methods=["GET"], name=_area)
