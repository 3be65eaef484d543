"""The Insights page: what is working and what is not (lagged correlations that pass every
gate, each with its sentence, strength, sample size and a scatter of the pair), season power and
pace bests, and VO2max, VDOT, CP, eFTP and race predictions over time."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app import i18n
from app.i18n import _
from app.services.metrics.recompute import owner_today
from app.services.pages import correlations as insights
from app.services.pages import insights as insight_views
from app.web.charts import Series, chart_spec
from app.web.templating import render

router = APIRouter()


def _epoch(day) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _scatter(frame: insights.Frame, insight: insights.Insight) -> dict:
    x, y = insights.pair_points(
        frame, insight.finding.input, insight.finding.outcome, insight.finding.lag
    )
    order = sorted(range(len(x)), key=x.__getitem__)
    return chart_spec(
        [x[i] for i in order],
        [
            Series(
                insight.outcome.label(),
                [y[i] for i in order],
                unit=insight.outcome.unit_label(),
                kind="points",
                digits=insight.outcome.digits + 1,
            )
        ],
        x_kind="value",
        height=200,
        points=None,
    ) | {"xLabel": insight.input.label(), "xUnit": insight.input.unit_label()}


_CACHE: OrderedDict[tuple, dict] = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_ENTRIES = 4


def forget_cached() -> None:
    """Drop every cached page (a restore replaced the data under the same versions)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _context(request: Request) -> dict:
    """The page's data, computed once per data version: the statistics take a few hundred
    milliseconds on a ten-year history and only change when the data does."""
    with request.app.state.sessions() as session:
        version = (
            *insights.data_version(session),
            i18n.current_locale.get(),
            i18n.current_units.get(),
        )
        with _CACHE_LOCK:
            cached = _CACHE.get(version)
        if cached is not None:
            return cached
        today = owner_today(session)
        frame = insights.build_frame(session, today)
        curves = insight_views.curves(session, today)
        estimates = insight_views.estimates(session)
    found = insights.what_is_working(frame)
    working = [(insight, _scatter(frame, insight)) for insight in found.working]
    not_working = [(insight, _scatter(frame, insight)) for insight in found.not_working]
    season_labels = {
        "90d": _("Last 90 days"),
        "this_year": _("This year"),
        "last_year": _("Last year"),
        "all": _("All time"),
    }
    power_chart = None
    if curves.power:
        power_chart = chart_spec(
            list(curves.durations_s),
            [Series(season_labels[key], values, unit="W") for key, values in curves.power.items()],
            x_kind="seconds",
            height=260,
            points=None,
        ) | {"xLog": True}
    trend_labels = {
        "vo2max_runalyze": _("VO2max (from HR and pace)"),
        "vdot": _("VDOT (best efforts)"),
        "vo2max_uth_sorensen": _("VO2max (HRmax/HRrest)"),
        "cp_w": _("Critical power"),
        "eftp_w": _("eFTP"),
    }
    trend_chart = power_trend = None
    vo2 = [k for k in ("vo2max_runalyze", "vdot", "vo2max_uth_sorensen") if k in estimates.trends]
    if vo2:
        trend_chart = _trend(estimates, vo2, trend_labels, "")
    watts = [k for k in ("cp_w", "eftp_w") if k in estimates.trends]
    if watts:
        power_trend = _trend(estimates, watts, trend_labels, "W")
    context = {
        "found": found,
        "working": working,
        "not_working": not_working,
        "curves": curves,
        "power_chart": power_chart,
        "trend_chart": trend_chart,
        "power_trend": power_trend,
        "estimates": estimates,
        "season_labels": season_labels,
        "trend_labels": trend_labels,
        "races": insight_views.RACES,
        "min_days": insights.MIN_DAYS,
    }
    with _CACHE_LOCK:
        _CACHE[version] = context
        while len(_CACHE) > CACHE_ENTRIES:
            _CACHE.popitem(last=False)
    return context


def _trend(estimates, kinds, labels, unit) -> dict:
    days = sorted({day for kind in kinds for day in estimates.trends[kind][0]})
    index = {day: i for i, day in enumerate(days)}
    series = []
    for kind in kinds:
        values: list[float | None] = [None] * len(days)
        for day, value in zip(*estimates.trends[kind], strict=True):
            values[index[day]] = value
        series.append(Series(labels[kind], values, unit=unit, digits=1))
    return chart_spec([_epoch(day) for day in days], series, x_kind="date", height=220)


@router.get("/insights", name="insights")
async def page(request: Request) -> Response:
    context = await run_in_threadpool(_context, request)
    return render(request, "insights/page.html", context, fragment="insights/_content.html")
