"""Minetti GAP against ``gap_vectors.json``, and grade/GAP/NGP on hand-built runs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from app.analytics import running
from tests.support.reference import load_reference, missing_vectors

GAP_VECTORS = "gap_vectors.json"
TOLERANCE = 1e-6
EXAMPLE_PACE_KEY = re.compile(r"^example_gap_pace_s_per_km_for_actual_(\d+(?:\.\d+)?)$")


def _gap_rows() -> list[Any]:
    vectors = load_reference(GAP_VECTORS)
    if vectors is None:
        return missing_vectors(GAP_VECTORS, None)
    return [pytest.param(row, id=f"{row['grade_percent']}%") for row in vectors["rows"]]


@pytest.mark.parametrize("row", _gap_rows())
def test_minetti_row(row: dict[str, Any]) -> None:
    i = row["grade_fraction"]
    assert running.minetti_cost(i) == pytest.approx(row["cost_j_per_kg_per_m"], abs=TOLERANCE)
    assert running.minetti_cost_ratio(i) == pytest.approx(row["cost_ratio_vs_flat"], abs=TOLERANCE)
    assert running.gap_speed_factor(i) == pytest.approx(row["gap_speed_factor"], abs=TOLERANCE)
    assert running.gap_pace_factor(i) == pytest.approx(row["gap_pace_factor"], abs=TOLERANCE)
    examples = {m.group(1): v for k, v in row.items() if (m := EXAMPLE_PACE_KEY.match(k))}
    assert examples, "row has no example GAP pace"
    for actual, expected in examples.items():
        gap = running.grade_adjusted_pace(float(actual), i)
        assert gap == pytest.approx(expected, abs=TOLERANCE), f"pace {actual} s/km at {i}"


def test_minetti_vectorised_matches_rows(reference: Callable[[str], Any]) -> None:
    rows = reference(GAP_VECTORS)["rows"]
    grades = np.array([row["grade_fraction"] for row in rows])
    costs = np.array([row["cost_j_per_kg_per_m"] for row in rows])
    np.testing.assert_allclose(running.minetti_cost(grades), costs, rtol=0, atol=TOLERANCE)


def test_minetti_minimum(reference: Callable[[str], Any]) -> None:
    expected = reference(GAP_VECTORS)["minimum_cost"]
    grade, cost = running.minetti_minimum()
    assert grade == pytest.approx(expected["grade_fraction"], abs=TOLERANCE)
    assert cost == pytest.approx(expected["cost"], abs=TOLERANCE)
    assert running.minetti_cost_ratio(grade) == pytest.approx(expected["ratio"], abs=TOLERANCE)


def test_cost_is_clamped_to_the_fitted_range() -> None:
    low, high = running.MINETTI_GRADE_RANGE
    assert running.minetti_cost(-0.9) == running.minetti_cost(low)
    assert running.minetti_cost(0.9) == running.minetti_cost(high)
    assert running.minetti_cost(-0.9, clamp=False) != running.minetti_cost(low)


def _run(seconds: int, speed: float, slope: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    time = 1_700_000_000.0 + np.arange(seconds, dtype=float)
    distance = speed * np.arange(seconds, dtype=float)
    return time, distance, 250.0 + slope * distance


def test_grade_of_a_constant_slope_is_exact_everywhere() -> None:
    _, distance, altitude = _run(600, 3.0, 0.05)
    np.testing.assert_allclose(running.grade(distance, altitude), 0.05, atol=1e-9)


def test_grade_averages_altimeter_noise() -> None:
    _, distance, altitude = _run(3600, 3.0, 0.04)
    noisy = altitude + np.random.default_rng(7).normal(0.0, 0.3, altitude.size)
    grades = running.grade(distance, noisy, window_m=100.0)
    assert abs(grades.mean() - 0.04) < 0.002
    assert grades.std() < 0.02


def test_grade_is_zero_while_standing_and_clamped_on_walls() -> None:
    distance = np.full(100, 1234.0)
    altitude = np.linspace(100.0, 110.0, 100)  # barometric drift while standing
    np.testing.assert_array_equal(running.grade(distance, altitude), 0.0)
    _, distance, altitude = _run(100, 2.0, 0.8)
    np.testing.assert_allclose(running.grade(distance, altitude), running.MINETTI_GRADE_RANGE[1])


def test_grade_without_altitude_or_distance_is_unknown() -> None:
    _, distance, altitude = _run(50, 3.0, 0.0)
    assert np.isnan(running.grade(distance, np.full(50, np.nan))).all()
    distance[:5] = np.nan
    grades = running.grade(distance, altitude)
    assert np.isnan(grades[:5]).all()
    np.testing.assert_allclose(grades[5:], 0.0, atol=1e-12)


def test_gap_speed_on_flat_uphill_and_without_altitude() -> None:
    time, distance, altitude = _run(600, 3.0, 0.0)
    np.testing.assert_allclose(running.gap_speed(time, distance, altitude), 3.0)
    time, distance, altitude = _run(600, 3.0, 0.1)
    expected = 3.0 * running.minetti_cost_ratio(0.1)
    np.testing.assert_allclose(running.gap_speed(time, distance, altitude), expected)
    flat = running.gap_speed(time, distance, np.full(600, np.nan))
    np.testing.assert_allclose(flat, 3.0)


def test_ngp_of_a_steady_flat_run_is_its_speed() -> None:
    time, distance, altitude = _run(1800, 3.2, 0.0)
    assert running.normalized_graded_speed(time, distance, altitude) == pytest.approx(3.2)
    assert running.normalized_graded_pace(time, distance, altitude) == pytest.approx(1000 / 3.2)


def test_ngp_weights_surges_above_the_average() -> None:
    time = np.arange(3600, dtype=float)
    speed = np.where((time // 120) % 2 == 0, 4.5, 2.5)  # 2 min fast, 2 min easy
    distance = np.concatenate(([0.0], np.cumsum(speed[1:])))
    altitude = np.zeros_like(time)
    ngs = running.normalized_graded_speed(time, distance, altitude)
    average = float(np.mean(running.gap_speed(time, distance, altitude)))
    assert ngs is not None
    assert ngs > average
    assert ngs < speed.max()


def test_ngp_ignores_pauses_and_needs_30_seconds() -> None:
    time, distance, altitude = _run(1200, 3.0, 0.0)
    time[600:] += 900.0  # the watch was paused for 15 min
    assert running.normalized_graded_speed(time, distance, altitude) == pytest.approx(3.0)
    time, distance, altitude = _run(20, 3.0, 0.0)
    assert running.normalized_graded_speed(time, distance, altitude) is None
    assert running.normalized_graded_pace(time, distance, altitude) is None
