"""Lagged correlations: the reference vectors, then planted effects, noise and each gate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

from app.analytics.correlations import (
    baseline_deviation,
    bh_adjust,
    correlation_p,
    effective_n,
    findings,
    group_effect,
    lag1_autocorrelation,
    lagged,
    scan,
)

VECTORS = "lagged_correlation_vectors.json"
TOLERANCE = 1e-6


@pytest.fixture
def vectors(reference: Callable[[str], Any]) -> dict[str, Any]:
    return reference(VECTORS)


def _series(values: list[float | None]) -> np.ndarray:
    return np.asarray(values, dtype=float)  # null → NaN, a missing day


def _close(got: float, expected: float) -> bool:
    """Absolute 1e-6, and relative 1e-6 too so that p-values near 1e-50 are really checked."""
    return got == pytest.approx(expected, abs=TOLERANCE) and got == pytest.approx(
        expected, rel=TOLERANCE
    )


# --- reference vectors ------------------------------------------------------------------------


def test_lagged_reproduces_every_vector_row(vectors: dict[str, Any]) -> None:
    x, y = _series(vectors["x"]), _series(vectors["y"])
    expected_rows = vectors["rows"]
    rows = lagged(x, y, lags=[row["lag_days"] for row in expected_rows])

    assert len(rows) == len(expected_rows)
    for got, expected in zip(rows, expected_rows, strict=True):
        assert got.lag == expected["lag_days"]
        assert got.n == expected["n"]
        assert _close(got.pearson_r, expected["pearson_r"]), expected
        assert _close(got.pearson_p, expected["pearson_p"]), expected
        assert _close(got.spearman_rho, expected["spearman_rho"]), expected
        assert _close(got.spearman_p, expected["spearman_p"]), expected


def test_bh_over_the_vector_lags_reproduces_the_adjusted_p(vectors: dict[str, Any]) -> None:
    x, y = _series(vectors["x"]), _series(vectors["y"])
    expected_rows = vectors["rows"]
    rows = lagged(x, y, lags=[row["lag_days"] for row in expected_rows])

    adjusted = bh_adjust([row.pearson_p for row in rows])

    for got, expected in zip(adjusted, expected_rows, strict=True):
        assert _close(float(got), expected["pearson_p_bh"]), expected


def test_bh_reproduces_the_benjamini_hochberg_1995_example(vectors: dict[str, Any]) -> None:
    example = vectors["bh_example"]
    adjusted = bh_adjust(example["p"])

    assert len(adjusted) == len(example["bh_adjusted"])
    for got, expected in zip(adjusted, example["bh_adjusted"], strict=True):
        assert float(got) == pytest.approx(expected, abs=TOLERANCE)
    rejection_keys = [key for key in example if key.startswith("rejected_at_q_")]
    assert rejection_keys
    for key in rejection_keys:
        level = float(key.removeprefix("rejected_at_q_"))
        assert (adjusted <= level).tolist() == example[key]


def test_scan_agrees_with_lagged_on_the_vector_series(vectors: dict[str, Any]) -> None:
    x, y = _series(vectors["x"]), _series(vectors["y"])
    lags = [row["lag_days"] for row in vectors["rows"]]

    tests = scan({"x": x}, {"y": y}, lags=lags)

    for test, row in zip(tests, lagged(x, y, lags=lags), strict=True):
        assert (test.lag, test.n) == (row.lag, row.n)
        assert test.r == pytest.approx(row.pearson_r, abs=1e-12)
        assert test.rho == pytest.approx(row.spearman_rho, abs=1e-12)
        assert test.n_eff <= test.n


# --- agreement with scipy ---------------------------------------------------------------------


def test_pearson_and_spearman_match_scipy_with_gaps_and_ties() -> None:
    rng = np.random.default_rng(20260101)
    days = 400
    inputs = {f"input{i}": np.round(rng.normal(size=days) * 3) for i in range(4)}  # many ties
    outcomes = {f"outcome{o}": rng.normal(size=days) + 0.1 * o for o in range(3)}
    outcomes["outcome2"] = np.round(outcomes["outcome2"] * 2)
    for series in [*inputs.values(), *outcomes.values()]:
        series[rng.random(days) < 0.15] = np.nan

    for test in scan(inputs, outcomes, lags=[0, 1, 5]):
        x = inputs[test.input][: days - test.lag]
        y = outcomes[test.outcome][test.lag :]
        complete = np.isfinite(x) & np.isfinite(y)
        pearson = stats.pearsonr(x[complete], y[complete])
        spearman = stats.spearmanr(x[complete], y[complete])
        assert test.n == complete.sum()
        assert test.r == pytest.approx(pearson.statistic, abs=1e-12)
        assert test.p == pytest.approx(pearson.pvalue, rel=1e-9)
        assert test.rho == pytest.approx(spearman.statistic, abs=1e-12)
        assert test.rho_p == pytest.approx(spearman.pvalue, rel=1e-9)


def test_bh_adjust_matches_scipy_and_leaves_nan_out_of_the_family() -> None:
    rng = np.random.default_rng(7)
    p = rng.random(200) ** 3

    assert bh_adjust(p) == pytest.approx(stats.false_discovery_control(p, method="bh"))

    with_gaps = np.concatenate([p[:50], [np.nan, np.nan]])
    adjusted = bh_adjust(with_gaps)
    assert np.isnan(adjusted[-2:]).all()
    assert adjusted[:50] == pytest.approx(stats.false_discovery_control(p[:50], method="bh"))


def test_correlation_p_is_the_t_approximation_and_accepts_a_fractional_n() -> None:
    r, n = 0.31, 41
    t = r * np.sqrt((n - 2) / (1 - r**2))
    assert correlation_p(r, n) == pytest.approx(2 * stats.t.sf(t, n - 2), rel=1e-12)
    assert correlation_p(r, 30.5) == pytest.approx(
        2 * stats.t.sf(r * np.sqrt(28.5 / (1 - r**2)), 28.5), rel=1e-12
    )
    assert np.isnan(correlation_p(0.5, 2))
    assert correlation_p(1.0, 10) == 0.0


# --- effective sample size --------------------------------------------------------------------


def _ar1(rng: np.random.Generator, days: int, phi: float) -> np.ndarray:
    shocks = rng.normal(size=days)
    series = np.empty(days)
    series[0] = shocks[0] / np.sqrt(1 - phi**2)
    for day in range(1, days):
        series[day] = phi * series[day - 1] + shocks[day]
    return series


def test_autocorrelated_series_have_an_effective_n_well_below_n() -> None:
    rng = np.random.default_rng(42)
    days = 3000
    x, y = _ar1(rng, days, 0.9), _ar1(rng, days, 0.9)

    assert lag1_autocorrelation(x) == pytest.approx(0.9, abs=0.03)
    expected = days * (1 - 0.81) / (1 + 0.81)  # Bretherton et al. 1999, eq. 31
    assert effective_n(x, y) == pytest.approx(expected, rel=0.2)
    assert effective_n(x, y) < 0.2 * days


def test_white_noise_keeps_nearly_all_of_its_n() -> None:
    rng = np.random.default_rng(43)
    x, y = rng.normal(size=1000), rng.normal(size=1000)

    assert 0.95 * 1000 <= effective_n(x, y) <= 1000
    assert effective_n(x, y, lag=3) <= 997


def test_a_strong_relation_between_autocorrelated_series_is_held_back() -> None:
    rng = np.random.default_rng(44)
    x = _ar1(rng, 150, 0.95)
    y = x + 0.3 * rng.normal(size=150)

    [test] = scan({"x": x}, {"y": y}, lags=[0])

    assert test.r > 0.9 and test.p < 1e-40  # nominally overwhelming
    assert test.n_eff < 30
    assert findings({"x": x}, {"y": y}, lags=[0]) == []


# --- planted effects, noise and gates ---------------------------------------------------------


def _noise_frame(
    rng: np.random.Generator, days: int, n_inputs: int = 15, n_outcomes: int = 5
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    inputs = {f"input{i}": 50 + 10 * rng.normal(size=days) for i in range(n_inputs)}
    outcomes = {f"outcome{o}": 100 + 5 * rng.normal(size=days) for o in range(n_outcomes)}
    for series in [*inputs.values(), *outcomes.values()]:
        series[rng.random(days) < 0.1] = np.nan
    return inputs, outcomes


def test_a_planted_lag_3_effect_is_found_at_lag_3_only() -> None:
    rng = np.random.default_rng(2024)
    days = 730
    inputs, outcomes = _noise_frame(rng, days)
    sleep = inputs["input4"]
    readiness = outcomes["outcome2"]
    readiness[3:] = 100 + 0.4 * (sleep[:-3] - 50) + 4 * rng.normal(size=days - 3)
    readiness[rng.random(days) < 0.1] = np.nan

    found = findings(inputs, outcomes)

    assert [(f.input, f.outcome, f.lag) for f in found] == [("input4", "outcome2", 3)]
    [finding] = found
    assert finding.direction == "positive"
    assert finding.r >= 0.3 and finding.rho >= 0.3
    assert finding.n_eff >= 30 and finding.q <= 0.05 and finding.p_eff <= finding.q
    effect = finding.effect
    assert effect.grouping == "terciles"
    assert effect.high_threshold > effect.low_threshold
    assert effect.high_mean > effect.low_mean
    assert effect.difference == pytest.approx(effect.high_mean - effect.low_mean)
    assert effect.difference_percent == pytest.approx(100 * effect.difference / effect.low_mean)


def test_pure_noise_of_the_same_length_yields_no_findings() -> None:
    rng = np.random.default_rng(2025)
    inputs, outcomes = _noise_frame(rng, 730)

    tests = scan(inputs, outcomes)

    assert len(tests) == 15 * 5 * 8
    assert findings(inputs, outcomes) == []


def test_too_few_days_yield_no_findings() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=20)
    y = np.full(20, np.nan)
    y[2:] = x[:-2] + 0.05 * rng.normal(size=18)

    lag_2 = next(test for test in scan({"x": x}, {"y": y}) if test.lag == 2)

    assert lag_2.r > 0.99
    assert lag_2.n_eff < 30
    assert findings({"x": x}, {"y": y}) == []
    assert findings({"x": x[:5]}, {"y": y[:5]}) == []  # shorter than the longest lag


def test_a_relation_whose_sign_flips_between_halves_is_rejected() -> None:
    rng = np.random.default_rng(5)
    half = 300
    x = np.concatenate([3 * rng.normal(size=half), rng.normal(size=half)])
    noise = rng.normal(size=2 * half)
    flipped = np.concatenate([x[:half], -0.5 * x[half:]]) + noise
    steady = np.concatenate([x[:half], 0.5 * x[half:]]) + noise

    [test] = scan({"x": x}, {"y": flipped}, lags=[0])

    assert abs(test.r) >= 0.3 and test.n_eff >= 30 and test.q <= 0.05  # every other gate passes
    assert test.r_first_half > 0 > test.r_second_half
    assert findings({"x": x}, {"y": flipped}, lags=[0]) == []
    assert len(findings({"x": x}, {"y": steady}, lags=[0])) == 1


def test_gates_are_configurable() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=400)
    y = 0.25 * x + rng.normal(size=400)  # r ≈ 0.24: real but below the default |r| gate

    assert findings({"x": x}, {"y": y}, lags=[0]) == []
    [finding] = findings({"x": x}, {"y": y}, lags=[0], min_abs_r=0.15)
    assert 0.15 <= finding.r < 0.3
    assert findings({"x": x}, {"y": y}, lags=[0], min_abs_r=0.15, min_n_eff=500) == []


def test_independent_drifts_pass_when_baselined() -> None:
    rng = np.random.default_rng(8)
    days = 1500

    def drift() -> np.ndarray:
        return np.cumsum(rng.normal(size=days)) * 0.1 + rng.normal(size=days)

    inputs = {f"input{i}": drift() for i in range(6)}
    outcomes = {f"outcome{o}": drift() for o in range(3)}
    assert findings(inputs, outcomes, baseline_days=28) == []

    weight = inputs["input0"]
    planted = np.full(days, np.nan)
    planted[3:] = 0.8 * weight[:-3] + rng.normal(size=days - 3)
    found = findings(inputs, {"planted": planted}, baseline_days=28)
    assert [(f.input, f.lag) for f in found] == [("input0", 3)]


# --- effect size and helpers ------------------------------------------------------------------


def test_group_effect_by_terciles_and_by_threshold() -> None:
    sleep = np.tile(np.arange(1.0, 10.0), 10)  # 1..9 h, 90 days
    efficiency = 2.0 + 0.1 * sleep

    terciles = group_effect(sleep, efficiency, lag=0)
    assert terciles is not None
    assert terciles.low_threshold == pytest.approx(np.quantile(sleep, 1 / 3))
    assert terciles.high_threshold == pytest.approx(np.quantile(sleep, 2 / 3))
    assert terciles.high_mean == pytest.approx(2.0 + 0.1 * 8)  # 7, 8, 9 h
    assert terciles.low_mean == pytest.approx(2.0 + 0.1 * 2)  # 1, 2, 3 h
    assert terciles.difference_percent == pytest.approx(100 * 0.6 / 2.2)

    threshold = group_effect(sleep, efficiency, lag=0, threshold=7.5)
    assert threshold is not None
    assert (threshold.grouping, threshold.n_high, threshold.n_low) == ("threshold", 20, 70)
    assert threshold.high_mean == pytest.approx(2.0 + 0.1 * 8.5)
    assert threshold.low_mean == pytest.approx(2.0 + 0.1 * 4)

    decoupling = sleep - 5.0  # negative on short nights: no meaningful percentage
    below_zero = group_effect(sleep, decoupling, lag=0)
    assert below_zero is not None and below_zero.difference_percent is None
    assert group_effect(sleep, efficiency, lag=0, threshold=100.0) is None


def test_findings_use_the_callers_threshold_for_the_sentence() -> None:
    rng = np.random.default_rng(9)
    sleep = 7 + rng.normal(size=500)
    efficiency = 1.5 + 0.05 * sleep + 0.04 * rng.normal(size=500)

    [finding] = findings({"sleep": sleep}, {"ef": efficiency}, lags=[0], thresholds={"sleep": 7.5})

    assert finding.effect.grouping == "threshold"
    assert finding.effect.high_threshold == finding.effect.low_threshold == 7.5
    assert finding.effect.difference > 0


def test_baseline_deviation_excludes_today_and_needs_half_a_window() -> None:
    values = np.arange(10.0)
    values[4] = np.nan

    deviation = baseline_deviation(values, days=4)

    assert np.isnan(deviation[[0, 1, 4]]).all()
    assert deviation[2] == pytest.approx(2 - 0.5)
    assert deviation[6] == pytest.approx(6 - (2 + 3 + 5) / 3)
    assert deviation[9] == pytest.approx(9 - 6.5)


def test_series_must_share_a_date_range_and_lags_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="lengths differ"):
        scan({"x": np.zeros(10)}, {"y": np.zeros(11)})
    with pytest.raises(ValueError, match="lags"):
        lagged(np.zeros(10), np.zeros(10), lags=[-1])
