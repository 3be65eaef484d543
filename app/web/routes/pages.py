"""The owner's pages. Until their issues land, each says what will appear and how to get data in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.web.templating import render

router = APIRouter()

AREAS = ("insights", "plan", "missions")


@router.get("/", name="dashboard")
def dashboard(request: Request) -> Response:
    return render(request, "dashboard/page.html", fragment="dashboard/_content.html")


def _area_page(area: str):
    def page(request: Request) -> Response:
        return render(
            request, f"{area}/page.html", {"area": area}, fragment=f"{area}/_content.html"
        )

    page.__name__ = f"{area}_page"
    return page


for _area in AREAS:
    router.add_api_route(f"/{_area}", _area_page(_area), methods=["GET"], name=_area)
