"""Every source's daily wellness values, and which one wins each metric group.

Each source's values for a day are kept in ``daily_wellness_source`` (merged field by field
when the source sends the day again). ``daily_wellness`` is the resolved view the pages and
analytics read: for each field, the value of

1. the owner's chosen source for the field's metric group (``owner.wellness_preference``),
   when that source has a value for the field that day;
2. otherwise, by default, Oura for sleep and readiness while an Oura connection is connected;
3. otherwise the source with the highest ``SOURCE_PRIORITY`` that has a value (equal priority:
   the source whose values for the day changed last, so a re-import of a corrected file wins).

A value no source row supplies (kept from before the sources were stored separately) stays.
``daily_wellness.sources`` names the winner of every field.

Resolving is set-based: a batch of days costs a constant number of queries (lock the rows,
read the source rows, read the preference, write the changed rows), whatever its size.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app import records
from app.i18n import _
from app.models import DailyWellness
from app.models.owner import get_owner
from app.records import WELLNESS_FIELDS, WELLNESS_TABLE, finite
from app.services.wellness.trends import source_label

# When the owner has not chosen, the higher priority wins a field.
SOURCE_PRIORITY = {
    "garmin": 30,
    "garmin_export": 30,
    "oura": 25,
    "fit": 20,
    "strava": 15,
    "apple_health": 10,
}

# Metric group → the fields it covers, in the order of ``app.records.WELLNESS_TABLE``.
GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(field.name for field in WELLNESS_TABLE if field.group == group)
    for group in dict.fromkeys(field.group for field in WELLNESS_TABLE)
}
GROUP_OF: dict[str, str] = {name: group for group, names in GROUPS.items() for name in names}
# Groups Oura wins by default while it is connected (the ring is worn at night).
OURA_DEFAULT_GROUPS = ("sleep", "readiness")
OURA = "oura"

BATCH_DAYS = 1000


class WellnessSourceError(ValueError):
    """A choice the owner can correct; ``str(error)`` is a translated message."""


def group_label(group: str) -> str:
    labels = {
        "sleep": _("Sleep"),
        "readiness": _("Readiness and HRV"),
        "heart": _("Resting heart rate"),
        "activity": _("Steps and calories"),
        "stress": _("Stress"),
        "breathing": _("Blood oxygen and breathing"),
        "body": _("Weight and body composition"),
        "fitness": _("VO2max"),
    }
    return labels.get(group, group)


def group_about(group: str) -> str:
    about = {
        "sleep": _("Sleep time, stages and score."),
        "readiness": _("Readiness, heart rate variability and Body Battery."),
        "heart": _("Resting heart rate."),
        "activity": _("Steps and active calories."),
        "stress": _("Average stress of the day."),
        "breathing": _("Blood oxygen (SpO2) and breathing rate."),
        "body": _("Weight and body fat."),
        "fitness": _("VO2max estimates for running and cycling."),
    }
    return about.get(group, "")


# --- the rule (pure) ------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceValues:
    """One source's stored values for one day."""

    source: str
    values: Mapping[str, float]
    updated_at: datetime | None = None


def automatic_preference(*, oura_connected: bool) -> dict[str, str]:
    """The groups decided without the owner: Oura's while it is connected, else none."""
    return {group: OURA for group in OURA_DEFAULT_GROUPS} if oura_connected else {}


def effective_preference(chosen: Mapping[str, str] | None, *, oura_connected: bool) -> dict:
    """The owner's valid choices over the automatic ones."""
    preference = automatic_preference(oura_connected=oura_connected)
    for group, source in (chosen or {}).items():
        if group in GROUPS and isinstance(source, str) and source:
            preference[group] = source
    return preference


def _rank(row: SourceValues) -> tuple:
    stamp = row.updated_at.timestamp() if row.updated_at is not None else 0.0
    return (SOURCE_PRIORITY.get(row.source, 0), stamp, row.source)


def resolve_day(
    rows: Sequence[SourceValues], preference: Mapping[str, str]
) -> tuple[dict[str, float], dict[str, str]]:
    """The day's value of every field some source has, and the source each came from."""
    ranked = sorted(rows, key=_rank, reverse=True)
    values: dict[str, float] = {}
    sources: dict[str, str] = {}
    for name in WELLNESS_FIELDS:
        preferred = preference.get(GROUP_OF[name])
        winner = None
        for row in ranked:
            if _clean(row.values.get(name)) is None:
                continue
            if row.source == preferred:
                winner = row
                break
            winner = winner or row
        if winner is not None:
            values[name] = float(winner.values[name])
            sources[name] = winner.source
    return values, sources


def jsonable(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSONB refuses them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


_clean = finite


# --- storing and resolving ------------------------------------------------------------------

# Statements built from WELLNESS_FIELDS and GROUPS (constants), never from input: S608 is moot.
_COLUMNS = ", ".join(WELLNESS_FIELDS)
_RECORD = ", ".join(f"{name} float8" for name in WELLNESS_FIELDS)

_ENSURE_ROWS = text(
    "INSERT INTO daily_wellness (day) SELECT unnest(CAST(:days AS date[])) "
    "ON CONFLICT (day) DO NOTHING"
)
_LOCK_ROWS = text(
    f"SELECT day, {_COLUMNS}, sources FROM daily_wellness "  # noqa: S608
    "WHERE day = ANY(CAST(:days AS date[])) ORDER BY day FOR UPDATE"
)
_UPSERT_SOURCES = text(
    'INSERT INTO daily_wellness_source (day, source, "values", extras) '
    'SELECT r.day, r.source, r."values", r.extras '
    "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
    'AS r(day date, source varchar, "values" jsonb, extras jsonb) '
    "ON CONFLICT (day, source) DO UPDATE SET "
    '"values" = daily_wellness_source."values" || EXCLUDED."values", '
    "extras = daily_wellness_source.extras || EXCLUDED.extras, updated_at = now() "
    'WHERE daily_wellness_source."values" || EXCLUDED."values" '
    'IS DISTINCT FROM daily_wellness_source."values" '
    "OR daily_wellness_source.extras || EXCLUDED.extras IS DISTINCT FROM "
    "daily_wellness_source.extras"
)
_SOURCE_ROWS = text(
    'SELECT day, source, "values", updated_at FROM daily_wellness_source '
    "WHERE day = ANY(CAST(:days AS date[]))"
)
_PREFERENCE = text(
    "SELECT (SELECT wellness_preference FROM owner LIMIT 1), "
    "EXISTS (SELECT 1 FROM connection WHERE source = 'oura' AND status = 'connected')"
)
_WRITE_ROWS = text(
    "UPDATE daily_wellness AS w SET "  # noqa: S608
    + ", ".join(f"{name} = r.{name}" for name in WELLNESS_FIELDS)
    + ", sources = r.sources, updated_at = now() "
    f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(day date, {_RECORD}, sources jsonb) "
    "WHERE w.day = r.day"
)


def store_sources(session: Session, entries: Iterable[records.DailyWellness]) -> list[date]:
    """Upsert each source's values (and extras) per day, merged field by field with what that
    source sent before (one statement); returns the days the entries name, sorted."""
    merged: dict[tuple[date, str], tuple[dict[str, float], dict[str, Any]]] = {}
    days: set[date] = set()
    for entry in entries:
        days.add(entry.day)
        values, extras = merged.setdefault((entry.day, entry.source), ({}, {}))
        for name, value in entry.values.items():
            value = _clean(value)
            if name in WELLNESS_FIELDS and value is not None:
                values[name] = value
        extras.update(jsonable(entry.extras or {}))
    rows = [
        {"day": day.isoformat(), "source": source, "values": values, "extras": extras}
        for (day, source), (values, extras) in merged.items()
        if values or extras
    ]
    if rows:
        session.execute(_UPSERT_SOURCES, {"rows": json.dumps(rows, default=str)})
    return sorted(days)


def _preference(session: Session) -> dict[str, str]:
    chosen, oura_connected = session.execute(_PREFERENCE).one()
    return effective_preference(chosen, oura_connected=bool(oura_connected))


def _lock(session: Session, days: list[date]) -> dict[date, Any]:
    """The ``daily_wellness`` rows of ``days``, locked in day order."""
    return {row.day: row for row in session.execute(_LOCK_ROWS, {"days": days})}


def _resolve_batch(
    session: Session,
    days: list[date],
    current: Mapping[date, Any],
    preference: Mapping[str, str],
) -> list[date]:
    """Rebuild the ``daily_wellness`` rows of ``days`` (``current``, locked) from their source
    rows; returns the days whose values or sources changed."""
    by_day: dict[date, list[SourceValues]] = {}
    for day, source, values, updated_at in session.execute(_SOURCE_ROWS, {"days": days}):
        by_day.setdefault(day, []).append(SourceValues(source, values or {}, updated_at))
    changed: list[dict[str, Any]] = []
    touched: list[date] = []
    for day in days:
        row = current.get(day)
        rows = by_day.get(day)
        if row is None or not rows:
            continue
        kept = {name: getattr(row, name) for name in WELLNESS_FIELDS}
        kept_sources = dict(row.sources or {})
        values, sources = resolve_day(rows, preference)
        new_values = {**kept, **values}
        new_sources = {**kept_sources, **sources}
        if new_values == kept and new_sources == kept_sources:
            continue
        touched.append(day)
        changed.append({"day": day.isoformat(), **new_values, "sources": new_sources})
    if changed:
        session.execute(_WRITE_ROWS, {"rows": json.dumps(changed)})
    return touched


def _expire_loaded_rows(session: Session) -> None:
    """ORM objects of ``daily_wellness`` loaded earlier in this session are stale now."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, DailyWellness):
            session.expire(obj)


def merge(session: Session, entries: Sequence[records.DailyWellness]) -> list[date]:
    """Keep the entries' values per source, then resolve their days (see the module
    docstring); returns the days whose resolved values changed, oldest first."""
    if not entries:
        return []
    session.flush()
    days = sorted({entry.day for entry in entries})
    touched: list[date] = []
    preference: dict[str, str] | None = None
    for start in range(0, len(days), BATCH_DAYS):
        batch = days[start : start + BATCH_DAYS]
        batch_set = set(batch)
        # Create the missing rows, then lock the batch's rows (in day order), so a concurrent
        # merge of the same days waits and then sees this one's source values.
        session.execute(_ENSURE_ROWS, {"days": batch})
        current = _lock(session, batch)
        store_sources(session, (e for e in entries if e.day in batch_set))
        if preference is None:
            preference = _preference(session)
        touched += _resolve_batch(session, batch, current, preference)
    _expire_loaded_rows(session)
    return touched


def resolve_wellness(session: Session, days: Iterable[date] | None = None) -> list[date]:
    """Re-resolve ``days`` (every day with source values when None) after the preference or
    the Oura connection changed; returns the days whose values changed. Batches of
    ``BATCH_DAYS`` days, a constant number of queries each. A changed row's ``updated_at``
    moves, so pages that cache on it (Insights) see the change."""
    session.flush()
    if days is None:
        wanted = list(
            session.execute(
                text("SELECT DISTINCT day FROM daily_wellness_source ORDER BY day")
            ).scalars()
        )
    else:
        wanted = sorted(set(days))
    preference = _preference(session)
    touched: list[date] = []
    for start in range(0, len(wanted), BATCH_DAYS):
        batch = wanted[start : start + BATCH_DAYS]
        session.execute(_ENSURE_ROWS, {"days": batch})
        touched += _resolve_batch(session, batch, _lock(session, batch), preference)
    _expire_loaded_rows(session)
    return touched


# --- the owner's choice (Settings) ----------------------------------------------------------


@dataclass
class SourceOption:
    code: str
    label: str
    days: int  # days this source has a value of the group


@dataclass
class GroupChoice:
    group: str
    label: str
    about: str
    chosen: str  # "" = automatic
    automatic: str  # what "Automatic" means now, in words
    options: list[SourceOption] = field(default_factory=list)


def _days_by_group(session: Session) -> dict[str, dict[str, int]]:
    """Group → source → days with a value of the group (one query over the source rows)."""
    groups = list(GROUPS)
    counts = ", ".join(
        f'count(*) FILTER (WHERE "values" ?| CAST(:g{i} AS text[]))' for i in range(len(groups))
    )
    params = {f"g{i}": list(GROUPS[group]) for i, group in enumerate(groups)}
    found: dict[str, dict[str, int]] = {group: {} for group in groups}
    query = text(f"SELECT source, {counts} FROM daily_wellness_source GROUP BY source")  # noqa: S608
    for source, *numbers in session.execute(query, params):
        for group, number in zip(groups, numbers, strict=True):
            if number:
                found[group][source] = int(number)
    return found


def _automatic_words(group: str, oura_connected: bool, sources: Iterable[str]) -> str:
    if oura_connected and group in OURA_DEFAULT_GROUPS:
        return _("Oura, because it is connected; then the first other source with a value.")
    present = sorted(sources, key=lambda code: (-SOURCE_PRIORITY.get(code, 0), code))
    if not present:
        return _("The first source with a value, Garmin first.")
    names = ", ".join(source_label(code) for code in present)
    return _("The first source with a value, in this order: %(names)s.", names=names)


def choices(session: Session) -> list[GroupChoice]:
    """Every metric group with the owner's choice and the sources that have its data."""
    owner = get_owner(session)
    chosen = dict(owner.wellness_preference or {}) if owner is not None else {}
    _chosen, oura_connected = session.execute(_PREFERENCE).one()
    counts = _days_by_group(session)
    out: list[GroupChoice] = []
    for group in GROUPS:
        by_source = counts[group]
        current = chosen.get(group) or ""
        codes = sorted(by_source, key=lambda code: (-SOURCE_PRIORITY.get(code, 0), code))
        if current and current not in by_source:
            codes.append(current)
        out.append(
            GroupChoice(
                group=group,
                label=group_label(group),
                about=group_about(group),
                chosen=current,
                automatic=_automatic_words(group, bool(oura_connected), by_source),
                options=[
                    SourceOption(code, source_label(code), by_source.get(code, 0)) for code in codes
                ],
            )
        )
    return out


def save_preference(session: Session, chosen: Mapping[str, str]) -> list[date]:
    """Store the owner's source per group ("" = automatic) and re-resolve every day; returns
    the days whose values changed. Unknown groups are ignored; an unknown source is refused."""
    owner = get_owner(session)
    if owner is None:
        raise WellnessSourceError(_("There is no owner yet."))
    known = set(SOURCE_PRIORITY) | {
        code
        for code in session.execute(
            text("SELECT DISTINCT source FROM daily_wellness_source")
        ).scalars()
    }
    preference: dict[str, str] = {}
    for group in GROUPS:
        source = (chosen.get(group) or "").strip()
        if not source:
            continue
        if source not in known:
            raise WellnessSourceError(_("%(source)s is not a wellness source.", source=source[:32]))
        preference[group] = source
    owner.wellness_preference = preference
    return resolve_wellness(session)


def connection_changed(session: Session, source: str) -> list[date]:
    """A source connected or disconnected: when it changes the automatic choice (Oura), every
    day is resolved again so the shown values follow at once; returns the days that changed."""
    if source != OURA:
        return []
    return resolve_wellness(session)
