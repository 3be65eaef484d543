"""Reference vectors for the analytics tests.

They are read from ``DOMESTIQUE_REFERENCE_DIR`` (default ``../shared/reference`` next to the
repository), so the same tests run against any vector set of the same format.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def reference_dir() -> Path:
    return Path(os.environ.get("DOMESTIQUE_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))


def load_reference(name: str) -> Any | None:
    """The parsed vector file, or None when it is absent (the caller skips)."""
    path = reference_dir() / name
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
