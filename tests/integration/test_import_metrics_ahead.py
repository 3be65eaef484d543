"""An import computes its activities' metrics while it is still storing files
(``app.services.imports.ahead``). Whatever the order the files come in, a second recording
merged into an activity after its pass, or an import cut short before its hook, the stored
metrics, daily series and estimates must be exactly what a full rebuild gives.

Each test imports into fresh databases of its own (the writers and the passes commit for real).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import ClassVar

import numpy as np
import pytest
from sqlalchemy import select, text

from app.models import ActivityMetrics
from app.services import imports, metrics
from app.services.imports import ahead, jobs
from app.services.metrics.recompute import PROVISIONAL_VERSION
from tests.integration.test_import_writers import fresh  # noqa: F401 (fixture)
from tests.integration.test_imports import START, _run
from tests.support.fitwriter import write_activity
from tests.support.garmin_export import build_export


def _ride(day: int, watts: float) -> bytes:
    t = np.arange(1800, dtype=float)
    return write_activity(
        None,
        sport="cycling",
        start=START + timedelta(days=day, hours=2),
        samples={
            "power": watts + 30 * np.sin(t / 120),
            "heart_rate": 110 + watts / 5 + 8 * np.sin(t / 300),
            "speed": np.full(t.size, 8.0),
            "distance": 8.0 * t,
            "cadence": np.full(t.size, 90.0),
        },
    )


def _export(path):
    """Rides and runs whose best efforts rise with their dates, stored latest first (each file
    moves the estimates of the ones stored before it), and a second recording of the first run
    at the very end (merged into an activity a pass has already computed)."""
    files = []
    for day in range(40, 0, -3):
        files.append((f"ride{day}.fit", _ride(day, 150 + 3 * day)))
        files.append((f"run{day}.fit", _run(900 + 20 * day, start=START + timedelta(days=day))))
    files.append(
        (
            "run1-watch.fit",
            _run(900, start=START + timedelta(days=1, seconds=20), device=("garmin", 3290)),
        )
    )
    build_export(path, fit_files=files, days=[], activities=[], uploads_per_part=4)
    return path


_STATE = {
    "activity_metrics": (
        "SELECT a.start_time, to_jsonb(m) - 'computed_at' - 'activity_id' "
        "FROM activity_metrics m JOIN activity a ON a.id = m.activity_id"
    ),
    "daily_metrics": "SELECT to_jsonb(d) - 'computed_at' FROM daily_metrics d",
    "athlete_estimate": "SELECT kind, day, value, inputs FROM athlete_estimate",
}


def _state(sessions) -> dict:
    with sessions() as session:
        return {
            name: sorted(tuple(map(repr, row)) for row in session.execute(text(query)))
            for name, query in _STATE.items()
        }


class _Counted(ahead.MetricsAhead):
    """Counts its passes and lets a test wait for the first one (an event, not a sleep)."""

    made: ClassVar[list[_Counted]] = []
    size = 2

    def __init__(self, engine, **kw) -> None:
        self.first_pass = threading.Event()
        super().__init__(engine, pass_activities=self.size)
        _Counted.made.append(self)

    def _pass(self, batch):
        finished = super()._pass(batch)
        self.first_pass.set()
        return finished


@pytest.fixture
def counted(monkeypatch):
    _Counted.made = []
    monkeypatch.setattr(_Counted, "size", 2)
    monkeypatch.setattr(jobs, "MetricsAhead", _Counted)
    return _Counted.made


def _job(sessions, settings, path):
    raws = imports.keep_paths(sessions, settings, [path])
    with sessions.begin() as session:
        return imports.create_job(session, raws, origin="cli").id


def test_metrics_computed_during_the_import_equal_a_full_rebuild(fresh, tmp_path, counted):  # noqa: F811
    sessions, settings = fresh()
    job = imports.run_job(
        sessions, settings, _job(sessions, settings, _export(tmp_path / "e.zip")), workers=1
    )
    assert job.status == "done", job.error
    assert len(counted) == 1 and counted[0].passes >= 3  # the import did compute ahead
    stored = _state(sessions)
    with sessions() as session:
        versions = set(session.execute(select(ActivityMetrics.algorithm_version)).scalars())
    assert versions == {metrics.ALGORITHM_VERSION}  # every provisional row was confirmed
    assert len(stored["activity_metrics"]) == 28  # 14 rides, 14 runs (the watch's merged)

    metrics.recompute_all(sessions)
    assert _state(sessions) == stored


def test_an_import_cut_short_leaves_its_metrics_to_the_resumed_import(fresh, tmp_path, counted):  # noqa: F811
    sessions, settings = fresh()
    job_id = _job(sessions, settings, _export(tmp_path / "e.zip"))
    _Counted.size = 1  # a pass as soon as the first file is stored

    def stop_after_a_pass() -> bool:  # asked after the first file is handed to a writer
        return counted[0].first_pass.wait(timeout=60)

    job = imports.run_job(sessions, settings, job_id, workers=1, interrupt=stop_after_a_pass)
    assert job.status == "queued"
    with sessions() as session:
        versions = list(session.execute(select(ActivityMetrics.algorithm_version)).scalars())
        days = session.execute(text("SELECT count(*) FROM daily_metrics")).scalar_one()
    # what the pass computed is there, provisional, and no day was written from it
    assert versions and set(versions) == {PROVISIONAL_VERSION}
    assert days == 0

    job = imports.run_job(sessions, settings, job_id, workers=1)
    assert job.status == "done", job.error
    stored = _state(sessions)
    assert len(stored["activity_metrics"]) == 28
    metrics.recompute_all(sessions)
    assert _state(sessions) == stored
