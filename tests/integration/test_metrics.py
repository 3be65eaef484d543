"""Stored metrics: imported FIT files get their load, the daily series and estimates follow,
and an incremental recompute equals a full one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.analytics import load as load_science
from app.analytics.curves import BEST_EFFORT_DISTANCES_M
from app.models import (
    Activity,
    ActivityMetrics,
    AthleteEstimate,
    AthleteThreshold,
    DailyMetrics,
)
from app.models.metrics import PACE_BEST_EFFORTS
from app.services import metrics
from tests.support.fitwriter import write_activity
from tests.support.importing import import_files

TODAY = date(2025, 8, 1)


def _ride(day: date, seconds: int = 3600, *, watts: Any = 200.0, bpm: Any = 140.0) -> bytes:
    t = np.arange(seconds, dtype=float)
    samples = {
        "power": np.broadcast_to(np.asarray(watts, dtype=float), t.shape).copy(),
        "heart_rate": np.broadcast_to(np.asarray(bpm, dtype=float), t.shape).copy(),
        "speed": np.full(seconds, 8.0),
        "distance": 8.0 * t,
        "cadence": np.full(seconds, 90.0),
    }
    return write_activity(None, sport="cycling", start=_start(day), samples=samples)


def _run(day: date, seconds: int = 1800, *, speed: float = 3.2, bpm: float = 150.0) -> bytes:
    t = np.arange(seconds, dtype=float)
    samples = {
        "heart_rate": np.full(seconds, bpm),
        "speed": np.full(seconds, speed),
        "distance": speed * t,
        "altitude": np.full(seconds, 50.0),
        "cadence": np.full(seconds, 85.0),
    }
    return write_activity(None, sport="running", start=_start(day), samples=samples)


def _hr_only(day: date, seconds: int = 3600, *, bpm: float = 170.0) -> bytes:
    samples = {"heart_rate": np.full(seconds, bpm), "cadence": np.full(seconds, 80.0)}
    return write_activity(None, sport="cycling", start=_start(day), samples=samples)


def _start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC)  # 09:30 in Seoul


def _thresholds(db_session, valid_from: date, **values: float) -> None:
    for kind, value in values.items():
        db_session.add(AthleteThreshold(kind=kind, value=value, valid_from=valid_from))
    db_session.commit()


def _metrics_on(db_session, day: date) -> ActivityMetrics:
    db_session.expire_all()
    return db_session.execute(
        select(ActivityMetrics)
        .join(Activity, Activity.id == ActivityMetrics.activity_id)
        .where(Activity.local_date == day)
    ).scalar_one()


def test_ride_with_power_stores_np_tss_and_the_power_load(sessions, db_session, settings):
    _thresholds(db_session, date(2025, 1, 1), ftp_w=250.0)
    import_files(sessions, settings, {"ride.fit": _ride(date(2025, 5, 2))})

    row = _metrics_on(db_session, date(2025, 5, 2))
    # A steady hour at 200 W with FTP 250: NP 200, IF 0.8, TSS = 1 h · 0.8² · 100 = 64.
    assert row.normalized_power_w == pytest.approx(200.0)
    assert row.intensity_factor == pytest.approx(0.8)
    assert row.tss == pytest.approx(64.0)
    assert row.work_kj == pytest.approx(720.0)
    assert (row.load, row.load_model) == (pytest.approx(64.0), "power")
    assert row.thresholds_used["ftp_w"] == {"value": 250.0, "source": "owner:2025-01-01"}
    assert row.power_curve_w[0] == pytest.approx(200.0)
    assert row.algorithm_version == metrics.ALGORITHM_VERSION
    day = db_session.get(DailyMetrics, date(2025, 5, 2))
    assert day is not None and day.load == pytest.approx(64.0)
    assert day.ctl == pytest.approx(64.0 * (1 - np.exp(-1 / 42)))
    assert day.tsb == 0.0  # from yesterday's values: nothing before the first day


def test_run_without_power_gets_rtss(sessions, db_session, settings):
    # 3.2 m/s on the flat against a 4.0 m/s threshold (250 s/km): IF 0.8; 30 min → rTSS 32.
    _thresholds(db_session, date(2025, 1, 1), threshold_pace_s_per_km=250.0)
    import_files(sessions, settings, {"run.fit": _run(date(2025, 5, 3))})

    row = _metrics_on(db_session, date(2025, 5, 3))
    assert row.load_model == "pace"
    assert row.ngp_s_per_km == pytest.approx(312.5)
    assert row.rtss == pytest.approx(32.0)
    assert row.load == pytest.approx(32.0)
    assert row.avg_power_w is None and row.tss is None
    assert row.pace_bests["5k"]["time_s"] == pytest.approx(5000 / 3.2, abs=0.01)
    assert row.hrss is not None  # also there, but pace wins
    # PostgreSQL keeps the bests as arrays too, in the order of the best-effort distances
    assert tuple(BEST_EFFORT_DISTANCES_M) == PACE_BEST_EFFORTS
    db_session.refresh(row)
    assert row.pace_best_times_s == [
        row.pace_bests[name]["time_s"] if name in row.pace_bests else None
        for name in PACE_BEST_EFFORTS
    ]
    assert row.pace_best_times_s[3] == row.pace_bests["5k"]["time_s"]  # 5 km: run 30 min
    assert row.pace_best_vdots == [
        row.pace_bests.get(name, {}).get("vdot") for name in PACE_BEST_EFFORTS
    ]
    assert row.pace_best_vdots[3] is not None and row.pace_best_vdots[0] is None  # 400 m


def test_heart_rate_only_gets_hrss(sessions, db_session, settings):
    # An hour at LTHR scores 100 by definition.
    _thresholds(db_session, date(2025, 1, 1), hr_max_bpm=190.0, hr_rest_bpm=50.0, lthr_bpm=170.0)
    import_files(sessions, settings, {"hr.fit": _hr_only(date(2025, 5, 4))})

    row = _metrics_on(db_session, date(2025, 5, 4))
    assert (row.load_model, row.load) == ("hr", pytest.approx(100.0))
    expected = load_science.banister_trimp_from_average(
        170.0, 60.0, hr_rest=50.0, hr_max=190.0, sex="unknown_runalyze"
    )
    assert row.trimp == pytest.approx(expected)
    assert sum(row.hr_zone_s) == pytest.approx(3600.0)
    assert row.thresholds_used["lthr_bpm"]["source"] == "owner:2025-01-01"


def test_thresholds_are_taken_by_date(sessions, db_session, settings):
    _thresholds(db_session, date(2025, 1, 1), ftp_w=200.0)
    _thresholds(db_session, date(2025, 6, 1), ftp_w=250.0)
    import_files(
        sessions,
        settings,
        {"may.fit": _ride(date(2025, 5, 10)), "july.fit": _ride(date(2025, 7, 10))},
    )
    may, july = (
        _metrics_on(db_session, date(2025, 5, 10)),
        _metrics_on(db_session, date(2025, 7, 10)),
    )
    assert may.thresholds_used["ftp_w"]["value"] == 200.0
    assert may.tss == pytest.approx(100.0)
    assert july.thresholds_used["ftp_w"]["value"] == 250.0
    assert july.tss == pytest.approx(64.0)


def test_unset_thresholds_are_estimated_and_recorded(sessions, db_session, settings):
    import_files(sessions, settings, {"ride.fit": _ride(date(2025, 5, 2), watts=_intervals(3600))})
    row = _metrics_on(db_session, date(2025, 5, 2))
    used = row.thresholds_used
    assert used["hr_max_bpm"] == {
        "value": 140.0,
        "source": "estimated:max_sustained_hr",
        "activity_ids": [row.activity_id],
    }
    assert used["hr_rest_bpm"]["source"] == "default"
    assert used["lthr_bpm"]["value"] == pytest.approx(126.0)
    assert used["ftp_w"]["source"] == "estimated:eftp_90d"
    assert row.load_model == "power"
    kinds = set(
        db_session.execute(
            select(AthleteEstimate.kind).where(AthleteEstimate.day == date(2025, 5, 2))
        ).scalars()
    )
    assert {"cp_w", "w_prime_j", "eftp_w", "vo2max_uth_sorensen"} <= kinds


def _intervals(seconds: int) -> np.ndarray:
    """Hard blocks of rising length (2, 5, 10, 20 min) between easy riding: a usable CP fit."""
    watts = np.full(seconds, 150.0)
    at = 60
    for minutes, level in ((2, 380.0), (5, 320.0), (10, 290.0), (20, 265.0)):
        watts[at : at + minutes * 60] = level
        at += minutes * 60 + 120
    return watts[:seconds]


def _snapshot(db_session) -> dict[str, Any]:
    db_session.expire_all()

    def rows(model, key) -> dict[Any, dict[str, Any]]:
        columns = [c.name for c in model.__table__.columns if c.name not in ("computed_at", "id")]
        return {
            getattr(row, key): {name: getattr(row, name) for name in columns}
            for row in db_session.execute(select(model)).scalars()
        }

    return {
        "activity": rows(ActivityMetrics, "activity_id"),
        "daily": rows(DailyMetrics, "day"),
        "estimates": {
            (row.kind, row.day): (row.value, row.inputs)
            for row in db_session.execute(select(AthleteEstimate)).scalars()
        },
    }


def _stamps(db_session, model, key) -> dict[Any, datetime]:
    db_session.expire_all()
    return {
        getattr(row, key): row.computed_at for row in db_session.execute(select(model)).scalars()
    }


def test_one_more_activity_recomputes_from_its_date_and_equals_a_full_rebuild(
    sessions, db_session, settings
):
    first = date(2025, 5, 1)
    history = {
        "r1.fit": _ride(first, watts=_intervals(3600), bpm=150.0),
        "run1.fit": _run(first + timedelta(days=2), bpm=155.0),
        "r2.fit": _ride(first + timedelta(days=10), watts=_intervals(3600), bpm=150.0),
        "run2.fit": _run(first + timedelta(days=20), bpm=160.0),
    }
    import_files(sessions, settings, history)
    activities_before = _stamps(db_session, ActivityMetrics, "activity_id")
    days_before = _stamps(db_session, DailyMetrics, "day")
    assert len(activities_before) == 4

    # A ride on day 5 with a higher heart rate than ever: its estimated HRmax reaches the
    # activities after it (days 10 and 20), not the ones before.
    new_day = first + timedelta(days=5)
    import_files(sessions, settings, {"new.fit": _ride(new_day, bpm=175.0)})

    activities_after = _stamps(db_session, ActivityMetrics, "activity_id")
    days_after = _stamps(db_session, DailyMetrics, "day")
    dates = dict(db_session.execute(select(Activity.id, Activity.local_date)).all())
    new_ids = set(activities_after) - set(activities_before)
    assert len(new_ids) == 1 and dates[new_ids.pop()] == new_day
    for activity_id, stamp in activities_before.items():
        if dates[activity_id] < new_day:
            assert activities_after[activity_id] == stamp, "an earlier activity was recomputed"
        else:  # its estimated HRmax changed
            assert activities_after[activity_id] > stamp
    for day, stamp in days_before.items():
        if day < new_day:
            assert days_after[day] == stamp, f"{day} was rewritten"
        else:
            assert days_after[day] > stamp
    later = _metrics_on(db_session, first + timedelta(days=10))
    assert later.thresholds_used["hr_max_bpm"]["value"] == 175.0

    incremental = _snapshot(db_session)
    result = metrics.recompute_all(sessions)
    assert result.activities == 5
    assert _snapshot(db_session) == incremental  # exactly: no tolerance


def test_after_import_alone_does_the_days_from_the_earliest_date(sessions, db_session, settings):
    _thresholds(db_session, date(2025, 1, 1), ftp_w=250.0)
    import_files(
        sessions, settings, {"a.fit": _ride(date(2025, 5, 1)), "b.fit": _ride(date(2025, 5, 9))}
    )
    target = _metrics_on(db_session, date(2025, 5, 9)).activity_id

    result = metrics.after_import(sessions, [target], today=TODAY)
    assert result is not None
    assert (result.activities, result.rechecked) == (1, 0)
    assert result.from_day == date(2025, 5, 9)
    db_session.expire_all()
    last = db_session.execute(select(DailyMetrics).order_by(DailyMetrics.day.desc())).scalars()
    assert next(iter(last)).day == TODAY  # decays up to "today"


def test_recompute_days_continues_bit_identically(sessions, db_session, settings):
    _thresholds(db_session, date(2025, 1, 1), ftp_w=250.0)
    import_files(
        sessions,
        settings,
        {f"{i}.fit": _ride(date(2025, 5, 1) + timedelta(days=3 * i)) for i in range(6)},
    )
    metrics.recompute_all(sessions, today=TODAY)
    full = _snapshot(db_session)["daily"]
    with sessions.begin() as session:
        assert metrics.recompute_days(session, date(2025, 5, 8), today=TODAY) == date(2025, 5, 8)
    assert _snapshot(db_session)["daily"] == full


def test_recompute_command(cli_env_with_owner):
    from app.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["recompute"])
    assert result.exit_code == 0, result.output
    assert "activities 1" in result.output
    partial = runner.invoke(cli, ["recompute", "--from", "2025-05-02"])
    assert partial.exit_code == 0, partial.output
    assert "activities 1" in partial.output
    later = runner.invoke(cli, ["recompute", "--from", "2025-06-01"])
    assert "activities 0" in later.output
    wrong = runner.invoke(cli, ["recompute", "--from", "May"])
    assert wrong.exit_code == 2


@pytest.fixture
def cli_env_with_owner(monkeypatch, pg_cluster, tmp_path):
    from app.config import get_settings
    from app.db.migrate import upgrade

    url = pg_cluster.create_database("domestique_cli_metrics")
    upgrade(url)
    monkeypatch.setenv("DOMESTIQUE_ENV", "development")
    monkeypatch.setenv("DOMESTIQUE_DATABASE_URL", url)
    monkeypatch.setenv("DOMESTIQUE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    from app.cli import cli

    path = tmp_path / "ride.fit"
    path.write_bytes(_ride(date(2025, 5, 2)))
    imported = CliRunner().invoke(cli, ["import", str(path), "--workers", "0"])
    assert imported.exit_code == 0, imported.output
    yield url
    get_settings.cache_clear()


def test_the_daily_series_is_stored_exactly_as_computed(db_session):
    """Every value of the daily series reaches the table unrounded (the series travels as
    array literals); a ratio not defined yet (the first weeks' ACWR) is NULL."""
    from app.analytics import pmc
    from app.services.metrics.recompute import recompute_days

    db_session.add_all(
        [
            Activity(sport="running", start_time=_start(day), local_date=day)
            for day in (date(2025, 3, 1), date(2025, 3, 4), date(2025, 4, 20))
        ]
    )
    db_session.flush()
    ids = db_session.execute(select(Activity.id).order_by(Activity.local_date)).scalars().all()
    loads = [41.3 / 3, 72.25, 1e-7]  # awkward binary fractions
    for activity_id, value in zip(ids, loads, strict=True):
        db_session.add(ActivityMetrics(activity_id=activity_id, load=value, algorithm_version=1))
    db_session.flush()
    recompute_days(db_session, today=date(2025, 5, 1))
    series = pmc.daily_load(
        [(date(2025, 3, 1), loads[0]), (date(2025, 3, 4), loads[1]), (date(2025, 4, 20), loads[2])],
        start=date(2025, 3, 1),
        end=date(2025, 5, 1),
    )
    curve = pmc.pmc(series.load)
    rolling = pmc.acwr(series.load, method="rolling_coupled").ratio
    rows = db_session.execute(select(DailyMetrics).order_by(DailyMetrics.day)).scalars().all()
    assert rows[0].day == date(2025, 3, 1) and len(rows) == series.load.size
    assert [row.load for row in rows] == series.load.tolist()
    assert [row.ctl for row in rows] == curve.ctl.tolist()
    assert [row.tsb for row in rows] == curve.tsb.tolist()
    assert [row.activities for row in rows][:4] == [1, 0, 0, 1]
    assert [row.acwr_rolling for row in rows] == [
        v if np.isfinite(v) else None for v in rolling.tolist()
    ]
    assert rows[0].acwr_rolling is None and rows[-1].acwr_rolling is not None
