"""Benchmark groups. Each takes the throwaway cluster and returns named figures."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from tempfile import mkdtemp

from fastapi.testclient import TestClient

from app.config import Settings
from app.db.migrate import upgrade
from app.jobs.registry import JobRegistry
from app.services import owners
from app.web.app import create_app
from tests.support.postgres import TemporaryCluster


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def web(cluster: TemporaryCluster) -> dict[str, float]:
    """Page latency in-process (ASGI, no network): the shell every page pays for."""
    url = cluster.create_database("bench_web")
    upgrade(url)
    settings = Settings(
        env="development",
        database_url=url,
        data_dir=Path(mkdtemp()),
        login_attempts_per_minute=1000,
    )
    app = create_app(settings, jobs=JobRegistry())
    figures: dict[str, float] = {}
    with TestClient(app, follow_redirects=False) as client:
        with app.state.sessions() as session:
            owners.create_owner(
                session, owners.NewOwner("Bench", "bench", "bench-password-1", "ko", "Asia/Seoul")
            )
        client.post("/login", data={"username": "bench", "password": "bench-password-1"})
        for path, key in (("/", "dashboard"), ("/settings", "settings"), ("/healthz", "healthz")):
            for _ in range(20):  # warm-up
                client.get(path)
            samples = []
            for _ in range(300):
                started = time.perf_counter()
                response = client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            figures[f"web_{key}_p50_ms"] = round(statistics.median(samples), 2)
            figures[f"web_{key}_p95_ms"] = round(_percentile(samples, 0.95), 2)
    figures["web_max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


BENCH_DATA = Path("data/bench")


def _import_in_child(
    cluster: TemporaryCluster, name: str, paths: list[Path], *, workers: int = -1
) -> dict:
    """Import ``paths`` into a fresh database in a child process (see ``run_import``).

    Memory figures use the child's sampled process-tree PSS: its ``ru_maxrss`` would start at
    this (bigger) process's peak, which Linux carries over into a forked child.
    """
    url = cluster.create_database(name)
    upgrade(url)
    with tempfile.TemporaryDirectory(dir=BENCH_DATA) as scratch:
        out = Path(scratch) / "result.json"
        argv = [sys.executable, "-m", "tests.bench.run_import", url, scratch, str(workers)]
        subprocess.run([*argv, str(out), *map(str, paths)], check=True)
        result = json.loads(out.read_text())
    if result["status"] != "done":
        raise RuntimeError(f"bench import failed: {result}")
    return result


def fit(cluster: TemporaryCluster) -> dict[str, float]:
    """FIT import end to end (parse + store) against fitparse's parse alone, same files."""
    from tests.bench.anchors import FIT_FIXTURES, fitparse_parse_records_per_s

    candidates = sorted(FIT_FIXTURES.rglob("*.fit"))
    anchor = fitparse_parse_records_per_s(candidates)
    excluded = anchor.detail["excluded"]  # files fitparse refuses: not "valid" fixtures
    valid = [p for p in candidates if str(p.relative_to(FIT_FIXTURES)) not in excluded]
    records = anchor.detail["records"]
    # Three runs into three fresh databases; the best one counts (the machine is shared).
    runs = [_import_in_child(cluster, f"bench_fit_{i}", valid) for i in range(3)]
    best = min(run["seconds"] for run in runs)
    return {
        "fit_import_records_per_s": round(records / best),
        "fitparse_parse_records_per_s": round(anchor.value),
        "fit_import_vs_fitparse": round(records / best / anchor.value, 1),
        "fit_fixture_files": len(valid),
        "fit_fixture_records": records,
    }


def history(cluster: TemporaryCluster) -> dict[str, float]:
    """Ten years (~3,000 activities, ~10 M samples, daily wellness) from a Garmin export ZIP."""
    from tests.bench.history import generate_history_export

    BENCH_DATA.mkdir(parents=True, exist_ok=True)
    export = BENCH_DATA / "garmin-export-10y-seed1.zip"
    counts = generate_history_export(export, years=10, seed=1)
    result = _import_in_child(cluster, "bench_history", [export])
    summary = result["summary"]
    return {
        "history_10y_import_s": round(result["seconds"], 1),
        # The whole process tree (app process + decoder workers), sampled every 0.1 s.
        "history_10y_peak_rss_mb": round(result["rss_tree_peak_mb"], 1),
        "history_10y_activities": summary["activities_added"],
        "history_10y_samples": summary["samples"],
        "history_10y_wellness_days": summary["wellness_days"],
        "history_10y_records_in_files": counts.get("records", 0),
    }


def apple_health(cluster: TemporaryCluster) -> dict[str, float]:
    """A generated ~500 MB export.xml: our parse + store against healthkit-to-sqlite."""
    from tests.bench.anchors import healthkit_to_sqlite_mb_per_s
    from tests.bench.gen_apple_health import write_export

    folder = BENCH_DATA / "apple-health-500mb"
    xml = folder / "export.xml"
    stamp = folder / "generated.json"
    if not stamp.exists():
        folder.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(write_export(xml, 500, seed=1), default=str))
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


GROUPS: dict[str, Callable[[TemporaryCluster], dict[str, float]]] = {
    "web": web,
    "fit": fit,
    "history": history,
    "apple_health": apple_health,
}
