"""What a mission's page shows: the mission with its lifecycle and, once its event has started,
the stage table scored from the rides."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.coach.messages import ride_mode_name
from app.services.coach import day as coach_day
from app.services.coach.day import DayView
from app.services.metrics.recompute import owner_today
from app.services.missions.event import EventView, event_view
from app.services.missions.lifecycle import MissionView, mission_view
from app.services.missions.plan import MissionPlan, mission_plan
from app.services.plans.page import weekday_names

RIDE_MODES = ("gc", "breakaway", "rest")


@dataclass(frozen=True)
class MissionPage:
    view: MissionView
    event: EventView | None
    days: list[DayView] = field(default_factory=list)
    """The daily coach's decisions for this mission, the latest first."""
    plan: MissionPlan | None = None
    """The plan the mission seeded, and the questionnaire for drafting one."""

    @property
    def weekdays(self) -> list[tuple[str, str]]:
        return weekday_names()

    @property
    def mode_choices(self) -> list[tuple[str, str]]:
        return [(mode, ride_mode_name(mode)) for mode in RIDE_MODES]


def mission_page(session: Session, mission_id: int, now_utc: datetime) -> MissionPage | None:
    view = mission_view(session, mission_id, now_utc)
    if view is None:
        return None
    return MissionPage(
        view,
        event_view(session, mission_id, now_utc),
        coach_day.history(session, mission_id),
        mission_plan(session, mission_id, owner_today(session)),
    )
