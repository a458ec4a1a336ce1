"""The pure pieces behind the hostile-input fixes: names, request parameters, zip directories, slow bodies."""

from __future__ import annotations

import asyncio
import io
import struct
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exchange_server.commands import parse_command
from exchange_server.errors import RemoteProtocolError, UploadError
from exchange_server.protocol import Reply
from exchange_server.uploads import (
    PackageBudget,
    UnpackLimits,
    idle_limited,
    receive_chunk,
    safe_relative_name,
    unpack_archive,
)


@pytest.mark.parametrize(
    "raw",
    [
        "CON",
        "con.xml",
        "goods/NUL.xml",
        "Aux",
        "com1.txt",
        "LPT9.xml",
        "CONIN$",
        "a" * 256 + ".xml",
        "я" * 128 + ".xml",  # 256 UTF-8 bytes
        "/".join(["d"] * 17) + "/x.xml",
        ("d" * 200 + "/") * 6 + "x.xml",
        "\ufffd\ufffd.xml",
        "x\udc80.xml",
    ],
)
def test_names_that_are_refused_now(raw: str) -> None:
    with pytest.raises(UploadError, match="Недопустимое имя файла"):
        safe_relative_name(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "console.xml",
        "com10.xml",
        "nullable.xml",
        "a" * 255,
        "я" * 126 + ".x",
        "/".join(["d"] * 15) + "/x.xml",
    ],
)
def test_names_near_the_limits_are_kept(raw: str) -> None:
    assert str(safe_relative_name(raw)) == raw


def pairs(**params: str) -> list[tuple[str, str]]:
    return list({"type": "catalog", "mode": "init", **params}.items())


@pytest.mark.parametrize("timestamp", ["²", "٣", "9" * 5000, "-1", "1e9", " 12 ", ""])
def test_timestamp_garbage_never_raises(timestamp: str) -> None:
    command = parse_command(pairs(timestamp=timestamp))
    assert command.timestamp == (12 if timestamp == " 12 " else None)


@pytest.mark.parametrize(
    ("name", "value"),
    [("version", "3" * 33), ("version", "3.1\x00"), ("cmlVersion", "\x1b[2J"), ("version", "3\n1")],
)
def test_versions_must_be_short_printable_text(name: str, value: str) -> None:
    with pytest.raises(RemoteProtocolError, match=f"Недопустимое значение параметра {name}"):
        parse_command(pairs(**{name: value}))
    assert parse_command(pairs(version=" 3.1 ", cmlVersion="2.10")).version == "3.1"


def test_failure_text_escapes_control_characters() -> None:
    reply = Reply.failure("Файл для импорта не найден: a\x00b\x1b.xml")
    assert reply.text == "failure\nФайл для импорта не найден: a\\x00b\\x1b.xml"


# --- archives -------------------------------------------------------------------------------------


def stored_zip(count: int) -> bytearray:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i in range(count):
            archive.writestr(f"f{i}.xml", b"<a/>")
    return bytearray(buffer.getvalue())


def test_entry_count_is_read_from_the_end_record_first(tmp_path: Path) -> None:
    archive = tmp_path / "many.zip"
    archive.write_bytes(stored_zip(30))
    with pytest.raises(UploadError, match=r"слишком много файлов \(30 > 20\)"):
        unpack_archive(archive, tmp_path / "out", UnpackLimits(max_entries=20))
    assert not (tmp_path / "out").exists()


def test_end_record_lying_about_the_count_is_refused(tmp_path: Path) -> None:
    data = stored_zip(300)
    end = data.rindex(b"PK\x05\x06")
    data[end + 8 : end + 12] = struct.pack("<HH", 2, 2)
    archive = tmp_path / "liar.zip"
    archive.write_bytes(bytes(data))
    with pytest.raises(UploadError, match="оглавление архива"):
        unpack_archive(archive, tmp_path / "out")


def test_zip64_end_record_is_read(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for i in range(5):
            with archive.open(f"f{i}.xml", "w", force_zip64=True) as entry:
                entry.write(b"<a/>")
    archive_path = tmp_path / "z64.zip"
    archive_path.write_bytes(buffer.getvalue())
    with pytest.raises(UploadError, match=r"слишком много файлов \(5 > 4\)"):
        unpack_archive(archive_path, tmp_path / "out", UnpackLimits(max_entries=4))
    assert len(unpack_archive(archive_path, tmp_path / "ok")) == 5


def test_many_small_entries_are_judged_as_a_whole(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(8):
            archive.writestr(f"f{i}.xml", b"\0" * (512 * 1024))  # each under the 1 MiB per-entry floor
    archive_path = tmp_path / "bomb.zip"
    archive_path.write_bytes(buffer.getvalue())
    with pytest.raises(UploadError, match="подозрительная степень сжатия архива"):
        unpack_archive(archive_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- bodies ---------------------------------------------------------------------------------------


async def body(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def test_content_length_over_the_budget_is_refused_before_reading(tmp_path: Path) -> None:
    read: list[bytes] = []

    async def spy() -> AsyncIterator[bytes]:
        read.append(b"x")
        yield b"<?xml version='1.0'?>"

    with pytest.raises(UploadError, match="Пакет обмена превысил допустимый размер 100"):
        await receive_chunk(
            spy(), tmp_path, "a.xml", last_chunk=None, expected_length=60, budget=PackageBudget(100, 50)
        )
    with pytest.raises(UploadError, match="больше допустимого размера 10"):
        await receive_chunk(spy(), tmp_path, "a.xml", last_chunk=None, expected_length=11, max_length=10)
    assert read == [] and not (tmp_path / "a.xml").exists()


async def test_body_over_the_budget_is_rolled_back(tmp_path: Path) -> None:
    with pytest.raises(UploadError, match="Пакет обмена превысил"):
        await receive_chunk(
            body(b"<?xml version='1.0'?>", b"x" * 100),
            tmp_path,
            "a.xml",
            last_chunk=None,
            budget=PackageBudget(110, 0),
        )
    assert not (tmp_path / "a.xml").exists()
    assert PackageBudget(10, 20).room == 0


async def test_idle_limited_cuts_silence_and_trickles() -> None:
    async def silent() -> AsyncIterator[bytes]:
        yield b"a"
        await asyncio.sleep(5)
        yield b"b"

    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(100):
            await asyncio.sleep(0.02)
            yield b"."

    for source in (silent(), trickle()):
        got = []
        with pytest.raises(UploadError, match="передаётся слишком медленно"):
            async for piece in idle_limited(source, 0.2, "x.xml"):
                got.append(piece)
        assert got
    fast = [p async for p in idle_limited(body(b"a", b"b"), 0.2, "x.xml")]
    assert fast == [b"a", b"b"]
