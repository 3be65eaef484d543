"""A planned workout as a FIT workout file, for any device that reads them (Garmin, Wahoo,
Coros, Hammerhead): copied over USB to ``GARMIN/NewFiles`` on a Garmin watch.

Written with ``fit-tool`` (BSD-3) as the FIT profile describes a workout file:

* **file id**: type workout, manufacturer "development" (255), product 0, a serial number from
  the workout's id (CRC-32, so the same workout always gets the same one) and the time created
  the caller gives (no clock here);
* **workout**: sport (running, cycling, swimming — with sub-sport lap swimming, the pool length
  and its unit —, training with sub-sport strength training, generic), the name, the purpose as
  its description, and ``num_valid_steps``: every step message, repeat steps included, as the
  FIT SDK's workout examples count them (fit-tool's validator counts without them);
* **workout steps**, in the order they are done, a repeat group's steps followed by one repeat
  step: duration type ``time`` (written in ms), ``distance`` (in cm), ``open`` for the lap
  button and open steps, ``repeat_until_steps_cmplt`` with the index of the group's first step
  to jump back to and the number of times; intensity warm-up, cool-down, recovery, rest or
  active (intervals and other steps); the target:

  ==================  ===========  ==========================================================
  plan                FIT target   values
  ==================  ===========  ==========================================================
  heart-rate zone     heart_rate   ``target_hr_zone`` 1–5
  heart-rate range    heart_rate   zone 0, custom low/high in **bpm + 100**
  power zone          power        ``target_power_zone`` 1–7
  power range         power        zone 0, custom low/high in **W + 1000**
  pace range          speed        zone 0, custom low (slow) / high (fast) in mm/s
  cadence             cadence      zone 0, custom low/high in rpm (runs: strides a minute,
                                   half the steps, as FIT counts running cadence)
  none                open
  ==================  ===========  ==========================================================

  The offsets are the FIT profile's: a custom heart rate under 100 is a percentage of HRmax and
  a power under 1000 a percentage of FTP, so absolute values are shifted above them.
  fit-tool writes these fields as raw numbers; the scaled ones (time, distance, speed) it
  scales from seconds, metres and m/s.

Each step carries the plan's note as its name (what the watch shows as the step's title) and
the step in words (:func:`app.coach.describe.step_words`) as its notes, in the owner's
language. Strings are cut to what a FIT string field holds (254 bytes of UTF-8, never inside a
character).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import datetime

from fit_tool.fit_file_builder import FitFileBuilder
from fit_tool.profile.messages.file_id_message import FileIdMessage
from fit_tool.profile.messages.workout_message import WorkoutMessage
from fit_tool.profile.messages.workout_step_message import WorkoutStepMessage
from fit_tool.profile.profile_type import (
    DisplayMeasure,
    FileType,
    Intensity,
    Manufacturer,
    Sport,
    SubSport,
    WorkoutStepDuration,
    WorkoutStepTarget,
)

from app import i18n
from app.coach.describe import step_words
from app.coach.plans import PlannedWorkout
from app.coach.workouts import (
    CadenceTarget,
    DistanceDuration,
    HrRangeTarget,
    HrZoneTarget,
    PaceRangeTarget,
    PowerRangeTarget,
    PowerZoneTarget,
    RepeatGroup,
    Step,
    TimeDuration,
)

DEFAULT_POOL_LENGTH_M = 25.0
HEART_RATE_OFFSET = 100
"""FIT custom heart-rate targets: bpm + 100 (values up to 100 are % of HRmax)."""
POWER_OFFSET = 1000
"""FIT custom power targets: W + 1000 (values up to 1000 are % of FTP)."""
MAX_STRING_BYTES = 254
MAX_NAME_BYTES = 64

SPORTS: dict[str, tuple[Sport, SubSport | None]] = {
    "run": (Sport.RUNNING, None),
    "ride": (Sport.CYCLING, None),
    "swim": (Sport.SWIMMING, SubSport.LAP_SWIMMING),
    "strength": (Sport.TRAINING, SubSport.STRENGTH_TRAINING),
    "other": (Sport.GENERIC, None),
}
INTENSITY: dict[str, Intensity] = {
    "warmup": Intensity.WARMUP,
    "cooldown": Intensity.COOLDOWN,
    "recovery": Intensity.RECOVERY,
    "rest": Intensity.REST,
    "interval": Intensity.ACTIVE,
    "other": Intensity.ACTIVE,
}
"""FIT intensity by step type. Intervals and other steps are ``active``, which every device
reads (the newer ``interval`` and ``other`` values are not understood by older units)."""


def serial_number(workout_id: str) -> int:
    """A stable 32-bit serial number for a workout (never 0, FIT's "invalid")."""
    return zlib.crc32(workout_id.encode()) or 1


def fit_text(text: str, limit: int = MAX_STRING_BYTES) -> str:
    """``text`` cut to ``limit`` bytes of UTF-8 without splitting a character."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit].decode(errors="ignore").rstrip()


def _set_duration(message: WorkoutStepMessage, step: Step) -> None:
    duration = step.duration
    if isinstance(duration, TimeDuration):
        message.duration_type = WorkoutStepDuration.TIME
        message.duration_time = float(duration.seconds)
    elif isinstance(duration, DistanceDuration):
        message.duration_type = WorkoutStepDuration.DISTANCE
        message.duration_distance = float(duration.meters)
    else:
        message.duration_type = WorkoutStepDuration.OPEN


def _set_target(message: WorkoutStepMessage, step: Step, sport: str) -> None:
    target = step.target
    if isinstance(target, HrZoneTarget):
        message.target_type = WorkoutStepTarget.HEART_RATE
        message.target_hr_zone = target.zone
    elif isinstance(target, HrRangeTarget):
        message.target_type = WorkoutStepTarget.HEART_RATE
        message.target_hr_zone = 0
        message.custom_target_heart_rate_low = target.low_bpm + HEART_RATE_OFFSET
        message.custom_target_heart_rate_high = target.high_bpm + HEART_RATE_OFFSET
    elif isinstance(target, PowerZoneTarget):
        message.target_type = WorkoutStepTarget.POWER
        message.target_power_zone = target.zone
    elif isinstance(target, PowerRangeTarget):
        message.target_type = WorkoutStepTarget.POWER
        message.target_power_zone = 0
        message.custom_target_power_low = target.low_w + POWER_OFFSET
        message.custom_target_power_high = target.high_w + POWER_OFFSET
    elif isinstance(target, PaceRangeTarget):
        message.target_type = WorkoutStepTarget.SPEED
        message.target_speed_zone = 0
        message.custom_target_speed_low = 1000.0 / target.slow_s_per_km
        message.custom_target_speed_high = 1000.0 / target.fast_s_per_km
    elif isinstance(target, CadenceTarget):
        halve = sport == "run"  # FIT counts running cadence in strides (one foot) a minute
        message.target_type = WorkoutStepTarget.CADENCE
        message.target_cadence_zone = 0
        message.custom_target_cadence_low = round(target.low_rpm / 2) if halve else target.low_rpm
        message.custom_target_cadence_high = (
            round(target.high_rpm / 2) if halve else target.high_rpm
        )
    else:
        message.target_type = WorkoutStepTarget.OPEN
        message.target_value = 0


def _step_message(step: Step, sport: str, index: int) -> WorkoutStepMessage:
    message = WorkoutStepMessage()
    message.message_index = index
    if step.note:
        message.workout_step_name = fit_text(step.note, MAX_NAME_BYTES)
    message.intensity = INTENSITY[step.type]
    _set_duration(message, step)
    _set_target(message, step, sport)
    message.notes = fit_text(step_words(step, sport))
    return message


def _repeat_message(first_index: int, times: int, index: int) -> WorkoutStepMessage:
    message = WorkoutStepMessage()
    message.message_index = index
    message.duration_type = WorkoutStepDuration.REPEAT_UNTIL_STEPS_CMPLT
    message.duration_step = first_index
    message.target_type = WorkoutStepTarget.OPEN  # as the FIT SDK's own example writes it
    message.target_repeat_steps = times
    return message


def _steps(workout: PlannedWorkout) -> Iterator[WorkoutStepMessage]:
    index = 0
    for item in workout.structure.steps:
        if isinstance(item, RepeatGroup):
            first = index
            for step in item.steps:
                yield _step_message(step, workout.sport, index)
                index += 1
            yield _repeat_message(first, item.times, index)
        else:
            yield _step_message(item, workout.sport, index)
        index += 1


def fit_workout(
    workout: PlannedWorkout,
    *,
    time_created: datetime,
    locale: str | None = None,
    units: str | None = None,
    pool_length_m: float = DEFAULT_POOL_LENGTH_M,
) -> bytes:
    """The FIT workout file of ``workout`` (bytes to save as ``<name>.fit``), its step notes in
    ``locale`` and ``units`` (the current ones when not given). ``time_created`` must be
    aware; ``pool_length_m`` is a swim's pool."""
    if time_created.tzinfo is None:
        raise ValueError("time_created must be timezone-aware")
    file_id = FileIdMessage()
    file_id.type = FileType.WORKOUT
    file_id.manufacturer = Manufacturer.DEVELOPMENT.value
    file_id.product = 0
    file_id.serial_number = serial_number(workout.id)
    file_id.time_created = round(time_created.timestamp() * 1000)

    with i18n.using(locale, units):
        steps = list(_steps(workout))

    sport, sub_sport = SPORTS[workout.sport]
    message = WorkoutMessage()
    message.workout_name = fit_text(workout.name, MAX_NAME_BYTES)
    message.sport = sport
    if sub_sport is not None:
        message.sub_sport = sub_sport
    if workout.sport == "swim":
        message.pool_length = float(pool_length_m)
        message.pool_length_unit = DisplayMeasure.METRIC
    if workout.purpose:
        message.workout_description = fit_text(workout.purpose)
    message.num_valid_steps = len(steps)

    builder = FitFileBuilder(auto_define=True)
    builder.add(file_id)
    builder.add(message)
    builder.add_all(steps)
    return builder.build().to_bytes()
