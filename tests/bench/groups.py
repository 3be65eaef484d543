"""Benchmark groups. Each takes the throwaway cluster and returns named figures."""

from __future__ import annotations

import resource
import statistics
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


GROUPS: dict[str, Callable[[TemporaryCluster], dict[str, float]]] = {"web": web}
