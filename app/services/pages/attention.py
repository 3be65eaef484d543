"""What every page must tell the owner until it is fixed: connections that need signing in
again, and a failed nightly backup — in one small query per page."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Attention:
    reconnect: list[str] = field(default_factory=list)  # source names
    backup_failed: bool = False


def attention(session: Session) -> Attention:
    row = session.execute(
        text(
            "SELECT ARRAY(SELECT source FROM connection WHERE status = 'needs_reconnect' "
            "ORDER BY source), "
            "(SELECT last_status FROM scheduled_job_state WHERE job_id = 'backup.nightly')"
        )
    ).one()
    return Attention(list(row[0] or []), row[1] == "failed")
