"""A 21-stage virtual tour for the missions' tests and the points benchmark.

``tour_stages`` follows the shape of a grand tour: 21 stages over 23 days with rest days after
stages 9 and 15, six mountain stages, a time trial and a mountain time trial. ``ride`` makes the
activity of a stage day in the mission's time zone (Asia/Seoul) with the load and intensity
factor that give the wanted ride mode.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.coach.missions import Mission
from app.coach.points import Stage, StageActivity

TOUR_START = date(2027, 7, 3)
TOUR_ZONE = "Asia/Seoul"
TOUR_TYPES = {
    1: "flat",
    2: "hilly",
    3: "flat",
    4: "hilly",
    5: "itt",
    6: "hilly",
    7: "hilly",
    8: "flat",
    9: "flat",
    10: "mountain",
    11: "flat",
    12: "mountain",
    13: "mountain_itt",
    14: "mountain",
    15: "hilly",
    16: "mountain",
    17: "flat",
    18: "mountain",
    19: "mountain",
    20: "hilly",
    21: "flat",
}
REST_AFTER = (9, 15)
COACH_TABLE = {
    "flat": (5, 8),
    "hilly": (7, 11),
    "mountain": (10, 15),
    "itt": (4, 6),
    "mountain_itt": (6, 9),
}
"""``COACH.md``'s example table, (GC, breakaway): what the default schema must give."""
MODE_RIDES = {"breakaway": (0.90, 95.0), "gc": (0.76, 70.0), "rest": (0.55, 25.0)}
"""(IF, TSS) of a ride in each mode."""


def tour_stages() -> list[Stage]:
    stages: list[Stage] = []
    day = TOUR_START
    for number in range(1, 22):
        stages.append(Stage(number=number, date=day, type=TOUR_TYPES[number]))
        day += timedelta(days=1)
        if number in REST_AFTER:
            stages.append(Stage(date=day, type="rest"))
            day += timedelta(days=1)
    return stages


def stage_day(number: int) -> date:
    return next(stage.date for stage in tour_stages() if stage.number == number)


def tour_mission(**changes: object) -> Mission:
    data: dict[str, object] = {
        "name": "Virtual Tour 2027",
        "type": "road_stage_race",
        "prep_start": date(2027, 3, 1),
        "event_start": TOUR_START,
        "event_end": TOUR_START + timedelta(days=22),
        "time_zone": TOUR_ZONE,
        "goal": "Ride every stage; break away in the mountains.",
        "stages": tour_stages(),
    }
    data.update(changes)
    return Mission.model_validate(data)


def ride(
    day: date,
    mode: str = "gc",
    *,
    activity_id: str | None = None,
    local_hour: int = 18,
    sport: str = "ride",
    tss: float | None = None,
    intensity_factor: float | None = None,
) -> StageActivity:
    """A ride started at ``local_hour`` on ``day`` in Seoul, paced for ``mode``."""
    factor, load = MODE_RIDES[mode]
    start = datetime.combine(day, time(local_hour), tzinfo=ZoneInfo(TOUR_ZONE)).astimezone(UTC)
    return StageActivity(
        activity_id=activity_id or f"{day:%m%d}-{local_hour:02d}",
        start=start,
        sport=sport,
        tss=load if tss is None else tss,
        intensity_factor=factor if intensity_factor is None else intensity_factor,
        duration_s=7200.0,
        name=f"{mode} ride",
    )


def tour_rides(modes: dict[int, str], *, extra_per_day: int = 0) -> list[StageActivity]:
    """The ride of each stage in ``modes`` (stage number → mode), and ``extra_per_day`` easy
    spins on every day of the tour besides (a commute, a warm-up)."""
    rides = [ride(stage_day(number), mode) for number, mode in modes.items()]
    for offset in range(23):
        for extra in range(extra_per_day):
            rides.append(ride(TOUR_START + timedelta(days=offset), "rest", local_hour=7 + extra))
    return rides
