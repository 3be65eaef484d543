"""Adapting the approved plan after what happened: missed key sessions, fatigue, readiness."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from app.coach.adaptation import adapt, reschedule_missed_key
from app.coach.estimate import estimate_plan
from app.coach.matching import DoneActivity, PlannedSession, match
from tests.support.plans import PLAN_START, THRESHOLDS, history_context, season

RECORDED = {"run": "running", "ride": "cycling", "swim": "swimming", "strength": "training"}
SUB = {"strength": "strength_training"}


def _matched(plan, estimates, today, *, skip_ids=()):
    """Every workout before ``today`` done as planned except ``skip_ids``."""
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
    done = [
        DoneActivity(
            i,
            s.day,
            RECORDED.get(s.sport, "walking"),
            SUB.get(s.sport),
            s.duration_s,
            s.distance_m,
            s.load,
        )
        for i, s in enumerate(sessions)
        if s.day < today and s.workout_id not in skip_ids
    ]
    return match(sessions, done, today=today)


def _context(plan, estimates, today, **extra):
    """The steady history, plus the runs of the plan done before ``today`` (as the service's
    context would hold them)."""
    context = history_context(today, **extra)
    runs = dict(context.longest_run_m)
    for w in plan.workouts:
        distance = estimates[w.id].distance_m
        if w.sport == "run" and w.date < today and distance is not None:
            runs[w.date] = max(runs.get(w.date, 0.0), distance)
    return replace(context, longest_run_m=runs)


def _first_key(plan, *, weekday: int, after=PLAN_START):
    return next(
        w for w in plan.workouts if w.key and w.date.weekday() == weekday and w.date >= after
    )


def test_a_plan_followed_as_written_needs_no_proposal():
    plan = season()
    estimates = estimate_plan(plan, THRESHOLDS)
    today = PLAN_START + timedelta(days=10)
    context = _context(plan, estimates, today)
    assert adapt(plan, estimates, _matched(plan, estimates, today), context) is None


def test_a_missed_key_interval_session_moves_to_the_next_free_easy_day_replacing_the_easy_run():
    plan = season()
    estimates = estimate_plan(plan, THRESHOLDS)
    key = _first_key(plan, weekday=1, after=PLAN_START + timedelta(days=7))  # a Tuesday
    today = key.date + timedelta(days=1)  # Wednesday: an easy run is planned
    easy = [w for w in plan.workouts if w.date == today]
    matched = _matched(plan, estimates, today, skip_ids={key.id})
    assert key.id in matched.missed
    moved, reasons = reschedule_missed_key(plan, matched, today)
    by_id = {w.id: w for w in moved.workouts}
    assert by_id[key.id].date == today
    assert all(w.id not in by_id for w in easy)
    assert [r.code for r in reasons] == ["missed_key_moved"]
    assert reasons[0].params["replaces"] == [w.name for w in easy]


def test_a_missed_long_run_is_let_go_when_the_next_key_session_is_close():
    plan = season()
    estimates = estimate_plan(plan, THRESHOLDS)
    key = _first_key(plan, weekday=6, after=PLAN_START + timedelta(days=7))  # a Sunday long run
    today = key.date + timedelta(days=1)  # Monday; Tuesday's intervals are key
    matched = _matched(plan, estimates, today, skip_ids={key.id})
    moved, reasons = reschedule_missed_key(plan, matched, today)
    assert moved == plan
    assert [r.code for r in reasons] == ["missed_key_let_go"]


def test_low_readiness_eases_todays_hard_session_as_an_easier_only_proposal():
    plan = season()
    estimates = estimate_plan(plan, THRESHOLDS)
    key = _first_key(plan, weekday=1, after=PLAN_START + timedelta(days=7))
    today = key.date
    context = _context(plan, estimates, today, readiness=40.0)
    proposal = adapt(plan, estimates, _matched(plan, estimates, today), context)
    assert proposal is not None
    assert proposal.easier_only
    assert any(f.rule == "readiness" and f.workout_id == key.id for f in proposal.report.findings)
    assert proposal.report.estimates[key.id].load < estimates[key.id].load


def test_a_moved_key_session_is_not_an_easier_only_proposal():
    plan = season()
    estimates = estimate_plan(plan, THRESHOLDS)
    key = _first_key(plan, weekday=1, after=PLAN_START + timedelta(days=7))
    today = key.date + timedelta(days=1)
    matched = _matched(plan, estimates, today, skip_ids={key.id})
    proposal = adapt(plan, estimates, matched, _context(plan, estimates, today))
    assert proposal is not None
    assert not proposal.easier_only
    assert [r.code for r in proposal.reasons] == ["missed_key_moved"]


def test_a_missed_key_session_never_moves_onto_a_day_already_done():
    plan = season()
    estimates = estimate_plan(plan, THRESHOLDS)
    key = _first_key(plan, weekday=1, after=PLAN_START + timedelta(days=7))
    today = key.date + timedelta(days=1)  # Wednesday, whose easy run is already recorded
    done_today = [w.id for w in plan.workouts if w.date == today]
    matched = _matched(plan, estimates, today + timedelta(days=1), skip_ids={key.id})
    assert set(done_today) <= {m.workout_id for m in matched.matches}
    moved, reasons = reschedule_missed_key(plan, matched, today, today + timedelta(days=1))
    # Thursday's ride and Friday's swim are other sports; Saturday sits before Sunday's long
    # run (key): no day qualifies, and Wednesday (done) is not considered.
    assert [r.code for r in reasons] == ["missed_key_let_go"]
    assert moved == plan
