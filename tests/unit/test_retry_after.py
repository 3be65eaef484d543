"""The one Retry-After reading the Garmin, Strava, Oura and LLM clients share."""

from __future__ import annotations

from datetime import UTC, datetime

from app.sources.retry_after import retry_after_s

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC).timestamp()


def test_delay_seconds_and_http_dates():
    assert retry_after_s("120", NOW) == 120.0
    assert retry_after_s(" 7 ", NOW) == 7.0
    assert retry_after_s("Sun, 06 Dec 2026 12:01:30 GMT", NOW) == 90.0
    assert retry_after_s("Sun, 06 Dec 2026 11:59:00 GMT", NOW) == 0.0  # past: no wait
    assert retry_after_s("Sun, 06 Dec 2026 12:00:10", NOW) == 10.0  # no zone: GMT


def test_absent_or_unreadable_is_none():
    for value in (None, "", "  ", "soon", "-5", "1e9999"):
        assert retry_after_s(value, NOW) is None, value
