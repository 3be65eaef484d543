"""Oura API v2 JSON → our records (``DailyWellness`` per local date, ``Activity`` summaries).

Field names follow Oura's published API v2 schemas (``DailyReadinessModel``, ``SleepModel``,
``DailySleepModel``, ``DailyActivityModel``, ``DailyStressModel``, ``DailySpO2Model``,
``DailyResilienceModel``, ``VO2MaxModel``, ``PublicWorkout``), not a recording. Units: seconds,
metres, kcal, bpm, ms, breaths/min, %.

What goes where, for one local date (Oura files a night's sleep on the day it ends, as we do):

- **sleep** from the night's ``long_sleep`` period (the longest when there are several; naps,
  ``sleep``/``late_nap``/``rest`` periods and ``deleted`` ones are not the night):
  ``total_sleep_duration`` → ``sleep_s``, ``deep_sleep_duration`` / ``rem_sleep_duration`` /
  ``light_sleep_duration`` → ``sleep_deep_s`` / ``sleep_rem_s`` / ``sleep_light_s``,
  ``awake_time`` → ``sleep_awake_s``, ``average_hrv`` → ``hrv_rmssd_ms`` (Oura's HRV is rMSSD),
  ``lowest_heart_rate`` → ``resting_hr`` (Oura's resting heart rate is the night's lowest),
  ``average_breath`` → ``respiratory_rate``;
- ``daily_sleep.score`` → ``sleep_score``; ``daily_readiness.score`` → ``training_readiness``;
- ``daily_activity.steps`` → ``steps``, ``daily_activity.active_calories`` → ``active_kcal``;
- ``daily_spo2.spo2_percentage.average`` → ``spo2_avg``.

Not in ``WELLNESS_FIELDS`` and so kept in ``DailyWellness.extras`` (``wellness_extras``; stored
per source in ``daily_wellness_source.extras``, and the raw documents are kept anyway):

- **stress**: ``daily_stress.stress_high`` / ``recovery_high`` are *seconds* spent highly stressed
  or recovering, and ``day_summary`` a word; none is a 0-100 level, so ``stress_avg`` (Garmin's
  scale) stays empty;
- **VO2max**: Oura's ``vO2_max.vo2_max`` (Cardio Capacity) is estimated from a walking test and
  heart rate, not from running, so it is not ``vo2max_running``;
- readiness contributors and temperature deviation, sleep contributors, efficiency, latency,
  bedtimes and average heart rate, the activity score and total calories, resilience level and
  contributors, the breathing disturbance index.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from app.records import WELLNESS_FIELDS, Activity, DailyWellness, finite
from app.sources import SourceDataError

SOURCE = "oura"

# Oura workout ``activity`` values (snake_case; camelCase is normalized first) → FIT sport /
# sub_sport names, the vocabulary of ``app.sources.garmin.sports``. Unknown values become
# ``("generic", None)``; the original is kept in ``extras["oura_activity"]``.
SPORTS: dict[str, tuple[str, str | None]] = {
    "running": ("running", None),
    "trail_running": ("running", "trail"),
    "treadmill_running": ("running", "treadmill"),
    "walking": ("walking", None),
    "hiking": ("hiking", None),
    "cycling": ("cycling", None),
    "mountain_biking": ("cycling", "mountain"),
    "indoor_cycling": ("cycling", "indoor_cycling"),
    "swimming": ("swimming", None),
    "open_water_swimming": ("swimming", "open_water"),
    "rowing": ("rowing", None),
    "indoor_rowing": ("fitness_equipment", "indoor_rowing"),
    "elliptical": ("fitness_equipment", "elliptical"),
    "stair_exercise": ("fitness_equipment", "stair_climbing"),
    "strength_training": ("training", "strength_training"),
    "weight_training": ("training", "strength_training"),
    "functional_training": ("training", "strength_training"),
    "hiit": ("training", "hiit"),
    "crossfit": ("training", "cardio_training"),
    "cardio_training": ("training", "cardio_training"),
    "yoga": ("training", "yoga"),
    "pilates": ("training", "pilates"),
    "breathwork": ("training", "breathing"),
    "cross_country_skiing": ("cross_country_skiing", None),
    "downhill_skiing": ("alpine_skiing", None),
    "skiing": ("alpine_skiing", None),
    "snowboarding": ("snowboarding", None),
    "snowshoeing": ("snowshoeing", None),
    "ice_skating": ("ice_skating", None),
    "inline_skating": ("inline_skating", None),
    "kayaking": ("kayaking", None),
    "paddling": ("paddling", None),
    "stand_up_paddleboarding": ("stand_up_paddleboarding", None),
    "surfing": ("surfing", None),
    "climbing": ("rock_climbing", None),
    "rock_climbing": ("rock_climbing", None),
    "bouldering": ("rock_climbing", "bouldering"),
    "tennis": ("tennis", None),
    "golf": ("golf", None),
    "soccer": ("soccer", None),
    "basketball": ("basketball", None),
    "boxing": ("boxing", None),
    "other": ("generic", None),
}

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def sport_of(activity: str | None) -> tuple[str, str | None]:
    """FIT (sport, sub_sport) for an Oura workout ``activity``; unknown → ``("generic", None)``."""
    key = _CAMEL.sub("_", (activity or "").strip()).lower().replace("-", "_").replace(" ", "_")
    return SPORTS.get(key, ("generic", None))


_num = finite  # a finite float or None


def _latest(documents: Sequence[Mapping[str, Any]] | None) -> Mapping[str, Any]:
    """The day's document of a one-per-day collection (the newest ``timestamp`` if repeated)."""
    docs = [d for d in documents or [] if isinstance(d, Mapping)]
    if not docs:
        return {}
    return max(enumerate(docs), key=lambda p: (str(p[1].get("timestamp") or ""), p[0]))[1]


def main_sleep(periods: Sequence[Mapping[str, Any]] | None) -> Mapping[str, Any] | None:
    """The night: the longest ``long_sleep`` period, or None (naps and rests are not it)."""
    nights = [p for p in periods or [] if isinstance(p, Mapping) and p.get("type") == "long_sleep"]
    if not nights:
        return None
    return max(nights, key=lambda p: _num(p.get("total_sleep_duration")) or 0.0)


def day_to_wellness(day: date, payloads: Mapping[str, Any]) -> DailyWellness:
    """One local date's wellness from ``OuraClient.daily(...)[day]`` (collection name → list of
    documents; any may be missing or empty), with ``wellness_extras`` as its ``extras``. An
    empty day gives empty ``values`` and ``extras``."""
    out: dict[str, float | None] = {}
    try:
        night = main_sleep(payloads.get("sleep")) or {}
        out["sleep_s"] = _num(night.get("total_sleep_duration"))
        out["sleep_deep_s"] = _num(night.get("deep_sleep_duration"))
        out["sleep_rem_s"] = _num(night.get("rem_sleep_duration"))
        out["sleep_light_s"] = _num(night.get("light_sleep_duration"))
        out["sleep_awake_s"] = _num(night.get("awake_time"))
        out["hrv_rmssd_ms"] = _num(night.get("average_hrv"))
        out["resting_hr"] = _num(night.get("lowest_heart_rate"))
        out["respiratory_rate"] = _num(night.get("average_breath"))
        out["sleep_score"] = _num(_latest(payloads.get("daily_sleep")).get("score"))
        out["training_readiness"] = _num(_latest(payloads.get("daily_readiness")).get("score"))
        activity = _latest(payloads.get("daily_activity"))
        out["steps"] = _num(activity.get("steps"))
        out["active_kcal"] = _num(activity.get("active_calories"))
        spo2 = _latest(payloads.get("daily_spo2")).get("spo2_percentage") or {}
        out["spo2_avg"] = _num(spo2.get("average"))
    except (AttributeError, TypeError) as e:
        raise SourceDataError(
            f"Oura daily documents for {day} have an unexpected shape: {e}",
            code="oura_bad_payload",
            day=day.isoformat(),
        ) from e
    values = {k: float(v) for k, v in out.items() if v is not None and k in WELLNESS_FIELDS}
    return DailyWellness(
        day=day, source=SOURCE, values=values, extras=wellness_extras(day, payloads)
    )


def wellness(daily: Mapping[date, Mapping[str, Any]]) -> list[DailyWellness]:
    """``day_to_wellness`` for every date of ``OuraClient.daily``, oldest first."""
    return [day_to_wellness(day, daily[day]) for day in sorted(daily)]


def wellness_extras(day: date, payloads: Mapping[str, Any]) -> dict[str, Any]:
    """The day's values without a ``WELLNESS_FIELDS`` column, JSON-able (absent when null)."""
    try:
        night = main_sleep(payloads.get("sleep")) or {}
        readiness = _latest(payloads.get("daily_readiness"))
        daily_sleep = _latest(payloads.get("daily_sleep"))
        activity = _latest(payloads.get("daily_activity"))
        stress = _latest(payloads.get("daily_stress"))
        spo2 = _latest(payloads.get("daily_spo2"))
        resilience = _latest(payloads.get("daily_resilience"))
        vo2 = _latest(payloads.get("vo2_max"))
        out: dict[str, Any] = {
            "readiness_contributors": readiness.get("contributors") or None,
            "temperature_deviation_c": _num(readiness.get("temperature_deviation")),
            "temperature_trend_deviation_c": _num(readiness.get("temperature_trend_deviation")),
            "sleep_contributors": daily_sleep.get("contributors") or None,
            "sleep_efficiency_pct": _num(night.get("efficiency")),
            "sleep_latency_s": _num(night.get("latency")),
            "sleep_time_in_bed_s": _num(night.get("time_in_bed")),
            "sleep_average_hr": _num(night.get("average_heart_rate")),
            "bedtime_start": night.get("bedtime_start"),
            "bedtime_end": night.get("bedtime_end"),
            "activity_score": _num(activity.get("score")),
            "total_kcal": _num(activity.get("total_calories")),
            "stress_high_s": _num(stress.get("stress_high")),
            "recovery_high_s": _num(stress.get("recovery_high")),
            "stress_day_summary": stress.get("day_summary"),
            "resilience_level": resilience.get("level"),
            "resilience_contributors": resilience.get("contributors") or None,
            "vo2_max": _num(vo2.get("vo2_max")),
            "breathing_disturbance_index": _num(spo2.get("breathing_disturbance_index")),
        }
    except (AttributeError, TypeError) as e:
        raise SourceDataError(
            f"Oura daily documents for {day} have an unexpected shape: {e}",
            code="oura_bad_payload",
            day=day.isoformat(),
        ) from e
    return {k: v for k, v in out.items() if v is not None}


def _moment(value: Any, what: str) -> datetime:
    """An Oura ``LocalizedDateTime`` (ISO 8601 with the owner's offset) as an aware datetime."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as e:
        raise SourceDataError(f"Oura workout {what} is not a time", code="oura_bad_payload") from e
    if moment.tzinfo is None:
        raise SourceDataError(f"Oura workout {what} has no UTC offset", code="oura_bad_payload")
    return moment


def workout_to_activity(workout: Mapping[str, Any]) -> Activity:
    """An Oura workout as an ``Activity`` summary (no samples or laps: Oura has none). The
    local start keeps the owner's wall-clock time; ``start`` is UTC."""
    if not isinstance(workout, Mapping) or not workout.get("id"):
        raise SourceDataError("Oura workout without an id", code="oura_bad_payload")
    start = _moment(workout.get("start_datetime"), "start")
    end = _moment(workout.get("end_datetime"), "end") if workout.get("end_datetime") else None
    activity = workout.get("activity")
    sport, sub_sport = sport_of(activity if isinstance(activity, str) else None)
    extras: dict[str, Any] = {
        k: v
        for k, v in (
            ("oura_activity", activity),
            ("intensity", workout.get("intensity")),
            ("oura_source", workout.get("source")),
        )
        if v is not None
    }
    elapsed = (end - start).total_seconds() if end is not None else None
    return Activity(
        source=SOURCE,
        sport=sport,
        sub_sport=sub_sport,
        start=start.astimezone(UTC),
        local_start=start.replace(tzinfo=None),
        external_id=str(workout["id"]),
        name=workout.get("label") or None,
        elapsed_s=elapsed if elapsed is not None and elapsed >= 0 else None,
        distance_m=_num(workout.get("distance")),
        calories=_num(workout.get("calories")),
        extras=extras,
    )
