"""Garmin export JSON → our records. One function per file kind; units and field names are
documented in the package docstring (``app.sources.garmin_export``).

Every wellness field comes from exactly one kind of file, so the order in which the files of an
export arrive never changes the result (the import service merges days field by field)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.records import Activity, DailyWellness
from app.sources.garmin.sports import sport_of

SOURCE = "garmin_export"
_EPOCH = datetime(1970, 1, 1)


class BadShape(ValueError):
    """The JSON parsed, but it is not shaped like the Garmin file its name announces."""


# --- scalar helpers ---------------------------------------------------------------------------


def number(value: Any) -> float | None:
    """A finite number, or None (booleans, strings, NaN and infinities are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def positive(value: Any) -> float | None:
    """A number above zero (Garmin writes 0 or -1/-2 when it has nothing to report)."""
    result = number(value)
    return result if result is not None and result > 0 else None


def non_negative(value: Any) -> float | None:
    result = number(value)
    return result if result is not None and result >= 0 else None


def calendar_day(value: Any) -> date | None:
    """``calendarDate`` as Garmin writes it: ``"2024-03-01"``, ``"2024-03-01T00:00:00.0"`` (in
    ``metaData`` of biometrics) or, in some metrics files, epoch milliseconds of that midnight."""
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    millis = number(value)
    if millis is not None:
        try:
            return (_EPOCH + timedelta(milliseconds=millis)).date()
        except OverflowError:
            return None
    return None


def utc_time(value: Any) -> datetime | None:
    """A GMT instant: epoch milliseconds or an ISO string without offset (``"...T05:45:17.0"``)."""
    millis = number(value)
    if millis is not None:
        try:
            return datetime.fromtimestamp(millis / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def wall_clock(value: Any) -> datetime | None:
    """A ``*Local`` value: epoch milliseconds shifted to local wall time, or a naive ISO string.
    Returned naive (it is a wall-clock reading, not an instant)."""
    millis = number(value)
    if millis is not None:
        try:
            return _EPOCH + timedelta(milliseconds=millis)
        except OverflowError:
            return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=None)
        except ValueError:
            return None
    return None


def _stamp(value: Any) -> str:
    """A sortable form of a Garmin timestamp ("" when absent or unreadable)."""
    instant = utc_time(value)
    return instant.isoformat() if instant else ""


def _records(payload: Any) -> list[dict[str, Any]]:
    """Garmin's daily files are a JSON array of objects; anything else is the wrong file."""
    if not isinstance(payload, list):
        raise BadShape("expected a JSON array")
    return [item for item in payload if isinstance(item, dict)]


def _put(days: dict[date, dict[str, float]], day: date, values: dict[str, float | None]) -> None:
    kept = {key: value for key, value in values.items() if value is not None}
    if kept:
        days.setdefault(day, {}).update(kept)


def _batch(days: dict[date, dict[str, float]]) -> list[DailyWellness]:
    return [DailyWellness(day=day, source=SOURCE, values=days[day]) for day in sorted(days)]


# --- wellness files ---------------------------------------------------------------------------


def sleep_days(payload: Any) -> list[DailyWellness]:
    """``DI-Connect-Wellness/*_sleepData.json``: one object per night, on the day it ends."""
    days: dict[date, dict[str, float]] = {}
    for record in _records(payload):
        day = calendar_day(record.get("calendarDate"))
        if day is None:  # placeholders such as {"retro": false}
            continue
        deep = non_negative(record.get("deepSleepSeconds"))
        light = non_negative(record.get("lightSleepSeconds"))
        rem = non_negative(record.get("remSleepSeconds"))
        total = positive(record.get("sleepTimeSeconds"))
        if total is None:
            stages = [value for value in (deep, light, rem) if value is not None]
            total = sum(stages) if stages and sum(stages) > 0 else None
        if total is None:
            continue  # a night without measured sleep: nothing to say about it
        _put(
            days,
            day,
            {
                "sleep_s": total,
                "sleep_deep_s": deep,
                "sleep_light_s": light,
                "sleep_rem_s": rem,
                "sleep_awake_s": non_negative(record.get("awakeSleepSeconds")),
                "sleep_score": _sleep_score(record.get("sleepScores")),
                "respiratory_rate": positive(record.get("averageRespiration")),
            },
        )
    return _batch(days)


def _sleep_score(scores: Any) -> float | None:
    if not isinstance(scores, dict):
        return None
    overall = scores.get("overallScore")  # current exports: a plain number
    if isinstance(overall, dict):
        overall = overall.get("value")
    if overall is None and isinstance(scores.get("overall"), dict):  # older: overall.value
        overall = scores["overall"].get("value")
    return positive(overall)


def daily_summary_days(payload: Any) -> list[DailyWellness]:
    """``DI-Connect-Aggregator/UDSFile_*.json``: Garmin's daily summary ("user daily summary")."""
    days: dict[date, dict[str, float]] = {}
    for record in _records(payload):
        day = calendar_day(record.get("calendarDate"))
        if day is None or record.get("includesWellnessData") is False:
            continue  # hydration-only wrappers, days the watch was not worn
        stats = _body_battery_stats(record.get("bodyBattery"))
        _put(
            days,
            day,
            {
                "resting_hr": positive(record.get("restingHeartRate"))
                or positive(record.get("currentDayRestingHeartRate")),
                "steps": non_negative(record.get("totalSteps")),
                "active_kcal": non_negative(record.get("activeKilocalories")),
                "stress_avg": _total_stress(record),
                "body_battery_high": stats.get("HIGHEST")
                if "HIGHEST" in stats
                else non_negative(record.get("bodyBatteryHighestValue")),
                "body_battery_low": stats.get("LOWEST")
                if "LOWEST" in stats
                else non_negative(record.get("bodyBatteryLowestValue")),
                "spo2_avg": positive(record.get("averageSpo2Value")),
            },
        )
    return _batch(days)


def _total_stress(record: dict[str, Any]) -> float | None:
    stress = record.get("allDayStress")
    aggregators = stress.get("aggregatorList") if isinstance(stress, dict) else None
    if isinstance(aggregators, list):
        for aggregator in aggregators:
            if isinstance(aggregator, dict) and aggregator.get("type") == "TOTAL":
                return non_negative(aggregator.get("averageStressLevel"))  # -1/-2: no data
    return non_negative(record.get("averageStressLevel"))


def _body_battery_stats(body_battery: Any) -> dict[str, float | None]:
    stats = body_battery.get("bodyBatteryStatList") if isinstance(body_battery, dict) else None
    found: dict[str, float | None] = {}
    if isinstance(stats, list):
        for stat in stats:
            if isinstance(stat, dict) and isinstance(stat.get("bodyBatteryStatType"), str):
                found[stat["bodyBatteryStatType"]] = non_negative(stat.get("statsValue"))
    return found


def health_status_days(payload: Any) -> list[DailyWellness]:
    """``DI-Connect-Wellness/*_healthStatusData.json``: the overnight HRV (rMSSD, ms)."""
    days: dict[date, dict[str, float]] = {}
    for record in _records(payload):
        day = calendar_day(record.get("calendarDate"))
        metrics = record.get("metrics")
        if day is None or not isinstance(metrics, list):
            continue
        for metric in metrics:
            if isinstance(metric, dict) and metric.get("type") == "HRV":
                _put(days, day, {"hrv_rmssd_ms": positive(metric.get("value"))})
    return _batch(days)


def max_met_days(payload: Any) -> list[DailyWellness]:
    """``DI-Connect-Metrics/MetricsMaxMetData_*.json``: VO2max per sport, the latest update of
    each day winning. ``sport`` CYCLING is the cycling VO2max; RUNNING, GENERIC or none is the
    running one (Garmin's "generic" VO2max comes from runs and walks)."""
    latest: dict[tuple[date, str], tuple[str, float]] = {}
    for record in _records(payload):
        day = calendar_day(record.get("calendarDate"))
        value = positive(record.get("vo2MaxPreciseValue")) or positive(record.get("vo2MaxValue"))
        sport = str(record.get("sport") or "GENERIC").upper()
        field = {"CYCLING": "vo2max_cycling", "RUNNING": "vo2max_running"}.get(sport)
        if sport == "GENERIC":
            field = "vo2max_running"
        if day is None or value is None or field is None:
            continue
        stamp = _stamp(record.get("updateTimestamp"))
        previous = latest.get((day, field))
        if previous is None or stamp >= previous[0]:
            latest[(day, field)] = (stamp, value)
    days: dict[date, dict[str, float]] = {}
    for (day, field), (_, value) in latest.items():
        _put(days, day, {field: value})
    return _batch(days)


def training_readiness_days(payload: Any) -> list[DailyWellness]:
    """``DI-Connect-Metrics/TrainingReadinessDTO_*.json``: Garmin recomputes readiness many
    times a day; the day's value is the morning one (``inputContext`` AFTER_WAKEUP_RESET), else
    the earliest of the day."""
    chosen: dict[date, tuple[tuple[int, str], float]] = {}
    for record in _records(payload):
        day = calendar_day(record.get("calendarDate"))
        score = non_negative(record.get("score"))
        if day is None or score is None:
            continue
        rank = (
            0 if record.get("inputContext") == "AFTER_WAKEUP_RESET" else 1,
            _stamp(record.get("timestamp")),
        )
        if day not in chosen or rank < chosen[day][0]:
            chosen[day] = (rank, score)
    return _batch({day: {"training_readiness": score} for day, (_, score) in chosen.items()})


def biometrics_days(payload: Any) -> list[DailyWellness]:
    """``DI-Connect-Wellness/*_userBioMetrics.json`` (older exports:
    ``DI-Connect-User/user_biometrics.json``): weigh-ins, weight in grams, body fat in %. The day
    is ``metaData.calendarDate``; with several weigh-ins on a day, the last one counts."""
    latest: dict[date, tuple[tuple[str, int], dict[str, float | None]]] = {}
    for index, record in enumerate(_records(payload)):
        weight = record.get("weight")
        meta = record.get("metaData")
        if not isinstance(weight, dict):
            continue
        day = calendar_day(meta.get("calendarDate") if isinstance(meta, dict) else None)
        if day is None:
            day = calendar_day(weight.get("calendarDate"))
        grams = positive(weight.get("weight"))
        if day is None or grams is None:
            continue
        stamp = (_stamp(weight.get("timestampGMT")), index)
        values = {"weight_kg": grams / 1000, "body_fat_pct": positive(weight.get("bodyFat"))}
        if day not in latest or stamp >= latest[day][0]:
            latest[day] = (stamp, values)
    days: dict[date, dict[str, float]] = {}
    for day, (_, values) in latest.items():
        _put(days, day, values)
    return _batch(days)


WELLNESS_PARSERS: dict[str, Callable[[Any], list[DailyWellness]]] = {
    "sleep": sleep_days,
    "daily_summary": daily_summary_days,
    "health_status": health_status_days,
    "max_met": max_met_days,
    "training_readiness": training_readiness_days,
    "biometrics": biometrics_days,
}


# --- activity summaries -----------------------------------------------------------------------


def activity_summaries(payload: Any) -> tuple[list[Activity], int]:
    """``DI-Connect-Fitness/*_summarizedActivities.json`` → activities, plus how many entries
    were unusable (no id or no start time)."""
    entries = _summary_entries(payload)
    activities: list[Activity] = []
    unusable = 0
    for entry in entries:
        activity = _activity(entry)
        if activity is None:
            unusable += 1
        else:
            activities.append(activity)
    return activities, unusable


def _summary_entries(payload: Any) -> list[dict[str, Any]]:
    # Real files: [{"summarizedActivitiesExport": [ {...}, ... ]}]
    wrappers = payload if isinstance(payload, list) else [payload]
    entries: list[dict[str, Any]] = []
    recognised = False
    for wrapper in wrappers:
        if not isinstance(wrapper, dict):
            continue
        inner = wrapper.get("summarizedActivitiesExport")
        if isinstance(inner, list):
            recognised = True
            entries.extend(item for item in inner if isinstance(item, dict))
        elif "activityId" in wrapper:  # a bare list of activities
            recognised = True
            entries.append(wrapper)
    if not recognised and not (isinstance(payload, list) and not payload):
        raise BadShape("no summarizedActivitiesExport list")
    return entries


def _activity(entry: dict[str, Any]) -> Activity | None:
    activity_id = entry.get("activityId")
    start = utc_time(entry.get("startTimeGmt"))
    if start is None:
        start = utc_time(entry.get("beginTimestamp"))
    if activity_id is None or isinstance(activity_id, bool) or start is None:
        return None
    type_key = entry.get("activityType")
    if isinstance(type_key, dict):
        type_key = type_key.get("typeKey")
    type_key = str(type_key or "other")
    sport, sub_sport = sport_of(type_key)
    timer_s = _scaled(entry.get("duration"), divide=1000)
    elapsed_s = _scaled(entry.get("elapsedDuration"), divide=1000) or timer_s
    cadence = (
        positive(entry.get("avgRunCadence"))  # per foot, as FIT stores running cadence
        or positive(entry.get("avgBikeCadence"))
        or positive(entry.get("avgSwimCadence"))
    )
    extras = {
        "garmin_activity_type": type_key,
        "garmin_sport_type": entry.get("sportType"),
        "moving_duration_s": _scaled(entry.get("movingDuration"), divide=1000),
        "max_speed": _scaled(entry.get("maxSpeed"), multiply=10),
        "min_hr": positive(entry.get("minHr")),
        "normalized_power": positive(entry.get("normPower")),
        "training_load": non_negative(entry.get("activityTrainingLoad")),
        "aerobic_training_effect": non_negative(entry.get("aerobicTrainingEffect")),
        "anaerobic_training_effect": non_negative(entry.get("anaerobicTrainingEffect")),
        "vo2max": positive(entry.get("vO2MaxValue")),
        "steps": non_negative(entry.get("steps")),
        "avg_stride_length_m": _scaled(entry.get("avgStrideLength"), divide=100),
        "lap_count": non_negative(entry.get("lapCount")),
        "garmin_device_id": entry.get("deviceId"),
        "garmin_parent_id": entry.get("parentId"),
        "garmin_is_parent": entry.get("parent"),
    }
    return Activity(
        source=SOURCE,
        sport=sport,
        sub_sport=sub_sport,
        start=start,
        local_start=wall_clock(entry.get("startTimeLocal")),
        external_id=str(activity_id),
        name=entry.get("name") if isinstance(entry.get("name"), str) else None,
        elapsed_s=elapsed_s,
        moving_s=timer_s,
        distance_m=_scaled(entry.get("distance"), divide=100),
        ascent_m=_scaled(entry.get("elevationGain"), divide=100, zero=True),
        descent_m=_scaled(entry.get("elevationLoss"), divide=100, zero=True),
        calories=non_negative(entry.get("calories")),
        avg_hr=positive(entry.get("avgHr")),
        max_hr=positive(entry.get("maxHr")),
        avg_power=positive(entry.get("avgPower")),
        max_power=positive(entry.get("maxPower")),
        avg_cadence=cadence,
        avg_speed=_scaled(entry.get("avgSpeed"), multiply=10),
        extras={key: value for key, value in extras.items() if value is not None},
    )


def _scaled(
    value: Any, *, divide: float = 1, multiply: float = 1, zero: bool = False
) -> float | None:
    """``value × multiply ÷ divide``; 0 means "not recorded" unless ``zero`` says it is real."""
    result = non_negative(value) if zero else positive(value)
    return None if result is None else result * multiply / divide
