from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.triggers.base import BaseTrigger


@dataclass(frozen=True)
class JobSpec:
    id: str
    description: str
    func: Callable[[], None]
    trigger: BaseTrigger
    # Run once at start-up when a scheduled run was missed while the app was down.
    catch_up: bool = True


class JobRegistry:
    def __init__(self) -> None:
        self._jobs: dict[str, JobSpec] = {}

    def register(self, spec: JobSpec) -> JobSpec:
        if spec.id in self._jobs:
            raise ValueError(f"job {spec.id!r} is registered twice")
        self._jobs[spec.id] = spec
        return spec

    def unregister(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)

    def get(self, job_id: str) -> JobSpec:
        return self._jobs[job_id]

    def __iter__(self):
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)


registry = JobRegistry()
