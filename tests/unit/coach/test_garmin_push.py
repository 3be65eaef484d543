"""The Garmin push plan: which calls bring Garmin in step with the approved workouts, one case
at a time, and that carrying a plan out and planning again asks for nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.coach.garmin_push import (
    Action,
    Pushed,
    Wanted,
    calls,
    push_plan,
    record,
    record_not_found,
    revision_hash,
)
from app.coach.plans import PlannedWorkout
from tests.support.plans import easy_run, easy_swim, intervals, season, workout

DAY = date(2027, 3, 2)


def kinds(actions: list[Action]) -> list[tuple[str, str]]:
    return [(action.kind, action.workout_id) for action in actions]


def run(
    plan: list[Action], state: dict[str, Pushed], ids: dict[str, int] | None = None
) -> dict[str, Pushed]:
    """Carry ``plan`` out as the service would, on a pretend Garmin handing out ids."""
    counter = ids if ids is not None else {"next": 1000}
    state = dict(state)
    for action in plan:
        new_id = None
        if action.kind in ("create", "schedule"):
            counter["next"] += 1
            new_id = counter["next"]
        after = record(state.get(action.workout_id), action, new_id=new_id)
        if after is None:
            state.pop(action.workout_id, None)
        else:
            state[action.workout_id] = after
    return state


def pushed_in_step(want: Wanted, garmin_id: int = 11, schedule_id: int = 21) -> Pushed:
    return Pushed(want.workout_id, garmin_id, want.revision, True, schedule_id, want.day)


def test_a_new_workout_in_the_window_is_created_scheduled_and_read_back():
    want = Wanted("w1", "rev-a", DAY, in_window=True)
    plan = push_plan([want], [])
    assert plan == [
        Action("create", "w1", revision="rev-a"),
        Action("schedule", "w1", day=DAY),
        Action("read_back", "w1", revision="rev-a"),
    ]
    assert calls(plan) == 3
    state = run(plan, {})
    assert state["w1"] == Pushed("w1", 1001, "rev-a", True, 1002, DAY)
    assert push_plan([want], state.values()) == []


def test_a_workout_outside_the_window_waits_until_it_enters():
    want = Wanted("w1", "rev-a", DAY + timedelta(days=30), in_window=False)
    assert push_plan([want], []) == []
    entered = Wanted("w1", "rev-a", want.day, in_window=True)
    assert kinds(push_plan([entered], [])) == [
        ("create", "w1"),
        ("schedule", "w1"),
        ("read_back", "w1"),
    ]


def test_a_new_revision_updates_in_place_and_reads_back():
    before = Wanted("w1", "rev-a", DAY, True)
    after = Wanted("w1", "rev-b", DAY, True)
    plan = push_plan([after], [pushed_in_step(before)])
    assert plan == [
        Action("update", "w1", 11, revision="rev-b"),
        Action("read_back", "w1", 11, revision="rev-b"),
    ]
    state = run(plan, {"w1": pushed_in_step(before)})
    assert state["w1"].garmin_workout_id == 11 and state["w1"].schedule_id == 21
    assert state["w1"].revision == "rev-b" and state["w1"].checked
    assert push_plan([after], state.values()) == []


def test_a_moved_workout_is_rescheduled_keeping_its_ids():
    before = Wanted("w1", "rev-a", DAY, True)
    moved = Wanted("w1", "rev-a", DAY + timedelta(days=2), True)
    plan = push_plan([moved], [pushed_in_step(before)])
    assert plan == [Action("reschedule", "w1", 11, 21, day=moved.day)]
    assert calls(plan) == 2  # garminconnect reads the entry, then puts it back moved
    state = run(plan, {"w1": pushed_in_step(before)})
    assert state["w1"] == Pushed("w1", 11, "rev-a", True, 21, moved.day)
    assert push_plan([moved], state.values()) == []


def test_a_moved_and_changed_workout_is_updated_rescheduled_and_read_back():
    before = Wanted("w1", "rev-a", DAY, True)
    both = Wanted("w1", "rev-b", DAY + timedelta(days=1), True)
    assert kinds(push_plan([both], [pushed_in_step(before)])) == [
        ("update", "w1"),
        ("reschedule", "w1"),
        ("read_back", "w1"),
    ]


def test_a_workout_moved_out_of_the_window_is_still_kept_in_step():
    before = Wanted("w1", "rev-a", DAY, True)
    later = Wanted("w1", "rev-a", DAY + timedelta(days=40), in_window=False)
    assert push_plan([later], [pushed_in_step(before)]) == [
        Action("reschedule", "w1", 11, 21, day=later.day)
    ]


def test_a_past_workout_still_listed_is_left_alone():
    past = Wanted("w1", "rev-a", DAY - timedelta(days=3), in_window=False)
    assert push_plan([past], [pushed_in_step(past)]) == []


def test_a_workout_no_longer_wanted_is_unscheduled_then_deleted():
    gone = pushed_in_step(Wanted("w1", "rev-a", DAY, True))
    plan = push_plan([], [gone])
    assert plan == [Action("unschedule", "w1", 11, 21), Action("delete", "w1", 11)]
    assert run(plan, {"w1": gone}) == {}
    assert push_plan([], []) == []


def test_a_workout_created_but_never_scheduled_is_scheduled_and_checked():
    # the push stopped after the create (a 429): the next one resumes
    want = Wanted("w1", "rev-a", DAY, True)
    half = Pushed("w1", 11, "rev-a", checked=False)
    assert push_plan([want], [half]) == [
        Action("schedule", "w1", 11, day=DAY),
        Action("read_back", "w1", 11, revision="rev-a"),
    ]


def test_a_workout_sent_but_not_read_back_is_read_back_only():
    want = Wanted("w1", "rev-a", DAY, True)
    sent = Pushed("w1", 11, "rev-a", checked=False, schedule_id=21, day=DAY)
    assert push_plan([want], [sent]) == [Action("read_back", "w1", 11, revision="rev-a")]


def test_a_read_back_of_an_older_revision_does_not_count():
    current = Pushed("w1", 11, "rev-b", checked=False, schedule_id=21, day=DAY)
    stale = record(current, Action("read_back", "w1", 11, revision="rev-a"))
    assert stale is not None and not stale.checked


def test_only_workouts_domestique_pushed_are_touched():
    # the owner's own Garmin workouts are not in the records, so no action can name them
    mine = pushed_in_step(Wanted("w1", "rev-a", DAY, True), garmin_id=11, schedule_id=21)
    plan = push_plan([Wanted("w2", "rev-x", DAY, True)], [mine])
    touched = {a.garmin_workout_id for a in plan} | {a.schedule_id for a in plan}
    assert touched <= {None, 11, 21}
    assert kinds(plan) == [
        ("unschedule", "w1"),
        ("delete", "w1"),
        ("create", "w2"),
        ("schedule", "w2"),
        ("read_back", "w2"),
    ]


def test_workouts_go_nearest_first_each_with_its_calls_together():
    wanted = [
        Wanted("late", "r", DAY + timedelta(days=5), True),
        Wanted("soon", "r", DAY, True),
        Wanted("also-soon", "r", DAY, True),
    ]
    assert [a.workout_id for a in push_plan(wanted, [])] == [
        *["also-soon"] * 3,
        *["soon"] * 3,
        *["late"] * 3,
    ]


def test_a_listed_twice_workout_is_refused():
    want = Wanted("w1", "rev-a", DAY, True)
    with pytest.raises(ValueError, match="twice"):
        push_plan([want, want], [])
    with pytest.raises(ValueError, match="two push records"):
        push_plan([], [Pushed("w1"), Pushed("w1")])


def test_a_create_or_schedule_is_recorded_only_with_garmin_s_id():
    with pytest.raises(ValueError, match="needs the id"):
        record(None, Action("create", "w1", revision="r"))
    with pytest.raises(ValueError):
        record(Pushed("w2"), Action("update", "w1", 11, revision="r"))


def test_a_two_week_window_over_a_season_pushes_then_settles():
    plan = season()
    start = plan.sorted_workouts()[0].date
    window = [
        Wanted(w.id, revision_hash(w), w.date, w.date < start + timedelta(days=14))
        for w in plan.sorted_workouts()
    ]
    first = push_plan(window, [])
    in_window = sum(want.in_window for want in window)
    assert in_window > 5 and calls(first) == 3 * in_window
    state = run(first, {})
    assert push_plan(window, state.values()) == []
    # a week later: only the days entering the window are new
    moved_on = [
        Wanted(w.workout_id, w.revision, w.day, w.day < start + timedelta(days=21)) for w in window
    ]
    entering = sum(b.in_window and not a.in_window for a, b in zip(window, moved_on, strict=True))
    assert entering > 0
    assert {a.kind for a in push_plan(moved_on, state.values())} == {
        "create",
        "schedule",
        "read_back",
    }
    assert calls(push_plan(moved_on, state.values())) == 3 * entering


def planned(structure, **changes) -> PlannedWorkout:
    return PlannedWorkout.model_validate(
        workout("w1", DAY, changes.pop("sport", "run"), changes.pop("name", "Easy"), structure)
        | changes
    )


def test_the_revision_follows_what_garmin_gets_and_not_the_date():
    base = planned(easy_run(40))
    assert revision_hash(base) == revision_hash(planned(easy_run(40)))
    moved = planned(easy_run(40), date=(DAY + timedelta(days=1)).isoformat())
    assert revision_hash(moved) == revision_hash(base)
    for changed in (
        planned(easy_run(45)),
        planned(easy_run(40), name="Easy run"),
        planned(easy_run(40), purpose="Aerobic base"),
        planned(intervals(5)),
    ):
        assert revision_hash(changed) != revision_hash(base)
    swim = planned(easy_swim(1500), sport="swim", name="Swim")
    assert revision_hash(swim, pool_length_m=25) != revision_hash(swim, pool_length_m=50)


def test_a_workout_the_owner_deleted_on_garmin_is_created_again_while_wanted():
    want = Wanted("w1", "rev-b", DAY, True)
    on_garmin = pushed_in_step(Wanted("w1", "rev-a", DAY, True))
    (update, _) = push_plan([want], [on_garmin])
    assert update.kind == "update"
    after = record_not_found(on_garmin, update)
    assert after == Pushed("w1")
    assert kinds(push_plan([want], [after])) == [
        ("create", "w1"),
        ("schedule", "w1"),
        ("read_back", "w1"),
    ]
    # outside the window it waits, as a new one would
    assert push_plan([Wanted("w1", "rev-b", DAY, False)], [after]) == []


def test_a_schedule_the_owner_removed_on_garmin_is_scheduled_again():
    before = Wanted("w1", "rev-a", DAY, True)
    moved = Wanted("w1", "rev-a", DAY + timedelta(days=1), True)
    on_garmin = pushed_in_step(before)
    (move,) = push_plan([moved], [on_garmin])
    after = record_not_found(on_garmin, move)
    assert after == Pushed("w1", 11, "rev-a", True)
    assert push_plan([moved], [after]) == [Action("schedule", "w1", 11, day=moved.day)]


def test_not_found_on_a_removal_is_the_removal_done():
    gone = pushed_in_step(Wanted("w1", "rev-a", DAY, True))
    unschedule, delete = push_plan([], [gone])
    after = record_not_found(gone, unschedule)
    assert after == Pushed("w1", 11, "rev-a", True)
    assert record_not_found(after, delete) is None
    with pytest.raises(ValueError):
        record_not_found(gone, Action("create", "w1", revision="r"))
