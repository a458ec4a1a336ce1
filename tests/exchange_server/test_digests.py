"""The running sha256 of uploaded files: exact after every kind of chunk, never trusted after a change
this process did not make."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_server.digests import FileDigests
from exchange_server.uploads import receive_chunk

XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация>'
    + "т" * 300
    + "</КоммерческаяИнформация>"
).encode()


async def body(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def sha(path: Path) -> tuple[str, int]:
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


async def test_chunks_appended_give_the_files_own_hash(tmp_path: Path) -> None:
    digests = FileDigests()
    first = await receive_chunk(
        body(XML[:100], XML[100:150]), tmp_path, "a.xml", last_chunk=None, digests=digests
    )
    assert digests.hexdigest(first.path) == sha(first.path)
    second = await receive_chunk(body(XML[150:]), tmp_path, "a.xml", last_chunk=first.chunk, digests=digests)
    assert second.path.read_bytes() == XML
    assert digests.hexdigest(second.path) == (hashlib.sha256(XML).hexdigest(), len(XML))


async def test_a_restarted_file_is_hashed_from_its_new_start(tmp_path: Path) -> None:
    digests = FileDigests()
    first = await receive_chunk(body(XML[:120]), tmp_path, "a.xml", last_chunk=None, digests=digests)
    # 1C sends the file again from its beginning: the old copy becomes a.xml.prev.
    again = await receive_chunk(body(XML[:80]), tmp_path, "a.xml", last_chunk=first.chunk, digests=digests)
    assert again.action == "restarted"
    assert digests.hexdigest(again.path) == (hashlib.sha256(XML[:80]).hexdigest(), 80)


async def test_a_duplicate_chunk_changes_nothing_and_is_not_trusted_blindly(tmp_path: Path) -> None:
    digests = FileDigests()
    first = await receive_chunk(body(XML[:50]), tmp_path, "a.xml", last_chunk=None, digests=digests)
    second = await receive_chunk(body(XML[50:90]), tmp_path, "a.xml", last_chunk=first.chunk, digests=digests)
    dup = await receive_chunk(body(XML[50:90]), tmp_path, "a.xml", last_chunk=second.chunk, digests=digests)
    assert dup.action == "duplicate"
    # The rollback rewrote the file's tail: whatever the cache says must be the truth or nothing.
    known = digests.hexdigest(dup.path)
    assert known is None or known == sha(dup.path)
    assert sha(dup.path) == (hashlib.sha256(XML[:90]).hexdigest(), 90)


async def test_a_change_made_elsewhere_is_never_taken_for_the_uploaded_bytes(tmp_path: Path) -> None:
    digests = FileDigests()
    first = await receive_chunk(body(XML[:100]), tmp_path, "a.xml", last_chunk=None, digests=digests)
    assert digests.hexdigest(first.path) is not None
    # Another server process appends the next chunk (same size change as ours would be).
    _append(first.path, XML[100:140])
    assert digests.hexdigest(first.path) is None
    # ... and the next chunk this process receives cannot continue the stale digest either.
    nxt = await receive_chunk(body(XML[140:200]), tmp_path, "a.xml", last_chunk=None, digests=digests)
    assert nxt.path.read_bytes() == XML[:200]
    assert digests.hexdigest(nxt.path) is None


async def test_same_size_rewrite_by_someone_else_is_detected(tmp_path: Path) -> None:
    digests = FileDigests()
    first = await receive_chunk(body(XML[:100]), tmp_path, "a.xml", last_chunk=None, digests=digests)
    stat = first.path.stat()
    # Replaced by a new file of the same size (a new inode), then given the old times back.
    replacement = tmp_path / "other"
    replacement.write_bytes(b"x" * 100)
    os.replace(replacement, first.path)
    os.utime(first.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert digests.hexdigest(first.path) is None


async def test_a_cut_back_file_is_hashed_again(tmp_path: Path) -> None:
    digests = FileDigests()
    first = await receive_chunk(body(XML[:100]), tmp_path, "a.xml", last_chunk=None, digests=digests)
    # A chunk torn by a killed server: 100 bytes booked in the journal, 130 on disk.
    _append(first.path, XML[100:130])
    nxt = await receive_chunk(
        body(XML[100:160]), tmp_path, "a.xml", last_chunk=first.chunk, booked_size=100, digests=digests
    )
    assert nxt.path.read_bytes() == XML[:160]
    known = digests.hexdigest(nxt.path)
    assert known is None or known == sha(nxt.path)


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    digests = FileDigests(capacity=2)
    paths = []
    for i in range(3):
        path = tmp_path / f"f{i}"
        path.write_bytes(b"x" * i)
        digests.appended(path, hashlib.sha256(b"x" * i))
        paths.append(path)
    assert digests.hexdigest(paths[0]) is None  # the oldest went first
    assert digests.hexdigest(paths[2]) == (hashlib.sha256(b"xx").hexdigest(), 2)
    with pytest.raises(ValueError):
        FileDigests(capacity=0)


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(XML) - 1), max_size=6, unique=True))
async def test_any_split_into_chunks_hashes_like_the_whole(
    tmp_path_factory: pytest.TempPathFactory, cuts: list[int]
) -> None:
    folder = tmp_path_factory.mktemp("split")
    digests = FileDigests()
    bounds = [0, *sorted(cuts), len(XML)]
    last = None
    duplicates = 0
    for start, end in zip(bounds, bounds[1:], strict=False):
        result = await receive_chunk(body(XML[start:end]), folder, "a.xml", last_chunk=last, digests=digests)
        duplicates += result.action == "duplicate"  # equal to the previous chunk: a resend (§10.1)
        last = result.chunk
    path = folder / "a.xml"
    if duplicates:
        assert digests.hexdigest(path) in (None, sha(path))
    else:
        assert path.read_bytes() == XML
        assert digests.hexdigest(path) == (hashlib.sha256(XML).hexdigest(), len(XML))
