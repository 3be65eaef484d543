"""LTTB keeps the ends and the extremes of a line with far fewer points."""

from __future__ import annotations

import numpy as np
import pytest

from app.analytics.downsample import lttb, lttb_indices


def test_short_series_are_kept_whole():
    assert lttb_indices([0, 1, 2], [5, 6, 7], 10).tolist() == [0, 1, 2]


def test_ends_are_kept_and_indices_increase():
    x = np.arange(10_000, dtype=float)
    y = np.sin(x / 300)
    index = lttb_indices(x, y, 500)
    assert index.size == 500
    assert index[0] == 0 and index[-1] == 9_999
    assert np.all(np.diff(index) > 0)


def test_a_spike_survives():
    x = np.arange(20_000, dtype=float)
    y = np.zeros_like(x)
    y[12_345] = 100.0
    y[777] = -50.0
    _, kept = lttb(x, y, 200)
    assert kept.max() == 100.0 and kept.min() == -50.0


def test_the_shape_stays_close():
    x = np.linspace(0, 6 * np.pi, 50_000)
    y = np.sin(x)
    kx, ky = lttb(x, y, 1000)
    assert np.max(np.abs(np.interp(x, kx, ky) - y)) < 0.01


def test_gaps_stay_gaps():
    x = np.arange(3_000, dtype=float)
    y = np.ones_like(x)
    y[1000:2000] = np.nan
    _, kept = lttb(x, y, 300)
    assert np.isnan(kept).any() and np.nanmax(kept) == 1.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        lttb_indices([1, 2, 3], [1, 2], 2)
    with pytest.raises(ValueError):
        lttb_indices(np.arange(10), np.arange(10), 2)
