"""Page latency under concurrent clients: the app served by uvicorn in its own process on
loopback (as on the NAS, one worker), several client threads in this process, each with its own
keep-alive connection and the owner's session cookie."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from sqlalchemy import Engine

OWNER = ("bench", "bench-password-1")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "DOMESTIQUE_ENV": "development",
            "DOMESTIQUE_DATABASE_URL": database_url,
            "DOMESTIQUE_DATA_DIR": str(data_dir),
            "DOMESTIQUE_LOGIN_ATTEMPTS_PER_MINUTE": "10000",
            "DOMESTIQUE_LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "app.web.app:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log",
                "--log-level", "warning",
            ],
            env=env,
        )  # fmt: skip
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the bench server did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def load(
    base: str, paths: list[str], *, clients: int = 4, per_client: int = 50
) -> dict[str, float]:
    """``clients`` threads each GET the paths round-robin ``per_client`` times after a warm-up;
    latency percentiles and throughput over all requests."""

    def client() -> httpx.Client:
        session = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
        response = session.post("/login", data={"username": OWNER[0], "password": OWNER[1]})
        assert response.status_code == 303, response.text
        for path in paths:  # warm-up
            session.get(path)
        return session

    sessions = [client() for _ in range(clients)]
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    def work(session: httpx.Client) -> None:
        mine = []
        for i in range(per_client):
            path = paths[i % len(paths)]
            started = time.perf_counter()
            response = session.get(path)
            mine.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                failures.append(f"{path}: {response.status_code}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work, args=(s,)) for s in sessions]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for session in sessions:
        session.close()
    if failures:
        raise RuntimeError(f"bench requests failed: {failures[:3]}")
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "rps": round(len(latencies) / elapsed, 1),
    }


def first_request_ms(base: str, path: str) -> float:
    """One signed-in GET, timed: on a fresh server this is the uncached (cold) cost."""
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as session:
        response = session.post("/login", data={"username": OWNER[0], "password": OWNER[1]})
        assert response.status_code == 303, response.text
        started = time.perf_counter()
        response = session.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, path
    return round(elapsed, 1)


def app_engine(url: str) -> Engine:
    """The app's own engine on ``url`` (``app.db.make_engine``: its connection settings, JIT
    off among them): a bench that queries the database itself measures what the app would."""
    from app.config import Settings
    from app.db import make_engine

    return make_engine(Settings(env="development", database_url=url))
