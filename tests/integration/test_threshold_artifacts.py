"""Thresholds one bad sample cannot poison, on real recordings: a fixture's own 254 bpm readings,
and real rides and runs with a spike, a dropout or a GPS jump added, give the estimates the clean
recording gives; a ride recorded as a run sets no threshold pace; and an activity the owner
leaves out stops feeding the estimates, incrementally exactly as in a full rebuild."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from app.analytics import curves
from app.models import Activity, ActivityMetrics, AthleteEstimate
from app.services import metrics
from app.services.metrics import estimate_origins
from app.sources.fit import decode_fit
from tests.support.fitwriter import write_activity
from tests.support.importing import import_files
from tests.support.shared import unavailable

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "tests" / "fixtures" / "fit"
SHARED = ROOT.parent / "shared" / "fixtures" / "fit"
RIDE = "Edge810-Vector-2013-08-16-15-35-10.fit"  # Edge 810 with Garmin Vector pedals (MIT)
TRIATHLON = "triathlon_summary_first.fit"  # FR255 triathlon; its run has HR, power, GPS (BSD)
SPIKY = "garmin-fit-python-sdk/ActivityDevFields.fit"  # FIT SDK sample: heart rate 1–254 bpm
LATER = timedelta(days=120)  # beyond the 90-day window of every estimate
_CHANNELS = {"lat": "position_lat", "lon": "position_long"}


def _fixture(path: str) -> bytes:
    local = LOCAL / Path(path).name
    if local.exists():
        return local.read_bytes()
    shared = SHARED / path
    if shared.exists():
        return shared.read_bytes()
    unavailable(f"the shared fixture {path}")


def _copy(
    data: bytes,
    *,
    leg: str | None = None,
    sport: str | None = None,
    start: datetime | None = None,
    edit: Callable[[dict[str, np.ndarray]], None] | None = None,
) -> bytes:
    """A real recording (one leg of it) written again, optionally re-dated, re-tagged or with
    samples changed by ``edit`` (channels by our names, edited in place)."""
    found = decode_fit(data).activities
    activity = next(a for a in found if leg is None or a.sport == leg)
    samples = activity.samples
    assert samples is not None
    channels = {
        name: values.copy()
        for name, values in samples.channels.items()
        if np.isfinite(values).any()
    }
    if edit is not None:
        edit(channels)
    first = datetime.fromtimestamp(float(samples.time[0]), UTC)
    written = {"timestamp": samples.time - samples.time[0]}
    written.update({_CHANNELS.get(name, name): values for name, values in channels.items()})
    return write_activity(
        None, sport=sport or activity.sport, start=start or first, samples=written
    )


def _rows(db_session) -> list[tuple[Activity, ActivityMetrics]]:
    db_session.expire_all()
    return list(
        db_session.execute(
            select(Activity, ActivityMetrics)
            .join(ActivityMetrics, ActivityMetrics.activity_id == Activity.id)
            .order_by(Activity.start_time)
        ).all()
    )


def _estimate(db_session, kind: str, day: date) -> AthleteEstimate:
    return db_session.execute(
        select(AthleteEstimate).where(AthleteEstimate.kind == kind, AthleteEstimate.day == day)
    ).scalar_one()


def test_the_fixtures_254_bpm_readings_no_longer_set_hrmax(sessions, db_session, settings):
    """Before: HRmax 254 (the file's highest reading) for every later activity, LTHR 229, and
    the ride's every second in zone 1."""
    spiky = _fixture(SPIKY)
    ride = _copy(_fixture(RIDE), start=datetime(2022, 8, 20, 7, 0, tzinfo=UTC))
    import_files(sessions, settings, {"ActivityDevFields.fit": spiky, "ride.fit": ride})

    (_paddle, paddle_metrics), (later, later_metrics) = _rows(db_session)
    assert paddle_metrics.max_hr_bpm == 254.0  # as recorded
    assert paddle_metrics.sustained_hr_bpm is None  # its heart rate says nothing
    heart = paddle_metrics.artifacts["heart_rate"]
    assert heart["usable"] is False and heart["out_of_range"] > 1000
    used = later_metrics.thresholds_used
    assert used["hr_max_bpm"]["value"] == later_metrics.sustained_hr_bpm
    assert 170 <= used["hr_max_bpm"]["value"] <= 176
    assert used["hr_max_bpm"]["activity_ids"] == [later.id]
    assert used["lthr_bpm"]["value"] == pytest.approx(0.9 * used["hr_max_bpm"]["value"])
    assert later_metrics.hr_zone_s[0] < 0.5 * sum(later_metrics.hr_zone_s)  # not all in Z1


def test_a_power_spike_and_a_dropout_change_no_ride_estimate(sessions, db_session, settings):
    """Before: the 2000 W second raised the 3-minute power by 9 W and W′ by 2 kJ."""
    original = _fixture(RIDE)
    ride = decode_fit(original).activities[0].samples
    assert ride is not None
    best = curves.mean_maximal(ride.time, ride.channel("power"), [180, 1200])
    three, twenty = (int(s) for s in best.start_s)
    power, cadence = ride.channel("power"), ride.channel("cadence")
    spike_at = three + 90  # the middle of the best 3 minutes
    hole = next(  # five seconds of hard pedalling in the best 20 minutes, away from the spike
        k
        for k in range(twenty + 60, twenty + 1100)
        if not three - 10 <= k < three + 190
        and (cadence[k : k + 5] >= 60).all()
        and (power[k : k + 5] >= 150).all()
    )

    def spoil(channels: dict[str, np.ndarray]) -> None:
        channels["power"][spike_at] = 2000.0
        channels["power"][hole : hole + 5] = 0.0  # the pedals keep turning: cadence stays

    day = datetime(2013, 8, 16, 18, 5, 10, tzinfo=UTC)
    import_files(
        sessions,
        settings,
        {"ride.fit": original, "spiked.fit": _copy(original, start=day + LATER, edit=spoil)},
    )
    (_, clean), (_, spiked) = _rows(db_session)
    assert spiked.artifacts["power"]["spikes"] == 1
    assert spiked.artifacts["power"]["dropouts"] >= 5
    durations = list(curves.DEFAULT_DURATIONS_S)
    for duration in (180, 300, 600, 1200, 1800):
        k = durations.index(duration)
        assert spiked.power_curve_w[k] == pytest.approx(clean.power_curve_w[k], abs=0.6)
    days = (date(2013, 8, 17), date(2013, 8, 17) + LATER)  # 18:05 UTC is the 17th in Seoul
    for kind, tolerance in (("cp_w", 0.5), ("w_prime_j", 150.0), ("eftp_w", 0.5)):
        before, after = (_estimate(db_session, kind, d).value for d in days)
        assert after == pytest.approx(before, abs=tolerance), kind
    assert spiked.thresholds_used["ftp_w"]["value"] == pytest.approx(
        clean.thresholds_used["ftp_w"]["value"], abs=0.5
    )


def test_a_heart_rate_spike_and_a_gps_jump_change_no_run_estimate(sessions, db_session, settings):
    """Before: HRmax 254 from two seconds, and a 400 m jump took 142 s off the fastest mile
    (VDOT 29.7 → 41.6, threshold pace 6:29 → 4:57 per km)."""
    triathlon = _fixture(TRIATHLON)
    run = next(a for a in decode_fit(triathlon).activities if a.sport == "running").samples
    assert run is not None
    hr = run.channel("heart_rate")
    top = int(curves.mean_maximal(run.time, hr, [20]).start_s[0]) + 10  # the best 20 s

    def spoil(channels: dict[str, np.ndarray]) -> None:
        channels["heart_rate"][300:302] = 254.0  # beyond any heart
        channels["heart_rate"][top : top + 2] = 212.0  # a spike where the curve peaks
        channels["distance"][900:] += 400.0  # the watch put the runner 400 m ahead

    first = datetime.fromtimestamp(float(run.time[0]), UTC)
    import_files(
        sessions,
        settings,
        {
            "run.fit": _copy(triathlon, leg="running"),
            "spiked.fit": _copy(triathlon, leg="running", start=first + LATER, edit=spoil),
        },
    )
    (_, clean), (_, spiked) = _rows(db_session)
    assert spiked.artifacts["heart_rate"]["out_of_range"] == 2
    assert spiked.artifacts["heart_rate"]["spikes"] == 2
    assert spiked.artifacts["distance"]["jumps"] == 1
    assert spiked.sustained_hr_bpm == pytest.approx(clean.sustained_hr_bpm, abs=0.25)
    for kind in ("hr_max_bpm", "lthr_bpm"):
        assert spiked.thresholds_used[kind]["value"] == pytest.approx(
            clean.thresholds_used[kind]["value"], abs=0.25
        )
    for name in ("1k", "1mile"):
        assert spiked.pace_bests[name]["time_s"] == pytest.approx(
            clean.pace_bests[name]["time_s"], abs=1.0
        )
    pace = "threshold_pace_s_per_km"
    assert spiked.thresholds_used[pace]["value"] == pytest.approx(
        clean.thresholds_used[pace]["value"], abs=0.5
    )
    clean_day, spiked_day = sorted(
        db_session.execute(
            select(AthleteEstimate.day).where(AthleteEstimate.kind == "vdot")
        ).scalars()
    )
    assert _estimate(db_session, "vdot", spiked_day).value == pytest.approx(
        _estimate(db_session, "vdot", clean_day).value, abs=0.05
    )


def test_a_ride_recorded_as_a_run_sets_no_threshold_pace(sessions, db_session, settings):
    """Before: VDOT 169 and a threshold pace of 1:41 per km from a bike ride."""
    ride = _copy(_fixture(RIDE), sport="running")
    import_files(sessions, settings, {"commute.fit": ride})
    ((activity, row),) = _rows(db_session)
    assert activity.sport == "running"
    assert row.artifacts["distance"]["faster_than_humans"] is True
    assert row.pace_bests["5k"]["time_s"] < 600  # its page still says how fast it went
    assert all("vdot" not in entry for entry in row.pace_bests.values())
    assert "threshold_pace_s_per_km" not in row.thresholds_used
    assert row.effective_vo2max is None
    kinds = set(db_session.execute(select(AthleteEstimate.kind)).scalars())
    assert not kinds & {"vdot", "vo2max_runalyze", "race_5k_vdot_s"}


# --- leaving an activity out ---------------------------------------------------------------------


def _ride(day: date, bpm: float, watts: float) -> bytes:
    seconds = 1800
    t = np.arange(seconds, dtype=float)
    power = np.full(seconds, 150.0)
    power[300:1500] = watts  # 20 minutes hard
    samples = {
        "heart_rate": np.minimum(110.0 + t / 10.0, bpm),
        "power": power,
        "cadence": np.full(seconds, 90.0),
        "speed": np.full(seconds, 8.0),
        "distance": 8.0 * t,
    }
    start = datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC)
    return write_activity(None, sport="cycling", start=start, samples=samples)


def _snapshot(db_session) -> dict[str, Any]:
    db_session.expire_all()
    activity = {
        row.activity_id: (row.thresholds_used, row.load, row.hr_zone_s, row.computed_at)
        for row in db_session.execute(select(ActivityMetrics)).scalars()
    }
    found = {
        (row.kind, row.day): (row.value, row.inputs)
        for row in db_session.execute(select(AthleteEstimate)).scalars()
    }
    return {"activity": activity, "estimates": found}


def test_leaving_an_activity_out_recomputes_from_its_day_like_a_full_rebuild(
    sessions, db_session, settings
):
    first = date(2025, 5, 1)
    import_files(
        sessions,
        settings,
        {
            "a.fit": _ride(first, bpm=186.0, watts=300.0),
            "b.fit": _ride(first + timedelta(days=3), bpm=172.0, watts=260.0),
            "c.fit": _ride(first + timedelta(days=6), bpm=160.0, watts=240.0),
        },
    )
    (a, _), (b, _), (c, c_metrics) = _rows(db_session)
    assert c_metrics.thresholds_used["hr_max_bpm"]["activity_ids"] == [a.id]
    assert c_metrics.thresholds_used["ftp_w"]["activity_ids"] == [a.id]
    before = _snapshot(db_session)

    with sessions.begin() as session:
        assert estimate_origins.set_excluded(session, a.id, excluded=True) == first
    with sessions.begin() as session:
        result = metrics.recompute_changed(session, [], first)
    assert result.rechecked == 3  # each one's thresholds leaned on the first ride
    after = _snapshot(db_session)
    used = after["activity"][c.id][0]
    assert used["hr_max_bpm"] == {
        "value": 172.0,
        "source": "estimated:max_sustained_hr",
        "activity_ids": [b.id],
    }
    assert used["ftp_w"]["activity_ids"] == [b.id]
    assert "hr_max_bpm" not in after["activity"][a.id][0]  # nothing left on its own day
    assert ("eftp_w", first) not in after["estimates"]
    with sessions() as session:
        overview = estimate_origins.overview(session)
    assert [link.id for link, _since in overview.excluded] == [a.id]
    assert overview.by_kind["hr_max_bpm"].activities[0].id == b.id

    metrics.recompute_all(sessions)  # a full rebuild agrees exactly
    rebuilt = _snapshot(db_session)
    strip = lambda snap: {k: v[:3] for k, v in snap["activity"].items()}  # noqa: E731
    assert strip(rebuilt) == strip(after)
    assert rebuilt["estimates"] == after["estimates"]

    with sessions.begin() as session:
        estimate_origins.set_excluded(session, a.id, excluded=False)
    with sessions.begin() as session:
        metrics.recompute_changed(session, [], first)
    restored = _snapshot(db_session)
    assert strip(restored) == {k: v[:3] for k, v in before["activity"].items()}
    assert restored["estimates"] == before["estimates"]
