"""One import, end to end, in its own process: ``python -m tests.bench.run_import URL DATA
WORKERS OUT PATH...``. Writes {seconds, summary, rss_main_mb, rss_workers_mb} to OUT.

Run as a child so that its peak memory is the import's own (the benchmark process holds other
groups' data), and so decoder workers are this process's children.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from app.config import Settings
from app.db import make_engine, make_session_factory
from app.services import imports


def main(argv: list[str]) -> None:
    url, data_dir, workers, out, *paths = argv
    settings = Settings(env="development", database_url=url, data_dir=Path(data_dir))
    engine = make_engine(settings)
    sessions = make_session_factory(engine)
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
        "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
