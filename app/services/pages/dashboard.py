"""The dashboard: today's form, last night, this week against the last four, the PMC chart,
recent activities and what changed since yesterday.

A fixed number of queries whatever the history (about eight; none per day or per activity): the
daily series are read as selected columns into numpy arrays, never as ORM objects.

**Form bands.** TSB ("form") is placed in the bands intervals.icu draws on its fitness chart
and TrainingPeaks describes for the Performance Management Chart (TrainingPeaks, "A Coach's
Guide to ATL, CTL & TSB"; intervals.icu, "Fitness, Fatigue and Form" in its docs/forum):

=====================  ======================
transition             TSB > +25
fresh                  +5 < TSB ≤ +25
grey zone              −10 ≤ TSB ≤ +5
optimal (training)     −30 ≤ TSB < −10
overreaching (risk)    TSB < −30
=====================  ======================

A value exactly on a boundary belongs to the band nearer zero (+25 is fresh, +5 and −10 are
the grey zone, −30 is optimal). The band is chosen for TSB rounded to a whole number, the value
the owner sees, so the number and its band never disagree.

**Today.** ``daily_metrics`` runs to the day the metrics service last computed (normally
today). When it ends earlier, CTL and ATL are carried forward to today as rest days with
:func:`app.analytics.pmc.continue_pmc` (the same recursion) and the page says so; TSB uses the
stored yesterday convention.

**Long ranges.** The PMC chart shows every day up to ``trends.DAILY_POINTS_MAX`` days;
longer ranges become weekly points (the week's average daily load as the bar, CTL/ATL/TSB as of
the week's last day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
from sqlalchemy import Date, Integer, exists, func, literal, select
from sqlalchemy.orm import Session

from app.analytics import pmc
from app.analytics.rolling import weekly_last, weekly_mean
from app.i18n import _
from app.models import Activity, ActivityMetrics, DailyMetrics, DailyWellness
from app.services.charts import Series
from app.services.coach import day as coach_day
from app.services.plans.calendar import PlanToday, plan_today
from app.services.wellness import trends
from app.services.wellness.trends import (
    DAILY_POINTS_MAX,
    RANGES,
    LastNight,
    Trend,
    epoch_days,
    parse_range,
)

RECENT_ACTIVITIES = 8
COMPARE_WEEKS = 4

# From the freshest to the most fatigued (see the module docstring).
BANDS = ("transition", "fresh", "grey", "optimal", "overreaching")


def form_band(tsb: float) -> str:
    """The form band of a TSB value (boundaries belong to the band nearer zero)."""
    value = round(tsb)
    if value > 25:
        return "transition"
    if value > 5:
        return "fresh"
    if value >= -10:
        return "grey"
    if value >= -30:
        return "optimal"
    return "overreaching"


def band_label(band: str) -> str:
    return {
        "transition": _("Transition phase"),
        "fresh": _("Fresh"),
        "grey": _("Grey zone"),
        "optimal": _("Optimal training"),
        "overreaching": _("Overreaching"),
    }[band]


def band_advice(band: str) -> str:
    return {
        "transition": _("Very fresh: fitness is fading. Fine for a break, long for a taper."),
        "fresh": _("Fresh and ready: a good day to race or go hard."),
        "grey": _("Neither fresh nor building much: maintenance."),
        "optimal": _("Productive training load: fitness is building."),
        "overreaching": _("High fatigue: risk of overreaching. Plan easy days."),
    }[band]


def sport_label(sport: str) -> str:
    labels = {
        "running": _("Run"),
        "cycling": _("Ride"),
        "swimming": _("Swim"),
        "walking": _("Walk"),
        "hiking": _("Hike"),
        "rowing": _("Row"),
        "training": _("Strength and training"),
        "fitness_equipment": _("Gym"),
        "cross_country_skiing": _("Cross-country ski"),
        "generic": _("Other"),
    }
    return labels.get(sport, sport.replace("_", " ").capitalize())


# --- view model -----------------------------------------------------------------------------


@dataclass
class Form:
    day: date
    ctl: float
    atl: float
    tsb: float
    ramp: float
    band: str
    band_label: str
    band_advice: str
    ctl_delta: float | None = None
    atl_delta: float | None = None
    tsb_delta: float | None = None
    computed_to: date | None = None  # the last stored day, when before today
    tsb_shown: int = 0  # TSB as shown (rounded); its band is this value's band
    marker_pct: float = 50.0  # where TSB sits on the band strip (−50 … +50)


@dataclass
class SportWeek:
    sport: str
    label: str
    this_s: float = 0.0
    this_load: float = 0.0
    this_count: int = 0
    past_s: float = 0.0  # average per week over the last four
    past_load: float = 0.0
    past_count: float = 0.0


@dataclass
class Week:
    monday: date
    sports: list[SportWeek] = field(default_factory=list)
    total: SportWeek | None = None
    load_pct: float | None = None  # this week's load as % of the 4-week average


@dataclass
class RecentActivity:
    id: int
    name: str
    sport: str
    sport_label: str
    start_time: datetime
    distance_m: float | None
    duration_s: float | None
    load: float | None
    new: bool


@dataclass
class Changes:
    ctl_delta: float | None = None
    atl_delta: float | None = None
    tsb_delta: float | None = None
    new_activities: int = 0
    wellness_days: list[tuple[date, list[str]]] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(self.new_activities or self.wellness_days or self.ctl_delta)


@dataclass
class Pmc:
    range_key: str
    chart: Trend | None = None
    caption: str = ""
    weekly: bool = False
    ramp: float | None = None


@dataclass
class Dashboard:
    today: date
    has_activities: bool = False
    has_metrics: bool = False
    has_wellness: bool = False
    form: Form | None = None
    night: LastNight | None = None
    week: Week | None = None
    pmc: Pmc | None = None
    recent: list[RecentActivity] = field(default_factory=list)
    changes: Changes | None = None
    coach: coach_day.Hero | None = None
    plan: PlanToday | None = None

    @property
    def empty(self) -> bool:
        return not (self.has_activities or self.has_metrics or self.has_wellness)


# --- queries --------------------------------------------------------------------------------


def dashboard(session: Session, *, now: datetime, range_key: str) -> Dashboard:
    """The whole dashboard at ``now`` (aware, in the owner's time zone)."""
    today = now.date()
    view = Dashboard(today=today)
    view.has_activities, view.has_metrics, view.has_wellness = session.execute(
        select(
            exists(select(Activity.id)),
            exists(select(DailyMetrics.day)),
            exists(select(DailyWellness.day)),
        )
    ).one()
    view.coach = coach_day.hero(session, today)
    view.plan = plan_today(session, today)
    if view.empty:
        return view
    since = datetime.combine(today - timedelta(days=1), time(), tzinfo=now.tzinfo)
    series = _pmc_series(session, today=today, range_key=parse_range(range_key))
    view.pmc = series.chart
    view.form = series.form
    view.night = trends.last_night(session, today=today)
    if view.has_activities:
        view.week = this_week(session, today=today)
        view.recent = recent_activities(session, since=since)
    view.changes = _changes(session, view.form, since=since)
    return view


@dataclass
class _PmcAndForm:
    chart: Pmc
    form: Form | None


def _pmc_series(session: Session, *, today: date, range_key: str) -> _PmcAndForm:
    """The PMC chart for the range, and today's form (two queries)."""
    table = DailyMetrics.__table__
    latest = session.execute(
        select(table.c.day, table.c.ctl, table.c.atl)
        .where(table.c.day <= today)
        .order_by(table.c.day.desc())
        .limit(1)
    ).first()
    result = _PmcAndForm(Pmc(range_key), None)
    if latest is None:
        return result
    span = RANGES[range_key]
    if span is None:
        first = session.execute(select(func.min(table.c.day))).scalar_one()
        shown_from = min(first, today)
    else:
        shown_from = today - timedelta(days=span - 1)
    start = shown_from - timedelta(days=8)  # yesterday's and last week's values for deltas
    n = (today - start).days + 1
    offset = (table.c.day - literal(start, Date)).cast(Integer)
    rows = session.execute(
        select(offset, table.c.load, table.c.ctl, table.c.atl, table.c.tsb, table.c.ramp)
        .where(table.c.day >= start, table.c.day <= today)
        .order_by(table.c.day)
    ).all()
    dense = np.full((5, n), np.nan)
    if rows:
        block = np.array([tuple(row) for row in rows], dtype=np.float64).reshape(len(rows), 6)
        dense[:, block[:, 0].astype(np.intp)] = block[:, 1:].T
    load, ctl, atl, tsb, ramp = dense
    last_day, last_ctl, last_atl = latest
    computed_to = None
    if last_day < today:  # carry CTL/ATL forward through rest days up to today
        computed_to = last_day
        gap = (today - last_day).days
        rest = pmc.continue_pmc(np.zeros(gap), ctl_before=last_ctl, atl_before=last_atl)
        first_index = (last_day - start).days + 1  # may be negative: before the window
        keep = slice(max(-first_index, 0), gap)
        target = slice(max(first_index, 0), n)
        ctl[target] = rest.ctl[keep]
        atl[target] = rest.atl[keep]
        tsb[target] = rest.tsb[keep]
        ramp[target] = np.nan
        week_ago = np.concatenate((np.full(7, np.nan), ctl[:-7]))
        ramp[target] = (ctl - week_ago)[target]
    # Days before the first stored day stay NaN: no training history there.
    form = Form(
        day=today,
        ctl=float(ctl[-1]),
        atl=float(atl[-1]),
        tsb=float(tsb[-1]),
        ramp=float(ramp[-1]) if np.isfinite(ramp[-1]) else 0.0,
        band="",
        band_label="",
        band_advice="",
        computed_to=computed_to,
    )
    if np.isfinite(form.tsb):
        form.tsb_shown = round(form.tsb)
        form.band = form_band(form.tsb)
        form.band_label = band_label(form.band)
        form.band_advice = band_advice(form.band)
        form.marker_pct = float(np.clip(form.tsb, -50, 50) + 50)
        if np.isfinite(ctl[-2]):
            form.ctl_delta = float(ctl[-1] - ctl[-2])
            form.atl_delta = float(atl[-1] - atl[-2])
            form.tsb_delta = float(tsb[-1] - tsb[-2])
        result.form = form
    result.chart = _pmc_chart(range_key, start, shown_from, load, ctl, atl, tsb, form)
    return result


def _pmc_chart(range_key, start, shown_from, load, ctl, atl, tsb, form) -> Pmc:
    skip = (shown_from - start).days
    load, ctl, atl, tsb = (values[skip:] for values in (load, ctl, atl, tsb))
    x = epoch_days(shown_from, load.size)
    chart = Pmc(range_key, weekly=load.size > DAILY_POINTS_MAX, ramp=form.ramp)
    load_label = _("Load")
    if chart.weekly:
        x, ctl, atl, tsb = (weekly_last(values) for values in (x, ctl, atl, tsb))
        load = weekly_mean(load)
        load_label = _("Load, daily average of the week")
    series = [
        Series(_("Fitness (CTL)"), ctl, color="#0b6bcb", width=2),
        Series(_("Fatigue (ATL)"), atl, color="#d0452f"),
        Series(_("Form (TSB)"), tsb, color="#d68910", width=2),
        Series(load_label, load, color="#7f8c8d", scale="load", kind="bars"),
    ]
    chart.chart = Trend(x, series, height=260)
    if np.isfinite(form.ctl):
        chart.caption = _(
            "Fitness %(ctl)s, fatigue %(atl)s, form %(tsb)s today; fitness changed by %(ramp)s "
            "in the last 7 days.",
            ctl=_number(form.ctl),
            atl=_number(form.atl),
            tsb=_signed(form.tsb),
            ramp=_signed(form.ramp, 1),
        )
    return chart


def _number(value: float, digits: int = 0) -> str:
    from app.i18n import format_number

    return format_number(round(value, digits), digits)


def _signed(value: float, digits: int = 0) -> str:
    text = _number(value, digits)
    return text if text.startswith("-") or round(value, digits) == 0 else f"+{text}"


def this_week(session: Session, *, today: date) -> Week:
    """Time and load by sport this week (Monday to today) against the average of the four
    weeks before (one grouped query)."""
    monday = today - timedelta(days=today.weekday())
    first = monday - timedelta(weeks=COMPARE_WEEKS)
    duration = func.coalesce(Activity.moving_s, Activity.elapsed_s, 0.0)
    this = Activity.local_date >= monday
    rows = session.execute(
        select(
            Activity.sport,
            this.label("this"),
            func.count(),
            func.sum(duration),
            func.coalesce(func.sum(ActivityMetrics.load), 0.0),
        )
        .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .where(Activity.local_date >= first, Activity.local_date <= today)
        .group_by(Activity.sport, this)
    ).all()
    sports: dict[str, SportWeek] = {}
    total = SportWeek("", _("All sports"))
    for sport, is_this, count, seconds, load in rows:
        entry = sports.setdefault(sport, SportWeek(sport, sport_label(sport)))
        for target in (entry, total):
            if is_this:
                target.this_count += count
                target.this_s += seconds or 0.0
                target.this_load += load or 0.0
            else:
                target.past_count += count / COMPARE_WEEKS
                target.past_s += (seconds or 0.0) / COMPARE_WEEKS
                target.past_load += (load or 0.0) / COMPARE_WEEKS
    week = Week(monday, sorted(sports.values(), key=lambda s: (-s.this_s, -s.past_s, s.label)))
    week.total = total
    if total.past_load > 0:
        week.load_pct = 100 * total.this_load / total.past_load
    return week


def recent_activities(session: Session, *, since: datetime) -> list[RecentActivity]:
    rows = session.execute(
        select(
            Activity.id,
            Activity.name,
            Activity.sport,
            Activity.start_time,
            Activity.distance_m,
            func.coalesce(Activity.moving_s, Activity.elapsed_s),
            ActivityMetrics.load,
            Activity.created_at,
        )
        .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .order_by(Activity.start_time.desc(), Activity.id.desc())
        .limit(RECENT_ACTIVITIES)
    ).all()
    return [
        RecentActivity(
            id=id_,
            name=name or sport_label(sport),
            sport=sport,
            sport_label=sport_label(sport),
            start_time=start,
            distance_m=distance,
            duration_s=duration,
            load=load,
            new=created >= since,
        )
        for id_, name, sport, start, distance, duration, load, created in rows
    ]


def wellness_field_labels() -> dict[str, str]:
    return {
        "sleep_s": _("sleep"),
        "sleep_score": _("sleep score"),
        "hrv_rmssd_ms": _("HRV"),
        "hrv_sdnn_ms": _("HRV"),
        "resting_hr": _("resting heart rate"),
        "stress_avg": _("stress"),
        "body_battery_high": _("Body Battery"),
        "weight_kg": _("weight"),
        "body_fat_pct": _("body fat"),
        "steps": _("steps"),
        "vo2max_running": _("VO2max"),
        "vo2max_cycling": _("VO2max"),
        "training_readiness": _("readiness"),
    }


def _changes(session: Session, form: Form | None, *, since: datetime) -> Changes:
    """Since yesterday began: fitness and form deltas, activities and wellness days that
    arrived (two queries)."""
    changes = Changes()
    if form is not None:
        changes.ctl_delta, changes.atl_delta = form.ctl_delta, form.atl_delta
        changes.tsb_delta = form.tsb_delta
    changes.new_activities = session.execute(
        select(func.count()).select_from(Activity).where(Activity.created_at >= since)
    ).scalar_one()
    labels = wellness_field_labels()
    rows = session.execute(
        select(DailyWellness.day, DailyWellness.sources)
        .where(DailyWellness.updated_at >= since)
        .order_by(DailyWellness.day.desc())
        .limit(3)
    ).all()
    for day, sources in rows:
        names: dict[str, None] = {}
        for column in sources or {}:
            if column in labels:
                names[labels[column]] = None
        if names:
            changes.wellness_days.append((day, list(names)))
    return changes
