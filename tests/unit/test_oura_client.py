"""OuraClient against a fake Oura API v2 on loopback (tests/support/fake_oura.py), and the mapper
against documents shaped like Oura's published schemas (tests/fixtures/oura; not a recording).

The client's own httpx transport runs unchanged; only the URLs point at the fake. Nothing sleeps
except the fake's deliberate delays (a timeout, two overlapping refreshes).
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.records import WELLNESS_FIELDS
from app.sources import SourceAuthError, SourceDataError, SourceRateLimited, SourceUnavailable
from app.sources.oura.client import (
    COLLECTIONS,
    DEFAULT_SCOPES,
    Endpoints,
    OuraAuthError,
    OuraClient,
    OuraMembershipRequired,
    OuraTokens,
)
from app.sources.oura.mapper import (
    day_to_wellness,
    main_sleep,
    sport_of,
    wellness,
    wellness_extras,
    workout_to_activity,
)
from tests.support.fake_oura import (
    ALL_SCOPES,
    FIXTURE_DAY,
    REDIRECT_URI,
    FakeOura,
    documents_for,
    load_fixture,
)

DAY = FIXTURE_DAY


@pytest.fixture
def fake() -> Iterator[FakeOura]:
    server = FakeOura().start()
    try:
        yield server
    finally:
        server.stop()


def assert_loopback_only(client: OuraClient, fake: FakeOura) -> None:
    urls = client.base_urls()
    assert len(urls) == 3 and all(u.startswith(f"{fake.base_url}") for u in urls), urls
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in urls)
    assert not any("ouraring.com" in u for u in urls)


def connect(fake: FakeOura, tokens: str | None = None, **kwargs) -> OuraClient:
    client = OuraClient.from_tokens(
        tokens or fake.issue_tokens(), endpoints=fake.endpoints, **kwargs
    )
    assert_loopback_only(client, fake)
    return client


def calls(fake: FakeOura, prefix: str) -> list[str]:
    return [p for _, p in fake.requests if p.startswith(prefix)]


def test_production_endpoints_are_oura_and_tests_are_loopback(fake):
    assert Endpoints().api == "https://api.ouraring.com"
    assert Endpoints().authorize_url == "https://cloud.ouraring.com/oauth/authorize"
    assert Endpoints().token_url == "https://api.ouraring.com/oauth/token"
    assert Endpoints().collection_url("vO2_max").endswith("/v2/usercollection/vO2_max")
    assert_loopback_only(OuraClient(endpoints=fake.endpoints), fake)


# --- OAuth -----------------------------------------------------------------------------------


def test_oauth_round_trip(fake):
    client = OuraClient(endpoints=fake.endpoints)
    assert_loopback_only(client, fake)
    url = client.authorization_url(fake.client_id, REDIRECT_URI, state="csrf-123")
    assert url.startswith(f"{fake.base_url}/oauth/authorize?")
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == [" ".join(DEFAULT_SCOPES)]
    assert {"daily", "heartrate", "workout", "session", "spo2", "personal"} <= set(DEFAULT_SCOPES)
    assert query["state"] == ["csrf-123"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [REDIRECT_URI] and query["client_id"] == [fake.client_id]

    # the owner approves in the browser; Oura redirects to the NAS callback
    answer = httpx.get(url, follow_redirects=False, timeout=5)
    assert answer.status_code == 302
    callback = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert callback["state"] == ["csrf-123"]

    tokens = client.exchange_code(
        fake.client_id, fake.client_secret, callback["code"][0], REDIRECT_URI
    )
    assert tokens.access_token in fake.access_tokens
    assert tokens.refresh_token in fake.refresh_tokens
    assert tokens.expires_at == pytest.approx(time.time() + fake.access_lifetime_s, abs=5)
    assert not tokens.personal
    assert client.current_tokens() == tokens.to_json()
    assert client.personal_info()["email"] == "owner@example.com"
    # the stored JSON works in another process
    assert connect(fake, client.current_tokens()).tokens == tokens
    # codes are single-use; a wrong secret or redirect is refused
    for secret, redirect in (
        (fake.client_secret, REDIRECT_URI),
        ("wrong", REDIRECT_URI),
        (fake.client_secret, "http://evil.example/cb"),
    ):
        with pytest.raises(OuraAuthError) as err:
            OuraClient(endpoints=fake.endpoints).exchange_code(
                fake.client_id, secret, callback["code"][0], redirect
            )
        assert err.value.code == "oura_code_rejected"


def test_authorization_url_rejects_unknown_scopes_and_missing_state():
    with pytest.raises(ValueError):
        OuraClient().authorization_url("id", REDIRECT_URI, "s", scopes=("everything",))
    with pytest.raises(ValueError):
        OuraClient().authorization_url("id", REDIRECT_URI, "")


def test_refresh_rotates_and_the_old_refresh_token_is_dead(fake):
    stored = fake.issue_tokens(expires_in=60)
    client = connect(fake, stored)
    assert client.needs_refresh()  # within the 10-minute margin
    old = OuraTokens.from_json(stored)
    new = client.refresh(fake.client_id, fake.client_secret)
    assert new.access_token != old.access_token and new.refresh_token != old.refresh_token
    assert new.expires_at is not None and new.expires_at > time.time() + 3600
    assert client.tokens == new and json.loads(client.current_tokens())["kind"] == "oauth"
    assert not client.needs_refresh()
    assert old.refresh_token not in fake.refresh_tokens  # retired by Oura
    assert client.daily_stress(DAY, DAY) == []  # the new access token works
    # reusing the old refresh token (a stale copy elsewhere) is refused
    stale = connect(fake, stored)
    with pytest.raises(OuraAuthError) as err:
        stale.refresh(fake.client_id, fake.client_secret)
    assert err.value.code == "oura_refresh_rejected"
    assert isinstance(err.value, SourceAuthError)
    # the new pair refreshes once more
    assert client.refresh(fake.client_id, fake.client_secret).refresh_token != new.refresh_token


def test_a_refresh_token_that_reached_oura_is_never_sent_again(fake):
    client = connect(fake)
    fake.fail("/oauth/token", 502)
    with pytest.raises(SourceUnavailable):
        client.refresh(fake.client_id, fake.client_secret)
    with pytest.raises(OuraAuthError) as err:  # no second request with the same token
        client.refresh(fake.client_id, fake.client_secret)
    assert err.value.code == "oura_refresh_rejected"
    assert len(calls(fake, "/oauth/token")) == 1


def test_refused_refresh_is_not_retried(fake):
    client = connect(fake)
    fake.refresh_tokens.clear()  # revoked in the Oura app
    for _ in range(2):
        with pytest.raises(OuraAuthError) as err:
            client.refresh(fake.client_id, fake.client_secret)
        assert err.value.code == "oura_refresh_rejected"
    assert len(fake.refresh_attempts) == 1


def test_rate_limited_refresh_keeps_the_token(fake):
    client = connect(fake)
    fake.fail("/oauth/token", 429, headers={"Retry-After": "30"})
    with pytest.raises(SourceRateLimited) as err:
        client.refresh(fake.client_id, fake.client_secret)
    assert err.value.retry_after == 30.0
    assert client.refresh(fake.client_id, fake.client_secret).refresh_token


def test_refresh_needs_oauth_tokens(fake):
    with pytest.raises(OuraAuthError) as err:
        OuraClient(endpoints=fake.endpoints).refresh(fake.client_id, fake.client_secret)
    assert err.value.code == "oura_not_connected"
    with pytest.raises(OuraAuthError) as err:
        OuraClient(endpoints=fake.endpoints).current_tokens()
    assert err.value.code == "oura_not_connected"


def test_two_clients_refreshing_one_token_concurrently_exactly_one_wins(fake):
    stored = fake.issue_tokens()
    fake.refresh_together = 2  # both requests are at Oura before either is answered
    clients = [connect(fake, stored), connect(fake, stored)]
    start = threading.Barrier(2)
    results: list[object] = [None, None]

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = clients[i].refresh(fake.client_id, fake.client_secret)
        except SourceAuthError as e:
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    won = [r for r in results if isinstance(r, OuraTokens)]
    lost = [r for r in results if isinstance(r, OuraAuthError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].code == "oura_refresh_rejected"
    old = OuraTokens.from_json(stored).refresh_token
    assert fake.refresh_attempts == [old, old]
    assert list(fake.refresh_tokens) == [won[0].refresh_token]


def test_one_client_refreshing_from_two_threads_never_reuses_a_token(fake):
    client = connect(fake)
    fake.refresh_delay_s = 0.2
    results: list[object] = []

    def run() -> None:
        results.append(client.refresh(fake.client_id, fake.client_secret))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 2 and all(isinstance(r, OuraTokens) for r in results)
    assert len(fake.refresh_attempts) == len(set(fake.refresh_attempts)) == 2
    assert client.tokens in results


def test_unreadable_stored_tokens_are_auth_errors(fake):
    for stored in (
        "not json",
        "{}",
        '{"access_token": ""}',
        '{"access_token": "a", "expires_at": "x"}',
    ):
        with pytest.raises(OuraAuthError) as err:
            OuraClient.from_tokens(stored, endpoints=fake.endpoints)
        assert err.value.code == "oura_not_connected"


# --- personal access token (legacy) ----------------------------------------------------------


def test_personal_access_token_legacy_mode(fake):
    pat = fake.issue_personal_token()
    client = OuraClient.from_personal_token(f" {pat}\n", endpoints=fake.endpoints)
    assert_loopback_only(client, fake)
    assert client.tokens is not None and client.tokens.personal
    assert not client.needs_refresh()
    stored = json.loads(client.current_tokens())
    assert stored == {
        "kind": "personal",
        "access_token": pat,
        "refresh_token": None,
        "expires_at": None,
        "scope": None,
    }
    fake.add_day(DAY)
    assert len(client.daily_readiness(DAY, DAY)) == 1
    again = OuraClient.from_tokens(client.current_tokens(), endpoints=fake.endpoints)
    assert again.personal_info()["id"]
    with pytest.raises(OuraAuthError) as err:
        client.refresh(fake.client_id, fake.client_secret)
    assert err.value.code == "oura_personal_token_rejected"
    fake.personal_tokens.clear()  # Oura stops accepting personal tokens
    with pytest.raises(OuraAuthError) as err:
        client.daily_readiness(DAY, DAY)
    assert err.value.code == "oura_personal_token_rejected"
    with pytest.raises(ValueError):
        OuraClient.from_personal_token("  ")


# --- data ------------------------------------------------------------------------------------


def test_personal_info_is_a_bare_document(fake):
    info = connect(fake).personal_info()
    assert info == load_fixture("personal_info.json")
    fake.fail("/v2/usercollection/personal_info", 200, body={"data": [], "next_token": None})
    with pytest.raises(SourceDataError) as err:
        connect(fake).personal_info()
    assert err.value.code == "oura_bad_payload"


def test_pagination_follows_next_token_over_a_long_history(fake):
    fake.page_size = 25
    newest = date(2026, 3, 31)
    fake.add_history(400, newest=newest)
    client = connect(fake)
    start = newest - timedelta(days=399)
    periods = client.sleep(start, newest)
    assert len(periods) == 800  # the night and a nap each day
    assert len({p["id"] for p in periods}) == 800
    days = sorted({p["day"] for p in periods})
    assert days[0] == start.isoformat() and days[-1] == newest.isoformat()
    pages = calls(fake, "/v2/usercollection/sleep")
    assert len(pages) == 32  # 800 documents, 25 a page
    assert all("next_token=" in p for p in pages[1:]) and "next_token=" not in pages[0]
    assert len(client.workouts(newest - timedelta(days=6), newest)) == 7


def test_every_method_returns_exactly_the_days_asked_for(fake):
    for day in (DAY - timedelta(days=1), DAY, DAY + timedelta(days=1)):
        fake.add_day(day)
    client = connect(fake)
    for name in COLLECTIONS:
        docs = client.collection(name, DAY, DAY)
        assert docs and {d["day"] for d in docs} == {DAY.isoformat()}, name
        query = parse_qs(urlsplit(calls(fake, "/v2/usercollection/")[-1]).query)
        assert query["start_date"] == ["2026-03-09"] and query["end_date"] == ["2026-03-11"]
    assert calls(fake, "/v2/usercollection/vO2_max")  # Oura's spelling of the path
    with pytest.raises(ValueError):
        client.collection("heartrate", DAY, DAY)
    with pytest.raises(ValueError):
        client.sleep(DAY, DAY - timedelta(days=1))


def test_daily_groups_every_collection_by_local_date(fake):
    fake.add_day(DAY)
    fake.add_day(DAY + timedelta(days=2), sleep=[], workout=[])
    daily = connect(fake).daily(DAY, DAY + timedelta(days=2))
    assert list(daily) == [DAY, DAY + timedelta(days=2)]  # no documents, no date
    assert set(daily[DAY]) == set(COLLECTIONS)
    assert len(daily[DAY]["sleep"]) == 2 and len(daily[DAY]["workout"]) == 1
    assert daily[DAY + timedelta(days=2)]["sleep"] == []
    records = wellness(daily)
    assert [r.day for r in records] == list(daily)
    assert "sleep_s" not in records[1].values and records[1].values["steps"] == 11234


def test_a_full_day_maps_to_wellness(fake):
    fake.add_day(DAY)
    payloads = connect(fake).daily(DAY, DAY)[DAY]
    record = day_to_wellness(DAY, payloads)
    assert record.source == "oura" and record.day == DAY
    assert set(record.values) <= set(WELLNESS_FIELDS)
    assert record.values == {
        "sleep_s": 24660.0,  # the long_sleep period, not the evening nap
        "sleep_deep_s": 4170.0,
        "sleep_rem_s": 6510.0,
        "sleep_light_s": 13980.0,
        "sleep_awake_s": 4800.0,
        "hrv_rmssd_ms": 47.0,
        "resting_hr": 48.0,
        "respiratory_rate": 12.625,
        "sleep_score": 63.0,
        "training_readiness": 71.0,
        "steps": 11234.0,
        "active_kcal": 512.0,
        "spo2_avg": 96.418,
    }
    assert "stress_avg" not in record.values and "vo2max_running" not in record.values
    extras = wellness_extras(DAY, payloads)
    assert extras["stress_high_s"] == 3600 and extras["recovery_high_s"] == 5400
    assert extras["stress_day_summary"] == "normal"
    assert extras["vo2_max"] == 44.0 and extras["resilience_level"] == "solid"
    assert extras["temperature_deviation_c"] == -0.2
    assert extras["readiness_contributors"]["hrv_balance"] == 75
    assert extras["sleep_efficiency_pct"] == 83 and extras["sleep_latency_s"] == 540
    assert extras["bedtime_end"] == "2026-03-10T07:12:13.000+09:00"
    assert extras["breathing_disturbance_index"] == 8 and extras["total_kcal"] == 2598
    json.dumps(extras)
    assert record.extras == extras  # nothing Oura sends is lost


@pytest.mark.parametrize(
    ("collection", "expected"),
    [
        ("daily_readiness", {"training_readiness": 71.0}),
        ("daily_sleep", {"sleep_score": 63.0}),
        ("daily_activity", {"steps": 11234.0, "active_kcal": 512.0}),
        ("daily_spo2", {"spo2_avg": 96.418}),
        ("daily_stress", {}),  # seconds of high stress: no 0-100 column
        ("daily_resilience", {}),
        ("vo2_max", {}),  # a walking-test estimate, not vo2max_running
        ("workout", {}),
        (
            "sleep",
            {
                "sleep_s": 24660.0,
                "sleep_deep_s": 4170.0,
                "sleep_rem_s": 6510.0,
                "sleep_light_s": 13980.0,
                "sleep_awake_s": 4800.0,
                "hrv_rmssd_ms": 47.0,
                "resting_hr": 48.0,
                "respiratory_rate": 12.625,
            },
        ),
    ],
)
def test_each_collection_maps_its_own_values(fake, collection, expected):
    others = {name: [] for name in COLLECTIONS if name != collection}
    docs = fake.add_day(DAY, **others)
    client = connect(fake)
    fetched = client.collection(collection, DAY, DAY)
    assert fetched == docs[collection]
    assert day_to_wellness(DAY, {collection: fetched}).values == expected


def test_main_sleep_ignores_naps_rests_and_deleted_periods():
    night, nap = documents_for(DAY)["sleep"]
    deleted = {**night, "type": "deleted", "total_sleep_duration": 99999}
    short = {**night, "total_sleep_duration": 3600}
    assert main_sleep([nap, deleted]) is None
    assert main_sleep([nap, short, night, deleted]) is night  # the longest night
    assert day_to_wellness(DAY, {"sleep": [nap]}).values == {}
    assert day_to_wellness(DAY, {}).values == {}
    assert day_to_wellness(DAY, {}).extras == {}
    nulls = {**night, "average_hrv": None, "lowest_heart_rate": None}
    values = day_to_wellness(DAY, {"sleep": [nulls]}).values
    assert "hrv_rmssd_ms" not in values and "resting_hr" not in values  # null is not zero
    with pytest.raises(SourceDataError) as err:
        day_to_wellness(DAY, {"daily_spo2": [{"spo2_percentage": 97}]})
    assert err.value.code == "oura_bad_payload"


def test_workout_to_activity():
    workout = documents_for(DAY)["workout"][0]
    record = workout_to_activity(workout)
    assert record.source == "oura" and record.external_id == workout["id"]
    assert (record.sport, record.sub_sport) == ("running", None)
    assert record.start == datetime(2026, 3, 10, 9, 2, 40, tzinfo=UTC)
    assert record.local_start == datetime(2026, 3, 10, 18, 2, 40)
    assert record.elapsed_s == 2670.0
    assert record.distance_m == pytest.approx(8012.3) and record.calories == 412.5
    assert record.name is None
    assert record.extras == {
        "oura_activity": "running",
        "intensity": "moderate",
        "oura_source": "confirmed",
    }
    labelled = workout_to_activity(
        {**workout, "label": "Han river", "activity": "strengthTraining"}
    )
    assert labelled.name == "Han river"
    assert (labelled.sport, labelled.sub_sport) == ("training", "strength_training")
    manual = workout_to_activity({**workout, "distance": None, "activity": "unicycling"})
    assert manual.distance_m is None and manual.sport == "generic"
    assert manual.extras["oura_activity"] == "unicycling"
    for bad in ({"activity": "running"}, {**workout, "start_datetime": "2026-03-10T18:02:40"}):
        with pytest.raises(SourceDataError) as err:
            workout_to_activity(bad)
        assert err.value.code == "oura_bad_payload"


def test_sport_names():
    assert sport_of("cycling") == ("cycling", None)
    assert sport_of("indoorCycling") == ("cycling", "indoor_cycling")
    assert sport_of("walking") == ("walking", None)
    assert sport_of(None) == ("generic", None)


# --- errors ----------------------------------------------------------------------------------


def test_401_is_auth_error_without_retry(fake):
    client = connect(fake, fake.issue_tokens(expires_in=-10))
    with pytest.raises(OuraAuthError) as err:
        client.daily_sleep(DAY, DAY)
    assert err.value.code == "oura_token_rejected"
    assert len(calls(fake, "/v2/usercollection/")) == 1
    assert len(calls(fake, "/oauth/token")) == 0  # never refreshes on its own


def test_missing_scope_is_named(fake):
    client = connect(fake, fake.issue_tokens(scopes=ALL_SCOPES - {"spo2"}))
    with pytest.raises(OuraAuthError) as err:
        client.daily_spo2(DAY, DAY)
    assert err.value.code == "oura_scope_missing" and err.value.params == {"scope": "spo2"}
    assert client.daily_readiness(DAY, DAY) == []


def test_403_is_membership_required(fake):
    fake.fail(
        "/v2/usercollection/daily_readiness",
        403,
        body={"detail": "The user's Oura membership has expired."},
    )
    with pytest.raises(OuraMembershipRequired) as err:
        connect(fake).daily_readiness(DAY, DAY)
    assert err.value.code == "oura_membership_required"
    assert isinstance(err.value, SourceAuthError)


def test_426_is_upgrade_required(fake):
    fake.fail("/v2/usercollection/sleep", 426, body={"detail": "Minimum app version required"})
    with pytest.raises(SourceDataError) as err:
        connect(fake).sleep(DAY, DAY)
    assert err.value.code == "oura_upgrade_required"


def test_429_carries_retry_after(fake):
    client = connect(fake)
    fake.fail("/v2/usercollection/workout", 429, headers={"Retry-After": "120"})
    with pytest.raises(SourceRateLimited) as err:
        client.workouts(DAY, DAY)
    assert err.value.retry_after == 120.0
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)
    fake.fail("/v2/usercollection/workout", 429, headers={"Retry-After": when})
    with pytest.raises(SourceRateLimited) as err:
        client.workouts(DAY, DAY)
    assert err.value.retry_after == pytest.approx(300, abs=5)
    fake.fail("/v2/usercollection/workout", 429)
    with pytest.raises(SourceRateLimited) as err:
        client.workouts(DAY, DAY)
    assert err.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_unavailable_without_retry(fake, status):
    fake.fail("/v2/usercollection/daily_activity", status, times=3)
    with pytest.raises(SourceUnavailable):
        connect(fake).daily_activity(DAY, DAY)
    assert len(calls(fake, "/v2/usercollection/daily_activity")) == 1


def test_other_4xx_is_bad_request(fake):
    fake.fail("/v2/usercollection/daily_stress", 422, body={"detail": [{"msg": "bad date"}]})
    with pytest.raises(SourceDataError) as err:
        connect(fake).daily_stress(DAY, DAY)
    assert err.value.code == "oura_bad_request"


def test_connection_refused_and_timeout_are_unavailable(fake):
    stored, endpoints = fake.issue_tokens(), fake.endpoints
    client = connect(fake, stored, timeout=0.3)
    fake.fail("/v2/usercollection/daily_sleep", 200, body=b'{"data": []}', delay_s=1.0)
    with pytest.raises(SourceUnavailable):
        client.daily_sleep(DAY, DAY)
    fake.stop()
    gone = OuraClient.from_tokens(stored, endpoints=endpoints, timeout=2)
    with pytest.raises(SourceUnavailable):
        gone.daily_sleep(DAY, DAY)
    with pytest.raises(SourceUnavailable):  # never reached Oura: the token stays usable
        gone.refresh("id", "secret")
    with pytest.raises(SourceUnavailable):
        gone.refresh("id", "secret")


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'["a", "list"]',
        b'{"data": {"not": "a list"}}',
        b'{"data": [{"id": "x"}], "next_token": null}',  # no day
        b'{"data": [{"id": "x", "day": "yesterday"}], "next_token": null}',
        b'{"data": ["a string"], "next_token": null}',
        b'{"data": [], "next_token": 7}',
    ],
)
def test_malformed_payloads_are_data_errors(fake, body):
    fake.fail("/v2/usercollection/daily_readiness", 200, body=body)
    with pytest.raises(SourceDataError) as err:
        connect(fake).daily_readiness(DAY, DAY)
    assert err.value.code == "oura_bad_payload"


def test_a_repeated_next_token_stops_pagination(fake):
    looping = {"data": [], "next_token": "same"}
    fake.fail("/v2/usercollection/daily_readiness", 200, body=looping, times=5)
    with pytest.raises(SourceDataError) as err:
        connect(fake).daily_readiness(DAY, DAY)
    assert err.value.code == "oura_bad_payload"
    assert len(calls(fake, "/v2/usercollection/daily_readiness")) == 2


def test_malformed_token_answer_is_data_error_and_spends_the_token(fake):
    client = connect(fake)
    fake.fail("/oauth/token", 200, body={"access_token": "a"})
    with pytest.raises(SourceDataError) as err:
        client.refresh(fake.client_id, fake.client_secret)
    assert err.value.code == "oura_bad_payload"
    with pytest.raises(OuraAuthError):
        client.refresh(fake.client_id, fake.client_secret)
