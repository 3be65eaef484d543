"""A long plan on the Plan page: last week and the next eight, the rest on the calendar; the
page's work is the weeks it shows, whatever the plan's length."""

from __future__ import annotations

from datetime import timedelta

from app.coach import estimate
from app.coach.plans import Plan
from app.services.metrics.recompute import owner_today
from app.services.plans import memo, revisions
from app.services.plans.page import plan_page
from tests.support.plans import uniform_plan
from tests.support.queries import count_bytes, count_queries


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


def _approved(sessions, weeks: int, start) -> None:
    plan = Plan.model_validate(uniform_plan(["build"] * weeks, start=start))
    stored = revisions.import_plan(sessions, plan, today=start)
    revisions.approve(sessions, stored.revision_id, accept_blocks=True, today=start)


def test_the_page_reads_and_estimates_only_the_weeks_it_shows_however_long_the_plan(
    connection, sessions, owner, monkeypatch
):
    """A twelve-week and a two-year plan from the same Monday: the page's statements, the bytes
    the database sends and the workouts estimated are the same (its first request, nothing
    kept from before)."""
    with sessions() as session:
        today = owner_today(session)
    start = today - timedelta(days=today.weekday(), weeks=3)
    estimated: list[str] = []
    real = estimate.estimate_workout

    def counted(workout, thresholds):
        estimated.append(workout.id)
        return real(workout, thresholds)

    monkeypatch.setattr(estimate, "estimate_workout", counted)
    work = {}
    for weeks in (12, 104):
        nested = connection.begin_nested()
        try:
            _approved(sessions, weeks, start)
            memo.forget_all()
            estimated.clear()
            with count_queries(connection) as statements, count_bytes(connection) as received:
                shown = plan_page(sessions, today=today)
            work[weeks] = (len(shown.weeks), len(statements), sum(received), len(estimated))
        finally:
            nested.rollback()
    (short_weeks, short_statements, short_bytes, short_estimated) = work[12]
    (long_weeks, long_statements, long_bytes, long_estimated) = work[104]
    assert short_weeks == long_weeks == 9
    assert long_statements == short_statements
    assert short_estimated == long_estimated == 9 * 6
    assert long_bytes <= short_bytes + 16, (short_bytes, long_bytes)


def test_new_thresholds_change_the_weeks_estimates_at_once(signed_in, sessions):
    with sessions() as session:
        today = owner_today(session)
    _approved(sessions, 104, today - timedelta(days=today.weekday(), weeks=10))
    before = [week.hours for week in plan_page(sessions, today=today).weeks]
    assert before == [week.hours for week in plan_page(sessions, today=today).weeks]
    response = signed_in.post(
        "/settings/training",
        data={
            "sex": "female",
            "birth_year": "1990",
            "hr_zone_model": "lthr",
            "units": "metric",
            "ctl_days": "42",
            "atl_days": "7",
            "tsb_variant": "yesterday",
            "threshold_pace_s_per_km": "3:20",
        },
        headers={"Origin": "http://testserver"},
    )
    assert response.status_code == 303
    after = [week.hours for week in plan_page(sessions, today=today).weeks]
    assert all(new < old for new, old in zip(after, before, strict=True)), (before, after)
