"""Importing files: FIT files, ZIPs of them, Garmin's bulk export, Apple Health exports.

Public seams: ``keep_paths`` (inputs into the raw store), ``create_job``, ``run_job``,
``resume_unfinished``, ``database_stats`` and the job readers. See ``jobs`` for the design.
"""

from app.services.imports.jobs import (
    SUMMARY_KEYS,
    create_job,
    create_upload_job,
    files_under,
    get_job,
    keep_paths,
    recent_jobs,
    resume_unfinished,
    run_job,
    summarize,
    unfinished_jobs,
)
from app.services.imports.stats import database_stats

__all__ = [
    "SUMMARY_KEYS",
    "create_job",
    "create_upload_job",
    "database_stats",
    "files_under",
    "get_job",
    "keep_paths",
    "recent_jobs",
    "resume_unfinished",
    "run_job",
    "summarize",
    "unfinished_jobs",
]
