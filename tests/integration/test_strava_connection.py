"""Strava end to end against the loopback fake: connecting through OAuth from the Connections
page, syncing (streams, linking activities the watch already sent, token rotation, rate limits,
an inactive application, revoked access) and uploading new activities."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select

from app.models import Activity, ActivitySource, Connection, StravaUpload, SyncRun, sample_table
from app.services.coach import ai_policy
from app.services.sync import connections, oauth, strava_uploads
from app.services.sync.adapters import strava_source
from app.services.work.runner import InlineWorkRunner
from tests.conftest import with_settings
from tests.support.fake_strava import APP_INACTIVE, FakeStrava, make_streams
from tests.support.fitwriter import write_activity
from tests.support.importing import import_files

ORIGIN = {"Origin": "http://testserver"}
CALLBACK = "http://testserver/connections/strava/callback"


class Clock:
    """Real time (the fake's tokens expire by the wall clock); sleeps are recorded, not slept."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def strava() -> Iterator[FakeStrava]:
    server = FakeStrava().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def runner(app, settings, sessions, strava) -> InlineWorkRunner:
    fast = with_settings(settings, sync_delay_s=0.0)
    app.state.sync_sources = {"strava": strava_source(fast, endpoints=strava.endpoints)}
    app.state.work_runner = InlineWorkRunner(
        sessions, fast, app.state.secret_box, app.state.sync_sources, clock=Clock()
    )
    app.state.work_runner.scheduled = []
    return app.state.work_runner


def _connect_directly(sessions, box, strava: FakeStrava, *, expires_in: float | None = None):
    with sessions.begin() as session:
        oauth.save_app_credentials(
            session, box, "strava", str(strava.client_id), strava.client_secret
        )
        connections.save_tokens(session, box, "strava", strava.issue_tokens(expires_in=expires_in))


def _begin(signed_in, strava: FakeStrava) -> str:
    """Save the application and press Connect; returns the state sent to Strava."""
    response = signed_in.post(
        "/connections/strava/app",
        data={"client_id": str(strava.client_id), "client_secret": strava.client_secret},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303
    return parse_qs(urlsplit(response.headers["location"]).query)["state"][0]


def _fit(start: datetime, seconds: int = 1800) -> bytes:
    samples = {
        "heart_rate": np.full(seconds, 140.0),
        "speed": np.full(seconds, 3.0),
        "distance": np.arange(seconds) * 3.0,
    }
    return write_activity(None, sport="running", start=start, samples=samples)


def _count(db_session, *where) -> int:
    return db_session.execute(select(func.count()).select_from(Activity).where(*where)).scalar()


# --- connecting ---------------------------------------------------------------------------------


def test_the_page_explains_how_to_register_the_application(signed_in, runner):
    page = signed_in.get("/connections").text
    assert 'data-testid="oauth-strava"' in page
    assert 'data-testid="callback-host">testserver<' in page
    assert "strava.com/settings/api" in page
    assert "never sent to the coach" in page


def test_connecting_through_oauth_stores_encrypted_tokens_and_syncs(
    signed_in, runner, strava, db_session
):
    strava.add_activity(datetime.now(UTC) - timedelta(days=2), streams=make_streams(900))

    response = signed_in.post(
        "/connections/strava/app",
        data={"client_id": str(strava.client_id), "client_secret": strava.client_secret},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303
    authorize = response.headers["location"]
    assert authorize.startswith(strava.endpoints.oauth + "/authorize")
    query = parse_qs(urlsplit(authorize).query)
    assert query["redirect_uri"] == [CALLBACK]
    assert "activity:write" in query["scope"][0]

    approved = httpx.get(authorize, follow_redirects=False)  # the fake approves at once
    assert approved.status_code == 302
    callback = approved.headers["location"]
    assert callback.startswith(CALLBACK)
    back = signed_in.get(callback.removeprefix("http://testserver"), follow_redirects=False)
    assert back.status_code == 303
    assert "notice" not in back.headers["location"]

    connection = db_session.get(Connection, "strava")
    db_session.refresh(connection)
    assert connection.status == "connected"
    assert connection.account == "Strava athlete 1513"
    assert strava.client_secret not in connection.app_credentials_encrypted
    assert "access-" not in connection.tokens_encrypted
    assert connection.oauth_state_hash is None  # the state was spent
    activity = db_session.execute(select(Activity)).scalar_one()
    assert activity.sample_count == 900
    source = db_session.execute(select(ActivitySource)).scalar_one()
    assert (source.source, source.activity_id) == ("strava", activity.id)

    page = signed_in.get("/connections").text
    assert 'data-testid="source-strava"' in page and 'data-status="connected"' in page
    assert 'data-testid="api-usage"' in page  # the counters Strava sent with the last answer
    usage = connection.options["api_usage"]
    assert usage["read_short"][1] == 100 and usage["read_short"][0] == strava.read_usage[0]
    # The callback cannot be replayed: its state is gone.
    again = signed_in.get(callback.removeprefix("http://testserver"), follow_redirects=False)
    assert "notice=oauth_state_invalid" in again.headers["location"]


def test_a_callback_without_our_state_changes_nothing(signed_in, runner, strava, db_session):
    response = signed_in.get(
        "/connections/strava/callback?code=abc&state=forged", follow_redirects=False
    )
    assert "notice=oauth_state_invalid" in response.headers["location"]
    assert db_session.get(Connection, "strava") is None or (
        db_session.get(Connection, "strava").status != "connected"
    )
    page = signed_in.get(response.headers["location"]).text
    assert "This connection attempt expired or did not start here" in page


def test_a_denied_approval_says_so(signed_in, runner, strava):
    state = _begin(signed_in, strava)
    back = signed_in.get(
        f"/connections/strava/callback?error=access_denied&state={state}", follow_redirects=False
    )
    assert "notice=oauth_denied" in back.headers["location"]
    assert "Strava access was not granted" in signed_in.get(back.headers["location"]).text


def test_a_client_id_that_is_not_a_number_is_refused(signed_in, runner):
    response = signed_in.post(
        "/connections/strava/app",
        data={"client_id": "abc", "client_secret": "x"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert "notice=strava_client_id_invalid" in response.headers["location"]


def test_saving_the_application_needs_our_origin(signed_in, runner, strava, db_session):
    response = signed_in.post(
        "/connections/strava/app",
        data={"client_id": "1", "client_secret": "x"},
        headers={"Origin": "http://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert db_session.get(Connection, "strava") is None


# --- syncing ------------------------------------------------------------------------------------


def test_an_activity_the_watch_already_sent_is_linked_without_downloading_streams(
    sessions, settings, app, runner, strava, db_session
):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1, hours=3)
    import_files(sessions, settings, {"run.fit": _fit(start)})
    on_strava = strava.add_activity(start + timedelta(seconds=2), streams=make_streams(1800))
    on_strava["elapsed_time"] = 1800
    only_strava = strava.add_activity(start - timedelta(days=1), streams=make_streams(600))
    _connect_directly(sessions, app.state.secret_box, strava)

    run = runner.submit_sync("strava").result()

    assert run.status == "done", run.error_code
    assert run.counts.get("activities_merged") == 1
    assert run.counts.get("activities_added") == 1
    assert _count(db_session) == 2
    linked = db_session.execute(
        select(ActivitySource.activity_id).where(
            ActivitySource.source == "strava", ActivitySource.external_id == str(on_strava["id"])
        )
    ).scalar_one()
    fit_activity = db_session.execute(
        select(ActivitySource.activity_id).where(ActivitySource.source == "fit")
    ).scalar_one()
    assert linked == fit_activity
    streamed = [path for _, path in strava.requests if "/streams" in path]
    assert streamed == [p for p in streamed if str(only_strava["id"]) in p] and streamed

    again = runner.submit_sync("strava").result()  # nothing new the second time
    assert again.counts.get("activities_added", 0) == 0
    assert _count(db_session) == 2


def test_an_expiring_token_is_refreshed_and_the_rotated_one_stored(
    sessions, app, runner, strava, db_session
):
    _connect_directly(sessions, app.state.secret_box, strava, expires_in=30)
    with sessions() as session:
        before = connections.load_tokens(session, app.state.secret_box, "strava")

    run = runner.submit_sync("strava").result()

    assert run.status == "done"
    with sessions() as session:
        after = connections.load_tokens(session, app.state.secret_box, "strava")
    stored, previous = json.loads(after), json.loads(before)
    assert stored["refresh_token"] != previous["refresh_token"]
    assert stored["refresh_token"] in strava.refresh_tokens  # the live one
    assert previous["refresh_token"] not in strava.refresh_tokens  # retired by Strava


def test_a_429_stops_the_run_and_schedules_it_after_the_window(
    sessions, app, runner, strava, db_session
):
    _connect_directly(sessions, app.state.secret_box, strava)
    strava.fail("/api/v3/athlete/activities", 429, body={"message": "Rate Limit Exceeded"})

    run = runner.submit_sync("strava").result()

    assert (run.status, run.error_code) == ("cooling_down", "rate_limited")
    connection = db_session.get(Connection, "strava")
    db_session.refresh(connection)
    assert connection.cooldown_until is not None
    wait = (connection.cooldown_until - datetime.now(UTC)).total_seconds()
    assert 0 < wait <= 15 * 60 + 5  # the end of the 15-minute window
    assert [key for key, _ in runner.scheduled] == [("sync", "strava")]


def test_a_nearly_used_window_stops_the_run_before_strava_refuses(
    sessions, app, runner, strava, db_session
):
    for day in range(1, 4):
        strava.add_activity(datetime.now(UTC) - timedelta(days=day), streams=make_streams(60))
    _connect_directly(sessions, app.state.secret_box, strava)
    strava.set_usage(read_short=95)

    run = runner.submit_sync("strava").result()

    assert (run.status, run.error_code) == ("cooling_down", "rate_limited")
    assert strava.read_usage[0] <= strava.read_limits[0]  # Strava never had to refuse
    assert run.counts.get("activities_added", 0) < 3
    assert runner.scheduled and runner.scheduled[0][0] == ("sync", "strava")


def test_an_inactive_application_asks_for_a_subscription(
    signed_in, sessions, app, runner, strava, db_session
):
    _connect_directly(sessions, app.state.secret_box, strava)
    strava.fail("/api/v3/", 403, body=APP_INACTIVE, times=5)

    run = runner.submit_sync("strava").result()

    assert run.status == "needs_reconnect"
    connection = db_session.get(Connection, "strava")
    db_session.refresh(connection)
    assert (connection.status, connection.last_error_code) == (
        "needs_reconnect",
        "strava_app_inactive",
    )
    page = signed_in.get("/connections").text
    assert "has no Strava subscription" in page


def test_revoked_access_asks_to_reconnect_strava(
    signed_in, sessions, app, runner, strava, db_session
):
    _connect_directly(sessions, app.state.secret_box, strava)
    strava.revoke_all()

    run = runner.submit_sync("strava").result()

    assert run.status == "needs_reconnect"
    page = signed_in.get("/connections").text
    assert "Strava no longer accepts the saved sign-in" in page
    assert 'data-testid="authorize"' in page  # one press to reconnect


# --- uploads ------------------------------------------------------------------------------------


def _auto_upload(signed_in) -> None:
    response = signed_in.post(
        "/connections/strava/options",
        data={"auto_upload": "on"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_new_activities_are_uploaded_and_linked(
    signed_in, sessions, settings, app, runner, strava, db_session
):
    old = datetime.now(UTC) - timedelta(days=30)
    import_files(sessions, settings, {"old.fit": _fit(old)})  # history: never auto-uploaded
    _connect_directly(sessions, app.state.secret_box, strava)
    _auto_upload(signed_in)
    fit = _fit(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5))
    import_files(sessions, settings, {"new.fit": fit})

    counts = runner.submit_uploads().result()

    assert counts["uploaded"] == 1 and counts["done"] == 1 and counts["pending"] == 0
    assert len(strava.upload_posts) == 1
    posted = strava.upload_posts[0]
    assert posted["file"]["content"] == fit
    assert posted["data_type"] == "fit"
    assert posted["external_id"].startswith("domestique-")
    upload = db_session.execute(select(StravaUpload)).scalar_one()
    assert upload.status == "done" and upload.strava_activity_id is not None
    linked = db_session.execute(
        select(ActivitySource).where(ActivitySource.source == "strava")
    ).scalar_one()
    assert linked.activity_id == upload.activity_id
    assert runner.clock.sleeps  # it polled, through the injected clock

    page = signed_in.get(f"/activities/{upload.activity_id}").text
    assert "Open on Strava" in page
    assert 'data-testid="upload-summary"' in signed_in.get("/connections").text


def test_an_upload_strava_already_has_is_linked_as_a_duplicate(
    signed_in, sessions, settings, app, runner, strava, db_session
):
    _connect_directly(sessions, app.state.secret_box, strava)
    fit = _fit(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2))
    import_files(sessions, settings, {"a.fit": fit})
    activity_id = db_session.execute(select(Activity.id)).scalar_one()
    # The same file reached Strava before (the watch's own auto-upload).
    from app.sources.strava.client import StravaClient

    other = StravaClient.from_tokens(strava.issue_tokens(), endpoints=strava.endpoints)
    first = other.upload(fit, external_id="garmin_push_1")
    strava.upload_polls = 0
    earlier = other.upload_status(first).activity_id

    response = signed_in.post(
        f"/activities/{activity_id}/strava-upload", headers=ORIGIN, follow_redirects=False
    )
    assert response.status_code == 303

    upload = db_session.get(StravaUpload, activity_id)
    db_session.refresh(upload)
    assert (upload.status, upload.strava_activity_id) == ("duplicate", earlier)
    assert "Strava already has this activity" in signed_in.get(f"/activities/{activity_id}").text


def test_a_failed_upload_shows_why_and_can_be_retried(
    signed_in, sessions, settings, app, runner, strava, db_session
):
    _connect_directly(sessions, app.state.secret_box, strava)
    import_files(sessions, settings, {"a.fit": _fit(datetime.now(UTC) - timedelta(hours=3))})
    activity_id = db_session.execute(select(Activity.id)).scalar_one()
    strava.fail(
        "/api/v3/uploads",
        400,
        body={
            "message": "Bad Request",
            "errors": [{"resource": "Upload", "field": "file", "code": "invalid"}],
        },
    )

    signed_in.post(f"/activities/{activity_id}/strava-upload", headers=ORIGIN)

    upload = db_session.get(StravaUpload, activity_id)
    db_session.refresh(upload)
    assert upload.status == "failed" and upload.error_code
    page = signed_in.get(f"/activities/{activity_id}").text
    assert 'data-testid="upload-error"' in page and 'data-testid="upload-retry"' in page

    signed_in.post(f"/activities/{activity_id}/strava-upload", headers=ORIGIN)

    db_session.refresh(upload)
    assert upload.status == "done"
    posts = [
        path for method, path in strava.requests if (method, path) == ("POST", "/api/v3/uploads")
    ]
    assert len(posts) == 2  # the refused one, then the retry


def test_an_activity_without_a_fit_file_cannot_be_uploaded(sessions, db_session):
    row = Activity(
        sport="running",
        start_time=datetime(2026, 1, 1, tzinfo=UTC),
        local_date=datetime(2026, 1, 1).date(),
        utc_offset_s=0,
    )
    db_session.add(row)
    db_session.commit()
    with sessions.begin() as session:
        assert strava_uploads.request_upload(session, row.id) == "strava_upload_no_file"
        assert strava_uploads.request_upload(session, row.id + 1000) == "not_found"


def test_runs_are_recorded_per_source(sessions, app, runner, strava, db_session):
    _connect_directly(sessions, app.state.secret_box, strava)
    runner.submit_sync("strava").result()
    sources = db_session.execute(select(SyncRun.source)).scalars().all()
    assert sources == ["strava"]


def test_activities_only_strava_sent_are_kept_from_the_coach(
    sessions, settings, app, runner, strava, db_session
):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    import_files(sessions, settings, {"run.fit": _fit(start)})
    strava.add_activity(start + timedelta(seconds=1), streams=make_streams(60))["elapsed_time"] = (
        1800
    )
    strava.add_activity(start - timedelta(days=1), streams=make_streams(60))
    _connect_directly(sessions, app.state.secret_box, strava)
    runner.submit_sync("strava").result()

    by_sources = {}
    for activity_id, source in db_session.execute(
        select(ActivitySource.activity_id, ActivitySource.source)
    ):
        by_sources.setdefault(activity_id, set()).add(source)
    assert sorted(map(sorted, by_sources.values())) == [["fit", "strava"], ["strava"]]
    usable = ai_policy.usable_activity_ids(db_session, by_sources)
    assert usable == {i for i, s in by_sources.items() if "fit" in s}
    strava_only = next(i for i, s in by_sources.items() if s == {"strava"})
    assert db_session.get(Activity, strava_only).extras.get("strava_api") is True


def test_activities_from_strava_s_export_are_not_downloaded_again(
    sessions, settings, app, runner, strava, db_session, tmp_path
):
    from tests.support.strava_export import build_export

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    item = strava.add_activity(start, streams=make_streams(600))
    archive = build_export(
        tmp_path / "export.zip",
        rows=[
            {
                "id": item["id"],
                "date": start,
                "name": "Export run",
                "type": "Run",
                "elapsed_s": 600,
                "distance_m": 1800.0,
            }
        ],
    )
    import_files(sessions, settings, {"export.zip": archive.read_bytes()})
    _connect_directly(sessions, app.state.secret_box, strava)

    run = runner.submit_sync("strava").result()

    assert run.counts.get("activities_known") == 1
    assert not [path for _, path in strava.requests if "/streams" in path]
    assert _count(db_session) == 1


def test_the_watch_s_file_replaces_strava_s_streams_when_it_arrives_later(
    sessions, settings, app, runner, strava, db_session
):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1, hours=2)
    item = strava.add_activity(start, streams=make_streams(600))
    item["name"] = "Named on Strava"
    _connect_directly(sessions, app.state.secret_box, strava)
    runner.submit_sync("strava").result()
    activity = db_session.execute(select(Activity)).scalar_one()
    assert activity.sample_count == 600
    assert ai_policy.usable_activity_ids(db_session, [activity.id]) == set()

    import_files(sessions, settings, {"watch.fit": _fit(start, seconds=1800)})

    db_session.refresh(activity)
    assert _count(db_session) == 1
    assert activity.sample_count == 1800  # the watch's recording, not Strava's streams
    assert activity.name == "Named on Strava"
    stored = db_session.execute(
        select(func.count())
        .select_from(sample_table)
        .where(sample_table.c.activity_id == activity.id)
    ).scalar_one()
    assert stored == 1800
    sources = db_session.execute(
        select(ActivitySource.source).where(ActivitySource.activity_id == activity.id)
    ).scalars()
    assert sorted(sources) == ["fit", "strava"]
    assert ai_policy.usable_activity_ids(db_session, [activity.id]) == {activity.id}


def test_a_lesser_recording_arriving_later_does_not_replace_the_watch_s(
    sessions, settings, strava, db_session
):
    from zoneinfo import ZoneInfo

    from app.services.imports import store
    from app.sources.strava.mapper import activity_to_record

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1, hours=2)
    import_files(sessions, settings, {"watch.fit": _fit(start, seconds=1800)})
    item = strava.add_activity(start + timedelta(seconds=5))
    record = activity_to_record(item, make_streams(600))

    with sessions.begin() as session:
        result = store.store_activities(
            session, [record], source_keys=[str(item["id"])], raw_file_id=None,
            zone=ZoneInfo("Asia/Seoul"),
        )  # fmt: skip

    assert result.duplicate == 1
    activity = db_session.execute(select(Activity)).scalar_one()
    db_session.refresh(activity)
    assert activity.sample_count == 1800


def test_the_fit_inside_garmin_s_original_zip_is_what_is_uploaded(sessions, settings, db_session):
    import io
    import zipfile

    from app.services import raw_store
    from app.services.imports import store

    fit = _fit(datetime(2026, 5, 1, 6, 0, tzinfo=UTC))
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("123_ACTIVITY.fit", fit)
    row = Activity(sport="running", start_time=datetime(2026, 5, 1, 6, 0, tzinfo=UTC),
                   local_date=datetime(2026, 5, 1).date(), utc_offset_s=32400)  # fmt: skip
    db_session.add(row)
    db_session.commit()
    with sessions.begin() as session:
        raw = raw_store.store_bytes(
            session, settings, packed.getvalue(), original_name="123.zip",
            kind="garmin_original", namespace="garmin",
        )  # fmt: skip
        store.link_source(session, row.id, source="garmin", key="123", external_id="123",
                          raw_file_id=raw.id)  # fmt: skip
    with sessions() as session:
        assert strava_uploads.original_fit(session, settings, row.id) == fit


# --- what the review found ------------------------------------------------------------------


def test_history_imported_after_auto_upload_is_switched_on_is_not_uploaded(
    signed_in, sessions, settings, app, runner, strava, db_session
):
    _connect_directly(sessions, app.state.secret_box, strava)
    _auto_upload(signed_in)
    # A Garmin backfill or an archive import after switching on: stored later, recorded long ago.
    import_files(sessions, settings, {"old.fit": _fit(datetime.now(UTC) - timedelta(days=400))})

    runner.submit_uploads().result()

    assert db_session.execute(select(func.count()).select_from(StravaUpload)).scalar() == 0
    assert strava.upload_posts == []


def test_without_the_upload_permission_uploads_fail_with_a_sentence_and_syncing_goes_on(
    signed_in, sessions, settings, app, runner, strava, db_session
):
    state = _begin(signed_in, strava)
    approved = httpx.get(
        f"{strava.endpoints.oauth}/authorize?client_id={strava.client_id}&response_type=code"
        f"&redirect_uri={CALLBACK}&scope=read,activity:read_all&state={state}",
        follow_redirects=False,
    )
    signed_in.get(approved.headers["location"].removeprefix("http://testserver"))
    import_files(sessions, settings, {"a.fit": _fit(datetime.now(UTC) - timedelta(hours=3))})
    activity_id = db_session.execute(select(Activity.id)).scalar_one()

    signed_in.post(f"/activities/{activity_id}/strava-upload", headers=ORIGIN)

    upload = db_session.get(StravaUpload, activity_id)
    db_session.refresh(upload)
    assert (upload.status, upload.error_code) == ("failed", "strava_write_scope_missing")
    assert strava.upload_posts == []
    connection = db_session.get(Connection, "strava")
    db_session.refresh(connection)
    assert connection.status == "connected"
    assert "Upload your activities" in signed_in.get(f"/activities/{activity_id}").text


def test_without_reading_activities_nothing_is_connected(signed_in, runner, strava, db_session):
    state = _begin(signed_in, strava)
    back = signed_in.get(
        f"/connections/strava/callback?code=abc&scope=read&state={state}", follow_redirects=False
    )
    assert "notice=strava_read_scope_missing" in back.headers["location"]
    assert db_session.get(Connection, "strava").status == "disconnected"


def test_tokens_refreshed_after_a_disconnect_are_not_written_back(sessions, app, strava):
    box = app.state.secret_box
    _connect_directly(sessions, box, strava)
    with sessions.begin() as session:
        connections.disconnect(session, "strava")
    with sessions.begin() as session:
        assert not connections.keep_rotated_tokens(session, box, "strava", strava.issue_tokens())
    with sessions() as session:
        assert connections.load_tokens(session, box, "strava") is None


def test_a_short_activity_inside_a_long_one_is_not_taken_for_it(
    sessions, settings, app, runner, strava, db_session
):
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1, hours=4)
    import_files(sessions, settings, {"ride.fit": _fit(start, seconds=7200)})
    walk = strava.add_activity(start + timedelta(minutes=30), sport_type="Walk",
                               streams=make_streams(1200))  # fmt: skip
    walk["elapsed_time"] = 1200
    _connect_directly(sessions, app.state.secret_box, strava)

    run = runner.submit_sync("strava").result()

    assert run.counts.get("activities_added") == 1
    assert _count(db_session) == 2


def test_signing_in_to_another_account_starts_its_history_afresh(sessions, app, strava):
    box = app.state.secret_box
    with sessions.begin() as session:
        connections.save_tokens(session, box, "strava", strava.issue_tokens(), account="A")
        connections.get_connection(session, "strava").cursors = {"activities": {"newest": "x"}}
    with sessions.begin() as session:
        connections.save_tokens(session, box, "strava", strava.issue_tokens(), account="A")
        assert connections.get_connection(session, "strava").cursors
        connections.save_tokens(session, box, "strava", strava.issue_tokens(), account="B")
        assert connections.get_connection(session, "strava").cursors == {}


def test_a_summary_joining_a_strava_api_activity_does_not_let_it_reach_the_coach(
    sessions, settings, app, runner, strava, db_session
):
    from zoneinfo import ZoneInfo

    from app import records
    from app.services.imports import store

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    strava.add_activity(start, streams=make_streams(600))
    _connect_directly(sessions, app.state.secret_box, strava)
    runner.submit_sync("strava").result()
    activity = db_session.execute(select(Activity)).scalar_one()
    workout = records.Activity(source="apple_health", sport="running", start=start,
                               elapsed_s=600.0)  # fmt: skip
    with sessions.begin() as session:
        store.store_activities(session, [workout], source_keys=["hk-1"], raw_file_id=None,
                               zone=ZoneInfo("Asia/Seoul"))  # fmt: skip

    sources = db_session.execute(
        select(ActivitySource.source).where(ActivitySource.activity_id == activity.id)
    ).scalars()
    assert sorted(sources) == ["apple_health", "strava"]
    assert ai_policy.usable_activity_ids(db_session, [activity.id]) == set()


def test_disconnecting_withdraws_the_approval_on_strava(
    signed_in, sessions, app, runner, strava, db_session
):
    _connect_directly(sessions, app.state.secret_box, strava)
    with sessions() as session:
        held = json.loads(connections.load_tokens(session, app.state.secret_box, "strava"))

    signed_in.post("/connections/strava/disconnect", headers=ORIGIN)

    assert strava.deauthorized == [held["access_token"]]
    assert held["refresh_token"] not in strava.refresh_tokens
    connection = db_session.get(Connection, "strava")
    db_session.refresh(connection)
    assert (connection.status, connection.tokens_encrypted) == ("disconnected", None)
    assert connection.app_credentials_encrypted is not None  # the application is kept


def test_disconnecting_works_even_when_strava_cannot_be_reached(
    signed_in, sessions, app, runner, strava, db_session
):
    _connect_directly(sessions, app.state.secret_box, strava)
    strava.fail("/oauth/deauthorize", 503)

    signed_in.post("/connections/strava/disconnect", headers=ORIGIN)

    connection = db_session.get(Connection, "strava")
    db_session.refresh(connection)
    assert connection.status == "disconnected"


def test_uploads_stop_before_the_window_is_used_up_and_come_back_later(
    signed_in, sessions, settings, app, runner, strava, db_session
):
    _connect_directly(sessions, app.state.secret_box, strava)
    _auto_upload(signed_in)
    recent = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    import_files(
        sessions, settings, {"a.fit": _fit(recent), "b.fit": _fit(recent + timedelta(hours=2))}
    )
    strava.set_usage(short=185)  # of 200: the first upload brings it to 90 %

    counts = runner.submit_uploads().result()

    assert counts["uploaded"] == 1 and counts["rate_limited"] == 1
    assert len(strava.upload_posts) == 1
    assert strava.usage[0] <= strava.limits[0]  # Strava never had to refuse
    statuses = db_session.execute(select(StravaUpload.status).order_by(StravaUpload.activity_id))
    assert sorted(statuses.scalars()) == ["processing", "queued"]
    key, wait = runner.scheduled[-1]
    assert key == ("uploads", "strava") and 0 < wait <= 15 * 60 + 5


def test_an_original_outside_the_raw_store_is_never_read(db_session, sessions, settings):
    """A raw-file row whose path leaves the raw store (a crafted backup) is not uploaded."""
    from app.models import RawFile
    from app.services import raw_store
    from app.services.imports import store

    fit = _fit(datetime(2026, 5, 2, 6, 0, tzinfo=UTC))
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "planted.fit").write_bytes(fit)  # a real FIT, one level up
    row = Activity(sport="running", start_time=datetime(2026, 5, 2, 6, 0, tzinfo=UTC),
                   local_date=datetime(2026, 5, 2).date(), utc_offset_s=32400)  # fmt: skip
    db_session.add(row)
    db_session.commit()
    with sessions.begin() as session:
        raw = RawFile(sha256="e" * 64, kind="fit", path="../planted.fit", size=len(fit))
        session.add(raw)
        session.flush()
        store.link_source(session, row.id, source="garmin", key="124", external_id="124",
                          raw_file_id=raw.id)  # fmt: skip
    with sessions() as session:
        assert raw_store.raw_path(settings, session.get(RawFile, raw.id)) is None
        assert strava_uploads.original_fit(session, settings, row.id) is None
