"""Fitness estimates: VDOT and race predictions, VO2max, critical power, W′ and eFTP.

Sources (reference NOTES §5–6; vectors in ``shared/reference/vdot_riegel_vectors.json`` and
``cp_vectors.json``):

* **Daniels–Gilbert** (Daniels & Gilbert, *Oxygen Power*, 1979): oxygen cost of running at
  ``v`` m/min ``VO₂(v) = −4.60 + 0.182258 v + 0.000104 v²`` and the sustainable fraction of
  VO2max for ``t`` minutes ``%max(t) = 0.8 + 0.1894393 e^(−0.012778 t) + 0.2989558
  e^(−0.1932605 t)``; ``VDOT = VO₂/%max``. Equivalent times are solved numerically (bracketing
  root finder, not GoldenCheetah's vVDOT polynomial).
* **Riegel** (1981, American Scientist 69:285–290): ``T₂ = T₁ (D₂/D₁)^1.06``.
* **Uth–Sørensen** (Uth et al. 2004, Eur J Appl Physiol 91:111–115): ``15.3 · HRmax/HRrest``.
* **Runalyze** effective VO2max (``VO2maxCalculator.php``, Runalyze v4.x): the fraction of VO2max
  from HR, ``exp((HR/HRmax − 1.00466)/0.68725)``, scales the speed to the speed at 100 %, whose
  Daniels cost (Runalyze's constant 0.182253) is the estimate.
* **Critical power**, 2-parameter model (Monod & Scherrer 1965): ``P(t) = W′/t + CP``, fitted
  three ways that agree on exact data and differ on real data — always say which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import curve_fit
from scipy.optimize.elementwise import find_root

FloatArray = NDArray[np.float64]

#: Daniels–Gilbert oxygen-cost coefficients (v in m/min): intercept, linear, quadratic.
DANIELS_VO2_COEFFICIENTS: tuple[float, float, float] = (-4.60, 0.182258, 0.000104)
#: Runalyze's linear coefficient (a one-digit difference from Daniels' 0.182258).
RUNALYZE_VO2_LINEAR = 0.182253
#: Runalyze's HR → fraction of VO2max constants: exp((HR/HRmax − a)/b).
RUNALYZE_HR_OFFSET = 1.00466
RUNALYZE_HR_SCALE = 0.68725
#: Runalyze's elevation correction: metres of distance added per metre up / per metre down.
RUNALYZE_ASCENT_FACTOR = 2.0
RUNALYZE_DESCENT_FACTOR = -1.0
#: Riegel's fatigue exponent.
RIEGEL_EXPONENT = 1.06
#: Uth–Sørensen factor (trained men 21–51 y; about 12 is reported for ~50-year-old men).
UTH_SORENSEN_FACTOR = 15.3
#: The highest VDOT a run can plausibly have. The men's world records from the mile to the
#: marathon (World Athletics: mile 3:43.13, 5000 m 12:35.36, 10,000 m 26:11.00, half marathon
#: 57:31, marathon 2:00:35) are VDOT 83–86 by :func:`vdot_from_race`; a "run" beyond 90 is a
#: ride recorded as a run, or a distance that jumped.
MAX_HUMAN_VDOT = 90.0

#: Race distances for predictions, in metres.
RACE_DISTANCES_M: dict[str, float] = {
    "5k": 5000.0,
    "10k": 10000.0,
    "half_marathon": 21097.5,
    "marathon": 42195.0,
}

#: Pace bracket (min/km) searched when solving an equivalent time.
_PACE_BRACKET_MIN_PER_KM = (1.0, 20.0)


def _as_output(values: NDArray[np.float64]) -> float | FloatArray:
    return float(values) if np.ndim(values) == 0 else values


def _positive(name: str, values: ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if not np.all(array > 0):
        raise ValueError(f"{name} must be positive")
    return array


# --- Daniels–Gilbert ---------------------------------------------------------------------------


def daniels_vo2(
    velocity_m_per_min: ArrayLike, *, linear: float = DANIELS_VO2_COEFFICIENTS[1]
) -> float | FloatArray:
    """Oxygen cost (ml·kg⁻¹·min⁻¹) of running at ``velocity_m_per_min`` (Daniels–Gilbert 1979).

    ``linear`` is the v coefficient: 0.182258 (Daniels), or :data:`RUNALYZE_VO2_LINEAR`.
    """
    v = np.asarray(velocity_m_per_min, dtype=np.float64)
    intercept, _, quadratic = DANIELS_VO2_COEFFICIENTS
    return _as_output(intercept + linear * v + quadratic * v * v)


def daniels_fraction_of_vo2max(duration_min: ArrayLike) -> float | FloatArray:
    """Fraction of VO2max sustainable for ``duration_min`` minutes (Daniels–Gilbert 1979)."""
    t = np.asarray(duration_min, dtype=np.float64)
    return _as_output(0.8 + 0.1894393 * np.exp(-0.012778 * t) + 0.2989558 * np.exp(-0.1932605 * t))


def vdot_from_race(distance_m: ArrayLike, time_s: ArrayLike) -> float | FloatArray:
    """Daniels–Gilbert VDOT of a race: ``VO₂(d/t) / %max(t)`` (t in minutes, v in m/min)."""
    d = _positive("distance_m", distance_m)
    minutes = _positive("time_s", time_s) / 60.0
    vo2 = np.asarray(daniels_vo2(d / minutes))
    return _as_output(vo2 / np.asarray(daniels_fraction_of_vo2max(minutes)))


def race_time_for_vdot(vdot: ArrayLike, distance_m: ArrayLike) -> float | FloatArray:
    """Equivalent race time (s) for ``vdot`` over ``distance_m`` (arrays broadcast).

    Solves ``vdot_from_race(d, t) = VDOT`` for ``t`` with SciPy's vectorised bracketing root
    finder (Chandrupatla) on paces 1–20 min/km, to floating-point precision. ``NaN`` where no
    time in that bracket fits (absurd VDOT/distance pairs).
    """
    v = _positive("vdot", vdot)
    d = _positive("distance_m", distance_m)
    v, d = np.broadcast_arrays(v, d)
    slow, fast = _PACE_BRACKET_MIN_PER_KM

    def excess(minutes: FloatArray, target: FloatArray, meters: FloatArray) -> FloatArray:
        return (daniels_vo2(meters / minutes) / daniels_fraction_of_vo2max(minutes)) - target

    bracket = (slow * d / 1000.0, fast * d / 1000.0)
    result = find_root(excess, bracket, args=(v, d))
    minutes = np.where(result.success, result.x, np.nan)
    return _as_output(np.asarray(minutes * 60.0))


def vvo2max_for_vdot(vdot: ArrayLike) -> float | FloatArray:
    """Velocity at VO2max (m/min): the exact root of ``VO₂(v) = VDOT`` (Daniels–Gilbert)."""
    target = np.asarray(vdot, dtype=np.float64)
    c, b, a = DANIELS_VO2_COEFFICIENTS
    return _as_output((-b + np.sqrt(b * b + 4.0 * a * (target - c))) / (2.0 * a))


def vvdot_goldencheetah(vdot: ArrayLike) -> float | FloatArray:
    """GoldenCheetah's quadratic approximation of vVDOT (m/min): 29.54 + 5.000663 V − 0.007546 V².

    About 0.2 m/min off :func:`vvo2max_for_vdot`; kept to reproduce GC's T-pace.
    """
    v = np.asarray(vdot, dtype=np.float64)
    return _as_output(29.54 + 5.000663 * v - 0.007546 * v * v)


def threshold_pace_goldencheetah(vdot: ArrayLike) -> float | FloatArray:
    """GoldenCheetah's Daniels T-pace in s/km: ``60 · 1000 / (0.9 · vVDOT_GC)``."""
    return _as_output(60_000.0 / (0.9 * np.asarray(vvdot_goldencheetah(vdot))))


# --- Riegel and race predictions ---------------------------------------------------------------


def riegel_time(
    time_s: ArrayLike,
    distance_m: ArrayLike,
    target_distance_m: ArrayLike,
    *,
    exponent: float = RIEGEL_EXPONENT,
) -> float | FloatArray:
    """Riegel (1981): ``T₂ = T₁ · (D₂/D₁)^exponent``. Optimistic for the marathon in most
    amateurs; a personal exponent (Bock) can be passed."""
    t1 = _positive("time_s", time_s)
    d1 = _positive("distance_m", distance_m)
    d2 = _positive("target_distance_m", target_distance_m)
    return _as_output(t1 * (d2 / d1) ** exponent)


@dataclass(frozen=True, slots=True)
class RacePrediction:
    """Predicted time (s) for one distance, by Riegel and by VDOT equivalence."""

    distance_m: float
    riegel_s: float
    vdot_s: float


def race_predictions(
    distance_m: float,
    time_s: float,
    *,
    exponent: float = RIEGEL_EXPONENT,
    targets: dict[str, float] | None = None,
) -> dict[str, RacePrediction]:
    """Predictions for 5 k, 10 k, half and marathon (or ``targets``) from one result."""
    chosen = RACE_DISTANCES_M if targets is None else targets
    meters = np.asarray(list(chosen.values()), dtype=np.float64)
    riegel = np.atleast_1d(riegel_time(time_s, distance_m, meters, exponent=exponent))
    vdot = vdot_from_race(distance_m, time_s)
    daniels = np.atleast_1d(race_time_for_vdot(vdot, meters))
    return {
        name: RacePrediction(distance_m=float(m), riegel_s=float(r), vdot_s=float(t))
        for name, m, r, t in zip(chosen, meters, riegel, daniels, strict=True)
    }


# --- VO2max from heart rate --------------------------------------------------------------------


def uth_sorensen_vo2max(
    hr_max: ArrayLike, hr_rest: ArrayLike, *, factor: float = UTH_SORENSEN_FACTOR
) -> float | FloatArray:
    """Uth–Sørensen (2004) VO2max estimate, ml·kg⁻¹·min⁻¹: ``factor · HRmax / HRrest``."""
    return _as_output(factor * np.asarray(hr_max, dtype=np.float64) / _positive("hr_rest", hr_rest))


@dataclass(frozen=True, slots=True)
class EffectiveVo2max:
    """Runalyze's per-activity effective VO2max and the numbers behind it."""

    fraction_of_vo2max: float  # from HR
    velocity_m_per_min: float  # actual (elevation-corrected) average speed
    velocity_at_vo2max: float  # speed scaled to 100 % VO2max
    vo2max: float  # uncorrected HR-based estimate, before Runalyze's shape correction
    vdot_by_time: float  # Daniels VDOT of the same distance and time, for comparison


def runalyze_effective_vo2max(
    distance_m: float,
    time_s: float,
    avg_hr: float,
    hr_max: float,
    *,
    ascent_m: float = 0.0,
    descent_m: float = 0.0,
) -> EffectiveVo2max:
    """Runalyze's HR-based effective VO2max of one run (``VO2maxCalculator.php``, v4.x).

    ``%VO2max = exp((HR/HRmax − 1.00466)/0.68725)``, ``v₁₀₀ = v/%VO2max``, estimate
    ``= −4.6 + 0.182253 v₁₀₀ + 0.000104 v₁₀₀²``. The optional elevation correction adds
    ``2·ascent − 1·descent`` metres to the distance used for this estimate (Runalyze's
    ``VO2MAX_CORRECTION_POSITIVE/NEGATIVE_ELEVATION`` defaults); ``vdot_by_time`` uses the
    plain distance. Runalyze rejects speeds outside 50–1000 m/min; callers should too.
    """
    minutes = float(_positive("time_s", time_s)) / 60.0
    corrected = float(_positive("distance_m", distance_m))
    corrected += RUNALYZE_ASCENT_FACTOR * ascent_m + RUNALYZE_DESCENT_FACTOR * descent_m
    fraction = float(np.exp((avg_hr / hr_max - RUNALYZE_HR_OFFSET) / RUNALYZE_HR_SCALE))
    velocity = corrected / minutes
    at_max = velocity / fraction
    return EffectiveVo2max(
        fraction_of_vo2max=fraction,
        velocity_m_per_min=velocity,
        velocity_at_vo2max=at_max,
        vo2max=float(daniels_vo2(at_max, linear=RUNALYZE_VO2_LINEAR)),
        vdot_by_time=float(vdot_from_race(distance_m, time_s)),
    )


def runalyze_correction_factor(
    vdot_by_time: ArrayLike, vo2max_by_hr: ArrayLike, *, top: int = 3
) -> float:
    """Runalyze's correction (``LegacyEffectiveVO2maxCorrector.php``): over the ``top`` races with
    the highest time-based VDOT, the largest ``VDOT_time / VO2max_HR``; 1 without races."""
    by_time = np.asarray(vdot_by_time, dtype=np.float64)
    by_hr = np.asarray(vo2max_by_hr, dtype=np.float64)
    if by_time.size == 0:
        return 1.0
    best = np.argsort(by_time)[::-1][:top]
    return float(np.max(by_time[best] / by_hr[best]))


def runalyze_shape(
    vo2max_values: ArrayLike, durations_s: ArrayLike, *, correction_factor: float = 1.0
) -> float | None:
    """Runalyze "shape" (``Shape.php``): duration-weighted mean of the per-run estimates over the
    window the caller selected (Runalyze: the last 30 days), times the correction factor."""
    values = np.asarray(vo2max_values, dtype=np.float64)
    weights = np.asarray(durations_s, dtype=np.float64)
    if values.size == 0 or weights.sum() <= 0:
        return None
    return float(np.average(values, weights=weights) * correction_factor)


# --- Critical power, W′, eFTP ------------------------------------------------------------------

CriticalPowerMethod = Literal[
    "work_time_linear", "power_inverse_time_linear", "nonlinear_least_squares_power"
]
#: GoldenCheetah's MMP window for the 2-parameter fits (``PDModel.cpp``): 120 < t ≤ 1200 s.
CP_MIN_DURATION_S = 120.0
CP_MAX_DURATION_S = 1200.0
#: GoldenCheetah's starting point for the least-squares fit.
CP_INITIAL_GUESS = (200.0, 15000.0)


@dataclass(frozen=True, slots=True)
class CriticalPowerFit:
    """A fitted 2-parameter model ``P(t) = W′/t + CP`` and how it was fitted."""

    method: CriticalPowerMethod
    cp_w: float
    w_prime_j: float
    points: int

    def power_at(self, duration_s: ArrayLike) -> float | FloatArray:
        """Model power (W) for ``duration_s``."""
        return _as_output(self.cp_w + self.w_prime_j / _positive("duration_s", duration_s))


def fit_critical_power(
    duration_s: ArrayLike,
    power_w: ArrayLike,
    *,
    method: CriticalPowerMethod = "work_time_linear",
    min_duration_s: float = CP_MIN_DURATION_S,
    max_duration_s: float = CP_MAX_DURATION_S,
) -> CriticalPowerFit | None:
    """Fit CP and W′ to mean-maximal points (``duration_s`` → ``power_w``).

    Points with ``min_duration_s < t ≤ max_duration_s`` are used (GoldenCheetah's window).
    Methods (the names of ``cp_vectors.json``):

    * ``"work_time_linear"`` — ordinary least squares of work ``P·t`` on ``t``: slope CP,
      intercept W′ (GC "Linear Regression (Work)");
    * ``"power_inverse_time_linear"`` — least squares of ``P`` on ``1/t``: slope W′, intercept CP;
    * ``"nonlinear_least_squares_power"`` — Levenberg–Marquardt on ``P`` (GC "Least Squares
      (LMA)", SciPy ``curve_fit`` from CP 200 W, W′ 15 kJ; falls back to all points when fewer
      than 3 lie in the window). The model is linear in CP and W′, so this is the same optimum
      as the inverse-time fit up to the solver's tolerance (about 1e-9 relative).

    GC's default "Envelope" fit is not implemented. ``None`` with fewer than 2 usable points.
    """
    t = np.asarray(duration_s, dtype=np.float64)
    p = np.asarray(power_w, dtype=np.float64)
    ok = np.isfinite(t) & np.isfinite(p) & (t > 0)
    window = ok & (t > min_duration_s) & (t <= max_duration_s)
    if method == "nonlinear_least_squares_power" and window.sum() < 3:
        window = ok
    t, p = t[window], p[window]
    if t.size < 2:
        return None
    if method == "work_time_linear":
        cp, w_prime = np.polyfit(t, p * t, 1)
    elif method == "power_inverse_time_linear":
        w_prime, cp = np.polyfit(1.0 / t, p, 1)
    elif method == "nonlinear_least_squares_power":
        params, _ = curve_fit(_two_parameter_power, t, p, p0=CP_INITIAL_GUESS)
        cp, w_prime = params
    else:
        raise ValueError(f"unknown critical power method {method!r}")
    return CriticalPowerFit(method=method, cp_w=float(cp), w_prime_j=float(w_prime), points=t.size)


def _two_parameter_power(t: FloatArray, cp: float, w_prime: float) -> FloatArray:
    return w_prime / t + cp


EftpConvention = Literal["twenty_minute", "cp"]


def estimated_ftp(
    cp_w: float, w_prime_j: float, *, convention: EftpConvention = "twenty_minute"
) -> float:
    """Our eFTP from a 2-parameter fit. Two named definitions:

    * ``"twenty_minute"`` (default): 95 % of the model's 20-minute power,
      ``0.95 · (CP + W′/1200)`` — Allen & Coggan's 95 %-of-20-min rule (*Training and Racing
      with a Power Meter*) applied to the fitted curve, so any maximal effort of 3–20 min feeds
      it. This is the idea intervals.icu describes for its eFTP, but intervals.icu fits Morton's
      3-parameter model to proprietary reference curves, so the numbers are ours, not theirs.
    * ``"cp"``: eFTP = CP, GoldenCheetah's default ("Use CP for FTP").
    """
    if convention == "twenty_minute":
        return 0.95 * (cp_w + w_prime_j / 1200.0)
    if convention == "cp":
        return float(cp_w)
    raise ValueError(f"unknown eFTP convention {convention!r}")
