"""What the database holds (``domestique stats``, the import page)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Activity, ActivitySource, DailyWellness, RawFile, health_sample_table
from app.services.imports.store import day_bounds


def database_stats(session: Session) -> dict[str, Any]:
    activities = session.execute(select(func.count()).select_from(Activity)).scalar_one()
    samples = session.execute(
        select(func.coalesce(func.sum(Activity.sample_count), 0))
    ).scalar_one()
    by_sport = dict(
        session.execute(
            select(Activity.sport, func.count()).group_by(Activity.sport).order_by(Activity.sport)
        ).all()
    )
    by_source = dict(
        session.execute(
            select(ActivitySource.source, func.count(func.distinct(ActivitySource.activity_id)))
            .group_by(ActivitySource.source)
            .order_by(ActivitySource.source)
        ).all()
    )
    wellness_days = session.execute(select(func.count()).select_from(DailyWellness)).scalar_one()
    health = dict(
        session.execute(
            select(health_sample_table.c.metric, func.count())
            .group_by(health_sample_table.c.metric)
            .order_by(health_sample_table.c.metric)
        ).all()
    )
    raw_count, raw_bytes = session.execute(
        select(func.count(), func.coalesce(func.sum(RawFile.size), 0))
    ).one()
    first_day, last_day = day_bounds(session)
    return {
        "activities": int(activities),
        "samples": int(samples),
        "wellness_days": int(wellness_days),
        "health_samples": int(sum(health.values())),
        "health_samples_by_metric": {k: int(v) for k, v in health.items()},
        "activities_by_sport": {k: int(v) for k, v in by_sport.items()},
        "activities_by_source": {k: int(v) for k, v in by_source.items()},
        "first_day": first_day.isoformat() if first_day else None,
        "last_day": last_day.isoformat() if last_day else None,
        "raw_files": int(raw_count),
        "raw_bytes": int(raw_bytes),
    }
