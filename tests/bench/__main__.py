"""Run the benchmark groups: ``python -m tests.bench [--only NAME]``."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.bench.groups import GROUPS
from tests.support.postgres import TemporaryCluster

OUTPUT = Path("data/bench/latest.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help=f"one group of: {', '.join(GROUPS)}")
    args = parser.parse_args(argv)
    if args.only and args.only not in GROUPS:
        print(f"unknown group {args.only!r}; groups: {', '.join(GROUPS)}", file=sys.stderr)
        return 2
    selected = {args.only: GROUPS[args.only]} if args.only else GROUPS
    figures: dict[str, float | int | str] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
    }
    cluster = TemporaryCluster().start()
    try:
        for name, group in selected.items():
            started = time.perf_counter()
            results = group(cluster)
            for key, value in results.items():
                figures[key] = value
                print(f"{key:40s} {value}")
            print(f"{'(group ' + name + ')':40s} {time.perf_counter() - started:.1f} s")
    finally:
        cluster.stop()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
