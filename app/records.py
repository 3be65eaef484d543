"""The typed records every adapter returns and the import service stores.

Adapters (FIT, Garmin export, Apple Health, later the APIs) translate their format into these and
nothing else; ``app.services.imports`` writes them. Conventions:

- times are UTC: ``datetime`` objects are timezone-aware, arrays hold Unix seconds (float64);
- units are SI-ish and named in the field: metres, seconds, m/s, watts, bpm, rpm, °C, kg;
- ``None`` (or ``NaN`` in arrays) means "not recorded", never zero;
- sports use the FIT profile's ``sport``/``sub_sport`` names (``running``, ``cycling``,
  ``swimming``, ``walking``, ``hiking``, ``rowing``, ``training``, ``transition``, ``generic``…).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

# Per-second channels of an activity, in storage order (see the ``sample`` table).
SAMPLE_CHANNELS = (
    "heart_rate",  # bpm
    "power",  # W
    "cadence",  # rpm (running: strides per minute per foot, as FIT stores it)
    "speed",  # m/s
    "distance",  # m from the start
    "lat",  # degrees
    "lon",  # degrees
    "altitude",  # m
    "temperature",  # °C
)


@dataclass(frozen=True, slots=True)
class WellnessField:
    """One daily wellness value (a column of ``daily_wellness``, one row per local date)."""

    name: str
    #: The metric group whose source the owner chooses on the Settings page (every field is in
    #: exactly one; ``app.services.wellness.origins`` resolves a day's value per group).
    group: str
    #: Shown as a trend on the Wellness page (``app.services.wellness.trends``).
    trend: bool = True


# The one table of daily wellness values, grouped in the order the Settings page lists the groups.
WELLNESS_TABLE = (
    WellnessField("sleep_s", "sleep"),  # total sleep, assigned to the day the sleep ends
    WellnessField("sleep_deep_s", "sleep"),
    WellnessField("sleep_light_s", "sleep"),  # Apple "core"
    WellnessField("sleep_rem_s", "sleep"),
    WellnessField("sleep_awake_s", "sleep"),
    WellnessField("sleep_score", "sleep"),  # 0-100
    WellnessField("training_readiness", "readiness"),  # 0-100
    WellnessField("hrv_rmssd_ms", "readiness"),  # nightly average rMSSD (Garmin, Oura)
    # SDNN (Apple Health): a different statistic, never mixed with rMSSD
    WellnessField("hrv_sdnn_ms", "readiness"),
    WellnessField("body_battery_high", "readiness"),
    WellnessField("body_battery_low", "readiness"),
    WellnessField("resting_hr", "heart"),  # bpm
    WellnessField("steps", "activity"),
    WellnessField("active_kcal", "activity", trend=False),
    WellnessField("stress_avg", "stress"),  # Garmin 0-100
    WellnessField("spo2_avg", "breathing", trend=False),  # %
    WellnessField("respiratory_rate", "breathing", trend=False),  # breaths/min
    WellnessField("weight_kg", "body"),
    WellnessField("body_fat_pct", "body"),
    WellnessField("vo2max_running", "fitness"),  # ml/kg/min
    WellnessField("vo2max_cycling", "fitness"),
)
WELLNESS_FIELDS = tuple(field.name for field in WELLNESS_TABLE)


@dataclass(slots=True)
class Notice:
    """Something the owner should know about one input: ``code`` picks the sentence shown in
    Korean or English (``app.messages``), ``params`` fill it."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Samples:
    """Per-second samples as parallel float64 arrays of equal length; NaN = not recorded.

    ``time`` is Unix seconds (UTC), strictly increasing.
    """

    time: np.ndarray
    channels: dict[str, np.ndarray]  # keys from SAMPLE_CHANNELS; a missing key = all NaN

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def channel(self, name: str) -> np.ndarray:
        values = self.channels.get(name)
        if values is None:
            return np.full(len(self), np.nan)
        return values

    def between(self, start: float, end: float) -> Samples:
        """The samples with ``start <= time < end`` (used to split multisport files)."""
        lo, hi = np.searchsorted(self.time, [start, end], side="left")
        return Samples(
            time=self.time[lo:hi], channels={k: v[lo:hi] for k, v in self.channels.items()}
        )


@dataclass(slots=True)
class Lap:
    start: datetime
    elapsed_s: float | None = None
    moving_s: float | None = None  # timer time (pauses excluded)
    distance_m: float | None = None
    avg_hr: float | None = None
    max_hr: float | None = None
    avg_power: float | None = None
    max_power: float | None = None
    avg_cadence: float | None = None
    avg_speed: float | None = None
    ascent_m: float | None = None
    descent_m: float | None = None
    calories: float | None = None


@dataclass(slots=True)
class Activity:
    source: str  # "fit", "garmin_export", "apple_health", …
    sport: str
    start: datetime  # UTC, aware
    sub_sport: str | None = None
    # Wall-clock time at the start where the file says it (FIT ``local_timestamp``, Apple's
    # offset): the activity's local date comes from it, else from the owner's time zone.
    local_start: datetime | None = None
    external_id: str | None = None  # the source's own id (Garmin activity id, Apple UUID…)
    name: str | None = None
    device: str | None = None  # "garmin fenix5x", "wahoo_fitness 28", "Apple Watch"
    elapsed_s: float | None = None
    moving_s: float | None = None
    distance_m: float | None = None
    ascent_m: float | None = None
    descent_m: float | None = None
    calories: float | None = None
    avg_hr: float | None = None
    max_hr: float | None = None
    avg_power: float | None = None
    max_power: float | None = None
    avg_cadence: float | None = None
    avg_speed: float | None = None
    laps: list[Lap] = field(default_factory=list)
    samples: Samples | None = None
    rr_intervals_ms: np.ndarray | None = None  # beat-to-beat intervals (FIT ``hrv`` messages)
    # JSON-able: {"session": {name: value}, "record": {name: {"units": str, "values": [...]}}}
    # where record values are aligned with ``samples.time``.
    developer_fields: dict[str, Any] = field(default_factory=dict)
    multisport_index: int | None = None  # 0-based leg of a multisport file, None otherwise
    extras: dict[str, Any] = field(default_factory=dict)  # JSON-able summaries without a column


@dataclass(slots=True)
class HealthSeries:
    """Intraday values of one metric from one device: heart_rate, steps, stress, body_battery,
    hrv_sdnn_ms, respiratory_rate, spo2, sleep_stage, …"""

    metric: str
    source: str
    time: np.ndarray  # Unix seconds, UTC
    value: np.ndarray  # float64
    device: str = ""
    end_time: np.ndarray | None = None  # for interval records (steps over 10 min, a sleep stage)

    def __len__(self) -> int:
        return int(self.time.shape[0])


@dataclass(slots=True)
class DailyWellness:
    day: date  # the owner's local date
    source: str
    values: dict[str, float]  # keys from WELLNESS_FIELDS
    # What the source sent beyond WELLNESS_FIELDS (JSON-able): kept per source in
    # ``daily_wellness_source.extras``, never resolved into ``daily_wellness``.
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DecodedFile:
    """Everything one input file carried."""

    kind: str  # "activity", "monitoring", "course", "workout", "settings", "wellness", …
    activities: list[Activity] = field(default_factory=list)
    health: list[HealthSeries] = field(default_factory=list)
    wellness: list[DailyWellness] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)  # warnings: data kept, but look


def finite(value: Any) -> float | None:
    """A finite float, or None for missing/null/NaN/±inf/non-numbers (never zero for missing):
    how every adapter reads a number from a payload."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None
