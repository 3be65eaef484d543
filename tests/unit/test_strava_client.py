"""StravaClient against a fake Strava on loopback (tests/support/fake_strava.py), and the mapper
against stravalib's recorded payloads (tests/fixtures/strava).

stravalib's protocol layer runs unchanged; only the base URLs point at the fake. Nothing sleeps:
rate limits are read from the headers and turned into ``retry_after``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import requests

from app.records import SAMPLE_CHANNELS
from app.sources import SourceAuthError, SourceDataError, SourceRateLimited, SourceUnavailable
from app.sources.strava.client import (
    DEFAULT_SCOPE,
    PAGE_SIZE,
    STREAM_KEYS,
    Endpoints,
    RateLimits,
    StravaAppInactive,
    StravaClient,
    UploadStatus,
    parse_upload,
)
from app.sources.strava.mapper import activity_to_record, sport_of, streams_to_samples
from tests.support.fake_strava import APP_INACTIVE, ATHLETE_ID, FakeStrava, load_fixture

FIT_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "fit" / "12129115726_ACTIVITY.fit"
REDIRECT = "http://nas.local:8000/connections/strava/callback"
NEWEST = datetime(2026, 10, 1, 6, 30, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeStrava]:
    server = FakeStrava().start()
    try:
        yield server
    finally:
        server.stop()


def connect(fake: FakeStrava, tokens: str | None = None, **kwargs) -> StravaClient:
    kwargs.setdefault("client_id", fake.client_id)
    kwargs.setdefault("client_secret", fake.client_secret)
    client = StravaClient.from_tokens(
        tokens or fake.issue_tokens(), endpoints=fake.endpoints, **kwargs
    )
    assert_loopback_only(client, fake)
    return client


def assert_loopback_only(client: StravaClient, fake: FakeStrava) -> None:
    urls = client.base_urls()
    assert urls and all(u.startswith(f"{fake.base_url}/") for u in urls), urls
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in urls)
    assert not any("strava.com" in u for u in urls)


def calls(fake: FakeStrava, prefix: str) -> list[str]:
    return [p for _, p in fake.requests if p.startswith(prefix)]


def test_production_endpoints_are_strava_and_tests_are_loopback(fake):
    assert Endpoints().api == "https://www.strava.com/api/v3"
    assert Endpoints().token_url == "https://www.strava.com/oauth/token"
    url = StravaClient().authorization_url(1, REDIRECT, "s")
    assert url.startswith("https://www.strava.com/oauth/authorize?")
    assert_loopback_only(StravaClient(endpoints=fake.endpoints), fake)


# --- OAuth -----------------------------------------------------------------------------------


def test_oauth_round_trip(fake):
    client = StravaClient(endpoints=fake.endpoints)
    assert_loopback_only(client, fake)
    url = client.authorization_url(fake.client_id, REDIRECT, state="csrf-123")
    assert url.startswith(f"{fake.base_url}/oauth/authorize?")
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == [",".join(DEFAULT_SCOPE)] == ["read,activity:read_all,activity:write"]
    assert query["state"] == ["csrf-123"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [REDIRECT] and query["client_id"] == [str(fake.client_id)]

    # the owner approves in the browser; Strava redirects to the NAS callback
    answer = requests.get(url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    callback = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert callback["state"] == ["csrf-123"]

    tokens = json.loads(
        client.exchange_code(fake.client_id, fake.client_secret, callback["code"][0])
    )
    assert set(tokens) == {"access_token", "refresh_token", "expires_at", "athlete_id"}
    assert tokens["athlete_id"] == ATHLETE_ID
    assert tokens["access_token"] in fake.access_tokens
    assert client.current_tokens() == json.dumps(tokens)
    assert client.athlete()["id"] == ATHLETE_ID
    # the tokens work in another process
    assert connect(fake, json.dumps(tokens)).athlete()["firstname"]
    # codes are single-use; a wrong secret is refused
    with pytest.raises(SourceAuthError):
        StravaClient(endpoints=fake.endpoints).exchange_code(
            fake.client_id, fake.client_secret, callback["code"][0]
        )
    with pytest.raises(SourceAuthError):
        StravaClient(endpoints=fake.endpoints).exchange_code(fake.client_id, "wrong", "x")


def test_authorization_url_rejects_unknown_scopes():
    with pytest.raises(ValueError):
        StravaClient().authorization_url(1, REDIRECT, "s", scope=("activity:delete",))


def test_refresh_rotates_and_current_tokens_carry_the_new_pair(fake):
    old = fake.issue_tokens()
    client = connect(fake, old)
    new = client.refresh(fake.client_id, fake.client_secret)
    assert client.current_tokens() == new
    assert json.loads(new)["refresh_token"] != json.loads(old)["refresh_token"]
    assert json.loads(new)["athlete_id"] == ATHLETE_ID
    assert json.loads(old)["refresh_token"] not in fake.refresh_tokens  # retired
    assert connect(fake, new).athlete()["id"] == ATHLETE_ID
    # the retired refresh token is refused (400 invalid): reconnect
    with pytest.raises(SourceAuthError):
        connect(fake, old).refresh()


def test_refresh_without_rotation_returns_what_came(fake):
    fake.rotate_refresh = False
    old = fake.issue_tokens()
    new = connect(fake, old).refresh()
    assert json.loads(new)["refresh_token"] == json.loads(old)["refresh_token"]
    assert json.loads(new)["access_token"] != json.loads(old)["access_token"]


def test_refresh_needs_the_client_secret(fake):
    client = StravaClient.from_tokens(fake.issue_tokens(), endpoints=fake.endpoints)
    with pytest.raises(SourceAuthError):
        client.refresh()


def test_auto_refresh_within_five_minutes_of_expiry(fake):
    persisted: list[str] = []
    old = fake.issue_tokens(expires_in=200)
    client = connect(fake, old, on_refresh=persisted.append)
    assert client.athlete()["id"] == ATHLETE_ID
    assert [m for m, p in fake.requests] == ["POST", "GET"]
    assert fake.requests[0][1] == "/oauth/token"
    assert persisted == [client.current_tokens()]
    assert json.loads(persisted[0])["refresh_token"] != json.loads(old)["refresh_token"]
    assert json.loads(persisted[0])["expires_at"] > time.time() + 3600

    fake.requests.clear()
    connect(fake, fake.issue_tokens(expires_in=400)).athlete()
    assert calls(fake, "/oauth/") == []


def test_expired_token_without_client_secret_is_auth_error(fake):
    client = StravaClient.from_tokens(fake.issue_tokens(expires_in=-10), endpoints=fake.endpoints)
    with pytest.raises(SourceAuthError):
        client.athlete()
    assert fake.requests == []
    # still valid for a minute: used as it is
    soon = StravaClient.from_tokens(fake.issue_tokens(expires_in=60), endpoints=fake.endpoints)
    assert soon.athlete()["id"] == ATHLETE_ID


def test_unreadable_tokens_are_auth_error(fake):
    with pytest.raises(SourceAuthError):
        StravaClient.from_tokens("not json", endpoints=fake.endpoints)
    with pytest.raises(SourceAuthError):
        StravaClient.from_tokens('{"access_token": "a"}', endpoints=fake.endpoints)
    with pytest.raises(SourceAuthError):
        StravaClient(endpoints=fake.endpoints).current_tokens()


# --- activities and streams ------------------------------------------------------------------


def test_activities_paginate_oldest_first_over_a_long_history(fake):
    fake.add_history(450, newest=NEWEST)
    client = connect(fake)
    items = client.activities(NEWEST - timedelta(days=3000), NEWEST + timedelta(days=1))
    assert len(items) == 450
    assert len({a["id"] for a in items}) == 450
    starts = [a["start_date"] for a in items]
    assert starts == sorted(starts)  # oldest first
    pages = calls(fake, "/api/v3/athlete/activities")
    assert len(pages) == 3  # 200 + 200 + 50
    assert all(f"per_page={PAGE_SIZE}" in p for p in pages)
    assert [parse_qs(urlsplit(p).query)["page"] for p in pages] == [["1"], ["2"], ["3"]]

    window = client.activities(NEWEST - timedelta(days=7, hours=1), NEWEST + timedelta(hours=1))
    assert len(window) == 8


def test_activity_pages_stop_after_an_empty_page_on_an_exact_multiple(fake):
    fake.add_history(400, newest=NEWEST)
    client = connect(fake)
    pages = list(client.activity_pages(NEWEST - timedelta(days=500), NEWEST + timedelta(days=1)))
    assert [len(p) for p in pages] == [200, 200]
    assert len(calls(fake, "/api/v3/athlete/activities")) == 3
    with pytest.raises(ValueError):
        client.activities(datetime(2026, 1, 1), NEWEST)  # naive datetimes are refused


def test_streams_map_to_samples(fake):
    item = fake.add_activity(NEWEST, streams=None)  # a manual activity: no streams
    client = connect(fake)
    assert client.streams(item["id"]) == {}

    fake.add_history(1, newest=NEWEST)
    activity_id = 10_000_000_000
    streams = client.streams(activity_id)
    (path,) = calls(fake, f"/api/v3/activities/{activity_id}/streams")
    query = parse_qs(urlsplit(path).query)
    assert query["key_by_type"] == ["true"] and query["keys"] == [",".join(STREAM_KEYS)]
    assert set(streams) == set(STREAM_KEYS)
    assert all(len(v) == 600 for v in streams.values())

    detail = client.activity(activity_id)
    record = activity_to_record(detail, streams)
    samples = record.samples
    assert samples is not None and len(samples) == 600
    start = datetime.fromisoformat(detail["start_date"].replace("Z", "+00:00"))
    assert samples.time[0] == start.timestamp() and samples.time[-1] == start.timestamp() + 599
    assert set(samples.channels) <= set(SAMPLE_CHANNELS)
    assert set(samples.channels) == set(SAMPLE_CHANNELS)
    assert samples.channel("lat")[0] == pytest.approx(37.78)
    assert samples.channel("lon")[10] == pytest.approx(-122.39 + 10e-5)
    assert samples.channel("heart_rate")[0] == 120 and samples.channel("power")[5] == 250
    assert samples.channel("speed")[3] == 2.8 and samples.channel("temperature")[0] == 21
    moving = record.developer_fields["record"]["strava_moving"]
    assert moving["values"][:2] == [True, True] and len(moving["values"]) == 600
    assert record.device == "Garmin Forerunner 945"
    assert record.extras["strava_api"] is True
    json.dumps(record.extras)
    json.dumps(record.developer_fields)


def test_streams_to_samples_handles_gaps_nulls_and_bad_lengths():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    streams = {
        "time": [0, 1, 1, 3],  # a repeated second is dropped
        "heartrate": [100, None, 101, 102],
        "latlng": [[0.0, 0.0], None, [1.0, 1.0], [2.0, 2.0]],
    }
    samples = streams_to_samples(streams, start)
    assert samples is not None
    assert list(samples.time - start.timestamp()) == [0, 1, 3]
    assert np.isnan(samples.channel("heart_rate")[1]) and samples.channel("heart_rate")[2] == 102
    assert samples.channel("lat")[0] == 0.0 and np.isnan(samples.channel("lon")[1])
    assert np.isnan(samples.channel("power")).all()
    assert streams_to_samples({"heartrate": [1]}, start) is None
    with pytest.raises(SourceDataError) as err:
        streams_to_samples({"time": [0, 1], "watts": [1]}, start)
    assert err.value.code == "strava_bad_payload"


def test_unknown_activity_is_not_found(fake):
    client = connect(fake)
    with pytest.raises(SourceDataError) as err:
        client.activity(1)
    assert err.value.code == "strava_not_found"
    with pytest.raises(SourceDataError) as err:
        client.activity("../athlete")
    assert err.value.code == "strava_bad_request"


# --- uploads ---------------------------------------------------------------------------------


def test_upload_polls_to_an_activity(fake):
    client = connect(fake)
    upload_id = client.upload(
        FIT_FILE.read_bytes(), external_id="domestique-42", name="Morning run"
    )
    assert isinstance(upload_id, int)
    (post,) = fake.upload_posts
    assert post["data_type"] == "fit" and post["external_id"] == "domestique-42"
    assert post["name"] == "Morning run"
    assert post["file"]["filename"] == "domestique-42.fit"
    assert post["file"]["content"] == FIT_FILE.read_bytes()
    first = client.upload_status(upload_id)
    assert first == UploadStatus(done=False, activity_id=None, error=None, duplicate_of=None)
    done = client.upload_status(upload_id)
    assert done.done and done.activity_id and done.error is None and done.duplicate_of is None
    assert client.activity(done.activity_id)["id"] == done.activity_id

    # the same file again: Strava names the activity it duplicates
    again = client.upload(FIT_FILE.read_bytes(), external_id="domestique-42-bis")
    client.upload_status(again)
    duplicate = client.upload_status(again)
    assert duplicate.done and duplicate.activity_id is None
    assert duplicate.duplicate_of == done.activity_id
    assert "duplicate of" in (duplicate.error or "")


def test_upload_error_is_reported_not_raised(fake):
    fake.upload_polls = 0
    client = connect(fake)
    upload_id = client.upload(b"not a fit file at all", external_id="broken")
    status = client.upload_status(upload_id)
    assert status.done and status.activity_id is None and status.duplicate_of is None
    assert status.error == "Improperly formatted data."
    with pytest.raises(ValueError):
        client.upload(b"x", external_id="x", data_type="zip")


def test_parse_upload_texts():
    assert parse_upload({"id": 1, "error": "a.fit duplicate of activity 123", "status": "x"}) == (
        UploadStatus(True, None, "a.fit duplicate of activity 123", 123)
    )
    html = "b.fit duplicate of <a href='/activities/456' target='_blank'>activity 456</a>"
    assert parse_upload({"error": html}).duplicate_of == 456
    deleted = parse_upload({"status": "The created activity has been deleted."})
    assert deleted.done and deleted.error and deleted.duplicate_of is None
    assert parse_upload({"status": "Your activity is ready.", "activity_id": 9}).activity_id == 9


# --- errors ----------------------------------------------------------------------------------


def test_401_is_auth_error_without_retry(fake):
    client = connect(fake)
    fake.revoke_all()
    with pytest.raises(SourceAuthError) as err:
        client.athlete()
    assert not isinstance(err.value, StravaAppInactive)
    assert len(calls(fake, "/api/v3/athlete")) == 1


def test_403_inactive_application(fake):
    client = connect(fake)
    fake.fail("/api/v3/athlete", 403, body=APP_INACTIVE)
    with pytest.raises(StravaAppInactive) as err:
        client.athlete()
    assert isinstance(err.value, SourceAuthError)
    assert err.value.code == "strava_app_inactive"
    fake.fail("/api/v3/athlete", 403, body={"message": "Application is inactive"})
    with pytest.raises(StravaAppInactive):
        client.athlete()
    fake.fail("/api/v3/athlete", 403, body={"message": "Forbidden", "errors": []})
    with pytest.raises(SourceAuthError) as err:
        client.athlete()
    assert not isinstance(err.value, StravaAppInactive)


def fixed_clock(moment: datetime):
    return lambda: moment


def test_429_retry_after_is_the_end_of_the_exhausted_window(fake):
    now = datetime(2026, 3, 2, 10, 7, 30, tzinfo=UTC)  # 7.5 min to :15, 13 h 52.5 min to midnight
    client = connect(fake, clock=fixed_clock(now))
    started = time.monotonic()
    client.athlete()
    limits = client.rate_limits()
    assert limits is not None and limits.short_usage == 1 and limits.short_limit == 200
    assert limits.read_short_usage == 1 and limits.read_daily_limit == 1000
    assert limits.wait_s(now) == 0.0

    fake.set_usage(short=200)  # the next call is the 201st of this quarter hour
    with pytest.raises(SourceRateLimited) as err:
        client.athlete()
    assert err.value.retry_after == 450.0
    assert client.rate_limits().used_fraction() > 1.0

    fake.set_usage(short=5, daily=2000)
    with pytest.raises(SourceRateLimited) as err:
        client.activities(now - timedelta(days=1), now)
    assert err.value.retry_after == 13 * 3600 + 52 * 60 + 30

    fake.set_usage(daily=10, read_short=100)  # the read window alone is exhausted
    with pytest.raises(SourceRateLimited) as err:
        client.athlete()
    assert err.value.retry_after == 450.0

    # headers only, as Strava sends them on a 429
    fake.set_usage(read_short=0)
    fake.fail(
        "/api/v3/athlete",
        429,
        headers={"X-RateLimit-Limit": "600,30000", "X-RateLimit-Usage": "601,12000"},
    )
    with pytest.raises(SourceRateLimited) as err:
        client.athlete()
    assert err.value.retry_after == 450.0
    assert time.monotonic() - started < 5  # nothing slept


def test_rate_limits_reset_with_their_window():
    seen = datetime(2026, 3, 2, 10, 14, 0, tzinfo=UTC)
    limits = RateLimits.from_headers(
        {"X-RateLimit-Limit": "200,2000", "X-RateLimit-Usage": "200,300"}, seen
    )
    assert limits is not None
    assert limits.wait_s(seen) == 60.0
    assert limits.wait_s(seen + timedelta(minutes=2)) == 0.0  # a new quarter hour began
    assert RateLimits.from_headers({"X-RateLimit-Usage": "garbage"}, seen) is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_unavailable_without_retry(fake, status):
    client = connect(fake)
    fake.fail("/api/v3/athlete/activities", status, body=b"<html>oops</html>", times=3)
    with pytest.raises(SourceUnavailable):
        client.activities(NEWEST - timedelta(days=1), NEWEST)
    assert len(calls(fake, "/api/v3/athlete/activities")) == 1


def test_connection_refused_and_timeout_are_unavailable(fake):
    tokens = fake.issue_tokens()
    slow = connect(fake, tokens, timeout=0.2)
    fake.fail("/api/v3/athlete", 200, body=b"{}", delay_s=1.0)
    with pytest.raises(SourceUnavailable):
        slow.athlete()
    endpoints = fake.endpoints
    fake.stop()
    client = StravaClient.from_tokens(tokens, endpoints=endpoints, timeout=2)
    with pytest.raises(SourceUnavailable):
        client.athlete()


def test_malformed_payloads_are_data_errors(fake):
    client = connect(fake)
    fake.fail("/api/v3/athlete", 200, body=b"{not json")
    with pytest.raises(SourceDataError) as err:
        client.athlete()
    assert err.value.code == "strava_bad_payload"
    fake.fail("/api/v3/athlete/activities", 200, body={"an": "object"})
    with pytest.raises(SourceDataError) as err:
        client.activities(NEWEST - timedelta(days=1), NEWEST)
    assert err.value.code == "strava_bad_payload"
    fake.fail("/api/v3/athlete/activities", 200, body=b'[{"name": "no id"}]')
    with pytest.raises(SourceDataError) as err:
        client.activities(NEWEST - timedelta(days=1), NEWEST)
    assert err.value.code == "strava_bad_payload"
    fake.fail("/oauth/token", 200, body={"token_type": "Bearer"})
    with pytest.raises(SourceDataError) as err:
        client.refresh()
    assert err.value.code == "strava_bad_payload"


# --- mapper against the recorded payloads ----------------------------------------------------


def test_recorded_activity_to_record():
    record = activity_to_record(load_fixture("activity.3.json"))
    assert record.source == "strava" and record.external_id == "99895560"
    assert (record.sport, record.sub_sport) == ("running", None)  # legacy "type": "Run"
    assert record.start == datetime(2013, 12, 12, 19, 36, 41, tzinfo=UTC)
    assert record.local_start == datetime(2013, 12, 12, 11, 36, 41)
    assert record.distance_m == 5781.1 and record.elapsed_s == 3140 and record.moving_s == 2892
    assert record.ascent_m == 13.5 and record.calories == 537.9 and record.avg_speed == 2.0
    assert record.avg_hr is None and record.samples is None  # not recorded, not zero
    assert record.extras["strava_api"] is True
    assert record.extras["strava_external_id"] == "620D5DDD-B836-4F6B-8760-F905B8C2895F"
    assert record.extras["strava_max_speed"] == 8.3 and record.extras["strava_gear_id"] == "g69911"
    json.dumps(record.extras)


def test_recorded_manual_activity_to_record():
    record = activity_to_record(load_fixture("activity-manual.3.json"))
    assert (record.sport, record.sub_sport) == ("hiking", None)
    assert record.extras["strava_manual"] is True
    assert record.calories == pytest.approx(2084.44, abs=0.01)
    assert record.local_start == datetime(2013, 11, 17, 8, 0)
    with pytest.raises(SourceDataError) as err:
        activity_to_record({"name": "no id"})
    assert err.value.code == "strava_bad_payload"


def test_sport_types():
    assert sport_of("TrailRun") == ("running", "trail")
    assert sport_of("MountainBikeRide", "Ride") == ("cycling", "mountain")
    assert sport_of(None, "Ride", trainer=True) == ("cycling", "indoor_cycling")
    assert sport_of("Run", trainer=True) == ("running", "treadmill")
    assert sport_of("WeightTraining") == ("training", "strength_training")
    assert sport_of("Quidditch") == ("generic", None)


def test_recorded_athlete_comes_back(fake):
    assert connect(fake).athlete() == load_fixture("athlete.3.json")
