"""What the coach sees, on a real imported history (FIT files through the import service, a real
fixture among them, wellness rows) and a real Strava sync against the loopback fake: the
snapshot's content, the groups the owner withholds, and the proof that an activity only
Strava's API brought reaches nothing the coach sends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import func, insert, select, update
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings
from app.models import Activity, ActivityMetrics, ActivitySource, DailyWellness
from app.services.coach import config
from app.services.coach.context import build_snapshot, strava_only_count
from tests.support.fake_strava import FakeStrava, make_streams
from tests.support.fitwriter import write_activity
from tests.support.importing import import_files

SEOUL = ZoneInfo("Asia/Seoul")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fit"
REAL_RIDE = "null_compressed_speed_dist.fit"  # a Zwift ride (python-fitparse, MIT)
NAMED = "Hill repeats with Minji"
POSITION_KEYS = {"lat", "lng", "lon", "latlng", "latitude", "longitude", "gps", "polyline"}


def _today() -> date:
    return datetime.now(SEOUL).date()


def _start(days_ago: int, hour: int = 7) -> datetime:
    return datetime.combine(_today() - timedelta(days=days_ago), time(hour), tzinfo=SEOUL)


def _run(days_ago: int, minutes: int = 40, speed: float = 3.2) -> bytes:
    n = minutes * 60
    samples = {
        "heart_rate": np.full(n, 148.0),
        "speed": np.full(n, speed),
        "distance": np.arange(n) * speed,
    }
    return write_activity(None, sport="running", start=_start(days_ago), samples=samples)


def _ride(days_ago: int, minutes: int = 60) -> bytes:
    n = minutes * 60
    power = np.full(n, 190.0)
    power[600:900] = 290.0  # five hard minutes
    samples = {
        "power": power,
        "heart_rate": np.full(n, 140.0),
        "speed": np.full(n, 8.5),
        "distance": np.arange(n) * 8.5,
    }
    return write_activity(None, sport="cycling", start=_start(days_ago), samples=samples)


class Clock:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def strava() -> Iterator[FakeStrava]:
    server = FakeStrava().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def history(sessions, settings, owner):
    """Four runs and two rides of the last weeks, an old real ride, 60 days of wellness."""
    files = {
        "run-1.fit": _run(1),
        "run-3.fit": _run(3, 55, 3.0),
        "run-10.fit": _run(10, 90, 2.9),
        "run-30.fit": _run(30),
        "ride-5.fit": _ride(5),
        "ride-40.fit": _ride(40, 120),
        REAL_RIDE: (FIXTURES / REAL_RIDE).read_bytes(),
    }
    import_files(sessions, settings, files)
    rows = []
    for i in range(60):
        day = _today() - timedelta(days=59 - i)
        values = {
            "hrv_rmssd_ms": 55.0 + i % 7,
            "resting_hr": 50.0 + i % 4,
            "sleep_s": (7.0 + (i % 5) / 10) * 3600,
            "sleep_score": 78.0 + i % 6,
            "training_readiness": 60.0 + i % 9,
            "weight_kg": 71.0 - i / 100,
        }
        rows.append({"day": day, **values, "sources": dict.fromkeys(values, "garmin")})
    with sessions.begin() as session:
        session.execute(insert(DailyWellness.__table__), rows)
        first = session.scalars(
            select(Activity).where(Activity.local_date == _today() - timedelta(days=3))
        ).one()
        first.name = NAMED


def _walk(value, path=()):
    """Every (path, value) of a JSON value."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def test_the_snapshot_of_an_imported_history(sessions, history):
    with sessions() as session:
        snapshot = build_snapshot(session, today=_today())
    data = json.loads(snapshot.text)
    assert data == snapshot.data and data["snapshot_version"] == 1
    assert len(snapshot.sha256) == 64 and snapshot.size_bytes < 20_000

    # Today's load figures, and 7/28/90 days earlier.
    load = data["load"]
    assert set(load["today"]) >= {"ctl", "atl", "tsb", "ramp_7d", "acwr_ewma", "monotony", "strain"}
    assert load["today"]["ctl"] > 0 and load["load_last_7d"] > 0
    assert set(load["trend"]) == {"7d_ago", "28d_ago", "90d_ago"}
    assert load["conventions"]["ctl_days"] == 42

    # The last 14 days of sessions, oldest first, with their figures.
    recent = data["recent_sessions"]
    assert [s["sport"] for s in recent] == ["running", "cycling", "running", "running"]
    assert [s["date"] for s in recent] == [
        (_today() - timedelta(days=d)).isoformat() for d in (10, 5, 3, 1)
    ]
    long_run = recent[0]
    assert long_run["duration_min"] == 90
    assert long_run["distance_km"] == pytest.approx(90 * 60 * 2.9 / 1000, abs=0.05)
    assert long_run["load"] > 0 and long_run["load_model"]
    assert recent[1]["if"] > 0 and "ef" in recent[3]
    assert recent[2]["name"] == NAMED

    # Periods: weekly volume by sport, the longest sessions, best powers and CP.
    periods = data["periods"]
    assert set(periods) == {"6w", "12w", "lifetime"}
    six = periods["6w"]
    assert six["weekly_by_sport"]["running"]["sessions"] == pytest.approx(4 / 6, abs=0.05)
    assert six["longest"]["cycling"]["duration_min"] == 120
    assert six["best_power_w"]["5min"] == 290
    with sessions() as session:
        first_day = session.execute(select(func.min(Activity.local_date))).scalar()
    assert first_day.year < 2020  # the real ride
    assert periods["lifetime"]["from"] == first_day.isoformat()
    assert periods["lifetime"]["weeks"] > 300

    # Wellness of the last 14 days against the baseline before them; body weight.
    wellness = data["wellness"]
    assert len(wellness["days"]) == 14
    assert wellness["days"][-1]["date"] == _today().isoformat()
    assert {"hrv_ms", "resting_hr", "sleep_h", "readiness"} <= set(wellness["days"][-1])
    assert wellness["baseline"]["resting_hr"]["days"] == 46
    assert wellness["baseline"]["hrv_band_ms"]["statistic"] == "rmssd"
    assert data["body_weight"]["latest_kg"] == pytest.approx(71.0 - 59 / 100, abs=0.05)

    # Thresholds name their source; the later parts have their place.
    assert all("source" in t for t in data["thresholds"].values())
    assert data["profile"]["sports"] == ["running", "cycling"]  # most time first
    assert data["mission"] is None and data["plan"] is None
    assert data["withheld"] == []

    # Never a sample or a position: no long list, no coordinate-shaped key.
    for path, value in _walk(data):
        if isinstance(value, list):
            assert len(value) <= 14, path
        if path and isinstance(path[-1], str):
            assert path[-1] not in POSITION_KEYS and not path[-1].startswith("position"), path


def test_withheld_groups_are_absent(sessions, history):
    config.save_withheld(sessions, ["wellness", "body_weight", "notes"])
    with sessions() as session:
        snapshot = build_snapshot(session, today=_today())
    data = snapshot.data
    assert "wellness" not in data and "body_weight" not in data
    assert data["withheld"] == ["wellness", "body_weight", "notes"]
    assert NAMED not in snapshot.text
    assert "weight_kg" not in data["thresholds"]
    assert all(
        f["input"] not in ("sleep_h", "hrv_ms", "resting_hr", "weight_kg")
        and f["outcome"] not in ("sleep_h", "hrv_ms", "resting_hr", "weight_kg")
        for f in data["findings"]
    )
    # The same history without withholding has them (the switch is what removed them).
    with sessions() as session:
        full = build_snapshot(session, today=_today(), withheld=())
    assert "wellness" in full.data and NAMED in full.text and full.sha256 != snapshot.sha256


def test_an_activity_only_stravas_api_brought_reaches_nothing_the_coach_sends(
    sessions, history, strava, connect_strava
):
    with sessions() as session:
        before = build_snapshot(session, today=_today(), withheld=())
        assert strava_only_count(session) == 0

    # A ride that only Strava's API brings, two days ago, with power, heart rate and GPS.
    strava.add_activity(_start(2, 18), sport_type="Ride", streams=make_streams(3600))
    runner = connect_strava(strava, Clock())
    runner.submit_sync("strava").result()

    with sessions() as session:
        strava_only = session.scalars(
            select(Activity)
            .join(ActivitySource, ActivitySource.activity_id == Activity.id)
            .where(ActivitySource.source == "strava")
        ).one()
        assert strava_only.extras.get("strava_api") is True
        assert strava_only.local_date == _today() - timedelta(days=2)
        metrics = session.get(ActivityMetrics, strava_only.id)
        assert metrics is not None and metrics.load and metrics.load > 0  # it would count
        assert strava_only_count(session) == 1
        total = session.execute(select(func.count()).select_from(Activity)).scalar()
        assert total == 8
        after = build_snapshot(session, today=_today(), withheld=())

    # Nothing of it: not a session, not a day's load, not a period's total, not a best power.
    strip = {"findings"}  # left out as a whole when any activity is excluded (below)
    assert {k: v for k, v in after.data.items() if k not in strip} == {
        k: v for k, v in before.data.items() if k not in strip
    }
    assert (_today() - timedelta(days=2)).isoformat() not in [
        s["date"] for s in after.data["recent_sessions"]
    ]
    activity_series = {"load", "fitness", "form", "ef_run", "ef_ride", "decoupling"}
    for finding in after.data["findings"]:
        assert finding["input"] not in activity_series
        assert finding["outcome"] not in activity_series

    # When the watch's file of that ride arrives, it becomes the owner's data again.
    with sessions.begin() as session:
        session.execute(update(Activity).where(Activity.id == strava_only.id).values(extras={}))
        session.add(
            ActivitySource(
                activity_id=strava_only.id, source="fit", source_key="watch-file", external_id="x"
            )
        )
    with sessions() as session:
        joined = build_snapshot(session, today=_today(), withheld=())
    assert (_today() - timedelta(days=2)).isoformat() in [
        s["date"] for s in joined.data["recent_sessions"]
    ]


def test_coach_context_json_prints_the_snapshot(monkeypatch, pg_cluster, tmp_path):
    url = pg_cluster.create_database("domestique_coach_cli")
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", url)
    monkeypatch.setenv("DOMESTIQUE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        (tmp_path / "ride.fit").write_bytes(_ride(2))
        imported = runner.invoke(cli, ["import", str(tmp_path / "ride.fit"), "--workers", "0"])
        assert imported.exit_code == 0, imported.output
        result = runner.invoke(cli, ["coach", "context", "--json", "--today", _today().isoformat()])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["snapshot_version"] == 1 and data["today"] == _today().isoformat()
        assert [s["sport"] for s in data["recent_sessions"]] == ["cycling"]
        assert len(result.stdout.strip().splitlines()) == 1  # one JSON object on one line

        pretty = runner.invoke(cli, ["coach", "context"])
        assert pretty.exit_code == 0
        assert '"recent_sessions": [' in pretty.stdout and "sha256" in pretty.stderr
    finally:
        get_settings.cache_clear()
