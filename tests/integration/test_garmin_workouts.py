"""Workouts on Garmin Connect through the adapter, against the fake Garmin on loopback
(tests/support/fake_garmin.py): the payloads it records field by field, the read-back check on
what it stores, updates that keep the id, the calendar, and the errors the push service sees.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from app.coach.garmin_push import Action, Pushed, Wanted, calls, push_plan, record, revision_hash
from app.coach.garmin_workout import compare, garmin_workout
from app.coach.plans import PlannedWorkout
from app.sources import SourceAuthError, SourceDataError, SourceRateLimited, SourceUnavailable
from app.sources.garmin.client import GarminClient, ScheduledWorkout
from tests.support.fake_garmin import FakeGarmin
from tests.support.garmin_workouts import step_at, steps_of
from tests.support.plans import easy_run, easy_swim, intervals, tempo_ride, workout

DAY = date(2027, 3, 2)


@pytest.fixture
def fake() -> Iterator[FakeGarmin]:
    server = FakeGarmin().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(fake: FakeGarmin) -> GarminClient:
    return GarminClient.from_tokens(fake.issue_tokens(), endpoints=fake.endpoints)


def planned(
    sport: str, name: str, structure: dict[str, Any], day: date = DAY, wid: str = "w1"
) -> PlannedWorkout:
    return PlannedWorkout.model_validate(workout(wid, day, sport, name, structure))


def sent(fake: FakeGarmin, method: str, path: str) -> list[Any]:
    return [body for m, p, body in fake.payloads if (m, p) == (method, path)]


def garmin_calls(fake: FakeGarmin) -> list[tuple[str, str]]:
    return [
        (method, path)
        for method, path in fake.requests
        if path.startswith(("/workout-service/", "/calendar-service/"))
    ]


# --------------------------------------------------------------------------------------------
# The payloads, field by field

# (stepOrder, stepTypeId, childStepId, conditionTypeId, endConditionValue, targetTypeId,
#  zoneNumber, targetValueOne, targetValueTwo) of every step, a repeat group before its steps
HR_RUN = [(1, 7, None, 2, 2400.0, 4, 2, None, None)]  # 40 min "other", heart-rate zone 2
PACE_REPEATS = [
    (1, 1, None, 2, 900.0, 4, 2, None, None),  # warm-up 15 min, HR zone 2
    (2, 6, 1, 7, 5.0, None, None, None, None),  # 5 ×
    (3, 3, 1, 3, 1000.0, 6, None, 1000 / 240, 1000 / 250),  # 1 km at 4:00–4:10/km, fast first
    (4, 4, 1, 2, 120.0, 1, None, None, None),  # 2 min recovery
    (5, 2, None, 2, 600.0, 1, None, None, None),  # cool-down 10 min
]
POWER_RIDE = [
    (1, 1, None, 2, 600.0, 2, 2, None, None),  # warm-up, power zone 2
    (2, 3, None, 2, 2700.0, 2, None, 170.0, 185.0),  # 45 min at 170–185 W: power id, no zone
    (3, 2, None, 2, 600.0, 1, None, None, None),
]
POOL_SWIM = [
    (1, 1, None, 3, 200.0, 1, None, None, None),
    (2, 7, None, 3, 1500.0, 1, None, None, None),
]

CASES = {
    "run with heart-rate zones": ("run", "Easy run", easy_run(40), 1, HR_RUN),
    "pace range run with repeats": ("run", "5 × 1 km", intervals(5), 1, PACE_REPEATS),
    "ride with power ranges": ("ride", "Tempo", tempo_ride(45), 2, POWER_RIDE),
    "pool swim by distance": ("swim", "Endurance swim", easy_swim(1500), 4, POOL_SWIM),
}


def step_row(step: dict[str, Any]) -> tuple[Any, ...]:
    target = step.get("targetType") or {}
    return (
        step["stepOrder"],
        step["stepType"]["stepTypeId"],
        step.get("childStepId"),
        step["endCondition"]["conditionTypeId"],
        step.get("endConditionValue"),
        target.get("workoutTargetTypeId"),
        step.get("zoneNumber"),
        step.get("targetValueOne"),
        step.get("targetValueTwo"),
    )


@pytest.mark.parametrize("case", list(CASES))
def test_an_upload_sends_the_mapped_payload_and_reads_back_the_same(client, fake, case):
    sport, name, structure, sport_id, rows = CASES[case]
    payload = garmin_workout(planned(sport, name, structure))
    workout_id = client.upload_workout(payload)

    (body,) = sent(fake, "POST", "/workout-service/workout")
    assert body == json.loads(json.dumps(payload))  # what was built is what went out
    assert body["workoutName"] == name
    assert body["sportType"]["sportTypeId"] == sport_id
    assert body["workoutSegments"][0]["sportType"]["sportTypeId"] == sport_id
    assert "workoutId" not in body
    got = [step_row(step) for step in steps_of(body)]
    assert len(got) == len(rows)
    for mine, expected in zip(got, rows, strict=True):
        assert mine[:7] == expected[:7]
        if expected[7] is None:
            assert mine[7:] == (None, None)
        else:
            assert mine[7:] == pytest.approx(expected[7:])
    for step in steps_of(body):
        assert "targetValueOne" not in step.get("targetType", {})  # values at step level
    if sport == "swim":
        assert body["poolLength"] == 25.0
        assert body["poolLengthUnit"]["unitKey"] == "meter"
        for step in steps_of(body):
            assert step["preferredEndConditionUnit"]["unitKey"] == "meter"
            assert step["strokeType"]["strokeTypeKey"] == "any_stroke"
    else:
        assert "poolLength" not in body

    stored = client.workout(workout_id)
    assert stored["workoutId"] == workout_id
    assert stored != body  # Garmin echoes much more …
    assert compare(payload, stored) == []  # … and none of it is a difference


def test_a_read_back_catches_a_target_garmin_changed(client, fake):
    def pace_for_power(stored: dict[str, Any]) -> None:  # the "864 km/h" failure
        step = step_at(stored, 2)
        step["targetType"] = {"workoutTargetTypeId": 6, "workoutTargetTypeKey": "pace.zone"}

    fake.store_hook = pace_for_power
    payload = garmin_workout(planned("ride", "Tempo", tempo_ride(45)))
    workout_id = client.upload_workout(payload)
    (difference,) = compare(payload, client.workout(workout_id))
    assert difference.code == "target_changed"
    assert difference.params["step"] == 2
    assert difference.params["sent"] == {"kind": "power_range", "low_w": 170, "high_w": 185}


def test_a_read_back_catches_a_dropped_step(client, fake):
    fake.store_hook = lambda stored: stored["workoutSegments"][0]["workoutSteps"].pop()
    payload = garmin_workout(planned("run", "5 × 1 km", intervals(5)))
    differences = compare(payload, client.workout(client.upload_workout(payload)))
    assert [(d.code, d.params["step"]) for d in differences] == [("step_missing", 5)]


# --------------------------------------------------------------------------------------------
# Keeping in step: update, calendar, delete


def test_an_update_keeps_the_id_and_the_schedule(client, fake):
    first = garmin_workout(planned("run", "5 × 1 km", intervals(5)))
    workout_id = client.upload_workout(first)
    schedule_id = client.schedule_workout(workout_id, DAY)
    second = garmin_workout(planned("run", "6 × 1 km", intervals(6)))
    client.update_workout(workout_id, second)

    (body,) = sent(fake, "PUT", f"/workout-service/workout/{workout_id}")
    assert body == json.loads(json.dumps(second)) | {"workoutId": workout_id}
    assert len(fake.workouts) == 1
    stored = client.workout(workout_id)
    assert stored["workoutName"] == "6 × 1 km"
    assert step_at(stored, 2)["numberOfIterations"] == 6
    assert compare(second, stored) == []
    assert client.scheduled_workouts(2027, 3) == [ScheduledWorkout(schedule_id, workout_id, DAY)]


def test_schedule_move_and_unschedule_keep_the_workout(client, fake):
    workout_id = client.upload_workout(garmin_workout(planned("run", "Easy", easy_run(40))))
    schedule_id = client.schedule_workout(workout_id, DAY)
    assert sent(fake, "POST", f"/workout-service/schedule/{workout_id}") == [{"date": "2027-03-02"}]
    assert client.scheduled_workouts(2027, 3) == [ScheduledWorkout(schedule_id, workout_id, DAY)]

    later = date(2027, 4, 1)
    client.reschedule_workout(schedule_id, later)
    (moved,) = sent(fake, "PUT", f"/workout-service/schedule/{schedule_id}")
    assert moved["calendarDate"] == "2027-04-01"
    assert moved["workout"] == {"workoutId": workout_id}
    assert client.scheduled_workouts(2027, 3) == []
    assert client.scheduled_workouts(2027, 4) == [ScheduledWorkout(schedule_id, workout_id, later)]

    assert client.unschedule_workout(schedule_id) is True
    assert client.scheduled_workouts(2027, 4) == []
    assert client.workout(workout_id)["workoutId"] == workout_id
    assert client.unschedule_workout(schedule_id) is False  # already off: done


def test_delete_takes_the_schedule_along_and_a_missing_workout_is_done(client, fake):
    workout_id = client.upload_workout(garmin_workout(planned("run", "Easy", easy_run(40))))
    client.schedule_workout(workout_id, DAY)
    assert client.delete_workout(workout_id) is True
    assert client.scheduled_workouts(2027, 3) == []
    assert client.delete_workout(workout_id) is False  # 404: what was asked is so
    with pytest.raises(SourceDataError) as err:
        client.workout(workout_id)
    assert err.value.code == "garmin_not_found"
    with pytest.raises(SourceDataError) as err:
        client.update_workout(workout_id, garmin_workout(planned("run", "Easy", easy_run(45))))
    assert err.value.code == "garmin_not_found"
    with pytest.raises(SourceDataError) as err:
        client.schedule_workout(workout_id, DAY)
    assert err.value.code == "garmin_not_found"


def test_the_owner_s_own_calendar_items_are_not_workouts_of_ours(client, fake):
    fake.fail(
        "/calendar-service/",
        200,
        body=json.dumps(
            {
                "calendarItems": [
                    {"id": 5, "itemType": "activity", "date": "2027-03-01"},
                    {"id": 6, "itemType": "workout", "workoutId": 77, "date": "2027-03-03"},
                ]
            }
        ).encode(),
    )
    assert client.scheduled_workouts(2027, 3) == [ScheduledWorkout(6, 77, date(2027, 3, 3))]
    assert garmin_calls(fake) == [("GET", "/calendar-service/year/2027/month/2")]


# --------------------------------------------------------------------------------------------
# Errors


def test_a_429_gives_the_retry_error_with_the_wait_and_stores_nothing(client, fake):
    fake.fail("/workout-service/workout", 429, headers={"Retry-After": "90"})
    payload = garmin_workout(planned("run", "Easy", easy_run(40)))
    with pytest.raises(SourceRateLimited) as err:
        client.upload_workout(payload)
    assert err.value.retry_after == 90.0
    assert fake.workouts == {}
    workout_id = client.upload_workout(payload)  # later, the same call goes through
    fake.fail("/workout-service/schedule/", 429, headers={"Retry-After": "15"})
    with pytest.raises(SourceRateLimited) as err:
        client.schedule_workout(workout_id, DAY)
    assert err.value.retry_after == 15.0
    assert fake.schedules == {}


def test_an_expired_token_is_refreshed_and_the_upload_goes_through(fake):
    client = GarminClient.from_tokens(fake.issue_tokens(expires_in=-10), endpoints=fake.endpoints)
    before = client.current_tokens()
    workout_id = client.upload_workout(garmin_workout(planned("run", "Easy", easy_run(40))))
    assert list(fake.workouts) == [workout_id]
    assert client.current_tokens() != before  # rotated: the caller saves them


def test_a_revoked_login_is_an_auth_error_and_nothing_is_stored(fake):
    tokens = fake.issue_tokens(expires_in=-10)
    fake.revoke_all()
    client = GarminClient.from_tokens(tokens, endpoints=fake.endpoints)
    with pytest.raises(SourceAuthError):
        client.upload_workout(garmin_workout(planned("run", "Easy", easy_run(40))))
    assert fake.workouts == {}
    assert len(garmin_calls(fake)) == 2  # the library's one retry after a 401, never more


def test_a_refused_payload_and_a_garmin_outage_are_said_plainly(client, fake):
    payload = garmin_workout(planned("run", "Easy", easy_run(40)))
    fake.fail("/workout-service/workout", 400, body=b'{"message": "Invalid workout"}')
    with pytest.raises(SourceDataError) as err:
        client.upload_workout(payload)
    assert err.value.code == "garmin_bad_request"
    assert "upload of workout 'Easy'" in str(err.value)
    fake.fail("/workout-service/workout", 503)
    with pytest.raises(SourceUnavailable):
        client.upload_workout(payload)
    fake.fail("/workout-service/workout", 200, body=b'{"workoutName": "Easy"}')
    with pytest.raises(SourceDataError) as err:
        client.upload_workout(payload)
    assert err.value.code == "garmin_bad_payload"
    assert fake.workouts == {}


def test_ids_that_are_not_garmin_ids_never_reach_garmin(client, fake):
    for bad in (0, -3, "abc", True):
        with pytest.raises(SourceDataError):
            client.delete_workout(bad)  # type: ignore[arg-type]
    assert garmin_calls(fake) == []


# --------------------------------------------------------------------------------------------
# The push plan carried out through the adapter


def carry_out(
    client: GarminClient, plan: list[Action], state: dict[str, Pushed], payloads: dict[str, Any]
) -> dict[str, Pushed]:
    """What the push service will do: each action through the adapter, each outcome recorded."""
    state = dict(state)
    for action in plan:
        current = state.get(action.workout_id)
        new_id = None
        match action.kind:
            case "create":
                new_id = client.upload_workout(payloads[action.workout_id])
            case "update":
                client.update_workout(action.garmin_workout_id, payloads[action.workout_id])
            case "read_back":
                garmin_id = (current.garmin_workout_id if current else None) or 0
                assert compare(payloads[action.workout_id], client.workout(garmin_id)) == []
            case "schedule":
                garmin_id = (current.garmin_workout_id if current else None) or 0
                new_id = client.schedule_workout(garmin_id, action.day)
            case "reschedule":
                client.reschedule_workout(action.schedule_id, action.day)
            case "unschedule":
                client.unschedule_workout(action.schedule_id)
            case "delete":
                client.delete_workout(action.garmin_workout_id)
        after = record(current, action, new_id=new_id)
        if after is None:
            state.pop(action.workout_id, None)
        else:
            state[action.workout_id] = after
    return state


def test_a_push_costs_the_calls_the_plan_counts_and_a_repush_costs_none(client, fake):
    workouts = [
        planned("run", "5 × 1 km", intervals(5), DAY, "a"),
        planned("ride", "Tempo", tempo_ride(45), DAY + timedelta(days=1), "b"),
        planned("swim", "Swim", easy_swim(1500), DAY + timedelta(days=2), "c"),
    ]
    payloads = {w.id: garmin_workout(w) for w in workouts}
    wanted = [Wanted(w.id, revision_hash(w), w.date, True) for w in workouts]

    plan = push_plan(wanted, [])
    state = carry_out(client, plan, {}, payloads)
    assert len(garmin_calls(fake)) == calls(plan) == 3 * len(workouts)
    assert sorted(s.day for s in client.scheduled_workouts(2027, 3)) == [w.date for w in workouts]

    fake.requests.clear()
    assert push_plan(wanted, state.values()) == []  # the same revision again: nothing

    # b moves a day, c changes, a is dropped from the plan
    b_moved = planned("ride", "Tempo", tempo_ride(45), DAY + timedelta(days=3), "b")
    c_changed = planned("swim", "Swim", easy_swim(2000), DAY + timedelta(days=2), "c")
    payloads["c"] = garmin_workout(c_changed)
    wanted = [
        Wanted("b", revision_hash(b_moved), b_moved.date, True),
        Wanted("c", revision_hash(c_changed), c_changed.date, True),
    ]
    plan = push_plan(wanted, state.values())
    ids_before = {wid: (p.garmin_workout_id, p.schedule_id) for wid, p in state.items()}
    state = carry_out(client, plan, state, payloads)
    assert len(garmin_calls(fake)) == calls(plan) == 2 + 2 + 2  # delete a, move b, update c
    assert {wid: (p.garmin_workout_id, p.schedule_id) for wid, p in state.items()} == {
        "b": ids_before["b"],
        "c": ids_before["c"],
    }
    on_calendar = {s.workout_id: s.day for s in client.scheduled_workouts(2027, 3)}
    assert on_calendar == {
        state["b"].garmin_workout_id: b_moved.date,
        state["c"].garmin_workout_id: c_changed.date,
    }
    assert set(fake.workouts) == {state["b"].garmin_workout_id, state["c"].garmin_workout_id}
    assert push_plan(wanted, state.values()) == []
