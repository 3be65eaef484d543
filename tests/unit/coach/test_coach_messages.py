"""Every code the coach's core can produce has a sentence, in Korean and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.coach.decision import ACTIONS
from app.coach.messages import (
    action_name,
    bonus_name,
    describe_difference,
    describe_error,
    describe_finding,
    difference_codes,
    error_codes,
    finding_codes,
    mission_state_name,
    mission_type_name,
    phase_name,
    ride_mode_name,
    stage_type_name,
)
from app.coach.missions import MISSION_TYPES, MissionState
from app.coach.points import BONUS_KINDS, RACING_STAGE_TYPES, RIDE_MODES
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
PLACED = r"\(\s*(?:\([^)]*\)|\w+),\s*\"([a-z_]+)\""  # Name(loc, "code" / Name(index, "code"
FINDING_CODES = (
    _found(
        [*GUARDRAILS, COACH / "decision.py"],
        r'Finding\(\s*"?[A-Za-z_.]+"?,\s*"(?:adjust|block|report)",\s*"([a-z_]+)"',
    )
    | _found(GUARDRAILS, r'soften\(\w+,\s*\w+,\s*"([a-z_]+)"')
    | _found([COACH / "guardrails" / "__init__.py"], r'Finding\("runner", "block", "([a-z_]+)"')
)
MISSION_FILES = [COACH / "missions.py", COACH / "points.py", COACH / "mission_draft.py"]
ERROR_CODES = (
    _found([COACH / "workouts.py", COACH / "plans.py", *MISSION_FILES], r'_error\(\s*"([a-z_]+)"')
    | _found([COACH / "changes.py"], r'_Refused\(\s*"([a-z_]+)"')
    | _found(
        [COACH / "llm_schema.py", COACH / "decision.py", COACH / "mission_draft.py"],
        r"DraftError" + PLACED,
    )
    | _found([COACH / "missions.py"], r"_problem" + PLACED)
    | _found([COACH / "missions.py"], r'TransitionRefused\(\s*"([a-z_]+)"')
    | _found([COACH / "points.py"], r"CorrectionError" + PLACED)
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
    "tsb": -24.5,
    "minimum": 60,
    "stage_day": True,
    "min_readiness": 80,
    "min_tsb": -5,
    "count": 3,
    "maximum": 2,
    "guardrail": "hard_after_key",
}


def test_the_scans_find_the_codes():
    assert {"spike_shortened", "ramp_too_steep", "health_rest", "week_over_hours"} <= FINDING_CODES
    assert {"hr_range_order", "weeks_not_consecutive", "unknown_workout", "no_steps"} <= ERROR_CODES
    assert {"decision_rest_tsb", "decision_hard_refused", "constraint_tsb"} <= FINDING_CODES
    assert {
        "stage_outside_event",
        "time_zone_unknown",
        "transition_automatic",
        "correction_activity_repeated",
        "ride_mode_missing",
        "stage_points_missing",
        "rest_day_numbered",
    } <= ERROR_CODES


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


def test_decision_sentences_follow_their_params_and_language():
    event = describe_finding("decision_rest_tsb", SAMPLES)
    assert "today's stage" in event and "-24.5" in event
    training = describe_finding("decision_rest_tsb", {**SAMPLES, "stage_day": False})
    assert "stage" not in training
    unknown = describe_finding("decision_no_breakaway", {**SAMPLES, "readiness": None})
    assert "not known" in unknown
    refused = describe_finding("decision_hard_refused", SAMPLES)
    assert refused.startswith("Long run becomes an easy session today.")
    assert "right after the key session" in refused
    token = current_locale.set("ko")
    try:
        korean = describe_finding("decision_no_breakaway", SAMPLES)
        assert "도주" in korean and "종합" in korean
        moved = describe_error("transition_not_allowed", {"source": "prep", "target": "archived"})
        assert moved == "미션을 준비에서 보관됨으로 바꿀 수 없습니다."
        assert describe_error("stage_points_missing", {"stage_type": "itt"}) == (
            "개인 타임 트라이얼 스테이지 점수가 없습니다."
        )
    finally:
        current_locale.reset(token)
    assert describe_error(
        "transition_not_allowed", {"source": "prep", "target": "event_active"}
    ) == ("A mission cannot go from Preparation to Event under way.")


def test_every_name_of_the_missions_world_reads_in_both_languages():
    pairs = [
        *((mission_state_name, state.value) for state in MissionState),
        *((mission_type_name, kind) for kind in MISSION_TYPES),
        *((phase_name, p) for p in ("base", "build", "peak", "taper", "event", "after")),
        *((stage_type_name, kind) for kind in (*RACING_STAGE_TYPES, "rest")),
        *((ride_mode_name, mode) for mode in RIDE_MODES),
        *((action_name, action) for action in ACTIONS),
        *((bonus_name, kind) for kind in BONUS_KINDS),
    ]
    for name_of, value in pairs:
        assert name_of(value) != value, value  # a name, not the code it fell back to
        token = current_locale.set("ko")
        try:
            korean = name_of(value)
        finally:
            current_locale.reset(token)
        assert HANGUL.search(korean), (value, korean)
    assert bonus_name("stages_in_row", 5) == "5 stages in a row"
    assert bonus_name("breakaways", 10) == "10 breakaways"
    token = current_locale.set("ko")
    try:
        assert bonus_name("stages_in_row", 5) == "5개 스테이지 연속 완주"
    finally:
        current_locale.reset(token)


ADAPTATION_SAMPLES = {
    "name": "Long run",
    "missed_on": "2027-03-02",
    "moved_to": "2027-03-03",
    "replaces": ["Easy run"],
    "day": "2027-03-02",
}


@pytest.mark.parametrize(
    ("code", "params"),
    [
        ("missed_key_moved", ADAPTATION_SAMPLES),
        ("missed_key_moved", {**ADAPTATION_SAMPLES, "replaces": []}),
        ("missed_key_let_go", ADAPTATION_SAMPLES),
    ],
)
def test_adaptations_read_in_both_languages(code, params):
    from app.coach.messages import ADAPTATIONS, describe_adaptation

    assert code in ADAPTATIONS
    token = current_locale.set("en")
    try:
        english = describe_adaptation(code, params)
    finally:
        current_locale.reset(token)
    token = current_locale.set("ko")
    try:
        korean = describe_adaptation(code, params)
    finally:
        current_locale.reset(token)
    assert "Long run" in english and "%(" not in english
    assert HANGUL.search(korean) and "Long run" in korean and "%(" not in korean
    assert english != korean
