"""Runs import jobs one after another on a background thread of the app process.

Uploads return at once; the page polls the job. At start-up, jobs a stopped process left
unfinished are queued again (``resume_unfinished`` semantics), so nothing uploaded is lost.
The app's maintenance (a restore) pauses the runner: the job in progress stops after its
current file and stays queued; on resume every unfinished job of the database — the restored
one, after a restore — is queued again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.services.imports.jobs import Progress, run_job, unfinished_jobs

log = logging.getLogger(__name__)
_STOP = -1


def _after(hook: Callable[[], object] | None) -> None:
    if hook is None:
        return
    try:
        hook()
    except Exception:
        log.exception("the after-import hook failed")


class ImportRunner:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self._queue: queue.Queue[int] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._state = threading.Condition()
        self._paused = False
        self._working = False
        self.after_job: Callable[[], object] | None = None  # e.g. queue Strava uploads
        self.progress: Progress | None = None  # told about each job's progress

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="imports", daemon=True)
        self._thread.start()
        with self.sessions() as session:
            for job_id in unfinished_jobs(session):
                log.info("import job %s was cut short; resuming it", job_id)
                self._queue.put(job_id)

    def submit(self, job_id: int) -> None:
        self._queue.put(job_id)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)

    # --- maintenance (app.services.work.maintenance) ---------------------------------------------

    def pause(self) -> None:
        """Start no job; the one in progress stops after its current file."""
        with self._state:
            self._paused = True

    def wait_paused(self) -> None:
        with self._state:
            self._state.wait_for(lambda: not self._working)

    def resume(self) -> None:
        """Run jobs again: every unfinished job in the database is queued (the ones a pause
        stopped or held back, or the restored database's own)."""
        self.wait_paused()  # a job still finishing its file would otherwise run twice
        with self.sessions() as session:
            waiting = unfinished_jobs(session)
        with self._state:
            stopping = False
            while True:  # what was queued before is in ``waiting`` if it still exists
                try:
                    stopping |= self._queue.get_nowait() == _STOP
                except queue.Empty:
                    break
            for job_id in waiting:
                self._queue.put(job_id)
            if stopping:
                self._queue.put(_STOP)
            self._paused = False

    def _interrupted(self) -> bool:
        return self._paused

    def _work(self) -> None:
        while (job_id := self._queue.get()) != _STOP:
            with self._state:
                if self._paused:  # held back: resume() queues every unfinished job again
                    continue
                self._working = True
            try:
                run_job(
                    self.sessions,
                    self.settings,
                    job_id,
                    progress=self.progress,
                    interrupt=self._interrupted,
                )
            except Exception:  # run_job records failures; this is the last line of defence
                log.exception("import job %s crashed", job_id)
            finally:
                with self._state:
                    self._working = False
                    self._state.notify_all()
            _after(self.after_job)


class InlineRunner:
    """Runs a job at once, in the caller's thread (tests; one-shot tools)."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, workers: int = 0):
        self.sessions = sessions
        self.settings = settings
        self.workers = workers
        self.after_job: Callable[[], object] | None = None

    def start(self) -> None:
        pass

    def submit(self, job_id: int) -> None:
        run_job(self.sessions, self.settings, job_id, workers=self.workers)
        _after(self.after_job)

    def stop(self, timeout: float = 0.0) -> None:
        pass

    def pause(self) -> None:
        pass

    def wait_paused(self) -> None:
        pass

    def resume(self) -> None:
        pass
