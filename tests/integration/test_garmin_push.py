"""Approved workouts on the (fake) Garmin: the next two weeks created, scheduled and read back;
pushing twice makes no call; a moved workout moves, a changed one is updated in place, a
dropped one leaves; a read-back difference is kept; a 429 mid-push resumes without duplicates;
nothing before approval and nothing without a connection — on the real database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from app.coach.changes import ChangeSet, MoveWorkout, RemoveWorkout
from app.coach.plans import Plan
from app.models import GarminPush, PlannedWorkout
from app.security.keys import SecretBox
from app.services.plans import garmin_push, revisions
from app.services.sync import connections
from app.sources.garmin.client import GarminClient
from tests.support.fake_garmin import FakeGarmin
from tests.support.plans import uniform_plan

MONDAY = date(2027, 1, 4)


@pytest.fixture
def fake() -> Iterator[FakeGarmin]:
    server = FakeGarmin().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key().decode())


@pytest.fixture
def connected(sessions, box, fake):
    with sessions.begin() as session:
        connections.save_tokens(session, box, "garmin", fake.issue_tokens())


@pytest.fixture
def approved(sessions, owner):
    plan = Plan.model_validate(uniform_plan(["base", "build", "build", "recovery"], start=MONDAY))
    stored = revisions.import_plan(sessions, plan, today=MONDAY)
    revisions.approve(sessions, stored.revision_id, accept_blocks=True, today=MONDAY)
    return stored, plan


def _push(sessions, box, fake, today=MONDAY):
    return garmin_push.push(
        sessions,
        box,
        lambda tokens: GarminClient.from_tokens(tokens, endpoints=fake.endpoints),
        today=today,
    )


def _creates(fake) -> int:
    return sum(1 for m, p, _ in fake.payloads if (m, p) == ("POST", "/workout-service/workout"))


def _states(sessions) -> dict[str, str]:
    with sessions() as session:
        return dict(session.execute(select(PlannedWorkout.workout_id, PlannedWorkout.state)).all())


def test_the_next_two_weeks_go_to_garmin_once(sessions, box, fake, connected, approved):
    _stored, plan = approved
    in_window = [w for w in plan.workouts if MONDAY <= w.date < MONDAY + timedelta(days=14)]
    result = _push(sessions, box, fake)
    assert result.stopped is None
    assert result.calls == 3 * len(in_window)
    assert _creates(fake) == len(in_window)
    states = _states(sessions)
    assert {states[w.id] for w in in_window} == {"PUSHED"}
    assert {states[w.id] for w in plan.workouts if w not in in_window} == {"PLANNED"}
    again = _push(sessions, box, fake)
    assert again.calls == 0 and _creates(fake) == len(in_window)


def test_a_new_revision_moves_updates_and_removes_in_place(
    sessions, box, fake, connected, approved
):
    stored, _plan = approved
    _push(sessions, box, fake)
    with sessions() as session:
        ids = {r.workout_id: r.garmin_workout_id for r in session.scalars(select(GarminPush))}
    assert len(ids) > 0
    change = ChangeSet(
        summary="Move and drop",
        operations=[
            MoveWorkout(op="move_workout", workout_id="w1-sat", date="2027-01-08"),
            RemoveWorkout(op="remove_workout", workout_id="w2-wed"),
        ],
    )
    revision = revisions.apply_change_set(sessions, stored.plan_id, change, today=MONDAY)
    revisions.approve(sessions, revision.revision_id, accept_blocks=True, today=MONDAY)
    before = len(fake.requests)
    result = _push(sessions, box, fake)
    assert result.stopped is None and _creates(fake) == len(ids)  # nothing created again
    made = [(m, p) for m, p in fake.requests[before:]]
    assert any(m == "DELETE" and p.startswith("/workout-service/workout/") for m, p in made)
    with sessions() as session:
        after = {r.workout_id: r for r in session.scalars(select(GarminPush))}
    assert "w2-wed" in ids and "w2-wed" not in after
    moved = after["w1-sat"]
    assert moved.garmin_workout_id == ids["w1-sat"]
    assert moved.day == date(2027, 1, 8)


def test_a_read_back_difference_is_kept_for_the_owner(sessions, box, fake, connected, approved):
    def drop_last_step(stored) -> None:
        steps = stored["workoutSegments"][0]["workoutSteps"]
        if len(steps) > 1:
            steps.pop()

    fake.store_hook = drop_last_step
    result = _push(sessions, box, fake)
    assert result.attention
    with sessions() as session:
        flagged = garmin_push.attention(session)
    assert flagged and all(d for d in flagged.values())
    assert {d["code"] for found in flagged.values() for d in found} >= {"step_missing"}


def test_a_429_mid_push_resumes_without_duplicates(sessions, box, fake, connected, approved):
    _stored, plan = approved
    in_window = [w for w in plan.workouts if MONDAY <= w.date < MONDAY + timedelta(days=14)]
    fake.fail("/workout-service/schedule", 429, headers={"Retry-After": "30"})
    first = _push(sessions, box, fake)
    assert first.stopped == "rate_limited" and first.retry_after == 30
    second = _push(sessions, box, fake)
    assert second.stopped is None
    assert _creates(fake) == len(in_window)
    assert {_states(sessions)[w.id] for w in in_window} == {"PUSHED"}


def test_nothing_without_a_connection_or_before_approval(sessions, box, fake, owner):
    plan = Plan.model_validate(uniform_plan(["base"], start=MONDAY))
    revisions.import_plan(sessions, plan, today=MONDAY)  # proposed, not approved
    assert _push(sessions, box, fake).stopped == "not_connected"
    with sessions.begin() as session:
        connections.save_tokens(session, box, "garmin", fake.issue_tokens())
    result = _push(sessions, box, fake)
    assert result.calls == 0 and fake.payloads == []


def test_the_calendar_shows_a_workout_that_needs_attention(
    sessions, box, fake, connected, approved
):
    from app.services.plans import calendar

    fake.store_hook = lambda stored: stored["workoutSegments"][0]["workoutSteps"].pop()
    _push(sessions, box, fake)
    with sessions() as session:
        view = calendar.calendar_view(session, view="week", anchor=MONDAY, today=MONDAY)
    flagged = [w for d in view.days for w in d.workouts if w.attention]
    assert flagged and all(text for w in flagged for text in w.attention)
