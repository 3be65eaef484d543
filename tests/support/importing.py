"""Importing files in tests the way the Import page does (kept in the raw store, one job)."""

from __future__ import annotations

from app.models import ImportJob
from app.services import imports


def import_files(sessions, settings, files: dict[str, bytes], *, check: bool = True) -> ImportJob:
    """Import ``files`` (name → bytes) as one job; ``check``: the job must end ``done``."""
    folder = settings.data_dir / "incoming-test"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    raws = imports.keep_paths(sessions, settings, paths)
    with sessions.begin() as session:
        job_id = imports.create_job(session, raws, origin="cli").id
    job = imports.run_job(sessions, settings, job_id, workers=0)
    if check:
        assert job.status == "done", job.error
    return job
