"""Apple Health vocabulary → our records: record types, units, dates, sports, daily wellness.

Dates in ``export.xml`` are local wall-clock time with the offset in force when the sample was
taken: ``2019-06-11 15:00:00 -0700``. :func:`epoch` turns one into Unix seconds; its first ten
characters are the sample's local date, which is the day daily values are filed under.

Sleep stages (``sleep_stage`` series values; they are HealthKit's own raw values)::

    0 in bed              HKCategoryValueSleepAnalysisInBed
    1 asleep, unspecified HKCategoryValueSleepAnalysisAsleep(Unspecified)
    2 awake               HKCategoryValueSleepAnalysisAwake
    3 core (light)        HKCategoryValueSleepAnalysisAsleepCore
    4 deep                HKCategoryValueSleepAnalysisAsleepDeep
    5 REM                 HKCategoryValueSleepAnalysisAsleepREM
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from app.records import Activity, DailyWellness, Samples

SOURCE = "apple_health"

SLEEP_IN_BED, SLEEP_ASLEEP, SLEEP_AWAKE, SLEEP_CORE, SLEEP_DEEP, SLEEP_REM = range(6)
SLEEP_STAGES: dict[str, int] = {
    "HKCategoryValueSleepAnalysisInBed": SLEEP_IN_BED,
    "HKCategoryValueSleepAnalysisAsleep": SLEEP_ASLEEP,  # before iOS 16
    "HKCategoryValueSleepAnalysisAsleepUnspecified": SLEEP_ASLEEP,
    "HKCategoryValueSleepAnalysisAwake": SLEEP_AWAKE,
    "HKCategoryValueSleepAnalysisAsleepCore": SLEEP_CORE,
    "HKCategoryValueSleepAnalysisAsleepDeep": SLEEP_DEEP,
    "HKCategoryValueSleepAnalysisAsleepREM": SLEEP_REM,
    **{str(code): code for code in range(6)},  # the raw values are accepted too
}
_ASLEEP_CODES = (SLEEP_ASLEEP, SLEEP_CORE, SLEEP_DEEP, SLEEP_REM)
# Segments of one source closer than this belong to the same sleep (night or nap).
SLEEP_SESSION_GAP_S = 3 * 3600

# ---------------------------------------------------------------------------------------------
# Units: factor to our unit. A record whose unit is not listed is skipped and counted invalid.

PER_MINUTE = {"count/min": 1.0, "count/s": 60.0, "count/hr": 1 / 60}
FRACTION_TO_PERCENT = {"%": 100.0}  # Apple stores percentages as fractions (0.97)
KILOGRAMS = {"kg": 1.0, "lb": 0.45359237, "g": 0.001, "st": 6.35029318, "oz": 0.028349523125}
KILOCALORIES = {"kcal": 1.0, "Cal": 1.0, "kJ": 1 / 4.184, "cal": 0.001, "J": 1 / 4184}
METRES = {
    "m": 1.0,
    "km": 1000.0,
    "cm": 0.01,
    "mi": 1609.344,
    "yd": 0.9144,
    "ft": 0.3048,
    "in": 0.0254,
}
SECONDS = {"s": 1.0, "min": 60.0, "hr": 3600.0, "h": 3600.0, "ms": 0.001, "d": 86400.0}
MILLISECONDS = {"ms": 1.0, "s": 1000.0}
WATTS = {"W": 1.0, "kW": 1000.0}
VO2MAX = {"mL/min·kg": 1.0, "mL/kg·min": 1.0, "ml/(kg*min)": 1.0, "mL/kg/min": 1.0}
SPEED = {"m/s": 1.0, "km/hr": 1 / 3.6, "km/h": 1 / 3.6, "mi/hr": 0.44704, "mph": 0.44704}
COUNT = {"count": 1.0}

_Q = "HKQuantityTypeIdentifier"


@dataclass(frozen=True, slots=True)
class RecordKind:
    """How one HealthKit record type maps: an intraday series and/or a daily value."""

    series: str | None  # HealthSeries metric, None when only the daily value is kept
    units: dict[str, float]
    interval: bool = False  # store end_time (steps, sleep)
    daily: str | None = None  # WELLNESS_FIELDS name
    daily_rule: str = ""  # "mean" | "last" | "device_sum"
    percent: bool = False  # fraction → percent; a value above 1 is taken as a percent already


RECORD_KINDS: dict[str, RecordKind] = {
    _Q + "HeartRate": RecordKind("heart_rate", PER_MINUTE),
    _Q + "RestingHeartRate": RecordKind(
        "resting_hr", PER_MINUTE, daily="resting_hr", daily_rule="mean"
    ),
    # SDNN, Apple's HRV statistic: not rMSSD, and never stored as such.
    _Q + "HeartRateVariabilitySDNN": RecordKind(
        "hrv_sdnn_ms", MILLISECONDS, daily="hrv_sdnn_ms", daily_rule="mean"
    ),
    _Q + "RespiratoryRate": RecordKind(
        "respiratory_rate", PER_MINUTE, daily="respiratory_rate", daily_rule="mean"
    ),
    _Q + "OxygenSaturation": RecordKind(
        "spo2", FRACTION_TO_PERCENT, daily="spo2_avg", daily_rule="mean", percent=True
    ),
    _Q + "RunningPower": RecordKind("running_power", WATTS),
    _Q + "CyclingPower": RecordKind("cycling_power", WATTS),
    _Q + "VO2Max": RecordKind("vo2max", VO2MAX, daily="vo2max_running", daily_rule="last"),
    _Q + "BodyMass": RecordKind("weight_kg", KILOGRAMS, daily="weight_kg", daily_rule="last"),
    _Q + "BodyFatPercentage": RecordKind(
        "body_fat_pct", FRACTION_TO_PERCENT, daily="body_fat_pct", daily_rule="last", percent=True
    ),
    _Q + "StepCount": RecordKind(
        "steps", COUNT, interval=True, daily="steps", daily_rule="device_sum"
    ),
    _Q + "ActiveEnergyBurned": RecordKind(
        None, KILOCALORIES, daily="active_kcal", daily_rule="device_sum"
    ),
}
SLEEP_TYPE = "HKCategoryTypeIdentifierSleepAnalysis"
SERIES_METRICS = (
    *(kind.series for kind in RECORD_KINDS.values() if kind.series),
    "sleep_stage",
)

# ---------------------------------------------------------------------------------------------
# Dates

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_OFFSET = re.compile(r" ([+-])([0-9]{2})([0-9]{2})\Z")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_FIRST_YEAR, _LAST_YEAR = 1900, 2199  # dates outside are refused (mistyped years)
_day_seconds: dict[str, int] = {}
_offset_seconds: dict[str, int] = {}


def _day_start(day: str) -> int:
    if not _DATE.match(day) or not _FIRST_YEAR <= int(day[:4]) <= _LAST_YEAR:
        raise ValueError(day)
    seconds = (date.fromisoformat(day).toordinal() - _EPOCH_ORDINAL) * 86400
    if len(_day_seconds) < 100_000:
        _day_seconds[day] = seconds
    return seconds


def _offset(text: str) -> int:
    match = _OFFSET.match(text)
    if match is None:
        raise ValueError(text)
    sign, hours, minutes = match.groups()
    seconds = (int(hours) * 3600 + int(minutes) * 60) * (-1 if sign == "-" else 1)
    if abs(seconds) > 18 * 3600 or int(minutes) > 59:
        raise ValueError(text)
    _offset_seconds[text] = seconds
    return seconds


def epoch(text: str) -> int:
    """``2019-06-11 15:00:00 -0700`` → Unix seconds. ``ValueError`` when malformed or the offset
    is missing (a date without an offset cannot be placed in time)."""
    if len(text) != 25 or text[13] != ":" or text[16] != ":" or text[10] != " ":
        raise ValueError(text)
    base = _day_seconds.get(text[:10])
    if base is None:
        base = _day_start(text[:10])
    offset = _offset_seconds.get(text[19:])
    if offset is None:
        offset = _offset(text[19:])
    hours, minutes, seconds = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if hours > 23 or minutes > 59 or seconds > 59 or not text[11:19].replace(":", "").isdigit():
        raise ValueError(text)
    return base + hours * 3600 + minutes * 60 + seconds - offset


def utc_offset(text: str) -> int:
    """The offset of an ``epoch``-valid date string, in seconds east of UTC."""
    offset = _offset_seconds.get(text[19:])
    return _offset(text[19:]) if offset is None else offset


def local_day(text: str) -> int:
    """The local date of an ``epoch``-valid date string, as days since 1970-01-01."""
    base = _day_seconds.get(text[:10])
    return (base if base is not None else _day_start(text[:10])) // 86400


def day_date(day: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + day)


# Vectorised form of ``epoch`` for thousands of strings at once (the hot path: per-record
# Python parsing cost more than the XML parsing itself).
_MONTH_START = np.array(
    [
        date(year, month, 1).toordinal() - _EPOCH_ORDINAL
        for year in range(_FIRST_YEAR, _LAST_YEAR + 1)
        for month in range(1, 13)
    ],
    dtype=np.int64,
)
_MONTH_DAYS = np.array(
    [
        (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
        for year in range(_FIRST_YEAR, _LAST_YEAR + 1)
        for month in range(1, 13)
    ],
    dtype=np.int64,
)
_DIGIT_COLUMNS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 21, 22, 23, 24])
_SEPARATOR_COLUMNS = np.array([4, 7, 10, 13, 16, 19])
_SEPARATORS = np.frombuffer(b"-- :: ", dtype=np.uint8)[:, None]


def parse_dates(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``epoch`` for a list: (Unix seconds float64, local day int64, valid bool) per string."""
    n = len(texts)
    raw = "".join(texts).encode("ascii", "replace")  # one byte per character, always
    if n == 0 or len(raw) != 25 * n or max(map(len, texts)) != 25:
        return _parse_dates_slowly(texts)
    table = np.ascontiguousarray(np.frombuffer(raw, dtype=np.uint8).reshape(n, 25).T)
    ok = ((table[_DIGIT_COLUMNS] - np.uint8(48)) < 10).all(axis=0)
    ok &= (table[_SEPARATOR_COLUMNS] == _SEPARATORS).all(axis=0)
    sign = table[20]
    ok &= (sign == 43) | (sign == 45)  # '+' or '-'
    d = table.astype(np.int64) - 48
    year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
    month = d[5] * 10 + d[6]
    day = d[8] * 10 + d[9]
    hours, minutes, seconds = d[11] * 10 + d[12], d[14] * 10 + d[15], d[17] * 10 + d[18]
    offset_hours, offset_minutes = d[21] * 10 + d[22], d[23] * 10 + d[24]
    index = (year - _FIRST_YEAR) * 12 + month - 1
    ok &= (index >= 0) & (index < len(_MONTH_START)) & (month >= 1) & (month <= 12)
    index = np.clip(index, 0, len(_MONTH_START) - 1)
    ok &= (day >= 1) & (day <= _MONTH_DAYS[index])
    ok &= (hours <= 23) & (minutes <= 59) & (seconds <= 59)
    ok &= (offset_hours * 60 + offset_minutes <= 18 * 60) & (offset_minutes <= 59)
    days = _MONTH_START[index] + day - 1
    offset = (offset_hours * 3600 + offset_minutes * 60) * (44 - sign.astype(np.int64))
    utc = days * 86400 + hours * 3600 + minutes * 60 + seconds - offset
    return utc.astype(np.float64), days, ok


def _parse_dates_slowly(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(texts)
    utc = np.zeros(n, dtype=np.float64)
    days = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    for i, text in enumerate(texts):
        try:
            utc[i] = epoch(text)
            days[i] = local_day(text)
        except ValueError:
            continue
        ok[i] = True
    return utc, days, ok


def parse_numbers(texts: list[str]) -> np.ndarray:
    """Decimal strings → float64; NaN where a string is not a number."""
    try:
        return np.array(texts, dtype=np.float64)
    except (ValueError, TypeError):
        values = np.full(len(texts), np.nan)
        for i, text in enumerate(texts):
            number = _number(text)
            if number is not None:
                values[i] = number
        return values


def unit_factors(units: list[str], table: dict[str, float]) -> float | np.ndarray:
    """The factor of each unit (NaN when unknown); one float when they are all the same."""
    first = units[0] if units else ""
    if units.count(first) == len(units):
        return table.get(first, np.nan)
    return np.array([table.get(unit, np.nan) for unit in units], dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Sports: HKWorkoutActivityType… → (sport, sub_sport), FIT profile names.

_SPORTS: dict[str, tuple[str, str | None]] = {
    "Running": ("running", None),
    "Cycling": ("cycling", None),
    "HandCycling": ("cycling", "hand_cycling"),
    "Walking": ("walking", None),
    "Hiking": ("hiking", None),
    "Swimming": ("swimming", None),
    "Rowing": ("rowing", None),
    "Elliptical": ("elliptical", None),
    "TraditionalStrengthTraining": ("training", "strength_training"),
    "FunctionalStrengthTraining": ("training", "strength_training"),
    "CoreTraining": ("training", "strength_training"),
    "HighIntensityIntervalTraining": ("training", "hiit"),
    "CrossTraining": ("training", "cardio_training"),
    "MixedCardio": ("training", "cardio_training"),
    "MixedMetabolicCardioTraining": ("training", "cardio_training"),
    "Flexibility": ("training", "flexibility_training"),
    "Pilates": ("training", "pilates"),
    "Barre": ("training", "pilates"),
    "Yoga": ("yoga", None),
    "MindAndBody": ("yoga", None),
    "StairClimbing": ("fitness_equipment", "stair_climbing"),
    "Stairs": ("fitness_equipment", "stair_climbing"),
    "StepTraining": ("fitness_equipment", "stair_climbing"),
    "CrossCountrySkiing": ("cross_country_skiing", None),
    "DownhillSkiing": ("alpine_skiing", None),
    "Snowboarding": ("snowboarding", None),
    "Paddling": ("paddling", None),
    "PaddleSports": ("paddling", None),
    "Climbing": ("rock_climbing", None),
    "Boxing": ("boxing", None),
    "Kickboxing": ("boxing", None),
    "Tennis": ("tennis", None),
    "Soccer": ("soccer", None),
    "Basketball": ("basketball", None),
    "Golf": ("golf", None),
    "Sailing": ("sailing", None),
    "SurfingSports": ("surfing", None),
    "SkatingSports": ("inline_skating", None),
    "SnowSports": ("snowshoeing", None),
    "WheelchairWalkPace": ("wheelchair_push_walk", None),
    "WheelchairRunPace": ("wheelchair_push_run", None),
}
_INDOOR_SUB_SPORT = {
    "running": "treadmill",
    "cycling": "indoor_cycling",
    "walking": "indoor_walking",
    "rowing": "indoor_rowing",
}
_DISTANCE_STATS = (
    _Q + "DistanceWalkingRunning",
    _Q + "DistanceCycling",
    _Q + "DistanceSwimming",
    _Q + "DistanceWheelchair",
    _Q + "DistanceRowing",
    _Q + "DistancePaddleSports",
    _Q + "DistanceCrossCountrySkiing",
    _Q + "DistanceSkatingSports",
    _Q + "DistanceDownhillSnowSports",
)


def sport_of(
    activity_type: str, *, indoor: bool, swim_location: str | None
) -> tuple[str, str | None]:
    name = activity_type.removeprefix("HKWorkoutActivityType")
    sport, sub_sport = _SPORTS.get(name, ("generic", None))
    if indoor and sub_sport is None:
        sub_sport = _INDOOR_SUB_SPORT.get(sport)
    if sport == "swimming":  # HKSwimmingLocationType: 1 pool, 2 open water
        sub_sport = {"1": "lap_swimming", "2": "open_water"}.get(swim_location or "", sub_sport)
    return sport, sub_sport


# ---------------------------------------------------------------------------------------------
# Workouts


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value - value == 0 else None  # NaN and ±inf are not measurements


def quantity(value: str | None, unit: str | None, units: dict[str, float]) -> float | None:
    number = _number(value)
    factor = units.get(unit or "")
    if number is None or factor is None:
        return None
    return number * factor


def _metadata_quantity(text: str | None, units: dict[str, float]) -> float | None:
    """``"418 cm"`` → 4.18 with METRES."""
    if not text:
        return None
    number, _, unit = text.strip().partition(" ")
    return quantity(number, unit.strip(), units)


def _positive(value: float | None) -> float | None:
    # Apple writes totalDistance="0" / totalEnergyBurned="0" for workouts that measured none.
    return value if value is not None and value > 0 else None


@dataclass(slots=True)
class PendingWorkout:
    """A ``Workout`` element being read: its attributes and what its children said."""

    attrs: dict[str, str]
    statistics: dict[str, dict[str, str]] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    route_paths: list[str] = field(default_factory=list)
    route_points: list[tuple[float, float, float, float, float]] = field(default_factory=list)

    def add_location(self, attrib: dict[str, str]) -> bool:
        """An inline route point (exports before iOS 13); False when unusable."""
        try:
            time_s = epoch(attrib.get("date", ""))
        except ValueError:
            return False
        lat, lon = _number(attrib.get("latitude")), _number(attrib.get("longitude"))
        if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return False
        altitude, speed = _number(attrib.get("altitude")), _number(attrib.get("speed"))
        self.route_points.append(
            (
                float(time_s),
                lat,
                lon,
                float("nan") if altitude is None else altitude,
                float("nan") if speed is None else speed,
            )
        )
        return True


def workout_activity(workout: PendingWorkout, samples: Samples | None) -> Activity | None:
    """The Activity for one workout, or None when its dates are unusable."""
    attrs = workout.attrs
    start_text, end_text = attrs.get("startDate", ""), attrs.get("endDate", "")
    try:
        start_s = epoch(start_text)
        end_s = epoch(end_text)
        offset_s = utc_offset(start_text)
    except ValueError:
        return None
    activity_type = attrs.get("workoutActivityType", "")
    source_name = attrs.get("sourceName", "")
    stats = workout.statistics
    meta = workout.metadata
    indoor = meta.get("HKIndoorWorkout") == "1"
    sport, sub_sport = sport_of(
        activity_type, indoor=indoor, swim_location=meta.get("HKSwimmingLocationType")
    )

    distance = _positive(
        quantity(attrs.get("totalDistance"), attrs.get("totalDistanceUnit"), METRES)
    )
    if distance is None:
        for kind in _DISTANCE_STATS:
            if kind in stats:
                distance = _positive(
                    quantity(stats[kind].get("sum"), stats[kind].get("unit"), METRES)
                )
                if distance is not None:
                    break
    calories = _positive(
        quantity(attrs.get("totalEnergyBurned"), attrs.get("totalEnergyBurnedUnit"), KILOCALORIES)
    )
    energy = stats.get(_Q + "ActiveEnergyBurned")
    if calories is None and energy is not None:
        calories = _positive(quantity(energy.get("sum"), energy.get("unit"), KILOCALORIES))
    heart = stats.get(_Q + "HeartRate", {})
    power = stats.get(_Q + "RunningPower") or stats.get(_Q + "CyclingPower") or {}
    cadence = stats.get(_Q + "CyclingCadence", {})
    speed = stats.get(_Q + "RunningSpeed") or stats.get(_Q + "CyclingSpeed") or {}

    elapsed = _positive(quantity(attrs.get("duration"), attrs.get("durationUnit"), SECONDS))
    if elapsed is None and end_s > start_s:
        elapsed = float(end_s - start_s)

    key = "|".join((activity_type, start_text, end_text, source_name))
    extras: dict[str, Any] = {
        "apple_activity_type": activity_type,
        "utc_offset_s": offset_s,
        "wall_clock_s": end_s - start_s,
    }
    if "HKIndoorWorkout" in meta:
        extras["indoor"] = indoor
    if workout.events:
        extras["events"] = dict(workout.events)
    if workout.route_paths:
        extras["route"] = workout.route_paths[0]
    return Activity(
        source=SOURCE,
        sport=sport,
        sub_sport=sub_sport,
        start=datetime.fromtimestamp(start_s, UTC),
        # Naive wall-clock time, like FIT's local_timestamp; the offset is in extras too.
        local_start=datetime.fromtimestamp(start_s + offset_s, UTC).replace(tzinfo=None),
        external_id=hashlib.sha256(key.encode("utf-8")).hexdigest(),
        device=source_name or None,
        elapsed_s=elapsed,
        distance_m=distance,
        ascent_m=_metadata_quantity(meta.get("HKElevationAscended"), METRES),
        calories=calories,
        avg_hr=quantity(heart.get("average"), heart.get("unit"), PER_MINUTE),
        max_hr=quantity(heart.get("maximum"), heart.get("unit"), PER_MINUTE),
        avg_power=quantity(power.get("average"), power.get("unit"), WATTS),
        max_power=_positive(quantity(power.get("maximum"), power.get("unit"), WATTS)),
        avg_cadence=quantity(cadence.get("average"), cadence.get("unit"), PER_MINUTE),
        avg_speed=quantity(speed.get("average"), speed.get("unit"), SPEED),
        samples=samples,
        extras=extras,
    )


# ---------------------------------------------------------------------------------------------
# Daily wellness

# A source's sleep segments are folded into per-day totals once this many are waiting.
_SLEEP_COMPACT_AT = 4096
# Devices told apart in the daily values; more (only a hostile file has them) share one name.
MAX_DAILY_DEVICES = 200
OTHER_DEVICES = "…"


class _SleepSource:
    """One source's sleep segments, folded into sessions and per-day totals as they come.

    Segments closer than ``SLEEP_SESSION_GAP_S`` form one session (night or nap; in-bed
    windows bridge stages); a session counts on the local date of its last end. Overlapping
    segments of the same stage are merged, so a segment written twice counts once. Only the
    last, possibly unfinished session is kept as segments: memory grows with days, not records.
    """

    __slots__ = ("segments", "totals")

    def __init__(self) -> None:
        self.segments: list[tuple[int, int, int, int]] = []  # (start, end, code, end local day)
        self.totals: dict[int, list[float]] = {}  # local day -> seconds per stage code

    def add(self, start: int, end: int, code: int, end_day: int) -> None:
        self.segments.append((start, end, code, end_day))
        if len(self.segments) >= _SLEEP_COMPACT_AT:
            self.compact(final=False)

    def compact(self, *, final: bool) -> None:
        self.segments.sort()
        session: list[tuple[int, int, int, int]] = []
        session_end = 0
        for segment in self.segments:
            if session and segment[0] > session_end + SLEEP_SESSION_GAP_S:
                self._close(session)
                session = []
            if not session:
                session_end = segment[1]
            session.append(segment)
            session_end = max(session_end, segment[1])
        if final:
            if session:
                self._close(session)
            session = []
        self.segments = session

    def _close(self, session: list[tuple[int, int, int, int]]) -> None:
        last = max(session, key=lambda segment: segment[1])
        totals = self.totals.setdefault(last[3], [0.0] * 6)
        for code in range(6):
            covered = float("-inf")
            for start, end, _, _ in sorted(s for s in session if s[2] == code):
                start = max(start, covered)
                if end > start:
                    totals[code] += end - start
                covered = max(covered, end)


class DailyAggregator:
    """Per local date (days since 1970-01-01): means, last values, per-device sums, sleep."""

    def __init__(self) -> None:
        self.means: dict[str, dict[int, list[float]]] = {}  # field -> day -> [sum, n]
        self.last: dict[str, dict[int, tuple[float, float]]] = {}  # field -> day -> (time, value)
        self.device_sums: dict[str, dict[tuple[int, str], float]] = {}  # (day, device) -> sum
        self.summary_kcal: dict[int, float] = {}  # ActivitySummary, used when no records
        self.sleep: dict[str, _SleepSource] = {}
        self.devices: dict[str, set[str]] = {}  # field -> devices seen

    def _device(self, field_name: str, device: str) -> str:
        seen = self.devices.setdefault(field_name, set())
        if device not in seen:
            if len(seen) >= MAX_DAILY_DEVICES:
                return OTHER_DEVICES
            seen.add(device)
        return device

    def add_batch(
        self,
        field_name: str,
        rule: str,
        device: str,
        days: np.ndarray,
        times: np.ndarray,
        values: np.ndarray,
    ) -> None:
        """Fold one batch of valid rows (one device) into the daily values."""
        if not len(days):
            return
        unique, inverse = np.unique(days, return_inverse=True)
        if rule == "last":
            order = np.lexsort((np.arange(len(days)), times, inverse))
            ends = np.flatnonzero(np.append(inverse[order][1:] != inverse[order][:-1], True))
            chosen = order[ends]
            last = self.last.setdefault(field_name, {})
            for day, time, value in zip(
                unique.tolist(), times[chosen].tolist(), values[chosen].tolist(), strict=True
            ):
                previous = last.get(day)
                if previous is None or time >= previous[0]:
                    last[day] = (time, value)
            return
        sums = np.bincount(inverse, weights=values).tolist()
        if rule == "mean":
            counts = np.bincount(inverse).tolist()
            means = self.means.setdefault(field_name, {})
            for day, total, count in zip(unique.tolist(), sums, counts, strict=True):
                acc = means.get(day)
                if acc is None:
                    means[day] = [total, count]
                else:
                    acc[0] += total
                    acc[1] += count
        else:  # device_sum
            device = self._device(field_name, device)
            device_sums = self.device_sums.setdefault(field_name, {})
            for day, total in zip(unique.tolist(), sums, strict=True):
                device_sums[(day, device)] = device_sums.get((day, device), 0.0) + total

    def add_sleep(self, device: str, start: int, end: int, code: int, end_day: int) -> None:
        source = self.sleep.get(device)
        if source is None:
            device = self._device("sleep", device)
            source = self.sleep.get(device)
            if source is None:
                source = self.sleep[device] = _SleepSource()
        source.add(start, end, code, end_day)

    def days(self) -> list[DailyWellness]:
        values: dict[int, dict[str, float]] = {}
        for name, means in self.means.items():
            for day, (total, count) in means.items():
                values.setdefault(day, {})[name] = total / count
        for name, last in self.last.items():
            for day, (_, value) in last.items():
                values.setdefault(day, {})[name] = value
        for name, sums in self.device_sums.items():
            best: dict[int, float] = {}
            for (day, _), total in sums.items():  # the device that counted most, not the sum:
                if total > best.get(day, -1.0):  # the iPhone and the Watch count the same steps
                    best[day] = total
            for day, total in best.items():
                values.setdefault(day, {})[name] = total
        for day, kcal in self.summary_kcal.items():
            values.setdefault(day, {}).setdefault("active_kcal", kcal)
        for day, sleep in self._sleep_days().items():
            values.setdefault(day, {}).update(sleep)
        return [
            DailyWellness(day=day_date(day), source=SOURCE, values=day_values)
            for day, day_values in sorted(values.items())
            if day_values
        ]

    def _sleep_days(self) -> dict[int, dict[str, float]]:
        """Per date the sleep ends: the source with the most time asleep wins the date."""
        chosen: dict[int, tuple[float, dict[str, float]]] = {}
        for source in self.sleep.values():
            source.compact(final=True)
            for day, totals in source.totals.items():
                asleep = sum(totals[code] for code in _ASLEEP_CODES)
                if asleep <= 0 or asleep <= chosen.get(day, (0.0, {}))[0]:
                    continue
                staged = totals[SLEEP_CORE] + totals[SLEEP_DEEP] + totals[SLEEP_REM] > 0
                result = {"sleep_s": asleep}
                if staged:  # stages recorded: a zero is a real zero
                    result["sleep_light_s"] = totals[SLEEP_CORE]
                    result["sleep_deep_s"] = totals[SLEEP_DEEP]
                    result["sleep_rem_s"] = totals[SLEEP_REM]
                if staged or totals[SLEEP_AWAKE] > 0:
                    result["sleep_awake_s"] = totals[SLEEP_AWAKE]
                chosen[day] = (asleep, result)
        return {day: result for day, (_, result) in chosen.items()}
