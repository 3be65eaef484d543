"""The two FIT decoding paths, compared on every file: each shared and local fixture, and every
FIT file the tests write (``tests.support.fitwriter``), plus one of each kind of activity the
bench's ten-year history generates.

The fast path (fitfast and a walk over the bytes) and the tolerant path (fitdecode) must give:

- the same ``record`` rows: every sample field, row by row, before any merging or dropping.
  ``speed``/``altitude`` are compared as the samples use them (the field where valid, else its
  ``enhanced_`` twin): where a file writes only ``speed``, both decoders also expand it into
  ``enhanced_speed``, fitdecode through a float (2.029 comes out 2.03), a copy nothing reads;
- the same developer fields of records, R-R intervals (and the record each followed), the same
  number of every summary message and the same sessions, laps and sports;
- the same activities: every field, samples, laps, R-R intervals, developer fields, notices.

Files the fast path refuses are the known-broken ones below, each with fitfast's reason and what
the tolerant path keeps; any other refusal fails.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fitfast
import numpy as np
import pytest

from app.records import Activity, DecodedFile
from app.sources import SourceDataError
from app.sources.fit import decode_fit, fast, mapper, read_fit
from app.sources.fit.profile import RECORD_FIELDS
from app.sources.fit.raw import RawFit
from tests.support import generated_fit
from tests.support.fitwriter import write_activity
from tests.support.shared import unavailable

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:fitdecode.*")

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "tests" / "fixtures" / "fit"
SHARED = ROOT.parent / "shared" / "fixtures" / "fit"

# Files fitfast refuses, by name: (its error, the tolerant path's notice, records kept).
KNOWN_BROKEN: dict[str, tuple[str, str, int]] = {
    # cut inside a message: fitfast refuses the whole file, fitdecode keeps what came before
    "invalid_truncated.fit": ("unexpected EOF", "fit_truncated", 2),
    "activity-unexpected-eof.fit": ("unexpected EOF", "fit_truncated", 14),
    "nick.fit": ("unexpected EOF", "fit_truncated", 14391),
    # a second chained FIT file that is cut short, or whose header is garbage
    "activity-settings-nodata.fit": ("unexpected EOF", "fit_truncated", 14),
    "activity-settings-corruptheader.fit": ("not a FIT file", "fit_partial", 14),
    # data for a local message type that was never defined (Strava's Android app)
    "strava-android-app-201.10-b1218918.fit": ("missing message definition", "fit_partial", 473),
    # the header's data size was never written (0): declared as the rest of the file, the file
    # then ends inside a message
    "empty-activities.fit": ("unexpected EOF", "fit_truncated", 2319),
}


# --- comparing the two paths -----------------------------------------------------------------

_PREFERRED = {"speed": "enhanced_speed", "altitude": "enhanced_altitude"}
_SUMMARY_KEYS = (
    "start_time",
    "timestamp",
    "sport",
    "sub_sport",
    "total_elapsed_time",
    "total_timer_time",
    "total_distance",
)


def _column(raw: RawFit, name: str) -> np.ndarray:
    values = raw.records.get(name)
    column = np.full(raw.record_count, np.nan) if values is None else values
    twin = _PREFERRED.get(name)
    if twin is not None and twin in raw.records:
        column = np.where(np.isfinite(column), column, raw.records[twin])
    return column


def _columns_differ(what: str, a: np.ndarray, b: np.ndarray) -> list[str]:
    if len(a) != len(b):
        return [f"{what}: {len(a)} rows against {len(b)}"]
    same = np.isclose(a, b, rtol=1e-12, atol=1e-9, equal_nan=True)
    if same.all():
        return []
    rows = np.flatnonzero(~same)
    return [f"{what}: {rows.size} rows differ, first row {rows[0]}: {a[rows[0]]} vs {b[rows[0]]}"]


def _number(value: Any) -> Any:
    if isinstance(value, list | tuple) and value:
        value = value[0]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def raw_differences(quick: RawFit, slow: RawFit) -> list[str]:
    found: list[str] = []
    if quick.record_count != slow.record_count:
        return [f"record rows: {quick.record_count} against {slow.record_count}"]
    for name in RECORD_FIELDS:
        if name.startswith("enhanced_"):
            continue
        found += _columns_differ(f"record {name}", _column(quick, name), _column(slow, name))
    names = {
        name
        for raw in (quick, slow)
        for name, values in raw.record_dev.items()
        if np.isfinite(values).any()
    }
    for name in sorted(names):
        empty = np.full(quick.record_count, np.nan)
        found += _columns_differ(
            f"record developer field {name!r}",
            quick.record_dev.get(name, empty),
            slow.record_dev.get(name, empty),
        )
    if not (
        np.array_equal(quick.hrv_ms, slow.hrv_ms) and np.array_equal(quick.hrv_row, slow.hrv_row)
    ):
        found.append(f"R-R intervals: {quick.hrv_ms.size} against {slow.hrv_ms.size}")
    for kind, messages in quick.messages.items():
        other = slow.messages[kind]
        if len(messages) != len(other):
            found.append(f"{kind} messages: {len(messages)} against {len(other)}")
        elif kind in ("session", "lap", "sport"):
            for i, (x, y) in enumerate(zip(messages, other, strict=True)):
                for key in _SUMMARY_KEYS:
                    a, b = _number(x.get(key)), _number(y.get(key))
                    if a != b and not (a is not None and b is not None and math.isclose(a, b)):
                        found.append(f"{kind} {i} {key}: {a} against {b}")
    return found


def _activity_differences(i: int, a: Activity, b: Activity) -> list[str]:
    found: list[str] = []
    for spec in fields(Activity):
        x, y = getattr(a, spec.name), getattr(b, spec.name)
        what = f"activity {i} {spec.name}"
        if spec.name == "samples":
            if (x is None) != (y is None):
                found.append(f"{what}: {x is None} against {y is None}")
            elif x is not None:
                found += _columns_differ(f"{what} time", x.time, y.time)
                if sorted(x.channels) != sorted(y.channels):
                    found.append(f"{what} channels: {sorted(x.channels)} vs {sorted(y.channels)}")
                elif len(x.time) == len(y.time):
                    for name in sorted(x.channels):
                        found += _columns_differ(
                            f"{what} {name}", x.channels[name], y.channels[name]
                        )
        elif spec.name == "rr_intervals_ms":
            if (x is None) != (y is None) or (x is not None and not np.array_equal(x, y)):
                found.append(what)
        elif spec.name == "extras":
            x = {k: v for k, v in x.items() if k != "decoder"}
            y = {k: v for k, v in y.items() if k != "decoder"}
            if x != y:
                found.append(f"{what}: {x} against {y}")
        elif spec.name == "developer_fields":
            if json.dumps(x, sort_keys=True) != json.dumps(y, sort_keys=True):
                found.append(what)
        elif isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=1e-12):
                found.append(f"{what}: {x} against {y}")
        elif x != y:
            found.append(f"{what}: {x!r:.200} against {y!r:.200}")
    return found


def decoded_differences(quick: DecodedFile, slow: DecodedFile) -> list[str]:
    found: list[str] = []
    if quick.kind != slow.kind:
        found.append(f"kind: {quick.kind} against {slow.kind}")
    notices = [[(n.code, n.params) for n in d.notices] for d in (quick, slow)]
    if notices[0] != notices[1]:
        found.append(f"notices: {notices[0]} against {notices[1]}")
    if len(quick.activities) != len(slow.activities):
        return [*found, f"activities: {len(quick.activities)} against {len(slow.activities)}"]
    for i, (a, b) in enumerate(zip(quick.activities, slow.activities, strict=True)):
        found += _activity_differences(i, a, b)
    health = [[(h.metric, len(h)) for h in d.health] for d in (quick, slow)]
    if health[0] != health[1]:
        found.append(f"health series: {health[0]} against {health[1]}")
    return found


def path_differences(data: bytes) -> list[str]:
    """What the fast path reads differently from the tolerant path (empty: nothing)."""
    quick = read_fit(data)
    if quick.decoder != "fitfast":
        return ["the fast path refused the file"]
    slow = read_fit(data, tolerant_only=True)
    found = raw_differences(quick, slow)
    if found:
        return found
    built: list[DecodedFile | str] = []
    for raw in (quick, slow):
        try:
            built.append(mapper.build(raw, source="fit"))
        except SourceDataError as error:  # nothing to interpret: the same refusal on both
            built.append(error.code)
    if isinstance(built[0], str) or isinstance(built[1], str):
        return [] if built[0] == built[1] else [f"refused: {built[0]} against {built[1]}"]
    return decoded_differences(built[0], built[1])


# --- the fixtures ------------------------------------------------------------------------------


def _fixtures() -> list:
    paths = {p.name: p for p in sorted(SHARED.rglob("*.fit"))} if SHARED.exists() else {}
    paths.update({p.name: p for p in sorted(LOCAL.glob("*.fit"))})
    return [pytest.param(path, id=name) for name, path in sorted(paths.items())]


@pytest.mark.parametrize("path", _fixtures())
def test_every_fixture_reads_the_same_on_both_paths(path: Path):
    data = path.read_bytes()
    broken = KNOWN_BROKEN.get(path.name)
    if broken is None:
        assert path_differences(data) == []
        return
    reason, notice, records = broken
    with pytest.raises(fitfast.FitDecodeError, match=reason):
        fast.read(_declared(data))
    kept = read_fit(data)
    assert kept.decoder == "fitdecode"
    assert [(n.code, n.params) for n in kept.notices] == [(notice, {"records": records})]


def _declared(data: bytes) -> bytes:
    """The file as the decoder reads it: a header whose data size was never written (0)
    declares the rest of the file."""
    if int.from_bytes(data[4:8], "little"):
        return data
    patched = bytearray(data)
    patched[4:8] = (len(data) - data[0]).to_bytes(4, "little")
    return bytes(patched)


def test_every_known_broken_file_is_a_fixture():
    if not SHARED.exists():
        unavailable(f"the shared FIT fixtures in {SHARED}")
    names = {path.name for path in SHARED.rglob("*.fit")}
    assert set(KNOWN_BROKEN) <= names


# --- files built here ----------------------------------------------------------------------


def _pool_swim(**quirks: Any) -> bytes:
    """A 25 m pool swim: 1,300 s of records, heart rate, distance and speed."""
    t = np.arange(1300)
    return write_activity(
        None,
        sport="swimming",
        sub_sport="lap_swimming",
        start=datetime(2024, 5, 1, 6, 30, tzinfo=UTC),
        samples={
            "heart_rate": 120 + t % 20,
            "distance": t * 0.9,
            "speed": np.full(t.size, 0.9),
        },
        laps=[0, 650],
        summary={"pool_length": 25.0},
        **quirks,
    )


def test_a_record_definition_with_the_timestamp_twice_keeps_every_record():
    """Some Garmin pool swims write a second record definition that lists ``timestamp`` (253)
    twice; the fast path used to read those records' times without the FIT epoch (1990), so
    they were dropped as out of order: here every 26th record, 3.8 % of them."""
    data = _pool_swim(twice=("timestamp",), twice_every=26)
    plain = decode_fit(_pool_swim()).activities[0]
    (activity,) = decode_fit(data).activities
    assert activity.extras == {"decoder": "fitfast"}  # nothing dropped, nothing merged
    assert len(activity.samples) == 1300
    start = activity.start.timestamp()
    np.testing.assert_array_equal(activity.samples.time, start + np.arange(1300))
    for name in ("heart_rate", "distance", "speed"):
        np.testing.assert_array_equal(
            activity.samples.channel(name), plain.samples.channel(name), err_msg=name
        )
    assert path_differences(data) == []


def _history_samples() -> list[bytes]:
    """One activity of each kind, device era, strap (``hr`` messages) and R-R (``hrv``) that the
    bench's ten-year history writes: the shortest of each among the ten shortest of each kind
    and era."""
    from tests.bench.history import encode, plan_history, synthesize

    groups: dict[tuple[str, int], list] = {}
    for planned in sorted(plan_history(10, seed=1), key=lambda p: (p.duration_s, p.index)):
        groups.setdefault((planned.kind, planned.era), []).append(planned)
    files: list[bytes] = []
    for candidates in groups.values():
        variants: set[tuple[bool, bool]] = set()
        for planned in candidates[:10]:
            built = synthesize(planned, 1)
            variant = (built.hr_messages is not None, built.hrv is not None)
            if variant not in variants:
                variants.add(variant)
                files.append(encode(planned, 1)[1])
    return files


@pytest.mark.after_fit_writers
def test_every_file_the_tests_write_reads_the_same_on_both_paths():
    """Runs after every other test: each FIT file they wrote, plus the history's kinds."""
    own = [*_history_samples(), _pool_swim(twice=("timestamp",), twice_every=26)]
    written = generated_fit.written()
    digests = {hashlib.sha256(w.data).hexdigest() for w in written}
    assert {hashlib.sha256(data).hexdigest() for data in own} <= digests  # all seen by the hook
    failures = {}
    for item in written:
        found = path_differences(item.data)
        if found:
            failures[f"{hashlib.sha256(item.data).hexdigest()[:12]} (written by {item.test})"] = (
                found[:5]
            )
    assert failures == {}
    assert len(written) >= len(own)
