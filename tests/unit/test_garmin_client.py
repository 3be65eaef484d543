"""GarminClient against a fake Garmin Connect on loopback (tests/support/fake_garmin.py).

garminconnect's own login, token refresh and transport run unchanged; only the base URLs point
at the fake. Logins wait the library's 2-5 s anti-WAF pause, so they are kept few (module-scoped
where the scenario allows).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from app.records import WELLNESS_FIELDS
from app.sources import SourceAuthError, SourceDataError, SourceRateLimited, SourceUnavailable
from app.sources.garmin.client import Endpoints, GarminClient, MfaCodeRejected
from app.sources.garmin.mapper import activity_summary_to_record, daily_to_wellness
from tests.support.fake_garmin import FakeGarmin, load_fixture

DAY = date(2025, 7, 7)


@pytest.fixture
def fake() -> Iterator[FakeGarmin]:
    server = FakeGarmin().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(fake: FakeGarmin) -> GarminClient:
    return GarminClient.from_tokens(fake.issue_tokens(), endpoints=fake.endpoints)


def assert_loopback_only(client: GarminClient, fake: FakeGarmin) -> None:
    urls = client.base_urls()
    assert urls and all(u.startswith(fake.base_url) for u in urls), urls
    assert not any("garmin.com" in u for u in urls)


def test_production_endpoints_are_garmin_and_tests_are_loopback(client, fake):
    assert Endpoints.for_domain().connectapi == "https://connectapi.garmin.com"
    assert_loopback_only(client, fake)


# --- login -----------------------------------------------------------------------------------


def test_login_without_mfa_returns_tokens_and_keeps_no_password(fake):
    client = GarminClient(endpoints=fake.endpoints)
    assert_loopback_only(client, fake)
    result = client.start_login(fake.email, fake.password)
    assert not result.needs_mfa
    assert result.tokens is not None
    stored = json.loads(result.tokens)
    assert set(stored) == {"di_token", "di_refresh_token", "di_client_id"}
    assert fake.password not in result.tokens
    held = [*vars(client).values(), *vars(client._client).values()]
    assert not any(fake.password in repr(value) for value in held)
    # the tokens work in a new client (another process)
    again = GarminClient.from_tokens(result.tokens, endpoints=fake.endpoints)
    assert again.hrv(DAY) is None
    assert len(fake.password_posts) == 1


def test_wrong_password_is_auth_error_and_stops_the_strategy_chain(fake):
    client = GarminClient(endpoints=fake.endpoints)
    with pytest.raises(SourceAuthError):
        client.start_login(fake.email, "wrong")
    assert len(fake.password_posts) == 1


def test_login_with_mfa_wrong_then_right_code(fake):
    fake.mfa_code = "123456"
    first = GarminClient(endpoints=fake.endpoints)
    result = first.start_login(fake.email, fake.password)
    assert result.needs_mfa and result.tokens is None
    state = json.loads(json.dumps(result.mfa_state))  # stored as JSON between two requests
    assert fake.password not in json.dumps(state)

    second = GarminClient(endpoints=fake.endpoints)  # e.g. another web worker
    with pytest.raises(MfaCodeRejected):
        second.finish_login(state, "000000")
    tokens = second.finish_login(state, " 123456 ")
    assert json.loads(tokens)["di_token"]
    assert second.current_tokens() == tokens
    assert second.user_summary(DAY) is None


def test_login_rate_limited_on_every_strategy(fake):
    fake.sso_status = 429
    client = GarminClient(endpoints=fake.endpoints)
    with pytest.raises(SourceRateLimited) as err:
        client.start_login(fake.email, fake.password)
    assert err.value.retry_after is None  # garminconnect drops the login response
    assert fake.password_posts == []


def test_login_when_sso_is_down_is_unavailable(fake):
    fake.sso_status = 503
    # mobile+requests (one 2-5 s pause) and widget only: each other strategy pauses again
    skip = frozenset({"mobile+cffi", "portal+cffi", "portal+requests"})
    client = GarminClient(endpoints=fake.endpoints, skip_login_strategies=skip)
    with pytest.raises(SourceUnavailable):
        client.start_login(fake.email, fake.password)


# --- tokens ----------------------------------------------------------------------------------


def test_token_refresh_rotates_tokens(fake):
    old = fake.issue_tokens(expires_in=60)  # inside garminconnect's 15-minute refresh window
    client = GarminClient.from_tokens(old, endpoints=fake.endpoints)
    assert client.hrv(DAY) is None
    new = client.current_tokens()
    assert new != old
    assert json.loads(new)["di_refresh_token"] != json.loads(old)["di_refresh_token"]
    assert json.loads(old)["di_refresh_token"] not in fake.refresh_tokens  # retired
    assert ("POST", "/di-oauth2-service/oauth/token") in fake.requests
    # the rotated tokens work on their own
    assert GarminClient.from_tokens(new, endpoints=fake.endpoints).hrv(DAY) is None


def test_401_after_expiry_and_failed_refresh_is_auth_error(fake):
    tokens = fake.issue_tokens(expires_in=-10)
    fake.revoke_all()
    client = GarminClient.from_tokens(tokens, endpoints=fake.endpoints)
    with pytest.raises(SourceAuthError):
        client.activities(DAY, DAY)
    calls = [p for _, p in fake.requests if p.startswith("/activitylist-service")]
    assert len(calls) == 2  # the library retries once after a 401, never more


def test_unreadable_tokens_are_auth_error(fake):
    with pytest.raises(SourceAuthError):
        GarminClient.from_tokens("not json", endpoints=fake.endpoints)


# --- errors on data calls --------------------------------------------------------------------


def test_429_on_data_call_carries_retry_after(client, fake):
    fake.fail("/hrv-service/", 429, headers={"Retry-After": "120"})
    with pytest.raises(SourceRateLimited) as err:
        client.hrv(DAY)
    assert err.value.retry_after == 120.0
    fake.fail("/hrv-service/", 429)
    with pytest.raises(SourceRateLimited) as err:
        client.hrv(DAY)
    assert err.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_unavailable_without_retry(client, fake, status):
    fake.fail("/activitylist-service/", status, times=3)
    with pytest.raises(SourceUnavailable):
        client.activities(DAY, DAY)
    calls = [p for _, p in fake.requests if p.startswith("/activitylist-service")]
    assert len(calls) == 1


def test_connection_refused_is_unavailable(fake):
    tokens = fake.issue_tokens()
    endpoints = fake.endpoints
    fake.stop()
    client = GarminClient.from_tokens(tokens, endpoints=endpoints, timeout=2)
    with pytest.raises(SourceUnavailable):
        client.sleep(DAY)


def test_timeout_is_unavailable(fake):
    client = GarminClient.from_tokens(fake.issue_tokens(), endpoints=fake.endpoints, timeout=0.2)
    fake.fail("/weight-service/", 200, body=b"{}", delay_s=1.0)
    with pytest.raises(SourceUnavailable):
        client.body_composition(DAY)


def test_malformed_json_is_data_error(client, fake):
    fake.fail("/usersummary-service/", 200, body=b"{not json")
    with pytest.raises(SourceDataError) as err:
        client.user_summary(DAY)
    assert err.value.code == "garmin_bad_payload"
    fake.fail("/activitylist-service/", 200, body=b'{"an": "object"}')
    with pytest.raises(SourceDataError) as err:
        client.activities(DAY, DAY)
    assert err.value.code == "garmin_bad_payload"


# --- data ------------------------------------------------------------------------------------


def test_empty_day_gives_no_values(client):
    payloads = client.daily(date(2030, 1, 1))
    assert payloads["hrv"] is None  # 204
    assert payloads["training_readiness"] == []
    wellness = daily_to_wellness(date(2030, 1, 1), payloads)
    assert wellness.values == {}
    assert wellness.source == "garmin"


def test_full_day_maps_to_wellness(client, fake):
    fake.set_daily("sleep", DAY, load_fixture("sleep.json"))
    fake.set_daily("hrv", DAY, load_fixture("hrv.json"))
    fake.set_daily("user_summary", DAY, load_fixture("user_summary.json"))
    fake.set_daily("training_readiness", DAY, load_fixture("training_readiness.json"))
    fake.set_daily("body_composition", DAY, load_fixture("weight_dayview.json"))
    fake.set_daily("max_metrics", DAY, load_fixture("max_metrics.json"))
    wellness = daily_to_wellness(DAY, client.daily(DAY))
    v = wellness.values
    assert set(v) <= set(WELLNESS_FIELDS)
    assert v["sleep_s"] == 24180 and v["sleep_deep_s"] == 5280 and v["sleep_rem_s"] == 5460
    assert v["sleep_score"] == 83
    assert v["hrv_rmssd_ms"] == 42  # lastNightAvg, not the weekly average (39)
    assert v["training_readiness"] == 80  # AFTER_WAKEUP_RESET, not the latest (50)
    assert v["resting_hr"] == 51 and v["steps"] == 5459 and v["stress_avg"] == 24
    assert v["body_battery_high"] == 92 and v["body_battery_low"] == 32
    assert v["weight_kg"] == pytest.approx(59.72) and v["body_fat_pct"] == 19.3
    assert v["respiratory_rate"] == 13.0 and v["spo2_avg"] == 93.0  # the night's values
    assert v["vo2max_running"] == pytest.approx(45.3)
    assert "vo2max_cycling" not in v


def test_activity_list_paginates_over_a_long_history(fake):
    fake.add_history(1000, newest=date(2026, 1, 8))
    client = GarminClient.from_tokens(fake.issue_tokens(), endpoints=fake.endpoints, page_size=100)
    items = client.activities(date(2020, 1, 1), date(2026, 1, 8))
    assert len(items) == 1000
    assert len({a["activityId"] for a in items}) == 1000
    starts = [a["startTimeGMT"] for a in items]
    assert starts == sorted(starts, reverse=True)  # newest first
    pages = [p for _, p in fake.requests if p.startswith("/activitylist-service")]
    assert len(pages) == 11  # ten full pages and an empty one
    window = client.activities(date(2026, 1, 1), date(2026, 1, 8))
    assert len(window) == 8


def test_activity_and_original_file(fake):
    fake.add_history(2, newest=date(2026, 1, 8))
    client = GarminClient.from_tokens(fake.issue_tokens(), endpoints=fake.endpoints)
    summary = client.activities(date(2026, 1, 8), date(2026, 1, 8))[0]
    detail = client.activity(summary["activityId"])
    assert detail["activityId"] == summary["activityId"]
    blob = client.original_file(summary["activityId"])
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        (name,) = zf.namelist()
        assert name.endswith(".fit")
        assert zf.read(name)[8:12] == b".FIT"
    with pytest.raises(SourceDataError) as err:
        client.activity(1)
    assert err.value.code == "garmin_not_found"
    with pytest.raises(SourceDataError):
        client.original_file("../etc")


def test_activity_summary_to_record():
    summary = load_fixture("activity_list_page1.json")[0]
    record = activity_summary_to_record(summary)
    assert record.source == "garmin"
    assert record.external_id == "21482825013"
    assert (record.sport, record.sub_sport) == ("running", "trail")
    assert record.start == datetime(2026, 1, 8, 14, 10, 21, tzinfo=UTC)
    assert record.local_start == datetime(2026, 1, 8, 8, 10, 21)
    assert record.distance_m == pytest.approx(4261.19, abs=0.01)
    assert record.avg_cadence == pytest.approx(111.734375 / 2)
    assert record.avg_hr == 142 and record.max_power == 587
    assert record.extras["aerobicTrainingEffect"] == pytest.approx(2.7)
    assert record.extras["vO2MaxValue"] == 45.0
    with pytest.raises(SourceDataError):
        activity_summary_to_record({"activityName": "no id"})
