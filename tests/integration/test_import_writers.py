"""Storing files side by side: outside the tests' shared transaction (the app, the CLI) an import
stores a few files at once on connections of their own. The result must be what storing them
one by one gives, duplicates and other recordings of the same activity included.

Each test imports into fresh databases of its own (the writers commit for real), decoding in a
worker process so that decoded files wait for the writers: without the claims that keep
conflicting files apart, the comparison below fails in most runs (a race, so not in every one);
the claims themselves are checked one by one at the end.
"""

from __future__ import annotations

import itertools
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from app.config import Settings
from app.db import make_engine, make_session_factory
from app.db.migrate import upgrade
from app.services import imports
from app.services.imports import jobs
from tests.integration.test_imports import START, _run, _zip
from tests.support.fitwriter import Leg, write_activity
from tests.support.garmin_export import build_export

_names = itertools.count()


@pytest.fixture
def fresh(pg_cluster, tmp_path):
    """A function that gives (sessions, settings) on a new, migrated database."""
    engines = []

    def make() -> tuple:
        url = pg_cluster.create_database(f"domestique_writers_{next(_names)}")
        upgrade(url)
        data = tmp_path / f"data{len(engines)}"
        settings = Settings(env="development", database_url=url, data_dir=data)
        engine = make_engine(settings)
        engines.append(engine)
        return make_session_factory(engine), settings

    yield make
    for engine in engines:
        engine.dispose()


def _export(path: Path) -> Path:
    """A Garmin export whose files and summaries keep running into each other."""
    days = [
        {"date": date(2025, 5, 1) + timedelta(days=i), "resting_hr": 45 + i, "steps": 9000 + i}
        for i in range(10)
    ]
    run = _run()
    t = [float(i) for i in range(900)]
    triathlon = write_activity(
        None,
        start=START + timedelta(days=5),
        legs=[
            Leg("swimming", {"timestamp": t[:300], "heart_rate": [130.0] * 300}),
            Leg("cycling", {"timestamp": t[300:], "power": [200.0] * 600}),
        ],
    )
    fit_files = [
        ("a.fit", run),
        ("a-again.fit", run),  # the same file twice: one activity, the second a duplicate
        ("a-watch.fit", _run(start=START + timedelta(seconds=20), device=("garmin", 3290))),
        *[(f"day{i}.fit", _run(start=START + timedelta(days=i))) for i in range(1, 5)],
        ("tri.fit", triathlon),
        ("cut.fit", _run(start=START + timedelta(days=6))[:-3000]),  # truncated: kept so far
        ("broken.fit", run[:14] + bytes(range(256)) * 3),  # a header, then garbage
        *[(f"late{i}.fit", _run(start=START + timedelta(days=7 + i))) for i in range(4)],
    ]
    summaries = [
        {"activity_id": 500 + i, "start": START + timedelta(days=i), "sport": "running"}
        for i in range(0, 9)
    ] + [{"activity_id": 600, "start": START + timedelta(days=2, hours=5), "sport": "yoga"}]
    build_export(path, fit_files=fit_files, days=days, activities=summaries, uploads_per_part=5)
    return path


def _state(sessions) -> dict:
    """Everything an import writes, without ids and times of writing."""
    queries = {
        "activities": (
            "SELECT a.sport, a.sub_sport, a.start_time, a.sample_count, a.elapsed_s, "
            "a.distance_m, a.name, a.device, a.multisport_index, p.start_time, a.extras "
            "FROM activity a LEFT JOIN activity p ON p.id = a.multisport_parent_id"
        ),
        "sources": (
            "SELECT a.start_time, s.source, s.source_key, s.external_id, r.sha256 "
            "FROM activity_source s JOIN activity a ON a.id = s.activity_id "
            "LEFT JOIN raw_file r ON r.id = s.raw_file_id"
        ),
        "samples": (
            "SELECT a.start_time, count(*), sum(s.heart_rate), sum(s.power), min(s.time) "
            "FROM sample s JOIN activity a ON a.id = s.activity_id GROUP BY a.start_time"
        ),
        "laps": (
            "SELECT a.start_time, l.lap_index FROM lap l JOIN activity a ON a.id = l.activity_id"
        ),
        "items": (  # by the member's own name, not the nested archive's path
            "SELECT regexp_replace(name, '^.*!/', ''), status, error_code, activities_added, "
            "activities_duplicate, samples, wellness_days, notices "
            "FROM import_item WHERE parent_id IS NOT NULL"
        ),
        "wellness": "SELECT day, resting_hr, steps, sources FROM daily_wellness",
        "metrics": (
            "SELECT a.start_time, m.load, m.max_hr_bpm, m.thresholds_used "
            "FROM activity_metrics m JOIN activity a ON a.id = m.activity_id"
        ),
    }
    with sessions() as session:
        return {
            name: sorted(tuple(map(repr, row)) for row in session.execute(text(query)))
            for name, query in queries.items()
        }


def _import(sessions, settings, path: Path):
    raws = imports.keep_paths(sessions, settings, [path])
    with sessions.begin() as session:
        job_id = imports.create_job(session, raws, origin="cli").id
    return imports.run_job(sessions, settings, job_id, workers=1)


def test_side_by_side_stores_what_one_by_one_stores(fresh, tmp_path, monkeypatch):
    export = _export(tmp_path / "export.zip")
    waited = []
    conflicts = jobs._Claim.conflicts

    def counted(self, other):
        found = conflicts(self, other)
        waited.append(found)
        return found

    monkeypatch.setattr(jobs._Claim, "conflicts", counted)
    side_by_side = fresh()
    job = _import(*side_by_side, export)
    assert job.status == "done", job.error
    assert any(waited) and not all(waited)  # some units waited for others, some did not

    monkeypatch.setattr(jobs, "STORE_WRITERS", 0)
    one_by_one = fresh()
    baseline = _import(*one_by_one, export)
    assert baseline.summary == job.summary
    expected = _state(one_by_one[0])
    assert _state(side_by_side[0]) == expected
    # 10 runs (a.fit, its copy and the watch's one activity), the triathlon's 2 legs, the yoga
    # session and day 5's summary, a run by its summary (the legs that day are no runs)
    assert len(expected["activities"]) == 14
    statuses = {row[0]: row[1] for row in expected["items"]}
    assert statuses["'a-again.fit'"] == "'duplicate'" and statuses["'broken.fit'"] == "'failed'"


def test_a_file_that_fails_while_stored_side_by_side_fails_alone(fresh, tmp_path, monkeypatch):
    export = _export(tmp_path / "export.zip")
    real = jobs.store.store_activities

    def failing(session, items, **kw):
        if items and items[0].samples is not None and items[0].start == START + timedelta(days=3):
            raise RuntimeError("a bug")  # storing day3.fit, in a writer thread
        return real(session, items, **kw)

    monkeypatch.setattr(jobs.store, "store_activities", failing)
    sessions, settings = fresh()
    job = _import(sessions, settings, export)
    assert job.status == "done"
    state = _state(sessions)
    failed = [row for row in state["items"] if row[1] == "'failed'"]
    assert sorted(row[0] for row in failed) == ["'broken.fit'", "'day3.fit'"]
    assert [row[2] for row in failed if row[0] == "'day3.fit'"] == ["'internal'"]


def test_claims_keep_apart_what_could_be_one_activity():
    from app import records

    def unit(*activities):
        decoded = records.DecodedFile(kind="activity", activities=list(activities))
        return jobs._Unit(name="x.fit", source="fit", decoded=decoded)

    def run(start, *, elapsed=600.0, key="k", source="fit"):
        return records.Activity(
            source=source, sport="running", start=start, elapsed_s=elapsed, external_id=key
        )

    item = jobs.ImportItem(id=1, name="x.fit")
    first = jobs._claim(item, unit(run(START)))
    assert first.conflicts(jobs._claim(item, unit(run(START + timedelta(days=2)))))  # same key
    other = [run(START + timedelta(days=2), key="other")]
    assert not first.conflicts(jobs._claim(item, unit(*other)))
    # another recording starting within the match window, or overlapping the first's time
    for start, elapsed in ((timedelta(seconds=-50), 60.0), (timedelta(minutes=9), 3600.0)):
        later = jobs._claim(item, unit(run(START + start, elapsed=elapsed, key="w")))
        assert first.conflicts(later) and later.conflicts(first)
    assert not first.conflicts(jobs._claim(item, jobs._Unit(name="bad.fit", source="fit")))


def test_metrics_read_the_next_batch_while_computing_one(fresh, tmp_path, monkeypatch):
    """After an import the metrics hook reads each batch of samples on a connection of its own
    while the one before is computed, the batches growing from a small first one (computing
    starts early); the metrics are those of reading them in turn."""
    from app.services.metrics import recompute

    threads = []
    sizes = []
    real = recompute.read_samples

    def recorded(session, ids):
        threads.append(threading.current_thread().name)
        sizes.append(len(ids))
        return real(session, ids)

    monkeypatch.setattr(recompute, "read_samples", recorded)
    monkeypatch.setattr(recompute, "BATCH_ACTIVITIES", 4)
    monkeypatch.setattr(recompute, "FIRST_BATCH_ACTIVITIES", 2)
    files = {
        f"r{i}.fit": _run(120, start=START + timedelta(days=i, hours=i % 5)) for i in range(13)
    }
    path = tmp_path / "runs.zip"
    path.write_bytes(_zip(files))
    sessions, settings = fresh()
    job = _import(sessions, settings, path)
    assert job.summary["activities_added"] == 13
    assert sizes == [2, 4, 4, 3]
    assert all(name.startswith("metrics-read") for name in threads)
    computed = _state(sessions)["metrics"]

    threads.clear()
    sizes.clear()
    with sessions.begin() as session:
        ids = session.execute(text("SELECT id FROM activity")).scalars().all()
        recompute.recompute_changed(session, ids)  # in turn, in this transaction
    assert sizes == [4, 4, 4, 1]
    assert not any(name.startswith("metrics-read") for name in threads)
    assert _state(sessions)["metrics"] == computed


class _HeldPool:
    """An executor whose futures finish only when the pipeline asks for their result: how many
    files are in flight is what the window allows."""

    def __init__(self) -> None:
        self.pending: list = []
        self.most = 0

    def submit(self, fn, /, *args, **kwargs):
        from concurrent.futures import Future

        future = Future()
        pool = self

        def result(timeout=None):
            if not future.done():
                future.set_result(fn(*args, **kwargs))
                pool.pending.remove(future)
            return Future.result(future, timeout)

        future.result = result  # type: ignore[method-assign]
        self.pending.append(future)
        self.most = max(self.most, len(self.pending))
        return future


@pytest.mark.parametrize(
    ("count", "byte_cap", "expected"),
    [(jobs.LOOKAHEAD_PER_WORKER, None, jobs.LOOKAHEAD_PER_WORKER), (2, 1, 1)],
    ids=["by count", "by bytes"],
)
def test_files_decode_ahead_by_count_and_by_bytes(monkeypatch, count, byte_cap, expected):
    """The decoders run ``lookahead`` files ahead of the store, and fewer when the files are
    large (``LOOKAHEAD_BYTES``); results come back in input order."""
    if byte_cap is not None:
        monkeypatch.setattr(jobs, "LOOKAHEAD_BYTES", byte_cap)
    files = [_run(60, start=START + timedelta(days=i)) for i in range(12)]
    pool = _HeldPool()
    context = jobs._Context(
        sessions=None,  # type: ignore[arg-type]
        settings=None,  # type: ignore[arg-type]
        job_id=0,
        zone=None,  # type: ignore[arg-type]
        pool=pool,  # type: ignore[arg-type]
        lookahead=count,
        progress=None,
        workers=0,
    )
    units = (
        jobs._Unit(name=f"{i}.fit", source="fit_file", data=data) for i, data in enumerate(files)
    )
    out = [unit.name for unit in jobs._decoded(context, units)]
    assert out == [f"{i}.fit" for i in range(12)]
    assert pool.most == expected
