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
* a file longer than the journal says (a server killed while it wrote a chunk, or before it booked
  one) is cut back to the booked size first, so the chunk 1C sends again lands once, after the last
  complete chunk;
* a full disk (``ENOSPC``, ``EDQUOT``) is refused with :class:`DiskFull` and the file is removed as a
  whole (its session is over; 1C starts a new exchange once space is freed);
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
import errno
import hashlib
import logging
import os
import re
import shutil
import stat
import struct
import zipfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Final

from exchange_server.digests import FileDigests
from exchange_server.errors import UploadError

__all__ = [
    "SCRIPT_EXTENSIONS",
    "AppendAction",
    "AppendResult",
    "ChunkRecord",
    "DiskFull",
    "PackageBudget",
    "UnpackLimits",
    "idle_limited",
    "is_zip",
    "receive_chunk",
    "resolve_in",
    "safe_relative_name",
    "unpack_archive",
]

log = logging.getLogger(__name__)

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
# Windows device names are devices whatever their extension ("NUL.xml", "com1.txt").
_DEVICE_NAME = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9]|conin\$|conout\$)(\.|$)", re.IGNORECASE)
MAX_NAME_BYTES: Final = 255
"""Longest path component, in UTF-8 bytes (the NAME_MAX of Linux file systems)."""
MAX_PATH_BYTES: Final = 1024
MAX_PATH_DEPTH: Final = 16

MSG_BAD_NAME: Final = "Недопустимое имя файла: {name} ({why})."
MSG_INTERRUPTED: Final = "Файл {name} получен не полностью ({got} из {expected} байт); повторите отправку."
MSG_TOO_LARGE: Final = "Часть файла {name} больше допустимого размера {limit} байт."
MSG_DISK_FULL: Final = (
    "На сервере закончилось место на диске: файл {name} не сохранён. Освободите место и повторите обмен."
)
MSG_BAD_ZIP: Final = "Архив {name} повреждён или не является zip-архивом: {why}"
MSG_ZIP_LIMIT: Final = "Архив {name} отклонён: {why}"
MSG_PACKAGE_FULL: Final = (
    "Пакет обмена превысил допустимый размер {limit} байт (файл {name}); начните обмен заново или "
    "увеличьте CML_UPLOAD_MAX_BYTES."
)
MSG_SLOW_BODY: Final = (
    "Файл {name} передаётся слишком медленно (пауза дольше {seconds:g} с или меньше {rate} байт/с); "
    "повторите отправку."
)
MIN_BODY_RATE: Final = 1024
"""Bytes per second a body must average once ``read_timeout`` has passed (a trickling client is cut)."""


class DiskFull(UploadError):
    """The disk (or the quota) of the data directory is full; the partial file was removed."""


NO_SPACE: Final = frozenset({errno.ENOSPC, errno.EDQUOT})


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
    # U+FFFD is what a percent-encoded name that is not UTF-8 decodes to: two different names
    # would land in one file. Lone surrogates cannot be stored in the journal.
    if "\ufffd" in raw or any("\ud800" <= ch <= "\udfff" for ch in raw):
        raise _refuse(raw, "имя не в кодировке UTF-8")
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
    if len(parts) > MAX_PATH_DEPTH or len("/".join(parts).encode()) > MAX_PATH_BYTES:
        raise _refuse(raw[:200], "слишком длинный путь")
    for part in parts:
        if len(part.encode()) > MAX_NAME_BYTES:
            raise _refuse(raw[:200], "слишком длинное имя")
        if part.lower() in _UNSAFE_NAMES or part != part.strip() or part.endswith("."):
            raise _refuse(raw, "служебное имя")
        if _DEVICE_NAME.match(part):
            raise _refuse(raw, "имя устройства Windows")
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


@dataclass(frozen=True, slots=True)
class PackageBudget:
    """How many bytes one package may hold in all (``upload_max_bytes``) and how many it holds now."""

    limit: int
    used: int

    @property
    def room(self) -> int:
        return max(self.limit - self.used, 0)


async def idle_limited(body: AsyncIterable[bytes], seconds: float, name: str) -> AsyncIterator[bytes]:
    """``body`` piece by piece, refusing a slow client (slowloris).

    Raises:
        UploadError: no byte arrived within ``seconds`` of the previous one, or, once ``seconds`` have
            passed, the body averages less than :data:`MIN_BODY_RATE` bytes per second.
    """
    slow = UploadError(MSG_SLOW_BODY.format(name=name, seconds=seconds, rate=MIN_BODY_RATE))
    loop = asyncio.get_running_loop()
    started = loop.time()
    received = 0
    pieces = aiter(body)
    while True:
        try:
            async with asyncio.timeout(seconds):
                piece = await anext(pieces)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise slow from None
        received += len(piece)
        elapsed = loop.time() - started
        if elapsed > seconds and received < MIN_BODY_RATE * elapsed:
            raise slow
        yield piece


def _starts_document(head: bytes) -> bool:
    head = head.removeprefix(_BOM).lstrip(b" \t\r\n")
    return head.startswith((b"<?xml", ZIP_MAGIC))


def _open_for_chunk(path: Path, head: bytes, booked: int | None) -> tuple[BinaryIO, int, bool]:
    """Open ``path`` for this chunk: (file, size before, restarted); cut back to ``booked`` bytes first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = path.stat().st_size if path.exists() else 0
    if booked is not None and size > booked:
        log.warning("%s: %d bytes past the last booked chunk cut off", path, size - booked)
        os.truncate(path, booked)
        size = booked
    if size and _starts_document(head):
        os.replace(path, path.with_name(path.name + ".prev"))
        return open(path, "wb"), 0, True  # noqa: SIM115 - closed by the caller
    return open(path, "ab"), size, False  # noqa: SIM115


def _write_piece(handle: BinaryIO, piece: bytes, digest: Any, whole: Any) -> None:
    """Hash and write one piece of a body, off the event loop (hashlib lets go of the GIL for it)."""
    digest.update(piece)
    if whole is not None:
        whole.update(piece)
    handle.write(piece)


def _rollback(handle: BinaryIO, path: Path, size: int, restarted: bool) -> None:
    try:
        handle.close()
    except OSError:  # the buffered tail could not be written; the descriptor is closed anyway
        pass
    if restarted:
        os.replace(path.with_name(path.name + ".prev"), path)
    elif size == 0:
        path.unlink(missing_ok=True)
    else:
        os.truncate(path, size)


def _remove_all(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".prev").unlink(missing_ok=True)


async def receive_chunk(
    body: AsyncIterable[bytes],
    package_dir: Path,
    raw_name: str,
    *,
    last_chunk: ChunkRecord | None,
    booked_size: int | None = None,
    expected_length: int | None = None,
    max_length: int | None = None,
    budget: PackageBudget | None = None,
    digests: FileDigests | None = None,
) -> AppendResult:
    """Write one ``mode=file`` body to its file under ``package_dir``.

    Args:
        body: the raw request body, in pieces (``request.content.iter_chunked(...)``).
        package_dir: the package directory (created when missing).
        raw_name: the ``filename`` parameter.
        last_chunk: the previous chunk of this file in this package, from the journal.
        booked_size: the file's size after its last chunk booked in the journal (0: none booked);
            bytes beyond it are the remains of an interrupted write and are cut off. None: no check.
        expected_length: ``Content-Length`` when the request had one.
        max_length: refuse bodies longer than this (``file_limit`` plus slack).
        budget: the package's size limit and what it holds already; a body that does not fit is
            refused (a ``Content-Length`` over either limit before a byte is read).
        digests: the running sha256 of whole files, fed with this chunk and updated when it is
            written (``exchange_server.digests``).

    Returns:
        What was done and the new file size.

    Raises:
        UploadError: a bad name, a body shorter than ``Content-Length`` or longer than ``max_length``
            or than the room left in the package; the file is left exactly as it was.
        DiskFull: no space left on the device; the file (and its ``.prev``) removed.
    """
    name = safe_relative_name(raw_name)

    def check(size: int) -> None:
        if max_length is not None and size > max_length:
            raise UploadError(MSG_TOO_LARGE.format(name=name, limit=max_length))
        if budget is not None and size > budget.room:
            raise UploadError(MSG_PACKAGE_FULL.format(name=name, limit=budget.limit))

    if expected_length is not None:  # refuse before reading (or writing) a byte of it
        check(expected_length)
    await asyncio.to_thread(package_dir.mkdir, parents=True, exist_ok=True)
    path = resolve_in(package_dir, name)
    digest = hashlib.sha256()
    whole: Any = None  # the running digest of the whole file, when it can be continued
    length = 0
    handle: BinaryIO | None = None
    size_before = 0
    restarted = False
    closed = False
    try:
        async for piece in body:
            if not piece:
                continue
            if handle is None:
                handle, size_before, restarted = await asyncio.to_thread(
                    _open_for_chunk, path, piece, booked_size
                )
                if digests is not None:
                    whole = digests.continue_from(path, size_before)
            length += len(piece)
            check(length)
            await asyncio.to_thread(_write_piece, handle, piece, digest, whole)  # type: ignore[arg-type]
        if expected_length is not None and length != expected_length:
            raise UploadError(MSG_INTERRUPTED.format(name=name, got=length, expected=expected_length))
        if handle is None:  # an empty body: the file exists, nothing appended
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(path.touch)
            size = await asyncio.to_thread(lambda: path.stat().st_size)
            return AppendResult(AppendAction.APPENDED, name, path, size, ChunkRecord(digest.hexdigest(), 0))
        chunk = ChunkRecord(digest.hexdigest(), length)
        if not restarted and size_before and last_chunk == chunk:
            closed = True
            await asyncio.to_thread(_rollback, handle, path, size_before, False)
            return AppendResult(AppendAction.DUPLICATE, name, path, size_before, chunk)
        await asyncio.to_thread(handle.close)  # may fail: the buffered tail is written here
        closed = True
        if digests is not None and whole is not None:
            digests.appended(path, whole)
    except OSError as exc:
        if handle is not None and not closed:
            await asyncio.shield(asyncio.to_thread(_rollback, handle, path, size_before, restarted))
        if exc.errno not in NO_SPACE:
            raise
        await asyncio.shield(asyncio.to_thread(_remove_all, path))
        raise DiskFull(MSG_DISK_FULL.format(name=name), detail=repr(exc)) from exc
    except BaseException:
        if handle is not None and not closed:
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


_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CD_ENTRY_MAX: Final = 46 + 2 * MAX_PATH_BYTES  # fixed header + a name we accept + extra fields


def _directory_size(handle: BinaryIO) -> tuple[int, int] | None:
    """(entries, bytes) of the central directory, from the end records; None when there are none.

    Read before :class:`zipfile.ZipFile` parses the directory into one object per entry, so an
    archive of millions of entries is refused without building them.
    """
    end = handle.seek(0, os.SEEK_END)
    start = max(end - _EOCD.size - 0xFFFF, 0)
    handle.seek(start)
    tail = handle.read(end - start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return None
    fields = _EOCD.unpack_from(tail, at)
    entries, size = fields[4], fields[5]
    locator_at = at - _ZIP64_LOCATOR.size
    if locator_at >= 0 and tail[locator_at : locator_at + 4] == b"PK\x06\x07":
        zip64_at = _ZIP64_LOCATOR.unpack_from(tail, locator_at)[2]
        handle.seek(zip64_at)
        head = handle.read(_ZIP64_EOCD.size)
        if len(head) == _ZIP64_EOCD.size and head[:4] == b"PK\x06\x06":
            zip64 = _ZIP64_EOCD.unpack(head)
            entries, size = zip64[7], zip64[8]
    return entries, size


def _check_directory(archive: Path, limits: UnpackLimits) -> None:
    with open(archive, "rb") as handle:
        found = _directory_size(handle)
    if found is None:  # zipfile says why
        return
    entries, size = found
    if entries > limits.max_entries:
        why = f"слишком много файлов ({entries} > {limits.max_entries})"
        raise UploadError(MSG_ZIP_LIMIT.format(name=archive.name, why=why))
    if size > max(entries, 1) * _CD_ENTRY_MAX:  # the end record lies about the count
        why = f"оглавление архива ({size} байт) не соответствует числу файлов ({entries})"
        raise UploadError(MSG_ZIP_LIMIT.format(name=archive.name, why=why))


def _check_entries(archive: Path, infos: list[zipfile.ZipInfo], limits: UnpackLimits) -> None:
    def refuse(why: str) -> UploadError:
        return UploadError(MSG_ZIP_LIMIT.format(name=archive.name, why=why))

    if len(infos) > limits.max_entries:
        raise refuse(f"слишком много файлов ({len(infos)} > {limits.max_entries})")
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        raise refuse(f"распакованный размер {total} больше допустимого {limits.max_total_bytes}")
    # Many entries just under ratio_floor each pass the per-entry check: judge the whole archive too.
    packed = sum(i.compress_size for i in infos)
    if total > limits.ratio_floor and total > limits.max_ratio * max(packed, 1):
        raise refuse(f"подозрительная степень сжатия архива ({total} байт из {packed})")
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
        _check_directory(archive, limits)
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
