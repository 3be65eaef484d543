"""Wellness trends for the Wellness page and the dashboard's "last night" card.

Each metric (sleep, HRV, resting HR, stress, Body Battery, weight, body fat, steps, VO2max) is a
daily series with its 7- and 28-day averages and the sources its values came from. Three
queries serve the whole page, whatever the range: one overview over the table (counts and the
newest day of every value), one for the loaded days (selected columns, NaN for missing, no ORM
objects), one aggregate over the ``sources`` JSONB, and one for every source's values of the
days the newest figures show (``daily_wellness_source``: the other sources' values next to the
one shown). Series work is vectorized with numpy.

Rules (the page's hints say the same in words):

* **Averages.** The 7-day (28-day) average of a day is the mean of the values recorded on the
  7 (28) calendar days ending on that day. Days without a value are skipped, never counted as
  zero; a window without any value has no average. The figures are the averages as of today.
* **HRV.** rMSSD when any source recorded it in the loaded days, otherwise SDNN (Apple Health);
  the 7-day average against the 60-day normal range, as ``app.analytics.hrv`` defines it.
* **Long ranges.** Up to ``DAILY_POINTS_MAX`` days every day is a point. Longer ranges become
  weekly points (weeks end on today): the mean of the values recorded in the week, and the
  averages and the normal range as of the week's last day — a 10-year history is ~520 points.
* **Sources.** ``daily_wellness.sources`` names, per column, the source whose value is shown
  (the owner's choice per metric group, else ``app.services.wellness.origins.SOURCE_PRIORITY``).
  Each metric lists its sources with the number of days each supplied in the range; the newest
  value names its own source.

Size (~750 lines): the read model of one page — its three queries, its table of metrics (the
translated titles and hints are most of the lines) and the builders of its cards; the science
is in ``app.analytics.rolling`` and ``app.analytics.hrv``. The seam for a later split is the
dashboard's "last night" card (``last_night``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Date, Integer, func, literal, literal_column, select, text
from sqlalchemy.orm import Session

from app.analytics import hrv
from app.analytics.hrv import hrv_band, hrv_status
from app.analytics.rolling import rolling_mean, weekly_last, weekly_mean
from app.i18n import _
from app.models import DailyWellness
from app.records import WELLNESS_TABLE
from app.services.charts import Series

FloatArray = NDArray[np.float64]

RANGES: dict[str, int | None] = {"90d": 90, "1y": 365, "all": None}
DEFAULT_RANGE = "90d"
DAILY_POINTS_MAX = 400

SHORT_DAYS = 7
LONG_DAYS = 28
LEAD_DAYS = hrv.BASELINE_DAYS - 1  # loaded before the first shown day, so windows are full
STAGE_NIGHTS = 14

COLUMNS = tuple(field.name for field in WELLNESS_TABLE if field.trend)  # the trends shown
STAGES = ("sleep_deep_s", "sleep_light_s", "sleep_rem_s", "sleep_awake_s")

COLOR_DAILY = "#0b6bcb"
COLOR_SECOND = "#d0452f"
COLOR_SHORT = "#8e44ad"
COLOR_LONG = "#d68910"
COLOR_BAND = "#2e8b57"


def parse_range(value: str | None) -> str:
    """A known range key (``90d``, ``1y``, ``all``); anything else is the default."""
    return value if value in RANGES else DEFAULT_RANGE


def source_label(code: str) -> str:
    """A source's name as the owner knows it."""
    labels = {
        "garmin": "Garmin Connect",
        "garmin_export": _("Garmin export"),
        "oura": "Oura",
        "fit": _("FIT files"),
        "strava": "Strava",
        "apple_health": _("Apple Health"),
    }
    return labels.get(code, code)


# --- what the charts show (app.web turns a Trend into a uPlot payload) ------------------------


@dataclass
class Trend:
    """A chart over days: ``x`` are epoch seconds of UTC midnights, already one point per day
    (or per week on long ranges)."""

    x: FloatArray
    lines: list[Series]
    height: int = 200


# --- pure series helpers --------------------------------------------------------------------


def epoch_days(start: date, n: int) -> FloatArray:
    """Epoch seconds of the UTC midnights of ``n`` days from ``start`` (charts' ``date`` x)."""
    first = (start - date(1970, 1, 1)).days
    return (first + np.arange(n, dtype=np.float64)) * 86400.0


def last_finite(values: FloatArray) -> int | None:
    """Index of the last finite value, or None."""
    indices = np.flatnonzero(np.isfinite(values))
    return int(indices[-1]) if indices.size else None


# --- loading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Days:
    """Dense daily arrays (NaN = no value) for ``start`` … ``start + n − 1``."""

    start: date
    n: int
    columns: dict[str, FloatArray]

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)


def load_days(session: Session, columns: tuple[str, ...], start: date, end: date) -> Days:
    """One query: the chosen columns of every stored day from ``start`` to ``end``."""
    n = max((end - start).days + 1, 0)
    table = DailyWellness.__table__
    nan = literal_column("'NaN'::float8")
    offset = (table.c.day - literal(start, Date)).cast(Integer)
    rows = session.execute(
        select(offset, *(func.coalesce(table.c[name], nan) for name in columns))
        .where(table.c.day >= start, table.c.day <= end)
        .order_by(table.c.day)
    ).all()
    dense = np.full((len(columns), n), np.nan)
    if rows:
        block = np.array([tuple(row) for row in rows], dtype=np.float64).reshape(
            len(rows), len(columns) + 1
        )
        dense[:, block[:, 0].astype(np.intp)] = block[:, 1:].T
    return Days(start, n, {name: dense[i] for i, name in enumerate(columns)})


def _overview(session: Session) -> dict[str, Any]:
    """Days stored, the first day, and the newest day of every value (one query)."""
    table = DailyWellness.__table__
    row = session.execute(
        select(
            func.count(),
            func.min(table.c.day),
            *(
                func.max(table.c.day).filter(table.c[name].is_not(None)).label(name)
                for name in COLUMNS
            ),
        ).select_from(table)
    ).one()
    return {"days": row[0], "first_day": row[1], "newest": dict(zip(COLUMNS, row[2:], strict=True))}


@dataclass(frozen=True)
class SourceShare:
    code: str
    label: str
    days: int
    last_day: date


_SOURCES = text(
    "SELECT s.key, s.value, count(*), max(w.day) FROM daily_wellness w "
    "CROSS JOIN LATERAL jsonb_each_text(w.sources) AS s(key, value) "
    "WHERE w.day >= :start AND w.day <= :end GROUP BY s.key, s.value"
)


def _sources(session: Session, start: date, end: date) -> dict[str, list[SourceShare]]:
    """Per column, the sources that supplied its values in the range (one query)."""
    found: dict[str, list[SourceShare]] = {}
    for column, code, days, last_day in session.execute(_SOURCES, {"start": start, "end": end}):
        found.setdefault(column, []).append(SourceShare(code, source_label(code), days, last_day))
    return found


# --- the page -------------------------------------------------------------------------------


@dataclass
class Figure:
    label: str
    value: float | None
    unit: str
    digits: int = 0
    kind: str = "number"  # number | hours (value in seconds, shown as hours and minutes)
    day: date | None = None
    source: str | None = None
    column: str | None = None  # the daily_wellness column of a "latest" figure
    # The other sources' values of the same day: (source label, value).
    others: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class StageNight:
    day: date
    total_s: float
    parts: list[tuple[str, str, float, float]]  # (css key, label, seconds, % of the widest)


@dataclass
class StageAverage:
    key: str  # deep | light | rem | awake
    label: str
    short_s: float | None  # 7-day average
    long_s: float | None  # 28-day average


@dataclass
class MetricCard:
    key: str
    title: str
    about: str
    figures: list[Figure] = field(default_factory=list)
    chart: Trend | None = None
    caption: str = ""
    sources: list[SourceShare] = field(default_factory=list)
    newest_day: date | None = None  # the newest value anywhere in the history
    has_values: bool = False  # any value in the shown range
    status: str | None = None  # HRV: below | within | above
    stages: list[StageNight] = field(default_factory=list)
    stage_averages: list[StageAverage] = field(default_factory=list)


@dataclass
class WellnessPage:
    range_key: str
    today: date
    days_stored: int
    shown_from: date | None = None
    weekly: bool = False
    cards: list[MetricCard] = field(default_factory=list)


@dataclass(frozen=True)
class _Column:
    column: str
    label: str
    color: str


@dataclass(frozen=True)
class _Metric:
    key: str
    title: str
    about: str
    unit: str
    digits: int
    lines: tuple[_Column, ...]
    factor: float = 1.0  # stored × factor = shown (sleep: seconds → hours)
    kind: str = "line"  # daily values as line | bars | points


def _metrics() -> list[_Metric]:
    """The page's metrics in order (translated for the current request)."""
    return [
        _Metric(
            "sleep",
            _("Sleep"),
            _("Total sleep of the night that ended on the day, with its stages."),
            _("h"),
            1,
            (_Column("sleep_s", _("Sleep"), COLOR_DAILY),),
            factor=1 / 3600,
            kind="bars",
        ),
        _Metric(
            "sleep-score",
            _("Sleep score"),
            _("Your device's score of the night, 0 to 100."),
            "",
            0,
            (_Column("sleep_score", _("Sleep score"), COLOR_DAILY),),
        ),
        _Metric(
            "resting-hr",
            _("Resting heart rate"),
            _("Lowest steady heart rate of the day."),
            _("bpm"),
            0,
            (_Column("resting_hr", _("Resting heart rate"), COLOR_SECOND),),
        ),
        _Metric(
            "stress",
            _("Stress"),
            _("Average stress of the day, 0 to 100 (Garmin)."),
            "",
            0,
            (_Column("stress_avg", _("Stress"), COLOR_SECOND),),
        ),
        _Metric(
            "body-battery",
            _("Body Battery"),
            _("The day's highest and lowest Body Battery, 0 to 100 (Garmin)."),
            "",
            0,
            (
                _Column("body_battery_high", _("Highest"), COLOR_DAILY),
                _Column("body_battery_low", _("Lowest"), COLOR_SECOND),
            ),
        ),
        _Metric(
            "weight",
            _("Weight"),
            _("Weight from a scale or entered by hand."),
            _("kg"),
            1,
            (_Column("weight_kg", _("Weight"), COLOR_DAILY),),
            kind="points",
        ),
        _Metric(
            "body-fat",
            _("Body fat"),
            _("Body fat from a smart scale."),
            "%",
            1,
            (_Column("body_fat_pct", _("Body fat"), COLOR_DAILY),),
            kind="points",
        ),
        _Metric(
            "steps",
            _("Steps"),
            _("Steps of the day."),
            _("steps"),
            0,
            (_Column("steps", _("Steps"), COLOR_DAILY),),
            kind="bars",
        ),
        _Metric(
            "vo2max",
            _("VO2max"),
            _("Your device's VO2max estimates, for running and for cycling."),
            _("ml/kg/min"),
            1,
            (
                _Column("vo2max_running", _("VO2max running"), COLOR_DAILY),
                _Column("vo2max_cycling", _("VO2max cycling"), COLOR_SECOND),
            ),
            kind="points",
        ),
    ]


def wellness_page(session: Session, *, today: date, range_key: str) -> WellnessPage:
    """Everything the Wellness page shows for ``range_key`` up to ``today`` (three queries)."""
    range_key = parse_range(range_key)
    overview = _overview(session)
    page = WellnessPage(range_key=range_key, today=today, days_stored=overview["days"])
    if not overview["days"]:
        return page
    span = RANGES[range_key]
    if span is None:
        shown_from = min(overview["first_day"], today)
    else:
        shown_from = today - timedelta(days=span - 1)
    page.shown_from = shown_from
    days = load_days(session, COLUMNS, shown_from - timedelta(days=LEAD_DAYS), today)
    sources = _sources(session, shown_from, today)
    lead = LEAD_DAYS
    shown = days.n - lead
    page.weekly = shown > DAILY_POINTS_MAX
    x_daily = epoch_days(shown_from, shown)

    def view(values: FloatArray, how: str = "mean") -> FloatArray:
        """The shown part of a dense series, weekly on long ranges."""
        part = values[lead:]
        if not page.weekly:
            return part
        return weekly_mean(part) if how == "mean" else weekly_last(part)

    x = weekly_last(x_daily) if page.weekly else x_daily

    for metric in _metrics():
        card = _metric_card(metric, days, sources, overview["newest"], view, x)
        page.cards.append(card)
        if metric.key == "sleep":  # stages under sleep, then HRV
            _sleep_stages(card, days, lead)
            page.cards.append(_hrv_card(days, sources, overview["newest"], view, x))
    _other_sources(session, page)
    return page


_DAY_SOURCES = text(
    'SELECT s.day, s.source, s."values", w.sources FROM daily_wellness_source s '
    "JOIN daily_wellness w ON w.day = s.day WHERE s.day = ANY(CAST(:days AS date[]))"
)


def _other_sources(session: Session, page: WellnessPage) -> None:
    """Name the source of each newest value from its own day's row, and list the values the
    other sources have for that day (one query)."""
    latest = [
        figure
        for card in page.cards
        for figure in card.figures
        if figure.column is not None and figure.day is not None
    ]
    if not latest:
        return
    by_day: dict[date, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {}
    days = sorted({figure.day for figure in latest if figure.day is not None})
    for day, source, values, chosen in session.execute(_DAY_SOURCES, {"days": days}):
        by_day.setdefault(day, []).append((source, values or {}, chosen or {}))
    for figure in latest:
        for source, values, chosen in by_day.get(figure.day, []):  # type: ignore[arg-type]
            winner = chosen.get(figure.column)
            if winner is not None:
                figure.source = source_label(winner)
            value = values.get(figure.column)
            if source != winner and isinstance(value, int | float):
                figure.others.append((source_label(source), float(value)))
        figure.others.sort()


def _latest(values: FloatArray, days: Days, lead: int) -> tuple[float | None, date | None]:
    index = last_finite(values[lead:])
    if index is None:
        return None, None
    return float(values[lead + index]), days.day(lead + index)


def _source_of(shares: list[SourceShare], day: date | None) -> str | None:
    for share in sorted(shares, key=lambda s: s.last_day, reverse=True):
        if day is not None and share.last_day >= day:
            return share.label
    return None


def _merge_sources(sources: dict[str, list[SourceShare]], columns: list[str]) -> list[SourceShare]:
    merged: dict[str, SourceShare] = {}
    for column in columns:
        for share in sources.get(column, []):
            known = merged.get(share.code)
            if known is None or share.days > known.days:
                merged[share.code] = share
    return sorted(merged.values(), key=lambda s: (-s.days, s.label))


def _metric_card(metric, days, sources, newest, view, x) -> MetricCard:
    lead = LEAD_DAYS
    columns = [line.column for line in metric.lines]
    card = MetricCard(
        key=metric.key,
        title=metric.title,
        about=metric.about,
        sources=_merge_sources(sources, columns),
        newest_day=max((newest[c] for c in columns if newest[c] is not None), default=None),
    )
    series: list[Series] = []
    single = len(metric.lines) == 1
    kind = "hours" if metric.factor != 1.0 else "number"
    for line in metric.lines:
        values = days.columns[line.column]
        shown = values * metric.factor
        short = rolling_mean(shown, SHORT_DAYS, min_count=1)
        long = rolling_mean(shown, LONG_DAYS, min_count=1)
        latest, latest_day = _latest(values, days, lead)
        if latest is None:
            continue
        card.has_values = True
        prefix = "" if single else f"{line.label} · "
        column_sources = sources.get(line.column, [])
        card.figures += [
            Figure(
                prefix + _("Latest"),
                latest,
                metric.unit,
                metric.digits,
                kind,
                latest_day,
                _source_of(column_sources, latest_day),
                column=line.column,
            ),
            Figure(
                prefix + _("7-day average"),
                _finite(short[-1], 1 / metric.factor),
                metric.unit,
                metric.digits,
                kind,
            ),
            Figure(
                prefix + _("28-day average"),
                _finite(long[-1], 1 / metric.factor),
                metric.unit,
                metric.digits,
                kind,
            ),
        ]
        series.append(
            Series(
                line.label,
                view(shown),
                unit=metric.unit,
                color=line.color,
                kind=metric.kind,
                digits=metric.digits,
                width=1,
            )
        )
        series.append(
            Series(
                _("%(name)s, 7-day average", name=line.label),
                view(short, "last"),
                unit=metric.unit,
                color=COLOR_SHORT if single else line.color,
                digits=metric.digits,
                width=2,
            )
        )
        if single:
            series.append(
                Series(
                    _("%(name)s, 28-day average", name=line.label),
                    view(long, "last"),
                    unit=metric.unit,
                    color=COLOR_LONG,
                    digits=metric.digits,
                    dash=[6, 4],
                    width=2,
                )
            )
    if card.has_values:
        card.chart = Trend(x, series)
        card.caption = _caption(card)
    return card


def _finite(value: float, factor: float = 1.0) -> float | None:
    return float(value) * factor if np.isfinite(value) else None


def _caption(card: MetricCard) -> str:
    """The chart in words (screen readers, and anyone who cannot see the lines)."""
    parts = []
    for figure in card.figures:
        if figure.value is None:
            continue
        value = _plain(figure)
        parts.append(f"{figure.label}: {value}")
    return "; ".join(parts)


def _plain(figure: Figure) -> str:
    from app.i18n import format_number

    if figure.kind == "hours":
        return hours_minutes(figure.value or 0.0)
    text_value = format_number(figure.value, figure.digits)
    return f"{text_value} {figure.unit}".strip()


def hours_minutes(seconds: float) -> str:
    """``7 h 32 min`` in the owner's language."""
    minutes = round(seconds / 60)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("%(m)s min", m=rest)
    return _("%(h)s h %(m)s min", h=hours, m=rest)


def _hrv_card(days, sources, newest, view, x) -> MetricCard:
    lead = LEAD_DAYS
    band = hrv_band(days.columns["hrv_rmssd_ms"], days.columns["hrv_sdnn_ms"])
    column = "hrv_sdnn_ms" if band.statistic == "sdnn" else "hrv_rmssd_ms"
    if band.statistic == "sdnn":
        about = _(
            "SDNN, the only HRV your sources recorded (Apple Health). It is a different "
            "measure from rMSSD; its values are not comparable."
        )
    else:
        about = _("rMSSD during the night, in milliseconds.")
    card = MetricCard(
        key="hrv",
        title=_("Heart rate variability"),
        about=about,
        sources=_merge_sources(sources, [column]),
        newest_day=max(
            (newest[c] for c in ("hrv_rmssd_ms", "hrv_sdnn_ms") if newest[c] is not None),
            default=None,
        ),
    )
    latest, latest_day = _latest(band.nightly, days, lead)
    if latest is None:
        return card
    card.has_values = True
    name = "SDNN" if band.statistic == "sdnn" else "rMSSD"
    unit = _("ms")
    long = rolling_mean(band.nightly, LONG_DAYS, min_count=1)
    card.status = hrv_status(band.short[-1], band.low[-1], band.high[-1])
    card.figures = [
        Figure(
            _("Latest %(name)s", name=name),
            latest,
            unit,
            0,
            day=latest_day,
            source=_source_of(sources.get(column, []), latest_day),
            column=column,
        ),
        Figure(_("7-day average"), _finite(band.short[-1]), unit),
        Figure(_("28-day average"), _finite(long[-1]), unit),
        Figure(_("Normal range, low"), _finite(band.low[-1]), unit),
        Figure(_("Normal range, high"), _finite(band.high[-1]), unit),
    ]
    series = [
        Series(name, view(band.nightly), unit=unit, color=COLOR_DAILY, kind="points"),
        Series(
            _("%(name)s, 7-day average", name=name),
            view(band.short, "last"),
            unit=unit,
            color=COLOR_SHORT,
            width=2,
        ),
        Series(
            _("Normal range, low"),
            view(band.low, "last"),
            unit=unit,
            color=COLOR_BAND,
            dash=[4, 4],
        ),
        Series(
            _("Normal range, high"),
            view(band.high, "last"),
            unit=unit,
            color=COLOR_BAND,
            dash=[4, 4],
        ),
    ]
    card.chart = Trend(x, series)
    card.caption = _caption(card)
    return card


def _sleep_stages(card: MetricCard, days: Days, lead: int) -> None:
    """The last nights with stages as stacked bars, and each stage's 7- and 28-day average."""
    labels = {
        "sleep_deep_s": ("deep", _("Deep")),
        "sleep_light_s": ("light", _("Light")),
        "sleep_rem_s": ("rem", _("REM")),
        "sleep_awake_s": ("awake", _("Awake")),
    }
    stages = np.vstack([days.columns[name][lead:] for name in STAGES])
    present = np.isfinite(stages).any(axis=0)
    nights = np.flatnonzero(present)[-STAGE_NIGHTS:]
    if not nights.size:
        return
    filled = np.where(np.isfinite(stages), stages, 0.0)
    totals = filled.sum(axis=0)
    widest = float(totals[nights].max()) or 1.0
    for index in nights[::-1]:
        parts = [
            (key, label, float(filled[i, index]), round(100 * float(filled[i, index]) / widest, 2))
            for i, (key, label) in enumerate(labels[name] for name in STAGES)
            if filled[i, index] > 0
        ]
        card.stages.append(StageNight(days.day(lead + int(index)), float(totals[index]), parts))
    for name in STAGES:
        values = days.columns[name]
        card.stage_averages.append(
            StageAverage(
                labels[name][0],
                labels[name][1],
                _finite(rolling_mean(values, SHORT_DAYS, min_count=1)[-1]),
                _finite(rolling_mean(values, LONG_DAYS, min_count=1)[-1]),
            )
        )


# --- the dashboard's "last night" -----------------------------------------------------------


@dataclass
class LastNight:
    day: date | None = None  # the day whose values are shown (today when they arrived)
    sleep_s: float | None = None
    sleep_score: float | None = None
    hrv: float | None = None
    hrv_statistic: str = ""
    hrv_short: float | None = None
    hrv_low: float | None = None
    hrv_high: float | None = None
    hrv_status: str | None = None
    resting_hr: float | None = None
    resting_hr_28d: float | None = None
    readiness: float | None = None
    stale: bool = False  # the newest values are not from today


NIGHT_COLUMNS = (
    "sleep_s",
    "sleep_score",
    "hrv_rmssd_ms",
    "hrv_sdnn_ms",
    "resting_hr",
    "training_readiness",
)


def last_night(session: Session, *, today: date) -> LastNight:
    """Last night's sleep, HRV against its normal range, resting HR and readiness (one query
    over the 60 days up to ``today``). When today has no values yet, the newest day of the last
    week stands in (and says so)."""
    start = today - timedelta(days=hrv.BASELINE_DAYS - 1)
    days = load_days(session, NIGHT_COLUMNS, start, today)
    block = np.vstack([days.columns[name] for name in NIGHT_COLUMNS])
    with_values = np.flatnonzero(np.isfinite(block).any(axis=0))
    result = LastNight()
    if not with_values.size or with_values[-1] < days.n - SHORT_DAYS:
        return result
    index = int(with_values[-1])
    result.day = days.day(index)
    result.stale = result.day != today
    column = days.columns
    result.sleep_s = _finite(column["sleep_s"][index])
    result.sleep_score = _finite(column["sleep_score"][index])
    result.resting_hr = _finite(column["resting_hr"][index])
    resting_28d = rolling_mean(column["resting_hr"], LONG_DAYS, min_count=1)
    result.resting_hr_28d = _finite(resting_28d[index])
    result.readiness = _finite(column["training_readiness"][index])
    band = hrv_band(column["hrv_rmssd_ms"], column["hrv_sdnn_ms"])
    result.hrv_statistic = band.statistic
    result.hrv = _finite(band.nightly[index])
    result.hrv_short = _finite(band.short[index])
    result.hrv_low = _finite(band.low[index])
    result.hrv_high = _finite(band.high[index])
    result.hrv_status = hrv_status(band.short[index], band.low[index], band.high[index])
    return result
