"""Time in target on a real imported activity: a run recorded by a watch (four laps, heart
rate, speed and distance at 1 Hz) matched to a workout built to fit it — lap-button, distance
and open steps with heart-rate and pace targets — worked out once after matching, stored on
the planned workout, shown on the calendar in both languages, and forgotten when the steps
change."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy import select

from app.coach.plans import Plan
from app.models import Activity, Lap, PlannedWorkout
from app.services.metrics.samples import read_samples
from app.services.plans import follow, revisions, views
from tests.support.importing import import_files
from tests.support.plans import meters, pace, step, workout
from tests.support.shared import SHARED, unavailable

RUN = SHARED / "fixtures" / "fit" / "goldencheetah-GPL" / "HRV-Data.fit"
WARMUP_HR, RECOVERY_HR, COOLDOWN_HR = (125, 140), (135, 137), (130, 138)
PACE = (450.0, 500.0)  # 7:30-8:20/km: 2.0-2.22 m/s
INTERVAL_M = 1179.0  # the second lap's distance


def _hr(bounds: tuple[int, int]) -> dict:
    return {"kind": "hr_range", "low_bpm": bounds[0], "high_bpm": bounds[1]}


def _plan(day: date, structure: dict) -> Plan:
    return Plan.model_validate(
        {
            "title": "One run",
            "goal": {"name": "Fitness", "sport": "run"},
            "availability": {
                "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "hours_per_week": 10,
            },
            "weeks": [{"start": day.isoformat(), "focus": "base"}],
            "workouts": [workout("run-1", day, "run", "Laps", structure)],
        }
    )


def _structure(recovery: tuple[int, int] = RECOVERY_HR) -> dict:
    return {
        "steps": [
            step("warmup", {"kind": "lap_button"}, _hr(WARMUP_HR)),
            step("interval", meters(INTERVAL_M), pace(*PACE)),
            step("recovery", {"kind": "lap_button"}, _hr(recovery)),
            step("cooldown", {"kind": "open"}, _hr(COOLDOWN_HR)),
        ]
    }


@pytest.fixture
def imported(sessions, settings, owner, db_session):
    if not RUN.is_file():
        unavailable(str(RUN))
    import_files(sessions, settings, {"run.fit": RUN.read_bytes()})
    activity = db_session.execute(select(Activity)).scalar_one()
    laps = db_session.execute(
        select(Lap.start_time).where(Lap.activity_id == activity.id).order_by(Lap.lap_index)
    ).scalars()
    origin = activity.start_time.timestamp()
    return activity, [lap.timestamp() - origin for lap in laps]


def _expected(db_session, activity, lap_starts) -> tuple[float, float]:
    """Counted by hand from the stored samples: the warm-up is the first lap, the interval
    the second (the watch's lap was its distance), the recovery the third, the cool-down the
    rest; every sample is one second (the recording has no gaps)."""
    samples = read_samples(db_session, [activity.id])[activity.id]
    elapsed = samples.time - activity.start_time.timestamp()
    assert np.diff(elapsed).max() == 1.0
    heart_rate, speed = samples.channels["heart_rate"], samples.channels["speed"]
    first, second, third = lap_starts[1:4]
    parts = [
        ((elapsed < first), heart_rate, WARMUP_HR),
        ((elapsed >= first) & (elapsed < second), speed, (1000 / PACE[1], 1000 / PACE[0])),
        ((elapsed >= second) & (elapsed < third), heart_rate, RECOVERY_HR),
        ((elapsed >= third), heart_rate, COOLDOWN_HR),
    ]
    inside = targeted = 0.0
    for where, values, (low, high) in parts:
        known = where & np.isfinite(values)
        targeted += known.sum()
        inside += (known & (values >= low) & (values <= high)).sum()
    return float(inside), float(targeted)


def test_time_in_target_is_worked_out_once_after_matching_and_shown_on_the_calendar(
    sessions, db_session, imported, signed_in
):
    activity, lap_starts = imported
    assert len(lap_starts) == 4
    day = activity.local_date
    stored = revisions.import_plan(sessions, _plan(day, _structure()), today=day)
    revisions.approve(sessions, stored.revision_id, accept_blocks=True, today=day)

    result = follow.follow_up(sessions, today=day)
    assert (result.done, result.in_target) == (1, 1)
    row = db_session.execute(select(PlannedWorkout)).scalar_one()
    db_session.refresh(row)
    assert (row.state, row.activity_id) == ("DONE", activity.id)
    inside, targeted = _expected(db_session, activity, lap_starts)
    assert 0 < inside < targeted
    # The interval ends where the recorded distance reaches its meters: within a few seconds
    # of the watch's own lap.
    assert row.targeted_s == pytest.approx(targeted, abs=2)
    assert row.in_target_s == pytest.approx(inside, abs=5)

    again = follow.follow_up(sessions, today=day)
    assert again.in_target == 0  # kept, not worked out again
    share = row.in_target_s / row.targeted_s
    [listed] = views.list_plans(sessions)[0]["workouts"]
    assert listed["in_target"] == round(share, 3)

    for language, words in (("en", "{} in target"), ("ko", "목표 범위 안 {}")):
        page = signed_in.get(
            f"/calendar?view=week&date={day.isoformat()}", headers={"Accept-Language": language}
        ).text
        assert 'data-testid="time-in-target"' in page
        assert f'data-share="{share:.3f}"' in page
        assert words.format(f"{round(share * 100)}%") in page


def test_changed_steps_are_worked_out_again(sessions, db_session, imported):
    activity, _laps = imported
    day = activity.local_date
    stored = revisions.import_plan(sessions, _plan(day, _structure()), today=day)
    revisions.approve(sessions, stored.revision_id, accept_blocks=True, today=day)
    follow.follow_up(sessions, today=day)
    row = db_session.execute(select(PlannedWorkout)).scalar_one()
    before = row.in_target_s

    wider = revisions.import_plan(
        sessions, _plan(day, _structure(recovery=(100, 200))), plan_id=stored.plan_id, today=day
    )
    revisions.approve(sessions, wider.revision_id, accept_blocks=True, today=day)
    db_session.refresh(row)
    assert row.targeted_s is None  # the steps changed: to be worked out again
    assert follow.follow_up(sessions, today=day).in_target == 1
    db_session.refresh(row)
    assert row.in_target_s > before
