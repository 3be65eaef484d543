"""Mean-maximal curves and best efforts on series whose answers can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from app.analytics import curves

T0 = 1_700_000_000.0


def test_resample_keeps_1hz_data_and_interpolates_short_gaps() -> None:
    time = T0 + np.array([0.0, 1.0, 2.0, 4.0, 5.0, 30.0])
    values = np.array([10.0, 20.0, 30.0, 50.0, 60.0, 70.0])
    grid, series = curves.resample_to_1hz(time, values, max_gap_s=5.0)
    np.testing.assert_array_equal(grid, T0 + np.arange(31.0))
    np.testing.assert_array_equal(series[:6], [10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    assert np.isnan(series[6:30]).all()  # a 25 s gap is a pause
    assert series[30] == 70.0
    _, filled = curves.resample_to_1hz(time, values, max_gap_s=5.0, fill=0.0)
    assert (filled[6:30] == 0.0).all()


def _resample_by_definition(time, values, max_gap_s, fill):
    """Each grid second from the last sample at or before it (a binary search per second)."""
    grid = time[0] + np.arange(np.floor(time[-1] - time[0]) + 1.0)
    out = np.empty(grid.size)
    for k, second in enumerate(grid):
        i = int(np.searchsorted(time, second, side="right")) - 1
        j = min(i + 1, time.size - 1)
        if second == time[i]:
            out[k] = values[i]
        elif time[j] - time[i] <= max_gap_s:
            weight = (second - time[i]) / (time[j] - time[i])
            out[k] = values[i] * (1.0 - weight) + values[j] * weight
        else:
            out[k] = fill
    return grid, out


@pytest.mark.parametrize(
    "steps",
    ["one_second", "whole_seconds", "fractions", "tenths"],
)
def test_resample_every_kind_of_time_axis_by_definition(steps: str) -> None:
    """The shortcuts (a gap-free 1 Hz recording is its own grid; whole-second steps need no
    search) give exactly what the definition gives."""
    rng = np.random.default_rng(len(steps))
    for trial in range(200):
        n = int(rng.integers(1, 40))
        step = {
            "one_second": np.ones(n - 1),
            "whole_seconds": rng.integers(1, 15, n - 1).astype(float),
            "fractions": rng.uniform(0.2, 12, n - 1),
            "tenths": np.round(rng.uniform(0.2, 12, n - 1), 1),
        }[steps]
        start = T0 + (rng.uniform(0, 1) if trial % 2 else 0.0)
        time = start + np.concatenate(([0.0], np.cumsum(step)))
        values = rng.normal(size=n)
        values[rng.random(n) < 0.1] = np.nan
        for fill in (np.nan, 0.0):
            grid, series = curves.resample_to_1hz(time, values, max_gap_s=10.0, fill=fill)
            expected_grid, expected = _resample_by_definition(time, values, 10.0, fill)
            np.testing.assert_array_equal(grid, expected_grid)
            np.testing.assert_array_equal(series, expected)


def test_resample_returns_a_copy_of_a_1hz_recording() -> None:
    values = np.arange(5.0)
    _, series = curves.resample_to_1hz(T0 + np.arange(5.0), values)
    series[0] = 99.0
    assert values[0] == 0.0


def test_block_inside_zeros() -> None:
    power = np.concatenate((np.zeros(1000), np.full(300, 300.0), np.zeros(1000)))
    time = T0 + np.arange(power.size, dtype=float)
    curve = curves.mean_maximal(time, power, [1, 60, 300, 600, 2300, 2301])
    np.testing.assert_allclose(curve.value[:4], [300.0, 300.0, 300.0, 150.0])
    assert curve.value[4] == pytest.approx(300.0 * 300 / 2300)
    assert np.isnan(curve.value[5])  # longer than the ride
    assert curve.start_s[2] == 1000.0
    assert np.isnan(curve.start_s[5])


def test_matches_brute_force_on_random_data() -> None:
    rng = np.random.default_rng(3)
    power = rng.gamma(4.0, 50.0, 2000)
    time = T0 + np.arange(power.size, dtype=float)
    durations = [1, 7, 30, 299, 1200, 2000]
    curve = curves.mean_maximal(time, power, durations)
    for k, value, start in zip(durations, curve.value, curve.start_s, strict=True):
        means = sliding_window_view(power, k).mean(axis=1)
        assert value == pytest.approx(means.max(), rel=1e-12)
        assert start == float(np.argmax(means))


def _mean_maximal_by_definition(series: np.ndarray, k: int) -> tuple[float, float]:
    """The best mean of a window of ``k`` seconds without a NaN, and its earliest start, by
    summing every window in turn."""
    best_total, start = -np.inf, np.nan
    cumulative = np.concatenate(([0.0], np.cumsum(np.where(np.isfinite(series), series, 0.0))))
    for i in range(series.size - k + 1):
        if np.isfinite(series[i : i + k]).all():
            total = cumulative[i + k] - cumulative[i]
            if total > best_total:  # strictly better: the earliest of equal windows stays
                best_total, start = total, float(i)
    return (best_total / k if np.isfinite(start) else np.nan), start


def test_matches_the_definition_with_pauses_and_dropouts() -> None:
    """Windows stay inside one stretch of valid seconds; the sums and the tie rule (earliest)
    are the definition's, whichever stretches the recording is cut into."""
    rng = np.random.default_rng(11)
    for round_ in range(40):
        n = int(rng.integers(50, 400))
        # whole seconds (FIT files), then irregular ones (the grid is searched); 40 s: a pause
        choices = [1.0, 1.0, 1.0, 2.0, 40.0] if round_ % 2 else [0.7, 1.0, 1.3, 2.5, 40.0]
        steps = rng.choice(choices, n - 1)
        time = T0 + np.concatenate(([0.0], np.cumsum(steps)))
        values = np.round(rng.gamma(4.0, 50.0, n))  # whole watts: ties happen
        values[rng.random(n) < 0.03] = np.nan  # dropouts
        durations = [1, 2, 5, 17, 60, 250]
        curve = curves.mean_maximal(time, values, durations)
        _, series = curves.resample_to_1hz(time, values)
        for k, value, start in zip(durations, curve.value, curve.start_s, strict=True):
            expected_value, expected_start = _mean_maximal_by_definition(series, k)
            np.testing.assert_array_equal([value, start], [expected_value, expected_start])


def test_windows_do_not_span_pauses_or_missing_values_by_default() -> None:
    time = T0 + np.concatenate((np.arange(200.0), 800.0 + np.arange(200.0)))
    power = np.full(time.size, 200.0)
    by_default = curves.mean_maximal(time, power, [200, 300])
    assert by_default.value[0] == 200.0
    assert np.isnan(by_default.value[1])
    zero_filled = curves.mean_maximal(time, power, [300], gap_fill=0.0)
    assert zero_filled.value[0] == pytest.approx(200.0 * 200 / 300)

    hr = np.full(600, 150.0)
    hr[100:400] = 170.0
    hr[250] = np.nan  # a dropout inside the hard block
    curve = curves.mean_maximal(T0 + np.arange(600.0), hr, [100, 200])
    assert curve.value[0] == 170.0  # 100 s of 170 on either side of the dropout
    assert curve.value[1] == pytest.approx((150 * 170 + 50 * 150) / 200)  # 100..249 + 50 before


def test_smart_recording_is_interpolated() -> None:
    time = T0 + np.arange(0.0, 1200.0, 4.0)  # one sample every 4 s
    curve = curves.mean_maximal(time, np.full(time.size, 250.0), [1, 60, 1197])
    np.testing.assert_allclose(curve.value, 250.0)


def _steady_run(speed: float, seconds: int) -> tuple[np.ndarray, np.ndarray]:
    time = T0 + np.arange(seconds + 1, dtype=float)
    return time, speed * np.arange(seconds + 1, dtype=float)


def test_best_efforts_at_constant_speed() -> None:
    time, distance = _steady_run(4.0, 3000)  # 12 km at 4 m/s
    efforts = curves.best_efforts(time, distance)
    assert efforts["1k"].time_s == pytest.approx(250.0)
    assert efforts["1mile"].time_s == pytest.approx(1609.344 / 4.0)
    assert efforts["10k"].pace_s_per_km == pytest.approx(250.0)
    assert efforts["half_marathon"].time_s is None
    assert efforts["marathon"].pace_s_per_km is None


def test_best_effort_finds_the_fast_block() -> None:
    speed = np.concatenate((np.full(600, 3.0), np.full(400, 5.0), np.full(600, 3.0)))
    distance = np.concatenate(([0.0], np.cumsum(speed)))
    time = T0 + np.arange(distance.size, dtype=float)
    efforts = curves.best_efforts(time, distance, {"400m": 400.0, "1k": 1000.0, "5k": 5000.0})
    assert efforts["400m"].time_s == pytest.approx(80.0)
    assert efforts["1k"].time_s == pytest.approx(200.0)
    assert 600.0 <= efforts["1k"].start_s <= 800.0
    # 5 km: all 2000 m of the fast block plus 3000 m at 3 m/s
    assert efforts["5k"].time_s == pytest.approx(400.0 + 1000.0)


def test_best_effort_interpolates_between_samples() -> None:
    time = T0 + np.arange(0.0, 1000.0, 10.0)  # sparse samples, 3.3 m/s
    distance = 33.0 * np.arange(time.size, dtype=float)
    effort = curves.best_efforts(time, distance, {"400m": 400.0})["400m"]
    assert effort.time_s == pytest.approx(400.0 / 3.3)


def test_best_effort_counts_a_pause_and_ignores_glitches() -> None:
    time, distance = _steady_run(4.0, 600)
    time[300:] += 120.0  # stopped at a crossing, recording paused
    effort = curves.best_efforts(time, distance, {"2k": 2000.0})["2k"]
    assert effort.time_s == pytest.approx(500.0 + 120.0)
    distance[100] -= 50.0  # a backward GPS jump
    distance[200] = np.nan
    effort = curves.best_efforts(time, distance, {"1k": 1000.0})["1k"]
    assert effort.time_s == pytest.approx(250.0)


def test_best_effort_never_beats_any_sample_to_sample_stretch() -> None:
    rng = np.random.default_rng(11)
    speed = rng.uniform(2.5, 4.5, 900)
    distance = np.concatenate(([0.0], np.cumsum(speed)))
    time = T0 + np.arange(distance.size, dtype=float)
    meters = 1000.0
    effort = curves.best_efforts(time, distance, {"1k": meters})["1k"]
    gap = distance[None, :] - distance[:, None]
    elapsed = np.where(gap >= meters, time[None, :] - time[:, None], np.inf)
    longest_step = float(np.diff(time).max())
    assert effort.time_s is not None
    assert elapsed.min() - longest_step <= effort.time_s <= elapsed.min()
