"""Mean-maximal curves (best average of a channel for each duration) and best efforts by distance.

Everything here works on a **1 Hz grid**: :func:`resample_to_1hz` turns the stored samples
(``app.records.Samples``: Unix seconds, strictly increasing, ``NaN`` = not recorded) into
one value per second, and the curves are computed from cumulative sums over that grid, so a
whole curve costs a handful of vector operations per duration.

Gaps (the convention of :mod:`app.analytics.samples`, shared by every metric):

* a gap between two samples of at most ``max_gap_s`` seconds (Garmin "smart recording", a
  dropped packet) is filled by linear interpolation between its two ends — GoldenCheetah does
  the same below its "smart recording threshold";
* a longer gap (a pause: the device stopped recording) is filled with ``fill``, by default
  ``NaN``. A mean-maximal window never contains a ``NaN`` second, so by default no best effort
  spans a pause or a missing value. Passing ``gap_fill=0.0`` to :func:`mean_maximal` instead
  counts a pause as zero (GoldenCheetah's behaviour for power when smart recording is off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.analytics.samples import DEFAULT_MAX_GAP_S

FloatArray = NDArray[np.float64]

#: Durations of the default mean-maximal curve, 1 s … 60 min.
DEFAULT_DURATIONS_S: tuple[int, ...] = (
    1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 360, 480, 600, 720, 900,
    1200, 1500, 1800, 2400, 3000, 3600,
)  # fmt: skip

#: Distances of the default best-effort table, in metres.
BEST_EFFORT_DISTANCES_M: dict[str, float] = {
    "400m": 400.0,
    "1k": 1000.0,
    "1mile": 1609.344,
    "5k": 5000.0,
    "10k": 10000.0,
    "half_marathon": 21097.5,
    "marathon": 42195.0,
}


@dataclass(frozen=True, slots=True)
class Grid:
    """Where each second of a recording's 1 Hz grid comes from, worked out once from the time
    axis and applied to any number of channels (:meth:`apply`); see :func:`resample_to_1hz`.

    Only the seconds outside pauses are described (``kept``): a recording left running for
    days (the grid's millions of seconds, nearly all of them inside pauses) costs what its
    samples do.
    """

    start: float  # the first sample's time, Unix seconds
    size: int  # seconds in the grid
    kept: NDArray[np.intp] | None  # the seconds not inside a pause (None: all of them)
    prev: NDArray[np.intp] | None  # for each kept second (None: every second is a sample)
    nxt: NDArray[np.intp] | None
    weight: FloatArray | None  # of the next sample, for an interpolated second
    exact: NDArray[np.bool_] | None  # the second is a sample

    @classmethod
    def of(cls, time: ArrayLike, *, max_gap_s: float = DEFAULT_MAX_GAP_S) -> Grid:
        t = np.asarray(time, dtype=np.float64)
        if t.ndim != 1:
            raise ValueError("time must be a 1-D array")
        if t.size == 0:
            return cls(0.0, 0, None, None, None, None, None)
        size = int(np.floor(t[-1] - t[0])) + 1
        steps = np.diff(t)
        if size == t.size and np.array_equal(t, t[0] + np.arange(float(size))):
            return cls(float(t[0]), size, None, None, None, None, None)  # gap-free 1 Hz
        if np.array_equal(steps, np.floor(steps)) and steps.min() > 0:
            return cls._whole_seconds(t, steps, size, max_gap_s)
        grid = t[0] + np.arange(float(size))
        prev = np.searchsorted(t, grid, side="right") - 1
        nxt = np.minimum(prev + 1, t.size - 1)
        t0 = t[prev]
        span = t[nxt] - t0
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = np.where(span > 0, (grid - t0) / np.where(span > 0, span, 1.0), 0.0)
        exact = grid == t0
        moving = exact | (span <= max_gap_s)
        if moving.all():
            return cls(float(t[0]), size, None, prev, nxt, weight, exact)
        kept = np.flatnonzero(moving)
        return cls(float(t[0]), size, kept, prev[kept], nxt[kept], weight[kept], exact[kept])

    @classmethod
    def _whole_seconds(cls, t: FloatArray, steps: FloatArray, size: int, max_gap: float) -> Grid:
        """Every sample a whole number of seconds after the one before (FIT files): the kept
        seconds are each sample's, and the ones between two samples at most ``max_gap`` apart,
        ``k`` seconds after the first of them at weight ``k / step`` (no search)."""
        bridged = steps <= max_gap
        counts = np.append(np.where(bridged, steps, 1.0).astype(np.intp), 1)  # last: itself
        prev = np.repeat(np.arange(t.size), counts)
        first = np.cumsum(counts) - counts
        offset = np.arange(prev.size) - np.repeat(first, counts)  # seconds after the sample
        origin = np.append(0.0, np.cumsum(steps)).astype(np.intp)  # each sample's second
        kept = origin[prev] + offset
        nxt = np.minimum(prev + 1, t.size - 1)
        span = np.append(steps, 0.0)[prev]
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = np.where(span > 0, offset / np.where(span > 0, span, 1.0), 0.0)
        return cls(
            float(t[0]),
            size,
            None if kept.size == size else kept,
            prev,
            nxt,
            weight,
            offset == 0,
        )

    @property
    def seconds(self) -> FloatArray:
        """The grid, Unix seconds."""
        return self.start + np.arange(float(self.size))

    @property
    def moving(self) -> NDArray[np.bool_]:
        """The grid seconds that are not inside a pause."""
        if self.kept is None:
            return np.ones(self.size, dtype=bool)
        mask = np.zeros(self.size, dtype=bool)
        mask[self.kept] = True
        return mask

    def apply_moving(self, values: ArrayLike) -> FloatArray:
        """``values`` (one per sample) on the grid's seconds outside pauses only."""
        v = np.asarray(values, dtype=np.float64)
        if self.prev is None:
            return v.copy()
        assert self.nxt is not None and self.weight is not None
        before = v[self.prev]
        with np.errstate(invalid="ignore"):
            interpolated = before * (1.0 - self.weight) + v[self.nxt] * self.weight
        return np.where(self.exact, before, interpolated)

    def apply(self, values: ArrayLike, *, fill: float = np.nan) -> FloatArray:
        """``values`` (one per sample) on the grid; ``fill`` inside pauses."""
        moving = self.apply_moving(values)
        if self.kept is None:
            return moving
        out = np.full(self.size, fill)
        out[self.kept] = moving
        return out


def resample_to_1hz(
    time: ArrayLike,
    values: ArrayLike,
    *,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    fill: float = np.nan,
) -> tuple[FloatArray, FloatArray]:
    """``(grid, values)`` on a 1 s grid from ``time[0]`` to at most ``time[-1]``.

    A grid second that falls on a sample takes its value; one inside a gap of at most
    ``max_gap_s`` is interpolated linearly between the gap's ends (a ``NaN`` end gives ``NaN``);
    one inside a longer gap gets ``fill``. Vectorised: the sample before each grid second comes
    from :func:`numpy.searchsorted`, or, when every sample is a whole number of seconds after
    the first (FIT files), from a run-length repeat; a gap-free 1 Hz recording is its own grid.
    Several channels of one recording: :class:`Grid` works the axis out once.
    """
    t = np.asarray(time, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.shape != v.shape or t.ndim != 1:
        raise ValueError("time and values must be 1-D arrays of the same length")
    grid = Grid.of(t, max_gap_s=max_gap_s)
    return grid.seconds, grid.apply(v, fill=fill)


@dataclass(frozen=True, slots=True)
class MeanMaximal:
    """A mean-maximal curve: for each duration the best average and where it starts.

    ``value`` and ``start_s`` (seconds after the first sample) are ``NaN`` for a duration that
    no gap-free window of the recording covers.
    """

    duration_s: NDArray[np.int64]
    value: FloatArray
    start_s: FloatArray


def mean_maximal(
    time: ArrayLike,
    values: ArrayLike,
    durations_s: ArrayLike = DEFAULT_DURATIONS_S,
    *,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    gap_fill: float | None = None,
) -> MeanMaximal:
    """Best average of ``values`` over every window of each duration (power, HR, speed …).

    The series is resampled with :func:`resample_to_1hz` (pauses filled with ``gap_fill``;
    ``None`` = ``NaN``, so windows never span a pause). With ``S`` the cumulative sum, the mean
    of the window ``[i, i + k)`` is ``(S[i+k] - S[i]) / k`` and the best is a vector ``argmax``
    over all ``i``; only the valid seconds are summed, and a window must lie inside one run of
    them. Cost: O(valid seconds) per duration. The earliest best window wins a tie.
    """
    durations = np.asarray(durations_s, dtype=np.int64).ravel()
    if np.any(durations < 1):
        raise ValueError("durations must be at least 1 s")
    t = np.asarray(time, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.shape != v.shape or t.ndim != 1:
        raise ValueError("time and values must be 1-D arrays of the same length")
    grid = Grid.of(t, max_gap_s=max_gap_s)
    # Windows never hold a NaN second, so only the valid seconds are kept, each run of them
    # numbered: a window is one run's seconds i..i+k-1 (the sums are the same as over the full
    # series, whose NaN seconds would add 0.0).
    if gap_fill is None and grid.kept is not None:
        # Pauses are NaN: the valid seconds are the finite ones outside pauses, taken from
        # them directly rather than from a full grid (a recording left running for a day
        # would otherwise cost its 86,400 seconds per curve).
        moving = grid.apply_moving(v)
        finite = np.isfinite(moving)
        where = grid.kept[finite]
        kept = moving[finite]
    else:
        series = grid.apply(v, fill=np.nan if gap_fill is None else float(gap_fill))
        valid = np.isfinite(series)
        where = np.flatnonzero(valid) if not valid.all() else None
        kept = series if where is None else series[where]
    cumulative = np.concatenate(([0.0], np.cumsum(kept)))
    run = None
    if where is not None and where.size:
        run = np.cumsum(np.concatenate(([1], np.diff(where) != 1)))
    best = np.full(durations.shape, np.nan)
    start = np.full(durations.shape, np.nan)
    n = kept.size
    for slot, k in enumerate(durations.tolist()):  # one vector pass per duration
        if k > n:
            continue
        sums = cumulative[k:] - cumulative[:-k]
        if run is not None:
            full = run[k - 1 :] == run[: n - k + 1]
            if not full.any():
                continue
            sums = np.where(full, sums, -np.inf)
        i = int(np.argmax(sums))
        best[slot] = sums[i] / k
        start[slot] = float(i if where is None else where[i])
    return MeanMaximal(duration_s=durations, value=best, start_s=start)


@dataclass(frozen=True, slots=True)
class BestEffort:
    """The fastest stretch of a given distance: elapsed time, start (s after the first sample)
    and pace in s/km. ``None`` when the recording is shorter than the distance."""

    distance_m: float
    time_s: float | None
    start_s: float | None
    pace_s_per_km: float | None


def best_efforts(
    time: ArrayLike,
    distance: ArrayLike,
    distances_m: dict[str, float] | None = None,
) -> dict[str, BestEffort]:
    """Fastest time over each distance, from the cumulative ``distance`` channel.

    Convention: a candidate stretch starts exactly at a sample and ends where the (linearly
    interpolated) distance reaches ``start + D``, or ends exactly at a sample and starts where
    the interpolated distance is ``end - D``; the best of both is kept. All candidates are found
    at once with :func:`numpy.searchsorted` on the cumulative distance (the vectorised form of
    the two-pointer sweep). Elapsed time is wall-clock time, so a pause inside a stretch counts
    against it (a best effort is continuous). Samples without time or distance are dropped and
    the distance is made non-decreasing (GPS glitches) before searching.
    """
    targets = BEST_EFFORT_DISTANCES_M if distances_m is None else distances_m
    t = np.asarray(time, dtype=np.float64)
    d = np.asarray(distance, dtype=np.float64)
    origin = float(t[0]) if t.size else 0.0
    keep = np.isfinite(t) & np.isfinite(d)
    t, d = t[keep], np.maximum.accumulate(d[keep])
    results: dict[str, BestEffort] = {}
    for name, meters in targets.items():
        results[name] = _best_effort(t, d, float(meters), origin)
    return results


def _best_effort(t: FloatArray, d: FloatArray, meters: float, origin: float) -> BestEffort:
    if meters <= 0:
        raise ValueError("distances must be positive")
    if t.size < 2 or d[-1] - d[0] < meters:
        return BestEffort(meters, None, None, None)
    candidates: list[tuple[float, float]] = []
    # Stretches starting at sample i; end interpolated inside (j-1, j].
    end_target = d + meters
    j = np.searchsorted(d, end_target, side="left")
    ok = j < d.size
    if ok.any():
        i = np.flatnonzero(ok)
        jj = j[ok]
        frac = (end_target[i] - d[jj - 1]) / (d[jj] - d[jj - 1])
        elapsed = t[jj - 1] + frac * (t[jj] - t[jj - 1]) - t[i]
        k = int(np.argmin(elapsed))
        candidates.append((float(elapsed[k]), float(t[i[k]])))
    # Stretches ending at sample j; start interpolated inside [i, i+1).
    start_target = d - meters
    i0 = np.searchsorted(d, start_target, side="right") - 1
    ok = i0 >= 0
    if ok.any():
        jj = np.flatnonzero(ok)
        ii = i0[ok]
        frac = (start_target[jj] - d[ii]) / (d[ii + 1] - d[ii])
        begin = t[ii] + frac * (t[ii + 1] - t[ii])
        elapsed = t[jj] - begin
        k = int(np.argmin(elapsed))
        candidates.append((float(elapsed[k]), float(begin[k])))
    elapsed_s, begin_s = min(candidates)
    return BestEffort(
        distance_m=meters,
        time_s=elapsed_s,
        start_s=begin_s - origin,
        pace_s_per_km=elapsed_s / meters * 1000.0,
    )
