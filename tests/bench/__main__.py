"""Run the benchmark groups: ``python -m tests.bench [--only NAME] [--smoke]``.

Figures go to ``data/bench/latest.json``; ``--smoke`` runs every group on tiny inputs (a few
minutes, for CI: the harness works on a fresh clone) and writes ``data/bench/smoke.json``
instead, so that a smoke run never replaces real figures."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime

from tests.bench.groups import FULL, GROUPS, SMOKE, bench_data
from tests.support.postgres import TemporaryCluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", help=f"one group of: {', '.join(GROUPS)}")
    parser.add_argument("--smoke", action="store_true", help="tiny inputs; figures not kept")
    args = parser.parse_args(argv)
    scale = SMOKE if args.smoke else FULL
    if args.only and args.only not in GROUPS:
        print(f"unknown group {args.only!r}; groups: {', '.join(GROUPS)}", file=sys.stderr)
        return 2
    selected = {args.only: GROUPS[args.only]} if args.only else GROUPS
    figures: dict[str, object] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "scale": scale.name,
    }
    cluster = TemporaryCluster().start()
    try:
        for name, group in selected.items():
            started = time.perf_counter()
            results = group(cluster, scale)
            for key, value in results.items():
                figures[key] = value
                print(f"{key:40s} {value}")
            print(f"{'(group ' + name + ')':40s} {time.perf_counter() - started:.1f} s")
    finally:
        cluster.stop()
    output = bench_data() / ("smoke.json" if args.smoke else "latest.json")
    output.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
