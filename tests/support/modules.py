"""What a fresh interpreter has loaded after one import: the tests that keep a process lean."""

from __future__ import annotations

import subprocess
import sys


def loaded_by(module: str) -> list[str]:
    """Every module in ``sys.modules`` of a new Python process after ``import module``."""
    return subprocess.run(
        [sys.executable, "-c", f"import sys, {module}; print(*sys.modules)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
