"""A workout's structure in words, in the reader's language and units.

One function turns a structure into words for every place that shows one — the pages, the
calendar feed (:mod:`app.coach.ics`), the step notes of a FIT workout file
(:mod:`app.coach.fit_workout`), the read-back differences of a Garmin upload and the morning
brief::

    Warm-up 15 min in heart-rate zone 2 · 5 × (4 min at 245–265 W · 3 min recovery) ·
    Cool-down 10 min — about 1 h

    워밍업 15분 (심박 존 2) · 5 × (4분 245–265 W · 회복 3분) · 쿨다운 10분 — 약 1시간

Lengths are exact (``4 min 30 s``, ``1 h 30 min``); distances in km (m under a kilometre) or
miles for an imperial owner, swims always in metres (pools here are metric); paces as
``4:10–4:20 /km`` or ``/mi``, swims per 100 m; power in W, heart rate in bpm, cadence in rpm
(steps per minute, spm, for runs). A step's note follows it in brackets, as the plan wrote it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from app import i18n
from app.coach.workouts import (
    CadenceTarget,
    DistanceDuration,
    Duration,
    HrRangeTarget,
    HrZoneTarget,
    LapButtonDuration,
    PaceRangeTarget,
    PowerRangeTarget,
    PowerZoneTarget,
    RepeatGroup,
    Step,
    Target,
    TimeDuration,
    WorkoutStructure,
)
from app.i18n import _, format_number

if TYPE_CHECKING:
    from app.coach.estimate import WorkoutEstimate
    from app.coach.plans import PlannedWorkout

SEPARATOR = " · "


@lru_cache(maxsize=4096)
def _formatted(value: float, locale: str, digits: int | None = None) -> str:
    with i18n.using(locale):
        return format_number(value, digits)


def _number(value: float, digits: int = 0) -> str:
    """``1.5``, ``12``, ``0.62``: at most ``digits`` decimals, none when they are zero (Babel
    is slow and a plan repeats its numbers: they are formatted once per language)."""
    rounded = round(value, digits) if digits else round(value)
    return _formatted(rounded, i18n.current_locale.get())


def length_words(seconds: float) -> str:
    """``45 s``, ``4 min 30 s``, ``1 h 30 min``: an exact length of time."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(_("%(hours)s h", hours=hours))
    if minutes or (hours and secs):
        parts.append(_("%(minutes)s min", minutes=minutes))
    if secs or not parts:
        parts.append(_("%(seconds)s s", seconds=secs))
    return " ".join(parts)


def distance_words(meters: float, sport: str) -> str:
    """``400 m``, ``1 km``, ``1.25 km``, ``42.2 km``, ``0.62 mi``: two decimals at most under
    ten, one above; swims in metres."""
    if sport == "swim":
        return f"{_number(meters)} m"
    if i18n.current_units.get() == "imperial":
        miles = meters / i18n.METERS_PER_MILE
        return f"{_number(miles, 2 if miles < 10 else 1)} mi"
    if meters < 1000:
        return f"{_number(meters)} m"
    kilometres = meters / 1000
    return f"{_number(kilometres, 2 if kilometres < 10 else 1)} km"


def _pace(seconds_per_km: float, sport: str) -> tuple[str, str]:
    if sport == "swim":
        return i18n.format_elapsed(seconds_per_km / 10), "/100 m"
    if i18n.current_units.get() == "imperial":
        return i18n.format_elapsed(seconds_per_km * i18n.METERS_PER_MILE / 1000), "/mi"
    return i18n.format_elapsed(seconds_per_km), "/km"


def _span(low: str, high: str, unit: str) -> str:
    return f"{low} {unit}" if low == high else f"{low}–{high} {unit}"


def target_words(target: Target, sport: str) -> str:
    """The target alone: ``245–265 W``, ``4:10–4:20 /km``, ``heart-rate zone 2``; "no target"
    for none."""
    if isinstance(target, HrZoneTarget):
        return _("heart-rate zone %(zone)s", zone=target.zone)
    if isinstance(target, PowerZoneTarget):
        return _("power zone %(zone)s", zone=target.zone)
    if isinstance(target, HrRangeTarget):
        return _span(str(target.low_bpm), str(target.high_bpm), "bpm")
    if isinstance(target, PowerRangeTarget):
        return _span(_number(target.low_w), _number(target.high_w), "W")
    if isinstance(target, CadenceTarget):
        unit = "spm" if sport == "run" else "rpm"
        return _span(str(target.low_rpm), str(target.high_rpm), unit)
    if isinstance(target, PaceRangeTarget):
        fast, unit = _pace(target.fast_s_per_km, sport)
        slow, _unit = _pace(target.slow_s_per_km, sport)
        return _span(fast, slow, unit)
    return _("no target")


def sport_words(sport: str) -> str:
    """A plan sport's name: Run, Ride, Swim, Strength, Other."""
    names = {
        "run": _("Run"),
        "ride": _("Ride"),
        "swim": _("Swim"),
        "strength": _("Strength"),
        "other": _("Other"),
    }
    return names.get(sport, str(sport))


def step_type_words(step_type: str) -> str:
    """A step type's name: Warm-up, Interval, Recovery, Rest, Cool-down, Other."""
    names = {
        "warmup": _("Warm-up"),
        "interval": _("Interval"),
        "recovery": _("Recovery"),
        "rest": _("Rest"),
        "cooldown": _("Cool-down"),
        "other": _("Other"),
    }
    return names.get(step_type, str(step_type))


def _target_phrase(target: Target, sport: str) -> str:
    if target.kind == "none":
        return ""
    words = target_words(target, sport)
    if target.kind in ("hr_zone", "power_zone"):
        return _("in %(zone)s", zone=words)
    if target.kind == "cadence":
        return _("at a cadence of %(cadence)s", cadence=words)
    return _("at %(target)s", target=words)


def _duration_words(step: Step, sport: str) -> str:
    return duration_words(step.duration, sport)


def duration_words(duration: Duration, sport: str) -> str:
    """How long a step lasts: ``4 min 30 s``, ``400 m``, "until you press lap"."""
    if isinstance(duration, TimeDuration):
        return length_words(duration.seconds)
    if isinstance(duration, DistanceDuration):
        return distance_words(duration.meters, sport)
    if isinstance(duration, LapButtonDuration):
        return _("until you press lap")
    return _("open-ended")


def _labelled(step_type: str, length: str) -> str:
    if step_type == "warmup":
        return _("Warm-up %(length)s", length=length)
    if step_type == "cooldown":
        return _("Cool-down %(length)s", length=length)
    if step_type == "recovery":
        return _("%(length)s recovery", length=length)
    if step_type == "rest":
        return _("%(length)s rest", length=length)
    return length


def step_words(step: Step, sport: str) -> str:
    """One step in the current language: ``Warm-up 15 min in heart-rate zone 2``,
    ``1 km at 4:10–4:20 /km (10 k pace)``, ``2 min recovery``."""
    text = _labelled(step.type, _duration_words(step, sport))
    phrase = _target_phrase(step.target, sport)
    if phrase:
        text = f"{text} {phrase}"
    if step.note:
        text = f"{text} ({step.note})"
    return text


def structure_words(structure: WorkoutStructure, sport: str) -> str:
    """Every step and repeat group in order, joined by `` · ``: ``5 × (4 min … · 3 min
    recovery)``."""
    parts = []
    for item in structure.steps:
        if isinstance(item, RepeatGroup):
            inner = SEPARATOR.join(step_words(step, sport) for step in item.steps)
            parts.append(f"{item.times} × ({inner})")
        else:
            parts.append(step_words(item, sport))
    return SEPARATOR.join(parts)


def estimate_words(estimate: WorkoutEstimate, sport: str) -> str:
    """``about 58 min, 9.8 km``: Domestique's estimate of the session."""
    length = length_words(max(60, round(estimate.duration_s / 60) * 60))
    meters = estimate.distance_m
    if not meters:
        return _("about %(length)s", length=length)
    if sport == "swim":
        distance = distance_words(meters, sport)
    else:  # as i18n.format_distance writes it: 8.7 km, 5.4 mi
        imperial = i18n.current_units.get() == "imperial"
        value = meters / (i18n.METERS_PER_MILE if imperial else 1000.0)
        number = _formatted(round(value, 1), i18n.current_locale.get(), 1)
        distance = f"{number} {'mi' if imperial else 'km'}"
    return _("about %(length)s, %(distance)s", length=length, distance=distance)


def describe_step(
    step: Step, sport: str, locale: str | None = None, units: str | None = None
) -> str:
    """:func:`step_words` in ``locale`` and ``units`` (the current ones when not given)."""
    with i18n.using(locale, units):
        return step_words(step, sport)


def describe_workout(
    workout: PlannedWorkout,
    estimate: WorkoutEstimate | None = None,
    locale: str | None = None,
    units: str | None = None,
) -> str:
    """The workout's structure in words, then the estimate when one is given — in ``locale``
    (``ko``, ``en``) and ``units`` (``metric``, ``imperial``), the current ones when not
    given."""
    with i18n.using(locale, units):
        text = structure_words(workout.structure, workout.sport)
        if estimate is not None:
            text = f"{text} — {estimate_words(estimate, workout.sport)}"
        return text
