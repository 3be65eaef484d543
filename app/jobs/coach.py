"""The coach's scheduled work: the daily purge of the language model's audit texts past their
retention (Settings → Coach, else ``DOMESTIQUE_LLM_AUDIT_RETENTION_DAYS``) and of the
conversations with the coach untouched as long, at night in the owner's time zone.
``domestique coach purge-audit`` runs the same services."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.jobs.registry import JobSpec, daily_at
from app.services.coach import ask
from app.services.coach.audit import purge_expired

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
