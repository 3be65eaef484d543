"""Approved workouts for any device: a FIT workout file per workout, and a calendar feed.

**FIT workout files** (:func:`workout_file`): any workout of the followed plan's approved
revision as a FIT workout (:mod:`app.coach.fit_workout`: file id of type workout, the workout
and its steps with durations, targets and repeats) that a Garmin, Wahoo, Coros or Hammerhead
unit accepts; step notes in the owner's language and units.

**The calendar feed** (:func:`feed`): an ICS calendar of the approved workouts (from four
weeks back, :mod:`app.coach.ics`) for a phone's calendar to subscribe to. Calendar apps cannot
sign in, so the feed's address carries a long random token instead: only its SHA-256 is
stored, the address is shown once when it is made, a new one replaces the old, and revoking
turns the feed off. A wrong or revoked token gets the same 404 as a missing page. Each event's
UID derives from this install's id and the workout's stable id, and its SEQUENCE is the number
of the approved revision, so an app updates the event in place when the plan changes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import i18n
from app.coach.estimate import estimate_plan
from app.coach.fit_workout import fit_workout
from app.coach.ics import FeedEntry, calendar_feed
from app.coach.plans import Plan, PlannedWorkout
from app.models import CalendarFeed, PlanRevision
from app.models import PlannedWorkout as PlannedWorkoutRow
from app.models.owner import get_owner
from app.services.metrics.recompute import owner_today
from app.services.plans.athlete import thresholds_on

FEED_WEEKS_BACK = 4
TOKEN_BYTES = 32


@dataclass(frozen=True)
class WorkoutFile:
    name: str
    data: bytes


def _approved(session: Session) -> list[tuple[PlanRevision, Plan]]:
    rows = session.scalars(
        select(PlanRevision).where(PlanRevision.state == "APPROVED").order_by(PlanRevision.id)
    ).all()
    return [(row, Plan.model_validate(row.content)) for row in rows]


def _file_name(workout: PlannedWorkout) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in workout.name)[:40].strip("-")
    return f"{workout.date.isoformat()}-{safe or workout.id}.fit"


def workout_file(sessions: sessionmaker[Session], workout_id: str) -> WorkoutFile | None:
    """The FIT workout file of an approved workout (``None``: no such workout on the calendar)."""
    with sessions() as session:
        owner = get_owner(session)
        for _revision, plan in _approved(session):
            workout = plan.workout(workout_id)
            if workout is None:
                continue
            data = fit_workout(
                workout,
                time_created=datetime.now(UTC),
                locale=None if owner is None else owner.locale,
                units=None if owner is None else owner.units,
            )
            return WorkoutFile(_file_name(workout), data)
    return None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _row(session: Session) -> CalendarFeed:
    row = session.get(CalendarFeed, 1, with_for_update=True)
    if row is None:
        row = CalendarFeed(id=1, install_id=str(uuid.uuid4()))
        session.add(row)
    return row


def make_token(sessions: sessionmaker[Session]) -> str:
    """A new feed token (the old one stops working); returned once, stored only as a hash."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with sessions.begin() as session:
        row = _row(session)
        row.token_sha256, row.created_at = _hash(token), datetime.now(UTC)
    return token


def revoke(sessions: sessionmaker[Session]) -> None:
    """Turn the feed off: every subscribed calendar gets 404 from now on."""
    with sessions.begin() as session:
        row = _row(session)
        row.token_sha256, row.created_at = None, None


def feed_state(session: Session) -> datetime | None:
    """When the feed's current address was made (``None``: no feed)."""
    row = session.get(CalendarFeed, 1)
    return None if row is None or row.token_sha256 is None else row.created_at


def feed(sessions: sessionmaker[Session], token: str, *, today: date | None = None) -> bytes | None:
    """The ICS feed for ``token``, or ``None`` when the token is not the feed's."""
    with sessions() as session:
        row = session.get(CalendarFeed, 1)
        if row is None or row.token_sha256 is None:
            return None
        if not hmac.compare_digest(row.token_sha256, _hash(token)):
            return None
        owner = get_owner(session)
        today = today or owner_today(session)
        since = today - timedelta(weeks=FEED_WEEKS_BACK)
        on_calendar = set(
            session.scalars(
                select(PlannedWorkoutRow.workout_id).where(PlannedWorkoutRow.day >= since)
            )
        )
        thresholds = thresholds_on(session, today)
        entries = []
        for revision, plan in _approved(session):
            estimates = estimate_plan(plan, thresholds)
            entries += [
                FeedEntry(w, sequence=revision.number, estimate=estimates.get(w.id))
                for w in plan.workouts
                if w.date >= since and w.id in on_calendar
            ]
        locale = None if owner is None else owner.locale
        zone = (owner.timezone if owner is not None else None) or "UTC"
        with i18n.using(locale=locale, units=None if owner is None else owner.units, timezone=zone):
            name = i18n._("Domestique training plan")
            return calendar_feed(
                entries,
                install_id=row.install_id,
                name=name,
                time_zone=zone,
                generated_at=datetime.now(UTC),
                locale=locale,
            )
