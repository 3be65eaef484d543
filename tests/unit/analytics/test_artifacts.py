"""Sensor artifacts: each rule catches what no body does and leaves what bodies do, and one bad
sample no longer moves a curve point an estimate is made from."""

from __future__ import annotations

import numpy as np
import pytest

from app.analytics import artifacts, curves, estimates

T0 = 1_700_000_000.0
RNG = np.random.default_rng(14)


def _seconds(n: int) -> np.ndarray:
    return T0 + np.arange(n, dtype=np.float64)


def _curve(time: np.ndarray, values: np.ndarray, durations=(1, 20, 180, 1200)) -> np.ndarray:
    return curves.mean_maximal(time, values, durations).value


# --- the Hampel identifier and bridging ----------------------------------------------------------


def test_hampel_finds_a_two_second_excursion_and_nothing_else() -> None:
    x = 150.0 + RNG.normal(0.0, 1.5, 600)
    x[300:302] = [230.0, 228.0]
    x[400] = 60.0  # a strap counting every other beat, for a second
    found = artifacts.hampel_outliers(x, half_window=5, floor=20.0)
    assert np.flatnonzero(found).tolist() == [300, 301, 400]
    up = artifacts.hampel_outliers(x, half_window=5, floor=20.0, direction="up")
    assert np.flatnonzero(up).tolist() == [300, 301]


def test_hampel_leaves_ramps_steps_and_long_surges_alone() -> None:
    ramp = np.linspace(100.0, 190.0, 300)  # 18 bpm per minute: any climb
    step = np.r_[np.full(100, 120.0), np.full(100, 175.0)]  # a level that stays is real
    surge = np.r_[np.full(100, 200.0), np.full(8, 1000.0), np.full(100, 200.0)]  # an 8-s sprint
    for series in (ramp, step):
        assert not artifacts.hampel_outliers(series, half_window=5, floor=20.0).any()
    assert not artifacts.hampel_outliers(surge, half_window=2, floor=500.0, relative=1.0).any()


def test_hampel_skips_missing_samples_and_does_not_judge_the_ends() -> None:
    x = np.full(50, 150.0)
    x[10:13] = np.nan
    x[13] = 240.0  # its neighbourhood is the recorded samples around the hole
    x[0] = 240.0  # one-sided neighbourhood: not judged
    found = artifacts.hampel_outliers(x, half_window=5, floor=20.0)
    assert np.flatnonzero(found).tolist() == [13]
    assert not artifacts.hampel_outliers(np.full(8, 150.0), half_window=5).any()  # too short


def test_the_mad_term_raises_the_limit_in_a_noisy_neighbourhood() -> None:
    noisy = np.tile([100.0, 130.0, 160.0], 14)  # median 130, MAD 30: 3 sigma ≈ 133
    noisy[21] = 250.0  # 120 above the median of its neighbourhood
    assert not artifacts.hampel_outliers(noisy, half_window=5, floor=20.0).any()
    found = artifacts.hampel_outliers(noisy, half_window=5, floor=20.0, n_sigmas=1.0)
    assert np.flatnonzero(found).tolist() == [21]


def test_bridge_fills_short_holes_only() -> None:
    t = _seconds(40)
    v = np.arange(40, dtype=np.float64)
    v[[0, 5, 6, 7]] = np.nan  # the first has no left neighbour
    v[20:32] = np.nan  # 13 s between the samples either side: a pause
    out = artifacts.bridge(t, v)
    assert np.isnan(out[0])
    np.testing.assert_allclose(out[5:8], [5.0, 6.0, 7.0])
    assert np.isnan(out[20:32]).all()
    np.testing.assert_allclose(artifacts.bridge(t, v, max_gap_s=15.0)[20:32], np.arange(20, 32))


# --- heart rate ----------------------------------------------------------------------------------


def test_a_heart_rate_spike_no_longer_moves_the_sustained_heart_rate() -> None:
    t = _seconds(1800)
    hr = 150.0 + 10.0 * np.sin(np.arange(1800) / 200.0)
    spiked = hr.copy()
    spiked[900:902] = 254.0
    cleaned = artifacts.clean_heart_rate(t, spiked)
    assert cleaned.artifacts == {"out_of_range": 2, "spikes": 0, "cadence_lock": 0}
    np.testing.assert_allclose(cleaned.values, hr, atol=0.01)  # a smooth curve, bridged
    spike_within_range = hr.copy()
    spike_within_range[314:316] = 218.0  # at the top of the curve, within 30–220 bpm
    cleaned = artifacts.clean_heart_rate(t, spike_within_range)
    assert cleaned.artifacts["spikes"] == 2
    np.testing.assert_allclose(_curve(t, cleaned.values), _curve(t, hr), atol=0.01)
    before = _curve(t, spike_within_range)  # what the spike did to the curve before the rule
    assert before[0] == 218.0 and before[1] > _curve(t, hr)[1] + 5


def test_heart_rate_outside_what_a_heart_does_and_zeros() -> None:
    t = _seconds(120)
    hr = np.full(120, 140.0)
    hr[10] = 0.0  # no strap signal: missing, not an artifact
    hr[50:80] = 250.0  # 30 s: too long to bridge, left out
    cleaned = artifacts.clean_heart_rate(t, hr)
    assert cleaned.artifacts["out_of_range"] == 30
    assert cleaned.checked == 119
    assert cleaned.share == pytest.approx(30 / 119)
    assert cleaned.values[10] == 140.0
    assert np.isnan(cleaned.values[50:80]).all()


def test_a_heart_rate_locked_onto_the_cadence_is_caught() -> None:
    n = 900
    t = _seconds(n)
    cadence = 85.0 + RNG.integers(-1, 2, n)  # strides per minute: 168–172 steps
    hr = 135.0 + RNG.normal(0.0, 1.0, n)
    hr[300:480] = 2.0 * cadence[300:480]  # jumps onto the step rate for three minutes
    cleaned = artifacts.clean_heart_rate(t, hr, cadence=cadence, foot=True)
    assert cleaned.artifacts["cadence_lock"] >= 170
    assert np.isnan(cleaned.values[310:470]).all()  # too long to bridge: left out
    assert np.nanmax(_curve(t, cleaned.values)) < 145
    assert _curve(t, hr)[1] > 165  # what the lock made of the sustained heart rate
    # The same recording from a ride (no optical lock there) is left as it is.
    assert artifacts.clean_heart_rate(t, hr, cadence=cadence).artifacts["cadence_lock"] == 0


def test_a_heart_rate_that_climbs_to_the_cadence_is_the_heart() -> None:
    n = 900
    t = _seconds(n)
    cadence = 85.0 + RNG.integers(-1, 2, n)
    hr = np.minimum(140.0 + np.arange(n) / 10.0, 171.0)  # a race: climbs to 171 and stays
    found = artifacts.clean_heart_rate(t, hr, cadence=cadence, foot=True)
    assert found.count == 0
    np.testing.assert_array_equal(found.values, hr)


# --- power ---------------------------------------------------------------------------------------


def _ride(n: int = 3600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = _seconds(n)
    power = 200.0 + RNG.normal(0.0, 15.0, n)
    power[1200:1500] = 320.0 + RNG.normal(0.0, 15.0, 300)  # 5 minutes hard
    cadence = np.full(n, 90.0)
    return t, power, cadence


def test_a_2000_w_sample_moves_no_curve_point_an_estimate_uses() -> None:
    t, power, cadence = _ride()
    power[1299:1302] = 320.0  # inside the hard block
    spiked = power.copy()
    spiked[1300] = 2000.0
    before = _curve(t, artifacts.clean_power(t, power, cadence=cadence).values)
    cleaned = artifacts.clean_power(t, spiked, cadence=cadence)
    assert cleaned.artifacts["spikes"] == 1
    after = _curve(t, cleaned.values)
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-9)
    raw = _curve(t, spiked)
    assert raw[2] > before[2] + 5  # 3-minute power, as it was before the rule
    assert raw[0] == 2000.0


def test_a_dropout_while_pedalling_is_bridged_and_coasting_stays() -> None:
    t, power, cadence = _ride()
    clean_curve = _curve(t, artifacts.clean_power(t, power, cadence=cadence).values)
    dropped = power.copy()
    dropped[1300:1305] = 0.0  # inside the hard block, cranks turning
    cleaned = artifacts.clean_power(t, dropped, cadence=cadence)
    assert cleaned.artifacts["dropouts"] == 5
    after = _curve(t, cleaned.values)
    assert after[2] == pytest.approx(clean_curve[2], abs=1.0)  # 3 min: within a watt
    assert after[3] == pytest.approx(clean_curve[3], abs=0.2)  # 20 min
    # Without a cadence nothing says the cranks turned: 0 W is coasting.
    coasting = artifacts.clean_power(t, dropped)
    assert coasting.artifacts["dropouts"] == 0
    assert (coasting.values[1300:1305] == 0).all()
    # A long 0 W stretch with the cranks turning (soft-pedalling downhill) stays too.
    long = power.copy()
    long[2500:2560] = 0.0
    kept = artifacts.clean_power(t, long, cadence=cadence)
    assert kept.artifacts["dropouts"] == 0 and (kept.values[2500:2560] == 0).all()


def test_missing_power_seconds_no_longer_break_a_20_minute_window() -> None:
    t, power, cadence = _ride()
    holes = power.copy()
    holes[50::100] = np.nan  # a lost second every 100 s
    assert np.isnan(_curve(t, holes)[3])  # no gap-free 20 minutes before
    repaired = _curve(t, artifacts.clean_power(t, holes, cadence=cadence).values)
    clean = _curve(t, power)
    assert repaired[3] == pytest.approx(clean[3], abs=0.5)


def test_power_outside_what_a_human_makes() -> None:
    t = _seconds(60)
    power = np.full(60, 250.0)
    power[[10, 40]] = [-20.0, 3500.0]
    cleaned = artifacts.clean_power(t, power)
    assert cleaned.artifacts["out_of_range"] == 2
    np.testing.assert_allclose(cleaned.values, 250.0)


# --- running distance ----------------------------------------------------------------------------


def test_a_gps_jump_no_longer_shortens_the_fastest_mile() -> None:
    n = 2400
    t = _seconds(n)
    distance = np.cumsum(np.full(n, 3.2))
    jumped = distance.copy()
    jumped[1200:] += 400.0  # the watch placed the runner 400 m ahead in one second
    mile = {"1mile": 1609.344}
    truth = curves.best_efforts(t, distance, mile)["1mile"].time_s
    assert curves.best_efforts(t, jumped, mile)["1mile"].time_s < truth - 100
    cleaned = artifacts.clean_run_distance(t, jumped)
    assert cleaned.artifacts == {"jumps": 1}
    np.testing.assert_allclose(cleaned.values, distance)
    assert curves.best_efforts(t, cleaned.values, mile)["1mile"].time_s == pytest.approx(truth)


def test_a_fast_run_and_missing_distances_are_left_alone() -> None:
    t = _seconds(600)
    distance = np.cumsum(np.full(600, 6.0))  # 2:47 per km: a world-class 10 k pace
    distance[100:105] = np.nan
    cleaned = artifacts.clean_run_distance(t, distance)
    assert cleaned.artifacts == {"jumps": 0}
    np.testing.assert_array_equal(cleaned.values, distance)


def test_world_records_are_human_and_a_ride_is_not() -> None:
    records = {1609.344: 223.13, 5000.0: 755.36, 10000.0: 1571.0, 21097.5: 3451.0, 42195.0: 7235.0}
    for meters, seconds in records.items():
        assert estimates.vdot_from_race(meters, seconds) < estimates.MAX_HUMAN_VDOT
    ride = estimates.vdot_from_race(5000.0, 5000.0 / 8.3)  # 30 km/h
    assert ride > estimates.MAX_HUMAN_VDOT
