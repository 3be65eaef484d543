"""Plans and athlete contexts for the coach's tests and the guardrail benchmark.

``season_plan`` is a sensible 24-week marathon build (about 150 workouts) that the guardrails
should leave alone; tests break it on purpose one way at a time. ``history_context`` is 120
days of steady training before the plan.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from app.analytics.pmc import DailyLoad, pmc
from app.coach.estimate import Thresholds
from app.coach.guardrails import AthleteContext
from app.coach.plans import Plan

THRESHOLDS = Thresholds(
    ftp_w=250,
    lthr_bpm=170,
    hr_max_bpm=190,
    hr_rest_bpm=50,
    threshold_pace_s_per_km=255,
    swim_threshold_pace_s_per_km=1050,
)
PLAN_START = date(2027, 1, 4)  # a Monday


def step(kind: str, duration: dict[str, Any], target: dict[str, Any] | None = None):
    item: dict[str, Any] = {"kind": "step", "type": kind, "duration": duration}
    if target is not None:
        item["target"] = target
    return item


def seconds(value: int) -> dict[str, Any]:
    return {"kind": "time", "seconds": value}


def meters(value: float) -> dict[str, Any]:
    return {"kind": "distance", "meters": value}


def pace(fast: float, slow: float) -> dict[str, Any]:
    return {"kind": "pace_range", "fast_s_per_km": fast, "slow_s_per_km": slow}


def easy_run(minutes: int) -> dict[str, Any]:
    return {"steps": [step("other", seconds(minutes * 60), {"kind": "hr_zone", "zone": 2})]}


def long_run(distance_m: float) -> dict[str, Any]:
    return {"steps": [step("other", meters(distance_m), {"kind": "hr_zone", "zone": 2})]}


def intervals(reps: int, rep_m: float = 1000.0) -> dict[str, Any]:
    return {
        "steps": [
            step("warmup", seconds(900), {"kind": "hr_zone", "zone": 2}),
            {
                "kind": "repeat",
                "times": reps,
                "steps": [
                    step("interval", meters(rep_m), pace(240, 250)),
                    step("recovery", seconds(120)),
                ],
            },
            step("cooldown", seconds(600)),
        ]
    }


def tempo_ride(minutes: int) -> dict[str, Any]:
    return {
        "steps": [
            step("warmup", seconds(600), {"kind": "power_zone", "zone": 2}),
            step(
                "interval",
                seconds(minutes * 60),
                {"kind": "power_range", "low_w": 170, "high_w": 185},
            ),
            step("cooldown", seconds(600)),
        ]
    }


def easy_swim(distance_m: float) -> dict[str, Any]:
    return {"steps": [step("warmup", meters(200)), step("other", meters(distance_m))]}


def strength() -> dict[str, Any]:
    return {"steps": [step("other", seconds(1800))]}


def workout(
    workout_id: str, day: date, sport: str, name: str, structure: dict[str, Any], **flags: Any
) -> dict[str, Any]:
    return {
        "id": workout_id,
        "date": day.isoformat(),
        "sport": sport,
        "name": name,
        "purpose": "",
        "structure": structure,
        **flags,
    }


def season_plan(start: date = PLAN_START, weeks: int = 24) -> dict[str, Any]:
    """The plan as JSON-ready data (tests change it before validating)."""
    event = start + timedelta(days=7 * weeks - 1)  # the last Sunday
    focus_of = []
    for index in range(weeks):
        if index >= weeks - 2:
            focus_of.append("taper")
        elif index % 4 == 3:
            focus_of.append("recovery")
        elif index < weeks // 3:
            focus_of.append("base")
        elif index < weeks - 6:
            focus_of.append("build")
        else:
            focus_of.append("peak")
    items: list[dict[str, Any]] = []
    longest = 16000.0
    for index, focus in enumerate(focus_of):
        monday = start + timedelta(days=7 * index)
        scale = {"recovery": 0.65, "taper": 0.45 if index == weeks - 1 else 0.6}.get(focus, 1.0)
        if focus in ("base", "build", "peak"):
            longest = min(longest * 1.06, 32000.0)
        if index >= weeks - 3:  # the last long run is three weeks out; then the taper
            long_m = round(longest * (0.65 if index == weeks - 3 else 0.5), -2)
        else:
            long_m = round(longest * (1.0 if focus in ("base", "build", "peak") else 0.7), -2)
        prefix = f"w{index + 1:02d}"
        items.append(
            workout(
                f"{prefix}-tue",
                monday + timedelta(days=1),
                "run",
                "Intervals",
                intervals(max(3, round(6 * scale))),
                key=True,
            )
        )
        items.append(
            workout(
                f"{prefix}-wed",
                monday + timedelta(days=2),
                "run",
                "Easy run",
                easy_run(round(45 * scale)),
            )
        )
        if index % 2 == 0:
            items.append(
                workout(
                    f"{prefix}-wed-s",
                    monday + timedelta(days=2),
                    "strength",
                    "Strength",
                    strength(),
                )
            )
        items.append(
            workout(
                f"{prefix}-thu",
                monday + timedelta(days=3),
                "ride",
                "Tempo ride",
                tempo_ride(round(40 * scale)),
            )
        )
        items.append(
            workout(
                f"{prefix}-fri",
                monday + timedelta(days=4),
                "swim",
                "Easy swim",
                easy_swim(round(1500 * scale, -2)),
            )
        )
        items.append(
            workout(
                f"{prefix}-sat",
                monday + timedelta(days=5),
                "run",
                "Easy run",
                easy_run(round(50 * scale)),
            )
        )
        if index == weeks - 1:
            items.append(
                workout(
                    f"{prefix}-sun",
                    event,
                    "run",
                    "Marathon",
                    {"steps": [step("interval", meters(42195), pace(290, 300))]},
                    key=True,
                    race=True,
                )
            )
        else:
            items.append(
                workout(
                    f"{prefix}-sun",
                    monday + timedelta(days=6),
                    "run",
                    "Long run",
                    long_run(long_m),
                    key=True,
                )
            )
    return {
        "title": "Spring marathon",
        "goal": {
            "name": "Spring marathon",
            "event_date": event.isoformat(),
            "event_type": "marathon",
            "sport": "run",
        },
        "availability": {
            "weekdays": ["tue", "wed", "thu", "fri", "sat", "sun"],
            "hours_per_week": 9.0,
            "long_session_day": "sun",
        },
        "weeks": [
            {"start": (start + timedelta(days=7 * i)).isoformat(), "focus": focus}
            for i, focus in enumerate(focus_of)
        ],
        "workouts": items,
    }


def season(start: date = PLAN_START, weeks: int = 24) -> Plan:
    return Plan.model_validate(season_plan(start, weeks))


def history_context(
    today: date = PLAN_START,
    *,
    daily_load: float = 55.0,
    longest_run_m: float = 16000.0,
    days: int = 120,
    thresholds: Thresholds = THRESHOLDS,
    **extra: Any,
) -> AthleteContext:
    """``days`` of steady training up to yesterday (a rest day each Monday), with the stored
    CTL/ATL those loads give after a year at the same level, and long runs on Sundays."""
    first = today - timedelta(days=days)
    loads = np.array(
        [0.0 if (first + timedelta(days=i)).weekday() == 0 else daily_load for i in range(days)]
    )
    year = np.concatenate((np.tile(loads[:7], 52), loads))
    curve = pmc(year)
    runs = {
        today - timedelta(days=back): longest_run_m
        for back in range(1, 36)
        if (today - timedelta(days=back)).weekday() == 6
    }
    return AthleteContext(
        today=today,
        loads=DailyLoad(first, loads),
        ctl=float(curve.ctl[-1]),
        atl=float(curve.atl[-1]),
        thresholds=thresholds,
        longest_run_m=runs,
        **extra,
    )


def standard_week(monday: date, prefix: str, *, long_m: float = 16000.0) -> list[dict[str, Any]]:
    """Tuesday intervals (key), Wednesday easy run, Thursday ride, Friday swim, Saturday easy
    run, Sunday long run (key): about 300 load and 6.5 hours."""
    return [
        workout(
            f"{prefix}-tue", monday + timedelta(days=1), "run", "Intervals", intervals(6), key=True
        ),
        workout(f"{prefix}-wed", monday + timedelta(days=2), "run", "Easy run", easy_run(45)),
        workout(f"{prefix}-thu", monday + timedelta(days=3), "ride", "Tempo ride", tempo_ride(40)),
        workout(f"{prefix}-fri", monday + timedelta(days=4), "swim", "Easy swim", easy_swim(1500)),
        workout(f"{prefix}-sat", monday + timedelta(days=5), "run", "Easy run", easy_run(50)),
        workout(
            f"{prefix}-sun",
            monday + timedelta(days=6),
            "run",
            "Long run",
            long_run(long_m),
            key=True,
        ),
    ]


def uniform_plan(
    focus: list[str],
    *,
    start: date = PLAN_START,
    event_type: str | None = None,
    hours_per_week: float = 9.0,
) -> dict[str, Any]:
    """The same week ``len(focus)`` times; with ``event_type`` the last Sunday is the event (a
    10 k race) instead of a long run."""
    items: list[dict[str, Any]] = []
    for index in range(len(focus)):
        items.extend(standard_week(start + timedelta(days=7 * index), f"w{index + 1}"))
    goal: dict[str, Any] = {"name": "Fitness", "sport": "run"}
    if event_type is not None:
        event = start + timedelta(days=7 * len(focus) - 1)
        items[-1] = workout(
            items[-1]["id"],
            event,
            "run",
            "Race",
            {"steps": [step("interval", meters(10000), pace(235, 245))]},
            key=True,
            race=True,
        )
        goal = {
            "name": "Race",
            "sport": "run",
            "event_date": event.isoformat(),
            "event_type": event_type,
        }
    return {
        "title": "Uniform",
        "goal": goal,
        "availability": {
            "weekdays": ["tue", "wed", "thu", "fri", "sat", "sun"],
            "hours_per_week": hours_per_week,
        },
        "weeks": [
            {"start": (start + timedelta(days=7 * i)).isoformat(), "focus": f}
            for i, f in enumerate(focus)
        ],
        "workouts": items,
    }


def broken_plan() -> Plan:
    """Eight weeks that break the rules on purpose: a 30 km run after 16 km, three hard days
    in a row, a session on a Monday, a recovery week as heavy as the others, no taper."""
    data = uniform_plan(
        ["base", "build", "build", "recovery", "build", "build", "peak", "taper"],
        event_type="run_10k",
    )
    by_id = {w["id"]: w for w in data["workouts"]}
    by_id["w2-sun"]["structure"] = long_run(30000)
    week3 = PLAN_START + timedelta(days=14)
    by_id["w3-wed"]["structure"] = intervals(6)
    by_id["w3-thu"] = workout("w3-thu", week3 + timedelta(days=3), "run", "Hills", intervals(6))
    del by_id["w5-wed"]  # the Monday session can move to Wednesday
    data["workouts"] = list(by_id.values())
    data["workouts"].append(
        workout("w5-mon", PLAN_START + timedelta(days=28), "run", "Easy run", easy_run(40))
    )
    return Plan.model_validate(data)


def broken_season(weeks: int = 24) -> Plan:
    """The season with what a careless draft gets wrong: no recovery weeks and no taper (every
    week the same), and a 30 km run in the second week."""
    data = uniform_plan(["build"] * weeks, event_type="marathon")
    data["workouts"][11]["structure"] = long_run(30000)  # the second Sunday
    return Plan.model_validate(data)
