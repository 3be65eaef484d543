"""The calendar page: planned workouts next to the activities done, week and month, in English
and Korean, behind the login."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.test_plan_follow import NEXT_MONDAY, PLAN_START, WEDNESDAY, followed  # noqa: F401
from tests.support.korean import ALLOWED, ISO_DATE, english_words, visible_text

EN = {"Accept-Language": "en"}
KO = {"Accept-Language": "ko"}


def test_the_week_shows_done_missed_and_unplanned(signed_in, sessions, followed):  # noqa: F811
    from app.services.plans import follow

    follow.follow_up(sessions, today=NEXT_MONDAY)
    page = signed_in.get(f"/calendar?view=week&date={WEDNESDAY.isoformat()}", headers=EN)
    assert page.status_code == 200
    assert page.text.count('data-testid="cal-day"') == 7
    assert 'data-workout="w1-tue" data-state="DONE"' in page.text
    assert 'data-workout="w1-sun" data-state="MISSED"' in page.text
    assert page.text.count('data-testid="cal-unplanned"') == 1  # the 10-minute jog
    assert 'data-testid="compliance"' in page.text
    earlier = signed_in.get(
        f"/calendar?view=week&date={(PLAN_START - timedelta(days=7)).isoformat()}", headers=EN
    )
    assert 'data-testid="cal-workout"' not in earlier.text


def test_the_month_and_korean(signed_in, sessions, followed):  # noqa: F811
    page = signed_in.get(f"/calendar?view=month&date={WEDNESDAY.isoformat()}", headers=KO)
    assert page.status_code == 200
    assert page.text.count('data-testid="cal-day"') % 7 == 0
    assert "<h1>캘린더</h1>" in page.text
    words = {
        w
        for text in visible_text(page.text)
        for w in english_words(text, ALLOWED | {"Jiwoo", "Kim", "Intervals", "Easy", "run",
                                                 "Tempo", "ride", "swim", "Long"})
    }  # fmt: skip
    assert words == set()
    assert ISO_DATE.findall(" ".join(visible_text(page.text))) == []


def test_a_bad_date_falls_back_to_this_week_and_the_page_needs_a_login(signed_in, client):
    assert signed_in.get("/calendar?date=not-a-day").status_code == 200
    signed_in.post("/logout")
    assert signed_in.get("/calendar", follow_redirects=False).status_code in (303, 307)


def test_a_skipped_workout_is_neither_matched_nor_missed_until_taken_back(
    signed_in,
    sessions,
    followed,  # noqa: F811
):
    from app.services.plans import follow

    response = signed_in.post("/plan/workouts/w1-thu/skip", follow_redirects=False)
    assert response.status_code == 303
    follow.follow_up(sessions, today=NEXT_MONDAY)
    page = signed_in.get(f"/calendar?view=week&date={WEDNESDAY.isoformat()}", headers=EN).text
    assert 'data-workout="w1-thu" data-state="SKIPPED"' in page
    assert signed_in.post("/plan/workouts/w1-tue/skip").status_code == 409  # done already
    assert signed_in.post("/plan/workouts/no-such/skip").status_code == 404
    signed_in.post("/plan/workouts/w1-thu/skip", data={"undo": "yes"})
    follow.follow_up(sessions, today=NEXT_MONDAY)
    page = signed_in.get(f"/calendar?view=week&date={WEDNESDAY.isoformat()}", headers=EN).text
    assert 'data-workout="w1-thu" data-state="MISSED"' in page
