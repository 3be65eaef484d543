"""The import service against the real database: FIT files written by our own encoder, ZIPs,
deduplication across sources, idempotency, per-file failures, resuming a cut-short job."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select, text

from app import records
from app.models import Activity, ActivitySource, DailyWellness, ImportItem, ImportJob, Lap
from app.services import imports
from app.services.imports import store
from tests.support.fitwriter import Leg, write_activity
from tests.support.importing import import_files

START = datetime(2025, 5, 1, 21, 30, tzinfo=UTC)  # 06:30 on 2 May in Seoul


def _run(seconds: int = 600, *, start: datetime = START, device=("garmin", 3113), **kw) -> bytes:
    t = np.arange(seconds, dtype=float)
    samples = {
        "heart_rate": 120 + 20 * np.sin(t / 60),
        "speed": np.full(seconds, 3.2),
        "distance": 3.2 * t,
        "altitude": 50 + np.sin(t / 100),
        "cadence": np.full(seconds, 88.0),
    }
    return write_activity(
        None,
        sport="running",
        start=start,
        samples=samples,
        laps=[0, seconds // 2],
        device=device,
        **kw,
    )


def _import(sessions, settings, files: dict[str, bytes]) -> ImportJob:
    return import_files(sessions, settings, files, check=False)


def _count(db_session, model) -> int:
    return db_session.execute(select(func.count()).select_from(model)).scalar_one()


def test_fit_file_becomes_an_activity_with_samples_laps_and_source(sessions, settings, db_session):
    job = _import(sessions, settings, {"run.fit": _run()})

    assert job.status == "done"
    assert job.summary["activities_added"] == 1
    assert job.summary["samples"] == 600
    activity = db_session.execute(select(Activity)).scalar_one()
    assert activity.sport == "running"
    assert activity.start_time == START
    assert activity.local_date == date(2025, 5, 2)  # the file's local_timestamp (+09:00)
    assert activity.utc_offset_s == 9 * 3600
    assert activity.sample_count == 600
    assert activity.distance_m == pytest.approx(3.2 * 599, abs=1)
    stored = db_session.execute(
        text("SELECT count(*), avg(heart_rate), max(distance) FROM sample WHERE activity_id = :a"),
        {"a": activity.id},
    ).one()
    assert stored[0] == 600
    assert stored[2] == pytest.approx(3.2 * 599, abs=0.01)
    assert _count(db_session, Lap) == 2
    source = db_session.execute(select(ActivitySource)).scalar_one()
    assert source.source == "fit" and source.raw_file_id is not None
    assert (settings.raw_dir / source.source_key.split(":")[0][:2]).is_dir()


def test_importing_the_same_file_twice_changes_nothing(sessions, settings, db_session):
    data = _run()
    _import(sessions, settings, {"run.fit": data})
    again = _import(sessions, settings, {"copy-of-run.fit": data})

    assert again.summary["activities_added"] == 0
    assert again.summary["activities_duplicate"] == 1
    assert again.items[0].status == "duplicate"
    assert _count(db_session, Activity) == 1
    assert db_session.execute(text("SELECT count(*) FROM sample")).scalar_one() == 600
    assert _count(db_session, ActivitySource) == 1


def test_same_activity_from_another_recording_is_one_activity_with_two_sources(
    sessions, settings, db_session
):
    _import(sessions, settings, {"watch.fit": _run()})
    # The bike computer started 20 s later and is another device: different bytes.
    other = _run(start=START + timedelta(seconds=20), device=("wahoo_fitness", 28))
    job = _import(sessions, settings, {"head-unit.fit": other})

    assert job.summary["activities_added"] == 0 and job.summary["activities_duplicate"] == 1
    assert _count(db_session, Activity) == 1
    assert _count(db_session, ActivitySource) == 2
    # Samples are not doubled.
    assert db_session.execute(text("SELECT count(*) FROM sample")).scalar_one() == 600


def test_an_activity_two_minutes_apart_is_another_activity(sessions, settings, db_session):
    _import(sessions, settings, {"a.fit": _run()})
    _import(sessions, settings, {"b.fit": _run(start=START + timedelta(minutes=2))})
    assert _count(db_session, Activity) == 2


def test_multisport_file_gives_linked_legs(sessions, settings, db_session):
    # Leg timestamps are seconds after the activity's start: the legs follow each other.
    swim, t1, bike = np.arange(0, 300.0), np.arange(300, 360.0), np.arange(360, 660.0)
    legs = [
        Leg("swimming", {"timestamp": swim, "heart_rate": np.full(300, 130.0)}, "open_water"),
        Leg("transition", {"timestamp": t1, "heart_rate": np.full(60, 140.0)}),
        Leg(
            "cycling",
            {"timestamp": bike, "heart_rate": np.full(300, 140.0), "power": np.full(300, 200.0)},
            "road",
        ),
    ]
    job = _import(sessions, settings, {"tri.fit": write_activity(None, start=START, legs=legs)})

    assert job.summary["activities_added"] == 3
    rows = db_session.execute(select(Activity).order_by(Activity.start_time)).scalars().all()
    assert [r.sport for r in rows] == ["swimming", "transition", "cycling"]
    assert [r.multisport_index for r in rows] == [0, 1, 2]
    assert rows[0].multisport_parent_id is None
    assert {r.multisport_parent_id for r in rows[1:]} == {rows[0].id}
    assert [r.sample_count for r in rows] == [300, 60, 300]


def test_a_bad_file_fails_alone_and_the_job_goes_on(sessions, settings, db_session):
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    job = _import(
        sessions,
        settings,
        {"a.fit": _run(), "picture.fit": png, "z.fit": _run(start=START + timedelta(days=1))},
    )

    assert job.status == "done"
    assert job.summary["activities_added"] == 2
    assert job.summary["files_failed"] == 1
    failed = [item for item in job.items if item.status == "failed"]
    assert [item.name for item in failed] == ["picture.fit"]
    assert failed[0].error_code in ("unknown_format", "not_fit")


def test_truncated_fit_keeps_the_records_before_the_cut(sessions, settings, db_session):
    data = _run(1200)
    job = _import(sessions, settings, {"cut.fit": data[: len(data) // 2]})

    item = job.items[0]
    assert item.status == "ok", item.error_code
    assert [n["code"] for n in item.notices] == ["fit_truncated"]
    activity = db_session.execute(select(Activity)).scalar_one()
    assert 0 < activity.sample_count < 1200


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_of_fit_files_imports_each_member(sessions, settings, db_session):
    archive = _zip(
        {
            "rides/one.fit": _run(),
            "rides/two.fit": _run(start=START + timedelta(days=2)),
            "notes.txt": b"hello",
            "../../etc/evil.fit": _run(start=START + timedelta(days=3)),
        }
    )
    job = _import(sessions, settings, {"history.zip": archive})

    assert job.status == "done"
    assert job.summary["activities_added"] == 2
    children = [item for item in job.items if item.parent_id is not None]
    assert sorted(item.name for item in children) == ["rides/one.fit", "rides/two.fit"]
    parent = next(item for item in job.items if item.parent_id is None)
    codes = {n["code"] for n in parent.notices}
    assert "zip_unsafe_name" in codes and "archive_skipped" in codes
    assert job.total == 2 and job.done == 2


def test_hostile_zip_is_refused_without_storing_anything(sessions, settings, db_session):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.fit", bytes(60 * 1024 * 1024))
    job = _import(sessions, settings, {"bomb.zip": bomb.getvalue()})

    parent = job.items[0]
    assert parent.status == "failed" and parent.error_code == "zip_bomb"
    assert _count(db_session, Activity) == 0


def test_a_job_cut_short_resumes_without_doubling(sessions, settings, db_session):
    folder = settings.data_dir / "in"
    folder.mkdir(parents=True)
    (folder / "a.fit").write_bytes(_run())
    (folder / "b.fit").write_bytes(_run(start=START + timedelta(days=1)))
    raws = imports.keep_paths(sessions, settings, [folder])
    with sessions.begin() as session:
        job_id = imports.create_job(session, raws, origin="web").id
    imports.run_job(sessions, settings, job_id, workers=0)
    # Simulate a process killed after the first file: the second is pending again, the job
    # still says running.
    with sessions.begin() as session:
        session.execute(
            text("UPDATE import_item SET status = 'pending' WHERE job_id = :j AND position = 1"),
            {"j": job_id},
        )
        session.execute(
            text("UPDATE import_job SET status = 'running' WHERE id = :j"), {"j": job_id}
        )

    assert imports.resume_unfinished(sessions, settings, workers=0) == [job_id]
    with sessions() as session:
        job = session.get(ImportJob, job_id)
        assert job.status == "done"
        statuses = (
            session.execute(
                select(ImportItem.status)
                .where(ImportItem.job_id == job_id)
                .order_by(ImportItem.position)
            )
            .scalars()
            .all()
        )
    assert statuses == ["ok", "duplicate"]
    assert _count(db_session, Activity) == 2


def test_an_archive_cut_short_resumes_its_pending_member(sessions, settings, db_session):
    """Killed while storing a ZIP's second member: the first member is done, the second's item
    is pending, the third was never reached. The resumed run finishes the pending item (no
    second row for it), skips the finished one and adds the third; its raw file is kept."""
    members = {f"rides/{i}.fit": _run(start=START + timedelta(days=i)) for i in range(3)}
    job = _import(sessions, settings, {"history.zip": _zip(members)})
    with sessions.begin() as session:
        session.execute(
            text(
                "UPDATE import_item SET status = 'pending', raw_file_id = NULL "
                "WHERE job_id = :j AND name = 'rides/1.fit'"
            ),
            {"j": job.id},
        )
        session.execute(
            text("DELETE FROM import_item WHERE job_id = :j AND name = 'rides/2.fit'"),
            {"j": job.id},
        )
        session.execute(
            text(
                "DELETE FROM activity WHERE id IN (SELECT activity_id FROM activity_source "
                "WHERE source_key LIKE :k)"
            ),
            {"k": f"{hashlib.sha256(members['rides/2.fit']).hexdigest()}:%"},
        )
        session.execute(
            text(
                "UPDATE import_item SET status = 'pending' WHERE job_id = :j AND parent_id IS NULL"
            ),
            {"j": job.id},
        )
        session.execute(
            text("UPDATE import_job SET status = 'running' WHERE id = :j"), {"j": job.id}
        )

    assert imports.resume_unfinished(sessions, settings, workers=0) == [job.id]
    with sessions() as session:
        children = session.execute(
            select(ImportItem.name, ImportItem.status, ImportItem.raw_file_id)
            .where(ImportItem.job_id == job.id, ImportItem.parent_id.is_not(None))
            .order_by(ImportItem.name)
        ).all()
    assert [(name, status) for name, status, _raw in children] == [
        ("rides/0.fit", "ok"),
        ("rides/1.fit", "duplicate"),
        ("rides/2.fit", "ok"),
    ]
    assert all(raw is not None for _name, _status, raw in children)
    assert _count(db_session, Activity) == 3


def test_worker_processes_give_the_same_result(sessions, settings, db_session):
    files = {f"{i}.fit": _run(start=START + timedelta(days=i)) for i in range(4)}
    folder = settings.data_dir / "w"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    raws = imports.keep_paths(sessions, settings, [folder])
    with sessions.begin() as session:
        job_id = imports.create_job(session, raws, origin="cli").id
    job = imports.run_job(sessions, settings, job_id, workers=2)
    assert job.summary["activities_added"] == 4
    assert job.summary["samples"] == 4 * 600


def test_wellness_merges_by_source_priority(db_session):
    day = date(2025, 5, 2)
    store.merge_wellness(
        db_session,
        [records.DailyWellness(day, "apple_health", {"resting_hr": 50, "steps": 9000})],
    )
    store.merge_wellness(
        db_session, [records.DailyWellness(day, "garmin_export", {"resting_hr": 47})]
    )
    # A lower-priority source does not overwrite; it still fills what is missing.
    store.merge_wellness(
        db_session,
        [records.DailyWellness(day, "apple_health", {"resting_hr": 52, "hrv_sdnn_ms": 61.5})],
    )
    row = db_session.get(DailyWellness, day)
    assert (row.resting_hr, row.steps, row.hrv_sdnn_ms) == (47, 9000, 61.5)
    assert row.sources == {
        "resting_hr": "garmin_export",
        "steps": "apple_health",
        "hrv_sdnn_ms": "apple_health",
    }


def test_health_series_are_stored_once(db_session):
    times = START.timestamp() + np.arange(5) * 60.0
    series = records.HealthSeries(
        "heart_rate", "apple_health", times, np.array([60, 61, np.nan, 63, 64.0]), "Watch"
    )
    assert store.store_health(db_session, series) == 4
    assert store.store_health(db_session, series) == 0


@pytest.mark.parametrize("rows", [1, 6, 7, 8, 14, 15])  # around one and two COPY blocks of 7
def test_health_series_copied_in_blocks_keep_every_row(db_session, monkeypatch, rows):
    monkeypatch.setattr(store, "HEALTH_COPY_BLOCK_ROWS", 7)
    copied = store._copy
    chunks: list[int] = []

    def counting_copy(session, statement, payload):
        chunks.append(len(payload))
        copied(session, statement, payload)

    monkeypatch.setattr(store, "_copy", counting_copy)
    times = START.timestamp() + np.arange(rows) * 60.0
    values = 50.0 + np.arange(rows)
    ends = np.where(np.arange(rows) % 3 == 0, np.nan, times + 30)  # some rows without an end
    first = records.HealthSeries("steps", "apple_health", times, values, "Watch", ends)
    assert store.store_health(db_session, first) == rows  # straight COPY
    # Half overlapping what is stored: through the staging table, in blocks too.
    shift = 60.0 * (rows // 2)
    second = records.HealthSeries(
        "steps", "apple_health", times + shift, values + 100, "Watch", ends + shift
    )
    assert store.store_health(db_session, second) == rows // 2
    assert chunks == [2 + -(-rows // 7)] * 2  # header, blocks of at most 7 rows, trailer
    stored = db_session.execute(
        text(
            "SELECT extract(epoch FROM time)::float8, value, extract(epoch FROM end_time)::float8 "
            "FROM health_sample WHERE device = 'Watch' ORDER BY time"
        )
    ).all()
    new = slice(rows - rows // 2, rows)  # the second series' rows after the first's last time
    assert [row[0] for row in stored] == [*times, *(times[new] + shift)]
    assert [row[1] for row in stored] == [*values, *(values[new] + 100)]
    assert [np.nan if row[2] is None else row[2] for row in stored] == pytest.approx(
        [*ends, *(ends[new] + shift)], nan_ok=True
    )


def test_stats_describe_the_database(sessions, settings, db_session):
    _import(sessions, settings, {"a.fit": _run()})
    store.merge_wellness(
        db_session, [records.DailyWellness(date(2025, 4, 30), "garmin_export", {"steps": 1})]
    )
    figures = imports.database_stats(db_session)
    assert figures["activities"] == 1
    assert figures["samples"] == 600
    assert figures["wellness_days"] == 1
    assert figures["activities_by_sport"] == {"running": 1}
    assert figures["activities_by_source"] == {"fit": 1}
    assert (figures["first_day"], figures["last_day"]) == ("2025-04-30", "2025-05-02")


def test_garmin_export_brings_activities_and_wellness_once(sessions, settings, db_session):
    from tests.support.garmin_export import build_export

    path = settings.data_dir / "export.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    days = [
        {
            "date": date(2025, 5, 1) + timedelta(days=i),
            "resting_hr": 45 + i,
            "sleep_s": 27000,
            "hrv_rmssd_ms": 60.0,
            "steps": 10000 + i,
        }
        for i in range(3)
    ]
    build_export(
        path,
        fit_files=[("run.fit", _run())],
        days=days,
        activities=[
            # The same run as the FIT file (Garmin's summary of it) and a manual entry.
            {"activity_id": 111, "start": START, "sport": "running", "distance_m": 1900.0},
            {
                "activity_id": 222,
                "start": START + timedelta(days=1),
                "sport": "strength_training",
                "elapsed_s": 1800.0,
            },
        ],
    )
    job = _import(sessions, settings, {"export.zip": path.read_bytes()})

    assert job.status == "done", job.error
    assert job.summary["files_failed"] == 0
    assert job.summary["activities_added"] == 2  # the run (once) and the strength session
    assert job.summary["wellness_days"] == 3  # distinct days, though three files carry them
    run = db_session.execute(select(Activity).where(Activity.sport == "running")).scalar_one()
    assert run.sample_count == 600
    sources = {s.source for s in run.sources}
    assert sources == {"garmin_export"} and len(run.sources) == 2  # FIT file + summary
    row = db_session.get(DailyWellness, date(2025, 5, 2))
    assert (row.resting_hr, row.hrv_rmssd_ms, row.steps) == (46, 60.0, 10001)
    assert row.sources["resting_hr"] == "garmin_export"

    again = _import(sessions, settings, {"export-again.zip": path.read_bytes()})
    assert again.summary["activities_added"] == 0 and again.summary["wellness_days"] == 0


@pytest.mark.parametrize(
    "fixture", ["dogsheep-export.xml", "tdda-export6s3sample.xml", "apple-health-parser-export.zip"]
)
def test_apple_health_exports_import_once(sessions, settings, db_session, fixture):
    from pathlib import Path

    data = (Path("tests/fixtures/apple_health") / fixture).read_bytes()
    job = _import(sessions, settings, {fixture: data})
    assert job.status == "done" and job.summary["files_failed"] == 0, job.items[0].error_code
    assert job.summary["health_samples"] + job.summary["wellness_days"] > 0
    again = _import(sessions, settings, {"copy-" + fixture: data})
    assert again.summary["activities_added"] == 0 and again.summary["health_samples"] == 0
    assert again.items[0].status == "duplicate"


def test_rr_intervals_are_kept(sessions, settings, db_session):
    rr = np.full(500, 0.8)  # seconds, as FIT stores them
    data = _run(hrv=rr)
    _import(sessions, settings, {"rr.fit": data})
    stored = db_session.execute(text("SELECT rr_ms FROM activity_rr")).scalar_one()
    assert len(stored) == 500 and stored[0] == pytest.approx(800.0)


def test_apple_health_parses_in_a_worker_process_with_the_same_result(
    sessions, settings, db_session
):
    from pathlib import Path

    data = (Path("tests/fixtures/apple_health") / "dogsheep-export.xml").read_bytes()
    broken = data[: len(data) // 2]
    folder = settings.data_dir / "apple"
    folder.mkdir(parents=True)
    (folder / "export.xml").write_bytes(data)
    (folder / "broken.xml").write_bytes(broken)
    raws = imports.keep_paths(sessions, settings, [folder / "export.xml", folder / "broken.xml"])
    with sessions.begin() as session:
        job_id = imports.create_job(session, raws, origin="cli").id
    job = imports.run_job(sessions, settings, job_id, workers=1)

    ok, failed = job.items
    assert ok.status == "ok" and ok.health_samples + ok.wellness_days > 0
    assert failed.status == "failed" and failed.error_code == "xml_malformed"
    assert failed.error_params.get("line")


def test_the_import_service_loads_scipy_only_for_the_metrics():
    """``domestique import`` and the decoder workers import this package: the metrics' scipy
    (about 40 MB) waits until the metrics run, after the parsers are done."""
    from tests.support.modules import loaded_by

    loaded = loaded_by("app.services.imports")
    assert "app.services.imports.jobs" in loaded
    assert [name for name in loaded if name.startswith("scipy")] == []


def test_health_series_with_repeated_times_and_overlap_keep_one_row_per_time(db_session):
    t0 = START.timestamp()
    first = records.HealthSeries(
        "steps",
        "apple_health",
        t0 + np.array([0, 60, 60, 120.0]),
        np.array([5, 6, 7, 8.0]),
        "Phone",
    )
    assert store.store_health(db_session, first) == 3  # the repeated time is stored once
    overlapping = records.HealthSeries(
        "steps", "apple_health", t0 + np.array([120, 180.0]), np.array([8, 9.0]), "Phone"
    )
    assert store.store_health(db_session, overlapping) == 1
    other_device = records.HealthSeries(
        "steps", "apple_health", t0 + np.array([0.0]), np.array([1.0]), "Watch"
    )
    assert store.store_health(db_session, other_device) == 1
    rows = db_session.execute(
        text("SELECT device, count(*) FROM health_sample GROUP BY device ORDER BY device")
    ).all()
    assert rows == [("Phone", 4), ("Watch", 1)]


def test_a_job_on_the_app_engine_keeps_one_connection_and_resets_it(pg_cluster, tmp_path):
    """Outside the tests' shared transaction (the app, the CLI), a job holds one pooled
    connection whose commits do not wait for the WAL flush, and hands it back as it found it."""
    from app.config import Settings
    from app.db import make_engine, make_session_factory
    from app.db.migrate import upgrade

    url = pg_cluster.create_database("domestique_import_engine")
    upgrade(url)
    settings = Settings(env="development", database_url=url, data_dir=tmp_path)
    engine = make_engine(settings)
    seen: list[str] = []

    @sqlalchemy_event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy):
        seen.append("checkout")

    try:
        sessions = make_session_factory(engine)
        archive = _zip({f"rides/{i}.fit": _run(start=START + timedelta(days=i)) for i in range(4)})
        path = tmp_path / "history.zip"
        path.write_bytes(archive)
        raws = imports.keep_paths(sessions, settings, [path])
        with sessions.begin() as session:
            job_id = imports.create_job(session, raws, origin="cli").id
        seen.clear()
        job = imports.run_job(sessions, settings, job_id, workers=0)
        assert job.status == "done" and job.summary["activities_added"] == 4
        # the job's start and inputs, its own connection and its writers', its end, the
        # metrics, the result (a connection per transaction: four or more per file)
        assert len(seen) <= 6 + imports.jobs.STORE_WRITERS
        with engine.connect() as connection:  # the pool's one connection: set by nobody
            source = connection.exec_driver_sql(
                "SELECT source FROM pg_settings WHERE name = 'synchronous_commit'"
            ).scalar()
        assert source != "session"
    finally:
        engine.dispose()
