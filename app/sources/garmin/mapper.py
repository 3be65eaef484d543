"""Garmin Connect JSON → our records (``Activity`` summaries, ``DailyWellness``).

Field names are those of the payloads recorded in garth's cassettes (``tests/fixtures/garmin``).
Units: Garmin's distances are metres, durations seconds, speeds m/s, weight *grams*; running
cadence is steps per minute, which FIT (and we) store per foot (÷ 2).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from app.records import WELLNESS_FIELDS, Activity, DailyWellness, finite
from app.sources import SourceDataError
from app.sources.garmin.sports import sport_of

SOURCE = "garmin"

# Summary metrics without a column of their own, kept in ``Activity.extras``.
EXTRAS = (
    "aerobicTrainingEffect",
    "anaerobicTrainingEffect",
    "trainingEffectLabel",
    "activityTrainingLoad",
    "vO2MaxValue",
    "normPower",
    "avgGradeAdjustedSpeed",
    "moderateIntensityMinutes",
    "vigorousIntensityMinutes",
    "differenceBodyBattery",
    "steps",
    "lapCount",
    "locationName",
)


_num = finite  # a finite float or None


def _gmt(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace(" ", "T")).replace(tzinfo=UTC)


def activity_local_day(summary: dict[str, Any]) -> date:
    """The local date an activity started (``startTimeLocal``; else the UTC date)."""
    for key in ("startTimeLocal", "startTimeGMT"):
        value = summary.get(key)
        if value:
            try:
                return date.fromisoformat(str(value)[:10])
            except ValueError:
                continue
    raise SourceDataError("Garmin activity summary without a start time", code="garmin_bad_payload")


def activity_summary_to_record(summary: dict[str, Any]) -> Activity:
    """An activity from the list (or the detail's ``summaryDTO``-less list shape) as a record.

    The original FIT file, imported through the files-in pipeline, carries samples and laps;
    this record carries what only Garmin's JSON has (training effect, VO2max, load…) in
    ``extras`` and identifies the activity by ``external_id``.
    """
    try:
        activity_id = summary["activityId"]
        if "startTimeGMT" in summary:
            start = _gmt(summary["startTimeGMT"])
        else:
            start = datetime.fromtimestamp(summary["beginTimestamp"] / 1000, UTC)
    except (KeyError, TypeError, ValueError) as e:
        raise SourceDataError(
            f"Garmin activity summary without id or start: {e}", code="garmin_bad_payload"
        ) from e
    type_key = (summary.get("activityType") or {}).get("typeKey")
    sport, sub_sport = sport_of(type_key)
    local_start = None
    if summary.get("startTimeLocal"):
        try:
            local_start = datetime.fromisoformat(str(summary["startTimeLocal"]).replace(" ", "T"))
        except ValueError:
            local_start = None
    cadence = _num(summary.get("averageBikingCadenceInRevPerMinute"))
    if cadence is None:
        spm = _num(summary.get("averageRunningCadenceInStepsPerMinute"))
        cadence = spm / 2 if spm is not None else None
    extras = {k: summary[k] for k in EXTRAS if summary.get(k) is not None}
    if type_key:
        extras["garmin_type_key"] = type_key
    return Activity(
        source=SOURCE,
        sport=sport,
        sub_sport=sub_sport,
        start=start,
        local_start=local_start,
        external_id=str(activity_id),
        name=summary.get("activityName"),
        elapsed_s=_num(summary.get("elapsedDuration")),
        moving_s=_num(summary.get("movingDuration") or summary.get("duration")),
        distance_m=_num(summary.get("distance")),
        ascent_m=_num(summary.get("elevationGain")),
        descent_m=_num(summary.get("elevationLoss")),
        calories=_num(summary.get("calories")),
        avg_hr=_num(summary.get("averageHR")),
        max_hr=_num(summary.get("maxHR")),
        avg_power=_num(summary.get("avgPower")),
        max_power=_num(summary.get("maxPower")),
        avg_cadence=cadence,
        avg_speed=_num(summary.get("averageSpeed")),
        extras=extras,
    )


def _sleep(payload: dict[str, Any] | None, out: dict[str, float | None]) -> None:
    dto = (payload or {}).get("dailySleepDTO") or {}
    out["sleep_s"] = _num(dto.get("sleepTimeSeconds"))
    out["sleep_deep_s"] = _num(dto.get("deepSleepSeconds"))
    out["sleep_light_s"] = _num(dto.get("lightSleepSeconds"))
    out["sleep_rem_s"] = _num(dto.get("remSleepSeconds"))
    out["sleep_awake_s"] = _num(dto.get("awakeSleepSeconds"))
    out["sleep_score"] = _num(((dto.get("sleepScores") or {}).get("overall") or {}).get("value"))
    out["respiratory_rate"] = _num(dto.get("averageRespirationValue"))
    out["spo2_avg"] = _num(dto.get("averageSpO2Value"))


def _summary(payload: dict[str, Any] | None, out: dict[str, float | None]) -> None:
    s = payload or {}
    out["resting_hr"] = _num(s.get("restingHeartRate"))
    out["steps"] = _num(s.get("totalSteps"))
    stress = _num(s.get("averageStressLevel"))
    out["stress_avg"] = stress if stress is not None and stress >= 0 else None  # -1/-2 = none
    out["body_battery_high"] = _num(s.get("bodyBatteryHighestValue"))
    out["body_battery_low"] = _num(s.get("bodyBatteryLowestValue"))
    out["active_kcal"] = _num(s.get("activeKilocalories"))
    # The night's values (sleep) win; the waking average is the fallback.
    if out.get("spo2_avg") is None:
        out["spo2_avg"] = _num(s.get("averageSpo2"))
    if out.get("respiratory_rate") is None:
        out["respiratory_rate"] = _num(s.get("avgWakingRespirationValue"))


def morning_readiness(entries: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The morning training-readiness value: the entry computed at wake-up
    (``inputContext == "AFTER_WAKEUP_RESET"``), else the earliest of the day."""
    valid = [e for e in entries or [] if isinstance(e, dict) and _num(e.get("score")) is not None]
    if not valid:
        return None
    for e in valid:
        if e.get("inputContext") == "AFTER_WAKEUP_RESET":
            return e
    return min(valid, key=lambda e: str(e.get("timestampLocal") or e.get("timestamp") or ""))


def _vo2max(entries: list[dict[str, Any]] | dict[str, Any] | None, out: dict[str, Any]) -> None:
    items = entries if isinstance(entries, list) else [entries] if entries else []
    for item in items:
        for key, field in (("generic", "vo2max_running"), ("cycling", "vo2max_cycling")):
            block = (item or {}).get(key) or {}
            value = _num(block.get("vo2MaxPreciseValue")) or _num(block.get("vo2MaxValue"))
            if value is not None:
                out[field] = value


def _weight(payload: dict[str, Any] | None, out: dict[str, float | None]) -> None:
    entries = [e for e in (payload or {}).get("dateWeightList") or [] if isinstance(e, dict)]
    entries = [e for e in entries if _num(e.get("weight")) is not None]
    if not entries:
        return
    latest = max(entries, key=lambda e: _num(e.get("timestampGMT") or e.get("date")) or 0.0)
    grams = _num(latest.get("weight"))
    out["weight_kg"] = round(grams / 1000.0, 3) if grams is not None else None
    out["body_fat_pct"] = _num(latest.get("bodyFat"))


def daily_to_wellness(day: date, payloads: dict[str, Any]) -> DailyWellness:
    """One local date's wellness from ``GarminClient.daily(day)`` payloads (keys ``sleep``,
    ``hrv``, ``user_summary``, ``training_readiness``, ``max_metrics``, ``body_composition``;
    any may be missing or ``None``). An empty day gives empty ``values``, not an error.

    ``hrv_rmssd_ms`` is last night's average rMSSD (``hrvSummary.lastNightAvg``);
    ``training_readiness`` is the morning value; weight arrives in grams.
    """
    out: dict[str, float | None] = {}
    try:
        _sleep(payloads.get("sleep"), out)
        _summary(payloads.get("user_summary"), out)
        hrv = ((payloads.get("hrv") or {}).get("hrvSummary")) or {}
        out["hrv_rmssd_ms"] = _num(hrv.get("lastNightAvg"))
        morning = morning_readiness(payloads.get("training_readiness"))
        out["training_readiness"] = _num(morning.get("score")) if morning else None
        _vo2max(payloads.get("max_metrics"), out)
        _weight(payloads.get("body_composition"), out)
    except (AttributeError, TypeError) as e:
        raise SourceDataError(
            f"Garmin daily payload for {day} has an unexpected shape: {e}",
            code="garmin_bad_payload",
            day=day.isoformat(),
        ) from e
    values = {k: float(v) for k, v in out.items() if v is not None and k in WELLNESS_FIELDS}
    return DailyWellness(day=day, source=SOURCE, values=values)
