"""Missing ``../shared`` material skips its tests on a bare clone and fails them in CI and inside
the development root, where a skip would let a run pass that checked nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import shared

ROOT = Path(__file__).resolve().parents[2]


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The GAP tests (vectors read at collection and through the ``reference`` fixture) against
    an empty vector folder."""
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "DOMESTIQUE_DEVROOT")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/unit/analytics/test_running.py", "-q",
         "-p", "no:cacheprovider", "-rfEs"],
        cwd=ROOT,
        env={**clean, "DOMESTIQUE_REFERENCE_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip


def test_missing_vectors_skip_on_a_bare_clone(tmp_path):
    result = _pytest(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "failed" not in result.stdout and " skipped" in result.stdout
    assert "gap_vectors.json is not available" in result.stdout


@pytest.mark.parametrize(
    "env", [{"CI": "true"}, {"DOMESTIQUE_DEVROOT": "1"}], ids=["ci", "devroot"]
)
def test_missing_vectors_fail_in_ci_and_inside_the_development_root(tmp_path, env):
    result = _pytest(tmp_path, **env)
    assert result.returncode == 1, result.stdout
    assert " skipped" not in result.stdout
    assert "gap_vectors.json is not available, and CI and the development root require it" in (
        result.stdout
    )
    # Every test that needed the vectors failed (the parametrized one at its setup), the others
    # ran.
    assert "2 failed, 9 passed, 1 error" in result.stdout


def test_the_marker_follows_the_environment(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("DOMESTIQUE_DEVROOT", raising=False)
    assert not shared.required()
    with pytest.raises(pytest.skip.Exception):
        shared.unavailable("a thing")
    monkeypatch.setenv("CI", "true")
    assert shared.required()
    with pytest.raises(pytest.fail.Exception, match="a thing is not available"):
        shared.unavailable("a thing")
