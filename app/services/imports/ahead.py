"""An import's activity metrics computed while the rest of it is still being stored.

The metrics hook used to run only after the last file (``metrics.after_import``): on a large
import it read every activity's samples back, computed and stored their metrics while the
decoder workers and the writers sat idle — about a quarter of a one-year export's import, with
one of the NAS's two cores unused. :class:`MetricsAhead` computes the activities the writers
have committed, in small passes on a thread and a connection of its own, while decoding and
storing go on; the hook after the last file then computes only what is left (activities stored
or merged into after their pass) and re-checks the rest as the incremental recompute always
does.

**Why the result equals computing everything at the end.** An activity's base figures (the
curves, the sustained heart rate, the best efforts) depend on its own samples only; its other
figures depend on the thresholds resolved from the base figures of the activities on or before
its date. The final hook (``metrics.recompute_changed``) recomputes every activity touched
after its pass, then every activity from the import's earliest day whose stored thresholds
differ from the final resolution — the same rule that keeps an ordinary incremental import
equal to a full rebuild. An activity a writer merges a second recording into after its pass is
touched again (a later *generation*) and so is recomputed at the end.

**Nothing half-done survives a crash.** A pass stores its metrics as *provisional*
(``recompute.PROVISIONAL_VERSION``), which every recompute treats as missing; the final hook
confirms the ones it keeps in the same transaction that rewrites the days and estimates. An
import killed before its hook leaves them provisional, and the resumed import's hook computes
them again with the days they touch.

**It never costs a file.** A pass runs in its own short transaction with a ``lock_timeout``
(``LOCK_TIMEOUT_MS``): should it ever wait on a row a writer holds, the pass gives up long
before PostgreSQL's deadlock detector (1 s) could pick a writer as the victim. A pass that fails
for any reason ends the passes (logged); the final hook computes whatever they left. So does
another recompute holding the metrics lock (a sync's hook, the CLI): a pass never waits for it.

Only file units notify (the FIT files, the Garmin and Strava exports' members): the Apple Health
export keeps its lean memory (``apple_health_peak_rss_mb``), and the metrics module (with
scipy, ~65 MB) is imported by the first pass, not by the import.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from app.db.locks import lock_key

if TYPE_CHECKING:
    from app.services.metrics.thresholds import Thresholds

log = logging.getLogger(__name__)

PASS_ACTIVITIES = 16
"""Committed activities that start a pass (a pass reads their samples in one statement)."""
LOCK_TIMEOUT_MS = 200


class MetricsAhead:
    """Computes committed activities' metrics on a thread while an import goes on.

    ``touched(ids)`` after a writer commits; ``finish()`` after the last file: it waits for the
    pass under way and returns what the passes computed and what they did not.
    """

    def __init__(self, engine: Engine, *, pass_activities: int | None = None) -> None:
        self._sessions = sessionmaker(bind=engine, expire_on_commit=False)
        self._size = pass_activities or PASS_ACTIVITIES
        self._changed = threading.Condition()
        self._generation = 0
        self._touched: dict[int, int] = {}  # activity id -> generation of its last commit
        self._pending: dict[int, int] = {}  # touched since their last pass
        self._computed: dict[int, int] = {}  # activity id -> generation its pass saw
        self._closed = False
        self._stopped = False  # a pass failed: no more passes
        self._thresholds: Thresholds | None = None
        self.passes = 0
        self._thread = threading.Thread(target=self._run, name="import-metrics", daemon=True)
        self._thread.start()

    def touched(self, activity_ids: Iterable[int]) -> None:
        """``activity_ids`` were committed (stored, or a recording merged into them)."""
        with self._changed:
            self._generation += 1
            for ident in activity_ids:
                self._touched[ident] = self._pending[ident] = self._generation
            if len(self._pending) >= self._size:
                self._changed.notify()

    def finish(self) -> tuple[set[int], set[int]]:
        """Stop after the pass under way; returns (computed and unchanged since, left to
        compute) among the touched activities."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join()
        done = {i for i, generation in self._touched.items() if self._computed.get(i) == generation}
        return done, set(self._touched) - done

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._closed and len(self._pending) < self._size:
                    self._changed.wait()
                if self._closed or self._stopped:
                    return
                batch, self._pending = self._pending, {}
            try:
                finished = self._pass(batch)
            except Exception:  # the final hook computes what is left
                log.warning("computing metrics during the import stopped", exc_info=True)
                self._stopped = True
                return
            if not finished:  # another recompute holds the lock: the final hook waits for it
                self._stopped = True
                return
            with self._changed:
                self._computed.update(batch)

    def _pass(self, batch: dict[int, int]) -> bool:
        from app.services.metrics import recompute

        with self._sessions.begin() as session:
            locked = session.execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key("metrics")}
            ).scalar_one()
            if not locked:
                return False
            session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
            thresholds = recompute.recompute_activities(
                session, batch, thresholds=self._thresholds, provisional=True
            )
        # The resolver holds the history as committed (updated in place by each pass; after a
        # failed pass there is no other).
        self._thresholds = thresholds
        self.passes += 1
        return True
