"""Every code the coach's core can produce has a sentence, in Korean and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.coach.messages import describe_error, describe_finding, error_codes, finding_codes
from app.i18n import current_locale

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
