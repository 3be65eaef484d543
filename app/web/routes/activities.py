"""The Activities pages: the list, one activity, its streams at full resolution (JSON for the
charts' zoom) and the download of the raw files it came from."""

from __future__ import annotations

import mimetypes
import threading
from collections import OrderedDict
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app import i18n
from app.i18n import _
from app.messages import describe
from app.services.metrics import estimate_origins
from app.services.pages import activities as activity_views
from app.services.pages.activities import ActivityDetail, Streams
from app.services.sync import strava_uploads
from app.web.charts import Series, chart_spec
from app.web.deps import db_session
from app.web.templating import is_fragment_request, render

router = APIRouter()

#: Streams at full resolution up to this many samples per request; a wider range is
#: downsampled (LTTB) to it, which still draws smoothly on a phone.
MAX_DETAIL_POINTS = 10_000
CHART_KEYS = ("heart_rate", "power", "pace", "speed", "cadence", "altitude")


@router.get("/activities", name="activities")
def page(request: Request, session: Session = Depends(db_session)) -> Response:
    query = activity_views.ListQuery.from_params(request.query_params)
    listing = activity_views.list_activities(session, query)
    return render(
        request,
        "activities/page.html",
        {"area": "activities", "listing": listing, "query": query},
        fragment="activities/_content.html",
    )


@router.get("/activities/{activity_id}", name="activities:detail")
def detail(request: Request, activity_id: int, session: Session = Depends(db_session)) -> Response:
    cached = _detail(request, session, activity_id, request.query_params.get("x"))
    if cached is None:
        raise HTTPException(status_code=404)
    found, x, charts = cached
    charts_only = request.headers.get("hx-target") == "activity-charts"
    return render(
        request,
        "activities/detail.html",
        {
            "area": "activities",
            "detail": found,
            "x": x,
            "charts": charts,
            "strava": strava_uploads.activity_status(session, activity_id),
            "describe": describe,
            # outside the cache: whether the current estimates lean on this activity depends
            # on the activities after it
            "estimates": estimate_origins.status(session, activity_id),
            "recomputing_from": _recomputing_from(request),
        },
        fragment="activities/_charts.html" if charts_only else "activities/_detail.html",
    )


_DETAIL_CACHE: OrderedDict[tuple, tuple] = OrderedDict()
_DETAIL_LOCK = threading.Lock()
DETAIL_CACHE_ENTRIES = 16


def forget_cached() -> None:
    """Drop every cached activity (a restore replaced the data)."""
    with _DETAIL_LOCK:
        _DETAIL_CACHE.clear()


def _detail(request: Request, session: Session, activity_id: int, wanted_x: str | None):
    """The activity, its metrics and chart payloads, kept for the few activities opened last:
    reading and downsampling hours of samples is most of the page's cost, and they change only
    when the activity, its metrics or its sources do (a merge from another source, a
    recompute); the key holds a digest of both rows."""
    version = activity_views.detail_version(session, activity_id)
    if version is None:
        return None
    key = (activity_id, *version, wanted_x, i18n.current_locale.get(), i18n.current_units.get())
    with _DETAIL_LOCK:
        if key in _DETAIL_CACHE:
            _DETAIL_CACHE.move_to_end(key)
            return _DETAIL_CACHE[key]
    found = activity_views.activity_detail(session, activity_id)
    if found is None:
        return None
    x = "distance" if wanted_x == "distance" and found.has_distance else "time"
    entry = (found, x, _charts(request, found, x))
    with _DETAIL_LOCK:
        _DETAIL_CACHE[key] = entry
        while len(_DETAIL_CACHE) > DETAIL_CACHE_ENTRIES:
            _DETAIL_CACHE.popitem(last=False)
    return entry


@router.get("/activities/{activity_id}/streams", name="activities:streams")
def streams(
    request: Request,
    activity_id: int,
    x: str = "time",
    chart: str | None = None,
    start: float | None = None,
    end: float | None = None,
    session: Session = Depends(db_session),
) -> Response:
    """The chart spec (``app.web.charts.chart_spec`` shape) of ``[start, end]`` at full
    resolution (up to ``MAX_DETAIL_POINTS``). ``chart`` picks one chart's series, else all."""
    found = activity_views.activity_streams(session, activity_id)
    if found is None:
        raise HTTPException(status_code=404)
    if x not in ("time", "distance") or (x == "distance" and found.distance is None):
        raise HTTPException(status_code=422, detail="x must be time, or distance when known")
    keys = [chart] if chart else [key for key in CHART_KEYS if key in _available(found)]
    if not keys or any(key not in _available(found) for key in keys):
        raise HTTPException(status_code=404)
    xs, channels = found.window(x, start, end)
    foot = found.foot
    series = [item for key in keys for item in _series(key, channels, foot=foot)]
    spec = chart_spec(
        xs,
        series,
        x_kind="distance" if x == "distance" else "seconds",
        points=MAX_DETAIL_POINTS if xs.size > MAX_DETAIL_POINTS else None,
    )
    return JSONResponse(spec, headers={"Cache-Control": "private, max-age=60"})


@router.get("/raw/{sha256}", name="raw:download")
def raw_download(request: Request, sha256: str, session: Session = Depends(db_session)) -> Response:
    """An original file from the raw store, under its original name."""
    found = activity_views.raw_download(session, request.app.state.settings, sha256)
    if found is None:
        raise HTTPException(status_code=404)
    media_type = mimetypes.guess_type(found.filename)[0] or "application/octet-stream"
    return FileResponse(
        found.path,
        media_type=media_type,
        filename=found.filename,
        headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


# --- charts (presentation of activity_views.Streams) ---------------------------------------


def _available(streams: Streams) -> set[str]:
    return set(streams.channels) & set(CHART_KEYS)


def _pace_unit() -> tuple[float, str]:
    """Pace per km, or per mile for an owner who chose imperial units."""
    if i18n.current_units.get() == "imperial":
        return i18n.METERS_PER_MILE / 1000, "/mi"
    return 1.0, "/km"


def _series(key: str, channels: dict[str, Any], *, foot: bool) -> list[Series]:
    if key == "heart_rate":
        return [Series(_("Heart rate"), channels["heart_rate"], unit=_("bpm"), color="#d0452f")]
    if key == "power":
        return [Series(_("Power"), channels["power"], unit=_("W"), color="#8e44ad")]
    if key == "pace":
        # seconds per km or mile, shown as m:ss with faster pace up
        per, unit = _pace_unit()
        found = [
            Series(
                _("Pace"),
                channels["pace"] * per,
                unit=unit,
                color="#0b6bcb",
                scale="pace",
                extra={"format": "seconds", "invert": True},
            )
        ]
        if "gap" in channels:
            found.append(
                Series(
                    _("Grade-adjusted pace"),
                    channels["gap"] * per,
                    unit=unit,
                    color="#2e8b57",
                    scale="pace",
                    dash=[6, 4],
                    extra={"format": "seconds", "invert": True},
                )
            )
        return found
    if key == "speed":
        return [Series(_("Speed"), channels["speed"], unit=_("km/h"), color="#0b6bcb", digits=1)]
    if key == "cadence":
        unit = _("spm") if foot else _("rpm")
        return [Series(_("Cadence"), channels["cadence"], unit=unit, color="#d68910")]
    return [Series(_("Elevation"), channels["altitude"], unit=_("m"), color="#7f8c8d", kind="area")]


def _chart_title(key: str, foot: bool) -> tuple[str, str]:
    """``(title, caption)`` of one chart."""
    titles = {
        "heart_rate": (_("Heart rate"), _("Heart rate in beats per minute.")),
        "power": (_("Power"), _("Power in watts.")),
        "pace": (
            _("Pace and grade-adjusted pace"),
            _(
                "Pace in seconds per kilometre; grade-adjusted pace is the flat pace of equal "
                "effort (Minetti 2002)."
            ),
        ),
        "speed": (_("Speed"), _("Speed in kilometres per hour.")),
        "cadence": (
            _("Cadence"),
            _("Cadence in steps per minute.") if foot else _("Cadence in revolutions per minute."),
        ),
        "altitude": (_("Elevation"), _("Elevation in metres.")),
    }
    return titles[key]


def _charts(request: Request, found: ActivityDetail, x: str) -> list[dict[str, Any]]:
    """One chart per channel, downsampled for the screen, each zoomable to full resolution."""
    streams = found.streams
    if streams is None:
        return []
    xs, channels = streams.window(x, None, None)
    base = str(request.url_for("activities:streams", activity_id=found.activity.id).path)
    charts = []
    for key in CHART_KEYS:
        if key not in _available(streams):
            continue
        title, caption = _chart_title(key, found.foot)
        spec = chart_spec(
            xs,
            _series(key, channels, foot=found.foot),
            x_kind="distance" if x == "distance" else "seconds",
            height=180,
            detail_url=f"{base}?x={x}&chart={key}",
        )
        charts.append({"key": key, "title": title, "caption": caption, "spec": spec})
    return charts


def _recomputing_from(request: Request) -> date | None:
    try:
        return date.fromisoformat(request.query_params.get("recomputing", ""))
    except ValueError:
        return None


@router.post("/activities/{activity_id}/estimates", name="activities:estimates")
def estimates_choice(
    request: Request,
    activity_id: int,
    use: str = Form(""),
    back: str = Form(""),
) -> Response:
    """Leave this activity out of threshold estimates (``use=0``) or use it again (``use=1``);
    metrics are then recomputed from its day in the background. HTMX gets the activity's
    estimates card back; a plain form goes back to the page it came from."""
    if use not in ("0", "1"):
        raise HTTPException(status_code=422, detail="use must be 0 or 1")
    state = request.app.state
    day = estimate_origins.choose(state.sessions, state.work_runner, activity_id, use=use == "1")
    if day is None:
        raise HTTPException(status_code=404)
    if back == "settings":
        url = request.url_for("settings").include_query_params(recomputing=1)
        return RedirectResponse(str(url.replace(fragment="estimate-sources")), status_code=303)
    if is_fragment_request(request):
        with request.app.state.sessions() as session:
            found = estimate_origins.status(session, activity_id)
        return render(
            request, "activities/_estimates.html", {"estimates": found, "recomputing_from": day}
        )
    url = request.url_for("activities:detail", activity_id=activity_id)
    url = url.include_query_params(recomputing=day.isoformat())
    return RedirectResponse(str(url.replace(fragment="estimates")), status_code=303)


@router.post("/activities/{activity_id}/strava-upload", name="activities:strava_upload")
def strava_upload(request: Request, activity_id: int) -> Response:
    """Upload this activity to Strava (or retry a failed upload)."""
    state = request.app.state
    refused = strava_uploads.ask_upload(state.sessions, state.work_runner, activity_id)
    if refused == "not_found":
        raise HTTPException(status_code=404)
    url = request.url_for("activities:detail", activity_id=activity_id)
    if refused:
        url = url.include_query_params(upload_notice=refused)
    return RedirectResponse(str(url.replace(fragment="sources")), status_code=303)
