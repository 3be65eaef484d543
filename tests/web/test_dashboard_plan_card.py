"""The dashboard's plan card: today's planned workout and the changes waiting for approval; the
mission page's list of the coach's mornings."""

from __future__ import annotations

from datetime import timedelta

from app.coach.plans import Plan
from app.services.metrics.recompute import owner_today
from app.services.plans import revisions
from tests.support.plans import uniform_plan

EN = {"Accept-Language": "en"}


def test_todays_workout_and_the_waiting_change(signed_in, sessions, owner):
    with sessions() as session:
        today = owner_today(session)
    monday = today - timedelta(days=today.weekday())
    plan = Plan.model_validate(uniform_plan(["build"], start=monday))
    stored = revisions.import_plan(sessions, plan, today=monday)
    page = signed_in.get("/", headers=EN).text
    assert 'data-testid="plan-proposals"' in page and "1 change to the plan waits" in page
    revisions.approve(sessions, stored.revision_id, accept_blocks=True, today=monday)
    page = signed_in.get("/", headers=EN).text
    todays = [w for w in plan.workouts if w.date == today]
    assert page.count('data-testid="plan-today-workout"') == len(todays)
    for workout in todays:
        assert workout.name in page
    assert 'data-testid="plan-proposals"' not in page


def test_no_plan_no_card(signed_in):
    assert 'data-testid="plan-today"' not in signed_in.get("/", headers=EN).text
