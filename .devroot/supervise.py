#!/usr/bin/env python3
"""Host side: run the namespace (unshare ...) and forward SIGTERM/SIGHUP to its PID 1.

`unshare --fork` ignores SIGTERM while it waits, so without this `kill <make>` would do nothing.
PID 1 (tini) passes the signal to the process group inside, which shuts down cleanly (the server
first, then PostgreSQL). SIGINT from a terminal already reaches the processes inside directly.
"""

import contextlib
import os
import signal
import subprocess
import sys

child = subprocess.Popen(sys.argv[1:])


def forward(signum, _frame):
    try:
        with open(f"/proc/{child.pid}/task/{child.pid}/children") as handle:
            pids = [int(pid) for pid in handle.read().split()]
    except OSError:
        pids = []
    for pid in pids or [child.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


signal.signal(signal.SIGTERM, forward)
signal.signal(signal.SIGHUP, forward)
signal.signal(signal.SIGINT, lambda *_: None)  # the terminal sent it to the processes inside
code = child.wait()
sys.exit(code if code >= 0 else 128 - code)
