"""Matching planned workouts to the activities that fulfil them, and compliance."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.coach.estimate import estimate_plan
from app.coach.matching import (
    DoneActivity,
    PlannedSession,
    band_of,
    compliance,
    family_of,
    match,
)
from tests.support.plans import THRESHOLDS, season

MONDAY = date(2027, 3, 1)


def planned(wid: str, day: date, sport: str = "run", minutes: float = 60, load: float | None = 60):
    return PlannedSession(wid, day, sport, minutes * 60, None, load)


def done(
    aid: int,
    day: date,
    sport: str = "running",
    minutes: float = 60,
    load: float | None = 60,
    sub: str | None = None,
):
    return DoneActivity(aid, day, sport, sub, minutes * 60, None, load)


@pytest.mark.parametrize(
    ("sport", "sub", "family"),
    [
        ("running", "trail", "run"),
        ("running", "treadmill", "run"),
        ("cycling", "indoor_cycling", "ride"),
        ("e_biking", None, "ride"),
        ("swimming", "open_water", "swim"),
        ("training", "strength_training", "strength"),
        ("training", "yoga", "other"),
        ("walking", None, "other"),
    ],
)
def test_recorded_sports_fall_into_the_plans_families(sport, sub, family):
    assert family_of(sport, sub) == family


def test_a_double_day_pairs_the_long_run_with_the_long_activity_not_the_first_one():
    plan = [
        planned("long", MONDAY, minutes=120, load=140),
        planned("shake", MONDAY, minutes=25, load=20),
    ]
    # The shake-out was recorded first (lower id): order must not decide.
    result = match(
        plan,
        [done(1, MONDAY, minutes=24, load=18), done(2, MONDAY, minutes=118, load=150)],
        today=MONDAY + timedelta(days=1),
    )
    pairs = {m.workout_id: m.activity_id for m in result.matches}
    assert pairs == {"long": 2, "shake": 1}
    assert result.missed == () and result.unplanned == ()


def test_only_the_same_day_and_family_fulfil_a_workout():
    plan = [planned("run", MONDAY), planned("ride", MONDAY + timedelta(days=1), "ride")]
    acts = [
        done(1, MONDAY, "cycling"),  # a ride on the run's day
        done(2, MONDAY + timedelta(days=2), "cycling"),  # the ride a day late
    ]
    result = match(plan, acts, today=MONDAY + timedelta(days=3))
    assert result.matches == ()
    assert result.missed == ("run", "ride")
    assert result.unplanned == (1, 2)


def test_unmatched_workouts_are_missed_only_after_their_day():
    plan = [planned("yesterday", MONDAY), planned("today", MONDAY + timedelta(days=1))]
    result = match(plan, [], today=MONDAY + timedelta(days=1))
    assert result.missed == ("yesterday",)
    assert result.open == ("today",)


def test_a_token_activity_fulfils_nothing():
    result = match(
        [planned("long", MONDAY, minutes=120)],
        [done(7, MONDAY, minutes=10)],
        today=MONDAY + timedelta(days=1),
    )
    assert result.matches == ()
    assert result.missed == ("long",)
    assert result.unplanned == (7,)


def test_skipped_workouts_are_neither_matched_nor_missed():
    result = match(
        [planned("rest", MONDAY)],
        [done(1, MONDAY)],
        today=MONDAY + timedelta(days=2),
        skipped=["rest"],
    )
    assert result.matches == () and result.missed == () and result.open == ()
    assert result.unplanned == (1,)


def test_the_owners_own_pairing_is_kept_even_against_a_better_fit():
    plan = [planned("a", MONDAY, minutes=60, load=60), planned("b", MONDAY, minutes=30, load=30)]
    acts = [done(1, MONDAY, minutes=60, load=60), done(2, MONDAY, minutes=30, load=30)]
    result = match(plan, acts, today=MONDAY + timedelta(days=1), fixed={"a": 2})
    by = result.by_workout()
    assert (by["a"].activity_id, by["a"].fixed) == (2, True)
    assert by["b"].activity_id == 1


@pytest.mark.parametrize(
    ("ratio", "band"),
    [
        (1.0, "on_target"),
        (0.8, "on_target"),
        (1.2, "on_target"),
        (0.79, "close"),
        (1.5, "close"),
        (0.49, "off"),
        (1.51, "off"),
    ],
)
def test_compliance_bands_follow_trainingpeaks(ratio, band):
    assert band_of(ratio) == band


def test_compliance_decides_on_load_then_duration_then_distance():
    with_load = compliance(
        planned("x", MONDAY, minutes=60, load=100), done(1, MONDAY, minutes=90, load=70)
    )
    assert (with_load.measure, with_load.band) == ("load", "close")
    assert with_load.duration_ratio == pytest.approx(1.5)
    without_load = compliance(
        planned("x", MONDAY, minutes=60, load=None), done(1, MONDAY, minutes=30, load=None)
    )
    assert (without_load.measure, without_load.ratio, without_load.band) == (
        "duration",
        0.5,
        "close",
    )


def test_a_season_done_as_planned_matches_every_past_workout_on_target():
    plan = season()
    estimates = estimate_plan(plan, THRESHOLDS)
    sessions = [
        PlannedSession(
            w.id,
            w.date,
            w.sport,
            estimates[w.id].duration_s,
            estimates[w.id].distance_m,
            estimates[w.id].load,
        )
        for w in plan.workouts
    ]
    recorded = {
        "run": "running",
        "ride": "cycling",
        "swim": "swimming",
        "strength": "training",
        "other": "walking",
    }
    sub = {"strength": "strength_training"}
    today = plan.workouts[len(plan.workouts) // 2].date
    acts = [
        DoneActivity(
            i,
            s.day,
            recorded[s.sport],
            sub.get(s.sport),
            s.duration_s * 1.05,
            s.distance_m,
            s.load * 0.95,
        )
        for i, s in enumerate(sessions)
        if s.day < today and s.sport != "other"
    ]
    result = match(sessions, acts, today=today)
    assert len(result.matches) == len(acts)
    assert all(m.compliance.band == "on_target" for m in result.matches)
    assert result.unplanned == ()
    past_other = [s.workout_id for s in sessions if s.day < today and s.sport == "other"]
    assert list(result.missed) == past_other
