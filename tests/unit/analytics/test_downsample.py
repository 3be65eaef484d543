"""LTTB keeps the ends and the extremes of a line with far fewer points; Visvalingam–Whyatt
keeps the corners of a route."""

from __future__ import annotations

import numpy as np
import pytest

from app.analytics.downsample import lttb, lttb_indices, visvalingam_indices


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


def test_visvalingam_keeps_the_corners_of_a_noisy_square():
    rng = np.random.default_rng(5)
    side = np.linspace(0.0, 100.0, 500)
    x = np.concatenate((side, np.full(500, 100.0), side[::-1], np.zeros(500)))
    y = np.concatenate((np.zeros(500), side, np.full(500, 100.0), side[::-1]))
    x, y = x + rng.normal(0, 0.01, x.size), y + rng.normal(0, 0.01, y.size)
    keep = visvalingam_indices(x, y, 50)
    assert 2 < keep.size <= 50
    assert keep[0] == 0 and keep[-1] == x.size - 1
    assert np.all(np.diff(keep) > 0)
    for corner in ((100.0, 0.0), (100.0, 100.0), (0.0, 100.0)):
        distance = np.hypot(x[keep] - corner[0], y[keep] - corner[1])
        assert distance.min() < 1.0, corner


def test_visvalingam_keeps_short_lines_whole_and_checks_shapes():
    assert visvalingam_indices([0.0, 1.0, 2.0], [0.0, 1.0, 0.0], 10).tolist() == [0, 1, 2]
    with pytest.raises(ValueError):
        visvalingam_indices([0.0, 1.0], [0.0], 10)
