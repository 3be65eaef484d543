"""A long plan on the Plan page: last week and the next eight, the rest on the calendar."""

from __future__ import annotations

from datetime import timedelta

from app.coach.plans import Plan
from app.services.metrics.recompute import owner_today
from app.services.plans import revisions
from tests.support.plans import uniform_plan


def test_a_two_year_plan_shows_nine_weeks_and_says_where_the_rest_are(signed_in, sessions):
    with sessions() as session:
        today = owner_today(session)
    monday = today - timedelta(days=today.weekday())
    start = monday - timedelta(weeks=10)
    plan = Plan.model_validate(uniform_plan(["build"] * 104, start=start))
    stored = revisions.import_plan(sessions, plan, today=start)
    revisions.approve(sessions, stored.revision_id, accept_blocks=True, today=start)
    page = signed_in.get("/plan", headers={"Accept-Language": "en"}).text
    shown = page.count('data-testid="plan-week"')
    assert shown == 9
    last_week = (monday - timedelta(weeks=1)).isoformat()
    assert f'data-start="{last_week}"' in page
    assert f'data-start="{(monday - timedelta(weeks=2)).isoformat()}"' not in page
    assert "9 earlier and 86 later weeks are on the calendar" in page
