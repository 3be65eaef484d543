"""What every page must tell the owner until it is fixed: connections that need signing in
again, a failed nightly backup, and a morning without the coach's decision (with the reason) —
in one small query per page."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Attention:
    reconnect: list[str] = field(default_factory=list)  # source names
    backup_failed: bool = False
    decision_failure: str | None = None
    """Why today's decision could not be made (the owner's words), ``None`` when it was made
    or has not been asked for."""


def attention(session: Session) -> Attention:
    row = session.execute(
        text(
            "SELECT ARRAY(SELECT source FROM connection WHERE status = 'needs_reconnect' "
            "ORDER BY source), "
            "(SELECT last_status FROM scheduled_job_state WHERE job_id = 'backup.nightly'), "
            "(SELECT jsonb_build_object('code', failure_code, 'params', failure_params) "
            " FROM coach_day WHERE status = 'failed' AND day = (now() AT TIME ZONE "
            " coalesce((SELECT timezone FROM owner LIMIT 1), 'UTC'))::date)"
        )
    ).one()
    failure = None
    if row[2] is not None:
        from app.services.coach.day import failure_text

        failure = failure_text(row[2]["code"] or "unknown", row[2]["params"] or {})
    return Attention(list(row[0] or []), row[1] == "failed", failure)
