"""One activity's metrics from its samples and thresholds: glue around ``app.analytics``.

Two stages, so that thresholds estimated from the history can include the activity itself:
:func:`base_metrics` needs no thresholds (summary, curves, best efforts; what estimates are built
from) and :func:`full_metrics` adds everything that does (load, IF/TSS, TRIMP/HRSS, zones, rTSS).

The load model (``app.analytics.load.choose_load``): power TSS for rides with power and an FTP
(FTP is a cycling threshold, so running power gives NP but no TSS), else rTSS for runs with
distance and a threshold pace, else HRSS. Activities without samples (manual entries, summaries)
get TRIMP and HRSS from their average heart rate and duration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.analytics import artifacts, curves, efficiency, estimates, load, running, summary, zones
from app.analytics.samples import sample_durations
from app.services.metrics.samples import ActivitySamples
from app.services.metrics.thresholds import HistoryRow, Profile

#: 2: curves, bests and the HRmax estimate from artifact-free streams (``app.analytics.artifacts``).
ALGORITHM_VERSION = 2
CYCLING_SPORTS = frozenset({"cycling", "e_biking"})
RUNNING_SPORTS = frozenset({"running"})
#: Foot sports: pace instead of speed, cadence in steps, an optical HR that can lock onto it.
FOOT_SPORTS = frozenset({"running", "walking", "hiking", "mountaineering", "snowshoeing"})
#: The HRmax estimate is the best heart rate held this long (s), artifacts removed: one bad
#: second moves it by a twentieth of its excess at most, a real maximum by a beat or two.
SUSTAINED_HR_S = 20
#: Daniels' tables start at 1500 m; shorter best efforts overstate VDOT.
VDOT_MIN_DISTANCE_M = 1609.344
#: Runalyze rejects effective-VO2max speeds outside this range (m/min).
RUNALYZE_SPEED_RANGE = (50.0, 1000.0)
MOVING_SPEED_MPS = summary.MIN_MOVING_SPEED_MPS


@dataclass(frozen=True, slots=True)
class ActivityInput:
    activity_id: int
    day: date
    sport: str
    samples: ActivitySamples | None
    # the stored summary, for activities without samples
    avg_hr: float | None = None
    duration_s: float | None = None
    excluded: bool = False  # the owner left it out of threshold estimates


@dataclass(slots=True)
class Base:
    """Threshold-free results of one activity."""

    history: HistoryRow
    columns: dict[str, Any]
    hr: NDArray[np.float64] | None = None
    gap_speed: NDArray[np.float64] | None = None
    summary: summary.ActivitySummary | None = None
    plausible_run: bool = True  # False: a "run" faster than any human (a ride recorded as one)


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _array(values: NDArray[np.float64] | None) -> list[float | None] | None:
    if values is None:
        return None
    return [float(v) if math.isfinite(v) else None for v in values.tolist()]


def _has(values: NDArray[np.float64] | None) -> bool:
    return values is not None and bool(np.isfinite(values).any())


def base_metrics(item: ActivityInput) -> Base:
    samples = item.samples
    columns: dict[str, Any] = {"pace_bests": {}, "artifacts": {}}
    if samples is None or len(samples) == 0:
        row = HistoryRow(item.activity_id, item.day, None, None, None, None, item.excluded)
        return Base(history=row, columns=columns)
    t = samples.time
    channels = samples.channels
    present = {name: values for name, values in channels.items() if _has(values)}
    headline = summary.summarize(t, present)
    columns.update(
        moving_s=headline.moving_s,
        ascent_m=headline.ascent_m,
        descent_m=headline.descent_m,
        max_hr_bpm=headline.max_hr,
    )
    found: dict[str, dict[str, Any]] = columns["artifacts"]
    cadence = present.get("cadence")
    hr = sustained_hr = None
    if "heart_rate" in present:
        # Load, zones and efficiency read the heart rate as recorded; the curve and the HRmax
        # estimate read it without artifacts.
        hr = np.where(present["heart_rate"] > 0, present["heart_rate"], np.nan)
        clean_hr = artifacts.clean_heart_rate(
            t, present["heart_rate"], cadence=cadence, foot=item.sport in FOOT_SPORTS
        )
        hr_curve = curves.mean_maximal(t, clean_hr.values).value
        columns["hr_curve_bpm"] = _array(hr_curve)
        usable = clean_hr.share <= artifacts.MAX_ARTIFACT_SHARE
        found["heart_rate"] = _found(clean_hr, usable=usable)
        if usable:
            sustained_hr = _finite(hr_curve[curves.DEFAULT_DURATIONS_S.index(SUSTAINED_HR_S)])
    columns["sustained_hr_bpm"] = sustained_hr
    ride_curve = None
    if "power" in present:
        clean_power = artifacts.clean_power(t, present["power"], cadence=cadence)
        found["power"] = _found(clean_power)
        power_curve = curves.mean_maximal(t, clean_power.values).value
        columns["power_curve_w"] = _array(power_curve)
        if item.sport in CYCLING_SPORTS:
            # As stored (real[]), so estimates from fresh and from stored curves are identical.
            ride_curve = power_curve.astype(np.float32).astype(np.float64)
    best_vdot = best_effort = None
    gap = None
    plausible_run = True
    if item.sport in RUNNING_SPORTS and "distance" in present:
        clean_distance = artifacts.clean_run_distance(t, present["distance"])
        bests, best_vdot, best_effort = _pace_bests(t, clean_distance.values)
        if best_vdot is not None and best_vdot > estimates.MAX_HUMAN_VDOT:
            # Faster than any human over a mile or more: a ride recorded as a run. Its bests
            # stay on its page; none of them is a running estimate.
            plausible_run = False
            best_vdot = best_effort = None
            for entry in bests.values():
                entry.pop("vdot", None)
        columns["pace_bests"] = bests
        found["distance"] = {**_found(clean_distance), "faster_than_humans": not plausible_run}
        altitude = channels.get("altitude", np.full(t.size, np.nan))
        gap = running.gap_speed(t, present["distance"], altitude)
    history = HistoryRow(
        activity_id=item.activity_id,
        day=item.day,
        sustained_hr=sustained_hr,
        ride_power_curve=ride_curve,
        best_vdot=best_vdot,
        best_vdot_effort=best_effort,
        excluded=item.excluded,
    )
    return Base(
        history=history,
        columns=columns,
        hr=hr,
        gap_speed=gap,
        summary=headline,
        plausible_run=plausible_run,
    )


def _found(cleaned: artifacts.Cleaned, **extra: Any) -> dict[str, Any]:
    """What a cleaner removed, as stored in ``activity_metrics.artifacts``."""
    return {**cleaned.artifacts, "share": round(cleaned.share, 6), **extra}


def _pace_bests(
    t: NDArray[np.float64], distance: NDArray[np.float64]
) -> tuple[dict[str, Any], float | None, dict[str, Any] | None]:
    """Best efforts by distance, each from a mile up with its VDOT; the best VDOT and its
    effort."""
    bests: dict[str, Any] = {}
    best_vdot = best_effort = None
    for name, effort in curves.best_efforts(t, distance).items():
        if effort.time_s is None or effort.time_s <= 0:
            continue
        entry = {
            "distance_m": effort.distance_m,
            "time_s": round(effort.time_s, 3),
            "pace_s_per_km": round(effort.pace_s_per_km or 0.0, 3),
        }
        if effort.distance_m >= VDOT_MIN_DISTANCE_M:
            vdot = round(float(estimates.vdot_from_race(effort.distance_m, effort.time_s)), 6)
            entry["vdot"] = vdot
            if best_vdot is None or vdot > best_vdot:
                best_vdot, best_effort = vdot, {"effort": name, **entry}
        bests[name] = entry
    return bests, best_vdot, best_effort


def _value(thresholds: dict[str, dict[str, Any]], kind: str) -> float | None:
    entry = thresholds.get(kind)
    return None if entry is None else float(entry["value"])


def full_metrics(
    item: ActivityInput,
    base: Base,
    thresholds: dict[str, dict[str, Any]],
    profile: Profile,
) -> dict[str, Any]:
    """Every column of ``activity_metrics`` for this activity."""
    columns = dict(base.columns)
    used = dict(thresholds)
    hr_max = _value(thresholds, "hr_max_bpm")
    hr_rest = _value(thresholds, "hr_rest_bpm")
    lthr = _value(thresholds, "lthr_bpm")
    ftp = _value(thresholds, "ftp_w")
    pace = _value(thresholds, "threshold_pace_s_per_km")
    hr_ok = hr_max is not None and hr_rest is not None and hr_max > hr_rest
    hrss_ok = hr_ok and lthr is not None and hr_rest is not None and lthr > hr_rest
    sex = profile.trimp_variant
    samples = item.samples
    tss = rtss = hrss = None
    if samples is None or len(samples) == 0:
        if hr_ok and item.avg_hr and item.duration_s:
            assert hr_max is not None and hr_rest is not None
            trimp = load.banister_trimp_from_average(
                item.avg_hr, item.duration_s / 60.0, hr_rest=hr_rest, hr_max=hr_max, sex=sex
            )
            columns["trimp"] = trimp
            if hrss_ok:
                assert lthr is not None
                hrss = load.hrss(trimp, lthr=lthr, hr_rest=hr_rest, hr_max=hr_max, sex=sex)
                columns["hrss"] = hrss
            used["trimp"] = {"sex": sex, "method": "average"}
    else:
        t = samples.time
        power = samples.channels["power"]
        if _has(power):
            cycling = item.sport in CYCLING_SPORTS
            result = load.power_load(t, power, ftp_w=ftp if cycling else None)
            tss = result.tss
            columns.update(
                avg_power_w=result.average_w,
                normalized_power_w=result.normalized_w,
                intensity_factor=result.intensity_factor,
                tss=tss,
                variability_index=result.variability_index,
                work_kj=result.work_kj,
            )
        hr = base.hr
        if hr is not None and hr_ok:
            assert hr_max is not None and hr_rest is not None
            trimp = load.banister_trimp(t, hr, hr_rest=hr_rest, hr_max=hr_max, sex=sex)
            columns["trimp"] = trimp
            used["trimp"] = {"sex": sex, "method": "per_sample"}
            if hrss_ok:
                assert lthr is not None
                hrss = load.hrss(trimp, lthr=lthr, hr_rest=hr_rest, hr_max=hr_max, sex=sex)
                columns["hrss"] = hrss
        if hr is not None:
            _zones(columns, used, t, hr, item.sport, profile, lthr, hr_max, hr_rest)
        if base.gap_speed is not None:
            rtss = _running(columns, item, base, pace, hr_max)
        _efficiency(columns, item, base)
    chosen, model = load.choose_load(tss, rtss, hrss)
    columns.update(load=chosen, load_model=model, thresholds_used=used)
    columns["algorithm_version"] = ALGORITHM_VERSION
    return columns


def _zones(
    columns: dict[str, Any],
    used: dict[str, Any],
    t: NDArray[np.float64],
    hr: NDArray[np.float64],
    sport: str,
    profile: Profile,
    lthr: float | None,
    hr_max: float | None,
    hr_rest: float | None,
) -> None:
    try:
        chosen = zones.hr_zones(
            profile.hr_zone_model,  # type: ignore[arg-type]
            lthr=lthr,
            hr_max=hr_max,
            hr_rest=hr_rest,
            sport="running" if sport in RUNNING_SPORTS else "cycling",
        )
    except ValueError:
        return
    columns["hr_zone_s"] = _array(zones.time_in_zones(t, hr, chosen))
    used["hr_zones"] = {"model": chosen.model, "lower_bpm": [round(b, 3) for b in chosen.lower_bpm]}


def _running(
    columns: dict[str, Any],
    item: ActivityInput,
    base: Base,
    pace: float | None,
    hr_max: float | None,
) -> float | None:
    assert item.samples is not None and base.gap_speed is not None
    t = item.samples.time
    distance = item.samples.channels["distance"]
    altitude = item.samples.channels["altitude"]
    durations = sample_durations(t)
    actual = running.interval_speed(t, distance)
    moving = np.isfinite(base.gap_speed) & (actual >= MOVING_SPEED_MPS)
    if moving.any():
        average = float(
            np.sum(base.gap_speed[moving] * durations[moving]) / durations[moving].sum()
        )
        columns["gap_avg_s_per_km"] = 1000.0 / average if average > 0 else None
    ngp = running.normalized_graded_speed(t, distance, altitude)
    rtss = None
    if ngp is not None and ngp > 0:
        columns["ngp_s_per_km"] = 1000.0 / ngp
        if pace is not None and pace > 0:
            rtss = load.rtss(
                float(durations.sum()),
                ngp_speed_m_s=ngp,
                threshold_speed_m_s=load.speed_from_pace(pace),
            )
            columns["rtss"] = rtss
    headline = base.summary
    if (
        headline is not None
        and base.plausible_run
        and headline.avg_hr
        and hr_max
        and headline.distance_m
        and headline.moving_s > 0
    ):
        speed = headline.distance_m / (headline.moving_s / 60.0)
        if RUNALYZE_SPEED_RANGE[0] <= speed <= RUNALYZE_SPEED_RANGE[1]:
            effective = estimates.runalyze_effective_vo2max(
                headline.distance_m,
                headline.moving_s,
                headline.avg_hr,
                hr_max,
                ascent_m=headline.ascent_m or 0.0,
                descent_m=headline.descent_m or 0.0,
            )
            columns["effective_vo2max"] = effective.vo2max
    return rtss


def _efficiency(columns: dict[str, Any], item: ActivityInput, base: Base) -> None:
    """EF always when defined; decoupling only for steady efforts (``steadiness_problems``)."""
    assert item.samples is not None
    if base.hr is None:
        return
    t = item.samples.time
    power = item.samples.channels["power"]
    if item.sport in CYCLING_SPORTS and _has(power):
        output = power
    elif base.gap_speed is not None:
        output = base.gap_speed * 60.0  # m/min per bpm, the usual running EF unit
    else:
        return
    assessed = efficiency.assess(t, output, base.hr)
    columns["efficiency_factor"] = assessed.efficiency_factor
    steady = not assessed.problems
    columns["steady"] = steady
    if steady and assessed.decoupling is not None:
        columns["decoupling_pct"] = assessed.decoupling.percent
        columns["decoupled"] = assessed.decoupling.decoupled
