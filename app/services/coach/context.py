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

**Cost.** A fixed number of queries whatever the history (about a dozen; none per day or per
activity); the findings (a correlation matrix, ~0.1 s on ten years) are kept per data version,
as the Insights page keeps them.

Later features add their part with :func:`register_section` (``mission``, ``plan``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import REAL, Date, Float, Text, and_, column, func, literal, not_, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app import i18n
from app.analytics import hrv, pmc
from app.coach import context as shaping
from app.models import Activity, ActivityMetrics, DailyWellness
from app.models.owner import get_owner
from app.services.coach.ai_policy import ai_usable
from app.services.coach.config import withheld_groups
from app.services.metrics.compute import CYCLING_SPORTS, RUNNING_SPORTS
from app.services.metrics.recompute import _stored_history, owner_today
from app.services.metrics.thresholds import WINDOW_DAYS, HistoryRow, load_profile, load_thresholds
from app.services.pages import correlations
from app.services.wellness import trends

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
    today = today or owner_today(session)
    chosen = withheld_groups(session) if withheld is None else tuple(withheld)
    inputs = read_inputs(session, today, skip_wellness="wellness" in chosen)
    data = shaping.snapshot(inputs, withheld=chosen)
    text = shaping.canonical_json(data)
    return Snapshot(data, text, shaping.snapshot_sha256(data))


def strava_only_count(session: Session) -> int:
    """Activities kept from the model because only Strava's API brought them."""
    return session.execute(
        select(func.count()).select_from(Activity).where(not_(ai_usable()))
    ).scalar_one()


# --- reading -------------------------------------------------------------------------------


def read_inputs(session: Session, today: date, *, skip_wellness: bool = False):
    """Everything the shaping needs, from the usable activities only."""
    usable = ai_usable() & (Activity.local_date <= today)
    owner = get_owner(session)
    profile = load_profile(session)
    load_start, loads = _daily_loads(session, usable, today)
    excluded = strava_only_count(session) > 0
    return shaping.ContextInputs(
        today=today,
        sex=profile.sex,
        birth_year=profile.birth_year,
        sports=_sports(session, usable, today),
        thresholds=_thresholds(session, usable, today, profile),
        load_start=load_start,
        loads=loads,
        ctl_days=profile.ctl_days,
        atl_days=profile.atl_days,
        tsb_variant=(owner.tsb_variant if owner is not None else None) or "yesterday",
        sessions=_sessions(session, usable, today),
        periods=_periods(session, usable, today),
        wellness=None if skip_wellness else _wellness(session, today),
        body_weight=_body_weight(session, today),
        findings=_findings(session, today, activities_excluded=excluded),
        sections={name: provider(session, today) for name, provider in _SECTIONS.items()},
    )


def _duration():
    return func.coalesce(Activity.moving_s, Activity.elapsed_s)


def _sports(session: Session, usable, today: date) -> list[str]:
    """The sports of the last year, most time first."""
    time_spent = func.sum(func.coalesce(_duration(), 0.0))
    rows = session.execute(
        select(Activity.sport, time_spent)
        .where(usable, Activity.local_date > today - timedelta(days=365))
        .group_by(Activity.sport)
        .order_by(time_spent.desc(), Activity.sport)
        .limit(SPORTS_LISTED)
    ).all()
    return [sport for sport, _ in rows]


def _thresholds(session: Session, usable, today: date, profile) -> dict[str, Any]:
    """The thresholds in force today as the metrics service resolves them, estimated from the
    usable activities only: the rides and runs of the estimate window, and the activity that
    holds the highest sustained heart rate."""
    thresholds = load_thresholds(session, profile)
    best_hr = session.execute(
        select(ActivityMetrics.activity_id, Activity.local_date, ActivityMetrics.sustained_hr_bpm)
        .join(Activity, Activity.id == ActivityMetrics.activity_id)
        .where(
            usable,
            Activity.excluded_from_estimates_at.is_(None),
            ActivityMetrics.sustained_hr_bpm.is_not(None),
        )
        .order_by(ActivityMetrics.sustained_hr_bpm.desc(), Activity.local_date, Activity.id)
        .limit(1)
    ).first()
    if best_hr is not None:
        activity_id, day, hr = best_hr
        thresholds.add(HistoryRow(activity_id, day, hr, None, None, None))
    window = usable & (Activity.local_date > today - timedelta(days=WINDOW_DAYS))
    _stored_history(session, thresholds, window)  # after: a full row replaces the HR-only one
    return thresholds.resolve(today)


def _daily_loads(session: Session, usable, today: date) -> tuple[date | None, np.ndarray]:
    rows = session.execute(
        select(Activity.local_date, func.sum(ActivityMetrics.load))
        .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .where(usable)
        .group_by(Activity.local_date)
        .order_by(Activity.local_date)
    ).all()
    if not rows:
        return None, np.zeros(0)
    start = rows[0][0]
    series = pmc.daily_load(
        [(day, float(value or 0.0)) for day, value in rows], start=start, end=today
    )
    return start, series.load


def _sessions(session: Session, usable, today: date) -> list[shaping.SessionRow]:
    m = ActivityMetrics
    rows = session.execute(
        select(
            Activity.local_date,
            Activity.sport,
            _duration(),
            Activity.distance_m,
            m.load,
            m.load_model,
            m.intensity_factor,
            m.efficiency_factor,
            m.decoupling_pct,
            Activity.name,
        )
        .outerjoin(m, m.activity_id == Activity.id)
        .where(usable, Activity.local_date > today - timedelta(days=shaping.RECENT_DAYS))
        .order_by(Activity.start_time, Activity.id)
    ).all()
    return [shaping.SessionRow(*row) for row in rows]


def _periods(session: Session, usable, today: date) -> list[shaping.PeriodInputs]:
    """Totals by sport, the longest sessions, best powers and paces of the last 6 and 12 weeks
    and of the whole history (four grouped queries)."""
    cutoffs = {key: today - timedelta(days=days) for key, days in shaping.PERIODS if days}
    inside = {key: Activity.local_date > day for key, day in cutoffs.items()}
    inside["lifetime"] = true()
    duration = func.coalesce(_duration(), 0.0)
    distance = func.coalesce(Activity.distance_m, 0.0)
    load = func.coalesce(ActivityMetrics.load, 0.0)
    keys = [key for key, _ in shaping.PERIODS]
    columns = []
    for key in keys:
        columns += [
            func.count().filter(inside[key]),
            func.coalesce(func.sum(duration).filter(inside[key]), 0.0),
            func.coalesce(func.sum(distance).filter(inside[key]), 0.0),
            func.coalesce(func.sum(load).filter(inside[key]), 0.0),
        ]
    rows = session.execute(
        select(Activity.sport, func.min(Activity.local_date), *columns)
        .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .where(usable)
        .group_by(Activity.sport)
    ).all()
    if not rows:
        return []
    first_day = min(row[1] for row in rows)
    longest = _longest(session, usable, cutoffs)
    curves = _power_curves(session, usable, cutoffs)
    bests = _pace_bests(session, usable, cutoffs)
    periods = []
    for index, (key, days) in enumerate(shaping.PERIODS):
        sports = []
        for row in rows:
            count, seconds, meters, total = row[2 + 4 * index : 6 + 4 * index]
            if count:
                sports.append(
                    shaping.SportPeriod(
                        row[0], count, seconds, meters, total, longest.get((key, row[0]))
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


def _longest(session: Session, usable, cutoffs: dict[str, date]):
    """The longest session of each sport in each period (one query over window ranks)."""
    duration = _duration()
    flags = {key: (Activity.local_date > day) for key, day in cutoffs.items()}
    order = (duration.desc().nulls_last(), Activity.local_date, Activity.id)
    ranked = (
        select(
            Activity.sport,
            Activity.local_date,
            duration.label("seconds"),
            Activity.distance_m,
            func.row_number().over(partition_by=Activity.sport, order_by=order).label("r_all"),
            *(
                func.row_number()
                .over(partition_by=(Activity.sport, flag), order_by=order)
                .label(f"r_{key}")
                for key, flag in flags.items()
            ),
            *(flag.label(f"in_{key}") for key, flag in flags.items()),
        )
        .where(usable, duration.is_not(None))
        .subquery()
    )
    wanted = [ranked.c.r_all == 1] + [
        and_(ranked.c[f"in_{key}"], ranked.c[f"r_{key}"] == 1) for key in flags
    ]
    found: dict[tuple[str, str], shaping.Longest] = {}
    for row in session.execute(select(ranked).where(or_(*wanted))).mappings():
        entry = shaping.Longest(row["local_date"], row["seconds"], row["distance_m"])
        if row["r_all"] == 1:
            found[("lifetime", row["sport"])] = entry
        for key in flags:
            if row[f"in_{key}"] and row[f"r_{key}"] == 1:
                found[(key, row["sport"])] = entry
    return found


def _power_curves(session: Session, usable, cutoffs: dict[str, date]) -> dict[str, np.ndarray]:
    """Each period's best mean power at every curve duration (rides the owner did not leave
    out of estimates)."""
    points = (
        func.unnest(ActivityMetrics.power_curve_w)
        .table_valued(column("watts", REAL), with_ordinality="position")
        .render_derived()
        .lateral()
    )
    keys = [*cutoffs, "lifetime"]
    columns = [
        func.max(points.c.watts).filter(Activity.local_date > cutoffs[key])
        if key in cutoffs
        else func.max(points.c.watts)
        for key in keys
    ]
    rows = session.execute(
        select(points.c.position, *columns)
        .select_from(Activity)
        .join(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .join(points, true())
        .where(
            usable,
            Activity.sport.in_(CYCLING_SPORTS),
            Activity.excluded_from_estimates_at.is_(None),
            ActivityMetrics.power_curve_w.is_not(None),
        )
        .group_by(points.c.position)
    ).all()
    if not rows:
        return {}
    size = len(shaping.DEFAULT_DURATIONS_S)
    curves = {key: np.full(size, np.nan) for key in keys}
    for position, *values in rows:
        if 1 <= position <= size:
            for key, value in zip(keys, values, strict=True):
                if value is not None:
                    curves[key][position - 1] = value
    return {key: curve for key, curve in curves.items() if np.isfinite(curve).any()}


def _pace_bests(session: Session, usable, cutoffs: dict[str, date]):
    """Each period's fastest run over every best-effort distance and its VDOT."""
    efforts = (
        func.jsonb_each(ActivityMetrics.pace_bests)
        .table_valued(column("key", Text), column("value", JSONB))
        .render_derived()
        .lateral()
    )
    time_s = efforts.c.value["time_s"].astext.cast(Float)
    vdot = efforts.c.value["vdot"].astext.cast(Float)
    meters = efforts.c.value["distance_m"].astext.cast(Float)
    keys = [*cutoffs, "lifetime"]
    columns = []
    for key in keys:
        flag = Activity.local_date > cutoffs[key] if key in cutoffs else true()
        columns += [func.min(time_s).filter(flag), func.max(vdot).filter(flag)]
    rows = session.execute(
        select(efforts.c.key, func.max(meters), *columns)
        .select_from(Activity)
        .join(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .join(efforts, true())
        .where(
            usable,
            Activity.sport.in_(RUNNING_SPORTS),
            Activity.excluded_from_estimates_at.is_(None),
        )
        .group_by(efforts.c.key)
    ).all()
    found: dict[str, dict[str, shaping.PaceBest]] = {}
    for name, distance, *values in rows:
        for index, key in enumerate(keys):
            best, rated = values[2 * index], values[2 * index + 1]
            if best is not None and distance:
                found.setdefault(key, {})[name] = shaping.PaceBest(distance, best, rated)
    return found


def _wellness(session: Session, today: date) -> shaping.WellnessInputs | None:
    """The 14 days shown and the baseline before them; the HRV band as the Wellness page draws
    it (``app.analytics.hrv.hrv_band``)."""
    start = today - timedelta(days=shaping.RECENT_DAYS - 1 + BASELINE_DAYS)
    days = trends.load_days(session, WELLNESS_COLUMNS, start, today)
    c = days.columns
    shown = slice(days.n - shaping.RECENT_DAYS, days.n)
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
    status = [hrv.hrv_status(band.short[i], band.low[i], band.high[i]) for i in range(days.n)]
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


def _body_weight(session: Session, today: date) -> shaping.BodyWeight | None:
    since = today - timedelta(days=WEIGHT_MAX_AGE_DAYS)
    month = today - timedelta(days=27)
    row = session.execute(
        select(
            func.max(DailyWellness.day),
            func.avg(DailyWellness.weight_kg).filter(DailyWellness.day >= month),
        ).where(
            DailyWellness.weight_kg.is_not(None),
            DailyWellness.day >= literal(since, Date),
            DailyWellness.day <= today,
        )
    ).one()
    latest_day, mean = row
    if latest_day is None:
        return None
    latest = session.execute(
        select(DailyWellness.weight_kg).where(DailyWellness.day == latest_day)
    ).scalar_one()
    return shaping.BodyWeight(latest, latest_day, mean)


# --- findings ------------------------------------------------------------------------------

_findings_lock = threading.Lock()
_findings_cache: dict[tuple, list[shaping.FindingRow]] = {}


def _findings(
    session: Session, today: date, *, activities_excluded: bool
) -> list[shaping.FindingRow]:
    """The Insights page's findings (computed once per data version), with English sentences
    (the model reads them; the owner's language is the coach's to choose)."""
    key = (*correlations.data_version(session), today)
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
