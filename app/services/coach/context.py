"""What the coach sees: the context snapshot, read from the analytics tables and shaped by
``app.coach.context`` (compact JSON; never a sample, a position or a file).

**Strava.** Every activity query here carries ``ai_policy.ai_usable()``: an activity that
reached Domestique only through Strava's API is not read at all, so nothing of it — its
session, its load in the day's CTL/ATL/TSB (recomputed here from the usable activities), its
efforts in the best powers and paces, an estimated threshold it set — can reach a prompt. When
any such activity exists, the "what is working" findings that involve activity series (load,
fitness, form, efficiency, decoupling) are left out too, as they were computed over all of
them.

**Withholding.** The groups the owner keeps from the model (``coach_settings.withheld``:
wellness, body weight, notes and names) are applied to every snapshot, here and in every
prompt built from it.

**Cost.** Two statements whatever the history (the owner's settings, then one statement whose
row carries every part as JSON, all read from one pass over the activities); the findings (a
correlation matrix, ~0.1 s on ten years) are kept per data version, as the Insights page keeps
them.

Later features add their part with :func:`register_section` (``mission``, ``plan``).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import (
    REAL,
    Date,
    Float,
    Integer,
    bindparam,
    column,
    func,
    literal,
    literal_column,
    not_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, distinct_on
from sqlalchemy.orm import Session

from app import i18n
from app.analytics import hrv, pmc
from app.analytics.curves import BEST_EFFORT_DISTANCES_M
from app.coach import context as shaping
from app.models import Activity, ActivityMetrics, AthleteThreshold, CoachSettings, DailyWellness
from app.models.metrics import PACE_BEST_EFFORTS
from app.models.owner import Owner
from app.services.coach.ai_policy import ai_usable
from app.services.metrics.compute import CYCLING_SPORTS, RUNNING_SPORTS
from app.services.metrics.recompute import history_row
from app.services.metrics.thresholds import WINDOW_DAYS, HistoryRow, Profile, Thresholds
from app.services.pages import correlations

BASELINE_DAYS = hrv.BASELINE_DAYS
WELLNESS_COLUMNS = (
    "hrv_rmssd_ms",
    "hrv_sdnn_ms",
    "resting_hr",
    "sleep_s",
    "sleep_score",
    "training_readiness",
    "weight_kg",
)
SPORTS_LISTED = 6
WEIGHT_MAX_AGE_DAYS = 365

type SectionProvider = Callable[[Session, date], Any]
_SECTIONS: dict[str, SectionProvider] = {}


def register_section(name: str, provider: SectionProvider) -> None:
    """Add a part to every snapshot (``mission``, ``plan``, …): ``provider(session, today)``
    returns JSON-ready values (``None``: nothing to say). Raise ``SNAPSHOT_VERSION`` in
    ``app.coach.context`` when a new part changes what a prompt can rely on."""
    if name in _SECTIONS:
        raise ValueError(f"the snapshot section {name!r} is registered twice")
    _SECTIONS[name] = provider


def unregister_section(name: str) -> None:
    _SECTIONS.pop(name, None)


@dataclass(frozen=True)
class Snapshot:
    """The snapshot, its canonical JSON text (what a prompt embeds) and that text's SHA-256."""

    data: dict[str, Any]
    text: str
    sha256: str

    @property
    def version(self) -> int:
        return int(self.data["snapshot_version"])

    @property
    def size_bytes(self) -> int:
        return len(self.text.encode())

    def pretty(self) -> str:
        return json.dumps(self.data, ensure_ascii=False, indent=2, sort_keys=True)


def build_snapshot(
    session: Session, *, today: date | None = None, withheld: Sequence[str] | None = None
) -> Snapshot:
    """The snapshot as of ``today`` (the owner's today by default), without the groups in
    ``withheld`` (the owner's choice by default). Read-only."""
    setup = _read_setup(session)
    today = today or setup.owner_today()
    chosen = setup.withheld if withheld is None else tuple(withheld)
    inputs = read_inputs(session, today, skip_wellness="wellness" in chosen, setup=setup)
    data = shaping.snapshot(inputs, withheld=chosen)
    text = shaping.canonical_json(data)
    return Snapshot(data, text, shaping.snapshot_sha256(data))


def strava_only_count(session: Session) -> int:
    """Activities kept from the model because only Strava's API brought them."""
    return session.execute(
        select(func.count()).select_from(Activity).where(not_(ai_usable()))
    ).scalar_one()


# --- reading -------------------------------------------------------------------------------
#
# Two statements: the owner's settings (time zone, profile, the groups withheld, the data
# version the findings are kept under), then everything the shaping reads from the usable
# activities and the daily wellness — each part one JSON value of the same row, computed from
# one scan of the usable activities (a materialized CTE: the Strava test runs once per
# activity, not once per part).


@dataclass(frozen=True)
class _Setup:
    timezone: str | None
    profile: Profile
    tsb_variant: str
    withheld: tuple[str, ...]
    version: tuple

    def owner_today(self) -> date:
        return datetime.now(ZoneInfo(self.timezone or "UTC")).date()


@functools.cache
def _setup_statement():
    owner = (
        select(
            func.json_build_array(
                Owner.timezone,
                Owner.sex,
                Owner.birth_year,
                Owner.hr_zone_model,
                Owner.ctl_days,
                Owner.atl_days,
                Owner.tsb_variant,
            )
        )
        .limit(1)
        .scalar_subquery()
    )
    withheld = select(CoachSettings.withheld).where(CoachSettings.id == 1).scalar_subquery()
    return select(owner, withheld, *map(literal_column, correlations.DATA_VERSION_COLUMNS))


def _read_setup(session: Session) -> _Setup:
    found, chosen, *version = session.execute(_setup_statement()).one()
    if found is None:
        timezone, profile, tsb_variant = None, Profile(), "yesterday"
    else:
        timezone, sex, birth_year, zones, ctl_days, atl_days, tsb_variant = found
        profile = Profile(
            sex=sex,
            birth_year=birth_year,
            hr_zone_model=zones or "lthr",
            ctl_days=ctl_days or 42,
            atl_days=atl_days or 7,
        )
    groups = tuple(g for g in shaping.GROUPS if chosen is not None and g in chosen)
    return _Setup(timezone, profile, tsb_variant or "yesterday", groups, tuple(version))


def _activities():
    """Every activity, whether the coach may use it, and what every part reads of it
    (materialized: read once, the Strava test made once per activity)."""
    m = ActivityMetrics
    return (
        select(
            ai_usable().label("usable"),
            Activity.id,
            Activity.local_date,
            Activity.start_time,
            Activity.sport,
            Activity.name,
            func.coalesce(Activity.moving_s, Activity.elapsed_s).label("duration_s"),
            Activity.distance_m,
            Activity.excluded_from_estimates_at.is_not(None).label("excluded"),
            m.activity_id.is_not(None).label("has_metrics"),
            m.load,
            m.load_model,
            m.intensity_factor,
            m.efficiency_factor,
            m.decoupling_pct,
            m.sustained_hr_bpm,
            m.power_curve_w,
            m.pace_bests,
            m.pace_best_times_s,
            m.pace_best_vdots,
        )
        .outerjoin(m, m.activity_id == Activity.id)
        .cte("activities")
        .prefix_with("MATERIALIZED")
    )


def _usable(activities, today):
    """The usable activities up to ``today`` (a filter on ``activities``, not a copy)."""
    return (
        select(activities)
        .where(activities.c.usable, activities.c.local_date <= today)
        .cte("usable")
        .prefix_with("NOT MATERIALIZED")
    )


def _rows(query, *order) -> Any:
    """``query``'s rows as one JSON array of arrays (``order``: columns of ``query`` by name,
    or such a column's ``desc()``), ``[]`` when there is none."""
    inner = query.subquery()
    row = func.json_build_array(*inner.c)
    keys = [inner.c[o] if isinstance(o, str) else o(inner.c) for o in order]
    aggregate = func.json_agg(aggregate_order_by(row, *keys) if keys else row)
    return select(func.coalesce(aggregate, literal_column("'[]'::json"))).scalar_subquery()


def _day(value: str) -> date:
    return date.fromisoformat(value)


def _float(value) -> float | None:
    """A JSON number, or a non-finite double PostgreSQL spells as a string ("NaN")."""
    return None if value is None else float(value)


def read_inputs(session: Session, today: date, *, skip_wellness: bool = False, setup=None):
    """Everything the shaping needs, from the usable activities only (two statements, the
    first skipped when ``setup`` is given)."""
    setup = setup or _read_setup(session)
    statement, names = _statement(skip_wellness)
    read = dict(zip(names, session.execute(statement, _days(today)).one(), strict=True))
    cutoffs = {key: today - timedelta(days=days) for key, days in shaping.PERIODS if days}
    wellness_start = today - timedelta(days=shaping.RECENT_DAYS - 1 + BASELINE_DAYS)
    load_start, loads = _daily_loads(read["loads"], today)
    return shaping.ContextInputs(
        today=today,
        sex=setup.profile.sex,
        birth_year=setup.profile.birth_year,
        sports=[sport for sport, _ in read["sports"]],
        thresholds=_thresholds(read, today, setup.profile),
        load_start=load_start,
        loads=loads,
        ctl_days=setup.profile.ctl_days,
        atl_days=setup.profile.atl_days,
        tsb_variant=setup.tsb_variant,
        sessions=[_session_row(row) for row in read["sessions"]],
        periods=_periods(read, today, cutoffs),
        wellness=None if skip_wellness else _wellness(read["wellness"], wellness_start, today),
        body_weight=_body_weight(read["weight"], read["weight_mean"]),
        findings=_findings(session, setup, today, activities_excluded=read["excluded"]),
        sections={name: provider(session, today) for name, provider in _SECTIONS.items()},
    )


def _days(today: date) -> dict[str, date]:
    """The statement's parameters: today and the first days of what it reads."""
    days = {
        "today": today,
        "year_from": today - timedelta(days=365),
        "window_from": today - timedelta(days=WINDOW_DAYS),
        "recent_from": today - timedelta(days=shaping.RECENT_DAYS),
        "wellness_from": today - timedelta(days=shaping.RECENT_DAYS - 1 + BASELINE_DAYS),
        "weight_from": today - timedelta(days=WEIGHT_MAX_AGE_DAYS),
        "month_from": today - timedelta(days=27),
    }
    for key, count in shaping.PERIODS:
        if count:
            days[f"period_{key}"] = today - timedelta(days=count)
    return days


def _day_parameter(name: str):
    return bindparam(name, type_=Date)


@functools.cache
def _statement(skip_wellness: bool) -> tuple[Any, tuple[str, ...]]:
    """The one statement (built once: building it costs more than running it) and the names of
    its columns; its parameters are :func:`_days`."""
    today = _day_parameter("today")
    activities = _activities()
    u = _usable(activities, today)
    cutoffs = {key: _day_parameter(f"period_{key}") for key, days in shaping.PERIODS if days}
    parts = {
        "excluded": select(
            func.coalesce(func.bool_or(not_(activities.c.usable)), False)
        ).scalar_subquery(),
        "loads": _rows(
            select(u.c.local_date, func.sum(u.c.load)).group_by(u.c.local_date), "local_date"
        ),
        "sports": _sports(u, _day_parameter("year_from")),
        "owner_thresholds": _rows(
            select(
                AthleteThreshold.kind,
                AthleteThreshold.valid_from,
                AthleteThreshold.value,
                AthleteThreshold.source,
                AthleteThreshold.id,
            ),
            "id",
        ),
        "resting_hr": _rows(
            select(DailyWellness.day, DailyWellness.resting_hr).where(
                DailyWellness.resting_hr.is_not(None),
                DailyWellness.day > _day_parameter("window_from"),
                DailyWellness.day <= today,
            ),
            "day",
        ),
        "best_hr": _rows(
            select(u.c.id, u.c.local_date, u.c.sustained_hr_bpm)
            .where(not_(u.c.excluded), u.c.sustained_hr_bpm.is_not(None))
            .order_by(u.c.sustained_hr_bpm.desc(), u.c.local_date, u.c.id)
            .limit(1)
        ),
        "history": _rows(
            select(
                u.c.id,
                u.c.local_date,
                u.c.sport,
                u.c.sustained_hr_bpm,
                u.c.power_curve_w,
                u.c.pace_bests,
                u.c.excluded,
            ).where(u.c.has_metrics, u.c.local_date > _day_parameter("window_from")),
            "id",
        ),
        "sessions": _rows(
            select(
                u.c.local_date,
                u.c.sport,
                u.c.duration_s,
                u.c.distance_m,
                u.c.load,
                u.c.load_model,
                u.c.intensity_factor,
                u.c.efficiency_factor,
                u.c.decoupling_pct,
                u.c.name,
                u.c.start_time,
                u.c.id,
            ).where(u.c.local_date > _day_parameter("recent_from")),
            "start_time",
            "id",
        ),
        "periods": _period_totals(u, cutoffs),
        "longest": _longest(u, cutoffs),
        "curves": _power_curves(u, cutoffs),
        "bests": _pace_bests(u, cutoffs),
        "weight": _rows(
            select(DailyWellness.day, DailyWellness.weight_kg)
            .where(
                DailyWellness.weight_kg.is_not(None),
                DailyWellness.day >= _day_parameter("weight_from"),
                DailyWellness.day <= today,
            )
            .order_by(DailyWellness.day.desc())
            .limit(1)
        ),
        "weight_mean": select(func.avg(DailyWellness.weight_kg))
        .where(
            DailyWellness.weight_kg.is_not(None),
            DailyWellness.day >= _day_parameter("month_from"),
            DailyWellness.day <= today,
        )
        .scalar_subquery(),
    }
    if not skip_wellness:
        table = DailyWellness.__table__
        start = _day_parameter("wellness_from")
        parts["wellness"] = _rows(
            select(
                (table.c.day - start).cast(Integer).label("offset"),
                *(table.c[name] for name in WELLNESS_COLUMNS),
            ).where(table.c.day >= start, table.c.day <= today),
            "offset",
        )
    return select(*parts.values()), tuple(parts)


def _sports(u, year_from):
    """The sports of the last year, most time first."""
    time_spent = func.sum(func.coalesce(u.c.duration_s, 0.0)).label("seconds")
    return _rows(
        select(u.c.sport, time_spent)
        .where(u.c.local_date > year_from)
        .group_by(u.c.sport)
        .order_by(time_spent.desc(), u.c.sport)
        .limit(SPORTS_LISTED),
        lambda c: c.seconds.desc(),
        "sport",
    )


def _thresholds(read: dict[str, Any], today: date, profile: Profile) -> dict[str, Any]:
    """The thresholds in force today as the metrics service resolves them, estimated from the
    usable activities only: the rides and runs of the estimate window, and the activity that
    holds the highest sustained heart rate."""
    thresholds = Thresholds(
        [
            (kind, _day(since), float(value), source)
            for kind, since, value, source, _ in read["owner_thresholds"]
        ],
        [(_day(day), float(value)) for day, value in read["resting_hr"]],
        profile,
    )
    for activity_id, day, hr in read["best_hr"]:
        thresholds.add(HistoryRow(activity_id, _day(day), _float(hr), None, None, None))
    for activity_id, day, sport, hr, curve, bests, excluded in read["history"]:
        # after: a full row replaces the HR-only one
        row = history_row(activity_id, _day(day), sport, _float(hr), curve, bests, excluded)
        thresholds.add(row)
    return thresholds.resolve(today)


def _daily_loads(rows: list, today: date) -> tuple[date | None, np.ndarray]:
    if not rows:
        return None, np.zeros(0)
    entries = [(_day(day), float(value or 0.0)) for day, value in rows]
    start = entries[0][0]
    return start, pmc.daily_load(entries, start=start, end=today).load


def _session_row(row: list) -> shaping.SessionRow:
    day, sport, seconds, meters, load, model, if_, ef, decoupling, name = row[:10]
    return shaping.SessionRow(
        _day(day),
        sport,
        _float(seconds),
        _float(meters),
        _float(load),
        model,
        _float(if_),
        _float(ef),
        _float(decoupling),
        name,
    )


def _period_totals(u, cutoffs: dict[str, Any]):
    """Sessions, time, distance and load by sport in the last 6 and 12 weeks and the whole
    history, and each sport's first day."""
    inside = {key: u.c.local_date > day for key, day in cutoffs.items()}
    inside["lifetime"] = true()
    duration = func.coalesce(u.c.duration_s, 0.0)
    distance = func.coalesce(u.c.distance_m, 0.0)
    load = func.coalesce(u.c.load, 0.0)
    columns = []
    for key, _ in shaping.PERIODS:
        columns += [
            func.count().filter(inside[key]),
            func.coalesce(func.sum(duration).filter(inside[key]), 0.0),
            func.coalesce(func.sum(distance).filter(inside[key]), 0.0),
            func.coalesce(func.sum(load).filter(inside[key]), 0.0),
        ]
    return _rows(select(u.c.sport, func.min(u.c.local_date), *columns).group_by(u.c.sport), "sport")


def _periods(read: dict[str, Any], today: date, cutoffs: dict[str, date]):
    """Totals by sport, the longest sessions, best powers and paces of the last 6 and 12 weeks
    and of the whole history."""
    rows = read["periods"]
    if not rows:
        return []
    first_day = min(_day(row[1]) for row in rows)
    longest = _longest_found(read["longest"])
    curves = _curves_found(read["curves"], cutoffs)
    bests = _bests_found(read["bests"], cutoffs)
    periods = []
    for index, (key, days) in enumerate(shaping.PERIODS):
        sports = []
        for row in rows:
            count, seconds, meters, total = row[2 + 4 * index : 6 + 4 * index]
            if count:
                sports.append(
                    shaping.SportPeriod(
                        row[0],
                        count,
                        float(seconds),
                        float(meters),
                        float(total),
                        longest.get((key, row[0])),
                    )
                )
        sports.sort(key=lambda s: (-s.seconds, s.sport))
        start = cutoffs[key] + timedelta(days=1) if key in cutoffs else first_day
        periods.append(
            shaping.PeriodInputs(
                key,
                start,
                days if days else (today - first_day).days + 1,
                sports,
                curves.get(key),
                bests.get(key, {}),
            )
        )
    return periods


def _longest(u, cutoffs: dict[str, Any]):
    """The longest session of each sport in each period (ties: the earliest): one sorted pass
    per period, the short ones over their few weeks only."""
    periods = [*((key, u.c.local_date > day) for key, day in cutoffs.items()), ("lifetime", true())]
    order = (u.c.sport, u.c.duration_s.desc(), u.c.local_date, u.c.id)
    parts = [
        select(
            literal(key).label("period"),
            u.c.sport,
            u.c.local_date,
            u.c.duration_s,
            u.c.distance_m,
        )
        .ext(distinct_on(u.c.sport))
        .where(inside, u.c.duration_s.is_not(None))
        .order_by(*order)
        for key, inside in periods
    ]
    return _rows(union_all(*(part.subquery().select() for part in parts)))


def _longest_found(rows: list):
    return {
        (key, sport): shaping.Longest(_day(day), float(seconds), _float(meters))
        for key, sport, day, seconds, meters in rows
    }


def _power_curves(u, cutoffs: dict[str, Any]):
    """Each period's best mean power at every curve duration (rides the owner did not leave
    out of estimates)."""
    points = (
        func.unnest(u.c.power_curve_w)
        .table_valued(column("watts", REAL), with_ordinality="position")
        .render_derived()
        .lateral()
    )
    columns = [
        func.max(points.c.watts).filter(u.c.local_date > cutoffs[key])
        if key in cutoffs
        else func.max(points.c.watts)
        for key in [*cutoffs, "lifetime"]
    ]
    return _rows(
        select(points.c.position.label("position"), *columns)
        .select_from(u)
        .join(points, true())
        .where(
            u.c.sport.in_(CYCLING_SPORTS),
            not_(u.c.excluded),
            u.c.power_curve_w.is_not(None),
        )
        .group_by(points.c.position),
        "position",
    )


def _curves_found(rows: list, cutoffs: dict[str, date]) -> dict[str, np.ndarray]:
    if not rows:
        return {}
    keys = [*cutoffs, "lifetime"]
    size = len(shaping.DEFAULT_DURATIONS_S)
    curves = {key: np.full(size, np.nan) for key in keys}
    for position, *values in rows:
        if 1 <= position <= size:
            for key, value in zip(keys, values, strict=True):
                if value is not None:
                    curves[key][position - 1] = float(value)
    return {key: curve for key, curve in curves.items() if np.isfinite(curve).any()}


def _pace_bests(u, cutoffs: dict[str, Any]):
    """Each period's fastest run over every best-effort distance and its VDOT, from the arrays
    PostgreSQL keeps beside each run's ``pace_bests`` (one pass, no JSON expanded)."""
    efforts = (
        func.unnest(u.c.pace_best_times_s, u.c.pace_best_vdots)
        .table_valued(column("time_s", Float), column("vdot", Float), with_ordinality="position")
        .render_derived()
        .lateral()
    )
    columns = []
    for key in [*cutoffs, "lifetime"]:
        flag = u.c.local_date > cutoffs[key] if key in cutoffs else true()
        columns += [func.min(efforts.c.time_s).filter(flag), func.max(efforts.c.vdot).filter(flag)]
    return _rows(
        select(efforts.c.position.label("position"), *columns)
        .select_from(u)
        .join(efforts, true())
        .where(
            u.c.has_metrics,
            u.c.sport.in_(RUNNING_SPORTS),
            not_(u.c.excluded),
            efforts.c.time_s.is_not(None),
        )
        .group_by(efforts.c.position),
        "position",
    )


def _bests_found(rows: list, cutoffs: dict[str, date]):
    keys = [*cutoffs, "lifetime"]
    found: dict[str, dict[str, shaping.PaceBest]] = {}
    for position, *values in sorted(rows, key=lambda row: PACE_BEST_EFFORTS[row[0] - 1]):
        name = PACE_BEST_EFFORTS[position - 1]
        distance = BEST_EFFORT_DISTANCES_M[name]
        for index, key in enumerate(keys):
            best, rated = values[2 * index], values[2 * index + 1]
            if best is not None:
                found.setdefault(key, {})[name] = shaping.PaceBest(
                    float(distance), float(best), _float(rated)
                )
    return found


def _wellness(rows: list, start: date, today: date) -> shaping.WellnessInputs | None:
    """The 14 days shown and the baseline before them; the HRV band as the Wellness page draws
    it (``app.analytics.hrv.hrv_band``)."""
    n = (today - start).days + 1
    dense = np.full((len(WELLNESS_COLUMNS), n), np.nan)
    if rows:
        block = np.array(
            [[np.nan if v is None else float(v) for v in row] for row in rows], dtype=np.float64
        )
        dense[:, block[:, 0].astype(np.intp)] = block[:, 1:].T
    c = {name: dense[i] for i, name in enumerate(WELLNESS_COLUMNS)}
    shown = slice(n - shaping.RECENT_DAYS, n)
    wanted = (
        "hrv_rmssd_ms",
        "hrv_sdnn_ms",
        "resting_hr",
        "sleep_s",
        "sleep_score",
        "training_readiness",
    )
    if not any(np.isfinite(c[name][shown]).any() for name in wanted):
        return None
    band = hrv.hrv_band(c["hrv_rmssd_ms"], c["hrv_sdnn_ms"])
    status = [hrv.hrv_status(band.short[i], band.low[i], band.high[i]) for i in range(n)]
    return shaping.WellnessInputs(
        start=start,
        columns={
            "hrv_ms": band.nightly,
            "resting_hr": c["resting_hr"],
            "sleep_h": c["sleep_s"] / 3600.0,
            "sleep_score": c["sleep_score"],
            "readiness": c["training_readiness"],
        },
        hrv_statistic=band.statistic,
        hrv_7d=band.short,
        hrv_low=band.low,
        hrv_high=band.high,
        hrv_status=status,
    )


def _body_weight(latest: list, mean) -> shaping.BodyWeight | None:
    if not latest:
        return None
    day, kilograms = latest[0]
    return shaping.BodyWeight(float(kilograms), _day(day), _float(mean))


# --- findings ------------------------------------------------------------------------------

_findings_lock = threading.Lock()
_findings_cache: dict[tuple, list[shaping.FindingRow]] = {}


def _findings(
    session: Session, setup: _Setup, today: date, *, activities_excluded: bool
) -> list[shaping.FindingRow]:
    """The Insights page's findings (computed once per data version), with English sentences
    (the model reads them; the owner's language is the coach's to choose)."""
    key = (*setup.version, setup.owner_today(), today)
    with _findings_lock:
        cached = _findings_cache.get(key)
    if cached is None:
        with i18n.using(locale="en", units="metric"):
            found = correlations.what_is_working(correlations.build_frame(session, today))
            cached = [
                shaping.FindingRow(
                    input=item.finding.input,
                    outcome=item.finding.outcome,
                    lag_days=item.finding.lag,
                    r=item.finding.r,
                    n=item.finding.n,
                    q=item.finding.q,
                    difference=item.finding.effect.difference,
                    difference_pct=item.finding.effect.difference_percent,
                    high_threshold=item.finding.effect.high_threshold,
                    working=item.working,
                    sentence=item.sentence,
                )
                for item in (*found.working, *found.not_working)
            ]
        with _findings_lock:
            _findings_cache.clear()  # one data version at a time
            _findings_cache[key] = cached
    if not activities_excluded:
        return cached
    return [
        f
        for f in cached
        if f.input not in shaping.ACTIVITY_SERIES and f.outcome not in shaping.ACTIVITY_SERIES
    ]
