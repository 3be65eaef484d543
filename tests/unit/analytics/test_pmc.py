"""PMC, ramp, ACWR and monotony against ``pmc_vectors.json`` and ``acwr_monotony_vectors.json``.

The tests read every day, variant and check the files hold, so they pass for any vector set of
the same format (``DOMESTIQUE_REFERENCE_DIR``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, get_args

import numpy as np
import pytest

from app.analytics.pmc import (
    ATL_DAYS,
    CTL_DAYS,
    Decay,
    acwr,
    continue_pmc,
    daily_load,
    monotony_strain,
    pmc,
    ramp_rate,
    smoothing_factor,
)
from tests.support.modules import loaded_by

TOLERANCE = 1e-6
PMC_VECTORS = "pmc_vectors.json"
ACWR_VECTORS = "acwr_monotony_vectors.json"


def assert_series(actual: np.ndarray, expected: list[float | None], what: str) -> None:
    """Element-wise comparison; ``None`` in the file means undefined (NaN here)."""
    assert actual.size == len(expected), f"{what}: {actual.size} days, file has {len(expected)}"
    for day, (value, wanted) in enumerate(zip(actual, expected, strict=True)):
        if wanted is None:
            assert np.isnan(value), f"{what} day {day}: expected undefined, got {value}"
        else:
            assert abs(value - wanted) <= TOLERANCE, f"{what} day {day}: {wanted} != {value}"


def reference_load(vectors: dict[str, Any]) -> Any:
    entries = [(date.fromisoformat(a["date"]), a["tss"]) for a in vectors["activities"]]
    return daily_load(entries, start=date.fromisoformat(vectors["start_date"]))


# ---------------------------------------------------------------------------------- vectors


def test_daily_load_sums_activities_per_date(reference: Any) -> None:
    vectors = reference(PMC_VECTORS)
    series = reference_load(vectors)
    days = vectors["days"]
    assert_series(series.load, [d["tss"] for d in days], "daily TSS")
    assert [str(d) for d in series.dates] == [d["date"] for d in days]


def test_goldencheetah_default_pmc(reference: Any) -> None:
    vectors = reference(PMC_VECTORS)
    convention = vectors["convention"]
    assert abs(smoothing_factor(CTL_DAYS) - convention["alpha_ctl"]) <= 1e-12
    assert abs(smoothing_factor(ATL_DAYS) - convention["alpha_atl"]) <= 1e-12

    load = reference_load(vectors).load
    days = vectors["days"]
    yesterday = pmc(load)
    today = pmc(load, tsb="today")
    assert_series(yesterday.ctl, [d["ctl"] for d in days], "CTL")
    assert_series(yesterday.atl, [d["atl"] for d in days], "ATL")
    assert_series(yesterday.tsb, [d["tsb"] for d in days], "TSB (yesterday)")
    assert_series(today.tsb, [d["tsb_same_day"] for d in days], "TSB (same day)")
    assert_series(ramp_rate(yesterday.ctl), [d["ramp_rate_7d"] for d in days], "ramp rate")


def decay_for(variant: dict[str, Any]) -> Decay:
    """The decay convention whose factors at the default 42/7 days are the variant's alphas."""
    for decay in get_args(Decay):
        if (
            abs(smoothing_factor(CTL_DAYS, decay) - variant["alpha_ctl"]) <= 1e-12
            and abs(smoothing_factor(ATL_DAYS, decay) - variant["alpha_atl"]) <= 1e-12
        ):
            return decay
    raise AssertionError(
        f"no decay convention has alphas {variant['alpha_ctl']}, {variant['alpha_atl']}"
    )


def test_pmc_variants(reference: Any) -> None:
    vectors = reference(PMC_VECTORS)
    load = reference_load(vectors).load
    assert vectors["variants_same_tss"], "the file lists no variants"
    for name, variant in vectors["variants_same_tss"].items():
        decay = decay_for(variant)
        yesterday = pmc(load, decay=decay)
        today = pmc(load, decay=decay, tsb="today")
        assert_series(yesterday.ctl, variant["ctl"], f"{name} CTL")
        assert_series(yesterday.atl, variant["atl"], f"{name} ATL")
        if "tsb" in variant:
            assert_series(yesterday.tsb, variant["tsb"], f"{name} TSB (yesterday)")
        if "tsb_same_day" in variant:
            assert_series(today.tsb, variant["tsb_same_day"], f"{name} TSB (same day)")


def test_steady_state_check(reference: Any) -> None:
    vectors = reference(PMC_VECTORS)
    (key,) = (k for k in vectors if k.startswith("steady_state_check_"))
    daily = float(re.search(r"(\d+(?:\.\d+)?)tss_per_day", key).group(1))  # type: ignore[union-attr]
    checks = {
        (match.group(1), int(match.group(2))): value
        for field, value in vectors[key].items()
        if (match := re.fullmatch(r"(ctl|atl)_day(\d+)", field))
    }
    assert checks, f"{key} holds no ctl_dayN/atl_dayN values"
    result = pmc(np.full(max(day for _, day in checks) + 1, daily))
    for (series, day), expected in checks.items():
        actual = getattr(result, series)[day]
        assert abs(actual - expected) <= TOLERANCE, f"{series} day {day}: {expected} != {actual}"


ACWR_FIELDS = {
    "ewma_acute": ("ewma", "acute"),
    "ewma_chronic": ("ewma", "chronic"),
    "acwr_ewma": ("ewma", "ratio"),
    "acute_7d_mean": ("rolling_coupled", "acute"),
    "chronic_28d_mean_coupled": ("rolling_coupled", "chronic"),
    "acwr_rolling_coupled": ("rolling_coupled", "ratio"),
    "chronic_21d_mean_uncoupled": ("rolling_uncoupled", "chronic"),
    "acwr_rolling_uncoupled": ("rolling_uncoupled", "ratio"),
}
MONOTONY_FIELDS = {
    "week_sum": (0, "week_load"),
    "monotony_pop_sd": (0, "monotony"),
    "strain_pop_sd": (0, "strain"),
    "monotony_sample_sd": (1, "monotony"),
    "strain_sample_sd": (1, "strain"),
}
# The file lists the 7-day mean only on the days its ratio exists; it is defined earlier here.
DEFINED_BEFORE_THE_FILE_LISTS_IT = {"acute_7d_mean"}


def test_acwr_monotony_strain(reference: Any) -> None:
    days = reference(ACWR_VECTORS)["days"]
    assert [d["day"] for d in days] == list(range(len(days)))
    load = np.array([d["tss"] for d in days])
    computed: dict[str, np.ndarray] = {}
    for field, (method, attribute) in ACWR_FIELDS.items():
        computed[field] = getattr(acwr(load, method=method), attribute)
    for field, (ddof, attribute) in MONOTONY_FIELDS.items():
        computed[field] = getattr(monotony_strain(load, ddof=ddof), attribute)

    fields_in_file = {k for d in days for k in d} - {"day", "tss"}
    assert fields_in_file <= computed.keys(), f"unknown fields {fields_in_file - computed.keys()}"
    for field in sorted(fields_in_file):
        for day in days:
            actual = computed[field][day["day"]]
            where = f"{field} day {day['day']}"
            if field not in day:
                if field not in DEFINED_BEFORE_THE_FILE_LISTS_IT:
                    assert np.isnan(actual), f"{where}: the file leaves it undefined, got {actual}"
            elif day[field] is None:
                assert np.isnan(actual), f"{where}: expected undefined, got {actual}"
            else:
                assert abs(actual - day[field]) <= TOLERANCE, f"{where}: {day[field]} != {actual}"


def test_continuing_from_any_day_is_bit_identical(reference: Any) -> None:
    load = reference_load(reference(PMC_VECTORS)).load
    rng = np.random.default_rng(3)
    decade = np.where(rng.random(3653) < 0.3, 0.0, rng.uniform(20, 250, 3653))
    for series in (load, decade):
        for decay in get_args(Decay):
            for tsb in ("yesterday", "today"):
                full = pmc(series, decay=decay, tsb=tsb)
                for start in (1, 7, 8, 45, series.size - 1):
                    tail = continue_pmc(
                        series[start:],
                        ctl_before=float(full.ctl[start - 1]),
                        atl_before=float(full.atl[start - 1]),
                        decay=decay,
                        tsb=tsb,
                    )
                    where = f"{decay}/{tsb} from day {start}"
                    assert np.array_equal(tail.ctl, full.ctl[start:]), where
                    assert np.array_equal(tail.atl, full.atl[start:]), where
                    assert np.array_equal(tail.tsb, full.tsb[start:]), where
                    if start >= 7:
                        stored = full.ctl[start - 7 : start]
                        ramp = ramp_rate(np.concatenate((stored, tail.ctl)))[7:]
                        assert np.array_equal(ramp, ramp_rate(full.ctl)[start:]), where


def test_the_recursion_gives_lfilters_bits() -> None:
    """The recursion used to be ``scipy.signal.lfilter``; the stored series must not move."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(5)
    decade = np.where(rng.random(3653) < 0.3, 0.0, rng.uniform(20, 250, 3653))
    for decay in get_args(Decay):
        for days, before in ((CTL_DAYS, 61.25), (ATL_DAYS, 0.0)):
            alpha = smoothing_factor(days, decay)
            keep = 1.0 - alpha
            wanted, _ = lfilter([alpha], [1.0, -keep], decade, zi=[keep * before])
            kind = "ctl" if days == CTL_DAYS else "atl"
            got = getattr(
                continue_pmc(decade, ctl_before=before, atl_before=before, decay=decay), kind
            )
            assert np.array_equal(got, wanted), f"{decay} {kind}"


def test_computing_metrics_does_not_load_scipy_signal() -> None:
    """Importing ``scipy.signal`` costs a cold process 0.3 s and 25 MB (``domestique import``
    pays it before its metrics pass), for nothing the metrics need."""
    loaded = loaded_by("app.services.metrics")
    assert "app.analytics.pmc" in loaded
    assert [name for name in loaded if name.startswith("scipy.signal")] == []


# ------------------------------------------------------------------------------- properties


def test_empty_series() -> None:
    result = pmc(np.array([]))
    assert result.ctl.size == result.atl.size == result.tsb.size == 0
    assert ramp_rate(result.ctl).size == 0
    assert acwr([], method="rolling_uncoupled").ratio.size == 0
    assert monotony_strain([]).monotony.size == 0


def test_constant_load_reaches_steady_state() -> None:
    result = pmc(np.full(1000, 80.0))
    assert result.ctl[-1] == pytest.approx(80.0, abs=1e-6)
    assert result.atl[-1] == pytest.approx(80.0, abs=1e-9)
    assert result.tsb[-1] == pytest.approx(0.0, abs=1e-6)
    assert ramp_rate(result.ctl)[-1] == pytest.approx(0.0, abs=1e-6)
    assert np.all(np.diff(result.ctl) > 0)


def test_rest_days_decay_and_nan_days_are_rest_days() -> None:
    load = np.array([100.0, 0.0, 0.0, np.nan, 0.0])
    result = pmc(load)
    assert np.all(np.diff(result.ctl) < 0)
    np.testing.assert_array_equal(result.ctl, pmc(np.nan_to_num(load)).ctl)
    assert result.tsb[0] == 0.0


def test_time_constants_are_configurable() -> None:
    load = np.full(30, 100.0)
    slow, fast = pmc(load, ctl_days=56), pmc(load, ctl_days=21)
    assert slow.ctl[-1] < pmc(load).ctl[-1] < fast.ctl[-1]
    with pytest.raises(ValueError):
        pmc(load, ctl_days=0)


def test_daily_load_range_and_gaps() -> None:
    first = date(2024, 3, 1)
    entries = [(first, 50.0), (first, 25.0), (first + timedelta(days=3), 40.0)]
    entries += [(first + timedelta(days=1), float("nan")), (first - timedelta(days=1), 99.0)]
    series = daily_load(entries, start=first, end=first + timedelta(days=6))
    np.testing.assert_array_equal(series.load, [75.0, 0.0, 0.0, 40.0, 0.0, 0.0, 0.0])
    assert series.end == first + timedelta(days=6)
    assert daily_load(entries[:3]).load.size == 4
    with pytest.raises(ValueError):
        daily_load([(datetime(2024, 3, 1, 7, 0), 50.0)])
    with pytest.raises(ValueError):
        daily_load([])
    assert daily_load([], start=first, end=first).load.tolist() == [0.0]


def test_rolling_acwr_needs_a_full_chronic_window() -> None:
    result = acwr(np.full(40, 50.0), method="rolling_coupled")
    assert np.isnan(result.ratio[:27]).all() and np.allclose(result.ratio[27:], 1.0)
    rest = acwr(np.zeros(40), method="rolling_uncoupled")
    assert np.isnan(rest.ratio).all()


def test_monotony_of_an_identical_week() -> None:
    week = np.full(7, 62.4)
    assert np.isnan(monotony_strain(week).monotony[-1])
    capped = monotony_strain(week, cap=10.0)
    assert capped.monotony[-1] == 10.0
    assert capped.strain[-1] == pytest.approx(10.0 * 7 * 62.4)
