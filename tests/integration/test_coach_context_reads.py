"""How the coach's context snapshot is read: a realistic imported history on fixed dates gives
exactly the snapshot it gave before the reads were merged (the canonical text kept in
``tests/fixtures/coach/``), and one snapshot costs a fixed, small number of statements
whatever the history."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import insert, select, update

from app.models import Activity, ActivitySource, AthleteThreshold, DailyWellness, Owner
from app.services.coach.context import build_snapshot
from tests.support.fitwriter import write_activity
from tests.support.importing import import_files
from tests.support.queries import count_queries

SEOUL = ZoneInfo("Asia/Seoul")
TODAY = date(2026, 3, 10)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDEN = FIXTURES / "coach" / "snapshot-2026-03-10.json"
REAL_RIDE = FIXTURES / "fit" / "null_compressed_speed_dist.fit"  # a Zwift ride (fitparse, MIT)
WITHHELD = ("wellness", "body_weight", "notes")
# Statements one snapshot issues once the findings of this data version are kept (the first
# build after new data also reads the Insights frame): the owner's settings, then everything
# else. It was 20 before the reads were merged.
STATEMENTS = 2


def _start(days_ago: int, hour: int = 7) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(hour), tzinfo=SEOUL)


def _run(days_ago: int, minutes: int, speed: float, *, surge: bool = False) -> bytes:
    n = minutes * 60
    pace = np.full(n, speed)
    if surge:
        pace[300:1500] = speed * 1.25  # a fast 20 minutes: best efforts and a VDOT
    samples = {
        "heart_rate": 140.0 + 10 * (pace > speed) + np.sin(np.arange(n) / 200),
        "speed": pace,
        "distance": np.cumsum(pace),
    }
    return write_activity(None, sport="running", start=_start(days_ago), samples=samples)


def _ride(days_ago: int, minutes: int, watts: float) -> bytes:
    n = minutes * 60
    power = np.full(n, watts) + 15 * np.sin(np.arange(n) / 300)
    power[600:900] = watts + 110.0  # five hard minutes
    samples = {
        "power": power,
        "heart_rate": 128.0 + power / 20,
        "speed": np.full(n, 8.5),
        "distance": np.arange(n) * 8.5,
        "cadence": np.full(n, 88.0),
    }
    return write_activity(None, sport="cycling", start=_start(days_ago, 18), samples=samples)


@pytest.fixture
def fixed_history(sessions, settings, owner):
    """Twenty weeks of runs and rides ending on a fixed day, an old real ride, 140 days of
    wellness with gaps, owner thresholds, a ride left out of estimates and one that only
    Strava's API brought."""
    files = {REAL_RIDE.name: REAL_RIDE.read_bytes()}
    for week in range(20):
        base = 7 * week
        files[f"run-{base + 1}.fit"] = _run(base + 1, 40 + week % 3 * 5, 3.1 + week % 4 * 0.05)
        files[f"run-{base + 4}.fit"] = _run(base + 4, 70 + week % 5 * 6, 2.9, surge=week % 3 == 0)
        files[f"ride-{base + 2}.fit"] = _ride(base + 2, 60 + week % 4 * 15, 185 + week % 6 * 4)
    import_files(sessions, settings, files)
    rows = []
    for i in range(140):
        if i % 11 == 5:
            continue  # a night without the watch
        day = TODAY - timedelta(days=139 - i)
        values = {
            "hrv_rmssd_ms": 52.0 + (i * 7) % 9,
            "resting_hr": 49.0 + (i * 3) % 5,
            "sleep_s": (6.8 + (i % 6) / 10) * 3600,
            "sleep_score": 74.0 + (i * 5) % 11,
            "training_readiness": 58.0 + (i * 4) % 13,
            "weight_kg": 71.5 - i / 90 if i % 3 == 0 else None,
        }
        rows.append({"day": day, **values, "sources": dict.fromkeys(values, "garmin")})
    with sessions.begin() as session:
        session.execute(insert(DailyWellness.__table__), rows)
        session.execute(update(Owner).values(sex="female", birth_year=1988))
        session.add_all(
            [
                AthleteThreshold(kind="lthr_bpm", value=166.0, valid_from=date(2024, 1, 1)),
                AthleteThreshold(kind="weight_kg", value=70.0, valid_from=date(2026, 1, 9)),
            ]
        )
        by_day = {a.local_date: a for a in session.scalars(select(Activity))}
        by_day[TODAY - timedelta(days=4)].name = "Long run with Minji"
        left_out = by_day[TODAY - timedelta(days=9)]
        left_out.excluded_from_estimates_at = datetime(2026, 3, 2, tzinfo=UTC)
        strava_only = by_day[TODAY - timedelta(days=16)]
        strava_only.extras = {**(strava_only.extras or {}), "strava_api": True}
        session.execute(
            update(ActivitySource)
            .where(ActivitySource.activity_id == strava_only.id)
            .values(source="strava")
        )


def _snapshots(sessions) -> dict[str, str]:
    with sessions() as session:
        return {
            "shared": build_snapshot(session, today=TODAY, withheld=()).text,
            "withheld": build_snapshot(session, today=TODAY, withheld=WITHHELD).text,
        }


def test_the_snapshot_of_a_fixed_history_is_the_one_kept(sessions, fixed_history):
    snapshots = _snapshots(sessions)
    if os.environ.get("DOMESTIQUE_WRITE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(snapshots, ensure_ascii=False, indent=1) + "\n")
        pytest.fail(f"wrote {GOLDEN}; run again without DOMESTIQUE_WRITE_GOLDEN")
    kept = json.loads(GOLDEN.read_text())
    assert snapshots["shared"] == kept["shared"]
    assert snapshots["withheld"] == kept["withheld"]


def test_one_snapshot_costs_a_fixed_number_of_statements(sessions, connection, fixed_history):
    _snapshots(sessions)  # the findings of this data version, kept
    with sessions() as session, count_queries(connection) as statements:
        build_snapshot(session, today=TODAY)
    assert len(statements) <= STATEMENTS, [s.split("\n")[0][:80] for s in statements]
    # The same without the wellness group (it is then not read at all).
    with sessions() as session, count_queries(connection) as withheld:
        build_snapshot(session, today=TODAY, withheld=WITHHELD)
    assert len(withheld) <= STATEMENTS
