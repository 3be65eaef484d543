"""Running syncs: one at a time per source (also across processes), stale runs marked, the
nightly job at the owner's local time, a cut-short backfill resumed at start-up."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from app.db.locks import lock_key
from app.jobs.nightly import NIGHTLY_SYNC, nightly_sync_job
from app.jobs.registry import JobRegistry, Schedule
from app.models import SyncRun
from app.security.keys import SecretBox
from app.services.sync import connections
from app.services.sync.adapters import SyncSource
from app.services.sync.engine import SyncOptions
from app.services.work.runner import InlineWorkRunner, SyncBusy, WorkRunner, sync_source
from app.web.app import create_app
from tests.conftest import with_settings
from tests.integration.test_sync import FakeGarmin, FakeGarminSync


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key().decode())


def _source(api_factory) -> SyncSource:
    return SyncSource(
        name="garmin",
        label="Garmin Connect",
        client=lambda context: FakeGarminSync(api_factory()),
        login_client=lambda: None,  # type: ignore[arg-type,return-value]
        options=SyncOptions(delay_s=0.0, empty_windows_to_stop=3, empty_days_to_stop=5),
    )


@pytest.fixture
def connected(db_session, box):
    connections.save_tokens(db_session, box, "garmin", "tokens-1", account="me@example.com")
    db_session.commit()


def test_a_sync_held_by_another_process_is_refused(sessions, settings, box, connected, engine):
    with engine.connect() as other:  # e.g. `domestique sync` running beside the app
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key("sync:garmin")})
        with pytest.raises(SyncBusy):
            sync_source(sessions, settings, box, _source(FakeGarmin))
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key("sync:garmin")})
    run = sync_source(sessions, settings, box, _source(FakeGarmin))
    assert run.status == "done"


def test_a_run_a_killed_process_left_running_is_marked_interrupted(
    sessions, settings, box, connected, db_session
):
    with sessions.begin() as session:
        session.add(
            SyncRun(
                source="garmin",
                mode="auto",
                status="running",
                started_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
        )
    sync_source(sessions, settings, box, _source(FakeGarmin))
    statuses = db_session.execute(select(SyncRun.status).order_by(SyncRun.id)).scalars().all()
    assert statuses == ["interrupted", "done"]


def test_every_run_is_recorded_and_runs_a_killed_process_left_are_interrupted_at_start(
    sessions, settings, box, connected, db_session
):
    from app.models import WorkRun
    from app.services.work import runs

    at = datetime(2026, 11, 1, tzinfo=UTC)
    left_running, left_queued = runs.new_id(), runs.new_id()
    runs.started(sessions, left_running, "backup", {}, at, at)
    runs.queued(sessions, left_queued, "sync", {"source": "garmin", "mode": "auto"}, at)
    runner = WorkRunner(sessions, settings, box, {"garmin": _source(FakeGarmin)})
    runner.start()
    try:
        run = runner.submit_sync("garmin").result(30)
    finally:
        runner.stop()
    assert isinstance(run, SyncRun) and run.status == "done"
    rows = {row.id: row for row in db_session.execute(select(WorkRun)).scalars()}
    assert rows[left_running].status == rows[left_queued].status == "interrupted"
    assert rows[left_running].finished_at is not None
    # The sync this process ran, recorded from queued to done with its sync run (the pass over
    # Strava uploads it queued after adding activities is a run of its own).
    mine_all = [row for row in rows.values() if row.id not in (left_running, left_queued)]
    assert {row.kind for row in mine_all} <= {"sync", "uploads"}
    (mine,) = [row for row in mine_all if row.kind == "sync"]
    assert (mine.kind, mine.parameters, mine.status) == (
        "sync",
        {"source": "garmin", "mode": "auto"},
        "done",
    )
    assert mine.result["run"] == run.id and mine.result["status"] == "done"
    assert mine.queued_at <= mine.started_at <= mine.finished_at


def test_a_failed_piece_of_work_is_recorded_with_its_code(sessions, settings, box, connected):
    from app.services.work import runs

    def broken():
        raise RuntimeError("the adapter exploded")

    runner = InlineWorkRunner(sessions, settings, box, {"garmin": _source(broken)})
    runner.submit_sync("garmin")
    with sessions() as session:
        run = runs.latest(session, "sync")
    assert run.status == "failed" and run.error_code == "internal"
    assert run.error_params == {"error": "RuntimeError"}


def test_a_source_that_is_not_connected_is_not_synced(sessions, settings, box):
    from app.sources import SourceAuthError

    with pytest.raises(SourceAuthError):
        sync_source(sessions, settings, box, _source(FakeGarmin))


def test_the_nightly_job_syncs_every_connected_source(sessions, settings, box, connected):
    runner = InlineWorkRunner(sessions, settings, box, {"garmin": _source(FakeGarmin)})
    runner.run_nightly()
    with sessions() as session:
        run = session.execute(select(SyncRun)).scalars().one()
    assert (run.source, run.status, run.mode) == ("garmin", "done", "auto")


def test_the_nightly_job_fails_loudly_when_a_source_fails(sessions, settings, box, connected):
    def broken():
        raise RuntimeError("the adapter exploded")

    runner = InlineWorkRunner(sessions, settings, box, {"garmin": _source(broken)})
    with pytest.raises(RuntimeError, match="1 source sync"):
        runner.run_nightly()


def test_the_nightly_job_runs_at_the_configured_local_time(settings, sessions):
    runner = InlineWorkRunner(sessions, settings, None, {})  # type: ignore[arg-type]
    spec = nightly_sync_job(runner)
    after = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # 21:00 in Seoul
    trigger = spec.trigger_for(Schedule("Asia/Seoul", "03:15", "05:30"))
    fire = trigger.get_next_fire_time(None, after)
    assert fire.astimezone(ZoneInfo("Asia/Seoul")).replace(tzinfo=None) == datetime(
        2026, 11, 21, 3, 15
    )
    assert spec.catch_up  # a night missed while the NAS was off runs at start-up


def test_the_app_schedules_the_nightly_sync_in_the_owners_time_zone(settings, sessions, owner):
    app = create_app(with_settings(settings, sync_time="02:05"), jobs=JobRegistry())
    app.state.sessions = sessions
    app.state.work_runner = InlineWorkRunner(sessions, settings, app.state.secret_box, {})
    with TestClient(app):
        when = app.state.scheduler.next_run(NIGHTLY_SYNC)
    local = when.astimezone(ZoneInfo(owner.timezone))
    assert (local.hour, local.minute) == (2, 5)


def test_requests_for_a_busy_source_are_one_and_a_cut_short_sync_resumes_at_start(
    sessions, settings, box, connected
):
    release = threading.Event()
    started = threading.Event()

    def slow_api():
        started.set()
        assert release.wait(10)
        return FakeGarmin()

    runner = WorkRunner(sessions, settings, box, {"garmin": _source(slow_api)})
    runner.start()
    try:
        first = runner.submit_sync("garmin")
        assert started.wait(10)
        second = runner.submit_sync("garmin")
        assert second is first and runner.busy("garmin")
        release.set()
        assert first.result(timeout=30).status == "done"
        assert not runner.busy("garmin")
    finally:
        runner.stop()

    with sessions.begin() as session:  # a process killed mid-sync leaves this behind
        session.add(
            SyncRun(source="garmin", mode="auto", status="running", started_at=datetime.now(UTC))
        )
    restarted = WorkRunner(sessions, settings, box, {"garmin": _source(FakeGarmin)})
    try:
        (resumed,) = restarted.start()
        assert resumed.result(timeout=30).status == "done"
    finally:
        restarted.stop()
    with sessions() as session:
        statuses = session.execute(select(SyncRun.status).order_by(SyncRun.id)).scalars().all()
    assert statuses == ["done", "interrupted", "done"]


def test_whoever_waits_on_a_request_wakes_to_an_idle_source(sessions, settings, box, connected):
    """The request is no longer pending when its result is set, so a caller woken by it (the
    nightly job, a page asking "busy?") never sees the source still busy."""
    runner = WorkRunner(sessions, settings, box, {"garmin": _source(FakeGarmin)})
    runner.start()
    try:
        busy_when_done: list[bool] = []
        future = runner.submit_sync("garmin")
        future.add_done_callback(lambda _: busy_when_done.append(runner.busy("garmin")))
        assert future.result(timeout=30).status == "done"
    finally:
        runner.stop()
    assert busy_when_done == [False]


def test_a_sign_in_cut_short_by_a_restart_is_not_left_spinning(sessions, settings, box):
    from app.services.sync import linking

    with sessions.begin() as session:
        linking.begin_sign_in(session, "garmin", "me@example.com", datetime.now(UTC))
    runner = WorkRunner(sessions, settings, box, {"garmin": _source(FakeGarmin)})
    runner.start()
    runner.stop()
    with sessions() as session:
        row = connections.get_connection(session, "garmin")
        assert (row.login_state, row.last_error_code) == ("failed", "sign_in_interrupted")


def test_work_for_later_runs_once_per_key_and_not_after_stop():
    from app.services.work.runner import WorkRunner

    runner = WorkRunner(None, None, None, {})  # type: ignore[arg-type]
    fired = threading.Event()
    calls: list[str] = []

    def work() -> None:
        calls.append("sync")
        fired.set()

    runner.later(("sync", "strava"), 600, work)
    runner.later(("sync", "strava"), 0, work)  # a sooner one for the same key replaces it
    runner.later(("sync", "strava"), 300, work)  # a later one while one waits: ignored
    assert fired.wait(10)
    assert calls == ["sync"]

    runner.later(("uploads", "strava"), 0.5, lambda: calls.append("uploads"))
    waiting = runner._timers[("uploads", "strava")]
    runner.stop()  # cancels what is waiting
    waiting.join(10)  # a cancelled timer's thread ends without calling; a fired one would have
    assert not waiting.is_alive()
    runner.later(("uploads", "strava"), 0, lambda: calls.append("late"))  # refused once stopping
    assert runner._timers == {}
    assert calls == ["sync"]


def test_a_rate_limited_sync_is_resumed_after_a_restart(sessions, settings, box, connected):
    from datetime import timedelta

    def cooled(until: datetime) -> None:
        with sessions.begin() as session:
            now = datetime.now(UTC)
            run = SyncRun(source="garmin", mode="auto", status="cooling_down", started_at=now)
            session.add(run)
            connections.get_connection(session, "garmin").cooldown_until = until

    cooled(datetime.now(UTC) + timedelta(minutes=10))  # the window resets later
    runner = WorkRunner(sessions, settings, box, {"garmin": _source(FakeGarmin)})
    try:
        assert runner.start() == []  # nothing at once: a timer
        timer = runner._timers.get(("sync", "garmin"))
        assert timer is not None and 590 < timer.due - time.monotonic() < 610
        assert not runner.busy("garmin")
    finally:
        runner.stop()

    cooled(datetime.now(UTC) - timedelta(minutes=1))  # it reset while the app was down
    restarted = WorkRunner(sessions, settings, box, {"garmin": _source(FakeGarmin)})
    try:
        (resumed,) = restarted.start()  # run at once, not by a timer
        assert resumed.result(timeout=30).status == "done"
    finally:
        restarted.stop()
    with sessions() as session:
        statuses = session.execute(select(SyncRun.status).order_by(SyncRun.id)).scalars().all()
    assert statuses[-1] == "done"


def test_a_killed_sync_is_interrupted_at_start_and_its_resumption_is_its_own_linked_run(
    sessions, settings, box, connected
):
    from app.services.sync import status
    from app.services.work import runs

    at = datetime(2026, 11, 1, tzinfo=UTC)
    killed = runs.new_id()
    runs.started(sessions, killed, "sync", {"source": "garmin", "mode": "auto"}, at, at)
    with sessions.begin() as session:
        session.add(
            SyncRun(
                source="garmin",
                work_run_id=killed,
                mode="auto",
                status="running",
                items_done=7,
                started_at=at,
            )
        )
    restarted = WorkRunner(sessions, settings, box, {"garmin": _source(FakeGarmin)})
    try:
        (resumed,) = restarted.start()
        assert resumed.result(timeout=30).status == "done"
    finally:
        restarted.stop()
    with sessions() as session:
        shown, last_success = status.sync_statuses(session, "garmin")
        details = session.execute(select(SyncRun).order_by(SyncRun.id)).scalars().all()
    assert [(s.status, s.error_code) for s in shown] == [
        ("done", None),
        ("interrupted", "work_interrupted"),
    ]
    assert shown[1].items_done == 7 and last_success == details[1].finished_at
    assert details[0].work_run_id == killed and details[1].work_run_id not in (None, killed)


def test_a_sync_whose_record_could_not_be_written_still_runs(sessions, settings, box, connected):
    from app.services.sync import status
    from app.services.work import runs

    missing = runs.new_id()  # recording never stops the work: no row to link to
    run = sync_source(sessions, settings, box, _source(FakeGarmin), work_run_id=missing)
    assert run.status == "done" and run.work_run_id is None
    with sessions() as session:
        (shown,), last_success = status.sync_statuses(session, "garmin")
    assert shown.status == "done" and shown.queued_at is None  # listed from its own row
    assert last_success == run.finished_at
