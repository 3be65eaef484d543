"""The one rolling mean (wellness averages, the PMC's rolling ACWR, 1 Hz windows), its SD and
the weekly points of long ranges."""

from __future__ import annotations

import numpy as np
import pytest

from app.analytics.rolling import rolling_mean, rolling_sd, weekly_last, weekly_mean


def test_averages_skip_missing_days_not_zero():
    values = np.array([10.0, np.nan, np.nan, 20.0])
    assert rolling_mean(values, 7, min_count=1).tolist() == [10.0, 10.0, 10.0, 15.0]
    assert np.isnan(rolling_mean(np.array([np.nan, np.nan]), 7, min_count=1)).all()


def test_by_default_only_full_windows_without_a_gap_have_a_mean():
    np.testing.assert_array_equal(rolling_mean([1, 2, 3, 4], 2)[1:], [1.5, 2.5, 3.5])
    assert np.isnan(rolling_mean([1, 2, 3, 4], 2)[0])
    assert rolling_mean([1, 2], 3)[2:].size == 0 and np.isnan(rolling_mean([1, 2], 3)).all()
    with_gap = rolling_mean([1.0, np.nan, 3.0, 4.0, 5.0], 2)
    np.testing.assert_array_equal(np.isnan(with_gap), [True, True, True, False, False])
    assert rolling_mean([], 3).size == 0


def test_the_mean_equals_the_textbook_window_on_long_noisy_series():
    rng = np.random.default_rng(3)
    values = rng.normal(220.0, 60.0, 5_000)
    expected = np.lib.stride_tricks.sliding_window_view(values, 30).mean(axis=1)
    np.testing.assert_allclose(rolling_mean(values, 30)[29:], expected, rtol=1e-12)


def test_an_all_zero_window_after_load_is_exactly_zero():
    """Cumulative-sum differences would leave ~1e-14 here; a zero chronic load must be 0."""
    values = np.concatenate((np.full(50, 123.456789), np.zeros(30)))
    assert rolling_mean(values, 28)[-1] == 0.0


def test_rolling_sd_is_the_sample_sd_of_the_finite_values():
    values = np.array([1.0, 2.0, np.nan, 4.0, 8.0])
    sd = rolling_sd(values, 3)
    assert np.isnan(sd[0])
    assert sd[1] == pytest.approx(np.std([1.0, 2.0], ddof=1))
    assert sd[4] == pytest.approx(np.std([4.0, 8.0], ddof=1))
    assert np.isnan(rolling_sd(values, 3, min_count=3)[4])
    with pytest.raises(ValueError):
        rolling_mean(values, 0)


def test_weeks_end_on_the_last_day():
    values = np.arange(1.0, 10.0)  # 9 days: a 2-day first week (padded), then 7 days
    np.testing.assert_array_equal(weekly_last(values), [2.0, 9.0])
    np.testing.assert_array_equal(weekly_mean(values), [1.5, 6.0])
    assert np.isnan(weekly_mean(np.full(7, np.nan))).all()
