"""How a recording's time axis is read: gaps, pauses and the duration each sample stands for.

One convention for every metric (``load``, ``zones``, ``summary``, ``curves``, ``running``,
``efficiency``):

* An interval between two samples of at most :data:`DEFAULT_MAX_GAP_S` (10 s; Garmin "smart
  recording" writes every 1-8 s while moving, a lost packet) is bridged; a longer one is a pause
  (auto-pause, a stop) and the time inside it is not training time.
* Duration-weighted metrics (time in zone, TRIMP, averages) credit each sample with the interval
  to the next one, and with one nominal interval before a pause and for the last sample
  (:func:`sample_durations`).
* 1 Hz metrics (NP, curves, NGP, EF) bridge short gaps by linear interpolation and drop or mark
  the seconds inside a pause (``app.analytics.curves.resample_to_1hz``,
  ``app.analytics.load.power_per_second``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

DEFAULT_MAX_GAP_S = 10.0
"""Longest interval between two samples that still counts in full (seconds); longer is a pause."""


def sample_durations(time_s: ArrayLike, *, max_gap_s: float = DEFAULT_MAX_GAP_S) -> FloatArray:
    """Seconds credited to each sample: the interval to the next sample.

    An interval longer than ``max_gap_s`` is a pause: the sample before it is credited with one
    nominal interval only (the median positive interval, capped at ``max_gap_s``; 1 s for a
    single sample), and so is the last sample. This is the duration-weighted form of the 1 Hz
    grid in ``app.analytics.curves`` (short gaps bridged, the seconds inside a pause dropped).
    A regular 1 Hz recording of ``n`` samples gets 1 s per sample and lasts ``n`` s, as in
    GoldenCheetah (``count · recIntSecs``) and the reference vectors.

    Raises ``ValueError`` if the times are not finite and non-decreasing.
    """
    t = np.asarray(time_s, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError("time must be a 1-D array of seconds")
    if t.size == 0:
        return np.zeros(0)
    if not np.isfinite(t).all():
        raise ValueError("time must be finite")
    if max_gap_s <= 0:
        raise ValueError("max_gap_s must be positive")
    dt = np.diff(t)
    if (dt < 0).any():
        raise ValueError("time must be non-decreasing")
    positive = dt[dt > 0]
    nominal = min(float(np.median(positive)) if positive.size else 1.0, max_gap_s)
    return np.append(np.where(dt > max_gap_s, nominal, dt), nominal)
