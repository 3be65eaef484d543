"""The owner's training profile on the Settings page: sex, birth year, HR-zone model, dated
thresholds (FTP, LTHR, HRmax, HRrest, threshold pace, weight), units, fitness/fatigue time
constants, which form (TSB) is shown, and the nightly sync time.

A changed threshold is stored as a new value valid from the date the owner gives (today by
default), so older activities keep the thresholds of their day. Saving says whether metrics
must be recomputed and from when; the page offers it rather than doing it unasked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.i18n import METERS_PER_MILE, POUNDS_PER_KG, _
from app.models import Activity
from app.models.metrics import THRESHOLD_KINDS, ActivityMetrics, AthleteThreshold
from app.models.owner import Owner, get_owner

SEXES = ("male", "female")
ZONE_MODELS = ("lthr", "hrmax", "hrr")
UNITS = ("metric", "imperial")
TSB_VARIANTS = ("yesterday", "today")
LIMITS: dict[str, tuple[float, float]] = {
    "ftp_w": (30, 700),
    "lthr_bpm": (80, 220),
    "hr_max_bpm": (100, 240),
    "hr_rest_bpm": (25, 120),
    "threshold_pace_s_per_km": (120, 900),
    "weight_kg": (25, 250),
}
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_PACE = re.compile(r"^(\d{1,2}):([0-5]\d)$")


class ProfileError(ValueError):
    """A value the owner typed cannot be used; the message says which and why."""


@dataclass(frozen=True)
class ThresholdView:
    kind: str
    owner_value: float | None  # the owner's value in force today
    owner_since: date | None
    in_use: float | None  # what the newest activity was computed with
    in_use_source: str | None  # "owner" (a stored value) or an estimate's name


@dataclass(frozen=True)
class Saved:
    recompute_from: date | None  # metrics must be recomputed from this day (None: no need)
    schedule_changed: bool  # the nightly sync's or the morning decision's time


def thresholds_view(session: Session, today: date) -> list[ThresholdView]:
    rows = session.execute(
        select(AthleteThreshold.kind, AthleteThreshold.value, AthleteThreshold.valid_from)
        .where(AthleteThreshold.source == "owner", AthleteThreshold.valid_from <= today)
        .order_by(AthleteThreshold.kind, AthleteThreshold.valid_from)
    ).all()
    current: dict[str, tuple[float, date]] = {}
    for kind, value, since in rows:
        current[kind] = (value, since)  # the latest valid_from wins
    used = (
        session.execute(
            select(ActivityMetrics.thresholds_used)
            .join(Activity, Activity.id == ActivityMetrics.activity_id)
            .order_by(Activity.start_time.desc())
            .limit(1)
        ).scalar()
        or {}
    )
    views = []
    for kind in THRESHOLD_KINDS:
        value, since = current.get(kind, (None, None))
        entry: dict[str, Any] = used.get(kind) or {}
        views.append(
            ThresholdView(
                kind=kind,
                owner_value=value,
                owner_since=since,
                in_use=entry.get("value") if isinstance(entry, dict) else None,
                in_use_source=_origin(entry.get("source")) if isinstance(entry, dict) else None,
            )
        )
    return views


def _origin(source: Any) -> str | None:
    """``thresholds_used`` names a stored value by its row (``owner:2025-01-01``, or
    ``estimated:2025-01-01`` for an estimate the owner accepted) and an estimate by how it was
    made (``estimated:eftp_90d``): ``"owner"`` for the first two, the estimate's name else."""
    if not isinstance(source, str):
        return None
    head, _sep, tail = source.partition(":")
    try:
        date.fromisoformat(tail)
    except ValueError:
        return tail or head
    return "owner"


def parse_threshold(kind: str, text: str, units: str) -> float | None:
    """The owner's typed value in our units (W, bpm, s/km, kg); None for an empty field."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    if kind == "threshold_pace_s_per_km":
        match = _PACE.match(text)
        if not match:
            raise ProfileError(_("Enter the threshold pace as minutes:seconds, e.g. 4:30."))
        seconds = int(match.group(1)) * 60 + int(match.group(2))
        value = seconds * 1000 / METERS_PER_MILE if units == "imperial" else float(seconds)
    else:
        try:
            value = float(text)
        except ValueError as exc:
            raise ProfileError(_("“%(value)s” is not a number.", value=text)) from exc
        if kind == "weight_kg" and units == "imperial":
            value /= POUNDS_PER_KG
    low, high = LIMITS[kind]
    if not low <= value <= high:
        raise ProfileError(_("“%(value)s” is outside the range this setting allows.", value=text))
    return value


def save(
    session: Session,
    *,
    today: date,
    sex: str | None,
    birth_year: int | None,
    hr_zone_model: str,
    units: str,
    sync_time: str | None,
    ctl_days: int,
    atl_days: int,
    tsb_variant: str,
    thresholds: dict[str, str],
    valid_from: date | None,
    morning_time: str | None = None,
) -> Saved:
    """Validate and store everything, in one transaction of the caller's session."""
    owner: Owner | None = get_owner(session)
    if owner is None:
        raise ProfileError(_("There is no owner yet."))
    if sex not in (None, *SEXES):
        raise ProfileError(_("Unknown sex."))
    if hr_zone_model not in ZONE_MODELS or units not in UNITS or tsb_variant not in TSB_VARIANTS:
        raise ProfileError(_("Unknown choice."))
    if birth_year is not None and not 1900 <= birth_year <= today.year - 5:
        raise ProfileError(_("Enter a birth year such as 1988."))
    if sync_time is not None and not _TIME.match(sync_time):
        raise ProfileError(_("Enter the sync time as HH:MM, e.g. 04:30."))
    if morning_time is not None and not _TIME.match(morning_time):
        raise ProfileError(_("Enter the morning decision's time as HH:MM, e.g. 06:00."))
    if not (7 <= ctl_days <= 90 and 2 <= atl_days <= 21 and atl_days < ctl_days):
        raise ProfileError(
            _("Fitness takes 7–90 days, fatigue 2–21 days, and fatigue must be the shorter.")
        )
    since = valid_from or today
    if since > today:
        raise ProfileError(_("A threshold cannot start in the future."))
    parsed = {kind: parse_threshold(kind, thresholds.get(kind, ""), units) for kind in LIMITS}

    recompute: date | None = None
    everything = (sex, birth_year, hr_zone_model, ctl_days, atl_days) != (
        owner.sex,
        owner.birth_year,
        owner.hr_zone_model,
        owner.ctl_days,
        owner.atl_days,
    )
    current = {view.kind: view.owner_value for view in thresholds_view(session, since)}
    for kind, value in parsed.items():
        if value is None or (current.get(kind) is not None and abs(current[kind] - value) < 1e-6):
            continue
        session.execute(
            insert(AthleteThreshold)
            .values(kind=kind, value=value, valid_from=since, source="owner")
            .on_conflict_do_update(
                index_elements=["kind", "valid_from", "source"], set_={"value": value}
            )
        )
        recompute = since if recompute is None else min(recompute, since)
    schedule_changed = (sync_time or None, morning_time or None) != (
        owner.sync_time,
        owner.morning_time,
    )
    owner.morning_time = morning_time or None
    owner.sex, owner.birth_year, owner.hr_zone_model = sex, birth_year, hr_zone_model
    owner.units, owner.sync_time, owner.tsb_variant = units, sync_time or None, tsb_variant
    owner.ctl_days, owner.atl_days = ctl_days, atl_days
    session.flush()
    if everything:
        first = session.execute(select(Activity.local_date).order_by(Activity.local_date)).scalar()
        if first is not None:
            recompute = first if recompute is None else min(recompute, first)
    return Saved(recompute_from=recompute, schedule_changed=schedule_changed)


def input_value(kind: str, value: float | None, units: str) -> str:
    """A stored threshold as the owner types it (the inverse of ``parse_threshold``)."""
    if value is None:
        return ""
    if kind == "threshold_pace_s_per_km":
        seconds = round(value * METERS_PER_MILE / 1000 if units == "imperial" else value)
        return f"{seconds // 60}:{seconds % 60:02d}"
    if kind == "weight_kg":
        return f"{value * POUNDS_PER_KG:.1f}" if units == "imperial" else f"{value:.1f}"
    return f"{value:.0f}"


def unit_of(kind: str, units: str) -> str:
    return {
        "ftp_w": "W",
        "lthr_bpm": "bpm",
        "hr_max_bpm": "bpm",
        "hr_rest_bpm": "bpm",
        "threshold_pace_s_per_km": "/mi" if units == "imperial" else "/km",
        "weight_kg": "lb" if units == "imperial" else "kg",
    }[kind]
