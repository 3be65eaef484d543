"""Moving time, distance, ascent/descent and averages on hand-built activities."""

from __future__ import annotations

import numpy as np
import pytest

from app.analytics import summary

T0 = 1_700_000_000.0


def _seconds(n: int) -> np.ndarray:
    return T0 + np.arange(n, dtype=float)


def test_moving_time_skips_standing_and_pauses() -> None:
    speed = np.concatenate((np.full(600, 3.0), np.zeros(120), np.full(600, 3.0)))
    distance = np.concatenate(([0.0], np.cumsum(speed)))
    time = _seconds(distance.size)
    assert summary.moving_time(time, distance=distance) == 1200.0
    time[900:] += 1800.0  # recording paused for 30 min while running resumed later
    assert summary.moving_time(time, distance=distance) == 1199.0  # the paused interval
    assert summary.moving_time(time, speed=np.concatenate(([0.0], speed))) == 1199.0


def test_moving_time_without_speed_uses_pauses() -> None:
    time = np.concatenate((_seconds(600), T0 + 2000 + np.arange(600.0)))
    assert summary.moving_time(time) == 1198.0  # two 599 s stretches
    assert summary.moving_time(time[:1]) == 0.0


def test_distance_from_an_offset_glitchy_channel() -> None:
    distance = np.array([np.nan, 500.0, 510.0, 505.0, 530.0, np.nan, 600.0])
    assert summary.total_distance(distance) == 100.0
    assert summary.total_distance(np.full(3, np.nan)) is None


def _climb_profile() -> tuple[np.ndarray, np.ndarray]:
    flat = np.full(300, 100.0)
    climb = np.linspace(100.0, 200.0, 1001)[1:]  # 100 m at 0.1 m/s
    altitude = np.concatenate((flat, climb, np.full(300, 200.0)))
    return _seconds(altitude.size), altitude


def test_a_known_climb() -> None:
    time, altitude = _climb_profile()
    elevation = summary.ascent_descent(time, altitude)
    assert elevation is not None
    assert elevation.ascent_m == pytest.approx(100.0, abs=1e-9)
    assert elevation.descent_m == 0.0
    noisy = altitude + np.random.default_rng(5).normal(0.0, 0.3, altitude.size)
    elevation = summary.ascent_descent(time, noisy)
    assert elevation is not None
    assert elevation.ascent_m == pytest.approx(100.0, abs=1.5)
    assert elevation.descent_m < 1.5


def test_noisy_flat_altitude_gives_no_climbing() -> None:
    rng = np.random.default_rng(1)
    altitude = 120.0 + rng.normal(0.0, 0.5, 7200)  # two hours of barometric jitter
    time = _seconds(altitude.size)
    elevation = summary.ascent_descent(time, altitude)
    assert elevation is not None
    assert elevation.ascent_m < 1.0
    assert elevation.descent_m < 1.0
    raw_positive_steps = float(np.clip(np.diff(altitude), 0, None).sum())
    assert raw_positive_steps > 1000.0  # what naive summing would have reported


def test_rolling_hills_and_wobbles() -> None:
    one_hill = np.concatenate((np.linspace(0, 20, 201)[1:], np.linspace(20, 0, 201)[1:]))
    altitude = np.concatenate(([0.0], np.tile(one_hill, 5)))
    elevation = summary.ascent_descent(_seconds(altitude.size), altitude, smoothing_s=0)
    assert elevation == summary.Elevation(ascent_m=100.0, descent_m=100.0)
    wobble = 50.0 + 1.4 * np.sin(np.arange(3600) / 30.0)  # ±1.4 m: below the 3 m threshold
    elevation = summary.ascent_descent(_seconds(wobble.size), wobble)
    assert elevation == summary.Elevation(ascent_m=0.0, descent_m=0.0)
    elevation = summary.ascent_descent(_seconds(wobble.size), wobble, hysteresis_m=1.0)
    assert elevation is not None and elevation.ascent_m > 50.0


def test_first_swing_down_then_up() -> None:
    altitude = np.array([10.0, 8.0, 2.0, 2.0, 9.0, 7.0])
    elevation = summary.ascent_descent(_seconds(6), altitude, smoothing_s=0)
    assert elevation == summary.Elevation(ascent_m=7.0, descent_m=8.0)
    assert summary.ascent_descent(_seconds(3), np.full(3, np.nan)) is None


def test_averages_follow_the_channel_conventions() -> None:
    time = _seconds(4)
    assert summary.average_and_max(time, [0.0, 100.0, 200.0, 300.0]) == (150.0, 300.0)
    no_zeros = summary.average_and_max(time, [0.0, 80.0, 90.0, np.nan], include_zeros=False)
    assert no_zeros == (85.0, 90.0)
    assert summary.average_and_max(time, np.full(4, np.nan)) == (None, None)


def test_averages_are_time_weighted() -> None:
    time = T0 + np.array([0.0, 1.0, 2.0, 10.0, 11.0])  # smart recording held 8 s of 200 W
    power = np.array([100.0, 100.0, 200.0, 100.0, 100.0])
    average, peak = summary.average_and_max(time, power)
    assert average == pytest.approx((4 * 100.0 + 8 * 200.0) / 12.0)
    assert peak == 200.0
    paused = T0 + np.array([0.0, 1.0, 2.0, 1000.0, 1001.0])  # a pause weighs nothing
    average, _ = summary.average_and_max(paused, power)
    assert average == pytest.approx(120.0)


def test_summarize_a_run() -> None:
    n = 1801
    speed = np.full(n, 3.0)
    speed[600:720] = 0.0  # two minutes at a crossing
    distance = np.concatenate(([0.0], np.cumsum(speed[1:])))
    altitude = np.concatenate((np.full(901, 50.0), np.linspace(50.0, 80.0, 901)[1:]))
    heart_rate = np.full(n, 150.0)
    heart_rate[:10] = 0.0  # strap not yet in contact
    cadence = np.where(speed > 0, 85.0, 0.0)
    channels = {
        "speed": speed,
        "distance": distance,
        "altitude": altitude,
        "heart_rate": heart_rate,
        "cadence": cadence,
        "power": np.full(n, np.nan),
    }
    result = summary.summarize(_seconds(n), channels)
    assert result.elapsed_s == 1800.0
    assert result.moving_s == 1680.0
    assert result.distance_m == pytest.approx(3.0 * 1680)
    assert result.avg_speed_mps == pytest.approx(3.0)
    assert result.avg_pace_s_per_km == pytest.approx(1000 / 3.0)
    assert result.max_speed_mps == 3.0
    assert result.ascent_m == pytest.approx(30.0, abs=1e-9)
    assert result.descent_m == 0.0
    assert result.avg_hr == 150.0 and result.max_hr == 150.0
    assert result.avg_cadence == 85.0
    assert result.avg_power is None and result.max_power is None


def test_summarize_an_indoor_ride() -> None:
    n = 3601
    time = _seconds(n)
    result = summary.summarize(time, {"power": np.full(n, 180.0)})
    assert result.moving_s == 3600.0
    assert result.distance_m is None and result.avg_speed_mps is None
    assert result.ascent_m is None
    assert result.avg_power == 180.0
