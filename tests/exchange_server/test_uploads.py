"""Uploads: name checks, chunk appends (restart, duplicate, interruption), zip unpacking and its limits."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Iterable
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange_server.errors import UploadError
from exchange_server.uploads import (
    AppendAction,
    ChunkRecord,
    UnpackLimits,
    is_zip,
    receive_chunk,
    resolve_in,
    safe_relative_name,
    unpack_archive,
)


async def body(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def broken_body(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece
    raise ConnectionResetError("client went away")


# --- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("import.xml", "import.xml"),
        ("import0_1.xml", "import0_1.xml"),
        ("goods/1/import___b815e2db.xml", "goods/1/import___b815e2db.xml"),
        ("import_files\\4e\\4e1a_9c0b.jpg", "import_files/4e/4e1a_9c0b.jpg"),
        ("/tmp/import.xml", "import.xml"),
        ("upload/1c/webdata/000000001/import.xml", "000000001/import.xml"),
        ("/upload/1c/webdata/import.xml", "import.xml"),
        ("./a//b/./c.xml", "a/b/c.xml"),
        ("Выгрузка товаров.xml", "Выгрузка товаров.xml"),
        ("v8_2FF7_128.zip", "v8_2FF7_128.zip"),
    ],
)
def test_good_names(raw: str, expected: str) -> None:
    assert safe_relative_name(raw) == PurePosixPath(expected)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "../import.xml",
        "goods/../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "/etc/passwd",
        "//server/share/a.xml",
        "C:\\1c\\import.xml",
        "c:import.xml",
        "import.xml\x00.jpg",
        "imp\nort.xml",
        "shell.php",
        "shell.PHP5",
        "pic.php.jpg",
        "x/y.phtml",
        "run.sh",
        ".htaccess",
        "sub/.HTACCESS",
        "file.xml:stream",
        "trailing.",
        "/tmp/",
        ".",
    ],
)
def test_bad_names_are_refused(raw: str) -> None:
    with pytest.raises(UploadError):
        safe_relative_name(raw)


@given(st.text(min_size=1, max_size=40))
def test_any_accepted_name_stays_inside(raw: str) -> None:
    try:
        name = safe_relative_name(raw)
    except UploadError:
        return
    assert not name.is_absolute()
    assert ".." not in name.parts
    root = Path("/srv/pkg")
    assert (root / name).is_relative_to(root)


def test_resolve_in_refuses_symlink_escape(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "link").symlink_to(outside)
    with pytest.raises(UploadError):
        resolve_in(pkg, PurePosixPath("link/a.xml"))
    assert resolve_in(pkg, PurePosixPath("a/b.xml")) == (pkg / "a/b.xml").resolve()


# --- chunks ---------------------------------------------------------------------------------------

XML = (
    b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<root>'
    + b"".join(b"<i>%d</i>" % i for i in range(40))
    + b"</root>\n"
)


async def send_in_chunks(pkg: Path, name: str, data: bytes, size: int) -> ChunkRecord | None:
    last: ChunkRecord | None = None
    for start in range(0, len(data), size):
        piece = data[start : start + size]
        pieces = [piece[i : i + 5] for i in range(0, len(piece), 5)]
        result = await receive_chunk(body(*pieces), pkg, name, last_chunk=last)
        last = result.chunk
    return last


@pytest.mark.parametrize("size", [13, 64, len(XML) - 1, len(XML), 10_000])
async def test_chunks_are_appended_in_order(tmp_path: Path, size: int) -> None:
    await send_in_chunks(tmp_path, "goods/1/import.xml", XML, size)
    assert (tmp_path / "goods/1/import.xml").read_bytes() == XML


async def test_first_chunk_creates_then_appends(tmp_path: Path) -> None:
    first = await receive_chunk(body(XML[:50]), tmp_path, "a.xml", last_chunk=None)
    assert first.action is AppendAction.CREATED and first.size == 50
    second = await receive_chunk(body(XML[50:]), tmp_path, "a.xml", last_chunk=first.chunk)
    assert second.action is AppendAction.APPENDED and second.size == len(XML)


async def test_resent_file_starts_afresh_and_keeps_prev(tmp_path: Path) -> None:
    last = await send_in_chunks(tmp_path, "a.xml", XML, 40)
    # 1C retries the whole exchange without a new init: the first chunk comes again.
    result = await receive_chunk(body(XML[:40]), tmp_path, "a.xml", last_chunk=last)
    assert result.action is AppendAction.RESTARTED
    assert (tmp_path / "a.xml").read_bytes() == XML[:40]
    assert (tmp_path / "a.xml.prev").read_bytes() == XML
    await receive_chunk(body(XML[40:]), tmp_path, "a.xml", last_chunk=result.chunk)
    assert (tmp_path / "a.xml").read_bytes() == XML


async def test_resent_zip_starts_afresh(tmp_path: Path) -> None:
    archive = make_zip({"import.xml": XML})
    await receive_chunk(body(archive), tmp_path, "pack.zip", last_chunk=None)
    result = await receive_chunk(body(archive[:30]), tmp_path, "pack.zip", last_chunk=None)
    assert result.action is AppendAction.RESTARTED


async def test_duplicate_chunk_is_not_appended_twice(tmp_path: Path) -> None:
    first = await receive_chunk(body(XML[:40]), tmp_path, "a.xml", last_chunk=None)
    second = await receive_chunk(body(XML[40:80]), tmp_path, "a.xml", last_chunk=first.chunk)
    again = await receive_chunk(body(XML[40:80]), tmp_path, "a.xml", last_chunk=second.chunk)
    assert again.action is AppendAction.DUPLICATE
    assert again.size == 80
    await receive_chunk(body(XML[80:]), tmp_path, "a.xml", last_chunk=again.chunk)
    assert (tmp_path / "a.xml").read_bytes() == XML


async def test_interrupted_body_leaves_file_unchanged(tmp_path: Path) -> None:
    first = await receive_chunk(body(XML[:40]), tmp_path, "a.xml", last_chunk=None)
    with pytest.raises(ConnectionResetError):
        await receive_chunk(broken_body(XML[40:60]), tmp_path, "a.xml", last_chunk=first.chunk)
    assert (tmp_path / "a.xml").read_bytes() == XML[:40]
    with pytest.raises(UploadError, match="не полностью"):
        await receive_chunk(
            body(XML[40:60]), tmp_path, "a.xml", last_chunk=first.chunk, expected_length=100
        )
    assert (tmp_path / "a.xml").read_bytes() == XML[:40]


async def test_interrupted_first_chunk_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(ConnectionResetError):
        await receive_chunk(broken_body(XML[:20]), tmp_path, "a.xml", last_chunk=None)
    assert not (tmp_path / "a.xml").exists()


async def test_interrupted_restart_restores_previous_copy(tmp_path: Path) -> None:
    await receive_chunk(body(XML), tmp_path, "a.xml", last_chunk=None)
    with pytest.raises(ConnectionResetError):
        await receive_chunk(broken_body(XML[:20]), tmp_path, "a.xml", last_chunk=None)
    assert (tmp_path / "a.xml").read_bytes() == XML


async def test_body_over_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UploadError):
        await receive_chunk(body(XML), tmp_path, "a.xml", last_chunk=None, max_length=10)
    assert not (tmp_path / "a.xml").exists()


async def test_bad_name_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(UploadError):
        await receive_chunk(body(XML), tmp_path / "pkg", "../evil.xml", last_chunk=None)
    assert not (tmp_path / "evil.xml").exists()


# --- archives -------------------------------------------------------------------------------------


class _Cp866Info(zipfile.ZipInfo):
    """Writes its name in CP866 without the UTF-8 flag, as 1C on Windows does."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 - zipfile's hook name
        return self.filename.encode("cp866"), self.flag_bits & ~0x800


def make_zip(entries: dict[str, bytes], *, cp866: Iterable[str] = ()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = _Cp866Info(name) if name in cp866 else zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return out.getvalue()


def write_zip(path: Path, entries: dict[str, bytes], **kw: Iterable[str]) -> Path:
    path.write_bytes(make_zip(entries, **kw))
    return path


def test_unpack_with_subfolders_and_cp866_names(tmp_path: Path) -> None:
    archive = write_zip(
        tmp_path / "v8_2FF7_128.zip",
        {"import0_1.xml": XML, "import_files/4e/pic.jpg": b"\xff\xd8jpg", "Прайс.xml": XML},
        cp866=["Прайс.xml"],
    )
    assert is_zip(archive) and not is_zip(tmp_path / "missing")
    names = unpack_archive(archive, tmp_path)
    assert [str(n) for n in names] == ["import0_1.xml", "import_files/4e/pic.jpg", "Прайс.xml"]
    assert (tmp_path / "Прайс.xml").read_bytes() == XML
    assert (tmp_path / "import_files/4e/pic.jpg").read_bytes() == b"\xff\xd8jpg"


@pytest.mark.parametrize("evil", ["../evil.xml", "/etc/evil.xml", "a/../../evil.xml", "C:/evil.xml", "x.php"])
def test_zip_slip_is_refused_and_nothing_kept(tmp_path: Path, evil: str) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    archive = write_zip(pkg / "a.zip", {"good.xml": XML, evil: b"owned"})
    with pytest.raises(UploadError):
        unpack_archive(archive, pkg)
    assert not (tmp_path / "evil.xml").exists()
    assert not (pkg / "good.xml").exists()
    assert archive.exists()


def test_zip_bomb_ratio_is_refused(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "bomb.zip", {"import.xml": b"\0" * (4 * 1024 * 1024)})
    with pytest.raises(UploadError, match="сжатия"):
        unpack_archive(archive, tmp_path)
    assert not (tmp_path / "import.xml").exists()


def test_zip_total_size_and_entry_limits(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "a.zip", {f"f{i}.xml": XML for i in range(5)})
    with pytest.raises(UploadError, match="слишком много"):
        unpack_archive(archive, tmp_path, UnpackLimits(max_entries=4))
    with pytest.raises(UploadError, match="размер"):
        unpack_archive(archive, tmp_path, UnpackLimits(max_total_bytes=len(XML) * 4))
    assert unpack_archive(archive, tmp_path, UnpackLimits(max_entries=5)) == [
        PurePosixPath(f"f{i}.xml") for i in range(5)
    ]


def test_lying_header_is_caught_while_writing(tmp_path: Path) -> None:
    data = bytearray(make_zip({"import.xml": XML * 10}))
    # Shrink the declared uncompressed size in the central directory (offset 24 of its header).
    cd = data.rindex(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    archive = tmp_path / "liar.zip"
    archive.write_bytes(bytes(data))
    with pytest.raises(UploadError):
        unpack_archive(archive, tmp_path)
    assert not (tmp_path / "import.xml").exists()


def test_truncated_archive_is_refused(tmp_path: Path) -> None:
    data = make_zip({"import.xml": XML * 50})
    archive = tmp_path / "cut.zip"
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(UploadError, match="повреждён"):
        unpack_archive(archive, tmp_path)


def test_symlink_entry_is_refused(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    archive = tmp_path / "l.zip"
    archive.write_bytes(out.getvalue())
    with pytest.raises(UploadError, match="ссылка"):
        unpack_archive(archive, tmp_path)
