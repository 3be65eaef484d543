"""Approved workouts for any device: a FIT workout file per workout (behind the login) and the
calendar feed (no login; the token in the address is the key, shown once, replaced, revoked)."""

from __future__ import annotations

import io
from datetime import timedelta

import fitdecode
import icalendar
import pytest
from fastapi.testclient import TestClient

from app.coach.changes import ChangeSet, MoveWorkout
from app.coach.plans import Plan
from app.services.metrics.recompute import owner_today
from app.services.plans import revisions
from tests.support.plans import uniform_plan

EN = {"Accept-Language": "en"}


@pytest.fixture
def approved(sessions, owner):
    with sessions() as session:
        today = owner_today(session)
    monday = today - timedelta(days=today.weekday())
    plan = Plan.model_validate(uniform_plan(["base", "build"], start=monday))
    stored = revisions.import_plan(sessions, plan, today=monday)
    revisions.approve(sessions, stored.revision_id, accept_blocks=True, today=monday)
    return stored, plan


def _address(signed_in) -> str:
    page = signed_in.post("/calendar/feed", headers=EN).text
    start = page.index('data-testid="feed-address"')
    return page[page.index("<code>", start) + 6 : page.index("</code>", start)]


def test_a_workout_downloads_as_a_fit_file_that_decodes_to_its_steps(signed_in, approved, app):
    _stored, plan = approved
    workout = plan.workout("w1-tue")
    response = signed_in.get("/plan/workouts/w1-tue.fit")
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith('.fit"')
    with fitdecode.FitReader(io.BytesIO(response.content)) as reader:
        frames = [f for f in reader if isinstance(f, fitdecode.FitDataMessage)]
    names = [f.name for f in frames]
    assert names[0] == "file_id" and "workout" in names
    steps = [f for f in frames if f.name == "workout_step"]
    assert len(steps) >= len(workout.structure.steps)
    assert signed_in.get("/plan/workouts/no-such.fit").status_code == 404
    with TestClient(app, follow_redirects=False) as anonymous:
        assert anonymous.get("/plan/workouts/w1-tue.fit").status_code in (303, 307)


def test_the_feed_subscribes_without_a_login_and_follows_revisions(
    signed_in, approved, app, sessions
):
    stored, plan = approved
    address = _address(signed_in)
    path = address[address.index("/calendar/feed/") :]
    with TestClient(app, follow_redirects=False) as phone:
        first = phone.get(path)
        assert first.status_code == 200 and first.headers["content-type"].startswith(
            "text/calendar"
        )
        calendar = icalendar.Calendar.from_ical(first.content)
        events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
        assert len(list(calendar.walk("VEVENT"))) == len(plan.workouts)
        uids = {str(e["UID"]) for e in calendar.walk("VEVENT")}
        assert len(uids) == len(plan.workouts)
        assert {int(e["SEQUENCE"]) for e in events.values()} == {1}
        # A new approved revision: the same UIDs, a higher SEQUENCE.
        moved = plan.workout("w2-sat")
        change = ChangeSet(
            summary="Move",
            operations=[
                MoveWorkout(
                    op="move_workout",
                    workout_id="w2-sat",
                    date=(moved.date - timedelta(days=1)).isoformat(),
                )
            ],
        )
        revision = revisions.apply_change_set(
            sessions, stored.plan_id, change, today=plan.workouts[0].date
        )
        revisions.approve(
            sessions, revision.revision_id, accept_blocks=True, today=plan.workouts[0].date
        )
        second = icalendar.Calendar.from_ical(phone.get(path).content)
        assert {str(e["UID"]) for e in second.walk("VEVENT")} == uids
        assert {int(e["SEQUENCE"]) for e in second.walk("VEVENT")} == {2}
        # A wrong token answers like a missing page; a new address retires the old one.
        assert phone.get(path.replace(".ics", "x.ics")).status_code == 404
        newer = _address(signed_in)
        assert phone.get(path).status_code == 404
        newer_path = newer[newer.index("/calendar/feed/") :]
        assert phone.get(newer_path).status_code == 200
        signed_in.post("/calendar/feed/revoke")
        assert phone.get(newer_path).status_code == 404
        # Nothing else opens without the login.
        assert phone.get("/calendar").status_code in (303, 307)
        assert phone.post(newer_path).status_code in (303, 307, 403, 405)


def test_the_page_shows_the_address_once(signed_in, approved):
    _address(signed_in)
    page = signed_in.get("/calendar", headers=EN).text
    assert 'data-testid="feed-on"' in page and 'data-testid="feed-address"' not in page
