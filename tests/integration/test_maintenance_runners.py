"""The background work while the app's maintenance lasts: a sync in flight stops between two
items and new work is held back; an import stops after a whole file; the scheduler starts no
job. When the maintenance ends each picks up what the database says is left. Events hold the
work at the right moment; nothing sleeps."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np
import pytest
from apscheduler.triggers.date import DateTrigger
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.migrate import upgrade
from app.jobs.registry import JobRegistry, JobSpec, Schedule
from app.jobs.scheduler import Scheduler
from app.models import Activity, ImportItem, ImportJob, SyncRun
from app.security.keys import SecretBox
from app.services import imports
from app.services.imports.runner import ImportRunner
from app.services.sync import connections
from app.services.sync.adapters import SyncSource
from app.services.sync.engine import SyncOptions
from app.services.work.maintenance import Maintenance, MaintenanceActive
from app.services.work.runner import WorkRunner
from tests.integration.test_sync import FakeGarmin, FakeGarminSync
from tests.support.fitwriter import write_activity

WAIT_S = 30


class HeldGarmin(FakeGarmin):
    """Ten activities; the download of the second waits until the test lets it go."""

    def __init__(self) -> None:
        super().__init__(count=10)
        self.reached, self.release = threading.Event(), threading.Event()
        self.downloads = 0

    def original_file(self, activity_id: int) -> bytes:
        self.downloads += 1
        if self.downloads == 2:
            self.reached.set()
            self.release.wait(WAIT_S)
        return super().original_file(activity_id)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key().decode())


@pytest.fixture
def sessions(pg_cluster, tmp_path) -> Iterator[sessionmaker[Session]]:
    """A database of its own: the runners' threads and the test use separate connections, as
    in the app (not the shared connection of a rolled-back test transaction)."""
    name = f"maintenance_{os.getpid()}_{len(list(tmp_path.parent.iterdir()))}"
    url = pg_cluster.create_database(name)
    upgrade(url)
    engine = create_engine(url)
    try:
        yield sessionmaker(bind=engine, expire_on_commit=False)
    finally:
        engine.dispose()
        pg_cluster.create_database(name)  # dropped and made empty again


@pytest.fixture
def settings(settings, sessions) -> Settings:
    return settings.model_copy(
        update={"database_url": SecretStr(str(sessions.kw["bind"].url.render_as_string(False)))}
    )


def _count(sessions, model) -> int:
    with sessions() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_sync_stops_between_items_new_work_waits_and_both_go_on_after(sessions, settings, box):
    with sessions.begin() as session:
        connections.save_tokens(session, box, "garmin", "tokens-1", account="me@example.com")
    api = HeldGarmin()
    source = SyncSource(
        name="garmin",
        label="Garmin Connect",
        client=lambda context: FakeGarminSync(api),
        login_client=lambda: None,  # type: ignore[arg-type,return-value]
        options=SyncOptions(delay_s=0.0, empty_windows_to_stop=3, empty_days_to_stop=5),
    )
    maintenance = Maintenance()
    runner = WorkRunner(sessions, settings, box, {"garmin": source}, maintenance=maintenance)
    maintenance.attach(runner)
    runner.start()
    try:
        backfill = runner.submit_sync("garmin")
        assert api.reached.wait(WAIT_S)
        maintenance.begin("restore")
        with pytest.raises(MaintenanceActive):  # one at a time
            maintenance.begin("restore")
        api.release.set()
        stopped = backfill.result(WAIT_S)
        assert (stopped.status, stopped.error_code) == ("interrupted", "interrupted")
        stored = _count(sessions, Activity)
        assert 0 < stored < 10

        asked = runner.submit_recompute(None)  # asked for meanwhile: held back
        probe = runner._submit(("probe", "maintenance"), lambda: "ran", maintenance=True)
        assert probe.result(WAIT_S) == "ran"  # the maintenance's own work runs (FIFO: after)
        assert not asked.done()
        maintenance.wait_quiet()
        assert _count(sessions, Activity) == stored  # nothing moved while it lasted

        maintenance.end(replaced=False)
        assert maintenance.wait_over(WAIT_S)
        # Everything queued by the end (what was held, the sync left unfinished) runs before:
        assert runner._submit(("probe", "after"), lambda: "ran").result(WAIT_S) == "ran"
        assert asked.done() and not isinstance(asked.result(), Exception)
    finally:
        api.release.set()
        runner.stop()
    with sessions() as session:
        statuses = session.execute(select(SyncRun.status).order_by(SyncRun.id)).scalars().all()
    assert statuses == ["interrupted", "done"]
    assert _count(sessions, Activity) == 10


def test_an_import_stops_after_a_whole_file_and_finishes_after(sessions, settings, tmp_path):
    paths = []
    for day in range(3):
        path = tmp_path / f"ride-{day}.fit"
        write_activity(
            path,
            sport="cycling",
            start=datetime(2026, 5, 1 + day, 6, tzinfo=UTC),
            samples={"power": np.full(300, 200.0)},
        )
        paths.append(path)
    raws = imports.keep_paths(sessions, settings, paths)
    with sessions.begin() as session:
        job_id = imports.create_job(session, raws, origin="web").id

    stored_one, release, finished = threading.Event(), threading.Event(), threading.Event()

    def progress(job: ImportJob) -> None:  # told after the first stored file
        if not stored_one.is_set():
            stored_one.set()
            release.wait(WAIT_S)

    maintenance = Maintenance()
    runner = ImportRunner(sessions, settings.model_copy(update={"import_workers": 0}))
    runner.progress = progress
    runner.after_job = finished.set
    maintenance.attach(runner)
    runner.start()
    try:
        runner.submit(job_id)
        assert stored_one.wait(WAIT_S)
        maintenance.begin("restore")
        release.set()
        maintenance.wait_quiet()  # the job stopped after its file
        with sessions() as session:
            job = session.get_one(ImportJob, job_id)
            items = session.execute(select(ImportItem.status).where(ImportItem.job_id == job_id))
            assert job.status == "queued" and job.finished_at is None  # waits to go on
            assert sorted(items.scalars()) == ["ok", "pending", "pending"]
        assert _count(sessions, Activity) == 1
        finished.clear()

        maintenance.end(replaced=False)
        assert finished.wait(WAIT_S)
    finally:
        release.set()
        runner.stop()
    with sessions() as session:
        job = session.get_one(ImportJob, job_id)
        assert job.status == "done" and job.summary["activities_added"] == 3
    assert _count(sessions, Activity) == 3


def test_the_scheduler_starts_no_job_until_the_maintenance_ends(sessions):
    ran = threading.Event()

    async def scenario() -> tuple[bool, bool]:
        scheduler = Scheduler(JobRegistry(), sessions, lambda: Schedule("UTC", "04:30", "05:30"))
        scheduler.start()
        maintenance = Maintenance()
        maintenance.attach(scheduler)
        maintenance.begin("restore")
        paused = scheduler.paused
        # A run that falls due meanwhile (a nightly job's time) runs when it ends.
        due = JobSpec("due", "due now", ran.set, DateTrigger(datetime.now(UTC)))
        scheduler._scheduler.add_job(due.func, due.trigger, id=due.id, misfire_grace_time=60)
        maintenance.end(replaced=False)
        resumed = not scheduler.paused
        await asyncio.get_running_loop().run_in_executor(None, ran.wait, WAIT_S)
        scheduler.shutdown()
        return paused, resumed

    with ThreadPoolExecutor(1) as pool:
        paused, resumed = pool.submit(asyncio.run, scenario()).result()
    assert paused and resumed
    assert ran.is_set()


class RecordingPart:
    """A part of the app that only says when it is told what."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def pause(self) -> None:
        self.log.append("pause")

    def wait_paused(self) -> None:
        self.log.append("quiet")

    def resume(self) -> None:
        self.log.append("resume")


def test_a_restore_in_place_waits_for_quiet_adopts_at_the_switch_and_resumes_last(
    settings, tmp_path
):
    from app.services import backups
    from app.services.work.maintenance import restore_in_place

    settings = settings.model_copy(
        update={"data_dir": tmp_path / "data", "backup_dir": tmp_path / "backups"}
    )
    made = backups.make_backup(settings).path
    log: list[str] = []
    maintenance = Maintenance()
    maintenance.attach(RecordingPart(log))
    maintenance.step_observers.append(log.append)
    maintenance.on_switch(lambda change: log.append(f"adopt epoch {change.session_epoch}"))
    maintenance.on_reload(lambda: log.append("reload"))

    maintenance.begin("restore")
    result = restore_in_place(maintenance, settings, made)

    assert result.after == result.before
    assert log == [
        "pause",
        "waiting",
        "quiet",  # nothing is swapped before the work in flight has stopped
        "verify",
        "safety backup",
        "extract",
        "restore database",
        "migrate",
        "switch",
        "adopt epoch None",  # no owner in this database
        "reload",
        "resume",
    ]
    assert not maintenance.active and maintenance.wait_over(0)
