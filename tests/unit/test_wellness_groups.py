"""Wellness metric groups and the pure rule that picks each field's source."""

from __future__ import annotations

from datetime import UTC, datetime

from app.records import WELLNESS_FIELDS, WELLNESS_TABLE
from app.services.wellness import trends
from app.services.wellness.origins import (
    GROUP_OF,
    GROUPS,
    OURA_DEFAULT_GROUPS,
    SourceValues,
    effective_preference,
    jsonable,
    resolve_day,
)


def test_every_wellness_field_is_in_exactly_one_group():
    listed = [name for names in GROUPS.values() for name in names]
    assert sorted(listed) == sorted(WELLNESS_FIELDS)  # none missing, none twice
    assert set(GROUP_OF) == set(WELLNESS_FIELDS)
    assert GROUP_OF["sleep_s"] == "sleep" and GROUP_OF["hrv_rmssd_ms"] == "readiness"
    assert GROUP_OF["resting_hr"] == "heart" and GROUP_OF["steps"] == "activity"
    assert GROUP_OF["spo2_avg"] == "breathing" and GROUP_OF["weight_kg"] == "body"
    assert set(OURA_DEFAULT_GROUPS) <= set(GROUPS)


def test_one_field_table_gives_the_groups_and_the_trends():
    """``records.WELLNESS_TABLE`` is the only list: the Settings page's groups (in its order)
    and the Wellness page's trends are read from it."""
    assert list(GROUPS) == [
        "sleep",
        "readiness",
        "heart",
        "activity",
        "stress",
        "breathing",
        "body",
        "fitness",
    ]
    assert GROUPS["breathing"] == ("spo2_avg", "respiratory_rate")
    assert set(trends.COLUMNS) == {f.name for f in WELLNESS_TABLE if f.trend}
    assert set(WELLNESS_FIELDS) - set(trends.COLUMNS) == {
        "active_kcal",
        "respiratory_rate",
        "spo2_avg",
    }


def test_the_automatic_preference_follows_the_oura_connection():
    assert effective_preference({}, oura_connected=False) == {}
    assert effective_preference(None, oura_connected=True) == {"sleep": "oura", "readiness": "oura"}
    chosen = {"sleep": "garmin", "heart": "oura", "nonsense": "x", "body": ""}
    assert effective_preference(chosen, oura_connected=True) == {
        "sleep": "garmin",
        "readiness": "oura",
        "heart": "oura",
    }


def test_priority_then_preference_then_fallback():
    older = datetime(2025, 1, 1, tzinfo=UTC)
    newer = datetime(2025, 1, 2, tzinfo=UTC)
    rows = [
        SourceValues("apple_health", {"resting_hr": 50, "hrv_sdnn_ms": 61.5}, newer),
        SourceValues("oura", {"resting_hr": 44, "sleep_s": 26000}, older),
        SourceValues("garmin", {"resting_hr": 47, "sleep_s": 25000, "sleep_score": 80}, older),
    ]
    values, sources = resolve_day(rows, {})
    assert values == {
        "resting_hr": 47,
        "hrv_sdnn_ms": 61.5,
        "sleep_s": 25000,
        "sleep_score": 80,
    }
    assert sources["resting_hr"] == "garmin" and sources["hrv_sdnn_ms"] == "apple_health"
    values, sources = resolve_day(rows, {"sleep": "oura", "heart": "apple_health"})
    assert values["sleep_s"] == 26000 and sources["sleep_s"] == "oura"
    assert values["sleep_score"] == 80 and sources["sleep_score"] == "garmin"  # Oura: none
    assert values["resting_hr"] == 50
    # Equal priority: the source that changed last; NaN is no value.
    tie = [
        SourceValues("garmin", {"steps": 9000}, older),
        SourceValues("garmin_export", {"steps": 9100, "weight_kg": float("nan")}, newer),
    ]
    assert resolve_day(tie, {}) == ({"steps": 9100}, {"steps": "garmin_export"})


def test_extras_are_made_storable():
    extras = {"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": 2}}
    assert jsonable(extras) == {"a": None, "b": [1.0, None], "c": {"d": 2}}
