"""Parse an Apple Health export in a lean child process while the caller stores the records.

On a two-core NAS parsing (one core) and storing (the caller and PostgreSQL) overlap. The child
is a fresh interpreter that imports only this package (numpy, lxml): about 45 MB, where a
``multiprocessing`` child would also import the parent's ``__main__`` and the module of its
target — the whole application, scipy included, about 150 MB.

The records travel as consecutive pickles through a pipe, ending with ``(END, error)``. The pipe
is the only buffer, so the child runs at most about one chunk ahead of the caller: memory stays
flat when storing is the slower half. ``parse_in_child`` raises the child's ``SourceDataError``
as its own; a child that dies without saying why (killed, out of memory) becomes
``SourceDataError(code="internal")``. Closing the iterator early stops the child.

Child side: ``python -m app.sources.apple_health.worker PATH zip|xml FD``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import signal
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from app.sources import SourceDataError
from app.sources.apple_health.parser import Output, parse_export_file

END = "end"
# Room in the pipe for about one HealthSeries chunk (50,000 rows: ~1.2 MB pickled), so the child
# parses the next chunk while the caller stores this one. Linux caps it at
# /proc/sys/fs/pipe-max-size (1 MiB by default); a smaller pipe only costs some overlap.
PIPE_BYTES = 1 << 20
_MODULE = "app.sources.apple_health.worker"
_APP_ROOT = Path(__file__).resolve().parents[3]  # the folder holding the ``app`` package


def parse_in_child(path: Path, *, zipped: bool) -> Iterator[Output]:
    """``parse_export_file(path, zipped=zipped)``, run in a child process."""
    read_fd, write_fd = os.pipe()
    try:
        # Above the system's limit the default pipe is kept: it works, with less overlap.
        with contextlib.suppress(OSError):
            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        python_path = os.pathsep.join(filter(None, (str(_APP_ROOT), os.environ.get("PYTHONPATH"))))
        child = subprocess.Popen(  # noqa: S603 - this interpreter, this module, our arguments
            [sys.executable, "-m", _MODULE, str(path), "zip" if zipped else "xml", str(write_fd)],
            pass_fds=(write_fd,),
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": python_path},
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    try:
        with open(read_fd, "rb") as channel:
            while True:
                try:
                    entry = pickle.load(channel)  # noqa: S301 - our own child's records
                except (EOFError, pickle.UnpicklingError):  # the pipe closed, maybe mid-record
                    status = child.wait()  # it has closed its end: it is exiting
                    raise SourceDataError(
                        f"The Apple Health parser process stopped (exit status {status})",
                        code="internal",
                        error=f"parser exit status {status}",
                    ) from None
                if isinstance(entry, tuple) and entry and entry[0] == END:
                    if entry[1] is not None:
                        code, message, params = entry[1]
                        raise SourceDataError(message, code=code, **params)
                    return
                yield entry
    finally:
        if child.poll() is None:
            child.terminate()
        child.wait()


def _send_all(path: Path, zipped: bool, channel: BinaryIO) -> None:
    try:
        for entry in parse_export_file(path, zipped=zipped):
            pickle.dump(entry, channel, protocol=pickle.HIGHEST_PROTOCOL)
        end = None
    except SourceDataError as error:
        end = (error.code, str(error), error.params)
    except BrokenPipeError:
        raise
    except Exception as exc:  # reported as one failed file, like any other bug
        traceback.print_exc()
        end = ("internal", repr(exc), {"error": type(exc).__name__})
    pickle.dump((END, end), channel, protocol=pickle.HIGHEST_PROTOCOL)


def main(argv: list[str]) -> int:
    path, kind, fd = argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us
    try:
        with open(int(fd), "wb") as channel:
            _send_all(Path(path), kind == "zip", channel)
    except BrokenPipeError:  # the parent stopped reading (it failed or was stopped)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
