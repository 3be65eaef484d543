"""``reference("pmc_vectors.json")``: the parsed vector file, or a skip when it is absent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.reference import load_reference, reference_dir


@pytest.fixture(scope="session")
def reference() -> Callable[[str], Any]:
    def load(name: str) -> Any:
        data = load_reference(name)
        if data is None:
            pytest.skip(f"reference vectors {reference_dir() / name} are not available")
        return data

    return load
