"""Lagged correlations between daily inputs and outcomes ("What is working").

Convention (shared/reference/NOTES.md §7): every series is a dense daily array in the athlete's
local dates, all of the same length and aligned on the same first day; NaN (or any non-finite
value) is a missing day and is never interpolated. Lag k pairs ``x[d − k]`` with ``y[d]`` (the
input leads the outcome by k days) and uses only the pairwise-complete rows.

Statistics, each with its source:

* Pearson r, two-sided p from t = r·√((n − 2)/(1 − r²)) with n − 2 degrees of freedom
  (Student's t test of a correlation; identical to ``scipy.stats.pearsonr``).
* Spearman ρ (Spearman 1904) = Pearson r of average ranks taken within the pairwise-complete rows,
  with the same t approximation (identical to ``scipy.stats.spearmanr``).
* Effective sample size for autocorrelated series, n_eff = n·(1 − r₁ₓr₁ᵧ)/(1 + r₁ₓr₁ᵧ), with r₁
  the lag-1 autocorrelation of each series (Bretherton et al. 1999, J. Climate 12:1990–2009,
  eq. 31; after Bartlett 1935). Capped at n.
* Benjamini–Hochberg false discovery rate adjustment (Benjamini & Hochberg 1995, JRSS-B
  57:289–300): p_adj(i) = min_{j ≥ i} p₍ⱼ₎·m/j, capped at 1 (``scipy.stats.false_discovery_control``
  with ``method="bh"``).

:func:`lagged` gives the nominal statistics of one pair; :func:`scan` tests every input × outcome ×
lag at once (vectorised: each series is sorted once, ranks within each pairwise-complete subset
come from cumulative counts over that order); :func:`findings` keeps only the tests that pass every
gate and describes each with a tercile effect size. An empty list means "not enough data yet".
The lag-1 n_eff does not tame slowly drifting series; ``baseline_days`` (see :func:`scan`) does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

DEFAULT_LAGS = range(8)


@dataclass(frozen=True, slots=True)
class LagRow:
    """Nominal statistics of one lag: Pearson and Spearman over the pairwise-complete rows."""

    lag: int
    n: int
    pearson_r: float
    pearson_p: float
    spearman_rho: float
    spearman_p: float


@dataclass(frozen=True, slots=True)
class PairTest:
    """One tested (input, outcome, lag).

    ``p`` and ``rho_p`` are nominal (t approximation with n); ``p_eff`` uses n_eff instead and is
    the p-value that gates findings; ``q`` is its Benjamini–Hochberg adjustment over every test of
    the scan. ``r_first_half``/``r_second_half`` are Pearson r over the earlier and later half of
    the pairwise-complete rows. Undefined statistics are NaN.
    """

    input: str
    outcome: str
    lag: int
    n: int
    r: float
    p: float
    rho: float
    rho_p: float
    r1_input: float
    r1_outcome: float
    n_eff: float
    p_eff: float
    q: float
    r_first_half: float
    r_second_half: float


@dataclass(frozen=True, slots=True)
class GroupEffect:
    """The outcome's mean after high vs low input days, for a plain sentence.

    ``grouping="terciles"``: high days have input ≥ ``high_threshold`` (the 2/3 quantile), low days
    input ≤ ``low_threshold`` (the 1/3 quantile). ``grouping="threshold"``: high days have input ≥
    the given threshold, low days input < it (both thresholds are that value).
    ``difference = high_mean − low_mean``; ``difference_percent`` is it relative to ``low_mean``
    and is None unless ``low_mean`` > 0 (a percentage of a zero or negative baseline means nothing).
    """

    grouping: Literal["terciles", "threshold"]
    high_threshold: float
    low_threshold: float
    n_high: int
    n_low: int
    high_mean: float
    low_mean: float
    difference: float
    difference_percent: float | None


@dataclass(frozen=True, slots=True)
class Finding:
    """A relation that passed every gate of :func:`findings`."""

    input: str
    outcome: str
    lag: int
    r: float
    rho: float
    n: int
    n_eff: float
    p_eff: float
    q: float
    direction: Literal["positive", "negative"]
    effect: GroupEffect


# ---------------------------------------------------------------------------------------------
# Public scalar helpers


def correlation_p(r: float, n: float) -> float:
    """Two-sided p of a correlation r over n pairs by the t approximation.

    t = r·√((n − 2)/(1 − r²)), df = n − 2, written as the regularised incomplete beta
    I_{1−r²}((n − 2)/2, 1/2), which accepts a non-integer n (pass n_eff for the corrected p).
    Same value as ``scipy.stats.pearsonr``/``spearmanr``; NaN when n ≤ 2 or r is undefined.
    """
    return float(_correlation_p(np.asarray(r, dtype=float), np.asarray(n, dtype=float)))


def lag1_autocorrelation(values: ArrayLike) -> float:
    """Pearson r between ``values[d − 1]`` and ``values[d]`` over the days where both are present.

    NaN when fewer than three such pairs exist or the series is constant.
    """
    series = _as_series(values)
    if series.size < 2:
        return float("nan")
    return _autocorrelations(series[None, :])[0]


def effective_n(x: ArrayLike, y: ArrayLike, *, lag: int = 0) -> float:
    """Effective sample size of the lag-``lag`` pairing (x[d − lag], y[d]).

    n_eff = n·(1 − r₁ₓr₁ᵧ)/(1 + r₁ₓr₁ᵧ) (Bretherton et al. 1999, eq. 31), with n the number of
    pairwise-complete rows and r₁ each whole series' :func:`lag1_autocorrelation`. Capped at n
    (series with opposite-signed autocorrelations are not credited with extra information).
    NaN when either r₁ is undefined.
    """
    xs, ys = _as_series(x), _as_series(y)
    _check_same_length({"x": xs, "y": ys})
    _check_lags((lag,))
    window = xs.size - lag
    n = 0 if window <= 0 else int(np.sum(np.isfinite(xs[:window]) & np.isfinite(ys[lag:])))
    return float(_effective_n(np.float64(n), lag1_autocorrelation(xs), lag1_autocorrelation(ys)))


def bh_adjust(p: ArrayLike) -> FloatArray:
    """Benjamini–Hochberg adjusted p-values (Benjamini & Hochberg 1995), in the input order.

    p_adj(i) = min_{j ≥ i} p₍ⱼ₎·m/j over the ascending p-values, capped at 1. Rejecting
    p_adj ≤ q is the B&H step-up procedure at FDR level q. NaN entries are not tests: they stay
    NaN and do not count in m. Equals ``scipy.stats.false_discovery_control(p, method="bh")``.
    """
    values = np.asarray(p, dtype=float)
    flat = values.ravel()
    adjusted = np.full(flat.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(flat))
    m = tested.size
    if m:
        order = tested[np.argsort(flat[tested], kind="stable")]
        scaled = flat[order] * m / np.arange(1, m + 1)
        adjusted[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return adjusted.reshape(values.shape)


# ---------------------------------------------------------------------------------------------
# Lagged statistics


def lagged(x: ArrayLike, y: ArrayLike, *, lags: Iterable[int] = DEFAULT_LAGS) -> list[LagRow]:
    """Nominal Pearson and Spearman statistics of x leading y, one row per lag.

    Lag k pairs x[d − k] with y[d]; pairwise-complete rows only; two-sided p by the t
    approximation with n − 2 df for both coefficients (NOTES.md §7, the convention of
    ``lagged_correlation_vectors.json``). These p-values ignore autocorrelation: see
    :func:`scan` for the n_eff-corrected ones.
    """
    xs, ys = _as_series(x), _as_series(y)
    _check_same_length({"x": xs, "y": ys})
    lag_tuple = _check_lags(lags)
    stats = _lag_statistics(xs[None, :], ys[None, :], lag_tuple)
    return [
        LagRow(
            lag=lag,
            n=int(stats.n[index, 0, 0]),
            pearson_r=float(stats.r[index, 0, 0]),
            pearson_p=float(stats.p[index, 0, 0]),
            spearman_rho=float(stats.rho[index, 0, 0]),
            spearman_p=float(stats.rho_p[index, 0, 0]),
        )
        for index, lag in enumerate(lag_tuple)
    ]


def scan(
    inputs: Mapping[str, ArrayLike],
    outcomes: Mapping[str, ArrayLike],
    *,
    lags: Iterable[int] = DEFAULT_LAGS,
    baseline_days: int | None = None,
) -> list[PairTest]:
    """Test every input × outcome × lag; q is Benjamini–Hochberg over all of them.

    All series are dense daily arrays of one common length on the same dates. The BH family is
    every test with a defined ``p_eff`` (NOTES.md §7: correct across every lag × metric pair
    considered); lags of one pair are positively dependent, the case BH 1995 still covers in
    practice (Benjamini & Yekutieli 2001 prove it for positive regression dependence).
    Returned in input order, then outcome order, then lag order.

    The lag-1 n_eff assumes roughly AR(1) series. Drifting series (a random walk, a weight or
    fitness trend over years) have autocorrelation that decays far slower, so independent drifts
    still correlate "significantly". ``baseline_days`` correlates each series' deviation from its
    own trailing mean instead (:func:`baseline_deviation`, pre-whitening in the sense of NOTES.md
    §7); None correlates the raw values.
    """
    input_names, outcome_names = list(inputs), list(outcomes)
    if not input_names or not outcome_names:
        return []
    series = {name: _as_series(values) for name, values in inputs.items()}
    targets = {name: _as_series(values) for name, values in outcomes.items()}
    _check_same_length({**series, **targets})
    lag_tuple = _check_lags(lags)
    input_matrix = np.vstack(list(series.values()))
    outcome_matrix = np.vstack(list(targets.values()))
    if baseline_days is not None:
        input_matrix = _baseline_deviations(input_matrix, baseline_days)
        outcome_matrix = _baseline_deviations(outcome_matrix, baseline_days)

    stats = _lag_statistics(input_matrix, outcome_matrix, lag_tuple)
    r1_input = _autocorrelations(input_matrix)
    r1_outcome = _autocorrelations(outcome_matrix)
    n_eff = _effective_n(stats.n.astype(float), r1_input[None, :, None], r1_outcome[None, None, :])
    p_eff = _correlation_p(stats.r, n_eff)
    q = bh_adjust(p_eff)

    tests = []
    for i, input_name in enumerate(input_names):
        for o, outcome_name in enumerate(outcome_names):
            for index, lag in enumerate(lag_tuple):
                at = (index, i, o)
                tests.append(
                    PairTest(
                        input=input_name,
                        outcome=outcome_name,
                        lag=lag,
                        n=int(stats.n[at]),
                        r=float(stats.r[at]),
                        p=float(stats.p[at]),
                        rho=float(stats.rho[at]),
                        rho_p=float(stats.rho_p[at]),
                        r1_input=float(r1_input[i]),
                        r1_outcome=float(r1_outcome[o]),
                        n_eff=float(n_eff[at]),
                        p_eff=float(p_eff[at]),
                        q=float(q[at]),
                        r_first_half=float(stats.r_first_half[at]),
                        r_second_half=float(stats.r_second_half[at]),
                    )
                )
    return tests


def findings(
    inputs: Mapping[str, ArrayLike],
    outcomes: Mapping[str, ArrayLike],
    *,
    lags: Iterable[int] = DEFAULT_LAGS,
    min_n_eff: float = 30.0,
    min_abs_r: float = 0.3,
    max_q: float = 0.05,
    thresholds: Mapping[str, float] | None = None,
    baseline_days: int | None = None,
) -> list[Finding]:
    """The tests of :func:`scan` that pass every gate, strongest evidence first.

    Gates (NOTES.md §7): n_eff ≥ ``min_n_eff``; |Pearson r| ≥ ``min_abs_r``; BH q of the
    n_eff-corrected p ≤ ``max_q``; Pearson r of the same non-zero sign in the earlier and later
    half of the pairwise-complete rows; and the effect size pointing the same way as r, so the
    sentence built from it never contradicts the correlation. Each finding's effect compares the
    outcome after top-tercile vs bottom-tercile input days, or after days at or above vs below
    ``thresholds[input]`` when the caller gives one. Every passing lag is returned, sorted by q,
    then by |r| descending. ``baseline_days`` is passed to :func:`scan`; the effect size always
    describes the raw values, since that is what the sentence talks about.
    """
    chosen_thresholds = dict(thresholds or {})
    results = []
    for test in scan(inputs, outcomes, lags=lags, baseline_days=baseline_days):
        if not _passes_gates(test, min_n_eff=min_n_eff, min_abs_r=min_abs_r, max_q=max_q):
            continue
        effect = group_effect(
            inputs[test.input],
            outcomes[test.outcome],
            lag=test.lag,
            threshold=chosen_thresholds.get(test.input),
        )
        if effect is None or np.sign(effect.difference) != np.sign(test.r):
            continue
        results.append(
            Finding(
                input=test.input,
                outcome=test.outcome,
                lag=test.lag,
                r=test.r,
                rho=test.rho,
                n=test.n,
                n_eff=test.n_eff,
                p_eff=test.p_eff,
                q=test.q,
                direction="positive" if test.r > 0 else "negative",
                effect=effect,
            )
        )
    results.sort(key=lambda finding: (finding.q, -abs(finding.r)))
    return results


def baseline_deviation(values: ArrayLike, *, days: int) -> FloatArray:
    """Each day's value minus the mean of the same series over the previous ``days`` days.

    Today is excluded from its own baseline; the baseline needs at least ⌈days/2⌉ present days
    (fewer at the start of the history or in a gap give NaN). A trailing baseline in the manner of
    HRV practice (deviation from one's rolling norm, e.g. Plews et al. 2013, Sports Med
    43:773–781); here it removes slow drifts before correlating.
    """
    return _baseline_deviations(_as_series(values)[None, :], days)[0]


def group_effect(
    x: ArrayLike, y: ArrayLike, *, lag: int, threshold: float | None = None
) -> GroupEffect | None:
    """Mean of y[d] after high vs low x[d − lag] days, over the pairwise-complete rows.

    Without ``threshold``: terciles of those x values (``numpy.quantile``, linear interpolation);
    high = x ≥ the 2/3 quantile, low = x ≤ the 1/3 quantile. With ``threshold``: high = x ≥ it,
    low = x < it. None when either group is empty.
    """
    xs, ys = _as_series(x), _as_series(y)
    _check_same_length({"x": xs, "y": ys})
    _check_lags((lag,))
    window = xs.size - lag
    if window <= 0:
        return None
    leading, following = xs[:window], ys[lag:]
    complete = np.isfinite(leading) & np.isfinite(following)
    leading, following = leading[complete], following[complete]
    if leading.size == 0:
        return None
    if threshold is None:
        low_threshold, high_threshold = (float(v) for v in np.quantile(leading, [1 / 3, 2 / 3]))
        high, low = leading >= high_threshold, leading <= low_threshold
        grouping: Literal["terciles", "threshold"] = "terciles"
    else:
        low_threshold = high_threshold = float(threshold)
        high, low = leading >= high_threshold, leading < low_threshold
        grouping = "threshold"
    if not high.any() or not low.any():
        return None
    high_mean, low_mean = float(following[high].mean()), float(following[low].mean())
    difference = high_mean - low_mean
    return GroupEffect(
        grouping=grouping,
        high_threshold=high_threshold,
        low_threshold=low_threshold,
        n_high=int(high.sum()),
        n_low=int(low.sum()),
        high_mean=high_mean,
        low_mean=low_mean,
        difference=difference,
        difference_percent=100.0 * difference / low_mean if low_mean > 0 else None,
    )


# ---------------------------------------------------------------------------------------------
# Vectorised core


@dataclass(frozen=True, slots=True)
class _LagStatistics:
    """Arrays shaped (lags, inputs, outcomes)."""

    n: NDArray[np.int64]
    r: FloatArray
    p: FloatArray
    rho: FloatArray
    rho_p: FloatArray
    r_first_half: FloatArray
    r_second_half: FloatArray


@dataclass(frozen=True, slots=True)
class _SortedSeries:
    """A series sorted once: finite days in ascending value order and their tie groups."""

    order: NDArray[np.intp]
    tie_group: NDArray[np.intp]

    def window(self, start: int, stop: int) -> _SortedSeries:
        """The same order restricted to days [start, stop), re-indexed from ``start``."""
        keep = (self.order >= start) & (self.order < stop)
        return _SortedSeries(order=self.order[keep] - start, tie_group=self.tie_group[keep])


def _sort_series(values: FloatArray) -> _SortedSeries:
    days = np.flatnonzero(np.isfinite(values))
    order = days[np.argsort(values[days], kind="stable")]
    ordered = values[order]
    new_group = np.ones(ordered.size, dtype=bool)
    new_group[1:] = ordered[1:] != ordered[:-1]
    return _SortedSeries(order=order, tie_group=np.cumsum(new_group) - 1)


def _ranks_within(masks: BoolArray, sorted_series: _SortedSeries) -> FloatArray:
    """Average ranks (1-based, ties averaged) of one series within each row's masked days.

    ``masks`` is (rows, days) and only marks days where the series is finite. The rank of a day
    in a subset is the count of subset days sorted before it, so one cumulative sum along the
    series' sort order ranks every subset at once; a tie group of c subset days after b others
    gets b + (c + 1)/2, as ``scipy.stats.rankdata(method="average")`` does.
    """
    order, tie_group = sorted_series.order, sorted_series.tie_group
    ranks = np.zeros(masks.shape)
    if order.size == 0:
        return ranks
    sorted_masks = masks[:, order]
    counts = np.cumsum(sorted_masks, axis=1, dtype=np.int32)
    starts_flag = np.ones(order.size, dtype=bool)
    starts_flag[1:] = tie_group[1:] != tie_group[:-1]
    if starts_flag.all():
        sorted_ranks = counts.astype(float)
    else:
        starts = np.flatnonzero(starts_flag)
        ends = np.append(starts[1:], order.size)
        padded = np.concatenate([np.zeros((masks.shape[0], 1), dtype=counts.dtype), counts], axis=1)
        before, through = padded[:, starts], padded[:, ends]
        group_ranks = before + (through - before + 1) / 2.0
        sorted_ranks = group_ranks[:, np.cumsum(starts_flag) - 1]
    ranks[:, order] = np.where(sorted_masks, sorted_ranks, 0.0)
    return ranks


def _pearson_from_sums(
    n: FloatArray, sx: FloatArray, sy: FloatArray, sxx: FloatArray, syy: FloatArray, sxy: FloatArray
) -> FloatArray:
    """Pearson r from the sums over the pairs (the caller centres the series first).

    NaN under three pairs or when either side is constant within the pairs (its variance below
    1e-12 of its mean square, i.e. rounding).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        var_x = sxx - sx * sx / n
        var_y = syy - sy * sy / n
        r = (sxy - sx * sy / n) / np.sqrt(var_x * var_y)
        defined = (n >= 3) & (var_x > 1e-12 * sxx) & (var_y > 1e-12 * syy)
    return np.clip(np.where(defined, r, np.nan), -1.0, 1.0)


def _standardised(matrix: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each row centred on its mean and scaled by its SD over its finite days (0 on missing days),
    and the presence mask as floats. Correlations do not change; one-pass sums stay accurate."""
    present = np.isfinite(matrix)
    filled = np.where(present, matrix, 0.0)
    count = np.maximum(present.sum(axis=1, keepdims=True), 1)
    mean = filled.sum(axis=1, keepdims=True) / count
    centred = np.where(present, matrix - mean, 0.0)
    scale = np.sqrt((centred**2).sum(axis=1, keepdims=True) / count)
    return centred / np.where(scale > 0, scale, 1.0), present.astype(float)


def _lag_statistics(
    inputs: FloatArray, outcomes: FloatArray, lags: tuple[int, ...]
) -> _LagStatistics:
    """Pearson, Spearman and half-sample Pearson for every (lag, input, outcome).

    Per lag: Pearson over all pairs by matrix products of the zero-filled series and presence
    masks (the pair mask is the outer product of the two presence masks); the half-sample Pearson
    by the same sums restricted to each pair's earlier/later half; Spearman from ranks within
    each pair's rows (:func:`_ranks_within`), whose sums are exact in float64.
    """
    days = inputs.shape[1]
    shape = (len(lags), inputs.shape[0], outcomes.shape[0])
    n = np.zeros(shape, dtype=np.int64)
    r, rho, r_first, r_second = (np.full(shape, np.nan) for _ in range(4))
    x_all, x_present_all = _standardised(inputs)
    y_all, y_present_all = _standardised(outcomes)
    input_sorted = [_sort_series(row) for row in inputs]
    outcome_sorted = [_sort_series(row) for row in outcomes]

    for index, lag in enumerate(lags):
        window = days - lag
        if window <= 0:
            continue
        x, x_present = x_all[:, :window], x_present_all[:, :window]
        y, y_present = y_all[:, lag:], y_present_all[:, lag:]
        count = x_present @ y_present.T
        n[index] = np.rint(count).astype(np.int64)
        r[index] = _pearson_from_sums(
            count,
            x @ y_present.T,
            x_present @ y.T,
            (x * x) @ y_present.T,
            x_present @ (y * y).T,
            x @ y.T,
        )

        mask = (x_present[:, None, :] * y_present[None, :, :]).astype(bool)
        position = np.cumsum(mask, axis=-1, dtype=np.int32)
        first = mask & (position <= (n[index] // 2)[..., None])
        r_first[index] = _half_pearson(first, x, y)
        r_second[index] = _half_pearson(mask ^ first, x, y)

        x_ranks = np.empty(mask.shape)
        for i, sorted_series in enumerate(input_sorted):
            x_ranks[i] = _ranks_within(mask[i], sorted_series.window(0, window))
        y_ranks = np.empty(mask.shape)
        for o, sorted_series in enumerate(outcome_sorted):
            y_ranks[:, o] = _ranks_within(mask[:, o], sorted_series.window(lag, days))
        # Ranks within each pair's rows average (n + 1)/2 exactly; ranks and their products are
        # multiples of 1/4, so these sums are exact and the one-pass formula loses nothing.
        centre = (count + 1.0) / 2.0
        centre_sq = count * centre * centre
        rho[index] = _pearson_from_sums(
            count,
            np.zeros_like(count),
            np.zeros_like(count),
            np.einsum("iot,iot->io", x_ranks, x_ranks) - centre_sq,
            np.einsum("iot,iot->io", y_ranks, y_ranks) - centre_sq,
            np.einsum("iot,iot->io", x_ranks, y_ranks) - centre_sq,
        )

    n_float = n.astype(float)
    return _LagStatistics(
        n=n,
        r=r,
        p=_correlation_p(r, n_float),
        rho=rho,
        rho_p=_correlation_p(rho, n_float),
        r_first_half=r_first,
        r_second_half=r_second,
    )


def _half_pearson(mask: BoolArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """Pearson r of (input i, outcome o) over ``mask[i, o]`` for standardised, zero-filled x, y."""
    weights = mask.astype(float)
    weighted_x = weights * x[:, None, :]
    return _pearson_from_sums(
        weights.sum(axis=-1),
        weighted_x.sum(axis=-1),
        np.einsum("iot,ot->io", weights, y),
        np.einsum("iot,it->io", weighted_x, x),
        np.einsum("iot,ot->io", weights, y * y),
        np.einsum("iot,ot->io", weighted_x, y),
    )


def _baseline_deviations(matrix: FloatArray, days: int) -> FloatArray:
    """Row-wise :func:`baseline_deviation` by cumulative sums."""
    if days < 1:
        raise ValueError(f"baseline_days must be ≥ 1, got {days}")
    present = np.isfinite(matrix)
    rows, length = matrix.shape
    sums = np.zeros((rows, length + 1))
    counts = np.zeros((rows, length + 1))
    sums[:, 1:] = np.cumsum(np.where(present, matrix, 0.0), axis=1)
    counts[:, 1:] = np.cumsum(present, axis=1)
    end = np.arange(length)
    start = np.maximum(end - days, 0)
    window_count = counts[:, end] - counts[:, start]
    with np.errstate(invalid="ignore", divide="ignore"):
        baseline = (sums[:, end] - sums[:, start]) / window_count
    enough = window_count >= -(-days // 2)
    return np.where(present & enough, matrix - baseline, np.nan)


def _autocorrelations(matrix: FloatArray) -> FloatArray:
    """Lag-1 autocorrelation of each row over adjacent days both present (NaN under 3 pairs)."""
    if matrix.shape[1] < 2:
        return np.full(matrix.shape[0], np.nan)
    values, present = _standardised(matrix)
    earlier, later = values[:, :-1], values[:, 1:]
    both = present[:, :-1] * present[:, 1:]
    return _pearson_from_sums(
        both.sum(axis=1),
        (earlier * both).sum(axis=1),
        (later * both).sum(axis=1),
        (earlier * earlier * both).sum(axis=1),
        (later * later * both).sum(axis=1),
        (earlier * later * both).sum(axis=1),
    )


def _effective_n(n: FloatArray, r1_x: ArrayLike, r1_y: ArrayLike) -> FloatArray:
    """Bretherton et al. 1999 eq. 31, capped at n; NaN propagates."""
    product = np.asarray(r1_x) * np.asarray(r1_y)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.minimum(n * (1.0 - product) / (1.0 + product), n)


def _correlation_p(r: FloatArray, n: FloatArray) -> FloatArray:
    """Vectorised :func:`correlation_p`: two-sided p = I_{(1−r)(1+r)}((n − 2)/2, 1/2)."""
    df = n - 2.0
    defined = (df > 0) & np.isfinite(r)
    safe_df = np.where(defined, df, 1.0)
    safe_r = np.where(defined, r, 0.0)
    one_minus_r2 = np.clip((1.0 - safe_r) * (1.0 + safe_r), 0.0, 1.0)
    return np.where(defined, special.betainc(safe_df / 2.0, 0.5, one_minus_r2), np.nan)


def _passes_gates(test: PairTest, *, min_n_eff: float, min_abs_r: float, max_q: float) -> bool:
    signs = np.sign([test.r, test.r_first_half, test.r_second_half])
    return bool(
        np.isfinite([test.n_eff, test.q, test.r_first_half, test.r_second_half]).all()
        and test.n_eff >= min_n_eff
        and abs(test.r) >= min_abs_r
        and test.q <= max_q
        and signs[0] != 0
        and (signs == signs[0]).all()
    )


def _as_series(values: ArrayLike) -> FloatArray:
    """A 1-D float array; None and non-finite values are missing days (NaN)."""
    series = np.asarray(values, dtype=float)
    if series.ndim != 1:
        raise ValueError(f"a daily series must be one-dimensional, got shape {series.shape}")
    return np.where(np.isfinite(series), series, np.nan)


def _check_same_length(series: Mapping[str, FloatArray]) -> None:
    lengths = {name: values.size for name, values in series.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"daily series must share one date range; lengths differ: {lengths}")


def _check_lags(lags: Iterable[int]) -> tuple[int, ...]:
    lag_tuple = tuple(int(lag) for lag in lags)
    if any(lag < 0 for lag in lag_tuple):
        raise ValueError(f"lags must be ≥ 0 (the input leads the outcome), got {lag_tuple}")
    return lag_tuple
