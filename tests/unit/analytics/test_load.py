"""Per-activity load and HR zones against ``tss_vectors.json``, plus properties it is silent on.

The vector tests iterate over whatever entries the file holds, so they pass for any vector
set of the same format (``DOMESTIQUE_REFERENCE_DIR``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from app.analytics.load import (
    BANISTER_COEFFICIENTS,
    average_power,
    banister_trimp,
    banister_trimp_from_average,
    choose_load,
    coggan_normalized,
    edwards_trimp,
    goldencheetah_zonal_trimp,
    hrss,
    normalized_power,
    power_load,
    power_per_second,
    rtss,
    running_intensity_factor,
    speed_from_pace,
    work_kj,
)
from app.analytics.zones import (
    DEFAULT_MAX_GAP_S,
    friel_lthr_zones,
    hr_zones,
    hrmax_zones,
    karvonen_zones,
    sample_durations,
    time_in_zones,
)
from tests.support.reference import load_reference, missing_vectors

TOLERANCE = 1e-6
VECTORS = "tss_vectors.json"


def vector_cases(key: str) -> list[Any]:
    """One pytest param per entry of ``tss_vectors.json[key]``; one unavailable case when the file
    is absent."""
    data = load_reference(VECTORS)
    if data is None:
        return missing_vectors(VECTORS, None)
    return [
        pytest.param(entry, id=str(entry.get("name", entry.get("sex_variant", index))))
        for index, entry in enumerate(data[key])
    ]


def assert_close(actual: float | None, expected: float | None, what: str) -> None:
    if expected is None:
        assert actual is None, f"{what}: expected undefined (None), got {actual}"
        return
    assert actual is not None, f"{what}: expected {expected}, got None"
    assert abs(actual - expected) <= TOLERANCE, f"{what}: expected {expected}, got {actual}"


def stream(segments: list[list[float]], rate_hz: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(time_s, values) of a stream built from (seconds, value) segments."""
    values = np.concatenate([np.full(round(sec * rate_hz), float(v)) for sec, v in segments])
    return np.arange(values.size) / rate_hz, values


# ---------------------------------------------------------------------------------- vectors


@pytest.mark.parametrize("case", vector_cases("power_cases"))
def test_power_case(case: dict[str, Any]) -> None:
    time_s, watts = stream(case["segments_seconds_watts"], case["sample_rate_hz"])
    assert watts.size == case["n_samples"]
    ftp = case["ftp_w"]

    for convention in ("standard", "goldencheetah"):
        expected = case[convention]
        result = power_load(time_s, watts, ftp_w=ftp, convention=convention)
        label = f"{case['name']} {convention}"
        assert_close(result.duration_s, case["duration_s"], f"{label} duration")
        assert_close(result.average_w, case["avg_power"], f"{label} average")
        assert_close(result.normalized_w, expected["np"], f"{label} NP")
        assert_close(result.intensity_factor, expected["if"], f"{label} IF")
        assert_close(result.tss, expected["tss"], f"{label} TSS")
        if "vi" in expected:
            assert_close(result.variability_index, expected["vi"], f"{label} VI")
        assert_close(
            normalized_power(time_s, watts, convention=convention),
            expected["np"],
            f"{label} normalized_power()",
        )
    assert_close(average_power(time_s, watts), case["avg_power"], "average_power()")
    assert_close(
        work_kj(time_s, watts), case["avg_power"] * case["duration_s"] / 1000.0, "work_kj()"
    )


@pytest.mark.parametrize("case", vector_cases("hr_cases_constant_hr"))
def test_banister_trimp_and_hrss_constant_hr(case: dict[str, Any]) -> None:
    coefficients = (case["a"], case["b"])
    physiology = {"hr_rest": case["hr_rest"], "hr_max": case["hr_max"]}
    label = f"{case['sex_variant']} {case['avg_hr']} bpm {case['minutes']} min"

    from_average = banister_trimp_from_average(
        case["avg_hr"], case["minutes"], coefficients=coefficients, **physiology
    )
    assert_close(from_average, case["trimp"], f"{label} TRIMP from average")

    # The same effort as a 1 Hz stream: per-sample and average-HR TRIMP agree at constant HR.
    time_s, bpm = stream([[case["minutes"] * 60, case["avg_hr"]]])
    for method in ("per_sample", "average"):
        trimp = banister_trimp(time_s, bpm, coefficients=coefficients, method=method, **physiology)
        assert_close(trimp, case["trimp"], f"{label} TRIMP {method}")

    score = hrss(from_average, lthr=case["lthr"], coefficients=coefficients, **physiology)
    assert_close(score, case["hrss_trimp100"], f"{label} HRSS")
    assert coefficients in BANISTER_COEFFICIENTS.values(), (
        f"{label}: no named variant for {coefficients}"
    )


def test_hr_stream_case(reference: Any) -> None:
    case = reference(VECTORS)["hr_stream_case"]
    time_s, bpm = stream(case["hr_stream_segments_seconds_bpm"])
    physiology = {"hr_rest": case["hr_rest"], "hr_max": case["hr_max"]}

    per_sample = banister_trimp(time_s, bpm, sex="male", method="per_sample", **physiology)
    assert_close(per_sample, case["trimp_banister_male_per_sample_sum"], "per-sample TRIMP")
    average = banister_trimp(time_s, bpm, sex="male", method="average", **physiology)
    assert_close(average, case["trimp_banister_male_from_average_hr"], "average-HR TRIMP")
    assert_close(
        edwards_trimp(time_s, bpm, hr_max=case["hr_max"]), case["edwards_trimp"], "Edwards"
    )
    assert_close(
        goldencheetah_zonal_trimp(time_s, bpm, lthr=case["lthr"]),
        case["goldencheetah_default_zonal_trimp"],
        "GoldenCheetah zonal TRIMP",
    )


@pytest.mark.parametrize("case", vector_cases("run_rtss_cases"))
def test_rtss_case(case: dict[str, Any]) -> None:
    ngp = speed_from_pace(case["ngp_pace_s_per_km"])
    threshold = speed_from_pace(case["threshold_pace_s_per_km"])
    label = f"NGP {case['ngp_pace_s_per_km']} s/km, {case['minutes']} min"
    assert_close(running_intensity_factor(ngp, threshold), case["if"], f"{label} IF")
    assert_close(
        rtss(case["minutes"] * 60, ngp_speed_m_s=ngp, threshold_speed_m_s=threshold),
        case["rtss"],
        f"{label} rTSS",
    )


# ------------------------------------------------------------------------------- properties


def test_empty_streams_are_undefined_not_zero() -> None:
    empty = np.array([])
    result = power_load(empty, empty, ftp_w=250)
    assert (result.normalized_w, result.tss, result.average_w, result.work_kj) == (None,) * 4
    assert banister_trimp(empty, empty, hr_rest=50, hr_max=190) is None
    assert edwards_trimp(empty, empty, hr_max=190) is None
    assert time_in_zones(empty, empty, hrmax_zones(190)).sum() == 0


def test_missing_heart_rate_is_none_and_its_time_is_left_out() -> None:
    time_s = np.arange(600.0)
    for missing in (np.full(600, np.nan), np.zeros(600)):
        assert banister_trimp(time_s, missing, hr_rest=50, hr_max=190) is None
        assert goldencheetah_zonal_trimp(time_s, missing, lthr=170) is None
        assert hrss(None, lthr=170, hr_rest=50, hr_max=190) is None

    bpm = np.full(600, 150.0)
    bpm[::2] = np.nan  # every other sample lost: half the time counts
    trimp = banister_trimp(time_s, bpm, hr_rest=50, hr_max=190)
    assert trimp == pytest.approx(banister_trimp_from_average(150, 5, hr_rest=50, hr_max=190))
    assert time_in_zones(time_s, bpm, hrmax_zones(190)).sum() == pytest.approx(300)


def test_all_nan_power_means_no_power_meter_and_dropouts_are_left_out() -> None:
    time_s = np.arange(3600.0)
    assert power_load(time_s, np.full(3600, np.nan), ftp_w=250).tss is None
    watts = np.where(time_s < 1800, 150.0, 250.0)
    watts[100:110] = np.nan
    result = power_load(time_s, watts, ftp_w=250)
    assert result.duration_s == 3590
    assert result.average_w == pytest.approx((1790 * 150 + 1800 * 250) / 3590)
    kept = np.isfinite(watts)
    assert result.normalized_w == normalized_power(np.arange(3590.0), watts[kept])


def test_a_pause_is_not_training_time() -> None:
    before = np.arange(1800.0)
    time_s = np.concatenate((before, before + 1800 + 600))  # a 10-minute stop in the middle
    durations = sample_durations(time_s)
    assert durations.sum() == 3600

    bpm = np.full(time_s.size, 150.0)
    expected = banister_trimp_from_average(150, 60, hr_rest=50, hr_max=190)
    assert banister_trimp(time_s, bpm, hr_rest=50, hr_max=190) == pytest.approx(expected)

    watts = np.where(time_s < 1800, 300.0, 100.0)
    grid = power_per_second(time_s, watts)
    assert grid is not None
    np.testing.assert_array_equal(grid, watts)
    result = power_load(time_s, watts, ftp_w=250)
    assert result.duration_s == 3600 and result.work_kj == pytest.approx(720.0)


def test_short_gaps_are_bridged() -> None:
    time_s = np.array([0.0, 1.0, 5.0, 6.0])  # a 4 s smart-recording interval
    grid = power_per_second(time_s, np.array([100.0, 100.0, 200.0, 200.0]))
    np.testing.assert_allclose(grid, [100, 100, 125, 150, 175, 200, 200])
    np.testing.assert_array_equal(sample_durations(time_s), [1, 4, 1, 1])
    assert DEFAULT_MAX_GAP_S >= 4


def test_irregular_sampling_matches_one_hertz() -> None:
    every_second = np.arange(3601.0)
    every_two = every_second[::2]
    assert normalized_power(every_two, np.full(every_two.size, 230.0)) == pytest.approx(230.0)
    bpm = np.where(every_second < 1800, 130.0, 160.0)
    dense = time_in_zones(every_second, bpm, hrmax_zones(190))
    sparse = time_in_zones(every_two, bpm[::2], hrmax_zones(190))
    np.testing.assert_allclose(sparse, dense, atol=2.0)


def test_time_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        sample_durations([0.0, 2.0, 1.0])


def test_steady_power_normalizes_to_itself_and_gc_reads_lower() -> None:
    time_s = np.arange(3600.0)
    watts = np.full(3600, 200.0)
    assert normalized_power(time_s, watts) == pytest.approx(200.0)
    gc = normalized_power(time_s, watts, convention="goldencheetah")
    assert gc is not None and gc < 200.0
    assert normalized_power(time_s[:29], watts[:29]) is None


def test_per_sample_trimp_is_never_below_average_trimp() -> None:
    rng = np.random.default_rng(7)
    bpm = rng.uniform(90, 185, 3600)
    time_s = np.arange(3600.0)
    per_sample = banister_trimp(time_s, bpm, hr_rest=50, hr_max=190)
    average = banister_trimp(time_s, bpm, hr_rest=50, hr_max=190, method="average")
    assert per_sample is not None and average is not None
    assert per_sample >= average


def test_heart_rate_below_rest_scores_zero() -> None:
    assert banister_trimp(np.arange(60.0), np.full(60, 45.0), hr_rest=50, hr_max=190) == 0.0


def test_hour_at_threshold_scores_one_hundred() -> None:
    for sex in BANISTER_COEFFICIENTS:
        trimp = banister_trimp(
            np.arange(3600.0), np.full(3600, 168.0), hr_rest=48, hr_max=192, sex=sex
        )
        assert hrss(trimp, lthr=168, hr_rest=48, hr_max=192, sex=sex) == pytest.approx(100.0)


def test_choose_load_prefers_power_then_pace_then_heart_rate() -> None:
    assert choose_load(80.0, 70.0, 60.0) == (80.0, "power")
    assert choose_load(None, 70.0, 60.0) == (70.0, "pace")
    assert choose_load(math.nan, None, 60.0) == (60.0, "hr")
    assert choose_load(0.0, 70.0, 60.0) == (0.0, "power")
    assert choose_load(None, None, None) == (None, None)


def test_zone_models() -> None:
    friel = friel_lthr_zones(170)
    assert friel.names[0] == "Z1" and friel.names[-1] == "Z5c"
    assert friel.lower_bpm[0] == 0 and friel.lower_bpm[4] == pytest.approx(170)
    karvonen = karvonen_zones(50, 190)
    assert karvonen.lower_bpm[1] == pytest.approx(50 + 0.6 * 140)
    assert hr_zones("hrmax", hr_max=190).lower_bpm == hrmax_zones(190).lower_bpm
    custom = hr_zones("lthr", lthr=160, fractions=(0.8, 0.9, 1.0))
    assert custom.lower_bpm == pytest.approx((0, 128, 144, 160))
    with pytest.raises(ValueError):
        hr_zones("hrr", hr_max=190)


def test_time_in_zones_covers_the_recording_and_lower_bounds_are_inclusive() -> None:
    zones = hrmax_zones(190)  # Z2 starts at 0.6 * 190 = 114 bpm
    time_s = np.arange(4.0)
    seconds = time_in_zones(time_s, np.array([100.0, 113.9, 114.0, 200.0]), zones)
    np.testing.assert_allclose(seconds, [2, 1, 0, 0, 1])
    assert seconds.sum() == sample_durations(time_s).sum()


def test_the_rolling_mean_is_the_30_second_trailing_window() -> None:
    """NP's running mean (scipy) equals the textbook window sum over p[i-29..i] on long,
    noisy and stepped streams, far below any printed digit."""
    rng = np.random.default_rng(7)
    streams = [
        rng.normal(220.0, 60.0, 20_000).clip(0.0),
        np.repeat([150.0, 350.0, 0.0, 280.0], [600, 180, 30, 1200]),
        np.arange(30.0),
    ]
    for values in streams:
        windows = np.lib.stride_tricks.sliding_window_view(values, 30).mean(axis=1)
        expected = float(np.mean(windows**4) ** 0.25)
        assert coggan_normalized(values) == pytest.approx(expected, rel=1e-12)
