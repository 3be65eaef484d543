"""One import, end to end, in its own process: ``python -m tests.bench.run_import URL DATA
WORKERS OUT PATH...``. Writes {seconds, summary, rss_tree_peak_mb} to OUT.

Run as a child so that its peak memory is the import's own (the benchmark process holds other
groups' data), and so decoder workers are this process's children.

The app is imported inside ``main``: every decoder worker re-imports the main module (the
forkserver's workers prepare themselves from ``__main__``), and the app's own entry point
(``app.cli``) imports almost nothing at module level, so workers here start like the app's.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path


class TreeMemory:
    """Samples the memory of this process and all its descendants (the decoder workers are
    children of the forkserver, so getrusage cannot see them) every 0.1 s.

    Sums PSS (proportional set size, ``/proc/<pid>/smaps_rollup``): pages the forked workers
    share with the forkserver are counted once across the tree, not once per process, which
    is what the NAS actually has to hold. Falls back to RSS where PSS is unavailable.
    """

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree_rss_kb() -> int:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry.name)] = int(fields[1])
        tree, frontier = {os.getpid()}, [os.getpid()]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, ppid in parents.items() if ppid == parent]
            tree.update(children)
            frontier += children
        total = 0
        for pid in tree:
            for source, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
                try:
                    lines = Path(f"/proc/{pid}/{source}").read_text().splitlines()
                except OSError:
                    continue
                found = [int(line.split()[1]) for line in lines if line.startswith(key)]
                if found:
                    total += found[0]
                    break
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_mb = max(self.peak_mb, self._tree_rss_kb() / 1024)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str]) -> None:
    from app.config import Settings
    from app.db import make_engine, make_session_factory
    from app.services import imports

    url, data_dir, workers, out, *paths = argv
    settings = Settings(env="development", database_url=url, data_dir=Path(data_dir))
    engine = make_engine(settings)
    sessions = make_session_factory(engine)
    with TreeMemory() as memory:
        started = time.perf_counter()
        raws = imports.keep_paths(sessions, settings, [Path(p) for p in paths])
        with sessions.begin() as session:
            job_id = imports.create_job(session, raws, origin="cli").id
        job = imports.run_job(sessions, settings, job_id, workers=int(workers))
        seconds = time.perf_counter() - started
    engine.dispose()
    result = {
        "seconds": seconds,
        "status": job.status,
        "error": job.error,
        "summary": job.summary,
        "rss_tree_peak_mb": memory.peak_mb,
    }
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
