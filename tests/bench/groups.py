"""Benchmark groups. Each takes the throwaway cluster and a ``Scale`` and returns named figures.

``FULL`` is the scale the README's figures and the issues' targets are measured at; ``SMOKE``
runs every group on tiny inputs in a few minutes so that CI proves the harness still works on a
fresh clone (its figures mean nothing). Every group creates the folders it writes to.
"""

from __future__ import annotations

import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from tempfile import mkdtemp

from fastapi.testclient import TestClient

from app.config import Settings
from app.db.migrate import upgrade
from app.jobs.registry import JobRegistry
from app.services.owner import account
from app.web.app import create_app
from tests.bench.coach import coach
from tests.bench.devices import devices
from tests.bench.library import library_bench
from tests.bench.pages import app_engine, percentile
from tests.bench.rest import memory_at_rest
from tests.support.postgres import TemporaryCluster

BENCH_DATA = Path("data/bench")


@dataclass(frozen=True)
class Scale:
    name: str
    web_requests: int  # timed requests per page (after a warm-up of a tenth of that)
    runs: int  # runs of the FIT and history groups (anchors measured in each); the median counts
    fit_files: int | None  # None: every fixture fitparse accepts; else the first N of them
    history_years: int  # the generated Garmin-export history (~300 activities a year)
    apple_health_mb: int  # size of the generated export.xml
    page_requests: int  # requests per client per page in the concurrent page load
    wellness_days: int  # days of daily wellness per source


FULL = Scale("full", 300, 3, None, 10, 500, 40, 3650)
SMOKE = Scale("smoke", 10, 1, 4, 1, 3, 2, 60)


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def bench_data() -> Path:
    """The folder the groups keep generated inputs and scratch space in (created here: a fresh
    clone has no ``data/bench``)."""
    BENCH_DATA.mkdir(parents=True, exist_ok=True)
    return BENCH_DATA


def web(cluster: TemporaryCluster, scale: Scale) -> dict[str, float]:
    """Page latency in-process (ASGI, no network): the shell every page pays for."""
    url = cluster.create_database("bench_web")
    upgrade(url)
    settings = Settings(
        env="development",
        database_url=url,
        data_dir=Path(mkdtemp()),
        login_attempts_per_minute=1000,
        allowed_hosts="testserver",  # the host name TestClient sends
    )
    app = create_app(settings, jobs=JobRegistry())
    figures: dict[str, float] = {}
    with TestClient(app, follow_redirects=False) as client:
        with app.state.sessions() as session:
            account.create_owner(
                session, account.NewOwner("Bench", "bench", "bench-password-1", "ko", "Asia/Seoul")
            )
        client.post("/login", data={"username": "bench", "password": "bench-password-1"})
        for path, key in (("/", "dashboard"), ("/settings", "settings"), ("/healthz", "healthz")):
            for _ in range(max(1, scale.web_requests // 10)):  # warm-up
                client.get(path)
            samples = []
            for _ in range(scale.web_requests):
                started = time.perf_counter()
                response = client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            figures[f"web_{key}_p50_ms"] = round(statistics.median(samples), 2)
            figures[f"web_{key}_p95_ms"] = round(percentile(samples, 0.95), 2)
    figures["web_max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


def _import_in_child(
    cluster: TemporaryCluster,
    name: str,
    paths: list[Path],
    *,
    workers: int = -1,
    url: str | None = None,
) -> dict:
    """Import ``paths`` into a fresh database in a child process (see ``run_import``).

    Memory figures use the child's sampled process-tree PSS: its ``ru_maxrss`` would start at
    this (bigger) process's peak, which Linux carries over into a forked child.
    """
    if url is None:
        url = cluster.create_database(name)
        upgrade(url)
    with tempfile.TemporaryDirectory(dir=bench_data()) as scratch:
        out = Path(scratch) / "result.json"
        argv = [sys.executable, "-m", "tests.bench.run_import", url, scratch, str(workers)]
        subprocess.run([*argv, str(out), *map(str, paths)], check=True)
        result = json.loads(out.read_text())
    if result["status"] != "done":
        raise RuntimeError(f"bench import failed: {result}")
    return result


def fit(cluster: TemporaryCluster, scale: Scale) -> dict[str, float | list[float]]:
    """FIT import end to end (parse + store + the import's metrics) against fitparse's parse
    alone, same files, with fitfast's full parse as the ceiling. ``scale.runs`` runs, each
    measuring both anchors and then importing into a fresh database; the machine is shared, so
    only figures from one run compare, and the medians of the runs are reported (each run's
    ratio in ``fit_import_vs_fitparse_runs``)."""
    from tests.bench.anchors import (
        FIT_FIXTURES,
        fitfast_parse_records_per_s,
        fitparse_parse_records_per_s,
    )

    candidates = sorted(FIT_FIXTURES.rglob("*.fit"))
    if scale.fit_files is not None:  # the smallest few
        candidates = sorted(candidates, key=lambda p: p.stat().st_size)[: scale.fit_files]
    ours, anchors, ceilings, ratios = [], [], [], []
    records = files = 0
    for run in range(scale.runs):
        anchor = fitparse_parse_records_per_s(candidates)
        excluded = anchor.detail["excluded"]  # files fitparse refuses: not "valid" fixtures
        valid = [p for p in candidates if str(p.relative_to(FIT_FIXTURES)) not in excluded]
        records, files = anchor.detail["records"], len(valid)
        ceiling = fitfast_parse_records_per_s(valid)
        result = _import_in_child(cluster, f"bench_fit_{run}", valid)
        rate = records / result["seconds"]
        ours.append(rate)
        anchors.append(anchor.value)
        ceilings.append(ceiling.value)
        ratios.append(rate / anchor.value)
    return {
        "fit_import_records_per_s": round(_median(ours)),
        "fitparse_parse_records_per_s": round(_median(anchors)),
        "fitfast_parse_records_per_s": round(_median(ceilings)),
        "fit_import_vs_fitparse": round(_median(ratios), 1),
        "fit_import_vs_fitparse_runs": [round(r, 1) for r in ratios],
        "fit_import_records_per_s_runs": [round(r) for r in ours],
        "fitparse_parse_records_per_s_runs": [round(r) for r in anchors],
        "fit_import_vs_fitfast_parse": round(_median(ours) / _median(ceilings), 2),
        "fit_fixture_files": files,
        "fit_fixture_records": records,
    }


def _history_export(scale: Scale) -> tuple[Path, dict[str, int]]:
    """The generated Garmin export of ``scale.history_years`` (reused when already written)."""
    from tests.bench.history import generate_history_export

    years = scale.history_years
    export = bench_data() / f"garmin-export-{years}y-seed1.zip"
    return export, generate_history_export(export, years=years, seed=1)


def history(cluster: TemporaryCluster, scale: Scale) -> dict[str, float | list[float]]:
    """Ten years (~3,000 activities, ~10 M samples, daily wellness) from a Garmin export ZIP,
    the import's own metrics included: ``scale.runs`` runs into fresh databases, the median time
    reported (each run's in ``history_10y_import_s_runs``) and the highest peak of memory."""
    export, counts = _history_export(scale)
    results = [
        _import_in_child(cluster, f"bench_history_{run}", [export]) for run in range(scale.runs)
    ]
    seconds = [result["seconds"] for result in results]
    summary = results[0]["summary"]
    return {
        "history_10y_import_s": round(_median(seconds), 1),
        "history_10y_import_s_runs": [round(s, 1) for s in seconds],
        # The whole process tree (app process + decoder workers), sampled every 0.1 s; the
        # highest of the runs.
        "history_10y_peak_rss_mb": round(max(r["rss_tree_peak_mb"] for r in results), 1),
        "history_10y_activities": summary["activities_added"],
        "history_10y_samples": summary["samples"],
        "history_10y_wellness_days": summary["wellness_days"],
        "history_10y_records_in_files": counts.get("records", 0),
    }


def apple_health(cluster: TemporaryCluster, scale: Scale) -> dict[str, float]:
    """A generated ~500 MB export.xml: our parse + store against healthkit-to-sqlite."""
    from tests.bench.anchors import healthkit_to_sqlite_mb_per_s
    from tests.bench.gen_apple_health import write_export

    folder = bench_data() / f"apple-health-{scale.apple_health_mb}mb"
    xml = folder / "export.xml"
    stamp = folder / "generated.json"
    if not stamp.exists():
        folder.mkdir(parents=True, exist_ok=True)
        written = write_export(xml, scale.apple_health_mb, seed=1)
        stamp.write_text(json.dumps(written, default=str))
    megabytes = xml.stat().st_size / 1e6
    result = _import_in_child(cluster, "bench_apple", [xml])
    anchor = healthkit_to_sqlite_mb_per_s(xml, folder / "anchor")
    ours = megabytes / result["seconds"]
    return {
        "apple_health_mb": round(megabytes, 1),
        "apple_health_mb_per_s": round(ours, 1),
        "apple_health_peak_rss_mb": round(result["rss_tree_peak_mb"], 1),
        "apple_health_health_samples": result["summary"]["health_samples"],
        "healthkit_to_sqlite_mb_per_s": round(anchor.value, 1),
        "apple_health_vs_healthkit_to_sqlite": round(ours / anchor.value, 1),
    }


def _best_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def metrics(cluster: TemporaryCluster, scale: Scale) -> dict[str, float]:
    """Training metrics on the ten-year history: full and incremental recompute, sample reads,
    the PMC and the correlation matrix."""
    from datetime import UTC, datetime, timedelta

    import numpy as np
    from sqlalchemy import func, select, text

    from app.analytics import pmc
    from app.models import Activity, DailyMetrics
    from app.services import imports
    from app.services import metrics as metrics_service
    from app.services.metrics.samples import read_samples
    from tests.bench.history import HISTORY_END
    from tests.support.fitwriter import write_activity

    export, _ = _history_export(scale)
    url = cluster.create_database("bench_metrics")
    upgrade(url)
    with tempfile.TemporaryDirectory(dir=bench_data()) as scratch:
        engine = app_engine(url)
        from sqlalchemy.orm import sessionmaker

        sessions = sessionmaker(bind=engine, expire_on_commit=False)
        with sessions() as session:
            account.create_owner(
                session, account.NewOwner("Bench", "bench", "bench-password-1", "ko", "Asia/Seoul")
            )
        # The import's own hook computes everything once (part of history_10y_import_s).
        imported = _import_in_child(cluster, "bench_metrics", [export], url=url)
        figures: dict[str, float] = {
            "history_10y_import_with_metrics_s": round(imported["seconds"], 1)
        }
        # The figures below are of a settled database: what autovacuum does in the minutes
        # after a big import (vacuuming and analysing ~120 new chunks on one of two cores)
        # would otherwise land on whichever figure happens to run beside it.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
        with sessions() as session:
            ids = list(session.execute(select(Activity.id).order_by(Activity.id)).scalars())
            started = time.perf_counter()
            rows = 0
            for lo in range(0, len(ids), 100):
                rows += sum(len(s) for s in read_samples(session, ids[lo : lo + 100]).values())
            seconds = time.perf_counter() - started
        figures["metrics_read_samples_s"] = round(seconds, 2)
        figures["metrics_read_samples_rows_per_s"] = round(rows / seconds)

        started = time.perf_counter()
        full = metrics_service.recompute_all(sessions)
        figures["recompute_full_s"] = round(time.perf_counter() - started, 1)
        figures["recompute_full_activities"] = full.activities

        # One new ride the day after the history ends, imported like any file (its hook
        # computes it), then the incremental recompute timed on its own.
        day = HISTORY_END + timedelta(days=1)
        t = np.arange(5400, dtype=float)
        ride = write_activity(
            None,
            sport="cycling",
            start=datetime(day.year, day.month, day.day, 0, 0, tzinfo=UTC),
            samples={
                "power": 210 + 40 * np.sin(t / 300),
                "heart_rate": 135 + 10 * np.sin(t / 400),
                "speed": np.full(t.size, 8.5),
                "distance": 8.5 * t,
                "altitude": 40 + 20 * np.sin(t / 900),
                "cadence": np.full(t.size, 88.0),
            },
        )
        path = Path(scratch) / "new-ride.fit"
        path.write_bytes(ride)
        settings = Settings(env="development", database_url=url, data_dir=Path(scratch))
        raws = imports.keep_paths(sessions, settings, [path])
        with sessions.begin() as session:
            job_id = imports.create_job(session, raws, origin="cli").id
        started = time.perf_counter()
        imports.run_job(sessions, settings, job_id, workers=0)
        figures["import_one_activity_with_metrics_s"] = round(time.perf_counter() - started, 2)
        with sessions() as session:
            new_id = session.execute(select(func.max(Activity.id))).scalar_one()
        started = time.perf_counter()
        result = metrics_service.after_import(sessions, [new_id])
        figures["recompute_incremental_s"] = round(time.perf_counter() - started, 3)
        assert result is not None and result.activities == 1, result

        with sessions() as session:
            loads = np.array(
                session.execute(select(DailyMetrics.load).order_by(DailyMetrics.day))
                .scalars()
                .all()
            )
        figures["pmc_days"] = int(loads.size)
        figures["pmc_10y_ms"] = round(_best_ms(lambda: pmc.pmc(loads), 50), 3)

        # "What is working" as the Insights page computes it: the daily frame from the
        # database and every gated finding over 16 inputs x 6 outcomes x 8 lags.
        from app.services.pages import correlations

        def what_is_working() -> object:
            with sessions() as session:
                return correlations.what_is_working(correlations.build_frame(session, day))

        figures["correlations_inputs"] = len(correlations.INPUTS)
        figures["correlations_outcomes"] = len(correlations.OUTCOMES)
        figures["correlations_lags"] = len(correlations.LAGS)
        figures["correlations_ms"] = round(_best_ms(what_is_working, 3), 1)

        # What the coach sees: the context snapshot on the ten-year history (target 50 ms). The
        # first build of a data version computes the findings (kept, as the Insights page does).
        from app.services.coach.context import build_snapshot

        def coach_context() -> object:
            with sessions() as session:
                return build_snapshot(session, today=day)

        figures["coach_context_cold_ms"] = round(_best_ms(coach_context, 1), 1)
        figures["coach_context_ms"] = round(_best_ms(coach_context, 10), 1)
        figures["coach_context_bytes"] = coach_context().size_bytes

        figures |= _planner_on_history(sessions, day)

        # The owner's pages on the ten-year history under 4 concurrent clients, served by
        # uvicorn in its own process (one worker, as on the NAS).
        from tests.bench.pages import Server, first_request_ms, load

        with sessions() as session:
            longest = session.execute(
                select(Activity.id).order_by(Activity.sample_count.desc()).limit(1)
            ).scalar_one()
        server = Server(url, Path(scratch))
        try:
            # Insights computes its statistics once per data version; the first request pays.
            figures["insights_cold_ms"] = first_request_ms(server.base, "/insights")
            for key, path in (
                ("dashboard", "/"),
                ("activities", "/activities"),
                ("activity_detail", f"/activities/{longest}"),
                ("insights", "/insights"),
                ("wellness", "/wellness"),
                ("plan_page", "/plan"),
                ("calendar", "/calendar"),
                ("missions", "/missions"),
            ):
                figures |= {
                    f"{key}_{name}": value
                    for name, value in load(
                        server.base, [path], clients=4, per_client=scale.page_requests
                    ).items()
                }
        finally:
            server.stop()

        # Backup and restore of the whole ten-year install (database dump and raw store).
        from app.services import backups

        install = Settings(
            env="development",
            database_url=url,
            data_dir=Path(scratch),
            backup_dir=Path(scratch) / "backups",
        )
        # The import's own raw store lived in its child's scratch folder: put the original back,
        # as an install that imported the export keeps it.
        kept = install.raw_dir / "ex" / export.name
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(export, kept)
        started = time.perf_counter()
        made = backups.make_backup(install)
        figures["backup_10y_s"] = round(time.perf_counter() - started, 1)
        figures["backup_10y_mb"] = round(made.size / 1e6, 1)
        started = time.perf_counter()
        restored = backups.restore_backup(install, made.path)
        figures["restore_10y_s"] = round(time.perf_counter() - started, 1)
        assert restored.after["sample"] == restored.before["sample"], "restore lost samples"
        engine.dispose()
    return figures


def wellness(cluster: TemporaryCluster, scale: Scale) -> dict[str, float]:
    """Ten years of daily wellness from two sources (Garmin and Oura): merging each, a
    re-import that changes nothing, the owner switching a metric group's source (every day
    resolved again) and the Settings section's per-source day counts."""
    from datetime import date, timedelta

    from sqlalchemy.orm import Session

    from app import records
    from app.services.imports import store
    from app.services.wellness import origins

    url = cluster.create_database("bench_wellness")
    upgrade(url)
    engine = app_engine(url)
    days = [date(2016, 1, 1) + timedelta(days=i) for i in range(scale.wellness_days)]
    values = {
        "garmin": {"sleep_s": 25200.0, "sleep_score": 81.0, "resting_hr": 47.0, "steps": 9000.0,
                   "hrv_rmssd_ms": 55.0, "stress_avg": 30.0, "body_battery_high": 90.0},
        "oura": {"sleep_s": 26100.0, "resting_hr": 44.0, "hrv_rmssd_ms": 61.0, "steps": 8000.0,
                 "training_readiness": 77.0, "spo2_avg": 96.0},
    }  # fmt: skip
    figures: dict[str, float] = {}
    try:
        with Session(engine) as session:
            account.create_owner(
                session, account.NewOwner("Bench", "bench", "bench-password-1", "ko", "Asia/Seoul")
            )
        for source in ("garmin", "oura"):
            entries = [
                records.DailyWellness(day, source, values[source], extras={"n": 1}) for day in days
            ]
            started = time.perf_counter()
            with Session(engine) as session, session.begin():
                store.merge_wellness(session, entries)
            figures[f"wellness_merge_10y_{source}_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            assert store.merge_wellness(session, entries) == []
        figures["wellness_remerge_10y_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            changed = origins.save_preference(session, {"sleep": "oura", "heart": "oura"})
        figures["wellness_preference_switch_10y_s"] = round(time.perf_counter() - started, 2)
        assert len(changed) == len(days)
        with Session(engine) as session:
            figures["wellness_settings_choices_ms"] = round(
                _best_ms(lambda: origins.choices(session), 5), 1
            )
    finally:
        engine.dispose()
    return figures


GROUPS: dict[str, Callable[[TemporaryCluster, Scale], Mapping[str, object]]] = {
    "web": web,
    "fit": fit,
    "history": history,
    "apple_health": apple_health,
    "metrics": metrics,
    "wellness": wellness,
    "rest": memory_at_rest,
    "coach": coach,
    "devices": devices,
    "library": library_bench,
}


def _planner_on_history(sessions, day) -> dict[str, float]:
    """The planner and the daily coach on the ten-year history: a two-year plan (104 weeks of
    the standard week, about 700 workouts) ending at the history's last day, checked by the
    guardrails against the owner's data (``plan_guardrails_10y_ms``), approved, and every
    workout matched to the activities (``plan_match_10y_s``); then one daily run without the
    language model's own latency (``coach_day_ms``: the day read, the context snapshot, the
    safety rules on a pushed decision) for a mission under way."""
    from datetime import UTC, datetime, timedelta

    from app.coach.decision import Decision, apply_safety
    from app.coach.missions import MissionState
    from app.coach.plans import Plan
    from app.services import missions
    from app.services.coach import day as coach_day
    from app.services.coach.context import build_snapshot
    from app.services.plans import follow, revisions
    from tests.support.missions import tour_mission
    from tests.support.plans import uniform_plan

    figures: dict[str, float] = {}
    start = day - timedelta(weeks=104)
    start -= timedelta(days=start.weekday())
    plan = Plan.model_validate(uniform_plan(["build"] * 104, start=start))
    figures["plan_10y_workouts"] = len(plan.workouts)

    def check() -> object:
        return revisions.check(sessions, plan, today=start)

    figures["plan_guardrails_10y_ms"] = round(_best_ms(check, 3), 1)
    stored = revisions.import_plan(sessions, plan, today=start)
    revisions.approve(sessions, stored.revision_id, accept_blocks=True, today=start)
    started = time.perf_counter()
    follow.follow_up(sessions, today=day)
    figures["plan_match_10y_s"] = round(time.perf_counter() - started, 2)

    mission = tour_mission(
        prep_start=day - timedelta(days=60),
        event_start=day + timedelta(days=30),
        event_end=day + timedelta(days=52),
        stages=[],
    )
    mission_id = missions.import_mission(sessions, mission.model_dump(mode="json"))
    moment = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    missions.move(sessions, mission_id, MissionState.TRAINING, now_utc=moment)

    def daily_run() -> object:
        with sessions() as session:
            context = coach_day.decision_snapshot(session, day, moment)
            build_snapshot(session, today=day)
        pushed = Decision(day=day, action="push", reason="Bench.", intensity="high", confidence=0.7)
        return apply_safety(pushed, context.snapshot, constraints=mission.constraints)

    figures["coach_day_ms"] = round(_best_ms(daily_run, 5), 1)
    return figures
