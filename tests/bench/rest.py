"""The stack's memory at rest, as a NAS runs it: PostgreSQL tuned the way compose.yaml has the
image tune it (``TS_TUNE_MEMORY=1GB``) and the app (one uvicorn worker) holding the ten-year
history, measured idle: right after the import (PostgreSQL's shared buffers filled by it), after
both were restarted, and after the owner then opened the main pages.

Memory is PSS (``/proc/<pid>/smaps_rollup``): a page shared by several processes (PostgreSQL's
shared buffers, the server's code) counts once in the sum, split between its users; RSS sums
would count it in every process. The page cache the database reads through is not in either.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

import httpx

from tests.bench.pages import OWNER, Server
from tests.support.postgres import TemporaryCluster

# The memory settings timescaledb-tune writes for --memory=1GB --cpus=2 (what the image's
# first start runs with TS_TUNE_MEMORY=1GB on a two-core NAS).
TUNED_1GB = """
shared_buffers = 256MB
effective_cache_size = 768MB
maintenance_work_mem = 128MB
work_mem = 1310kB
wal_buffers = 7864kB
"""
IDLE_S = 20  # background work after start (scheduler, TimescaleDB jobs) settles in this time
SMOKE_IDLE_S = 1  # the smoke run proves the harness only


def _pss_kib(pid: int) -> tuple[int, int] | None:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    values = dict(re.findall(r"^(Rss|Pss):\s+(\d+) kB", text, re.M))
    return int(values["Rss"]), int(values["Pss"])


def _children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry))
    return found


def _tree_mb(root: int) -> tuple[int, float, float]:
    """Processes, RSS sum and PSS sum (MB) of ``root`` and its children."""
    count, rss, pss = 0, 0, 0
    for pid in (root, *_children(root)):
        sizes = _pss_kib(pid)
        if sizes is not None:
            count += 1
            rss += sizes[0]
            pss += sizes[1]
    return count, round(rss / 1024, 1), round(pss / 1024, 1)


def _figures(prefix: str, postmaster: int, app: int) -> dict[str, float]:
    pg_count, pg_rss, pg_pss = _tree_mb(postmaster)
    _, app_rss, app_pss = _tree_mb(app)
    return {
        f"{prefix}_postgres_pss_mb": pg_pss,
        f"{prefix}_postgres_rss_sum_mb": pg_rss,
        f"{prefix}_postgres_processes": pg_count,
        f"{prefix}_app_pss_mb": app_pss,
        f"{prefix}_app_rss_mb": app_rss,
        f"{prefix}_total_pss_mb": round(pg_pss + app_pss, 1),
    }


def _postmaster(cluster: TemporaryCluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def memory_at_rest(cluster: TemporaryCluster, scale) -> dict[str, float]:
    """``make bench ONLY=rest``: the figures the README's requirements quote."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from app.db.migrate import upgrade
    from app.models import Activity
    from app.services.owner import account
    from tests.bench.groups import _history_export, _import_in_child, bench_data
    from tests.bench.pages import app_engine

    idle_s = IDLE_S if scale.name == "full" else SMOKE_IDLE_S
    tuned = TemporaryCluster(extra_config=TUNED_1GB).start()
    try:
        url = tuned.create_database("bench_rest")
        upgrade(url)
        export, _ = _history_export(scale)
        _import_in_child(tuned, "bench_rest", [export], url=url)
        engine = app_engine(url)
        try:
            with Session(engine) as session:
                account.create_owner(session, account.NewOwner("Bench", *OWNER, "ko", "Asia/Seoul"))
                activities = session.execute(select(func.count(Activity.id))).scalar_one()
                recent = session.execute(
                    select(Activity.id).order_by(Activity.start_time.desc()).limit(5)
                ).scalars()
                pages = ["/", "/activities", "/wellness", "/insights", "/settings"]
                pages += [f"/activities/{activity}" for activity in recent]
        finally:
            engine.dispose()
        with tempfile.TemporaryDirectory(dir=bench_data()) as scratch:
            # 1. Right after the import: its writes went through PostgreSQL's shared buffers,
            # which stay resident (the steady state of a database in use).
            server = Server(url, Path(scratch))
            try:
                time.sleep(idle_s)
                figures = _figures("rest_after_import", _postmaster(tuned), server.process.pid)
            finally:
                server.stop()
            # 2. Both restarted (a NAS reboot), idle; 3. then the owner opens the main pages.
            tuned.stop_server()
            tuned.start()
            server = Server(url, Path(scratch))
            try:
                time.sleep(idle_s)
                figures |= _figures("rest_restarted", _postmaster(tuned), server.process.pid)
                with httpx.Client(base_url=server.base, timeout=120) as client:
                    signed_in = client.post(
                        "/login", data={"username": OWNER[0], "password": OWNER[1]}
                    )
                    assert signed_in.status_code == 303, signed_in.text
                    for page in pages:
                        assert client.get(page).status_code == 200, page
                time.sleep(idle_s)
                figures |= _figures("rest_after_pages", _postmaster(tuned), server.process.pid)
            finally:
                server.stop()
    finally:
        tuned.stop()
    return {"rest_activities": activities, **figures}
