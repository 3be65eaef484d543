"""VDOT, Riegel, VO2max and CP fits against ``vdot_riegel_vectors.json`` and ``cp_vectors.json``.

Tolerance: absolute 1e-6, except the fields the vdot file stores rounded to 0.1 ms (race times),
which are compared to within that rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from app.analytics import estimates
from tests.support.reference import load_reference, missing_vectors

VDOT_VECTORS = "vdot_riegel_vectors.json"
CP_VECTORS = "cp_vectors.json"
TOLERANCE = 1e-6
#: The vdot file stores race times in seconds rounded to 4 decimals (the rest to 10).
TIME_TOLERANCE = 0.5e-4 + 1e-9


def _entries(name: str, pick: Callable[[Any], list[Any]], label: Callable[[Any], str]) -> list[Any]:
    vectors = load_reference(name)
    if vectors is None:
        return missing_vectors(name, None)
    return [pytest.param(entry, id=label(entry)) for entry in pick(vectors)]


@pytest.mark.parametrize(
    "race",
    _entries(VDOT_VECTORS, lambda v: v["vdot_from_race"], lambda r: f"{r['distance_m']}m"),
)
def test_vdot_from_race(race: dict[str, Any]) -> None:
    distance, time_s = race["distance_m"], race["time_s"]
    velocity = distance / (time_s / 60.0)
    assert velocity == pytest.approx(race["velocity_m_per_min"], abs=TOLERANCE)
    assert estimates.daniels_vo2(velocity) == pytest.approx(race["vo2_ml_kg_min"], abs=TOLERANCE)
    fraction = estimates.daniels_fraction_of_vo2max(time_s / 60.0)
    assert fraction == pytest.approx(race["fraction_vo2max"], abs=TOLERANCE)
    assert estimates.vdot_from_race(distance, time_s) == pytest.approx(race["vdot"], abs=TOLERANCE)
    # and back: the equivalent time for that VDOT over the same distance is the race time
    assert estimates.race_time_for_vdot(race["vdot"], distance) == pytest.approx(time_s, abs=1e-5)


def test_vdot_is_vectorised(reference: Callable[[str], Any]) -> None:
    races = reference(VDOT_VECTORS)["vdot_from_race"]
    distances = np.array([r["distance_m"] for r in races], dtype=float)
    times = np.array([r["time_s"] for r in races], dtype=float)
    expected = np.array([r["vdot"] for r in races])
    np.testing.assert_allclose(
        estimates.vdot_from_race(distances, times), expected, rtol=0, atol=TOLERANCE
    )


@pytest.mark.parametrize(
    "row", _entries(VDOT_VECTORS, lambda v: v["equivalent_times"], lambda r: f"vdot{r['vdot']}")
)
def test_equivalent_times(row: dict[str, Any]) -> None:
    distances = np.array([float(d) for d in row["times_s"]])
    expected = np.array(list(row["times_s"].values()))
    times = estimates.race_time_for_vdot(row["vdot"], distances)
    np.testing.assert_allclose(times, expected, rtol=0, atol=TIME_TOLERANCE)
    vdot = row["vdot"]
    exact = estimates.vvo2max_for_vdot(vdot)
    assert exact == pytest.approx(row["vVO2max_m_per_min_exact"], abs=TOLERANCE)
    approx = estimates.vvdot_goldencheetah(vdot)
    assert approx == pytest.approx(row["vVO2max_m_per_min_goldencheetah_approx"], abs=TOLERANCE)
    tpace = estimates.threshold_pace_goldencheetah(vdot)
    assert tpace == pytest.approx(row["goldencheetah_tpace_s_per_km"], abs=TOLERANCE)


def test_equivalent_times_broadcast_over_vdots_and_distances(
    reference: Callable[[str], Any],
) -> None:
    rows = reference(VDOT_VECTORS)["equivalent_times"]
    vdots = np.array([row["vdot"] for row in rows], dtype=float)[:, None]
    distances = np.array([float(d) for d in rows[0]["times_s"]])[None, :]
    expected = np.array([[row["times_s"][key] for key in rows[0]["times_s"]] for row in rows])
    grid = estimates.race_time_for_vdot(vdots, distances)
    np.testing.assert_allclose(grid, expected, rtol=0, atol=TIME_TOLERANCE)


@pytest.mark.parametrize(
    "case",
    _entries(
        VDOT_VECTORS, lambda v: v["riegel"], lambda r: f"{r['d1_m']}->{r['d2_m']}@{r['exponent']}"
    ),
)
def test_riegel(case: dict[str, Any]) -> None:
    predicted = estimates.riegel_time(
        case["t1_s"], case["d1_m"], case["d2_m"], exponent=case["exponent"]
    )
    assert predicted == pytest.approx(case["t2_s"], abs=TIME_TOLERANCE)


@pytest.mark.parametrize(
    "case",
    _entries(VDOT_VECTORS, lambda v: v["uth_sorensen"], lambda r: f"{r['hr_max']}/{r['hr_rest']}"),
)
def test_uth_sorensen(case: dict[str, Any]) -> None:
    vo2max = estimates.uth_sorensen_vo2max(case["hr_max"], case["hr_rest"])
    assert vo2max == pytest.approx(case["vo2max"], abs=TOLERANCE)


@pytest.mark.parametrize(
    "case",
    _entries(
        VDOT_VECTORS,
        lambda v: v["runalyze_hr_vo2max"],
        lambda r: f"{r['distance_km']}km-{r['avg_hr']}of{r['hr_max']}",
    ),
)
def test_runalyze_effective_vo2max(case: dict[str, Any]) -> None:
    result = estimates.runalyze_effective_vo2max(
        case["distance_km"] * 1000.0, case["time_s"], case["avg_hr"], case["hr_max"]
    )
    assert result.fraction_of_vo2max == pytest.approx(case["pct_vo2max_from_hr"], abs=TOLERANCE)
    assert result.velocity_m_per_min == pytest.approx(case["v_m_per_min"], abs=TOLERANCE)
    assert result.velocity_at_vo2max == pytest.approx(case["v_at_100pct"], abs=TOLERANCE)
    assert result.vo2max == pytest.approx(case["vo2max_by_hr_uncorrected"], abs=TOLERANCE)
    assert result.vdot_by_time == pytest.approx(case["vo2max_by_time_daniels"], abs=TOLERANCE)


def test_runalyze_elevation_correction_lengthens_the_run() -> None:
    flat = estimates.runalyze_effective_vo2max(10_000, 2700, 160, 190)
    hilly = estimates.runalyze_effective_vo2max(10_000, 2700, 160, 190, ascent_m=100, descent_m=100)
    expected_distance = 10_000 + estimates.RUNALYZE_ASCENT_FACTOR * 100 - 100
    assert hilly.velocity_m_per_min == pytest.approx(expected_distance / 45.0)
    assert hilly.vo2max > flat.vo2max
    assert hilly.vdot_by_time == flat.vdot_by_time


def test_runalyze_shape_and_correction() -> None:
    assert estimates.runalyze_shape([50.0, 40.0], [3600, 1200]) == pytest.approx(47.5)
    assert estimates.runalyze_shape([50.0], [3600], correction_factor=0.9) == pytest.approx(45.0)
    assert estimates.runalyze_shape([], []) is None
    by_time = [45.0, 50.0, 48.0, 30.0]
    by_hr = [50.0, 52.0, 48.0, 20.0]  # the 30/20 race is not among the top three
    assert estimates.runalyze_correction_factor(by_time, by_hr) == pytest.approx(1.0)
    assert estimates.runalyze_correction_factor([], []) == 1.0


def test_race_predictions_are_consistent() -> None:
    predictions = estimates.race_predictions(10_000, 2481)
    assert set(predictions) == set(estimates.RACE_DISTANCES_M)
    own = predictions["10k"]
    assert own.riegel_s == pytest.approx(2481)
    assert own.vdot_s == pytest.approx(2481, abs=1e-5)
    marathon = predictions["marathon"]
    assert marathon.riegel_s == pytest.approx(estimates.riegel_time(2481, 10_000, 42_195))
    vdot = estimates.vdot_from_race(10_000, 2481)
    assert marathon.vdot_s == pytest.approx(estimates.race_time_for_vdot(vdot, 42_195))
    assert marathon.riegel_s < marathon.vdot_s  # Riegel's optimism at the marathon


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError):
        estimates.vdot_from_race(0, 1200)
    with pytest.raises(ValueError):
        estimates.race_time_for_vdot(-1, 5000)


def _cp_entries() -> list[Any]:
    vectors = load_reference(CP_VECTORS)
    if vectors is None:
        return missing_vectors(CP_VECTORS, None, None, None)
    params = []
    for name, fit in vectors["fits"].items():
        for method, expected in fit.items():
            if isinstance(expected, dict):
                params.append(pytest.param(fit, method, expected, id=f"{name}-{method}"))
    return params


@pytest.mark.parametrize(("fit", "method", "expected"), _cp_entries())
def test_critical_power_fits(fit: dict[str, Any], method: Any, expected: dict[str, float]) -> None:
    result = estimates.fit_critical_power(fit["t_s"], fit["mmp_w"], method=method)
    assert result is not None
    assert result.method == method
    assert result.points == len(fit["t_s"])
    assert result.cp_w == pytest.approx(expected["cp"], abs=TOLERANCE)
    assert result.w_prime_j == pytest.approx(expected["w_prime_j"], abs=TOLERANCE)


def test_critical_power_window_and_too_few_points() -> None:
    durations = [5, 60, 180, 300, 600, 1200, 3600]
    power = [250.0 + 20000.0 / t for t in durations]
    power[0] = 1500.0  # sprint and hour efforts lie off the 2-parameter model
    power[-1] = 230.0
    fit = estimates.fit_critical_power(durations, power)
    assert fit is not None
    assert fit.points == 4
    assert fit.cp_w == pytest.approx(250.0)
    assert fit.w_prime_j == pytest.approx(20000.0)
    assert estimates.fit_critical_power([300], [320]) is None


def test_estimated_ftp_conventions() -> None:
    fit = estimates.CriticalPowerFit("work_time_linear", cp_w=250.0, w_prime_j=18000.0, points=4)
    twenty = estimates.estimated_ftp(fit.cp_w, fit.w_prime_j)
    assert twenty == pytest.approx(0.95 * fit.power_at(1200))
    assert estimates.estimated_ftp(fit.cp_w, fit.w_prime_j, convention="cp") == 250.0
    with pytest.raises(ValueError):
        estimates.estimated_ftp(250.0, 18000.0, convention="hour")  # type: ignore[arg-type]
