"""Compute and store metrics: per activity, the daily series and athlete estimates.

Incremental by construction: an activity's thresholds and every estimate depend only on
activities on or before its date, and the daily series is continued from the stored day before
(:func:`app.analytics.pmc.continue_pmc`), so importing an activity on day ``D`` recomputes that
activity, the later activities whose estimated thresholds it changed, and the days and
estimates from ``D`` on; the result equals a full rebuild.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.analytics import estimates, pmc
from app.db.locks import lock_key
from app.models import Activity, ActivityMetrics, AthleteEstimate, DailyMetrics
from app.models.metrics import THRESHOLD_KINDS
from app.models.owner import get_owner
from app.services.metrics.compute import (
    ALGORITHM_VERSION,
    CYCLING_SPORTS,
    RUNNING_SPORTS,
    ActivityInput,
    base_metrics,
    full_metrics,
)
from app.services.metrics.samples import ActivitySamples, read_samples
from app.services.metrics.thresholds import (
    WINDOW_DAYS,
    HistoryRow,
    Thresholds,
    load_profile,
    load_thresholds,
)

log = logging.getLogger(__name__)

BATCH_ACTIVITIES = 100
"""Activities whose samples are read at once (~350 k samples, ~35 MB of COPY payload)."""
FIRST_BATCH_ACTIVITIES = 8
"""With the next batch read ahead, batches start this small and double up to
:data:`BATCH_ACTIVITIES`: computing starts after a read of a few activities instead of a
hundred, and every later read overlaps the computing of the batch before."""
RUNALYZE_SHAPE_DAYS = 30
Progress = Callable[[int, int], None]

_METRIC_COLUMNS = [  # what a recompute writes (not the columns PostgreSQL generates)
    c.name
    for c in ActivityMetrics.__table__.columns
    if c.name not in ("computed_at",) and c.computed is None
]


@dataclass(frozen=True)
class RecomputeResult:
    """What a recompute did: activities computed (and how many of them because an estimated
    threshold changed), and the first day of the daily series rewritten."""

    activities: int
    rechecked: int
    from_day: date | None


# --- activities ----------------------------------------------------------------------------


def _inputs(session: Session, where: Any) -> list[ActivityInput]:
    rows = session.execute(
        select(
            Activity.id,
            Activity.local_date,
            Activity.sport,
            Activity.avg_hr,
            func.coalesce(Activity.moving_s, Activity.elapsed_s),
            Activity.excluded_from_estimates_at.is_not(None),
        )
        .where(where)
        .order_by(Activity.local_date, Activity.start_time, Activity.id)
    ).all()
    return [
        ActivityInput(
            activity_id=i,
            day=d,
            sport=sport,
            samples=None,
            avg_hr=hr,
            duration_s=duration,
            excluded=excluded,
        )
        for i, d, sport, hr, duration, excluded in rows
    ]


def _stored_history(
    session: Session, thresholds: Thresholds, where: Any = None, exclude: Iterable[int] = ()
) -> None:
    """Add the stored activities' history rows (what estimates are built from)."""
    skip = set(exclude)
    query = select(
        ActivityMetrics.activity_id,
        Activity.local_date,
        Activity.sport,
        ActivityMetrics.sustained_hr_bpm,
        ActivityMetrics.power_curve_w,
        ActivityMetrics.pace_bests,
        Activity.excluded_from_estimates_at.is_not(None),
    ).join(Activity, Activity.id == ActivityMetrics.activity_id)
    if where is not None:
        query = query.where(where)
    for activity_id, day, sport, hr, curve, bests, excluded in session.execute(query):
        if activity_id in skip:
            continue
        thresholds.add(history_row(activity_id, day, sport, hr, curve, bests, excluded))


def history_row(
    activity_id: int,
    day: date,
    sport: str,
    sustained_hr: float | None,
    curve: list | None,
    bests: dict[str, Any] | None,
    excluded: bool,
) -> HistoryRow:
    """One activity's history row from its stored figures (``curve``: the ``real[]`` power
    curve as read, its values decimal text parsed to float, NaN possibly spelled "NaN")."""
    ride_curve = None
    if curve is not None and sport in CYCLING_SPORTS:
        # real[] arrives as decimal text: back to the exact float32 that was stored.
        values = [np.nan if v is None else float(v) for v in curve]
        ride_curve = np.array(values, dtype=np.float32).astype(np.float64)
    best_vdot = best_effort = None
    if sport in RUNNING_SPORTS:
        for name, entry in (bests or {}).items():
            vdot = entry.get("vdot")
            if vdot is not None and (best_vdot is None or vdot > best_vdot):
                best_vdot, best_effort = vdot, {"effort": name, **entry}
    return HistoryRow(activity_id, day, sustained_hr, ride_curve, best_vdot, best_effort, excluded)


def thresholds_as_of(session: Session, day: date) -> dict[str, dict[str, Any]]:
    """The thresholds in force on ``day`` as the activities of that day would use them: the
    owner's values, else the estimates from every activity up to ``day`` (the planner's
    guardrails and estimates read this; nothing of it reaches a language model).

    Reads what the estimates use, not the whole history: the activities of the estimate
    window before ``day`` and the one with the highest sustained heart rate (HRmax), as the
    coach's context snapshot does — the same resolution in a fraction of the time on ten
    years of activities (and the resting heart rate of the window, not of ten years)."""
    thresholds = load_thresholds(session, resolved_on=day)
    best = session.execute(
        select(ActivityMetrics.activity_id, Activity.local_date, ActivityMetrics.sustained_hr_bpm)
        .join(Activity, Activity.id == ActivityMetrics.activity_id)
        .where(
            Activity.local_date <= day,
            Activity.excluded_from_estimates_at.is_(None),
            ActivityMetrics.sustained_hr_bpm.is_not(None),
        )
        .order_by(ActivityMetrics.sustained_hr_bpm.desc(), Activity.local_date, Activity.id)
        .limit(1)
    ).first()
    if best is not None:
        thresholds.add(HistoryRow(best[0], best[1], best[2], None, None, None))
    window_from = day - timedelta(days=WINDOW_DAYS)
    _stored_history(
        session, thresholds, (Activity.local_date > window_from) & (Activity.local_date <= day)
    )
    return thresholds.resolve(day)


def _day_batches(
    items: list[ActivityInput], size: int, first: int | None = None
) -> Iterator[list[ActivityInput]]:
    """Batches of about ``size`` activities that never split a day (estimates for a day need
    every activity of that day); with ``first``, the first batch is about that size and each
    next one twice the one before, up to ``size``."""
    batch: list[ActivityInput] = []
    limit = size if first is None else min(first, size)
    for item in items:
        if len(batch) >= limit and item.day != batch[-1].day:
            yield batch
            batch = []
            limit = min(limit * 2, size)
        batch.append(item)
    if batch:
        yield batch


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    complete = [{name: row.get(name) for name in _METRIC_COLUMNS} for row in rows]
    for row in complete:
        row["pace_bests"] = row["pace_bests"] or {}
        row["artifacts"] = row["artifacts"] or {}
        row["thresholds_used"] = row["thresholds_used"] or {}
    statement = insert(ActivityMetrics)
    statement = statement.on_conflict_do_update(
        index_elements=["activity_id"],
        set_={
            **{name: statement.excluded[name] for name in _METRIC_COLUMNS if name != "activity_id"},
            "computed_at": func.clock_timestamp(),
        },
    )
    session.execute(statement.values(computed_at=func.clock_timestamp()), complete)


def _clean(columns: dict[str, Any]) -> dict[str, Any]:
    return {
        name: (None if isinstance(value, float) and not math.isfinite(value) else value)
        for name, value in columns.items()
    }


def _sample_batches(
    session: Session, batches: list[list[ActivityInput]], ahead: bool
) -> Iterator[dict[int, ActivitySamples]]:
    """Each batch's samples. ``ahead``: the next batch is read on a connection of its own while
    this one is computed (the database's work then overlaps ours); only for samples that were
    committed before (an import's, a full recompute's), and only on an engine, not a
    connection the caller holds."""
    bind = session.get_bind()
    if not ahead or not isinstance(bind, Engine) or len(batches) < 2:
        for batch in batches:
            yield read_samples(session, [item.activity_id for item in batch])
        return
    with bind.connect() as connection, ThreadPoolExecutor(1, "metrics-read") as reader:

        def read(batch: list[ActivityInput]) -> dict[int, ActivitySamples]:
            with Session(bind=connection) as own:
                try:
                    return read_samples(own, [item.activity_id for item in batch])
                finally:
                    own.rollback()

        pending = reader.submit(read, batches[0])
        for following in [*batches[1:], None]:
            samples = pending.result()
            if following is not None:
                pending = reader.submit(read, following)
            yield samples


def _compute(
    session: Session,
    items: list[ActivityInput],
    thresholds: Thresholds,
    progress: Progress | None = None,
    *,
    read_ahead: bool = False,
) -> None:
    """Compute and store ``items`` (sorted by date) batch by batch (``read_ahead``: see
    ``_sample_batches``)."""
    for ident in (item.activity_id for item in items):
        thresholds.discard(ident)
    done = 0
    first = FIRST_BATCH_ACTIVITIES if read_ahead else None
    batches = list(_day_batches(items, BATCH_ACTIVITIES, first))
    for batch, samples in zip(batches, _sample_batches(session, batches, read_ahead), strict=True):
        prepared = []
        for item in batch:
            item = ActivityInput(
                item.activity_id,
                item.day,
                item.sport,
                samples.pop(item.activity_id, None),
                item.avg_hr,
                item.duration_s,
                item.excluded,
            )
            base = base_metrics(item)
            thresholds.add(base.history)
            prepared.append((item, base))
        rows = []
        for item, base in prepared:
            columns = full_metrics(item, base, thresholds.resolve(item.day), thresholds.profile)
            rows.append(_clean({"activity_id": item.activity_id, **columns}))
        _upsert(session, rows)
        done += len(batch)
        if progress is not None:
            progress(done, len(items))


def recompute_activities(
    session: Session,
    activity_ids: Iterable[int],
    *,
    thresholds: Thresholds | None = None,
    read_ahead: bool = False,
) -> Thresholds:
    """Compute and store the metrics of ``activity_ids`` (nothing else); returns the
    thresholds resolver, holding the whole history. ``read_ahead``: their samples were
    committed before this transaction began (see ``_sample_batches``)."""
    wanted = sorted(set(activity_ids))
    if thresholds is None:
        thresholds = load_thresholds(session)
        _stored_history(session, thresholds, exclude=wanted)
    items = _inputs(session, Activity.id.in_(wanted)) if wanted else []
    _compute(session, items, thresholds, read_ahead=read_ahead)
    return thresholds


def recompute_activity(session: Session, activity_id: int) -> None:
    """Compute and store one activity's metrics (the daily series is left alone)."""
    recompute_activities(session, [activity_id])


def _threshold_changes(session: Session, thresholds: Thresholds, since: date) -> list[int]:
    """Activities on or after ``since`` whose stored thresholds differ from today's resolution
    (an import changed an estimate they used)."""
    changed = []
    for activity_id, day, used in session.execute(
        select(ActivityMetrics.activity_id, Activity.local_date, ActivityMetrics.thresholds_used)
        .join(Activity, Activity.id == ActivityMetrics.activity_id)
        .where(Activity.local_date >= since)
    ):
        stored = {kind: value for kind, value in (used or {}).items() if kind in THRESHOLD_KINDS}
        if stored != thresholds.resolve(day):
            changed.append(activity_id)
    return changed


def _stale(session: Session) -> list[int]:
    """Activities without metrics of the current algorithm version."""
    return list(
        session.execute(
            select(Activity.id)
            .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
            .where(
                (ActivityMetrics.activity_id.is_(None))
                | (ActivityMetrics.algorithm_version != ALGORITHM_VERSION)
            )
        ).scalars()
    )


# --- days ----------------------------------------------------------------------------------


def owner_today(session: Session) -> date:
    owner = get_owner(session)
    zone = ZoneInfo(owner.timezone) if owner is not None else ZoneInfo("UTC")
    return datetime.now(zone).date()


def _literal(values: np.ndarray, *, nan_is_null: bool = False) -> str:
    """A PostgreSQL array literal of ``values`` (``repr`` round-trips a float exactly; with
    ``nan_is_null``, a value that is not finite is NULL). Passed as one string and cast, the
    ten-year series is sent at once instead of psycopg adapting 3,650 numbers per column."""
    items = values.tolist()
    if nan_is_null:
        return "{" + ",".join(repr(v) if math.isfinite(v) else "NULL" for v in items) + "}"
    return "{" + ",".join(map(repr, items)) + "}"


def recompute_days(
    session: Session, from_day: date | None = None, *, today: date | None = None
) -> date | None:
    """Rewrite the daily series from ``from_day`` (everything when None, or when the stored
    series cannot be continued); returns the first day rewritten, None without activities.

    The series runs from the first activity to the later of the last activity and ``today``
    (the owner's today by default), so CTL and ATL decay through rest days up to now.
    """
    per_day = session.execute(
        select(Activity.local_date, func.sum(ActivityMetrics.load), func.count())
        .outerjoin(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .group_by(Activity.local_date)
        .order_by(Activity.local_date)
    ).all()
    if not per_day:
        session.execute(delete(DailyMetrics))
        return None
    today = today or owner_today(session)
    profile = load_profile(session)
    start, end = per_day[0][0], max(per_day[-1][0], today)
    series = pmc.daily_load(
        [(day, float(value or 0.0)) for day, value, _ in per_day], start=start, end=end
    )
    loads = series.load
    counts = np.zeros(loads.size, dtype=np.int64)
    for day, _, count in per_day:
        counts[(day - start).days] = count
    offset = 0
    previous = None
    if from_day is not None and from_day > start:
        stored_start = session.execute(select(func.min(DailyMetrics.day))).scalar_one()
        if stored_start == start:
            previous = session.get(DailyMetrics, from_day - timedelta(days=1))
    if previous is not None:
        assert from_day is not None
        offset = (from_day - start).days
        curve = pmc.continue_pmc(
            loads[offset:],
            ctl_before=previous.ctl,
            atl_before=previous.atl,
            ctl_days=profile.ctl_days,
            atl_days=profile.atl_days,
        )
        earlier = session.execute(
            select(DailyMetrics.ctl)
            .where(DailyMetrics.day >= max(start, from_day - timedelta(days=7)))
            .where(DailyMetrics.day < from_day)
            .order_by(DailyMetrics.day)
        ).scalars()
        prefix = np.asarray(list(earlier), dtype=np.float64)
        ramp = pmc.ramp_rate(np.concatenate((prefix, curve.ctl)))[prefix.size :]
        session.execute(delete(DailyMetrics).where(DailyMetrics.day >= from_day))
    else:
        curve = pmc.pmc(loads, ctl_days=profile.ctl_days, atl_days=profile.atl_days)
        ramp = pmc.ramp_rate(curve.ctl)
        session.execute(delete(DailyMetrics))
    ewma = pmc.acwr(loads, method="ewma").ratio[offset:]
    rolling = pmc.acwr(loads, method="rolling_coupled").ratio[offset:]
    foster = pmc.monotony_strain(loads)
    days = [start + timedelta(days=offset + i) for i in range(curve.ctl.size)]
    session.execute(
        text(
            "INSERT INTO daily_metrics (day, load, activities, ctl, atl, tsb, tsb_today, ramp, "
            "acwr_ewma, acwr_rolling, monotony, strain, computed_at) SELECT *, clock_timestamp() "
            "FROM unnest("
            "CAST(:day AS date[]), CAST(:load AS float8[]), CAST(:activities AS int2[]), "
            "CAST(:ctl AS float8[]), CAST(:atl AS float8[]), CAST(:tsb AS float8[]), "
            "CAST(:tsb_today AS float8[]), CAST(:ramp AS float8[]), CAST(:ewma AS float8[]), "
            "CAST(:rolling AS float8[]), CAST(:monotony AS float8[]), CAST(:strain AS float8[]))"
        ),
        {
            "day": "{" + ",".join(day.isoformat() for day in days) + "}",
            "load": _literal(loads[offset:]),
            "activities": _literal(counts[offset:]),
            "ctl": _literal(curve.ctl),
            "atl": _literal(curve.atl),
            "tsb": _literal(curve.tsb),
            "tsb_today": _literal(curve.ctl - curve.atl),
            "ramp": _literal(ramp),
            "ewma": _literal(ewma, nan_is_null=True),
            "rolling": _literal(rolling, nan_is_null=True),
            "monotony": _literal(foster.monotony[offset:], nan_is_null=True),
            "strain": _literal(foster.strain[offset:], nan_is_null=True),
        },
    )
    return days[0] if days else None


# --- estimates -----------------------------------------------------------------------------


def recompute_estimates(
    session: Session, thresholds: Thresholds, from_day: date | None = None
) -> int:
    """Athlete estimates as of each day with a run or a ride from ``from_day`` on; returns the
    rows written. Each row's ``inputs`` names what it was computed from."""
    rows: list[dict[str, Any]] = []
    runs = session.execute(
        select(Activity.local_date, ActivityMetrics.effective_vo2max, ActivityMetrics.moving_s)
        .join(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .where(ActivityMetrics.effective_vo2max.is_not(None))
        .where(Activity.excluded_from_estimates_at.is_(None))
        .order_by(Activity.local_date)
    ).all()
    run_days = np.array([d.toordinal() for d, _, _ in runs], dtype=np.int64)
    run_values = np.array([v for _, v, _ in runs], dtype=np.float64)
    run_weights = np.array([w or 0.0 for _, _, w in runs], dtype=np.float64)
    ride_days, vdot_days = thresholds.estimate_days()
    predictions: dict[tuple[float, float], dict[str, estimates.RacePrediction]] = {}

    def add(kind: str, day: date, value: float | None, inputs: dict[str, Any]) -> None:
        if value is not None and math.isfinite(value):
            rows.append({"kind": kind, "day": day, "value": float(value), "inputs": inputs})

    for day in sorted(ride_days | vdot_days):
        if from_day is not None and day < from_day:
            continue
        used = thresholds.resolve(day)
        if "hr_max_bpm" in used and "hr_rest_bpm" in used:
            hr_max, hr_rest = used["hr_max_bpm"], used["hr_rest_bpm"]
            value = float(estimates.uth_sorensen_vo2max(hr_max["value"], hr_rest["value"]))
            add("vo2max_uth_sorensen", day, value, {"hr_max": hr_max, "hr_rest": hr_rest})
        if day in ride_days:
            fit = thresholds.cycling_fit(day)
            if fit is not None:
                cp, inputs = fit
                add("cp_w", day, cp.cp_w, inputs)
                add("w_prime_j", day, cp.w_prime_j, inputs)
                eftp = estimates.estimated_ftp(cp.cp_w, cp.w_prime_j)
                add("eftp_w", day, eftp, {**inputs, "convention": "twenty_minute"})
        if day in vdot_days:
            best = thresholds.best_vdot(day)
            if best is not None:
                vdot, inputs = best
                add("vdot", day, vdot, inputs)
                key = (inputs["distance_m"], inputs["time_s"])
                if key not in predictions:
                    predictions[key] = estimates.race_predictions(*key)
                for name, prediction in predictions[key].items():
                    add(f"race_{name}_riegel_s", day, prediction.riegel_s, inputs)
                    add(f"race_{name}_vdot_s", day, prediction.vdot_s, inputs)
            end = day.toordinal()
            lo = np.searchsorted(run_days, end - RUNALYZE_SHAPE_DAYS, side="right")
            hi = np.searchsorted(run_days, end, side="right")
            shape = estimates.runalyze_shape(run_values[lo:hi], run_weights[lo:hi])
            add(
                "vo2max_runalyze",
                day,
                shape,
                {"runs": int(hi - lo), "window_days": RUNALYZE_SHAPE_DAYS, "correction": 1.0},
            )
    query = delete(AthleteEstimate)
    if from_day is not None:
        query = query.where(AthleteEstimate.day >= from_day)
    session.execute(query)
    if rows:
        session.execute(insert(AthleteEstimate), rows)
    return len(rows)


# --- entry points --------------------------------------------------------------------------


def _one_at_a_time(session: Session) -> None:
    """Wait for any other recompute (the import runner, a sync, the CLI) to commit first: two
    would rewrite the same days. Released with the transaction."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("metrics")})


def recompute_all(
    sessions: sessionmaker[Session],
    from_day: date | None = None,
    *,
    progress: Progress | None = None,
    today: date | None = None,
) -> RecomputeResult:
    """Rebuild activity metrics, the daily series and estimates (from ``from_day`` when
    given: activities before it keep their stored metrics and feed the estimates). One
    transaction: a failure keeps what was stored before."""
    with sessions.begin() as session:
        _one_at_a_time(session)
        thresholds = load_thresholds(session)
        if from_day is not None:
            _stored_history(session, thresholds, Activity.local_date < from_day)
            items = _inputs(session, Activity.local_date >= from_day)
        else:
            items = _inputs(session, Activity.id.is_not(None))
        _compute(session, items, thresholds, progress, read_ahead=True)
        first = recompute_days(session, from_day, today=today)
        recompute_estimates(session, thresholds, from_day)
    return RecomputeResult(activities=len(items), rechecked=0, from_day=first)


def recompute_changed(
    session: Session,
    activity_ids: Iterable[int],
    earliest_day: date | None = None,
    *,
    today: date | None = None,
    read_ahead: bool = False,
) -> RecomputeResult:
    """The incremental path: ``activity_ids`` (plus any activity without current metrics),
    later activities whose estimated thresholds changed, then days and estimates from the
    earliest date touched. ``read_ahead``: every sample was committed before this transaction
    began (see ``_sample_batches``)."""
    _one_at_a_time(session)
    wanted = set(activity_ids) | set(_stale(session))
    days = [earliest_day] if earliest_day is not None else []
    if wanted:
        days.append(
            session.execute(
                select(func.min(Activity.local_date)).where(Activity.id.in_(wanted))
            ).scalar_one()
        )
    days = [d for d in days if d is not None]
    if not days:
        return RecomputeResult(0, 0, None)
    since = min(days)
    thresholds = recompute_activities(session, wanted, read_ahead=read_ahead)
    changed = [i for i in _threshold_changes(session, thresholds, since) if i not in wanted]
    if changed:
        recompute_activities(session, changed, thresholds=thresholds, read_ahead=read_ahead)
    first = recompute_days(session, since, today=today)
    recompute_estimates(session, thresholds, since)
    return RecomputeResult(len(wanted) + len(changed), len(changed), first)


def after_import(
    session_factory: sessionmaker[Session],
    activity_ids: Iterable[int],
    earliest_day: date | None = None,
    *,
    today: date | None = None,
) -> RecomputeResult | None:
    """The hook run after an import job or a sync run: :func:`recompute_changed` in one
    transaction. It never raises: the import or sync already succeeded, and whatever is left
    uncomputed is found again by the next run (activities without metrics) or by
    ``domestique recompute``."""
    try:
        with session_factory.begin() as session:
            return recompute_changed(
                session, activity_ids, earliest_day, today=today, read_ahead=True
            )
    except Exception:
        log.exception("recomputing metrics after an import failed")
        return None
