"""Reference vectors for the analytics tests.

They are read from ``DOMESTIQUE_REFERENCE_DIR`` (default ``../shared/reference`` next to the
repository), so the same tests run against any vector set of the same format. A missing file
skips its tests, or fails them in CI and inside the development root (``tests.support.shared``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.support.shared import SHARED, unavailable_param


def reference_dir() -> Path:
    return Path(os.environ.get("DOMESTIQUE_REFERENCE_DIR", SHARED / "reference"))


def missing_vectors(name: str, *values: Any) -> list[Any]:
    """The parameter list of a test whose vector file is absent: one case that skips, or fails
    where the vectors are required."""
    return [unavailable_param(f"reference vectors {reference_dir() / name}", *values)]


def load_reference(name: str) -> Any | None:
    """The parsed vector file, or None when it is absent (the caller uses ``missing_vectors``
    or ``tests.support.shared.unavailable``)."""
    path = reference_dir() / name
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
