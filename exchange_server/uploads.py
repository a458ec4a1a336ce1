"""Uploaded files of a package: name checks, chunk appends, zip unpacking. Files only, no database.

The handlers keep the per-file bookkeeping (the last chunk's hash and length) in the journal and
pass it in; this module decides what a chunk means and touches the disk. Blocking calls run in a
worker thread (``asyncio.to_thread``); :func:`unpack_archive` is synchronous and is meant to be
called that way too.

Rules implemented (protocol.md §3.3, §10.1):

* a name is relative, ``/``-separated, inside the package directory; Linux 1C servers' ``/tmp/`` and
  ``upload/1c/webdata`` prefixes are stripped, ``\\`` becomes ``/``; ``..``, absolute paths, drive
  letters, ``:``, NUL/control characters, script extensions and ``.htaccess`` are refused (item 9);
* a chunk is appended to the file (item 1), written straight to it and cut back on any error, so an
  interrupted body leaves the file as it was (item 4);
* a chunk that starts a document (XML declaration, BOM + declaration, zip magic) while the file
  already has data starts the file afresh, the old one kept as ``<name>.prev`` (item 2);
* a chunk identical (sha256 and length) to the previous chunk of the file is a resend after a lost
  answer and is not appended again (item 3). The protocol has no chunk index, so this cannot be told
  apart from a file that really repeats a whole ``file_limit`` block; for XML and zip data cut into
  ``file_limit``-sized pieces that does not happen;
* archives are recognised by their magic bytes, unpacked at the first import (items 5, 6) with limits
  against zip bombs, zip-slip, links and encrypted entries; CP866 entry names are decoded (items 7, 8).
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import os
import re
import shutil
import stat
import zipfile
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Final

from exchange_server.errors import UploadError

__all__ = [
    "SCRIPT_EXTENSIONS",
    "AppendAction",
    "AppendResult",
    "ChunkRecord",
    "UnpackLimits",
    "is_zip",
    "receive_chunk",
    "resolve_in",
    "safe_relative_name",
    "unpack_archive",
]

ZIP_MAGIC: Final = b"PK\x03\x04"
_BOM: Final = b"\xef\xbb\xbf"
_LINUX_PREFIX = re.compile(r"^(/tmp/|/?upload/1c/webdata/?)")
_DRIVE = re.compile(r"^[A-Za-z]:")

# Bitrix's HasScriptExtension list (main module option "script_files") plus server-side includes.
SCRIPT_EXTENSIONS: Final = frozenset(
    {
        "php", "php3", "php4", "php5", "php6", "php7", "php8", "phtml", "pht", "phar", "pl", "py",
        "pyc", "asp", "aspx", "asmx", "cgi", "fcgi", "fcg", "fpl", "jsp", "jspx", "shtml", "shtm",
        "psp", "var", "sh", "bash", "exe", "dll", "com", "bat", "cmd", "vbs", "ps1",
    }
)  # fmt: skip
_UNSAFE_NAMES: Final = frozenset({".htaccess", ".htpasswd", ".user.ini", "web.config"})

MSG_BAD_NAME: Final = "Недопустимое имя файла: {name} ({why})."
MSG_INTERRUPTED: Final = "Файл {name} получен не полностью ({got} из {expected} байт); повторите отправку."
MSG_TOO_LARGE: Final = "Часть файла {name} больше допустимого размера {limit} байт."
MSG_BAD_ZIP: Final = "Архив {name} повреждён или не является zip-архивом: {why}"
MSG_ZIP_LIMIT: Final = "Архив {name} отклонён: {why}"


def _refuse(raw: str, why: str) -> UploadError:
    return UploadError(MSG_BAD_NAME.format(name=raw.replace("\x00", "\\0"), why=why))


def safe_relative_name(raw: str) -> PurePosixPath:
    """Check an upload (or zip entry) name and return it as a relative path.

    Args:
        raw: the ``filename`` parameter as 1C sent it.

    Returns:
        A normalised relative path (``goods/1/import___x.xml``).

    Raises:
        UploadError: the name is empty, absolute, climbs out (``..``), names a drive, holds NUL or
            control characters or ``:``, or has a script extension / is a server config file.
    """
    if not raw or not raw.strip():
        raise _refuse(raw, "пустое имя")
    if any(ord(ch) < 32 or ch == "\x7f" for ch in raw):
        raise _refuse(raw, "управляющие символы")
    name = raw.replace("\\", "/").strip()
    name = _LINUX_PREFIX.sub("", name, count=1)
    if _DRIVE.match(name):
        raise _refuse(raw, "буква диска")
    if name.startswith("/"):
        raise _refuse(raw, "абсолютный путь")
    if ":" in name:
        raise _refuse(raw, "двоеточие в имени")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts:
        raise _refuse(raw, "пустое имя")
    if ".." in parts:
        raise _refuse(raw, "выход за пределы каталога обмена")
    for part in parts:
        if part.lower() in _UNSAFE_NAMES or part != part.strip() or part.endswith("."):
            raise _refuse(raw, "служебное имя")
        # "a.php.jpg" is refused too: Apache may run it (Bitrix checks every dotted suffix).
        if any(ext.lower() in SCRIPT_EXTENSIONS for ext in part.split(".")[1:]):
            raise _refuse(raw, "исполняемое расширение")
    return PurePosixPath(*parts)


def resolve_in(package_dir: Path, name: PurePosixPath) -> Path:
    """The absolute path of ``name`` inside ``package_dir``, refusing anything that resolves outside.

    Raises:
        UploadError: the resolved path (following existing symlinks) leaves the package directory.
    """
    root = package_dir.resolve()
    target = (root / name).resolve()
    if not target.is_relative_to(root) or target == root:
        raise _refuse(str(name), "выход за пределы каталога обмена")
    return target


# --- chunk appends -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """What is remembered of the last chunk appended to a file."""

    sha256: str
    length: int


class AppendAction(enum.StrEnum):
    CREATED = "created"
    APPENDED = "appended"
    RESTARTED = "restarted"  # a new copy of the file began; the old one is <name>.prev
    DUPLICATE = "duplicate"  # the same chunk again; nothing written


@dataclass(frozen=True, slots=True)
class AppendResult:
    action: AppendAction
    name: PurePosixPath
    path: Path
    size: int  # the file's size after this chunk
    chunk: ChunkRecord


def _starts_document(head: bytes) -> bool:
    head = head.removeprefix(_BOM).lstrip(b" \t\r\n")
    return head.startswith((b"<?xml", ZIP_MAGIC))


def _open_for_chunk(path: Path, head: bytes) -> tuple[BinaryIO, int, bool]:
    """Open ``path`` for this chunk: (file, size before, restarted)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = path.stat().st_size if path.exists() else 0
    if size and _starts_document(head):
        os.replace(path, path.with_name(path.name + ".prev"))
        return open(path, "wb"), 0, True  # noqa: SIM115 - closed by the caller
    return open(path, "ab"), size, False  # noqa: SIM115


def _rollback(handle: BinaryIO, path: Path, size: int, restarted: bool) -> None:
    handle.close()
    if restarted:
        os.replace(path.with_name(path.name + ".prev"), path)
    elif size == 0:
        path.unlink(missing_ok=True)
    else:
        os.truncate(path, size)


async def receive_chunk(
    body: AsyncIterable[bytes],
    package_dir: Path,
    raw_name: str,
    *,
    last_chunk: ChunkRecord | None,
    expected_length: int | None = None,
    max_length: int | None = None,
) -> AppendResult:
    """Write one ``mode=file`` body to its file under ``package_dir``.

    Args:
        body: the raw request body, in pieces (``request.content.iter_chunked(...)``).
        package_dir: the package directory (created when missing).
        raw_name: the ``filename`` parameter.
        last_chunk: the previous chunk of this file in this package, from the journal.
        expected_length: ``Content-Length`` when the request had one.
        max_length: refuse bodies longer than this (``file_limit`` plus slack).

    Returns:
        What was done and the new file size.

    Raises:
        UploadError: a bad name, a body shorter than ``Content-Length`` or longer than ``max_length``;
            the file is left exactly as it was.
    """
    name = safe_relative_name(raw_name)
    await asyncio.to_thread(package_dir.mkdir, parents=True, exist_ok=True)
    path = resolve_in(package_dir, name)
    digest = hashlib.sha256()
    length = 0
    handle: BinaryIO | None = None
    size_before = 0
    restarted = False
    try:
        async for piece in body:
            if not piece:
                continue
            if handle is None:
                handle, size_before, restarted = await asyncio.to_thread(_open_for_chunk, path, piece)
            length += len(piece)
            if max_length is not None and length > max_length:
                raise UploadError(MSG_TOO_LARGE.format(name=name, limit=max_length))
            digest.update(piece)
            await asyncio.to_thread(handle.write, piece)  # type: ignore[union-attr]
        if expected_length is not None and length != expected_length:
            raise UploadError(MSG_INTERRUPTED.format(name=name, got=length, expected=expected_length))
        if handle is None:  # an empty body: the file exists, nothing appended
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(path.touch)
            size = await asyncio.to_thread(lambda: path.stat().st_size)
            return AppendResult(AppendAction.APPENDED, name, path, size, ChunkRecord(digest.hexdigest(), 0))
        chunk = ChunkRecord(digest.hexdigest(), length)
        if not restarted and size_before and last_chunk == chunk:
            await asyncio.to_thread(_rollback, handle, path, size_before, False)
            return AppendResult(AppendAction.DUPLICATE, name, path, size_before, chunk)
        await asyncio.to_thread(handle.close)
    except BaseException:
        if handle is not None and not handle.closed:
            await asyncio.shield(asyncio.to_thread(_rollback, handle, path, size_before, restarted))
        raise
    if restarted:
        action = AppendAction.RESTARTED
    elif size_before:
        action = AppendAction.APPENDED
    else:
        action = AppendAction.CREATED
    return AppendResult(action, name, path, size_before + length, chunk)


# --- archives ------------------------------------------------------------------------------------


def is_zip(path: Path) -> bool:
    """True when the file starts with the zip local-header magic (never judged by extension)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == ZIP_MAGIC
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class UnpackLimits:
    """Limits against zip bombs; an archive over any of them is refused as a whole."""

    max_total_bytes: int = 16 * 1024**3
    max_entries: int = 200_000
    max_ratio: int = 200  # uncompressed / compressed, per entry
    ratio_floor: int = 1024 * 1024  # entries smaller than this are not ratio-checked


def _entry_name(info: zipfile.ZipInfo) -> str:
    # Without flag bit 11 (UTF-8) zipfile decodes names as cp437; 1C on Windows writes cp866
    # (Bitrix converts from cp866 too, protocol.md §10.1 item 7).
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("cp866")
    except UnicodeError:
        return info.filename


def _check_entries(archive: Path, infos: list[zipfile.ZipInfo], limits: UnpackLimits) -> None:
    def refuse(why: str) -> UploadError:
        return UploadError(MSG_ZIP_LIMIT.format(name=archive.name, why=why))

    if len(infos) > limits.max_entries:
        raise refuse(f"слишком много файлов ({len(infos)} > {limits.max_entries})")
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        raise refuse(f"распакованный размер {total} больше допустимого {limits.max_total_bytes}")
    for info in infos:
        if info.flag_bits & 0x1:
            raise refuse(f"зашифрованный файл {_entry_name(info)}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise refuse(f"символическая ссылка {_entry_name(info)}")
        if info.file_size > limits.ratio_floor and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise refuse(f"подозрительная степень сжатия файла {_entry_name(info)}")


def unpack_archive(archive: Path, dest: Path, limits: UnpackLimits = UnpackLimits()) -> list[PurePosixPath]:
    """Unpack a zip archive into ``dest`` (synchronous; run it in a thread).

    Every entry name passes :func:`safe_relative_name` (zip-slip), sizes are checked before anything
    is written and counted again while writing (headers can lie). On any error the files written so
    far are removed; the archive itself is kept.

    Returns:
        The relative names of the files written, in archive order.

    Raises:
        UploadError: not a readable zip, a hostile name, a limit exceeded, a CRC error.
    """
    written: list[Path] = []
    names: list[PurePosixPath] = []
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            _check_entries(archive, infos, limits)
            budget = limits.max_total_bytes
            archive_resolved = archive.resolve()
            for info in infos:
                try:
                    name = safe_relative_name(_entry_name(info))
                    target = resolve_in(dest, name)
                except UploadError as exc:  # zip-slip and friends: the whole archive is refused
                    raise UploadError(MSG_ZIP_LIMIT.format(name=archive.name, why=exc.reply_text)) from exc
                if target == archive_resolved:
                    why = "архив перезаписывает сам себя"
                    raise UploadError(MSG_ZIP_LIMIT.format(name=archive.name, why=why))
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_name(target.name + ".unzip-part")
                written.append(part)
                count = 0
                with zf.open(info) as src, open(part, "wb") as out:
                    while block := src.read(1 << 20):
                        count += len(block)
                        budget -= len(block)
                        if count > info.file_size or budget < 0:
                            raise UploadError(
                                MSG_ZIP_LIMIT.format(name=archive.name, why=f"файл {name} больше заявленного")
                            )
                        out.write(block)
                os.replace(part, target)
                written[-1] = target
                names.append(name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        _remove(written)
        raise UploadError(MSG_BAD_ZIP.format(name=archive.name, why=exc)) from exc
    except BaseException:
        _remove(written)
        raise
    return names


def _remove(paths: list[Path]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
