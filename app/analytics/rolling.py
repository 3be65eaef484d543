"""Trailing windows over a series (days, or seconds of a 1 Hz stream); NaN = no value.

One rolling mean serves every caller: the Wellness page's 7-, 28- and 60-day averages (days
without a value skipped, at least a few values in the window), the PMC's rolling ACWR (a full
window of days) and the 1 Hz mean-of-a-window (full windows only, sliced by the caller).
Window sums are summed per window, not as cumulative-sum differences, so an all-zero window is
exactly 0 (a zero chronic load is recognised as undefined, not as 1e-14) and no rounding error
accumulates along a ten-year series.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

WEEK = 7


def _window_sums(values: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """Per index: the sum of the finite values of the ``window`` positions ending there, and
    how many there were (windows at the start are shorter)."""
    if window < 1:
        raise ValueError("window must be at least 1")
    finite = np.isfinite(values)
    filled = np.concatenate((np.zeros(window - 1), np.where(finite, values, 0.0)))
    sums = sliding_window_view(filled, window).sum(axis=1)
    counts = np.concatenate(([0], np.cumsum(finite)))
    end = np.arange(1, values.size + 1)
    begin = np.maximum(end - window, 0)
    return sums, (counts[end] - counts[begin]).astype(np.float64)


def rolling_mean(values: ArrayLike, window: int, *, min_count: int | None = None) -> FloatArray:
    """Mean of the finite values of the ``window`` positions ending at each index (the same
    length as ``values``); NaN where the window holds fewer than ``min_count`` of them.

    The default ``min_count`` is ``window``: only full windows without a gap have a mean, so
    ``rolling_mean(x, k)[k - 1:]`` is the classic full-window trailing mean.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError("values must be a 1-D series")
    if array.size == 0:
        return np.empty(0)
    needed = window if min_count is None else max(min_count, 1)
    total, count = _window_sums(array, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    return np.where(count >= needed, mean, np.nan)


def rolling_sd(values: ArrayLike, window: int, *, min_count: int = 2) -> FloatArray:
    """Sample standard deviation (ddof 1) of the finite values of each trailing ``window``;
    NaN where fewer than ``min_count`` (at least 2) are present."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return np.empty(0)
    total, count = _window_sums(array, window)
    squares, _count = _window_sums(array * array, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (squares - total * total / count) / (count - 1)
    return np.where(count >= max(min_count, 2), np.sqrt(np.maximum(variance, 0.0)), np.nan)


def _weekly_shape(values: FloatArray) -> FloatArray:
    """Rows of 7, padded with NaN at the start so the last row ends on the last value."""
    pad = (-values.size) % WEEK
    return np.concatenate((np.full(pad, np.nan), values)).reshape(-1, WEEK)


def weekly_mean(values: ArrayLike) -> FloatArray:
    """The mean of the finite values of each week (weeks end on the last day); NaN for a week
    without any."""
    rows = _weekly_shape(np.asarray(values, dtype=np.float64))
    finite = np.isfinite(rows)
    count = finite.sum(axis=1)
    total = np.where(finite, rows, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def weekly_last(values: ArrayLike) -> FloatArray:
    """The value of each week's last day (weeks end on the last day)."""
    return _weekly_shape(np.asarray(values, dtype=np.float64))[:, -1]
