"""Heart-rate zones and time in zone.

Zones are a list of inclusive lower bounds in bpm, ascending: zone ``k`` holds
``lower_bpm[k] <= hr < lower_bpm[k + 1]`` and the last zone is open upwards. The zone models
below start zone 1 at 0 bpm, so every valid sample lands in a zone; a custom list may start
higher (Edwards' TRIMP does, at 50 % HRmax), and samples below its first bound are then not
counted.

Time is weighted by sample duration, not by sample count, so 1 Hz and irregular ("smart")
recordings give the same answer. How a duration is assigned to a sample is defined once, in
:func:`app.analytics.samples.sample_durations`, shared by every duration-weighted metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from app.analytics.samples import DEFAULT_MAX_GAP_S, sample_durations

FloatArray = NDArray[np.float64]

BOUNDARY_TOLERANCE_BPM = 1e-9
"""A sample within this distance below a bound counts in the higher zone, so that
``0.6 * 190`` computed as 113.99999999999999 still puts 114 bpm in the 60 % zone."""

FRIEL_LTHR_FRACTIONS: dict[str, tuple[float, ...]] = {
    # Joe Friel, "A Quick Guide to Setting Zones" (trainingbible.com, 2009) and
    # Total Heart Rate Training (2006): lower bounds of Z2, Z3, Z4, Z5a, Z5b, Z5c as % LTHR.
    # Friel writes Z5c as ">106 %"; it is read here as a lower bound of 106 %.
    "cycling": (0.81, 0.90, 0.94, 1.00, 1.03, 1.06),
    "running": (0.85, 0.90, 0.95, 1.00, 1.03, 1.06),
}
FRIEL_ZONE_NAMES = ("Z1", "Z2", "Z3", "Z4", "Z5a", "Z5b", "Z5c")

FIVE_ZONE_FRACTIONS = (0.60, 0.70, 0.80, 0.90)
"""Lower bounds of Z2..Z5 of the common five-zone %HRmax / %HRR model (50-60-70-80-90 %, as
used by Edwards 1993 and by Garmin and Polar defaults); Z1 is everything below 60 %."""

GOLDENCHEETAH_LTHR_FRACTIONS = (0.68, 0.83, 0.94, 1.05)
"""GoldenCheetah ``src/Gui/HrZones.cpp`` default zones: Z1 from 0, Z2..Z5 from 68/83/94/105 %
LTHR (GC@c0eac1dd, lines 39-44)."""

ZoneModel = Literal["lthr", "hrmax", "hrr"]


@dataclass(frozen=True)
class HrZones:
    """Heart-rate zones: names and inclusive lower bounds in bpm (ascending)."""

    model: str
    names: tuple[str, ...]
    lower_bpm: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.names) != len(self.lower_bpm):
            raise ValueError("one name per zone bound is needed")
        if any(b <= a for a, b in zip(self.lower_bpm, self.lower_bpm[1:], strict=False)):
            raise ValueError("zone bounds must be strictly ascending")


def zones_from_fractions(
    reference_bpm: float,
    fractions: Sequence[float],
    *,
    floor_bpm: float = 0.0,
    model: str = "custom",
    names: Sequence[str] | None = None,
) -> HrZones:
    """Zones whose bounds are ``floor_bpm + fraction * reference_bpm``.

    ``fractions`` are the lower bounds of zone 2 onwards; zone 1 starts at 0 bpm. For
    Karvonen zones pass the heart-rate reserve as ``reference_bpm`` and HRrest as
    ``floor_bpm``.
    """
    if reference_bpm <= 0:
        raise ValueError("the reference heart rate must be positive")
    bounds = (0.0, *(floor_bpm + f * reference_bpm for f in fractions))
    zone_names = (
        tuple(names) if names is not None else tuple(f"Z{i + 1}" for i in range(len(bounds)))
    )
    return HrZones(model=model, names=zone_names, lower_bpm=bounds)


def friel_lthr_zones(
    lthr: float,
    *,
    sport: Literal["cycling", "running"] = "cycling",
    fractions: Sequence[float] | None = None,
) -> HrZones:
    """Friel's seven LTHR zones (Z1, Z2, Z3, Z4, Z5a, Z5b, Z5c) for cycling or running.

    Source: Joe Friel, *Total Heart Rate Training* (2006) and "A Quick Guide to Setting Zones"
    (2009). ``fractions`` replaces the six lower bounds (Z2..Z5c) as fractions of LTHR.
    """
    chosen = FRIEL_LTHR_FRACTIONS[sport] if fractions is None else tuple(fractions)
    names = FRIEL_ZONE_NAMES if len(chosen) == len(FRIEL_ZONE_NAMES) - 1 else None
    return zones_from_fractions(lthr, chosen, model=f"lthr-friel-{sport}", names=names)


def hrmax_zones(hr_max: float, *, fractions: Sequence[float] = FIVE_ZONE_FRACTIONS) -> HrZones:
    """Zones as a percentage of maximum heart rate: bound = fraction · HRmax."""
    return zones_from_fractions(hr_max, fractions, model="hrmax")


def karvonen_zones(
    hr_rest: float, hr_max: float, *, fractions: Sequence[float] = FIVE_ZONE_FRACTIONS
) -> HrZones:
    """Zones as a percentage of heart-rate reserve (Karvonen, Kentala & Mustala 1957).

    bound = HRrest + fraction · (HRmax − HRrest).
    """
    if hr_max <= hr_rest:
        raise ValueError("HRmax must be above HRrest")
    return zones_from_fractions(hr_max - hr_rest, fractions, floor_bpm=hr_rest, model="hrr")


def hr_zones(
    model: ZoneModel,
    *,
    lthr: float | None = None,
    hr_max: float | None = None,
    hr_rest: float | None = None,
    sport: Literal["cycling", "running"] = "cycling",
    fractions: Sequence[float] | None = None,
) -> HrZones:
    """Zones from the owner's chosen model: ``"lthr"`` (Friel), ``"hrmax"`` or ``"hrr"``.

    ``fractions`` overrides the model's default lower bounds (zone 2 onwards).
    """
    if model == "lthr":
        if lthr is None:
            raise ValueError("LTHR zones need lthr")
        return friel_lthr_zones(lthr, sport=sport, fractions=fractions)
    if model == "hrmax":
        if hr_max is None:
            raise ValueError("%HRmax zones need hr_max")
        return hrmax_zones(hr_max, fractions=fractions or FIVE_ZONE_FRACTIONS)
    if model == "hrr":
        if hr_max is None or hr_rest is None:
            raise ValueError("%HRR zones need hr_rest and hr_max")
        return karvonen_zones(hr_rest, hr_max, fractions=fractions or FIVE_ZONE_FRACTIONS)
    raise ValueError(f"unknown zone model {model!r}")


def valid_hr(hr: ArrayLike) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Heart rate as float and the mask of usable samples (finite and above 0 bpm).

    A 0 bpm sample is how Garmin and others record "no strap contact", so it is missing, not
    a heart rate.
    """
    values = np.asarray(hr, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        mask = np.isfinite(values) & (values > 0)
    return values, mask


def time_in_zones(
    time_s: ArrayLike,
    hr: ArrayLike,
    lower_bpm: Sequence[float] | HrZones,
    *,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> FloatArray:
    """Seconds spent in each zone, weighted by :func:`sample_durations`.

    Samples with missing heart rate (NaN, 0 bpm) and samples below the first bound are not
    counted; their time is simply absent from the result.
    """
    bounds = np.asarray(
        lower_bpm.lower_bpm if isinstance(lower_bpm, HrZones) else lower_bpm, dtype=np.float64
    )
    values, mask = valid_hr(hr)
    durations = sample_durations(time_s, max_gap_s=max_gap_s)
    if durations.shape != values.shape:
        raise ValueError("time and heart rate must have the same length")
    zone = np.searchsorted(bounds - BOUNDARY_TOLERANCE_BPM, values[mask], side="right") - 1
    counted = zone >= 0
    return np.bincount(zone[counted], weights=durations[mask][counted], minlength=bounds.size)
