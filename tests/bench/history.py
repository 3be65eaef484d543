"""A synthetic ten-year training history of one athlete, as FIT files, for benchmarks.

``generate_history(folder, years=10, seed=1)`` writes about 300 activities a year (runs of
30–150 min, rides of 1–5 h, pool and open-water swims, triathlons and duathlons, strength
sessions) at 1 Hz, about ten million records over ten years, into ``folder/fit/`` with a
``manifest.json`` beside it. Everything comes from the seed: the same arguments write the same
bytes, and a folder whose manifest has this generator's version, seed, years and end date (and
all its files) is kept as it is.

The athlete lives in Seoul, travels once or twice a year (Jeju, Kyoto, Berlin, Boulder, Sydney:
the files' ``local_timestamp`` follows the place's time zone, DST included), gets fitter over
the years and within each season, takes recovery weeks, falls ill now and then, races in
spring and summer. Devices change twice: a Forerunner 235 (plain ``speed``/``altitude``), then a
Forerunner 945 with an Edge 530 on the bike, then a Forerunner 965 (running power) with an
Edge 540; from the second device on, a chest strap adds ``hrv`` messages to some sessions and
``hr`` messages to pool swims (the strap stores heart rate under water).

Signals are shaped, not random: pace, power, heart rate, cadence and altitude follow the
workout's intensity, the terrain's grade, cardiac lag and drift; GPS tracks are loops around
the start with a little noise, and wrist heart rate drops out for a few seconds now and then.

``generate_wellness_days(years, seed)`` gives the same athlete's daily values (resting heart
rate, HRV, sleep, stress, body battery, steps, weight, VO2max, training readiness), following
the same plan's training load; keys a device of that era did not measure are absent.
``generate_history_export(path, years, seed)`` packs both into a Garmin-export-shaped ZIP.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from tests.support.fitwriter import Leg, write_activity

__all__ = [
    "GENERATOR_VERSION",
    "HISTORY_END",
    "encode",
    "generate_history",
    "generate_history_export",
    "generate_wellness_days",
    "plan_history",
]

GENERATOR_VERSION = 2
HISTORY_END = date(2026, 10, 31)  # fixed, so that a seed always means the same history
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    altitude: float
    tz: str
    hills: float  # amplitude of the terrain on runs, m
    ride_hills: float  # and on rides
    temp_mean: float  # yearly mean temperature, C
    temp_swing: float  # half the summer-winter difference (negative: southern hemisphere)


PLACES: dict[str, Place] = {
    "Seoul": Place(37.5283, 126.9340, 12, "Asia/Seoul", 12, 90, 12.5, 14.5),
    "Jeju": Place(33.4996, 126.5312, 30, "Asia/Seoul", 25, 160, 16.0, 10.0),
    "Kyoto": Place(35.0116, 135.7681, 45, "Asia/Tokyo", 18, 140, 16.0, 12.0),
    "Berlin": Place(52.5145, 13.3501, 35, "Europe/Berlin", 5, 25, 10.0, 10.0),
    "Boulder": Place(40.0150, -105.2705, 1655, "America/Denver", 45, 300, 11.0, 12.0),
    "Sydney": Place(-33.8688, 151.2093, 20, "Australia/Sydney", 20, 90, 18.0, -5.0),
}
HOME = "Seoul"

# (manufacturer, product, serial) of each era's watch and bike computer; era 0 has no Edge.
WATCHES = [("garmin", 2431, 3_861_220_415), ("garmin", 3113, 3_935_120_233)]
WATCHES.append(("garmin", 4315, 3_412_778_902))
EDGES = [None, ("garmin", 3121, 3_327_861_004), ("garmin", 4061, 3_470_012_977)]

# Intensity of each workout relative to threshold, for the training load.
WORKOUT_INTENSITY = {
    "recovery": 0.6,
    "easy": 0.7,
    "long": 0.72,
    "tempo": 0.85,
    "intervals": 0.9,
    "race": 0.95,
    "endurance": 0.66,
    "sweetspot": 0.8,
    "vo2": 0.85,
    "technique": 0.65,
    "strength": 0.6,
}


# --- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One activity of the plan; ``synthesize`` turns it into samples."""

    index: int
    activity_id: int
    kind: str  # run, ride, indoor_ride, pool_swim, open_water_swim, strength, triathlon, duathlon
    workout: str
    place: str
    start: datetime  # UTC
    offset_s: int  # local time minus UTC
    duration_s: int
    era: int  # 0, 1, 2: which devices
    fitness: float  # 0..1
    years_in: float  # years since the history began

    @property
    def file_name(self) -> str:
        return f"{self.activity_id}_ACTIVITY.fit"


def _first_day(years: int, end: date) -> date:
    return end - timedelta(days=round(365.25 * years)) + timedelta(days=1)


def _fitness(day_index: int, total_days: int, day: date) -> float:
    """Long-term progress (most of it in the first 70 %), a season peaking in late summer."""
    progress = min(1.0, day_index / (0.7 * total_days))
    progress = progress * progress * (3 - 2 * progress)
    season = 0.06 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 130) / 365.25)
    return min(1.0, max(0.0, 0.2 + 0.7 * progress + season))


def plan_history(years: int = 10, seed: int = 1, end: date = HISTORY_END) -> list[Planned]:
    """The activities of the history, cheaply: dates, kinds, workouts, durations, places."""
    rng = np.random.default_rng([seed, 0])
    first = _first_day(years, end)
    total_days = (end - first).days + 1
    off = np.zeros(total_days, dtype=bool)  # ill or injured
    place = [HOME] * total_days
    races: dict[int, str] = {}
    trips = [name for name in PLACES if name != HOME]
    for year in range(years):
        base = year * 365
        for _ in range(int(rng.integers(1, 3))):
            at = base + int(rng.integers(0, 365))
            off[at : at + int(rng.integers(4, 13))] = True
        for _ in range(int(rng.integers(1, 3))):
            at = base + int(rng.integers(0, 365))
            where = trips[int(rng.integers(0, len(trips)))]
            for i in range(at, min(total_days, at + int(rng.integers(5, 13)))):
                place[i] = where
    for i in range(total_days):
        day = first + timedelta(days=i)
        if day.weekday() != 6 or off[i] or place[i] != HOME or i < 200:
            continue
        p = rng.random()
        if day.month in (6, 7, 8, 9) and p < 0.18:
            races[i] = "triathlon"
        elif day.month == 4 and p < 0.25:
            races[i] = "duathlon"
        elif day.month in (3, 4, 5, 10, 11) and p < 0.2:
            races[i] = "run_race"

    plan: list[Planned] = []
    activity_id = 1_000_000_000
    for i in range(total_days):
        day = first + timedelta(days=i)
        if off[i]:
            continue
        years_in = i / 365.25
        era = 0 if years_in < 0.3 * years else 1 if years_in < 0.7 * years else 2
        fitness = _fitness(i, total_days, day)
        recovery_week = (i // 7) % 4 == 3
        travelling = place[i] != HOME
        for kind, workout, duration, hour in _day(rng, day, races.get(i), recovery_week):
            if (
                travelling
                and kind != "run"
                and (kind in ("ride", "indoor_ride") or rng.random() < 0.5)
            ):
                continue  # no bike abroad, and not always a pool
            activity_id += int(rng.integers(1_000_000, 9_000_000))
            zone = ZoneInfo(PLACES[place[i]].tz)
            minute = min(23 * 60 + 59, max(0, round(hour * 60)))
            local = datetime.combine(day, time(minute // 60, minute % 60), zone)
            local = local.replace(second=int(rng.integers(0, 60)))
            offset = local.utcoffset()
            assert offset is not None
            plan.append(
                Planned(
                    index=len(plan),
                    activity_id=activity_id,
                    kind=kind,
                    workout=workout,
                    place=place[i],
                    start=local.astimezone(UTC),
                    offset_s=int(offset.total_seconds()),
                    duration_s=int(duration),
                    era=era,
                    fitness=fitness,
                    years_in=years_in,
                )
            )
    return plan


def _day(
    rng: np.random.Generator, day: date, race: str | None, recovery_week: bool
) -> list[tuple[str, str, float, float]]:
    """(kind, workout, duration s, local start hour) of one day's sessions."""
    summer = day.month in (6, 7, 8, 9)
    winter = day.month in (12, 1, 2)
    scale = 0.78 if recovery_week else 1.0
    chance = 0.75 if recovery_week else 1.0
    morning = float(rng.normal(6.3, 0.4))
    evening = float(rng.normal(19.2, 0.6))
    weekday_hour = morning if rng.random() < 0.7 else evening
    weekend_hour = float(rng.normal(7.3, 0.7))
    out: list[tuple[str, str, float, float]] = []

    def minutes(low: float, high: float) -> float:
        return float(rng.uniform(low, high)) * 60

    if race == "triathlon":  # olympic distance (about 2.6 h) or sprint (about 1.4 h)
        return [("triathlon", "race", 9300 if rng.random() < 0.4 else 5100, 8.0)]
    if race == "duathlon":
        return [("duathlon", "race", 5500, 8.5)]
    if race == "run_race":
        half = rng.random() < 0.5
        return [("run", "race", minutes(88, 100) if half else minutes(40, 47), 8.0)]

    weekday = day.weekday()
    p = rng.random()
    if weekday == 0:  # Monday: strength or an easy swim
        if p < 0.33 * chance:
            out.append(("strength", "strength", minutes(30, 55), evening))
        elif p < 0.75 * chance:
            out.append(("pool_swim", "technique", minutes(30, 50), morning))
    elif weekday == 1:  # Tuesday: intervals
        if p < 0.85 * chance:
            out.append(("run", "intervals", minutes(45, 70) * scale, weekday_hour))
    elif weekday == 2:  # Wednesday: a ride (indoors in winter) or an easy run
        if p < 0.55 * chance:
            indoor = winter or rng.random() < 0.25
            kind = "indoor_ride" if indoor else "ride"
            workout = "sweetspot" if rng.random() < 0.5 else "vo2"
            out.append((kind, workout, max(3600, minutes(60, 80) * scale), evening))
        elif p < 0.9 * chance:
            out.append(("run", "easy", minutes(35, 50) * scale, weekday_hour))
    elif weekday == 3:  # Thursday: tempo or easy, sometimes a swim too
        if p < 0.8 * chance:
            workout = "tempo" if rng.random() < 0.5 else "easy"
            out.append(("run", workout, minutes(40, 60) * scale, weekday_hour))
        if rng.random() < 0.22 * chance:
            kind = "open_water_swim" if summer and rng.random() < 0.5 else "pool_swim"
            out.append((kind, "endurance", minutes(30, 50), evening))
    elif weekday == 4:  # Friday: a swim, a short run or rest
        if p < 0.45 * chance:
            kind = "open_water_swim" if summer and rng.random() < 0.4 else "pool_swim"
            out.append((kind, "endurance", minutes(35, 55), morning))
        elif p < 0.75 * chance:
            out.append(("run", "recovery", minutes(30, 38), weekday_hour))
    elif weekday == 5:  # Saturday: the long ride
        if p < (0.75 if not winter else 0.45) * chance:
            hours = min(5.0, max(1.5, float(rng.gamma(6.0, 0.34)))) * scale
            kind = "indoor_ride" if winter and rng.random() < 0.5 else "ride"
            if kind == "indoor_ride":
                hours = min(hours, 2.0)
            out.append((kind, "endurance", max(3600, hours * 3600), weekend_hour))
        elif p < 0.9 * chance:
            out.append(("run", "easy", minutes(40, 60), weekend_hour))
    elif weekday == 6 and p < 0.85 * chance:  # Sunday: the long run
        long_min = min(150.0, max(65.0, float(rng.normal(88, 18)))) * scale
        out.append(("run", "long", max(30 * 60, long_min * 60), weekend_hour))
    if weekday in (1, 3) and out and rng.random() < 0.15:
        out.append(("run", "recovery", minutes(30, 36), evening))  # a double day
    return out


# --- signals ---------------------------------------------------------------------------------


def _smooth(rng: np.random.Generator, n: int, period: float, sigma: float) -> np.ndarray:
    """Smooth noise: random knots every ``period`` samples, linearly interpolated."""
    knots = rng.normal(0.0, sigma, int(n / period) + 2)
    return np.interp(np.arange(n) / period, np.arange(knots.size), knots)


def _lag(values: np.ndarray, tau: float, start: float) -> np.ndarray:
    """A first-order response (time constant ``tau`` samples) starting from ``start``."""
    taps = np.exp(-np.arange(int(4 * tau) + 1) / tau)
    taps /= taps.sum()
    padded = np.concatenate([np.full(taps.size - 1, start), values])
    return np.convolve(padded, taps, mode="valid")


def _segments(parts: Sequence[tuple[float, float]], n: int) -> tuple[np.ndarray, list[int]]:
    """An intensity array of ``n`` samples from (seconds, level) parts, and the part starts."""
    lengths = [max(1, round(s)) for s, _ in parts]
    levels = np.repeat([level for _, level in parts], lengths)
    starts = np.cumsum([0, *lengths[:-1]]).tolist()
    if levels.size < n:
        levels = np.concatenate([levels, np.full(n - levels.size, parts[-1][1])])
    return levels[:n], [s for s in starts if s < n]


def _intensity(rng: np.random.Generator, workout: str, n: int) -> tuple[np.ndarray, list[int]]:
    """Intensity relative to threshold over the session, and manual lap starts (or [])."""
    if workout in ("intervals", "vo2", "sweetspot"):
        work = {"intervals": (180, 300), "vo2": (180, 300), "sweetspot": (600, 1200)}[workout]
        level = {"intervals": 1.05, "vo2": 1.1, "sweetspot": 0.9}[workout]
        rep = float(rng.integers(work[0] // 60, work[1] // 60 + 1) * 60)
        rest = rep / 2 if workout != "sweetspot" else 300.0
        warm, cool = 0.22 * n, 0.12 * n
        count = max(1, int((n - warm - cool) // (rep + rest)))
        parts = [(warm, 0.65)]
        for _ in range(count):
            parts += [(rep, level), (rest, 0.5)]
        parts.append((n - warm - count * (rep + rest), 0.6))
        levels, laps = _segments(parts, n)
        return levels + _smooth(rng, n, 30, 0.02), laps
    if workout == "tempo":
        warm, cool = 600.0, 480.0
        levels, laps = _segments([(warm, 0.65), (n - warm - cool, 0.88), (cool, 0.62)], n)
        return levels + _smooth(rng, n, 40, 0.02), laps
    if workout == "race":
        fade = np.linspace(0, -0.03, n)
        return 0.93 + fade + _smooth(rng, n, 60, 0.015), []
    base = {"recovery": 0.6, "easy": 0.68, "long": 0.68, "endurance": 0.64}.get(workout, 0.66)
    drift = np.linspace(0, 0.05, n) if workout == "long" else 0.0
    return base + drift + _smooth(rng, n, 90, 0.03), []


@dataclass
class Athlete:
    hr_rest: float
    hr_max: float
    run_threshold: float  # m/s
    ftp: float  # W
    swim_pace: float  # s per 100 m
    mass: float  # kg

    @classmethod
    def at(cls, planned: Planned) -> Athlete:
        f = planned.fitness
        return cls(
            hr_rest=54 - 8 * f,
            hr_max=189 - 0.5 * planned.years_in,
            run_threshold=3.65 + 0.6 * f,
            ftp=185 + 85 * f,
            swim_pace=128 - 22 * f,
            mass=73 - 4 * f,
        )

    def heart_rate(self, effort: np.ndarray, tau: float, rng: np.random.Generator) -> np.ndarray:
        n = effort.size
        target = self.hr_rest + (self.hr_max - self.hr_rest) * (0.2 + 0.65 * effort)
        target += 5.0 * np.arange(n) / 3600.0 * np.clip(effort, 0, None)  # cardiac drift
        hr = _lag(target, tau, self.hr_rest + 30) + _smooth(rng, n, 8, 1.2)
        return np.clip(np.rint(hr), 40, 215)


class _Terrain:
    """Altitude along the route: four waves of hills, and its derivative (the grade).

    Each wave is at most ``steepest`` steep, so the route is never steeper than four times it.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        base: float,
        amplitude: float,
        wavelengths: tuple[float, float],
        steepest: float,
    ) -> None:
        self.base = base
        self.waves = rng.uniform(*wavelengths, 4)
        heights = amplitude * rng.dirichlet(np.ones(4))
        self.heights = np.minimum(heights, steepest * self.waves / (2 * math.pi))
        self.phases = rng.uniform(0, 2 * math.pi, 4)

    def altitude(self, distance: np.ndarray) -> np.ndarray:
        out = np.full(distance.shape, self.base)
        for w, h, p in zip(self.waves, self.heights, self.phases, strict=True):
            out += h * np.sin(2 * math.pi * distance / w + p)
        return out

    def grade(self, distance: np.ndarray) -> np.ndarray:
        out = np.zeros(distance.shape)
        for w, h, p in zip(self.waves, self.heights, self.phases, strict=True):
            out += h * 2 * math.pi / w * np.cos(2 * math.pi * distance / w + p)
        return out


def _track(
    rng: np.random.Generator, start: tuple[float, float], speed: np.ndarray, noise_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """A loop that comes back near its start: heading turns once around over the distance."""
    n = speed.size
    distance = np.cumsum(speed)
    total = max(distance[-1], 1.0)
    turn = 1 if rng.random() < 0.5 else -1
    heading = rng.uniform(0, 2 * math.pi) + turn * 2 * math.pi * distance / total
    heading += _smooth(rng, n, 120, 0.35)
    north = np.cumsum(speed * np.cos(heading)) + _smooth(rng, n, 15, noise_m)
    east = np.cumsum(speed * np.sin(heading)) + _smooth(rng, n, 15, noise_m)
    lat = start[0] + north / 111_320.0
    lon = start[1] + east / (111_320.0 * math.cos(math.radians(start[0])))
    return lat, lon


def _ambient(place: Place, moment: datetime) -> float:
    day = moment.timetuple().tm_yday
    seasonal = -math.cos(2 * math.pi * (day - 20) / 365.25) * place.temp_swing
    hour = moment.hour + moment.minute / 60
    return place.temp_mean + seasonal + 4 * math.sin(2 * math.pi * (hour - 9) / 24)


def _start_point(rng: np.random.Generator, place: Place) -> tuple[float, float]:
    return (
        place.lat + float(rng.normal(0, 0.02)),
        place.lon + float(rng.normal(0, 0.025)),
    )


def _pauses(
    rng: np.random.Generator, elapsed: int, count: int, low: int, high: int
) -> tuple[list[tuple[int, int]], int]:
    """Timer stops in ``elapsed`` seconds: ([(sample index after which the timer stops,
    seconds stopped)], samples left)."""
    stops = [int(rng.integers(low, high + 1)) for _ in range(max(0, count))]
    n = elapsed - sum(stops)
    if not stops or n < 900:
        return [], elapsed
    at = np.sort(rng.choice(np.arange(300, n - 300), size=len(stops), replace=False))
    return [(int(i), s) for i, s in zip(at, stops, strict=True)], n


def _timestamps(n: int, pauses: Sequence[tuple[int, int]], offset: int = 0) -> np.ndarray:
    times = np.arange(n, dtype=np.int64) + offset
    for index, seconds in pauses:
        times[index + 1 :] += seconds
    return times


def _distance_laps(distance: np.ndarray, every: float) -> list[int]:
    marks = np.arange(every, distance[-1], every)
    return sorted({0, *np.searchsorted(distance, marks).tolist()} - {distance.size})


def _dropouts(rng: np.random.Generator, values: np.ndarray, count: int) -> np.ndarray:
    values = values.astype(np.float64)
    for _ in range(count):
        at = int(rng.integers(0, values.size))
        values[at : at + int(rng.integers(3, 25))] = np.nan
    return values


def _run(
    rng: np.random.Generator,
    planned: Planned,
    athlete: Athlete,
    n: int,
    workout: str,
    place: Place,
    start: datetime,
    hills: float = 1.0,
) -> tuple[dict[str, np.ndarray], list[int]]:
    effort, laps = _intensity(rng, workout, n)
    base = place.altitude + float(rng.uniform(0, 30))
    terrain = _Terrain(rng, base, place.hills * hills, (700, 5000), 0.025 * min(hills, 2.0))
    flat = athlete.run_threshold * (0.4 + 0.6 * effort) * (1 + _smooth(rng, n, 20, 0.015))
    grade = terrain.grade(np.cumsum(flat))
    speed = np.clip(flat * (1 - 2.5 * grade), 0.45 * flat, 1.25 * flat)
    speed = np.clip(speed, 1.2, 7.0)
    distance = np.concatenate([[0.0], np.cumsum(speed[:-1])])
    grade = terrain.grade(distance)
    lat, lon = _track(rng, _start_point(rng, place), speed, 1.5)
    hr = athlete.heart_rate(effort * (1 + 1.5 * np.clip(grade, -0.1, 0.15)), 30, rng)
    samples = {
        "position_lat": lat,
        "position_long": lon,
        "distance": distance,
        "speed": speed,
        "altitude": terrain.altitude(distance) + _smooth(rng, n, 30, 0.4),
        "heart_rate": _dropouts(rng, hr, int(rng.poisson(0.7))),
        "cadence": np.rint(np.clip(76 + 3.0 * speed + _smooth(rng, n, 10, 1.0), 60, 110)),
        "temperature": np.rint(_ambient(place, start) + 6 + _smooth(rng, n, 300, 0.8)),
    }
    if planned.era == 2:
        watts = athlete.mass * speed * 1.25 * (1 + 4.0 * np.clip(grade, -0.1, 0.2))
        samples["power"] = np.rint(np.clip(watts + _smooth(rng, n, 5, 8), 0, 900))
    if rng.random() < 0.1:  # no satellite fix for the first seconds
        cut = int(rng.integers(5, 40))
        samples["position_lat"][:cut] = np.nan
        samples["position_long"][:cut] = np.nan
    return samples, laps or _distance_laps(distance, 1000.0)


def _bike_speed(power: np.ndarray, grade: np.ndarray, mass: float, cda: float) -> np.ndarray:
    """Steady speed from power on a grade: solves a v^3 + b v = P (Cardano, largest root)."""
    a = 0.5 * 1.2 * cda
    b = (mass + 9) * 9.81 * (0.005 + grade)
    p, q = b / a, -power * 0.97 / a
    disc = (q / 2) ** 2 + (p / 3) ** 3
    root = np.sqrt(np.clip(disc, 0, None))
    one = np.cbrt(-q / 2 + root) + np.cbrt(-q / 2 - root)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.sqrt(np.clip(-p / 3, 1e-12, None))
        angle = np.arccos(np.clip(-q / (2 * r**3), -1, 1)) / 3
    three = 2 * r * np.cos(angle)
    return np.where(disc >= 0, one, three)


def _ride(
    rng: np.random.Generator,
    planned: Planned,
    athlete: Athlete,
    n: int,
    workout: str,
    place: Place,
    start: datetime,
    indoor: bool,
) -> tuple[dict[str, np.ndarray], list[int]]:
    effort, laps = _intensity(rng, workout, n)
    ride_hills = 0.0 if indoor else place.ride_hills * float(rng.uniform(0.3, 1.2))
    base = place.altitude + float(rng.uniform(0, 60))
    terrain = _Terrain(rng, base, ride_hills, (2500, 16000), 0.022)
    power = athlete.ftp * effort * (1 + _smooth(rng, n, 12, 0.08)) + rng.normal(0, 12, n)
    cda = 0.36 if workout != "race" else 0.28
    speed = _bike_speed(np.clip(power, 0, None), np.zeros(n), athlete.mass, cda)
    for _ in range(2):  # settle speed and grade against each other
        grade = terrain.grade(np.cumsum(speed))
        coasting = (grade < -0.035) & (_smooth(rng, n, 20, 1.0) > -0.3)
        power = np.where(coasting, 0.0, power)
        speed = _bike_speed(np.clip(power, 0, None), grade, athlete.mass, cda)
    speed = np.clip(_lag(np.clip(speed, 0.5, 25.0), 6, 3.0), 0.5, 25.0)
    distance = np.concatenate([[0.0], np.cumsum(speed[:-1])])
    watts = np.rint(np.clip(power, 0, 1500))
    cadence = np.where(watts > 10, 80 + 10 * effort + _smooth(rng, n, 15, 3.0), 0.0)
    samples = {
        "distance": distance,
        "speed": speed,
        "heart_rate": athlete.heart_rate(_lag(watts / athlete.ftp, 20, 0.5), 40, rng),
        "cadence": np.rint(np.clip(cadence, 0, 130)),
        "temperature": np.rint(_ambient(place, start) + _smooth(rng, n, 400, 1.0)),
    }
    if indoor:
        samples["temperature"] = np.rint(np.full(n, 23.0) + _smooth(rng, n, 600, 1.0))
    else:
        lat, lon = _track(rng, _start_point(rng, place), speed, 1.0)
        samples |= {"position_lat": lat, "position_long": lon}
        samples["altitude"] = terrain.altitude(distance) + _smooth(rng, n, 30, 0.3)
    if indoor or planned.years_in >= 2:  # a smart trainer; a power meter from year two on
        samples["power"] = watts
    if not indoor and not laps:
        laps = _distance_laps(distance, 10_000.0)
    return samples, laps or [0]


def _pool_swim(
    rng: np.random.Generator, athlete: Athlete, n: int, pool: float
) -> tuple[dict[str, np.ndarray], list[int], np.ndarray]:
    """Sets of lengths with rests at the wall; distance steps at each length's end."""
    speed = np.zeros(n)
    effort = np.full(n, 0.35)
    laps: list[int] = []
    at = 0
    while at < n - 60:
        laps.append(at)
        metres = float(rng.choice([100, 200, 200, 300, 400]))
        pace = athlete.swim_pace * float(rng.uniform(0.95, 1.1))  # s per 100 m
        swim = min(n - at, round(metres / 100 * pace))
        speed[at : at + swim] = 100 / pace
        effort[at : at + swim] = 0.75 + 0.1 * (1.1 - pace / athlete.swim_pace)
        at += swim + int(rng.integers(15, 50))
    swum = np.cumsum(speed)
    distance = np.floor(swum / pool) * pool
    strokes = np.where(speed > 0, 30 + _smooth(rng, n, 30, 2.0), 0.0)
    samples = {
        "distance": distance,
        "speed": speed,
        "cadence": np.rint(np.clip(strokes, 0, 60)),
        "temperature": np.rint(np.full(n, 28.0) + _smooth(rng, n, 600, 0.5)),
    }
    return samples, laps, effort


def _strength(rng: np.random.Generator, athlete: Athlete, n: int) -> dict[str, np.ndarray]:
    effort = np.full(n, 0.25)
    at = int(rng.integers(240, 480))  # warm-up
    while at < n - 120:
        work = int(rng.integers(30, 70))
        effort[at : at + work] = float(rng.uniform(0.65, 0.95))
        at += work + int(rng.integers(60, 150))
    hr = athlete.heart_rate(effort, 15, rng)
    return {
        "heart_rate": hr,
        "temperature": np.rint(np.full(n, 24.0) + _smooth(rng, n, 600, 0.6)),
    }


def _beats(hr: np.ndarray, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Beat times (s after start) for a 1 Hz heart rate, with a little beat-to-beat variation."""
    hr = np.nan_to_num(hr, nan=float(np.nanmean(hr)))
    grid = np.arange(float(times[0]), float(times[-1]) + 2)  # the heart beats on in pauses
    hr = np.interp(grid[:-1], times, hr)
    count = np.concatenate([[0.0], np.cumsum(hr / 60.0)])
    beats = np.interp(np.arange(1, int(count[-1])), count, grid)
    jitter = rng.normal(0, 0.012, beats.size)
    return np.sort(beats + jitter - jitter.mean())


@dataclass
class _Built:
    legs: list[Leg]
    hr_messages: tuple[np.ndarray, np.ndarray] | None = None
    hrv: np.ndarray | None = None
    device: tuple[str, int, int] = WATCHES[0]


def synthesize(planned: Planned, seed: int) -> _Built:
    """The legs (samples, laps, pauses) and extra messages of one planned activity."""
    rng = np.random.default_rng([seed, 1, planned.index])
    athlete = Athlete.at(planned)
    place = PLACES[planned.place]
    start = planned.start + timedelta(seconds=planned.offset_s)  # local wall time
    watch = WATCHES[planned.era]
    strap = planned.era >= 1 and rng.random() < 0.35
    kind, workout, n = planned.kind, planned.workout, planned.duration_s
    built = _Built(legs=[], device=watch)

    if kind == "run":
        trail = workout in ("easy", "long") and rng.random() < (0.5 if place.hills > 30 else 0.07)
        count = int(rng.poisson(1.2)) if rng.random() < 0.4 and not trail else 0
        pauses, n = _pauses(rng, n, count, 15, 90)
        hills = 4.0 if trail else 1.0
        samples, laps = _run(rng, planned, athlete, n, workout, place, start, hills)
        samples["timestamp"] = _timestamps(n, pauses)
        trigger = "manual" if workout in ("intervals", "tempo") else "distance"
        sub = "trail" if trail else "generic"
        built.legs.append(
            Leg("running", samples, sub, laps, [i for i, _ in pauses], lap_trigger=trigger)
        )
    elif kind in ("ride", "indoor_ride"):
        indoor = kind == "indoor_ride"
        count = 0 if indoor or rng.random() < 0.5 else int(rng.integers(1, 4))
        pauses, n = _pauses(rng, n, count, 30, 1200 if n > 9000 else 180)
        samples, laps = _ride(rng, planned, athlete, n, workout, place, start, indoor)
        samples["timestamp"] = _timestamps(n, pauses)
        sub = "indoor_cycling" if indoor else "road"
        trigger = "manual" if workout in ("vo2", "sweetspot") else "distance"
        built.legs.append(
            Leg("cycling", samples, sub, laps, [i for i, _ in pauses], lap_trigger=trigger)
        )
        if EDGES[planned.era] is not None and not indoor:
            built.device = EDGES[planned.era]
    elif kind == "pool_swim":
        pool = 25.0 if rng.random() < 0.8 else 50.0
        samples, laps, effort = _pool_swim(rng, athlete, n, pool)
        samples["timestamp"] = np.arange(n)
        hr = athlete.heart_rate(effort, 20, rng)
        if strap:  # the strap stores heart rate under water: hr messages, none in records
            beats = _beats(hr, np.arange(n), rng)
            bpm = np.rint(np.interp(beats, np.arange(n), hr))
            built.hr_messages = (beats, bpm)
        else:  # wrist heart rate under water: noisy, with gaps
            samples["heart_rate"] = _dropouts(rng, hr + rng.normal(0, 4, n), 4)
            samples["heart_rate"] = np.rint(np.clip(samples["heart_rate"], 40, 215))
        built.legs.append(
            Leg("swimming", samples, "lap_swimming", laps, summary={"pool_length": pool})
        )
    elif kind == "open_water_swim":
        built.legs.append(_open_water(rng, athlete, n, place, 0))
    elif kind == "strength":
        samples = _strength(rng, athlete, n) | {"timestamp": np.arange(n)}
        built.legs.append(Leg("training", samples, "strength_training"))
    elif kind in ("triathlon", "duathlon"):
        built.legs = _multisport(rng, planned, athlete, place, start)
    else:  # pragma: no cover - the plan makes only the kinds above
        raise ValueError(kind)

    if strap and kind in ("run", "ride", "indoor_ride") and rng.random() < 0.4:
        leg = built.legs[0]
        times = np.asarray(leg.samples["timestamp"])
        hr = np.asarray(leg.samples["heart_rate"])
        built.hrv = np.round(np.diff(_beats(hr, times, rng)), 3)
    return built


def _open_water(
    rng: np.random.Generator, athlete: Athlete, n: int, place: Place, offset: int
) -> Leg:
    speed = np.clip(100 / athlete.swim_pace * (0.95 + _smooth(rng, n, 60, 0.05)), 0.5, 2.5)
    lat, lon = _track(rng, _start_point(rng, place), speed, 4.0)
    effort = np.full(n, 0.8) + _smooth(rng, n, 60, 0.03)
    hr = athlete.heart_rate(effort, 25, rng) + rng.normal(0, 3, n)
    samples = {
        "timestamp": np.arange(n) + offset,
        "position_lat": lat,
        "position_long": lon,
        "distance": np.concatenate([[0.0], np.cumsum(speed[:-1])]),
        "speed": speed,
        "heart_rate": _dropouts(rng, np.rint(np.clip(hr, 40, 215)), 3),
        "cadence": np.rint(np.clip(28 + _smooth(rng, n, 30, 2.0), 0, 60)),
        "temperature": np.rint(np.full(n, 22.0) + _smooth(rng, n, 600, 0.5)),
    }
    return Leg("swimming", samples, "open_water")


def _multisport(
    rng: np.random.Generator, planned: Planned, athlete: Athlete, place: Place, start: datetime
) -> list[Leg]:
    olympic = planned.duration_s > 7200
    legs: list[Leg] = []
    offset = 0

    def transition(sub: str) -> None:
        nonlocal offset
        n = int(rng.integers(70, 200))
        hr = athlete.heart_rate(np.full(n, 0.85), 10, rng)
        samples = {"timestamp": np.arange(n) + offset, "heart_rate": hr}
        legs.append(Leg("transition", samples, sub))
        offset += n

    def run(minutes: float) -> None:
        nonlocal offset
        n = int(minutes * 60)
        samples, laps = _run(rng, planned, athlete, n, "race", place, start)
        samples["timestamp"] = np.arange(n) + offset
        legs.append(Leg("running", samples, "generic", laps, lap_trigger="distance"))
        offset += n

    def ride(minutes: float) -> None:
        nonlocal offset
        n = int(minutes * 60)
        samples, laps = _ride(rng, planned, athlete, n, "race", place, start, indoor=False)
        samples["timestamp"] = np.arange(n) + offset
        legs.append(Leg("cycling", samples, "road", laps, lap_trigger="distance"))
        offset += n

    if planned.kind == "triathlon":
        n = int((32 if olympic else 16) * 60 * float(rng.uniform(0.9, 1.1)))
        legs.append(_open_water(rng, athlete, n, place, 0))
        offset = n
        transition("swim_to_bike_transition")
        ride((72 if olympic else 38) * float(rng.uniform(0.9, 1.1)))
        transition("bike_to_run_transition")
        run((46 if olympic else 24) * float(rng.uniform(0.9, 1.1)))
    else:
        run(22 * float(rng.uniform(0.9, 1.1)))
        transition("run_to_bike_transition")
        ride(55 * float(rng.uniform(0.9, 1.1)))
        transition("bike_to_run_transition")
        run(12 * float(rng.uniform(0.9, 1.1)))
    return legs


# --- writing ---------------------------------------------------------------------------------

GARMIN_TYPES = {
    ("running", "generic"): "running",
    ("running", "trail"): "trail_running",
    ("cycling", "road"): "road_biking",
    ("cycling", "indoor_cycling"): "indoor_cycling",
    ("swimming", "lap_swimming"): "lap_swimming",
    ("swimming", "open_water"): "open_water_swimming",
    ("training", "strength_training"): "strength_training",
}


def _summary(planned: Planned, built: _Built) -> dict[str, Any]:
    """What the manifest (and a Garmin export's activity list) says of an activity."""
    legs = built.legs
    columns: dict[str, list[np.ndarray]] = {}
    for leg in legs:
        for key, values in leg.samples.items():
            columns.setdefault(key, []).append(np.asarray(values, dtype=np.float64))
    cat = {k: np.concatenate(v) for k, v in columns.items()}
    first = float(np.asarray(legs[0].samples["timestamp"])[0])
    last = float(np.asarray(legs[-1].samples["timestamp"])[-1])
    records = int(sum(len(leg.samples["timestamp"]) for leg in legs))
    timer = 0.0
    for leg in legs:
        times = np.asarray(leg.samples["timestamp"])
        gaps = sum(float(times[p + 1] - times[p]) for p in leg.pauses)
        timer += float(times[-1] - times[0]) - gaps
    sport = (
        "multi_sport"
        if len(legs) > 1
        else GARMIN_TYPES.get((str(legs[0].sport), str(legs[0].sub_sport)), str(legs[0].sport))
    )
    out: dict[str, Any] = {
        "activity_id": planned.activity_id,
        "file": planned.file_name,
        "kind": planned.kind,
        "workout": planned.workout,
        "sport": sport,
        "name": f"{planned.place} {sport.replace('_', ' ').title()}",
        "start": planned.start.isoformat(),
        "utc_offset_s": planned.offset_s,
        "records": records,
        "sessions": len(legs),
        "elapsed_s": last - first,
        "timer_s": timer,
    }
    distance = 0.0
    for leg in legs:
        if "distance" in leg.samples:
            d = np.asarray(leg.samples["distance"], dtype=np.float64)
            distance += float(d[-1] - d[0])
    if distance:
        out["distance_m"] = round(distance, 2)
        out["avg_speed"] = round(distance / max(timer, 1.0), 3)
    for key, avg, top in (
        ("heart_rate", "avg_hr", "max_hr"),
        ("power", "avg_power", "max_power"),
        ("speed", None, "max_speed"),
        ("cadence", "avg_cadence", None),
    ):
        values = cat.get(key)
        if values is None or not np.isfinite(values).any():
            continue
        if avg:
            out[avg] = round(float(np.nanmean(values)))
        if top:
            peak = float(np.nanmax(values))
            out[top] = round(peak, 3) if key == "speed" else round(peak)
    if "altitude" in cat:
        steps = np.diff(cat["altitude"])
        out["ascent_m"] = round(float(steps.clip(0).sum()))
        out["descent_m"] = round(float(-steps.clip(None, 0).sum()))
    out["calories"] = round(sum(_calories(leg) for leg in legs))
    return out


def _calories(leg: Leg) -> float:
    """As the FIT writer estimates them: work on the bike, else heart rate, else time."""
    samples = leg.samples
    if leg.sport == "cycling" and "power" in samples:
        return float(np.nansum(samples["power"])) / 1000
    if "heart_rate" in samples:
        hr = np.asarray(samples["heart_rate"], dtype=np.float64)
        per_minute = np.maximum(0, -55.0969 + 0.6309 * hr + 0.1988 * 70 + 0.2017 * 35) / 4.184
        return float(np.nansum(per_minute)) / 60
    return len(samples["timestamp"]) / 60 * 8


def encode(planned: Planned, seed: int, path: Path | None = None) -> tuple[_Built, bytes]:
    """One planned activity as its FIT file (written to ``path`` unless None)."""
    built = synthesize(planned, seed)
    manufacturer, product, serial = built.device
    months = (planned.years_in % 3.3) * 12
    blob = write_activity(
        path,
        start=planned.start,
        legs=built.legs,
        device=(manufacturer, product),
        serial_number=serial,
        software_version=round(2.0 + 0.1 * months, 2),
        local_offset_s=planned.offset_s,
        hr_messages=built.hr_messages,
        hrv=built.hrv,
        enhanced=planned.era > 0,  # the Forerunner 235 wrote plain speed and altitude
    )
    return built, blob


def _write_one(task: tuple[Planned, int, str]) -> dict[str, Any]:
    planned, seed, folder = task
    built, blob = encode(planned, seed, Path(folder) / planned.file_name)
    return _summary(planned, built) | {"bytes": len(blob)}


def _write_part(years: int, seed: int, end: date, fit: Path, part: int, parts: int) -> list:
    """Write every ``parts``-th planned activity from ``part`` on; their manifest entries."""
    plan = plan_history(years, seed, end)
    return [_write_one((p, seed, str(fit))) | {"index": p.index} for p in plan[part::parts]]


def _write_in_children(years: int, seed: int, end: date, fit: Path, workers: int) -> list:
    """Share the writing among ``workers`` child interpreters (``python -m`` this module):
    no fork of a caller that may run threads, no re-import of the caller's main script."""
    root = Path(__file__).resolve().parents[2]
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    }
    with tempfile.TemporaryDirectory(dir=fit.parent) as scratch:
        children = []
        for part in range(workers):
            out = Path(scratch) / f"part-{part}.json"
            argv = [sys.executable, "-m", "tests.bench.history", str(years), str(seed)]
            argv += [end.isoformat(), str(fit), str(part), str(workers), str(out)]
            children.append((subprocess.Popen(argv, cwd=root, env=env), out))
        failed = [child.args for child, _ in children if child.wait() != 0]
        if failed:
            raise RuntimeError(f"history writers failed: {failed}")
        entries = [e for _, out in children for e in json.loads(out.read_text())]
    entries.sort(key=lambda e: e.pop("index"))
    return entries


def _manifest_ok(folder: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if {k: manifest.get(k) for k in key} != key:
        return None
    fit = folder / "fit"
    for activity in manifest.get("activity_list", []):
        path = fit / activity["file"]
        if not path.is_file() or path.stat().st_size != activity["bytes"]:
            return None
    return manifest


def generate_history(
    folder: Path,
    *,
    years: int = 10,
    seed: int = 1,
    end: date = HISTORY_END,
    workers: int | None = None,
) -> dict[str, int]:
    """Write the history's FIT files to ``folder/fit/`` (kept when already there).

    Returns ``{"files", "activities", "records", "bytes"}``. ``folder/manifest.json`` also
    lists every activity (file, sport, start, offset, records, summary values).
    """
    folder = Path(folder)
    key = {"generator": GENERATOR_VERSION, "seed": seed, "years": years, "end": end.isoformat()}
    manifest = _manifest_ok(folder, key)
    if manifest is None:
        fit = folder / "fit"
        fit.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).unlink(missing_ok=True)
        plan = plan_history(years, seed, end)
        wanted = {p.file_name for p in plan}
        for stale in fit.glob("*_ACTIVITY.fit"):
            if stale.name not in wanted:
                stale.unlink()
        workers = workers or min(2, os.cpu_count() or 1)
        if workers > 1:
            activities = _write_in_children(years, seed, end, fit, workers)
        else:
            activities = _write_part(years, seed, end, fit, 0, 1)
            for entry in activities:
                del entry["index"]
        manifest = key | {
            "files": len(activities),
            "activities": len(activities),
            "records": sum(a["records"] for a in activities),
            "bytes": sum(a["bytes"] for a in activities),
            "activity_list": activities,
        }
        temporary = folder / (MANIFEST + ".tmp")
        temporary.write_text(json.dumps(manifest, indent=1) + "\n")
        temporary.replace(folder / MANIFEST)
    return {k: int(manifest[k]) for k in ("files", "activities", "records", "bytes")}


def history_files(folder: Path) -> list[Path]:
    """The FIT files of a generated history, in the manifest's (chronological) order."""
    manifest = json.loads((Path(folder) / MANIFEST).read_text())
    return [Path(folder) / "fit" / a["file"] for a in manifest["activity_list"]]


# --- wellness --------------------------------------------------------------------------------


def generate_wellness_days(
    years: int = 10, seed: int = 1, end: date = HISTORY_END
) -> list[dict[str, Any]]:
    """One dict per day (``date`` a ``datetime.date``) for the history's athlete.

    Values follow the plan's training load (acute and chronic, as TSS-like units): resting
    heart rate and HRV worsen after hard blocks and improve with fitness, readiness falls when
    fatigue runs ahead of fitness. Keys the devices of that era did not measure are absent
    (stress and body battery from the second watch on, HRV and training readiness from the
    third, REM sleep and a sleep score from the second); weight comes from a scale about three
    mornings a week, VO2max after outdoor runs, and some nights have no sleep record.
    """
    plan = plan_history(years, seed, end)
    first = _first_day(years, end)
    total_days = (end - first).days + 1
    load = np.zeros(total_days)
    run_minutes = np.zeros(total_days)
    outdoor_run = np.zeros(total_days, dtype=bool)
    for p in plan:
        local_day = (p.start + timedelta(seconds=p.offset_s)).date()
        i = (local_day - first).days
        if not 0 <= i < total_days:
            continue
        intensity = WORKOUT_INTENSITY.get(p.workout, 0.7)
        duration = p.duration_s or 7200
        load[i] += duration / 3600 * intensity**2 * 100
        if p.kind == "run":
            run_minutes[i] += duration / 60
            outdoor_run[i] = True
    atl = np.zeros(total_days)
    ctl = np.zeros(total_days)
    for i in range(total_days):
        previous_atl = atl[i - 1] if i else 30.0
        previous_ctl = ctl[i - 1] if i else 35.0
        atl[i] = previous_atl + (load[i] - previous_atl) / 7
        ctl[i] = previous_ctl + (load[i] - previous_ctl) / 42
    rng = np.random.default_rng([seed, 2])
    days: list[dict[str, Any]] = []
    weight = 74.0
    for i in range(total_days):
        day = first + timedelta(days=i)
        years_in = i / 365.25
        era = 0 if years_in < 0.3 * years else 1 if years_in < 0.7 * years else 2
        fitness = _fitness(i, total_days, day)
        form = ctl[i] - atl[i]  # training stress balance
        fatigue = max(0.0, -form) / 20
        ill = load[i] == 0 and i > 2 and load[i - 1] == 0 and load[i - 2] == 0 and atl[i] < 5
        record: dict[str, Any] = {"date": day}
        rhr = 55 - 9 * fitness + 2.5 * fatigue + (4 if ill else 0) + rng.normal(0, 1.3)
        record["resting_hr"] = round(rhr)
        weekend = day.weekday() >= 5
        steps = rng.normal(9000 if not weekend else 11000, 2200) + run_minutes[i] * 170
        record["steps"] = max(800, round(steps))
        if rng.random() < 0.96:  # the watch was worn that night
            sleep = rng.normal(7.1 if not weekend else 7.7, 0.6) * 3600 - 1200 * fatigue
            sleep = float(np.clip(sleep, 4 * 3600, 10 * 3600))
            deep_share = float(np.clip(rng.normal(0.18, 0.03), 0.08, 0.3))
            rem_share = float(np.clip(rng.normal(0.22, 0.03), 0.1, 0.3))
            awake = round(float(np.clip(rng.normal(1500, 600), 120, 5400)))
            deep = round(sleep * deep_share)
            if era == 0:  # no REM stage on the first watch
                record |= {"sleep_s": round(sleep), "deep_s": deep, "light_s": round(sleep) - deep}
            else:
                rem = round(sleep * rem_share)
                record |= {
                    "sleep_s": round(sleep),
                    "deep_s": deep,
                    "rem_s": rem,
                    "light_s": round(sleep) - deep - rem,
                }
                score = 70 + 7 * (sleep / 3600 - 7) + 60 * (deep_share - 0.18)
                score -= (awake - 1500) / 300
                record["sleep_score"] = int(np.clip(round(score + rng.normal(0, 4)), 20, 100))
            record["awake_s"] = awake
        if era >= 1:
            stress = 32 + 8 * fatigue - 3 * (record.get("sleep_s", 25000) / 3600 - 7)
            record["stress_avg"] = int(np.clip(round(stress + rng.normal(0, 5)), 5, 90))
            high = 55 + 6 * (record.get("sleep_s", 25000) / 3600 - 6) - 8 * fatigue
            record["body_battery_high"] = int(np.clip(round(high + rng.normal(0, 6)), 20, 100))
            low = record["body_battery_high"] - 35 - load[i] / 4 + rng.normal(0, 6)
            record["body_battery_low"] = int(np.clip(round(low), 5, record["body_battery_high"]))
        if era >= 2:
            hrv = 48 + 22 * fitness + 0.4 * form - (8 if ill else 0)
            record["hrv_rmssd_ms"] = round(float(hrv * math.exp(rng.normal(0, 0.08))), 1)
            readiness = 60 + 1.2 * form + 0.3 * (record.get("sleep_score", 70) - 70)
            readiness += 10 * (hrv - 60) / 20 - (20 if ill else 0)
            record["training_readiness"] = int(np.clip(round(readiness), 1, 100))
        weight += (70.5 - 3 * fitness - weight) * 0.02 + rng.normal(0, 0.05)
        seasonal = 0.7 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 30) / 365.25)
        if years_in > 0.5 and rng.random() < 0.42:
            record["weight_kg"] = round(weight + seasonal + rng.normal(0, 0.3), 1)
        if outdoor_run[i]:
            record["vo2max_running"] = round(47 + 9 * fitness + rng.normal(0, 0.4))
        days.append(record)
    return days


# --- a Garmin export -------------------------------------------------------------------------


def generate_history_export(
    path: Path, years: int = 10, seed: int = 1, *, history_folder: Path | None = None
) -> dict[str, int]:
    """The history and its wellness days as a Garmin "Export Your Data" ZIP at ``path``.

    The FIT files are generated (or reused) in ``history_folder`` (default: a folder next to
    ``path``). Returns the history's counts plus ``days`` and ``zip_bytes``.
    """
    from tests.support.garmin_export import build_export

    path = Path(path)
    folder = history_folder or path.parent / f"history-{years}y-seed{seed}"
    counts = generate_history(folder, years=years, seed=seed)
    manifest = json.loads((folder / MANIFEST).read_text())
    days = generate_wellness_days(years, seed)
    activities = []
    for a in manifest["activity_list"]:
        entry = {k: v for k, v in a.items() if k not in ("file", "kind", "workout", "bytes")}
        entry["start"] = datetime.fromisoformat(a["start"])
        entry["moving_s"] = a["timer_s"]
        activities.append(entry)

    def fit_files() -> Iterator[tuple[str, bytes]]:
        for a in manifest["activity_list"]:
            yield a["file"], (folder / "fit" / a["file"]).read_bytes()

    build_export(path, fit_files=fit_files(), days=days, activities=activities)
    return counts | {"days": len(days), "zip_bytes": path.stat().st_size}


if __name__ == "__main__":  # one writer of _write_in_children
    years_arg, seed_arg, end_arg, fit_arg, part_arg, parts_arg, out_arg = sys.argv[1:8]
    written = _write_part(
        int(years_arg),
        int(seed_arg),
        date.fromisoformat(end_arg),
        Path(fit_arg),
        int(part_arg),
        int(parts_arg),
    )
    Path(out_arg).write_text(json.dumps(written))
