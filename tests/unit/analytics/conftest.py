"""Reference vectors for the analytics tests.

They are read from ``DOMESTIQUE_REFERENCE_DIR`` (default ``../shared/reference`` next to the
repository), so the same tests run against any vector set of the same format. A test whose file
is absent is skipped, never passed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


def reference_dir() -> Path:
    return Path(os.environ.get("DOMESTIQUE_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))


@pytest.fixture(scope="session")
def reference() -> Callable[[str], Any]:
    """``reference("pmc_vectors.json")`` → the parsed file, or a skip when it is absent."""

    def load(name: str) -> Any:
        path = reference_dir() / name
        if not path.is_file():
            pytest.skip(f"reference vectors {path} are not available")
        return json.loads(path.read_text(encoding="utf-8"))

    return load
