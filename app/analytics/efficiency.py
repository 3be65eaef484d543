"""Efficiency factor and aerobic decoupling (Pw:Hr / Pa:Hr).

Sources (reference NOTES §4):

* **EF** — TrainingPeaks (help article 204071724, Friel/Allen): normalized output ÷ average HR,
  i.e. NP/avg HR for rides and NGP/avg HR for runs. GoldenCheetah (``Coggan.cpp``) quotes the
  run version in yards per minute per bpm; here EF is in the units of the ``output`` you pass
  (W for power, m/min or yd/min for a GAP speed from :func:`app.analytics.running.gap_speed`).
* **Decoupling** — ``100 · (EF₁ − EF₂) / EF₁`` over the first and second halves. Three variants
  (``shared/reference/efficiency_decoupling_vectors.json``):

  - ``"np"`` (TrainingPeaks): normalized output per half, halves split at the middle second;
  - ``"average"``: average output per half, same split;
  - ``"goldencheetah"`` (``AerobicDecoupling.cpp``): average output per half, with GC's split —
    the first half is the samples with index ``< (n − 1) // 2`` (an off-by-one against n/2).

  Under 5 % is "coupled" (Friel); Runalyze's glossary adds 5–10 % moderate and over 10 % poor.

Series are put on a 1 Hz grid with :func:`app.analytics.curves.resample_to_1hz` (its
:class:`~app.analytics.curves.Grid`, worked out once for output and HR); seconds inside
pauses longer than ``max_gap_s`` are dropped (EF describes the effort while moving), not
zero-filled. Average HR ignores missing and zero HR (0 bpm = no strap signal); the averaged
variants, like GoldenCheetah, also only average the output over seconds that have HR.

The normalisation is Coggan's NP recipe (30 s trailing mean over full windows, mean of 4th
powers, 4th root): :func:`app.analytics.load.coggan_normalized`, the one shared with NP and NGP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.analytics.curves import Grid
from app.analytics.load import coggan_normalized
from app.analytics.samples import DEFAULT_MAX_GAP_S

FloatArray = NDArray[np.float64]
DecouplingMethod = Literal["np", "average", "goldencheetah"]

#: Decoupling above this (%) means the effort "decoupled" (Friel; TrainingPeaks).
DECOUPLING_THRESHOLD_PCT = 5.0
#: Steady-state gate defaults (see :func:`steadiness_problems`).
STEADY_MIN_DURATION_S = 20 * 60
STEADY_MIN_SAMPLES = 300
STEADY_MIN_HR_COVERAGE = 0.9
STEADY_MAX_VARIABILITY_INDEX = 1.10


def _on_grid(
    time: ArrayLike, output: ArrayLike, heart_rate: ArrayLike, max_gap_s: float
) -> tuple[FloatArray, FloatArray]:
    """Output and HR on the 1 Hz grid, with the seconds inside pauses removed."""
    t = np.asarray(time, dtype=np.float64)
    out, hr = np.asarray(output, dtype=np.float64), np.asarray(heart_rate, dtype=np.float64)
    if t.shape != out.shape or t.shape != hr.shape or t.ndim != 1:
        raise ValueError("time, output and heart rate must be 1-D arrays of the same length")
    grid = Grid.of(t, max_gap_s=max_gap_s)
    return grid.apply_moving(out), grid.apply_moving(hr)


def _hr_mask(hr: FloatArray) -> NDArray[np.bool_]:
    return np.isfinite(hr) & (hr > 0)


def _mean_hr(hr: FloatArray) -> float | None:
    mask = _hr_mask(hr)
    return float(hr[mask].mean()) if mask.any() else None


def efficiency_factor(
    time: ArrayLike,
    output: ArrayLike,
    heart_rate: ArrayLike,
    *,
    normalized: bool = True,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> float | None:
    """EF = normalized output (NP, or NGP for a GAP-speed series) ÷ average HR.

    With ``normalized=False`` the average output is used instead (over seconds with HR).
    ``None`` without HR or (normalized) with less than 30 s of data.
    """
    out, hr = _on_grid(time, output, heart_rate, max_gap_s)
    return _ef(out, hr, normalized=normalized)


def _ef(out: FloatArray, hr: FloatArray, *, normalized: bool) -> float | None:
    mean_hr = _mean_hr(hr)
    if mean_hr is None:
        return None
    if normalized:
        value = coggan_normalized(out)
    else:
        mask = _hr_mask(hr) & np.isfinite(out)
        value = float(out[mask].mean()) if mask.any() else None
    return None if value is None else value / mean_hr


@dataclass(frozen=True, slots=True)
class Decoupling:
    """Both halves of a decoupling calculation and the result in percent."""

    method: DecouplingMethod
    first_output: float
    first_hr: float
    second_output: float
    second_hr: float

    @property
    def first_ef(self) -> float:
        return self.first_output / self.first_hr

    @property
    def second_ef(self) -> float:
        return self.second_output / self.second_hr

    @property
    def percent(self) -> float:
        """``100 · (EF₁ − EF₂) / EF₁``: positive when HR rose relative to output."""
        return 100.0 * (self.first_ef - self.second_ef) / self.first_ef

    @property
    def decoupled(self) -> bool:
        return is_decoupled(self.percent)


def aerobic_decoupling(
    time: ArrayLike,
    output: ArrayLike,
    heart_rate: ArrayLike,
    *,
    method: DecouplingMethod = "np",
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> Decoupling | None:
    """Pa:HR (or Pw:HR) decoupling between the first and second half; see the module doc.

    ``None`` when a half has no HR, no output, or (``"np"``) less than 30 s. Check
    :func:`steady_enough` first: decoupling means something only for a steady aerobic effort.
    """
    out, hr = _on_grid(time, output, heart_rate, max_gap_s)
    return _decoupling(out, hr, method)


def _decoupling(out: FloatArray, hr: FloatArray, method: DecouplingMethod) -> Decoupling | None:
    n = out.size
    split = (n - 1) // 2 if method == "goldencheetah" else n // 2
    halves = ((out[:split], hr[:split]), (out[split:], hr[split:]))
    values: list[tuple[float, float]] = []
    for half_out, half_hr in halves:
        mean_hr = _mean_hr(half_hr)
        if method == "np":
            level = coggan_normalized(half_out)
        else:
            mask = _hr_mask(half_hr) & np.isfinite(half_out)
            level = float(half_out[mask].mean()) if mask.any() else None
        if mean_hr is None or level is None or level <= 0:
            return None
        values.append((level, mean_hr))
    (o1, h1), (o2, h2) = values
    return Decoupling(method=method, first_output=o1, first_hr=h1, second_output=o2, second_hr=h2)


def is_decoupled(percent: float, *, threshold_pct: float = DECOUPLING_THRESHOLD_PCT) -> bool:
    """The > 5 % flag: True when decoupling exceeds ``threshold_pct`` (Friel, TrainingPeaks)."""
    return percent > threshold_pct


def steadiness_problems(
    time: ArrayLike,
    output: ArrayLike,
    heart_rate: ArrayLike,
    *,
    min_duration_s: float = STEADY_MIN_DURATION_S,
    min_samples: int = STEADY_MIN_SAMPLES,
    min_hr_coverage: float = STEADY_MIN_HR_COVERAGE,
    max_variability_index: float = STEADY_MAX_VARIABILITY_INDEX,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> tuple[str, ...]:
    """Why EF/decoupling of this effort would mislead; empty when it is steady enough.

    The rule (our choice, after TrainingPeaks' "steady aerobic efforts only"):

    * ``"too_few_samples"`` — fewer than ``min_samples`` recorded samples with HR (> 0);
    * ``"too_short"`` — under ``min_duration_s`` (20 min) of recording once pauses are removed;
    * ``"no_heart_rate"`` / ``"sparse_heart_rate"`` — no HR, or HR in fewer than
      ``min_hr_coverage`` (90 %) of the seconds;
    * ``"no_output"`` — no positive average output;
    * ``"too_variable"`` — variability index (normalized ÷ average output, Coggan's VI) above
      ``max_variability_index`` (1.10; Friel calls ≤ 1.05 steady, pass that to be strict).
    """
    out, hr = _on_grid(time, output, heart_rate, max_gap_s)
    return _problems(
        np.asarray(heart_rate, dtype=np.float64),
        out,
        hr,
        min_duration_s=min_duration_s,
        min_samples=min_samples,
        min_hr_coverage=min_hr_coverage,
        max_variability_index=max_variability_index,
    )


def _problems(
    hr_raw: FloatArray,
    out: FloatArray,
    hr: FloatArray,
    *,
    min_duration_s: float,
    min_samples: int,
    min_hr_coverage: float,
    max_variability_index: float,
) -> tuple[str, ...]:
    problems: list[str] = []
    if int(_hr_mask(hr_raw).sum()) < min_samples:
        problems.append("too_few_samples")
    if out.size < min_duration_s:
        problems.append("too_short")
    hr_seconds = _hr_mask(hr)
    if not hr_seconds.any():
        problems.append("no_heart_rate")
    elif hr_seconds.mean() < min_hr_coverage:
        problems.append("sparse_heart_rate")
    finite = out[np.isfinite(out)]
    average = float(finite.mean()) if finite.size else 0.0
    if average <= 0:
        problems.append("no_output")
    else:
        normalized = coggan_normalized(out)
        if normalized is not None and normalized / average > max_variability_index:
            problems.append("too_variable")
    return tuple(problems)


def steady_enough(
    time: ArrayLike,
    output: ArrayLike,
    heart_rate: ArrayLike,
    *,
    min_duration_s: float = STEADY_MIN_DURATION_S,
    min_samples: int = STEADY_MIN_SAMPLES,
    min_hr_coverage: float = STEADY_MIN_HR_COVERAGE,
    max_variability_index: float = STEADY_MAX_VARIABILITY_INDEX,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> bool:
    """True when :func:`steadiness_problems` finds nothing (same options, same rule)."""
    return not steadiness_problems(
        time,
        output,
        heart_rate,
        min_duration_s=min_duration_s,
        min_samples=min_samples,
        min_hr_coverage=min_hr_coverage,
        max_variability_index=max_variability_index,
        max_gap_s=max_gap_s,
    )


@dataclass(frozen=True, slots=True)
class Assessment:
    """EF, the steadiness problems and, for a steady effort, decoupling: what
    :func:`efficiency_factor`, :func:`steadiness_problems` and :func:`aerobic_decoupling` give
    one by one (their default options), from one 1 Hz grid."""

    efficiency_factor: float | None
    problems: tuple[str, ...]
    decoupling: Decoupling | None  # None when not steady (``problems``) or undefined


def assess(
    time: ArrayLike,
    output: ArrayLike,
    heart_rate: ArrayLike,
    *,
    method: DecouplingMethod = "np",
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> Assessment:
    """One effort's :class:`Assessment` (the grid is the costly part; it is made once)."""
    out, hr = _on_grid(time, output, heart_rate, max_gap_s)
    problems = _problems(
        np.asarray(heart_rate, dtype=np.float64),
        out,
        hr,
        min_duration_s=STEADY_MIN_DURATION_S,
        min_samples=STEADY_MIN_SAMPLES,
        min_hr_coverage=STEADY_MIN_HR_COVERAGE,
        max_variability_index=STEADY_MAX_VARIABILITY_INDEX,
    )
    return Assessment(
        efficiency_factor=_ef(out, hr, normalized=True),
        problems=problems,
        decoupling=None if problems else _decoupling(out, hr, method),
    )
