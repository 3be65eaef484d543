"""An example plan to start from (``domestique plan example``): four weeks to a 10 k race with
runs, rides, swims and a strength session, using every step type, duration and target."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from app.coach.plans import Plan

EXAMPLE_START = date(2027, 3, 1)
"""A Monday; pass the Monday you want to :func:`plan_example`."""


def _time(seconds: int) -> dict[str, Any]:
    return {"kind": "time", "seconds": seconds}


def _distance(meters: float) -> dict[str, Any]:
    return {"kind": "distance", "meters": meters}


def _step(kind: str, duration: dict[str, Any], target: dict[str, Any] | None = None, note=None):
    step: dict[str, Any] = {"kind": "step", "type": kind, "duration": duration}
    if target is not None:
        step["target"] = target
    if note is not None:
        step["note"] = note
    return step


def _repeat(times: int, *steps: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "repeat", "times": times, "steps": list(steps)}


def _pace(fast: float, slow: float) -> dict[str, Any]:
    return {"kind": "pace_range", "fast_s_per_km": fast, "slow_s_per_km": slow}


def _hr_zone(zone: int) -> dict[str, Any]:
    return {"kind": "hr_zone", "zone": zone}


def _intervals_run(reps: int) -> dict[str, Any]:
    return {
        "steps": [
            _step("warmup", _time(900), _hr_zone(2)),
            _repeat(
                reps,
                _step("interval", _distance(1000), _pace(250, 260), "10 k pace or a touch quicker"),
                _step("recovery", _time(120), _hr_zone(1)),
            ),
            _step("cooldown", _time(600)),
        ]
    }


def _swim(reps: int) -> dict[str, Any]:
    return {
        "steps": [
            _step("warmup", _distance(300)),
            _repeat(
                reps,
                _step("interval", _distance(100), _pace(1050, 1100)),
                _step("rest", _time(20)),
            ),
            _step("cooldown", _distance(200)),
        ]
    }


def _ride(reps: int) -> dict[str, Any]:
    return {
        "steps": [
            _step("warmup", _time(600), {"kind": "power_zone", "zone": 2}),
            _repeat(
                reps,
                _step("interval", _time(480), {"kind": "power_range", "low_w": 225, "high_w": 240}),
                _step("recovery", _time(240), {"kind": "cadence", "low_rpm": 85, "high_rpm": 95}),
            ),
            _step("cooldown", {"kind": "lap_button"}, note="Spin easy until you press lap"),
        ]
    }


def _easy_run(seconds: int) -> dict[str, Any]:
    return {
        "steps": [
            _step("other", _time(seconds), {"kind": "hr_range", "low_bpm": 128, "high_bpm": 142})
        ]
    }


def _long_run(meters: float) -> dict[str, Any]:
    return {"steps": [_step("other", _distance(meters), _hr_zone(2))]}


def _strength() -> dict[str, Any]:
    return {
        "steps": [
            _step("warmup", _time(300)),
            _step("other", {"kind": "open"}, note="Core circuit: three rounds"),
        ]
    }


def plan_example(start: date = EXAMPLE_START) -> Plan:
    """A valid four-week plan starting on ``start`` (best a Monday) towards a 10 k on the last
    Sunday: base, two build weeks, and a taper week with the race."""
    day = {
        name: offset
        for offset, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    }

    def on(week: int, weekday: str) -> str:
        return (start + timedelta(days=7 * week + day[weekday])).isoformat()

    workouts: list[dict[str, Any]] = []

    def add(week: int, weekday: str, sport: str, name: str, purpose: str, structure, **flags):
        workouts.append(
            {
                "id": f"w{week + 1}-{weekday}-{sport}",
                "date": on(week, weekday),
                "sport": sport,
                "name": name,
                "purpose": purpose,
                "structure": structure,
                **flags,
            }
        )

    for week, (reps, swim_reps, ride_reps, easy_s, long_m) in enumerate(
        ((4, 6, 2, 2400, 12000.0), (5, 8, 3, 2700, 13000.0), (5, 8, 3, 2700, 13000.0))
    ):
        add(
            week, "tue", "run", "1 km repeats", "Speed at 10 k pace", _intervals_run(reps), key=True
        )
        add(week, "wed", "swim", "Swim 100s", "Aerobic swim with short rests", _swim(swim_reps))
        add(week, "wed", "strength", "Core", "Trunk strength for running posture", _strength())
        add(week, "thu", "ride", "Tempo ride", "Aerobic power without impact", _ride(ride_reps))
        add(week, "sat", "run", "Easy run", "Aerobic base at a chatty effort", _easy_run(easy_s))
        add(
            week,
            "sun",
            "run",
            "Long run",
            "Endurance for the last kilometres",
            _long_run(long_m),
            key=True,
        )
    add(
        3,
        "tue",
        "run",
        "Sharpening 1 km repeats",
        "Keep the speed, less volume",
        _intervals_run(3),
        key=True,
    )
    add(
        3,
        "thu",
        "ride",
        "Easy spin",
        "Loosen the legs",
        {"steps": [_step("other", _time(2400), {"kind": "power_zone", "zone": 1})]},
    )
    add(
        3,
        "sat",
        "run",
        "Shake-out with strides",
        "Stay sharp the day before",
        {
            "steps": [
                _step("warmup", _time(900), _hr_zone(1)),
                _repeat(
                    4, _step("interval", _time(20), note="Stride"), _step("recovery", _time(100))
                ),
            ]
        },
    )
    add(
        3,
        "sun",
        "run",
        "Spring 10 k",
        "Race",
        {"steps": [_step("interval", _distance(10000), _pace(252, 262))]},
        key=True,
        race=True,
    )

    citations_base = [
        {"doc": "intensity-distribution", "section": "A practical target for amateurs"}
    ]
    weeks = [
        {
            "start": on(0, "mon"),
            "focus": "base",
            "citations": citations_base,
            "rationale": "Mostly easy volume with one session at 10 k pace.",
        },
        {
            "start": on(1, "mon"),
            "focus": "build",
            "citations": [
                {"doc": "running-session-spike", "section": "Building the long run safely"}
            ],
            "rationale": "One more repeat and a longer long run, within 10 % of the last one.",
        },
        {
            "start": on(2, "mon"),
            "focus": "build",
            "citations": citations_base,
            "rationale": "Hold the load before the taper.",
        },
        {
            "start": on(3, "mon"),
            "focus": "taper",
            "citations": [{"doc": "tapering", "section": "Taper length by event"}],
            "rationale": "A week of reduced volume with short sharp work keeps the legs fresh.",
        },
    ]
    return Plan.model_validate(
        {
            "title": "Four weeks to a spring 10 k",
            "goal": {
                "name": "Spring 10 k",
                "event_date": on(3, "sun"),
                "event_type": "run_10k",
                "sport": "run",
                "target": "Under 43 minutes",
                "target_time_s": 43 * 60,
            },
            "availability": {
                "weekdays": ["tue", "wed", "thu", "sat", "sun"],
                "hours_per_week": 7.0,
                "long_session_day": "sun",
                "days_off": [],
            },
            "constraints": {
                "equipment": "Road bike on an indoor trainer, pool membership",
                "indoor_trainer": True,
                "power_meter": True,
                "pool_access": True,
            },
            "weeks": weeks,
            "workouts": workouts,
        }
    )
