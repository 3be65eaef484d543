"""``reference("pmc_vectors.json")``: the parsed vector file; when it is absent the test skips,
or fails in CI and inside the development root."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.reference import load_reference, reference_dir
from tests.support.shared import unavailable


@pytest.fixture(scope="session")
def reference() -> Callable[[str], Any]:
    def load(name: str) -> Any:
        data = load_reference(name)
        if data is None:
            unavailable(f"reference vectors {reference_dir() / name}")
        return data

    return load
