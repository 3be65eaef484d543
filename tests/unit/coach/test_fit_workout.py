"""FIT workout files: every file is decoded with fitdecode and every step checked back, for
every workout of the example plan (each kind of step, duration and target)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import fitdecode
import pytest
from fit_tool.fit_file import FitFile
from fit_tool.validation import STRICT_LEVELS, validate_fit_file

from app.coach.example import plan_example
from app.coach.fit_workout import fit_text, fit_workout, serial_number
from app.coach.plans import PlannedWorkout
from app.coach.workouts import RepeatGroup, Step

CREATED = datetime(2027, 2, 1, 6, 30, tzinfo=UTC)
FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)


def decode(data: bytes) -> dict[str, list[dict[str, Any]]]:
    """Every data message by name, each as {field name: raw value} (CRC checked)."""
    messages: dict[str, list[dict[str, Any]]] = {}
    with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                fields = {f.name: f.raw_value for f in frame.fields}
                messages.setdefault(frame.name, []).append(fields)
    return messages


def values(data: bytes) -> list[dict[str, Any]]:
    """The workout steps with fitdecode's scaled values (seconds, metres, m/s)."""
    steps = []
    with fitdecode.FitReader(io.BytesIO(data)) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "workout_step":
                steps.append({f.name: f.value for f in frame.fields})
    return steps


def expected_steps(workout: PlannedWorkout) -> list[dict[str, Any]]:
    """The FIT steps the profile wants for ``workout``, as raw values: time in ms, distance in
    cm, heart rate + 100, power + 1000, speed in mm/s, a repeat step after its group's steps."""
    intensity = {"warmup": 2, "cooldown": 3, "recovery": 4, "rest": 1, "interval": 0, "other": 0}
    out: list[dict[str, Any]] = []

    def add(step: Step) -> None:
        fields: dict[str, Any] = {"message_index": len(out), "intensity": intensity[step.type]}
        duration = step.duration
        if duration.kind == "time":
            fields |= {"duration_type": 0, "duration_time": duration.seconds * 1000}
        elif duration.kind == "distance":
            fields |= {"duration_type": 1, "duration_distance": round(duration.meters * 100)}
        else:
            fields |= {"duration_type": 5}
        target = step.target
        if target.kind == "hr_zone":
            fields |= {"target_type": 1, "target_hr_zone": target.zone}
        elif target.kind == "hr_range":
            fields |= {
                "target_type": 1,
                "target_hr_zone": 0,
                "custom_target_heart_rate_low": target.low_bpm + 100,
                "custom_target_heart_rate_high": target.high_bpm + 100,
            }
        elif target.kind == "power_zone":
            fields |= {"target_type": 4, "target_power_zone": target.zone}
        elif target.kind == "power_range":
            fields |= {
                "target_type": 4,
                "target_power_zone": 0,
                "custom_target_power_low": target.low_w + 1000,
                "custom_target_power_high": target.high_w + 1000,
            }
        elif target.kind == "pace_range":
            fields |= {
                "target_type": 0,
                "target_speed_zone": 0,
                "custom_target_speed_low": round(1_000_000 / target.slow_s_per_km),
                "custom_target_speed_high": round(1_000_000 / target.fast_s_per_km),
            }
        elif target.kind == "cadence":
            halve = 2 if workout.sport == "run" else 1
            fields |= {
                "target_type": 3,
                "target_cadence_zone": 0,
                "custom_target_cadence_low": round(target.low_rpm / halve),
                "custom_target_cadence_high": round(target.high_rpm / halve),
            }
        else:
            fields |= {"target_type": 2}
        if step.note:
            fields["wkt_step_name"] = step.note
        out.append(fields)

    for item in workout.structure.steps:
        if isinstance(item, RepeatGroup):
            first = len(out)
            for step in item.steps:
                add(step)
            out.append(
                {
                    "message_index": len(out),
                    "duration_type": 6,
                    "duration_step": first,
                    "repeat_steps": item.times,
                }
            )
        else:
            add(item)
    return out


@pytest.mark.parametrize("workout_id", [w.id for w in plan_example().workouts])
def test_every_example_workout_decodes_to_its_steps(workout_id):
    workout = plan_example().workout(workout_id)
    assert workout is not None
    data = fit_workout(workout, time_created=CREATED, locale="en")
    messages = decode(data)

    (file_id,) = messages["file_id"]
    assert file_id["type"] == 4 + 1  # workout
    assert file_id["manufacturer"] == 255  # development
    assert file_id["serial_number"] == serial_number(workout.id) != 0
    assert file_id["time_created"] == (CREATED - FIT_EPOCH).total_seconds()

    (header,) = messages["workout"]
    expected = expected_steps(workout)
    assert header["num_valid_steps"] == len(expected) == len(messages["workout_step"])
    assert header["wkt_name"] == workout.name
    sport = {"run": 1, "ride": 2, "swim": 5, "strength": 10, "other": 0}[workout.sport]
    assert header["sport"] == sport

    for got, want in zip(messages["workout_step"], expected, strict=True):
        assert {key: got.get(key) for key in want} == want
        if want["duration_type"] == 6:
            assert "notes" not in got
            assert got["target_type"] == 2  # open, as the FIT SDK's examples write it
        else:
            assert got["notes"]  # the step in words

    # fit-tool's own checks of the wire format, the profile and the workout file type pass,
    # but for its count of num_valid_steps: it leaves the repeat steps out, the FIT SDK's
    # workout examples count every step message.
    report = validate_fit_file(FitFile.from_bytes(data), levels=STRICT_LEVELS)
    assert [f.message for f in report.findings if "num_valid_steps" not in f.message] == []


def test_the_example_covers_every_duration_target_and_step_type():
    kinds = {"duration": set(), "target": set(), "type": set(), "repeat": 0}
    for workout in plan_example().workouts:
        for item in workout.structure.steps:
            kinds["repeat"] += isinstance(item, RepeatGroup)
        for step in workout.structure.distinct_steps():
            kinds["duration"].add(step.duration.kind)
            kinds["target"].add(step.target.kind)
            kinds["type"].add(step.type)
    assert kinds["duration"] == {"time", "distance", "lap_button", "open"}
    assert kinds["target"] == {
        "none",
        "hr_zone",
        "hr_range",
        "pace_range",
        "power_zone",
        "power_range",
        "cadence",
    }
    assert kinds["type"] == {"warmup", "interval", "recovery", "rest", "cooldown", "other"}
    assert kinds["repeat"] > 0


def test_custom_targets_carry_the_fit_offsets_and_scaled_values():
    plan = plan_example()
    ride = plan.workout("w1-thu-ride")
    easy = plan.workout("w1-sat-run")
    run = plan.workout("w1-tue-run")
    assert ride is not None and easy is not None and run is not None
    ride_steps = decode(fit_workout(ride, time_created=CREATED))["workout_step"]
    # 225–240 W is written 1225–1240: under 1000 a device would read % of FTP.
    assert (
        ride_steps[1]["custom_target_power_low"],
        ride_steps[1]["custom_target_power_high"],
    ) == (
        1225,
        1240,
    )
    assert ride_steps[3]["duration_step"] == 1 and ride_steps[3]["repeat_steps"] == 2
    # 128–142 bpm is written 228–242: under 100 a device would read % of HRmax.
    easy_step = decode(fit_workout(easy, time_created=CREATED))["workout_step"][0]
    assert (
        easy_step["custom_target_heart_rate_low"],
        easy_step["custom_target_heart_rate_high"],
    ) == (
        228,
        242,
    )
    assert easy_step["duration_time"] == 2_400_000  # 40 min in ms
    # 4:10–4:20/km: slow 3.846 m/s, fast 4.0 m/s, as fitdecode scales them back.
    interval = values(fit_workout(run, time_created=CREATED))[1]
    assert interval["duration_distance"] == 1000.0
    assert interval["custom_target_speed_low"] == pytest.approx(3.846, abs=1e-3)
    assert interval["custom_target_speed_high"] == pytest.approx(4.0, abs=1e-3)


def test_a_run_cadence_is_written_in_strides_a_minute():
    run = PlannedWorkout.model_validate(
        {
            "id": "cad",
            "date": "2027-03-02",
            "sport": "run",
            "name": "Cadence drill",
            "structure": {
                "steps": [
                    {
                        "kind": "step",
                        "type": "interval",
                        "duration": {"kind": "time", "seconds": 300},
                        "target": {"kind": "cadence", "low_rpm": 170, "high_rpm": 180},
                    }
                ]
            },
        }
    )
    (step,) = decode(fit_workout(run, time_created=CREATED))["workout_step"]
    assert (step["custom_target_cadence_low"], step["custom_target_cadence_high"]) == (85, 90)


def test_a_pool_swim_says_its_pool_and_sub_sport():
    swim = plan_example().workout("w1-wed-swim")
    assert swim is not None
    messages = decode(fit_workout(swim, time_created=CREATED, pool_length_m=50))
    (header,) = messages["workout"]
    assert header["sub_sport"] == 17  # lap swimming
    assert header["pool_length"] == 5000  # cm
    assert header["pool_length_unit"] == 0  # metric
    rest = messages["workout_step"][2]
    assert rest["intensity"] == 1 and rest["duration_time"] == 20_000


def test_step_notes_follow_the_owners_language_and_units():
    run = plan_example().workout("w1-tue-run")
    assert run is not None
    english = values(fit_workout(run, time_created=CREATED, locale="en", units="imperial"))
    korean = values(fit_workout(run, time_created=CREATED, locale="ko", units="metric"))
    assert english[0]["notes"] == "Warm-up 15 min in heart-rate zone 2"
    assert korean[0]["notes"] == "워밍업 15분 (심박 존 2)"
    assert english[1]["notes"].startswith("0.62 mi at 6:42–6:58 /mi")
    assert korean[1]["wkt_step_name"] == "10 k pace or a touch quicker"


def test_the_same_workout_gives_the_same_bytes_and_long_text_is_cut_safely():
    run = plan_example().workout("w1-tue-run")
    assert run is not None
    first = fit_workout(run, time_created=CREATED)
    assert fit_workout(run, time_created=CREATED) == first
    later = fit_workout(run, time_created=CREATED + timedelta(days=1))
    assert later != first
    local = CREATED.astimezone(timezone(timedelta(hours=9)))
    assert fit_workout(run, time_created=local) == first
    with pytest.raises(ValueError, match="aware"):
        fit_workout(run, time_created=datetime(2027, 2, 1))

    assert fit_text("가" * 100, 10) == "가가가"  # 9 bytes; never half a character
    assert fit_text("short", 10) == "short"
    named = run.model_copy(update={"name": "긴 이름 " * 20})
    (header,) = decode(fit_workout(named, time_created=CREATED))["workout"]
    assert len(header["wkt_name"].encode()) <= 64
    assert header["wkt_name"].startswith("긴 이름")
