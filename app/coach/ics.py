"""Planned workouts as an iCalendar feed (RFC 5545, written with ``icalendar``) that a phone's
calendar subscribes to.

One event per workout:

* **UID** from the install and the workout's key (:func:`workout_uid`): the same workout keeps
  its UID through every revision of the plan, so a calendar updates the event instead of adding
  another. The key is the caller's: a workout id is unique within a plan, so a feed that spans
  plans passes the plan's id with it.
* **SEQUENCE** given by the caller, rising with each revision that changed the workout (RFC 5545
  §3.8.7.4): calendars keep the event with the highest one.
* **DTSTART**: by default an **all-day event** on the workout's date (a date has no time zone,
  so travel never moves it, and the owner trains when the day allows); marked free
  (TRANSP:TRANSPARENT) so it does not block the owner's day. When the owner has a usual
  training time, the event starts then **in the owner's time zone** (with its VTIMEZONE) and
  lasts Domestique's estimate of the session.
* **SUMMARY**: the workout's name; **DESCRIPTION**: its purpose, the structure in words
  (:func:`app.coach.describe.describe_workout`, with the estimate), and its notes — in the
  owner's language and units.
* **DTSTAMP**: the time the feed was generated, given by the caller (no clock here).

The calendar carries its name and time zone (``X-WR-CALNAME``, ``X-WR-TIMEZONE``) and asks
subscribers to refresh hourly (``REFRESH-INTERVAL``, ``X-PUBLISHED-TTL``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone
from icalendar.prop import vDDDTypes, vInt, vText, vUri

from app.coach.describe import describe_workout
from app.coach.estimate import WorkoutEstimate
from app.coach.plans import PlannedWorkout

PRODID = "-//Domestique//Training plan//EN"
REFRESH = timedelta(hours=1)
DEFAULT_EVENT_LENGTH = timedelta(hours=1)
"""A timed event's length when the workout has no estimate."""
_UID_NAMESPACE = uuid.UUID("6f1f2ad4-6b7e-5c1e-9d0a-3a8d2f4c5b10")


@dataclass(frozen=True)
class FeedEntry:
    """One planned workout in the feed, with what the caller knows about it."""

    workout: PlannedWorkout
    sequence: int = 0
    """Rises with each revision that changed this workout (0 for the first)."""
    estimate: WorkoutEstimate | None = None
    key: str | None = None
    """What identifies the workout across revisions (default: its id)."""
    url: str | None = None
    """The workout's page, when the feed should link to it."""


def workout_uid(install_id: str, key: str) -> str:
    """The event's UID: a UUID derived from the install and the workout's key, so it is the same
    in every revision and every feed of this install, and different in another install."""
    return f"{uuid.uuid5(_UID_NAMESPACE, f'{install_id}/{key}')}@domestique"


def event_description(entry: FeedEntry, locale: str | None = None, units: str | None = None) -> str:
    """The purpose, the structure in words with the estimate, and the notes, a blank line
    between each."""
    workout = entry.workout
    parts = [workout.purpose, describe_workout(workout, entry.estimate, locale, units)]
    if workout.notes:
        parts.append(workout.notes)
    return "\n\n".join(part for part in parts if part)


def _event(
    entry: FeedEntry,
    *,
    install_id: str,
    stamp: vDDDTypes,
    zone: ZoneInfo,
    start_time: time | None,
    locale: str | None,
    units: str | None,
) -> Event:
    workout = entry.workout
    if start_time is None:
        start: date | datetime = workout.date
        end: date | datetime = workout.date + timedelta(days=1)
        transparency = "TRANSPARENT"
    else:
        start = datetime.combine(workout.date, start_time, tzinfo=zone)
        length = DEFAULT_EVENT_LENGTH
        if entry.estimate is not None and entry.estimate.duration_s > 0:
            length = timedelta(minutes=max(1, round(entry.estimate.duration_s / 60)))
        end = start + length
        transparency = "OPAQUE"
    # Properties set as icalendar's own value types: the same lines as ``Event.new`` writes,
    # in a third of the time (a two-year feed has some 700 events).
    event = Event()
    event["UID"] = vText(workout_uid(install_id, entry.key or workout.id))
    event["DTSTAMP"] = stamp
    event["SEQUENCE"] = vInt(entry.sequence)
    event["DTSTART"] = vDDDTypes(start)
    event["DTEND"] = vDDDTypes(end)
    event["SUMMARY"] = vText(workout.name)
    event["DESCRIPTION"] = vText(event_description(entry, locale, units))
    event["TRANSP"] = vText(transparency)
    if entry.url:
        event["URL"] = vUri(entry.url)
    return event


def calendar_feed(
    entries: Iterable[FeedEntry],
    *,
    install_id: str,
    name: str,
    time_zone: str,
    generated_at: datetime,
    locale: str | None = None,
    units: str | None = None,
    start_time: time | None = None,
) -> bytes:
    """The feed (``text/calendar`` bytes) of ``entries``: all-day events, or events at
    ``start_time`` in ``time_zone`` when one is given. ``name`` is the calendar's name as the
    owner's calendar app shows it; ``generated_at`` must be aware."""
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must be timezone-aware")
    zone = ZoneInfo(time_zone)
    stamp = vDDDTypes(generated_at.astimezone(UTC))  # one value, shared by every event
    events: Sequence[Event] = [
        _event(
            entry,
            install_id=install_id,
            stamp=stamp,
            zone=zone,
            start_time=start_time,
            locale=locale,
            units=units,
        )
        for entry in sorted(entries, key=lambda e: (e.workout.date, e.workout.id))
    ]
    calendar = Calendar.new(
        uid=workout_uid(install_id, "calendar"),
        prodid=PRODID,
        name=name,
        calscale="GREGORIAN",
        method="PUBLISH",
        refresh_interval=REFRESH,
        subcomponents=events,
    )
    calendar.add("x-wr-timezone", time_zone)
    calendar.add("x-published-ttl", REFRESH)
    if start_time is not None and events:
        # The one zone every timed event uses, over the years the feed spans (what
        # Calendar.add_missing_timezones would add, without searching 700 events for it).
        days = [entry.decoded("DTSTART").date() for entry in events]
        first, last = min(days), max(days)
        calendar.subcomponents.insert(
            0,
            Timezone.from_tzid(
                time_zone,
                first_date=date(first.year - 1, 1, 1),
                last_date=date(last.year + 2, 1, 1),
            ),
        )
    return calendar.to_ical()
