"""The material beside the repository in ``../shared`` (reference vectors, fixtures whose
licences keep them out of the repository) and what a test does when a piece of it is missing.

Outside CI and the development root a missing piece skips the tests that need it, so a bare
clone still runs its suite. With ``CI=true``, or inside the development root
(``DOMESTIQUE_DEVROOT=1``, exported by ``.devroot/inside.sh``), it fails them instead: there the
material must be present, and a skip would let a run pass that checked nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"


def required() -> bool:
    """True in CI and inside the development root: missing material fails the run."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("DOMESTIQUE_DEVROOT") == "1"


def unavailable(what: str) -> NoReturn:
    """Skip the test that needs ``what`` — or fail it, where the material is required."""
    if required():
        pytest.fail(
            f"{what} is not available, and CI and the development root require it "
            f"(the shared material belongs in {SHARED})",
            pytrace=False,
        )
    pytest.skip(f"{what} is not available")


def unavailable_param(what: str, *values: Any) -> Any:
    """The one case of a parametrized test whose inputs are missing: it skips or fails like
    ``unavailable`` when it runs (marker ``unavailable``, see ``tests/conftest.py``)."""
    return pytest.param(*values, marks=pytest.mark.unavailable(what), id="unavailable")
