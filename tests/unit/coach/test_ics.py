"""The calendar feed parses back with icalendar: one event per workout, a UID that survives
revisions, the SEQUENCE the caller gives, all-day or timed events, words in the owner's
language."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar

from app.coach.estimate import estimate_plan
from app.coach.example import plan_example
from app.coach.ics import FeedEntry, calendar_feed, workout_uid
from tests.support.plans import THRESHOLDS

GENERATED = datetime(2027, 2, 1, 5, 0, tzinfo=UTC)
INSTALL = "3f0c9a52-install"


def feed(entries, **options) -> Calendar:
    settings = {
        "install_id": INSTALL,
        "name": "Domestique plan",
        "time_zone": "Asia/Seoul",
        "generated_at": GENERATED,
        "locale": "en",
        "units": "metric",
    } | options
    return Calendar.from_ical(calendar_feed(entries, **settings))


def entries(plan, sequence: int = 0):
    estimates = estimate_plan(plan, THRESHOLDS)
    return [FeedEntry(w, sequence, estimates[w.id]) for w in plan.workouts]


def by_uid(calendar: Calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_one_all_day_event_per_workout():
    plan = plan_example()
    calendar = feed(entries(plan))
    events = calendar.walk("VEVENT")
    assert len(events) == len(plan.workouts) == len(by_uid(calendar))
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["X-WR-CALNAME"]) == "Domestique plan"
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Seoul"
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert not calendar.walk("VTIMEZONE")  # dates need no time zone
    for event, workout in zip(events, plan.sorted_workouts(), strict=True):
        assert str(event["UID"]) == workout_uid(INSTALL, workout.id)
        assert str(event["SUMMARY"]) == workout.name
        assert event.decoded("DTSTART") == workout.date
        assert not isinstance(event.decoded("DTSTART"), datetime)
        assert event.decoded("DTEND") == workout.date + timedelta(days=1)
        assert str(event["TRANSP"]) == "TRANSPARENT"
        assert event.decoded("DTSTAMP") == GENERATED
        assert event.decoded("SEQUENCE") == 0


def test_the_description_holds_purpose_structure_and_estimate_in_the_owners_language():
    plan = plan_example()
    run = plan.workout("w1-tue-run")
    assert run is not None
    estimate = estimate_plan(plan, THRESHOLDS)[run.id]
    entry = FeedEntry(run.model_copy(update={"notes": "Flat loop"}), 0, estimate)
    (event,) = feed([entry]).walk("VEVENT")
    purpose, structure, notes = str(event["DESCRIPTION"]).split("\n\n")
    assert purpose == "Speed at 10 k pace"
    assert structure.startswith("Warm-up 15 min in heart-rate zone 2 · 4 × (1 km at 4:10–4:20")
    assert " — about " in structure
    assert notes == "Flat loop"
    (korean,) = feed([entry], locale="ko", units="imperial").walk("VEVENT")
    assert "워밍업 15분 (심박 존 2) · 4 × (0.62 mi 6:42–6:58 /mi" in str(korean["DESCRIPTION"])


def test_a_revision_keeps_every_uid_and_raises_the_sequence_of_what_changed():
    first = plan_example()
    before = by_uid(feed(entries(first, sequence=0)))
    # Revision 2: the long run of week 1 moves a day and gets shorter; nothing else changes.
    moved = first.workout("w1-sun-run")
    assert moved is not None
    changed = moved.model_copy(
        update={"date": moved.date - timedelta(days=1), "name": "Long run (moved)"}
    )
    revised = [
        FeedEntry(changed if w.id == moved.id else w, 1 if w.id == moved.id else 0)
        for w in first.workouts
    ]
    after = by_uid(feed(revised))
    assert after.keys() == before.keys()
    uid = workout_uid(INSTALL, moved.id)
    assert after[uid].decoded("SEQUENCE") == 1 > before[uid].decoded("SEQUENCE")
    assert after[uid].decoded("DTSTART") == date(2027, 3, 6)
    assert str(after[uid]["SUMMARY"]) == "Long run (moved)"
    others = [key for key in after if key != uid]
    assert all(after[key].decoded("SEQUENCE") == 0 for key in others)


def test_uids_depend_on_the_install_and_the_key_only():
    assert workout_uid(INSTALL, "w1-tue-run") == workout_uid(INSTALL, "w1-tue-run")
    assert workout_uid(INSTALL, "w1-tue-run") != workout_uid("another-install", "w1-tue-run")
    assert workout_uid(INSTALL, "plan-7/w1") != workout_uid(INSTALL, "plan-8/w1")
    assert workout_uid(INSTALL, "w1").endswith("@domestique")
    run = plan_example().workout("w1-tue-run")
    assert run is not None
    (event,) = feed([FeedEntry(run, key="plan-7/w1-tue-run", url="http://nas:8000/w/1")]).walk(
        "VEVENT"
    )
    assert str(event["UID"]) == workout_uid(INSTALL, "plan-7/w1-tue-run")
    assert str(event["URL"]) == "http://nas:8000/w/1"


def test_timed_events_start_at_the_usual_time_in_the_owners_zone_and_last_the_estimate():
    plan = plan_example()
    calendar = feed(entries(plan)[:3], start_time=time(6, 30))
    (zone,) = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Asia/Seoul"
    estimates = estimate_plan(plan, THRESHOLDS)
    for event in calendar.walk("VEVENT"):
        workout = next(w for w in plan.workouts if str(event["UID"]) == workout_uid(INSTALL, w.id))
        start = event.decoded("DTSTART")
        assert isinstance(start, datetime)
        assert (start.date(), start.time()) == (workout.date, time(6, 30))
        assert start.utcoffset() == timedelta(hours=9)
        assert event["DTSTART"].params["TZID"] == "Asia/Seoul"
        length = event.decoded("DTEND") - start
        assert length == timedelta(minutes=round(estimates[workout.id].duration_s / 60))
        assert str(event["TRANSP"]) == "OPAQUE"
    (no_estimate,) = feed([FeedEntry(plan.workouts[0])], start_time=time(18, 0)).walk("VEVENT")
    assert no_estimate.decoded("DTEND") - no_estimate.decoded("DTSTART") == timedelta(hours=1)


def test_the_feed_is_the_same_bytes_for_the_same_plan_and_needs_an_aware_time():
    plan = plan_example()
    options = {
        "install_id": INSTALL,
        "name": "Plan",
        "time_zone": "Europe/Berlin",
        "generated_at": GENERATED,
    }
    first = calendar_feed(entries(plan), **options)
    assert calendar_feed(list(reversed(entries(plan))), **options) == first
    assert first.startswith(b"BEGIN:VCALENDAR\r\n")
    with pytest.raises(ValueError, match="aware"):
        calendar_feed(entries(plan), **(options | {"generated_at": datetime(2027, 2, 1)}))
