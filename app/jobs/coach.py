"""The coach's scheduled work: the morning decision (:func:`morning_decision_job`, at the
owner's morning time after the nightly sync) and the daily purge of the language model's audit
texts past their retention (Settings → Coach, else ``DOMESTIQUE_LLM_AUDIT_RETENTION_DAYS``) and
of the conversations with the coach untouched as long, at night in the owner's time zone.
``domestique coach day`` and ``domestique coach purge-audit`` run the same services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.jobs.registry import JobSpec, daily_at
from app.services.coach import ask
from app.services.coach.audit import purge_expired
from app.services.work.schedule import MORNING_DECISION

if TYPE_CHECKING:
    from app.services.work.runner import WorkRunner

AUDIT_PURGE = "coach.audit_purge"
AUDIT_PURGE_TIME = "03:40"


def audit_purge_job(sessions: sessionmaker[Session], settings: Settings) -> JobSpec:
    return JobSpec(
        id=AUDIT_PURGE,
        description=(
            "Empty the texts of language-model requests and delete the coach's conversations "
            "past the retention"
        ),
        func=lambda: (purge_expired(sessions, settings), ask.purge_expired(sessions, settings)),
        trigger=lambda schedule: daily_at(AUDIT_PURGE_TIME, schedule.timezone),
    )


def morning_decision_job(runner: WorkRunner) -> JobSpec:
    """The daily coach's decision at the owner's morning time (Settings, default 06:00 in the
    owner's time zone), after the nightly sync; once at start-up when the NAS was off then."""
    return JobSpec(
        id=MORNING_DECISION,
        description="The daily coach's morning decision for the active mission",
        func=runner.run_morning,
        trigger=lambda schedule: daily_at(schedule.morning_time, schedule.timezone),
    )
