"""The sync service with a hand-written fake source and a fake clock: backfill newest first,
resume after a crash without duplicates, re-runs add nothing, retries with backoff, cooldown on
429, needs-reconnect on refused tokens, rotated tokens kept."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from app import records
from app.models import Activity, ActivitySource, Connection, DailyWellness, SyncRun
from app.security.keys import SecretBox
from app.services.sync import connections
from app.services.sync.engine import Syncer, SyncOptions
from app.services.sync.sources.garmin import GarminSync
from app.sources import SourceAuthError, SourceRateLimited, SourceUnavailable
from tests.support.fitwriter import write_activity

TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.current = NOW
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += timedelta(seconds=seconds)


class FakeGarmin:
    """Activities every 10 days for ~400 days, wellness every day for 200 days."""

    def __init__(self, count: int = 40, every_days: float = 10) -> None:
        self.summaries = []
        for i in range(count):
            start = datetime.combine(TODAY, datetime.min.time(), UTC) - timedelta(
                days=every_days * i
            )
            start += timedelta(hours=7)
            self.summaries.append({"activityId": 1000 + i, "startTimeGMT": start.isoformat()})
        self.failures: dict[str, list[Exception]] = {}
        self.crash_after: int | None = None
        self.calls = 0
        self.calls_by_kind: dict[str, int] = {}
        self.tokens = "tokens-1"

    def _tick(self, what: str) -> None:
        self.calls += 1
        self.calls_by_kind[what] = self.calls_by_kind.get(what, 0) + 1
        if self.crash_after is not None and self.calls > self.crash_after:
            raise RuntimeError("the process was killed")
        queue = self.failures.get(what)
        if queue:
            raise queue.pop(0)

    def activities(self, start: date, end: date) -> list[dict]:
        self._tick("activities")
        return [
            s for s in self.summaries if start <= date.fromisoformat(s["startTimeGMT"][:10]) <= end
        ]

    def original_file(self, activity_id: int) -> bytes:
        self._tick("original")
        summary = next(s for s in self.summaries if s["activityId"] == activity_id)
        fit = write_activity(
            None,
            sport="running",
            start=datetime.fromisoformat(summary["startTimeGMT"]),
            samples={"heart_rate": np.full(60, 140.0)},
        )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"{activity_id}_ACTIVITY.fit", fit)
        return buffer.getvalue()

    def activity_at(self, offset: int) -> dict | None:
        self._tick("activity_at")
        return self.summaries[offset] if 0 <= offset < len(self.summaries) else None

    def daily(self, day: date) -> dict:
        self._tick("daily")
        if (TODAY - day).days > 200:
            return {}
        return {"rhr": 40 + (TODAY - day).days % 10}

    def current_tokens(self) -> str:
        return self.tokens


class FakeGarminSync(GarminSync):
    """Garmin's protocol over ``FakeGarmin``, whose payloads are shorter than Garmin's."""

    def summary_record(self, item) -> records.Activity:
        return records.Activity(
            source="garmin",
            sport="running",
            start=datetime.fromisoformat(item["startTimeGMT"]),
            external_id=str(item["activityId"]),
        )

    def wellness(self, day, payloads) -> records.DailyWellness:
        return records.DailyWellness(day, "garmin", {"resting_hr": payloads["rhr"]})


OPTIONS = SyncOptions(delay_s=0.5, empty_windows_to_stop=3, empty_days_to_stop=5)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key().decode())


@pytest.fixture
def connected(db_session, box):
    connections.save_tokens(db_session, box, "garmin", "tokens-1", account="me@example.com")
    db_session.commit()


def _syncer(sessions, settings, box, api, clock=None, **kw) -> Syncer:
    return Syncer(
        sessions,
        settings,
        box,
        FakeGarminSync(api),
        clock=clock or FakeClock(),
        options=OPTIONS,
        **kw,
    )


def _count(db_session, model) -> int:
    return db_session.execute(select(func.count()).select_from(model)).scalar_one()


def test_backfill_brings_the_whole_history_and_a_rerun_adds_nothing(
    sessions, settings, box, connected, db_session
):
    api = FakeGarmin()
    run = _syncer(sessions, settings, box, api).run("auto")

    assert run.status == "done", run.error_code
    assert _count(db_session, Activity) == 40
    assert _count(db_session, DailyWellness) == 201
    cursors = db_session.get(Connection, "garmin").cursors
    assert cursors["activities"]["backfill_done"] and cursors["wellness"]["backfill_done"]
    assert cursors["activities"]["newest"] == TODAY.isoformat()
    assert any(settings.raw_dir.glob("garmin/*/*.json"))

    again = _syncer(sessions, settings, box, api).run("auto")
    assert again.status == "done"
    assert again.counts.get("activities_added", 0) == 0
    assert again.counts.get("wellness_days", 0) == 0
    assert _count(db_session, Activity) == 40


def test_a_crash_mid_backfill_resumes_without_duplicates(
    sessions, settings, box, connected, db_session
):
    api = FakeGarmin()
    api.crash_after = 30
    with pytest.raises(RuntimeError):
        _syncer(sessions, settings, box, api).run("auto")
    partial = _count(db_session, Activity)
    assert 0 < partial < 40

    api.crash_after = None
    run = _syncer(sessions, settings, box, api).run("auto")
    assert run.status == "done"
    assert _count(db_session, Activity) == 40
    assert _count(db_session, DailyWellness) == 201


def test_server_errors_are_retried_with_growing_waits(
    sessions, settings, box, connected, db_session
):
    api = FakeGarmin()
    api.failures["activities"] = [SourceUnavailable("502"), SourceUnavailable("503")]
    clock = FakeClock()
    run = _syncer(sessions, settings, box, api, clock=clock, jitter=lambda: 0.0).run("incremental")

    assert run.status == "done"
    # throttle, backoff 2 s, throttle, backoff 4 s, throttle: then it worked
    assert clock.sleeps[:5] == [0.5, 2.0, 0.5, 4.0, 0.5]


def test_persistent_server_errors_fail_the_run_but_keep_the_connection(
    sessions, settings, box, connected, db_session
):
    api = FakeGarmin()
    api.failures["activities"] = [SourceUnavailable("500")] * 10
    run = _syncer(sessions, settings, box, api).run("incremental")
    assert run.status == "failed"
    assert db_session.get(Connection, "garmin").status == "connected"


def test_rate_limit_starts_a_cooldown(sessions, settings, box, connected, db_session):
    api = FakeGarmin()
    api.failures["daily"] = [SourceRateLimited("429", retry_after=900)]
    clock = FakeClock()
    run = _syncer(sessions, settings, box, api, clock=clock).run("auto")

    assert (run.status, run.error_code) == ("cooling_down", "rate_limited")
    connection = db_session.get(Connection, "garmin")
    db_session.refresh(connection)
    assert connection.cooldown_until == clock.now() + timedelta(seconds=900)


def test_refused_tokens_mean_reconnect(sessions, settings, box, connected, db_session):
    api = FakeGarmin()
    api.failures["activities"] = [SourceAuthError("401")]
    run = _syncer(sessions, settings, box, api).run("auto")
    assert run.status == "needs_reconnect"
    connection = db_session.get(Connection, "garmin")
    db_session.refresh(connection)
    assert connection.status == "needs_reconnect"
    with pytest.raises(SourceAuthError):
        _syncer(sessions, settings, box, api).run("auto")


def test_rotated_tokens_are_kept_after_the_run(sessions, settings, box, connected, db_session):
    api = FakeGarmin()
    api.tokens = "tokens-2"
    _syncer(sessions, settings, box, api).run("incremental")
    assert connections.load_tokens(db_session, box, "garmin") == "tokens-2"


def test_a_failing_download_is_recorded_and_retried_next_time(
    sessions, settings, box, connected, db_session
):
    api = FakeGarmin()
    api.failures["original"] = [SourceUnavailable("500")] * OPTIONS.max_attempts
    first = _syncer(sessions, settings, box, api).run("incremental")
    assert first.status == "partial"
    assert first.failures and first.failures[0]["activity_id"] == 1000
    assert db_session.get(Connection, "garmin").cursors["retry_activities"] == ["1000"]

    second = _syncer(sessions, settings, box, api).run("incremental")
    assert second.status == "done"
    db_session.expire_all()
    assert db_session.get(Connection, "garmin").cursors["retry_activities"] == []
    runs = db_session.execute(select(SyncRun).order_by(SyncRun.id)).scalars().all()
    assert [r.status for r in runs] == ["partial", "done"]


def test_the_garmin_adapter_and_fake_garmin_connect_end_to_end(sessions, settings, box, db_session):
    """The real adapter (garminconnect underneath) against the loopback fake Garmin Connect."""
    from app.sources.garmin.client import GarminClient
    from tests.support.fake_garmin import FakeGarmin as FakeGarminServer

    server = FakeGarminServer().start()
    try:
        history = server.add_history(3, newest=TODAY)
        tokens = server.issue_tokens()
        connections.save_tokens(db_session, box, "garmin", tokens)
        db_session.commit()
        client = GarminClient.from_tokens(tokens, endpoints=server.endpoints)
        syncer = Syncer(
            sessions,
            settings,
            box,
            GarminSync(client),
            clock=FakeClock(),
            options=SyncOptions(
                delay_s=0, overlap_days=3, empty_windows_to_stop=1, empty_days_to_stop=1
            ),
        )
        run = syncer.run("auto")
    finally:
        server.stop()

    assert run.status in ("done", "partial"), (run.error_code, run.failures)
    ids = {str(item["activityId"]) for item in history}
    stored = set(
        db_session.execute(
            select(ActivitySource.external_id).where(ActivitySource.source == "garmin")
        ).scalars()
    )
    assert ids <= stored
    assert run.counts.get("activities_added", 0) + run.counts.get("activities_merged", 0) == 3


def test_the_backfill_is_sized_first_and_stops_at_the_oldest_activity(
    sessions, settings, box, connected, db_session
):
    api = FakeGarmin()
    seen: list[tuple[int, int | None]] = []
    syncer = _syncer(
        sessions, settings, box, api, progress=lambda r: seen.append((r.items_done, r.items_total))
    )
    run = syncer.run("auto")

    extent = db_session.get(Connection, "garmin").cursors["extent"]
    assert extent == {"count": 40, "oldest": api.summaries[-1]["startTimeGMT"][:10]}
    # a doubling then binary search (2·log2(40) + 2 calls), not a walk over 40 items
    assert api.calls_by_kind["activity_at"] <= 13
    sized = [total for _, total in seen if total is not None]
    assert sized and sized[0] >= 40  # known before the first backfill window
    assert run.items_done >= 40 + 201
    assert run.items_total == run.items_done


def test_a_paused_backfill_stops_between_items_and_resumes_where_it_was(
    sessions, settings, box, connected, db_session
):
    api = FakeGarmin()

    def pause_after_some(run_row: SyncRun) -> None:
        if run_row.items_done >= 20:
            with sessions.begin() as session:
                connections.get_connection(session, "garmin").backfill_paused = True

    paused = _syncer(sessions, settings, box, api, progress=pause_after_some).run("auto")
    assert paused.status == "paused"
    stored = _count(db_session, Activity)
    assert 0 < stored < 40

    # while paused, a nightly run only does the incremental part
    nightly = _syncer(sessions, settings, box, api).run("auto")
    assert nightly.status == "done"
    assert _count(db_session, Activity) == stored

    with sessions.begin() as session:
        connections.get_connection(session, "garmin").backfill_paused = False
    resumed = _syncer(sessions, settings, box, api).run("auto")
    assert resumed.status == "done"
    assert _count(db_session, Activity) == 40
    assert _count(db_session, DailyWellness) == 201


def test_a_stopping_process_interrupts_the_backfill_cleanly(
    sessions, settings, box, connected, db_session
):
    api = FakeGarmin()
    run = _syncer(sessions, settings, box, api, interrupt=lambda: "interrupted").run("auto")
    assert run.status == "interrupted"
    assert run.finished_at is not None
    again = _syncer(sessions, settings, box, api).run("auto")
    assert again.status == "done"
    assert _count(db_session, Activity) == 40


def test_no_call_is_made_while_a_cooldown_lasts(sessions, settings, box, connected, db_session):
    with sessions.begin() as session:
        connections.get_connection(session, "garmin").cooldown_until = NOW + timedelta(hours=1)
    api = FakeGarmin()
    run = _syncer(sessions, settings, box, api).run("auto")
    assert (run.status, run.error_code) == ("cooling_down", "rate_limited")
    assert api.calls == 0


def test_an_activity_from_the_garmin_export_is_not_downloaded_again(
    sessions, settings, box, connected, db_session
):
    from zoneinfo import ZoneInfo

    from app.services.imports import store

    assert GarminSync.same_ids_from == ("garmin_export",)
    api = FakeGarmin()
    newest = api.summaries[0]
    exported = records.Activity(
        source="garmin_export",
        sport="running",
        start=datetime.fromisoformat(newest["startTimeGMT"]),
        external_id=str(newest["activityId"]),
    )
    with sessions.begin() as session:
        store.store_activities(
            session,
            [exported],
            source_keys=[exported.external_id],
            raw_file_id=None,
            zone=ZoneInfo("UTC"),
        )
    run = _syncer(sessions, settings, box, api).run("incremental")
    assert run.status == "done"
    assert "original" not in api.calls_by_kind
    assert run.counts == {"activities_known": 1, "wellness_days": 4}


def test_a_very_long_history_is_sized_in_a_few_calls(
    sessions, settings, box, connected, db_session
):
    api = FakeGarmin(count=6000, every_days=0.6)  # ten years, several activities a day

    def pause_once_sized(run_row: SyncRun) -> None:
        if run_row.items_total:
            with sessions.begin() as session:
                connections.get_connection(session, "garmin").backfill_paused = True

    run = _syncer(sessions, settings, box, api, progress=pause_once_sized).run("auto")
    assert run.status == "paused"
    assert api.calls_by_kind["activity_at"] <= 2 * 13 + 2  # log2(6000) < 13
    extent = db_session.get(Connection, "garmin").cursors["extent"]
    assert extent["count"] == 6000
    assert extent["oldest"] == api.summaries[-1]["startTimeGMT"][:10]
    # sized: the activities still to fetch plus ten years of days
    assert run.items_total > 6000 + 3000


def test_a_listed_activity_without_an_id_fails_the_run_with_a_clear_code(
    sessions, settings, box, connected, db_session
):
    api = FakeGarmin(count=3)
    del api.summaries[0]["activityId"]  # Garmin's list broke its contract
    run = _syncer(sessions, settings, box, api).run("incremental")
    assert (run.status, run.error_code) == ("failed", "garmin_bad_payload")
    assert _count(db_session, Activity) == 0
    assert api.calls_by_kind.get("original", 0) == 0
