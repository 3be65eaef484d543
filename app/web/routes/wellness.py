"""The Wellness page (built out by the web UI issue)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.web.templating import render

router = APIRouter()


@router.get("/wellness", name="wellness")
def page(request: Request) -> Response:
    return render(
        request, "wellness/page.html", {"area": "wellness"}, fragment="wellness/_content.html"
    )
