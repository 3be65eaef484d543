"""Anchor measurements: what other tools achieve on this machine, to read our figures against.

Each anchor runs the other tool in a child process, so neither its memory nor its imports touch
the benchmark's own process, and reports the child's peak RSS (from ``wait4``, for that child
alone) with the figure:

- ``fitparse_parse_records_per_s(paths)``: fitparse 1.2.0 parsing FIT files fully, in
  ``record`` messages per second. By default the files are every ``.fit`` under the shared
  fixtures (``shared/fixtures/fit`` beside the checkout) that fitparse decodes without error; the
  others are left out and listed, with fitparse's error, in ``detail["excluded"]``.
- ``fitfast_parse_records_per_s(paths)``: fitfast (the Rust decoder our fast path is built on)
  parsing the same files fully (``fitfast.parse``: every message to Python values), in
  ``record`` messages per second: the ceiling of a decoder that hands Python every value.
- ``healthkit_to_sqlite_mb_per_s(export_xml, workdir)``: the ``healthkit-to-sqlite`` CLI
  (dogsheep, 1.0.1) turning an Apple Health export into SQLite, in MB (10**6 bytes) of
  ``export.xml`` per second of the whole CLI run, start-up included. The CLI takes an export
  ZIP whose ``<folder>/export.xml`` starts with a ``HealthData`` DOCTYPE or element (or, with
  ``--xml``, a bare XML file); the anchor zips the XML the way iPhone exports are zipped
  (``apple_health_export/export.xml``, deflated) and times the ZIP run. Its XML parser (expat,
  through ElementTree) rejects the broken internal DTD of iOS 16+ exports and stray control
  characters, so the zipped copy is repaired first unless ``repair=False``.

Both return an ``AnchorResult``: ``value`` is the figure, then ``peak_rss_mb`` (MiB),
``seconds`` (the wall time the figure was measured over) and ``detail``, which includes
``cpu_seconds`` (the child's CPU time over the same span: steadier than wall time when other
work shares the machine).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "FIT_FIXTURES",
    "AnchorResult",
    "fitfast_parse_records_per_s",
    "fitparse_parse_records_per_s",
    "healthkit_to_sqlite_mb_per_s",
]

CHECKOUT = Path(__file__).resolve().parents[2]
FIT_FIXTURES = CHECKOUT.parent / "shared" / "fixtures" / "fit"


class AnchorResult(NamedTuple):
    value: float
    peak_rss_mb: float
    seconds: float
    detail: dict[str, Any]


class _Child(NamedTuple):
    result: dict[str, Any]
    peak_rss_mb: float
    wall_s: float
    cpu_s: float  # user + system


def _run_child(argv: Sequence[str], *, result: Path | None = None) -> _Child:
    """Run ``argv``; return what it wrote to ``result`` (JSON), its own peak RSS and wall time.

    ``os.wait4`` reports the resource use of that one child, unlike RUSAGE_CHILDREN, which
    keeps the largest of every child this process ever waited for.
    """
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=errors, stderr=errors
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read()[-4000:].decode(errors="replace")
            raise RuntimeError(f"{argv[0]} exited with {process.returncode}:\n{tail}")
    payload = json.loads(result.read_text()) if result is not None else {}
    cpu = usage.ru_utime + usage.ru_stime
    return _Child(payload, round(usage.ru_maxrss / 1024, 1), wall, cpu)


# --- fitparse ----------------------------------------------------------------------------------

_PARSE = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import fitparse
paths, out = json.load(open(sys.argv[1])), sys.argv[2]
valid, excluded = [], {}
records = messages = 0
seconds = cpu = 0.0
for path in paths:
    count = kinds = 0
    started, started_cpu = time.perf_counter(), time.process_time()
    try:
        for message in fitparse.FitFile(path).get_messages():
            kinds += 1
            if message.name == "record":
                count += 1
    except Exception as error:
        excluded[path] = f"{type(error).__name__}: {error}"
        continue
    seconds += time.perf_counter() - started
    cpu += time.process_time() - started_cpu
    valid.append(path)
    records += count
    messages += kinds
json.dump(
    {"valid": valid, "excluded": excluded, "records": records, "messages": messages,
     "seconds": seconds, "cpu_seconds": cpu},
    open(out, "w"),
)
"""


def _python_child(code: str, payload: Any) -> _Child:
    with tempfile.TemporaryDirectory() as scratch:
        given, result = Path(scratch, "in.json"), Path(scratch, "out.json")
        given.write_text(json.dumps(payload))
        return _run_child([sys.executable, "-c", code, str(given), str(result)], result=result)


def fitparse_parse_records_per_s(paths: Iterable[Path] | None = None) -> AnchorResult:
    """fitparse's full parse of every file it accepts, in ``record`` messages per second.

    ``paths`` defaults to every ``.fit`` under the shared fixtures. One child parses each file
    once, in order, timing each parse (not the interpreter's start nor the import); a file
    fitparse raises on is left out of the records and the time, and listed with the error.
    """
    candidates = sorted(FIT_FIXTURES.rglob("*.fit")) if paths is None else list(paths)
    child = _python_child(_PARSE, [str(p) for p in candidates])
    result = child.result
    if not result["valid"]:
        raise ValueError("no FIT file that fitparse decodes")
    root = str(FIT_FIXTURES) + os.sep
    return AnchorResult(
        value=result["records"] / result["seconds"],
        peak_rss_mb=child.peak_rss_mb,
        seconds=result["seconds"],
        detail={
            "files": len(result["valid"]),
            "bytes": sum(Path(p).stat().st_size for p in result["valid"]),
            "records": result["records"],
            "messages": result["messages"],
            "cpu_seconds": round(result["cpu_seconds"], 3),
            "excluded": {p.removeprefix(root): why for p, why in result["excluded"].items()},
        },
    )


# --- fitfast ----------------------------------------------------------------------------------

_FITFAST = """
import json, sys, time
import fitfast
from app.sources.fit import crc
paths, out = json.load(open(sys.argv[1])), sys.argv[2]
records = 0
seconds = cpu = 0.0
for path in paths:
    data = open(path, "rb").read()
    try:
        fitfast.parse(data)
    except fitfast.FitDecodeError:  # a CRC fitfast refuses: our fast path fixes it first
        data = crc.repair(data)[0]
    started, started_cpu = time.perf_counter(), time.process_time()
    parsed = fitfast.parse(data)
    seconds += time.perf_counter() - started
    cpu += time.process_time() - started_cpu
    records += len(parsed.get("record", []))
json.dump({"records": records, "seconds": seconds, "cpu_seconds": cpu}, open(out, "w"))
"""


def fitfast_parse_records_per_s(paths: Iterable[Path]) -> AnchorResult:
    """fitfast's full parse (``fitfast.parse``) of each file once, in ``record`` messages per
    second. Each file is parsed once untimed first; a file whose CRC fitfast refuses is then
    repaired as our fast path does (``app.sources.fit.crc.repair``) and the repaired bytes
    timed. Reading the files is not timed."""
    child = _python_child(_FITFAST, [str(p) for p in paths])
    result = child.result
    return AnchorResult(
        value=result["records"] / result["seconds"],
        peak_rss_mb=child.peak_rss_mb,
        seconds=result["seconds"],
        detail={"records": result["records"], "cpu_seconds": round(result["cpu_seconds"], 3)},
    )


# --- healthkit-to-sqlite -----------------------------------------------------------------------


def _healthkit_cli() -> str:
    beside = Path(sys.executable).with_name("healthkit-to-sqlite")
    found = str(beside) if beside.exists() else shutil.which("healthkit-to-sqlite")
    if not found:
        raise FileNotFoundError("healthkit-to-sqlite is not installed (pyproject's dev extras)")
    return found


# Characters XML 1.0 forbids, which iOS writes into some exports and expat refuses.
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 13))


def _zip_export(export_xml: Path, archive: Path, repair: bool) -> dict[str, Any]:
    """Zip ``export_xml`` as ``apple_health_export/export.xml``; with ``repair``, without its
    internal DTD and the control characters XML forbids (what users do by hand so that the
    CLI's expat parser gets through an iOS 16+ export). Returns what was removed."""
    removed = {"dtd_bytes": 0, "control_chars": 0}
    with (
        export_xml.open("rb") as source,
        zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z,
        z.open("apple_health_export/export.xml", "w", force_zip64=True) as target,
    ):
        head = True
        while chunk := source.read(8 << 20):
            if repair and head:
                begin = chunk.find(b"<!DOCTYPE")
                end = chunk.find(b"]>", begin) if begin >= 0 else -1
                if end >= 0:
                    removed["dtd_bytes"] = end + 2 - begin
                    chunk = chunk[:begin] + chunk[end + 2 :]
            head = False
            if repair:
                cleaned = chunk.translate(None, _CONTROL)
                removed["control_chars"] += len(chunk) - len(cleaned)
                chunk = cleaned
            target.write(chunk)
    return removed


def healthkit_to_sqlite_mb_per_s(
    export_xml: Path, workdir: Path, *, repair: bool = True
) -> AnchorResult:
    """``healthkit-to-sqlite export.zip db`` over ``export_xml``, in MB of XML per second.

    ``export_xml`` (an ``export.xml``) is zipped into ``workdir`` first, untimed. The CLI's
    expat parser stops at the broken internal DTD that iOS 16+ writes and at control
    characters, so by default the zipped copy goes without them (``repair=False`` keeps the
    file as it is; ``detail["repaired"]`` says what was taken out). The figure divides the
    original file's size by the CLI's whole run (start-up included; ``detail["startup_s"]``
    is a ``--help`` run, for scale). The SQLite database is written in ``workdir``.
    """
    export_xml, workdir = Path(export_xml), Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    archive = workdir / "export.zip"
    repaired = _zip_export(export_xml, archive, repair)
    xml_bytes = export_xml.stat().st_size
    database = workdir / "healthkit.db"
    for stale in (database, database.with_name(database.name + "-journal")):
        stale.unlink(missing_ok=True)
    cli = _healthkit_cli()
    startup = _run_child([cli, "--help"]).wall_s
    child = _run_child([cli, str(archive), str(database), "--silent"])
    return AnchorResult(
        value=xml_bytes / 1e6 / child.wall_s,
        peak_rss_mb=child.peak_rss_mb,
        seconds=child.wall_s,
        detail={
            "xml_bytes": xml_bytes,
            "zip_bytes": archive.stat().st_size,
            "db_bytes": database.stat().st_size,
            "cpu_seconds": round(child.cpu_s, 3),
            "startup_s": round(startup, 3),
            "repaired": repaired,
        },
    )
