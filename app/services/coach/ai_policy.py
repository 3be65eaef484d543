"""What may reach the coach's language model.

Strava's API Agreement (2024 onward) forbids using data obtained through the Strava API in AI
models. Every activity keeps the list of its sources (``activity_source``); one that reached
Domestique *only* through the Strava API is marked by that alone, and an activity created from
Strava's API carries ``extras["strava_api"]`` until a better recording (the watch's file)
replaces what Strava sent; another source merely joining it (a summary, Apple Health) does not
clear it. The coach builds its context only from what ``ai_usable`` lets
through, so nothing derived from Strava-API data alone is ever sent to the LLM. An activity the
watch, Garmin Connect, a FIT file or Strava's own data export (the owner's archive, not the API)
also brought is the owner's data from those sources and may be used.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from app.models import Activity, ActivitySource

AI_FORBIDDEN_SOURCES = frozenset({"strava"})


def ai_usable() -> ColumnElement[bool]:
    """SQL over ``activity`` rows: the activity has at least one source whose data may reach
    the LLM, and what it holds did not come through Strava's API (``extras.strava_api``: the row
    was created from Strava's API and no better recording has replaced its samples and figures
    since)."""
    return exists(
        select(ActivitySource.id).where(
            ActivitySource.activity_id == Activity.id,
            ActivitySource.source.not_in(AI_FORBIDDEN_SOURCES),
        )
    ) & ~Activity.extras.has_key("strava_api")


def usable_activity_ids(session: Session, ids: Iterable[int]) -> set[int]:
    """The ids among ``ids`` the coach may use."""
    wanted = list(ids)
    if not wanted:
        return set()
    return set(
        session.execute(select(Activity.id).where(Activity.id.in_(wanted), ai_usable())).scalars()
    )
