"""Missions: the goal event with its season — stored, listed, moved through its lifecycle by the
owner and by the clock (``lifecycle``). The pure rules (validation, allowed moves, phases,
countdown, points) are :mod:`app.coach.missions` and :mod:`app.coach.points`; this room keeps
them in the database and owns the transactions."""

from app.coach.missions import MissionState
from app.services.missions import event, lifecycle
from app.services.missions.lifecycle import (
    MissionInvalid,
    MissionProblem,
    MissionRefused,
    MissionSummary,
    MissionView,
    apply_due,
    delete_mission,
    import_mission,
    list_missions,
    mission_view,
    move,
    parse_mission,
    sentence,
    set_notify_by,
)
from app.services.missions.page import MissionPage, mission_page

__all__ = [
    "MissionInvalid",
    "MissionPage",
    "MissionProblem",
    "MissionRefused",
    "MissionState",
    "MissionSummary",
    "MissionView",
    "apply_due",
    "delete_mission",
    "event",
    "import_mission",
    "lifecycle",
    "list_missions",
    "mission_page",
    "mission_view",
    "move",
    "parse_mission",
    "sentence",
    "set_notify_by",
]
