"""Every FIT file the tests write, kept for the test that decodes them through both FIT paths.

A pytest plugin (``pytest_plugins`` in ``tests/conftest.py``). While the session runs, each file
``tests.support.fitwriter.write_activity`` encodes is kept once (by content) with the test that
first wrote it. Tests marked ``after_fit_writers`` run after every other test of the session, so
they see every file the selected tests wrote (``written()``).

Files over ``MAX_BYTES`` are counted but not kept: the writer's own speed test encodes a million
records, which the tolerant path (pure Python) would take most of a minute to read.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import pytest

from tests.support import fitwriter

MAX_BYTES = 4_000_000
MARKER = "after_fit_writers"


@dataclass(frozen=True)
class Written:
    data: bytes
    test: str  # the node id of the test that first wrote it ("" outside a test)


_kept: dict[str, Written] = {}
_too_big: list[str] = []


def _keep(blob: bytes) -> None:
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    if len(blob) > MAX_BYTES:
        _too_big.append(test)
        return
    digest = hashlib.sha256(blob).hexdigest()
    if digest not in _kept:
        _kept[digest] = Written(blob, test)


def written() -> list[Written]:
    """The files written so far in this session, in the order first written."""
    return list(_kept.values())


def too_big() -> list[str]:
    """The tests that wrote a file over ``MAX_BYTES`` (one entry per file)."""
    return list(_too_big)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: runs after every other test (it reads what they wrote)"
    )
    if _keep not in fitwriter.WRITE_HOOKS:
        fitwriter.WRITE_HOOKS.append(_keep)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    last = [item for item in items if item.get_closest_marker(MARKER)]
    if last:
        items[:] = [item for item in items if not item.get_closest_marker(MARKER)] + last
