"""Every code the coach's core can produce has a sentence, in Korean and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.coach.messages import (
    describe_difference,
    describe_error,
    describe_finding,
    difference_codes,
    error_codes,
    finding_codes,
)
from app.i18n import current_locale, using

ROOT = Path(__file__).resolve().parents[3]
COACH = ROOT / "app" / "coach"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _found(paths: list[Path], pattern: str) -> set[str]:
    codes: set[str] = set()
    for path in paths:
        codes.update(re.findall(pattern, path.read_text(encoding="utf-8")))
    return codes


GUARDRAILS = sorted((COACH / "guardrails").glob("*.py"))
FINDING_CODES = (
    _found(GUARDRAILS, r'Finding\(\s*"?[A-Za-z_]+"?,\s*"(?:adjust|block|report)",\s*"([a-z_]+)"')
    | _found(GUARDRAILS, r'soften\(\w+,\s*\w+,\s*"([a-z_]+)"')
    | _found([COACH / "guardrails" / "__init__.py"], r'Finding\("runner", "block", "([a-z_]+)"')
)
ERROR_CODES = (
    _found([COACH / "workouts.py", COACH / "plans.py"], r'_error\(\s*"([a-z_]+)"')
    | _found([COACH / "changes.py"], r'_Refused\(\s*"([a-z_]+)"')
    | _found([COACH / "llm_schema.py"], r'DraftError\(\s*(?:\([^)]*\)|\w+),\s*"([a-z_]+)"')
)

SAMPLES = {
    "name": "Long run",
    "date": "2027-03-07",
    "start": "2027-03-05",
    "end": "2027-03-08",
    "until": "2027-03-08",
    "kind": "illness",
    "to": "2027-03-06",
    "reason": "weekday",
    "week_start": "2027-03-01",
    "hours": 9.5,
    "limit_hours": 8.0,
    "hrv_7d": 3.52,
    "band_low": 3.7,
    "readiness": 55,
    "readiness_min": 70,
    "event_date": "2027-03-28",
    "days": 7,
    "cut_pct": 12,
    "min_pct": 30,
    "max_pct": 60,
    "last_day": "2027-03-21",
    "weeks_in_row": 4,
    "load": 320,
    "new_load": 208,
    "reference": 320,
    "distance_m": 30000,
    "longest_m": 15000,
    "limit_m": 16500,
    "new_distance_m": 16500,
    "key_date": "2027-03-06",
    "days_in_row": 3,
    "ramp": 9.2,
    "limit": 5.0,
    "ctl": 40,
    "factor_pct": 72,
    "easy_pct": 61,
    "easy_sessions_pct": 50,
    "target_pct": 80,
    "passes": 4,
}


def test_the_scans_find_the_codes():
    assert {"spike_shortened", "ramp_too_steep", "health_rest", "week_over_hours"} <= FINDING_CODES
    assert {"hr_range_order", "weeks_not_consecutive", "unknown_workout", "no_steps"} <= ERROR_CODES


def test_every_finding_has_a_sentence_and_every_sentence_a_finding():
    assert finding_codes() == FINDING_CODES


def test_every_error_has_a_sentence_and_every_sentence_an_error():
    assert error_codes() == ERROR_CODES


@pytest.mark.parametrize("code", sorted(finding_codes()))
def test_findings_read_in_both_languages(code):
    token = current_locale.set("en")
    try:
        english = describe_finding(code, SAMPLES)
    finally:
        current_locale.reset(token)
    token = current_locale.set("ko")
    try:
        korean = describe_finding(code, SAMPLES)
    finally:
        current_locale.reset(token)
    assert english and "%(" not in english and "%%" not in english
    assert HANGUL.search(korean), korean
    assert "%(" not in korean


@pytest.mark.parametrize("code", sorted(error_codes()))
def test_errors_read_in_both_languages_even_without_params(code):
    token = current_locale.set("ko")
    try:
        korean = describe_error(code, {})
    finally:
        current_locale.reset(token)
    assert HANGUL.search(korean), korean
    assert describe_error(code, {})


def test_variants_and_formatting_follow_the_params_and_locale():
    injury = describe_finding("health_rest", {**SAMPLES, "kind": "injury"})
    assert "injury" in injury and "illness" not in injury
    assert "16.5 km" in describe_finding("spike_shortened", SAMPLES)
    first = describe_finding("spike_shortened", {**SAMPLES, "longest_m": 0})
    assert "no run in the 30 days before" in first
    assert "day off" in describe_finding("moved_unavailable", {**SAMPLES, "reason": "day_off"})
    assert "HRV" in describe_finding("readiness_easy", {**SAMPLES, "reason": "hrv"})
    token = current_locale.set("ko")
    try:
        assert "2027. 3. 7." in describe_finding("easy_after_key", SAMPLES)
    finally:
        current_locale.reset(token)
    assert "Mar 7, 2027" in describe_finding("easy_after_key", SAMPLES)
    assert describe_error("missing", {}, "Field required") == "Field required"
    assert "no_such" in describe_finding("no_such", {})


DIFFERENCE_CODES = _found(
    [COACH / "garmin_workout.py"],
    r'"((?:sport|pool_length|step|structure|repeat|duration|target)_[a-z_]+)"',
)
POWER = {"kind": "power_range", "low_w": 225, "high_w": 240}
DIFFERENCE_SAMPLES: dict[str, dict] = {
    "sport_changed": {"sent": "ride", "fetched": "run"},
    "pool_length_changed": {"sent": 25.0, "fetched": 33.0},
    "step_missing": {"step": 5},
    "step_added": {"step": 6},
    "structure_changed": {"step": 4},
    "repeat_changed": {"step": 2, "sent": 6, "fetched": 5},
    "step_type_changed": {"step": 1, "sent": "warmup", "fetched": "interval"},
    "duration_changed": {
        "step": 1,
        "sport": "ride",
        "sent": {"kind": "time", "value": 600.0},
        "fetched": {"kind": "distance", "value": 5000.0},
    },
    # Watts read as metres per second: 225 m/s is a "pace" of 0:04/km (864 km/h).
    "target_changed": {
        "step": 3,
        "sport": "ride",
        "sent": POWER,
        "fetched": {"kind": "pace_range", "fast_s_per_km": 4.2, "slow_s_per_km": 4.4},
    },
    "target_dropped": {"step": 4, "sport": "ride", "sent": POWER, "fetched": {"kind": "none"}},
    "target_values_dropped": {
        "step": 3,
        "sport": "ride",
        "sent": POWER,
        "fetched": {"kind": "unknown", "type_id": 2, "missing": True},
    },
    "target_order_changed": {
        "step": 3,
        "sport": "run",
        "sent": {"kind": "pace_range", "fast_s_per_km": 250.0, "slow_s_per_km": 260.0},
        "fetched": {"kind": "pace_range", "fast_s_per_km": 250.0, "slow_s_per_km": 260.0},
    },
}


def test_every_difference_has_a_sentence_and_every_sentence_a_difference():
    assert {"target_changed", "step_missing", "repeat_changed"} <= DIFFERENCE_CODES
    assert difference_codes() == DIFFERENCE_CODES == set(DIFFERENCE_SAMPLES)


@pytest.mark.parametrize("code", sorted(DIFFERENCE_SAMPLES))
def test_differences_read_in_both_languages(code):
    with using("en", "metric"):
        english = describe_difference(code, DIFFERENCE_SAMPLES[code])
    with using("ko", "metric"):
        korean = describe_difference(code, DIFFERENCE_SAMPLES[code])
    assert english and "%(" not in english and "{" not in english
    assert HANGUL.search(korean), korean
    assert "%(" not in korean and "{" not in korean
    with using("ko"):
        assert HANGUL.search(describe_difference(code, {}))


def test_differences_say_the_targets_lengths_and_sports_in_words():
    with using("en", "metric"):
        assert describe_difference("target_changed", DIFFERENCE_SAMPLES["target_changed"]) == (
            "Step 3 changed target on Garmin: 225–240 W became 0:04 /km."
        )
        assert describe_difference("duration_changed", DIFFERENCE_SAMPLES["duration_changed"]) == (
            "Step 1 changed length on Garmin: 10 min became 5 km."
        )
        assert describe_difference("sport_changed", DIFFERENCE_SAMPLES["sport_changed"]) == (
            "Garmin changed the sport: Ride became Run."
        )
        speed = {"step": 2, "sport": "ride", "sent": POWER,
                 "fetched": {"kind": "speed", "low_kmh": 28.8, "high_kmh": 32.4}}  # fmt: skip
        assert describe_difference("target_changed", speed).endswith(
            "225–240 W became 28.8–32.4 km/h."
        )
        assert "no_such" in describe_difference("no_such", {})
    with using("ko", "metric"):
        assert describe_difference("target_dropped", DIFFERENCE_SAMPLES["target_dropped"]) == (
            "Garmin에서 4단계의 목표(225–240 W)가 빠졌습니다."
        )
        assert describe_difference(
            "step_type_changed", DIFFERENCE_SAMPLES["step_type_changed"]
        ) == ("Garmin에서 1단계의 종류가 바뀌었습니다: 워밍업 → 인터벌.")
