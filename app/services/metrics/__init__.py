"""Training metrics, stored: per activity, per day and athlete estimates (issue 5).

Public seams: ``recompute_activity``, ``recompute_days``, ``recompute_all``, ``after_import``
(called when an import job or a sync run finishes) and ``recompute_changed``. The science is
in ``app.analytics``; this package reads samples, resolves thresholds by date, and writes.
"""

from app.services.metrics.compute import ALGORITHM_VERSION
from app.services.metrics.recompute import (
    RecomputeResult,
    after_import,
    recompute_activities,
    recompute_activity,
    recompute_all,
    recompute_changed,
    recompute_days,
    recompute_estimates,
)

__all__ = [
    "ALGORITHM_VERSION",
    "RecomputeResult",
    "after_import",
    "recompute_activities",
    "recompute_activity",
    "recompute_all",
    "recompute_changed",
    "recompute_days",
    "recompute_estimates",
]
