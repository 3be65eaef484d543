"""Plans stored as revisions on the real database: the athlete context read from the owner's
data, import of a broken plan (PROPOSED with the guardrails' findings, nothing on the calendar),
approval (refused when blocked unless the blocks are accepted; supersedes and keeps workout
states by stable id), rejection, change sets (a new revision and its diff) and the export."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.coach.changes import ChangeSet
from app.coach.estimate import estimate_plan
from app.coach.guardrails import check_plan
from app.coach.plans import Plan
from app.models import (
    Activity,
    AthleteThreshold,
    DailyMetrics,
    DailyWellness,
    PlannedWorkout,
    PlanRevision,
)
from app.services.plans import revisions, views
from app.services.plans.athlete import guardrail_inputs
from tests.support.plans import (
    PLAN_START,
    THRESHOLDS,
    broken_plan,
    history_context,
    uniform_plan,
)

TODAY = PLAN_START


@pytest.fixture
def history(sessions, owner):
    """The owner's data as ``history_context`` describes it: 120 days of daily load with the
    stored CTL/ATL, 16 km runs on the last five Sundays, and the owner's thresholds."""
    expected = history_context(TODAY)
    with sessions.begin() as session:
        session.execute(update(type(owner)).values(sex="male"))
        for index, load in enumerate(expected.loads.load):
            last = index == expected.loads.load.size - 1
            session.add(
                DailyMetrics(
                    day=expected.loads.start + timedelta(days=index),
                    load=float(load),
                    ctl=expected.ctl if last else 50.0,
                    atl=expected.atl if last else 50.0,
                    tsb=0.0,
                    tsb_today=0.0,
                    ramp=0.0,
                )
            )
        for day, meters in expected.longest_run_m.items():
            session.add(
                Activity(
                    sport="running",
                    name="Long run",
                    start_time=datetime(day.year, day.month, day.day, 7, tzinfo=UTC),
                    local_date=day,
                    distance_m=meters,
                    moving_s=meters * 0.33,
                )
            )
        for kind in ("ftp_w", "lthr_bpm", "hr_max_bpm", "hr_rest_bpm", "threshold_pace_s_per_km"):
            session.add(
                AthleteThreshold(
                    kind=kind,
                    value=float(getattr(THRESHOLDS, kind)),
                    valid_from=TODAY - timedelta(days=365),
                    source="owner",
                )
            )
    return expected


def _workouts(sessions) -> dict[str, PlannedWorkout]:
    with sessions() as session:
        return {row.workout_id: row for row in session.execute(select(PlannedWorkout)).scalars()}


def _revision(sessions, revision_id) -> PlanRevision:
    with sessions() as session:
        return session.get(PlanRevision, revision_id)


def test_the_context_is_read_from_the_owners_data(sessions, history):
    with sessions() as session:
        thresholds, context = guardrail_inputs(session, today=TODAY)
    assert thresholds.ftp_w == THRESHOLDS.ftp_w
    assert thresholds.lthr_bpm == THRESHOLDS.lthr_bpm
    assert thresholds.threshold_pace_s_per_km == THRESHOLDS.threshold_pace_s_per_km
    assert thresholds.sex == "male"
    assert context.loads.start == history.loads.start
    assert context.loads.load.tolist() == history.loads.load.tolist()
    assert (context.ctl, context.atl) == (history.ctl, history.atl)
    assert dict(context.longest_run_m) == dict(history.longest_run_m)
    assert context.hrv_7d is None and context.readiness is None


def test_a_new_owner_without_data_still_gets_a_check(sessions, owner):
    checked = revisions.check(sessions, broken_plan(), today=TODAY)
    assert checked.report.findings  # the 30 km run with no run at all recorded is cut
    assert any(f.rule == "session_spike" for f in checked.report.findings)


def test_import_of_a_broken_plan_is_proposed_with_the_guardrails_findings(sessions, history):
    plan = broken_plan()
    stored = revisions.import_plan(sessions, plan, today=TODAY)

    with sessions() as session:
        thresholds, context = guardrail_inputs(session, today=TODAY)
    expected = check_plan(plan, estimate_plan(plan, thresholds), context)
    revision = _revision(sessions, stored.revision_id)
    assert revision.state == "PROPOSED" and revision.origin == "import"
    assert revision.number == 1 and revision.base_revision_id is None
    assert revision.report["findings"] == [f.as_dict() for f in expected.findings]
    assert revision.content == json.loads(expected.plan.model_dump_json())
    codes = {(f["rule"], f["workout_id"]) for f in revision.report["findings"]}
    assert ("session_spike", "w2-sun") in codes  # the 30 km run after 16 km
    assert ("availability", "w5-mon") in codes  # the Monday session moves
    assert any(rule == "hard_days" for rule, _ in codes)  # three hard days in a row
    shortened = Plan.model_validate(revision.content).workout("w2-sun")
    assert shortened.structure != plan.workout("w2-sun").structure
    assert _workouts(sessions) == {}  # nothing on the calendar before approval


def test_approval_refuses_a_blocked_revision_unless_the_blocks_are_accepted(sessions, history):
    data = uniform_plan(["build"] * 3, hours_per_week=3.0)  # 6.5 h a week: blocks
    stored = revisions.import_plan(sessions, Plan.model_validate(data), today=TODAY)
    assert stored.blocked

    with pytest.raises(revisions.PlanError) as refused:
        revisions.approve(sessions, stored.revision_id, today=TODAY)
    assert refused.value.code == "blocked"
    assert _revision(sessions, stored.revision_id).state == "PROPOSED"
    assert _workouts(sessions) == {}

    revisions.approve(sessions, stored.revision_id, accept_blocks=True, today=TODAY)
    revision = _revision(sessions, stored.revision_id)
    assert revision.state == "APPROVED" and revision.blocks_accepted
    assert len(_workouts(sessions)) == 18


def test_approval_supersedes_and_keeps_workout_states(sessions, history):
    first = revisions.import_plan(
        sessions, Plan.model_validate(uniform_plan(["base", "build"])), today=TODAY
    )
    assert not first.blocked
    revisions.approve(sessions, first.revision_id, today=TODAY)
    calendar = _workouts(sessions)
    weekdays = ("tue", "wed", "thu", "fri", "sat", "sun")
    assert set(calendar) == {f"w{w}-{d}" for w in (1, 2) for d in weekdays}
    assert all(row.state == "PLANNED" and row.load > 0 for row in calendar.values())
    with sessions.begin() as session:
        session.execute(
            update(PlannedWorkout).where(PlannedWorkout.workout_id == "w1-tue").values(state="DONE")
        )

    data = uniform_plan(["base", "build"])
    data["workouts"] = [w for w in data["workouts"] if w["id"] != "w2-thu"]
    data["workouts"][0]["name"] = "Track intervals"
    second = revisions.import_plan(
        sessions, Plan.model_validate(data), plan_id=first.plan_id, today=TODAY
    )
    assert second.number == 2
    assert _revision(sessions, second.revision_id).base_revision_id == first.revision_id
    assert _workouts(sessions)["w1-tue"].name == "Intervals"  # not before approval

    revisions.approve(sessions, second.revision_id, today=TODAY)
    assert _revision(sessions, first.revision_id).state == "SUPERSEDED"
    calendar = _workouts(sessions)
    assert "w2-thu" not in calendar
    assert calendar["w1-tue"].state == "DONE"
    assert calendar["w1-tue"].name == "Track intervals"
    assert calendar["w1-tue"].revision_id == second.revision_id

    with pytest.raises(revisions.PlanError) as again:
        revisions.approve(sessions, first.revision_id, today=TODAY)
    assert again.value.code == "not_proposed"


def test_rejection_keeps_the_revision_and_the_calendar(sessions, history):
    first = revisions.import_plan(
        sessions, Plan.model_validate(uniform_plan(["base"])), today=TODAY
    )
    revisions.approve(sessions, first.revision_id, today=TODAY)
    data = uniform_plan(["base"])
    data["workouts"] = data["workouts"][:2]
    second = revisions.import_plan(
        sessions, Plan.model_validate(data), plan_id=first.plan_id, today=TODAY
    )
    revisions.reject(sessions, second.revision_id)
    assert _revision(sessions, second.revision_id).state == "REJECTED"
    assert len(_workouts(sessions)) == 6


def test_a_change_set_makes_a_new_checked_revision_with_its_diff(sessions, history):
    first = revisions.import_plan(
        sessions, Plan.model_validate(uniform_plan(["base", "build"])), today=TODAY
    )
    revisions.approve(sessions, first.revision_id, today=TODAY)
    change_set = ChangeSet.model_validate(
        {
            "summary": "Drop Wednesday's easy run in the second week",
            "operations": [{"op": "remove_workout", "workout_id": "w2-wed"}],
        }
    )
    stored = revisions.apply_change_set(sessions, first.plan_id, change_set, today=TODAY)
    revision = _revision(sessions, stored.revision_id)
    assert revision.state == "PROPOSED" and revision.origin == "chat"
    assert revision.base_revision_id == first.revision_id
    assert revision.change_set["summary"] == change_set.summary
    assert revision.report["passes"] >= 1  # the guardrails ran on the changed plan
    with sessions() as session:
        changes = views.revision_diff(session, revision)
    assert [(c["kind"], c["workout_id"]) for c in changes] == [("workout_removed", "w2-wed")]
    assert len(_workouts(sessions)) == 12  # the calendar waits for approval

    bad = ChangeSet.model_validate(
        {"summary": "x", "operations": [{"op": "remove_workout", "workout_id": "nope"}]}
    )
    with pytest.raises(revisions.PlanError) as refused:
        revisions.apply_change_set(sessions, first.plan_id, bad, today=TODAY)
    assert refused.value.code == "change_set_invalid"


def test_export_round_trips_and_summarises(sessions, history):
    plan = Plan.model_validate(uniform_plan(["base", "build"]))
    stored = revisions.import_plan(sessions, plan, today=TODAY)
    text = views.export_json(views.revision_plan(sessions, stored.revision_id)[1])
    assert revisions.parse_plan(text) == Plan.model_validate(
        _revision(sessions, stored.revision_id).content
    )
    markdown = views.export_markdown(sessions, stored.revision_id)
    assert markdown.startswith("## Uniform\n")
    assert "CTL " in markdown and "Long run" in markdown
    assert "urn:domestique:schema:plan:1" in markdown
    listed = views.list_plans(sessions)
    assert [r["id"] for r in listed[0]["revisions"]] == [stored.revision_id]


def test_a_file_that_is_not_a_plan_says_where(sessions):
    with pytest.raises(revisions.PlanInvalid) as invalid:
        revisions.parse_plan(b'{"title": "x"}')
    wheres = {p["where"] for p in invalid.value.problems}
    assert {"goal", "availability", "weeks"} <= wheres
    with pytest.raises(revisions.PlanInvalid) as not_json:
        revisions.parse_plan(b"{nope")
    assert not_json.value.problems[0]["code"] == "json_invalid"


def test_estimated_thresholds_count_when_the_owner_set_none(sessions, owner):
    """A threshold pace estimated from a recorded run (its VDOT) is the one the estimates use."""
    from app.models import ActivityMetrics

    with sessions.begin() as session:
        run = Activity(
            sport="running",
            name="10 k race",
            start_time=datetime(2026, 12, 20, 7, tzinfo=UTC),
            local_date=TODAY - timedelta(days=15),
            distance_m=10000.0,
            moving_s=2400.0,
        )
        session.add(run)
        session.flush()
        session.add(
            ActivityMetrics(
                activity_id=run.id,
                pace_bests={"10k": {"seconds": 2400.0, "vdot": 42.0}},
                algorithm_version=1,
            )
        )
    with sessions() as session:
        thresholds, _context = guardrail_inputs(session, today=TODAY)
    assert thresholds.threshold_pace_s_per_km is not None
    assert 240 < thresholds.threshold_pace_s_per_km < 330


def test_approving_another_plan_supersedes_the_followed_one(sessions, history):
    first = revisions.import_plan(
        sessions, Plan.model_validate(uniform_plan(["base", "build"])), today=TODAY
    )
    revisions.approve(sessions, first.revision_id, today=TODAY)
    with sessions.begin() as session:  # a session of the first plan already done
        session.execute(
            update(PlannedWorkout)
            .where(PlannedWorkout.workout_id == "w1-tue")
            .values(day=TODAY - timedelta(days=1), state="DONE")
        )
    data = uniform_plan(["base"], start=PLAN_START + timedelta(days=7))
    data["title"] = "Second"
    second = revisions.import_plan(sessions, Plan.model_validate(data), today=TODAY)
    assert second.plan_id != first.plan_id
    revisions.approve(sessions, second.revision_id, today=TODAY)

    assert _revision(sessions, first.revision_id).state == "SUPERSEDED"
    with sessions() as session:
        rows = session.execute(select(PlannedWorkout.plan_id, PlannedWorkout.workout_id)).all()
    kept_of_first = {w for plan_id, w in rows if plan_id == first.plan_id}
    assert kept_of_first == {"w1-tue"}  # the past stays, the future left the calendar
    assert len([1 for plan_id, _ in rows if plan_id == second.plan_id]) == 6


def test_thresholds_as_of_read_the_window_and_agree_with_the_whole_history(
    sessions, settings, owner
):
    """The planner's thresholds read only the estimate window and the best sustained HR; they
    must equal what resolving over every activity gives (real imported files)."""
    from app.services.metrics.recompute import _stored_history, load_thresholds, thresholds_as_of
    from tests.support.importing import import_files
    from tests.web.test_activities_pages import _run_fit

    import_files(sessions, settings, {"run.fit": _run_fit(3600)})
    with sessions.begin() as session:
        day = session.execute(select(Activity.local_date)).scalar_one()
        # resting HR over more than a year on both sides: only the 90 days before count
        for offset in range(-400, 260):
            value = 50.0 + offset / 20  # rising: a narrower window moves the median
            session.add(DailyWellness(day=day + timedelta(days=offset), resting_hr=value))
    with sessions() as session:
        for when in (day, day + timedelta(days=30), day + timedelta(days=200)):
            full = load_thresholds(session)
            _stored_history(session, full, Activity.local_date <= when)
            assert thresholds_as_of(session, when) == full.resolve(when)
