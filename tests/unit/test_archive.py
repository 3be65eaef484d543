"""Safe ZIP reading: hostile archives are built in each test, byte by byte where zipfile would
refuse to write them."""

from __future__ import annotations

import io
import random
import struct
import zipfile
from pathlib import Path

import pytest

from app.records import Notice
from app.sources import SourceDataError, archive
from app.sources.archive import ArchiveLimits, Member, iter_members

SMALL = ArchiveLimits(
    max_total_bytes=4 * 1024**2, max_member_bytes=3 * 1024**2, max_ratio=200.0, max_depth=2
)


def _zip_bytes(entries: list[tuple[str, bytes]], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buffer.getvalue()


def _write(tmp_path: Path, data: bytes, name: str = "upload.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _patch_headers(data: bytes, *, local_offset: int, central_offset: int, fmt: str, value: int):
    """Overwrite one field in every local and central directory header."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        start = 0
        while (at := out.find(signature, start)) >= 0:
            struct.pack_into(fmt, out, at + offset, value)
            start = at + 4
    return bytes(out)


def _items(path: Path, **kwargs) -> list[tuple[str, int, bytes] | Notice]:
    """Everything the iterator yields, each member read while it is current."""
    return [
        (item.name, item.size, item.read()) if isinstance(item, Member) else item
        for item in iter_members(path, **kwargs)
    ]


def _names(items: list) -> list[str]:
    return [item[0] for item in items if not isinstance(item, Notice)]


def _random(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)  # noqa: S311 — incompressible test bytes


# --- ordinary archives ------------------------------------------------------------------------


def test_yields_file_members_with_posix_names_and_declared_sizes(tmp_path):
    path = _write(
        tmp_path,
        _zip_bytes([("a/", b""), ("a/b.fit", b"fit-bytes"), ("c.json", b"[]")]),
    )
    assert _items(path) == [("a/b.fit", 9, b"fit-bytes"), ("c.json", 2, b"[]")]


def test_reader_streams_in_chunks(tmp_path):
    payload = _random(300_000)
    path = _write(tmp_path, _zip_bytes([("big.bin", payload)]))
    items = iter_members(path)  # keep the iterator alive while the member is read
    member = next(items)
    assert isinstance(member, Member)
    with member.open() as stream:
        head = stream.read(10)
        rest = stream.read()
    assert head + rest == payload
    assert member.read() == payload  # each open() is a fresh stream


def test_member_cannot_be_opened_after_the_iterator_moved_on(tmp_path):
    path = _write(tmp_path, _zip_bytes([("a.fit", b"x")]))
    (member,) = list(iter_members(path))
    with pytest.raises(RuntimeError):
        member.read()


def test_backslash_separators_become_posix_names(tmp_path):
    path = _write(tmp_path, _zip_bytes([("dir\\", b""), ("dir\\sub\\a.json", b"{}")]))
    assert _items(path) == [("dir/sub/a.json", 2, b"{}")]


def test_macos_junk_and_directories_are_skipped_silently(tmp_path):
    path = _write(
        tmp_path,
        _zip_bytes(
            [
                ("__MACOSX/._data.json", b"junk"),
                ("dir/__MACOSX/x", b"junk"),
                ("dir/.DS_Store", b"junk"),
                ("dir/sub/", b""),
                ("dir/data.json", b"{}"),
            ]
        ),
    )
    assert _names(_items(path)) == ["dir/data.json"]


# --- refused archives -------------------------------------------------------------------------


def test_not_a_zip_is_corrupt(tmp_path):
    path = _write(tmp_path, b"this is a text file, not an archive\n" * 10, "notes.zip")
    with pytest.raises(SourceDataError) as caught:
        _items(path)
    assert caught.value.code == "zip_corrupt"


def test_zero_byte_file_is_corrupt(tmp_path):
    with pytest.raises(SourceDataError) as caught:
        _items(_write(tmp_path, b""))
    assert caught.value.code == "zip_corrupt"


def test_truncated_central_directory_is_corrupt(tmp_path):
    data = _zip_bytes([("a.json", _random(5000))])
    with pytest.raises(SourceDataError) as caught:
        _items(_write(tmp_path, data[:-30]))
    assert caught.value.code == "zip_corrupt"


def test_empty_zip_is_refused(tmp_path):
    with pytest.raises(SourceDataError) as caught:
        _items(_write(tmp_path, _zip_bytes([])))
    assert caught.value.code == "zip_empty"


def test_zip_with_only_directories_and_junk_is_empty(tmp_path):
    data = _zip_bytes([("a/", b""), ("a/b/", b""), ("__MACOSX/._a", b"x")])
    with pytest.raises(SourceDataError) as caught:
        _items(_write(tmp_path, data))
    assert caught.value.code == "zip_empty"


def test_real_zip_bomb_is_refused_before_inflating(tmp_path):
    # 50 MB of zeros deflates to about 50 KB: a ratio near 1000.
    data = _zip_bytes([("DI_CONNECT/huge.json", bytes(50 * 1024**2))])
    assert len(data) < 200_000
    path = _write(tmp_path, data)
    with pytest.raises(SourceDataError) as caught:
        _items(path)  # default limits: the ratio alone refuses it
    assert caught.value.code == "zip_bomb"
    assert caught.value.params["limit"] == "ratio"
    assert caught.value.params["limit_mb"] == 20 * 1024


def test_total_size_limit_refuses_the_whole_archive(tmp_path):
    entries = [(f"part{i}.bin", _random(1024**2, seed=i)) for i in range(5)]  # 5 MB incompressible
    path = _write(tmp_path, _zip_bytes(entries, method=zipfile.ZIP_STORED))
    with pytest.raises(SourceDataError) as caught:
        _items(path, limits=SMALL)
    assert caught.value.code == "zip_bomb"
    assert caught.value.params == {"limit": "total", "limit_mb": 4}


def test_member_size_limit(tmp_path):
    limits = ArchiveLimits(max_member_bytes=1024**2)
    path = _write(tmp_path, _zip_bytes([("one.bin", _random(1024**2 + 1))]))
    with pytest.raises(SourceDataError) as caught:
        _items(path, limits=limits)
    assert caught.value.code == "zip_bomb"
    assert caught.value.params == {"limit": "member", "limit_mb": 1, "name": "one.bin"}


def test_small_highly_compressible_files_are_not_bombs(tmp_path):
    # 900 KB of zeros (ratio ~1000) stays under the 1 MiB grace: ordinary sparse files pass.
    path = _write(tmp_path, _zip_bytes([("sparse.bin", bytes(900 * 1024))]))
    ((_name, size, data),) = _items(path, limits=SMALL)
    assert len(data) == size == 900 * 1024


def test_too_many_members(tmp_path):
    path = _write(tmp_path, _zip_bytes([(f"f{i}.txt", b"x") for i in range(11)]))
    with pytest.raises(SourceDataError) as caught:
        _items(path, limits=ArchiveLimits(max_members=10))
    assert caught.value.code == "zip_bomb"
    assert caught.value.params["limit"] == "members"
    assert caught.value.params["max_members"] == 10


def test_nested_bomb_is_refused_when_the_nested_zip_is_opened(tmp_path):
    inner = _zip_bytes([("zeros.bin", bytes(20 * 1024**2))])
    path = _write(tmp_path, _zip_bytes([("a.json", b"[]"), ("inner.zip", inner)]))
    items = iter_members(path, limits=SMALL)
    assert next(items).name == "a.json"  # type: ignore[union-attr]
    with pytest.raises(SourceDataError) as caught:
        next(items)
    assert caught.value.code == "zip_bomb"


# --- headers that lie -------------------------------------------------------------------------


def test_lying_header_cannot_push_more_bytes_than_it_declares(tmp_path):
    # 5 MB of zeros, but both headers claim 1,000 bytes: the declared checks pass, and reading
    # must stop at the claim and fail on the CRC rather than inflate 5 MB.
    data = _zip_bytes([("liar.bin", bytes(5 * 1024**2))])
    data = _patch_headers(data, local_offset=22, central_offset=24, fmt="<I", value=1000)
    items = iter_members(_write(tmp_path, data), limits=SMALL)
    member = next(items)
    assert isinstance(member, Member)
    assert member.size == 1000
    received = 0
    with pytest.raises(SourceDataError) as caught, member.open() as stream:
        while chunk := stream.read(100):
            received += len(chunk)
    assert received <= 1000
    assert caught.value.code == "zip_member_corrupt"
    assert caught.value.params == {"name": "liar.bin"}


def test_reader_counts_real_bytes_not_declared_ones():
    # Whatever the inflater returns is counted: a stream producing more than its header said,
    # or more than the ratio allows, is stopped while reading.
    budget = archive._Budget(SMALL)
    too_long = archive._GuardedReader(
        io.BytesIO(b"x" * 5000), name="m", compressed=5000, declared=100, budget=budget
    )
    with pytest.raises(SourceDataError) as caught:
        too_long.read()
    assert caught.value.code == "zip_member_corrupt"

    bomb = archive._GuardedReader(
        io.BytesIO(bytes(3 * 1024**2)), name="b", compressed=1000, declared=10**9, budget=budget
    )
    with pytest.raises(SourceDataError) as caught:
        bomb.read()
    assert caught.value.code == "zip_bomb"
    assert caught.value.params["limit"] == "ratio"


def test_reader_enforces_the_total_across_members():
    budget = archive._Budget(SMALL)
    for i in range(3):
        reader = archive._GuardedReader(
            io.BytesIO(_random(1024**2, seed=i)),
            name=f"p{i}",
            compressed=1024**2,
            declared=1024**2,
            budget=budget,
        )
        reader.read()
    last = archive._GuardedReader(
        io.BytesIO(_random(2 * 1024**2)),
        name="p3",
        compressed=2 * 1024**2,
        declared=2 * 1024**2,
        budget=budget,
    )
    with pytest.raises(SourceDataError) as caught:
        last.read()
    assert caught.value.params == {"limit": "total", "limit_mb": 4}


def test_crc_error_is_raised_from_read(tmp_path):
    payload = b"A" * 2000
    data = bytearray(_zip_bytes([("x.fit", payload)], method=zipfile.ZIP_STORED))
    at = data.find(payload)
    data[at + 1000] = ord("B")
    items = iter_members(_write(tmp_path, bytes(data)))
    member = next(items)
    assert isinstance(member, Member)
    with pytest.raises(SourceDataError) as caught:
        member.read()
    assert caught.value.code == "zip_member_corrupt"
    assert caught.value.params == {"name": "x.fit"}


# --- skipped members --------------------------------------------------------------------------


@pytest.mark.parametrize("bad_name", ["../../etc/passwd", "/abs", "C:\\x", "a/../../b", "C:/y"])
def test_unsafe_names_are_reported_and_skipped(tmp_path, bad_name):
    path = _write(tmp_path, _zip_bytes([(bad_name, b"evil"), ("ok.json", b"{}")]))
    items = _items(path)
    assert items[0] == Notice("zip_unsafe_name", {"name": bad_name})
    assert _names(items[1:]) == ["ok.json"]


def test_nul_in_name_is_unsafe(tmp_path):
    data = _zip_bytes([("evilX.txt", b"evil"), ("ok.json", b"{}")])
    data = data.replace(b"evilX.txt", b"evil\x00.txt")
    items = _items(_write(tmp_path, data))
    assert items[0] == Notice("zip_unsafe_name", {"name": "evil\x00.txt"})
    assert _names(items[1:]) == ["ok.json"]


def test_encrypted_members_are_reported_and_skipped(tmp_path):
    data = _zip_bytes([("secret.fit", b"locked")])
    data = _patch_headers(data, local_offset=6, central_offset=8, fmt="<H", value=0x1)
    path = _write(tmp_path, _zip_bytes([("open.json", b"{}"), ("inner.zip", data)]))
    assert _items(path) == [
        ("open.json", 2, b"{}"),
        Notice("zip_encrypted", {"name": "inner.zip!/secret.fit"}),
    ]


def test_unsupported_compression_method_is_reported(tmp_path):
    data = _zip_bytes([("deflate64.fit", _random(100))])
    data = _patch_headers(data, local_offset=8, central_offset=10, fmt="<H", value=9)
    items = _items(_write(tmp_path, data))
    assert items == [Notice("zip_unsupported_method", {"name": "deflate64.fit", "method": 9})]


# --- nested zips ------------------------------------------------------------------------------


def test_nested_zip_members_are_named_through_the_container(tmp_path):
    inner = _zip_bytes([("x/y.fit", b"inner-fit"), ("z.tcx", b"<tcx/>")])
    path = _write(tmp_path, _zip_bytes([("a/inner.zip", inner), ("b.json", b"[]")]))
    assert _items(path) == [
        ("a/inner.zip!/x/y.fit", 9, b"inner-fit"),
        ("a/inner.zip!/z.tcx", 6, b"<tcx/>"),
        ("b.json", 2, b"[]"),
    ]


def test_descend_decides_which_members_are_containers(tmp_path):
    inner = _zip_bytes([("y.fit", b"inner")])
    path = _write(tmp_path, _zip_bytes([("keep.zip", inner)]))
    assert _items(path, descend=lambda name: False) == [("keep.zip", len(inner), inner)]


def test_depth_limit(tmp_path):
    level3 = _zip_bytes([("deep.fit", b"3")])
    level2 = _zip_bytes([("l3.zip", level3), ("two.fit", b"2")])
    level1 = _zip_bytes([("l2.zip", level2), ("one.fit", b"1")])
    path = _write(tmp_path, _zip_bytes([("l1.zip", level1)]))

    assert _items(path, limits=ArchiveLimits(max_depth=1)) == [
        Notice("zip_too_deep", {"name": "l1.zip!/l2.zip", "max_depth": 1}),
        ("l1.zip!/one.fit", 1, b"1"),
    ]
    # The default depth (2) reaches level 2, not level 3.
    assert _items(path) == [
        Notice("zip_too_deep", {"name": "l1.zip!/l2.zip!/l3.zip", "max_depth": 2}),
        ("l1.zip!/l2.zip!/two.fit", 1, b"2"),
        ("l1.zip!/one.fit", 1, b"1"),
    ]


def test_corrupt_nested_zip_is_reported_and_the_rest_continues(tmp_path):
    path = _write(
        tmp_path,
        _zip_bytes([("Part1.zip", b"not a zip at all"), ("after.json", b"{}")]),
    )
    assert _items(path) == [
        Notice("zip_nested_corrupt", {"name": "Part1.zip"}),
        ("after.json", 2, b"{}"),
    ]


def test_nested_zip_with_crc_error_is_reported(tmp_path):
    inner = _zip_bytes([("y.fit", b"Q" * 500)], method=zipfile.ZIP_STORED)
    outer = bytearray(
        _zip_bytes([("Part1.zip", inner), ("after.json", b"{}")], method=zipfile.ZIP_STORED)
    )
    # Damage the nested zip's bytes as stored in the outer archive: they fail the outer CRC.
    outer[outer.find(b"Q" * 500) + 10] = ord("S")
    assert _items(_write(tmp_path, bytes(outer))) == [
        Notice("zip_nested_corrupt", {"name": "Part1.zip"}),
        ("after.json", 2, b"{}"),
    ]


def test_large_nested_zip_is_spooled_to_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "NESTED_IN_MEMORY_BYTES", 1024)
    payload = _random(200_000)
    inner = _zip_bytes([("a.fit", payload)], method=zipfile.ZIP_STORED)
    path = _write(tmp_path, _zip_bytes([("inner.zip", inner)]))
    rolled = []
    original = archive.tempfile.SpooledTemporaryFile

    class Watching(original):  # type: ignore[misc, valid-type]
        def rollover(self):
            rolled.append(True)
            super().rollover()

    monkeypatch.setattr(archive.tempfile, "SpooledTemporaryFile", Watching)
    assert _items(path) == [("inner.zip!/a.fit", len(payload), payload)]
    assert rolled == [True]


def test_members_of_nested_zips_count_against_the_shared_total(tmp_path):
    inner1 = _zip_bytes([("a.bin", _random(1500 * 1024, 1))], method=zipfile.ZIP_STORED)
    inner2 = _zip_bytes([("b.bin", _random(1500 * 1024, 2))], method=zipfile.ZIP_STORED)
    path = _write(tmp_path, _zip_bytes([("p1.zip", inner1), ("p2.zip", inner2)]))
    with pytest.raises(SourceDataError) as caught:
        for item in iter_members(path, limits=SMALL):
            if isinstance(item, Member):
                item.read()
    assert caught.value.code == "zip_bomb"
    assert caught.value.params["limit"] == "total"


def test_a_member_over_the_member_cap_is_named_in_the_sentence(tmp_path):
    from app.messages import describe

    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("activities/huge.fit", b"\0" * 3 * 1024 * 1024)
    limits = ArchiveLimits(max_member_bytes=2 * 1024 * 1024)
    with pytest.raises(SourceDataError) as error:
        list(iter_members(path, limits=limits))
    assert error.value.code == "zip_bomb" and error.value.params["limit"] == "member"
    sentence = describe(error.value.code, error.value.params)
    assert "activities/huge.fit" in sentence and "2 MB" in sentence
