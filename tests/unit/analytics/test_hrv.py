"""The HRV normal band: a 7-day average against the mean ± 1 SD of 60 days, with minimum nights."""

from __future__ import annotations

import numpy as np
import pytest

from app.analytics.hrv import hrv_band, hrv_status


def test_hrv_baseline_rule():
    rng = np.random.default_rng(1)
    nightly = 60 + rng.normal(0, 5, 80)
    band = hrv_band(nightly, np.full(80, np.nan))
    assert band.statistic == "rmssd"
    window = nightly[-60:]
    assert band.low[-1] == pytest.approx(window.mean() - window.std(ddof=1))
    assert band.high[-1] == pytest.approx(window.mean() + window.std(ddof=1))
    assert band.short[-1] == pytest.approx(nightly[-7:].mean())
    # A normal range needs 20 nights in the 60 days; a 7-day average 3 nights in the 7.
    sparse = np.full(80, np.nan)
    sparse[-19:] = 60.0
    assert np.isnan(hrv_band(sparse, sparse).low[-1])
    sparse[-20] = 60.0
    assert hrv_band(sparse, sparse).low[-1] == pytest.approx(60.0)
    few = np.full(10, np.nan)
    few[[-1, -5]] = 50.0
    assert np.isnan(hrv_band(few, few).short[-1])
    # SDNN only when no rMSSD at all; never mixed.
    assert hrv_band(np.full(5, np.nan), np.full(5, 40.0)).statistic == "sdnn"
    mixed = hrv_band(np.array([np.nan, 50.0]), np.array([30.0, 30.0]))
    assert mixed.statistic == "rmssd" and np.isnan(mixed.nightly[0])
    assert hrv_status(50.0, 52.0, 60.0) == "below"
    assert hrv_status(52.0, 52.0, 60.0) == "within"  # boundaries are within
    assert hrv_status(60.5, 52.0, 60.0) == "above"
    assert hrv_status(float("nan"), 52.0, 60.0) is None
