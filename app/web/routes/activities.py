"""The Activities page (built out by the web UI issue)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.web.templating import render

router = APIRouter()


@router.get("/activities", name="activities")
def page(request: Request) -> Response:
    return render(
        request, "activities/page.html", {"area": "activities"}, fragment="activities/_content.html"
    )
