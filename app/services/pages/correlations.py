"""“What is working”: lagged correlations between the owner's daily inputs (sleep, HRV, resting
HR, stress, body battery, breathing, readiness, weight, steps, training load, fitness and form)
and outcomes (efficiency
factor of steady runs and rides, decoupling, readiness, HRV, resting HR), told as sentences.

The statistics are ``app.analytics.correlations.findings``: Pearson and Spearman for lags 0–7
(input on day d − k, outcome on day d), p from the effective sample size corrected for lag-1
autocorrelation (Bretherton et al. 1999), Benjamini–Hochberg over every pair and lag tested,
and the gates: effective n ≥ 30, |r| ≥ 0.3, q ≤ 0.05, the same sign in both halves of the data.
Each series is first taken as its deviation from its own previous 28 days (``BASELINE_DAYS``):
weight, fitness and seasons drift for months, and two drifting series correlate without any
relation — with raw values, 15 independent random walks gave hundreds of false findings, with
deviations none (see the correlations module's tests). The effect in the sentence is measured
on the raw values: the outcome's mean after the input's top-third days against its bottom third.

Nothing is shown that fails a gate; with too little data the page says so instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import Select, and_, func, select, text
from sqlalchemy.orm import Session

from app.analytics import correlations
from app.i18n import _, format_number, format_weight, ngettext
from app.models import Activity, DailyWellness
from app.models.metrics import ActivityMetrics, DailyMetrics

BASELINE_DAYS = 28
LAGS = range(8)
MIN_DAYS = 60  # below this, nothing can pass the effective-n gate; skip the work


@dataclass(frozen=True)
class Metric:
    key: str
    label: Callable[[], str]  # translated at render time
    unit: str  # "h", "bpm", "ms", "/min", "kg", "%" or "": see _amount
    digits: int
    better: int  # +1 higher is better, −1 lower is better, 0 neither (inputs)

    def unit_label(self) -> str:
        """The unit as a chart shows it, in the owner's language (h, 시간)."""
        return {"h": _("h"), "/min": _("breaths/min")}.get(self.unit, self.unit)


INPUTS: tuple[Metric, ...] = (
    Metric("sleep_h", lambda: _("sleep"), "h", 1, 0),
    Metric("sleep_score", lambda: _("sleep score"), "", 0, 0),
    Metric("deep_sleep_h", lambda: _("deep sleep"), "h", 1, 0),
    Metric("rem_sleep_h", lambda: _("REM sleep"), "h", 1, 0),
    Metric("hrv_ms", lambda: _("HRV"), "ms", 0, 0),
    Metric("resting_hr", lambda: _("resting heart rate"), "bpm", 0, 0),
    Metric("stress", lambda: _("stress"), "", 0, 0),
    Metric("body_battery", lambda: _("Body Battery"), "", 0, 0),
    Metric("body_battery_low", lambda: _("lowest Body Battery"), "", 0, 0),
    Metric("respiration", lambda: _("breathing rate"), "/min", 1, 0),
    Metric("readiness", lambda: _("training readiness"), "", 0, 0),
    Metric("weight_kg", lambda: _("weight"), "kg", 1, 0),
    Metric("steps", lambda: _("steps"), "", 0, 0),
    Metric("load", lambda: _("training load"), "", 0, 0),
    Metric("fitness", lambda: _("fitness (CTL)"), "", 0, 0),
    Metric("form", lambda: _("form (TSB)"), "", 0, 0),
)
OUTCOMES: tuple[Metric, ...] = (
    Metric("ef_run", lambda: _("running efficiency factor"), "", 3, +1),
    Metric("ef_ride", lambda: _("cycling efficiency factor"), "", 2, +1),
    Metric("decoupling", lambda: _("aerobic decoupling"), "%", 1, -1),
    Metric("readiness", lambda: _("training readiness"), "", 0, +1),
    Metric("hrv_ms", lambda: _("HRV"), "ms", 0, +1),
    Metric("resting_hr", lambda: _("resting heart rate"), "bpm", 0, -1),
)
_BY_KEY = {m.key: m for m in (*INPUTS, *OUTCOMES)}


@dataclass(frozen=True)
class Frame:
    """Dense daily series from ``start`` (index 0) to ``end``; NaN where a day has no value."""

    start: date
    days: int
    series: dict[str, np.ndarray]


@dataclass(frozen=True)
class Insight:
    finding: correlations.Finding
    sentence: str
    working: bool  # the outcome moves the good way with more of the input

    @property
    def input(self) -> Metric:
        return _BY_KEY[self.finding.input]

    @property
    def outcome(self) -> Metric:
        return _BY_KEY[self.finding.outcome]


@dataclass(frozen=True)
class Insights:
    days: int
    working: list[Insight]
    not_working: list[Insight]
    tested: int  # pairs × lags considered

    @property
    def enough_data(self) -> bool:
        return self.days >= MIN_DAYS


def _dense(start: date, days: int, rows: list[tuple], width: int) -> dict[int, np.ndarray]:
    """Columns 1..``width`` of ``rows`` (column 0 a date) as dense float arrays."""
    out = {i: np.full(days, np.nan) for i in range(width)}
    if not rows:
        return out
    index = np.array([(row[0] - start).days for row in rows])
    inside = (index >= 0) & (index < days)
    for i in range(width):
        values = np.array([np.nan if row[i + 1] is None else row[i + 1] for row in rows], float)
        out[i][index[inside]] = values[inside]
    return out


def _efficiency(sports: tuple[str, ...]) -> Select:
    return (
        select(
            Activity.local_date,
            func.avg(ActivityMetrics.efficiency_factor),
            func.avg(ActivityMetrics.decoupling_pct),
        )
        .join(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
        .where(
            and_(
                Activity.sport.in_(sports),
                ActivityMetrics.steady.is_(True),
                ActivityMetrics.efficiency_factor.is_not(None),
            )
        )
        .group_by(Activity.local_date)
    )


def build_frame(session: Session, today: date) -> Frame | None:
    """The owner's daily inputs and outcomes, from the first day with any value to ``today``."""
    firsts = [
        session.execute(select(func.min(DailyWellness.day))).scalar(),
        session.execute(select(func.min(DailyMetrics.day))).scalar(),
    ]
    first = min((day for day in firsts if day is not None), default=None)
    if first is None or first > today:
        return None
    days = (today - first).days + 1
    w = DailyWellness
    wellness = _dense(
        first,
        days,
        session.execute(
            select(
                w.day,
                w.sleep_s / 3600.0,
                w.sleep_score,
                w.sleep_deep_s / 3600.0,
                w.sleep_rem_s / 3600.0,
                func.coalesce(w.hrv_rmssd_ms, w.hrv_sdnn_ms),
                w.resting_hr,
                w.stress_avg,
                w.body_battery_high,
                w.body_battery_low,
                w.respiratory_rate,
                w.training_readiness,
                w.weight_kg,
                w.steps,
            ).where(w.day >= first, w.day <= today)
        ).all(),
        13,
    )
    keys = (
        "sleep_h",
        "sleep_score",
        "deep_sleep_h",
        "rem_sleep_h",
        "hrv_ms",
        "resting_hr",
        "stress",
        "body_battery",
        "body_battery_low",
        "respiration",
        "readiness",
        "weight_kg",
        "steps",
    )
    series = {key: wellness[i] for i, key in enumerate(keys)}
    load = _dense(
        first,
        days,
        session.execute(
            select(DailyMetrics.day, DailyMetrics.load, DailyMetrics.ctl, DailyMetrics.tsb).where(
                DailyMetrics.day <= today
            )
        ).all(),
        3,
    )
    series["load"], series["fitness"], series["form"] = load[0], load[1], load[2]
    runs = _dense(first, days, session.execute(_efficiency(("running",))).all(), 2)
    rides = _dense(first, days, session.execute(_efficiency(("cycling",))).all(), 2)
    series["ef_run"] = runs[0]
    series["ef_ride"] = rides[0]
    series["decoupling"] = np.where(np.isnan(runs[1]), rides[1], runs[1])
    return Frame(first, days, series)


def _amount(metric: Metric, value: float) -> str:
    """``value`` with its unit, in the owner's language and units (7.5 h, 7.5시간; 154 lb)."""
    if metric.unit == "kg":
        return format_weight(value, metric.digits)
    text = format_number(value, metric.digits)
    if metric.unit == "h":
        return _("%(hours)s h", hours=text)
    if metric.unit == "bpm":
        return _("%(bpm)s bpm", bpm=text)
    if metric.unit == "ms":
        return _("%(ms)s ms", ms=text)
    if metric.unit == "/min":
        return _("%(value)s breaths/min", value=text)
    if metric.unit == "%":
        return _("%(value)s %%", value=text)
    return text


def significance(q: float) -> str:
    """The false-discovery-adjusted p of a finding as it is written: “q = 0.002”, and
    “q < 0.001” below what three decimals show (never “q = < 0.001” or “q = 0.000”)."""
    if q < 0.001:
        return f"q < {format_number(0.001, 3)}"
    return f"q = {format_number(q, 3)}"


def _percent(value: float) -> str:
    """A relative change: whole percent, one decimal when it would round to 0 %."""
    return _("%(value)s %%", value=format_number(value, 0 if round(value) else 1))


def sentence(finding: correlations.Finding) -> str:
    """One plain sentence in the owner's language."""
    effect = finding.effect
    source, target = _BY_KEY[finding.input], _BY_KEY[finding.outcome]
    higher = effect.difference > 0
    if effect.difference_percent is not None:
        change = _percent(abs(effect.difference_percent))
    else:
        change = _amount(target, abs(effect.difference))
    values = {
        "input": source.label(),
        "threshold": _amount(source, effect.high_threshold),
        "outcome": target.label(),
        "change": change,
        "pairs": format_number(finding.n),
        "q": significance(finding.q),
    }
    # %(q)s is written whole (“q = 0.002”, “q < 0.001”); Korean particles after %(input)s and
    # %(outcome)s are written 이(가) and agree with the name once it is filled in.
    if finding.lag == 0:
        if higher:
            return _(
                "On days with %(input)s of %(threshold)s or more, your %(outcome)s is "
                "%(change)s higher (n = %(pairs)s, %(q)s).",
                **values,
            )
        return _(
            "On days with %(input)s of %(threshold)s or more, your %(outcome)s is "
            "%(change)s lower (n = %(pairs)s, %(q)s).",
            **values,
        )
    if higher:
        return ngettext(
            "%(num)d day after %(input)s of %(threshold)s or more, your %(outcome)s is "
            "%(change)s higher (n = %(pairs)s, %(q)s).",
            "%(num)d days after %(input)s of %(threshold)s or more, your %(outcome)s is "
            "%(change)s higher (n = %(pairs)s, %(q)s).",
            finding.lag,
            **values,
        )
    return ngettext(
        "%(num)d day after %(input)s of %(threshold)s or more, your %(outcome)s is "
        "%(change)s lower (n = %(pairs)s, %(q)s).",
        "%(num)d days after %(input)s of %(threshold)s or more, your %(outcome)s is "
        "%(change)s lower (n = %(pairs)s, %(q)s).",
        finding.lag,
        **values,
    )


def what_is_working(frame: Frame | None, *, strongest_lag_only: bool = True) -> Insights:
    """Every finding that passes the gates, split by whether the outcome moves the good way."""
    if frame is None or frame.days < MIN_DAYS:
        return Insights(frame.days if frame else 0, [], [], 0)
    inputs = {m.key: frame.series[m.key] for m in INPUTS}
    outcomes = {m.key: frame.series[m.key] for m in OUTCOMES}
    found = correlations.findings(inputs, outcomes, lags=LAGS, baseline_days=BASELINE_DAYS)
    kept: list[correlations.Finding] = []
    seen: set[tuple[str, str]] = set()
    for finding in found:  # strongest evidence first
        pair = (finding.input, finding.outcome)
        if finding.input == finding.outcome:
            continue  # a series' own autocorrelation is not an insight
        if strongest_lag_only and pair in seen:
            continue  # neighbouring lags of one relation say the same thing
        seen.add(pair)
        kept.append(finding)
    working, not_working = [], []
    for finding in kept:
        good = _BY_KEY[finding.outcome].better * (1 if finding.effect.difference > 0 else -1) > 0
        insight = Insight(finding, sentence(finding), good)
        (working if good else not_working).append(insight)
    tested = len(INPUTS) * len(OUTCOMES) * len(LAGS)
    return Insights(frame.days, working, not_working, tested)


def pair_points(frame: Frame, input_key: str, outcome_key: str, lag: int) -> tuple[list, list]:
    """The (input on day d − lag, outcome on day d) pairs where both exist, for a scatter."""
    x = frame.series[input_key]
    y = frame.series[outcome_key]
    if lag:
        x = np.concatenate([np.full(lag, np.nan), x[:-lag]])
    both = np.isfinite(x) & np.isfinite(y)
    return x[both].tolist(), y[both].tolist()


def data_version(session: Session) -> tuple:
    """Changes whenever anything the Insights page shows can change: an import, a sync, a
    recompute, a new day."""
    from app.services.metrics.recompute import owner_today

    row = session.execute(text("SELECT " + ", ".join(DATA_VERSION_COLUMNS))).one()
    return (*row, owner_today(session))


# What ``data_version`` reads (a caller with a statement of its own adds them to it).
DATA_VERSION_COLUMNS = (
    "(SELECT max(computed_at) FROM daily_metrics)",
    "(SELECT max(updated_at) FROM daily_wellness)",
    "(SELECT max(computed_at) FROM athlete_estimate)",
    "(SELECT max(computed_at) FROM activity_metrics)",
    "(SELECT count(*) FROM activity_metrics)",
    "(SELECT count(*) FROM daily_wellness)",
    "(SELECT count(*) FROM athlete_estimate)",
)
