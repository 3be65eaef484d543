"""The app's maintenance state: a restore replaces the database, the raw store and perhaps the
secret key under the running app.

While it lasts:

- background work pauses. Each attached part (the import runner, the sync runner, the
  scheduler) stops taking work; what is in flight stops cleanly between two items (a sync
  between two windows or days, an import between two files, an upload pass between two
  uploads) or finishes (a recompute, one Apple Health file) before anything is swapped;
- new work is refused: the web layer answers every state-changing request with a sentence
  (``MaintenanceActive``) and every page shows a banner.

At the switch the app adopts what the restore brought (``on_switch`` hooks: the key, the session
signing key, the database pool); at the end it reloads what it keeps in memory (``on_reload``
hooks: caches, the owner's schedule) and the parts resume, each reading again from the
database what is left to do — which, after a restore, is the restored database's work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from app.config import Settings

if TYPE_CHECKING:
    from app.services.backups import RestoreResult, Switched

log = logging.getLogger(__name__)

# The restore's steps, in order (``backups.restore_backup`` reports the others).
WAITING = "waiting"
RESTORE_STEPS = (
    WAITING,
    "verify",
    "safety backup",
    "extract",
    "restore database",
    "migrate",
    "switch",
)


@dataclass(frozen=True)
class MaintenanceState:
    reason: str  # "restore"
    since: datetime
    step: str = WAITING


class MaintenanceActive(Exception):
    """New work refused: the app is in maintenance."""

    def __init__(self, state: MaintenanceState) -> None:
        super().__init__(f"maintenance under way: {state.reason}")
        self.state = state


class Pausable(Protocol):
    def pause(self) -> None:
        """Take no new work; stop what is in flight at its next clean point. Returns at once."""

    def wait_paused(self) -> None:
        """Return when nothing of this part is in flight."""

    def resume(self) -> None:
        """Take work again, reading from the database what is left to do."""


class Maintenance:
    """One per app (``app.state.maintenance``); thread-safe."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))
        self._transition = threading.Lock()  # a begin waits for an end to finish resuming
        self._changed = threading.Condition()
        self._state: MaintenanceState | None = None
        self._busy = False  # from begin until end has resumed every part
        self._parts: list[Pausable] = []
        self._switch_hooks: list[Callable[[Switched], None]] = []
        self._reload_hooks: list[Callable[[], None]] = []
        self.step_observers: list[Callable[[str], None]] = []

    # --- wiring -----------------------------------------------------------------------------

    def attach(self, part: Pausable) -> None:
        if all(known is not part for known in self._parts):
            self._parts.append(part)

    def on_switch(self, hook: Callable[[Switched], None]) -> None:
        """Called at the switch (the database, raw store and key are the backup's now)."""
        self._switch_hooks.append(hook)

    def on_reload(self, hook: Callable[[], None]) -> None:
        """Called before work resumes after a restore replaced the data."""
        self._reload_hooks.append(hook)

    # --- state ------------------------------------------------------------------------------

    @property
    def state(self) -> MaintenanceState | None:
        return self._state

    @property
    def active(self) -> bool:
        return self._state is not None

    def check(self) -> None:
        """Raise ``MaintenanceActive`` while maintenance lasts (new work is refused)."""
        state = self._state
        if state is not None:
            raise MaintenanceActive(state)

    def begin(self, reason: str) -> None:
        """Enter maintenance: refuse new work and pause every part (work in flight stops at its
        next clean point). ``MaintenanceActive`` when one is under way."""
        with self._transition:
            with self._changed:
                if self._state is not None:
                    raise MaintenanceActive(self._state)
                self._state = MaintenanceState(reason, self._now())
                self._busy = True
            log.info("maintenance begins: %s", reason)
            for part in self._parts:
                try:
                    part.pause()
                except Exception:
                    log.exception("%s did not pause", type(part).__name__)

    def step(self, name: str) -> None:
        """What the maintenance does now (shown in the banner)."""
        with self._changed:
            if self._state is not None:
                self._state = replace(self._state, step=name)
        for observer in list(self.step_observers):
            observer(name)

    def wait_quiet(self) -> None:
        """Return when no part has work in flight."""
        for part in self._parts:
            part.wait_paused()

    def switched(self, change: Switched) -> None:
        for hook in self._switch_hooks:
            try:
                hook(change)
            except Exception:
                log.exception("adopting the restored state failed")

    def end(self, *, replaced: bool) -> None:
        """Leave maintenance: reload what the app keeps in memory when the data was replaced,
        then let every part resume."""
        with self._transition:
            if replaced:
                for hook in self._reload_hooks:
                    try:
                        hook()
                    except Exception:
                        log.exception("reloading after the restore failed")
            with self._changed:
                self._state = None
            for part in self._parts:
                try:
                    part.resume()
                except Exception:
                    log.exception("%s did not resume", type(part).__name__)
            with self._changed:
                self._busy = False
                self._changed.notify_all()
            log.info("maintenance ends")

    def wait_over(self, timeout: float | None = None) -> bool:
        """Wait until no maintenance is under way (and every part has resumed)."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._busy, timeout)


def restore_in_place(
    maintenance: Maintenance,
    settings: Settings,
    path: Path,
    *,
    record: Callable[[RestoreResult | None, BaseException | None], None] | None = None,
    accept_unverified: bool = False,
) -> RestoreResult:
    """The running app's restore (Settings → Backups), after ``maintenance.begin("restore")``:
    waits until the work in flight has stopped, restores, lets the app adopt the backup's key
    and session epoch at the switch, then ends the maintenance (reloading what is kept in
    memory when the data was replaced) so that work resumes. A restore that fails changes
    nothing, and work resumes where it stopped. ``record`` is told how it ended (the result or
    the error) before the maintenance ends, so the outcome is in the database — the restored
    one when the data was replaced — by the time anything else runs."""
    from app.services import backups

    replaced = False
    result: RestoreResult | None = None
    failure: BaseException | None = None

    def switched(change: Switched) -> None:
        nonlocal replaced
        replaced = True
        maintenance.switched(change)

    try:
        maintenance.step(WAITING)
        maintenance.wait_quiet()
        result = backups.restore_backup(
            settings,
            path,
            progress=maintenance.step,
            on_switch=switched,
            in_running_app=True,
            accept_unverified=accept_unverified,
        )
        return result
    except BaseException as error:
        failure = error
        raise
    finally:
        if record is not None:
            try:
                record(result, failure)
            except Exception:
                log.exception("recording the restore failed")
        maintenance.end(replaced=replaced)
