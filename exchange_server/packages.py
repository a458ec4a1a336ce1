"""The work behind ``mode=import`` (and the classic synchronous ``type=sale&mode=file``): unpack, import.

I/O shell around ``uploads`` (archives), ``importer`` (the store) and ``journal`` (the outcome). Each
function runs inside an import job (``jobs.ImportJob``) or, for classic orders, inside the request.
The durable state of every file (running / done / failed, its sha256 and size) is in the journal;
nothing here depends on memory surviving a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange_server import journal
from exchange_server.digests import FileDigests
from exchange_server.errors import IMPORT_BEFORE_UPLOAD, ExchangeError, ImportFailed
from exchange_server.importer import CatalogImporter, OrderImporter
from exchange_server.jobs import ImportJob, ImportJobs, JobOutcome
from exchange_server.journal import FileState
from exchange_server.protocol import MSG_UNPACKED, MSG_UNPACKING, Kind
from exchange_server.settings import Settings
from exchange_server.uploads import UnpackLimits, resolve_in, unpack_archive

__all__ = ["Exchange", "import_catalog_file", "import_order_files", "package_dir"]

log = logging.getLogger(__name__)

MSG_EMPTY_FILE: Final = "Файл для импорта пуст."
MSG_INTERNAL: Final = "Внутренняя ошибка сервера при импорте файла {name}: {error}"
MSG_READING: Final = "Файл {name} принят, идёт импорт."
MSG_REUSED: Final = " (the same file as in package {package}, unchanged since: not read again)"
XML_SUFFIXES: Final = (".xml",)


@dataclass(slots=True)
class Exchange:
    """Everything the exchange handlers need, created once per application in ``cleanup_ctx``."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    catalog: CatalogImporter
    orders: OrderImporter
    jobs: ImportJobs = field(default_factory=ImportJobs)
    digests: FileDigests = field(default_factory=FileDigests)
    limits: UnpackLimits = field(default_factory=UnpackLimits)
    _unpack_locks: defaultdict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))

    def unpack_lock(self, package_id: str) -> asyncio.Lock:
        return self._unpack_locks[package_id]


def package_dir(settings: Settings, kind: Kind, package_id: str) -> Path:
    """``<data_dir>/packages/<type>/<package id>``: one directory per init, kept after the exchange."""
    return settings.packages_dir / kind.value / package_id


async def _sha256(ex: Exchange, path: Path) -> tuple[str, int]:
    """The file's sha256 and size: from the upload's running digest, else read from disk."""
    known = ex.digests.hexdigest(path)
    if known is not None:
        return known
    return await asyncio.to_thread(_hash_file, path)


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _sizes(root: Path, names: list[PurePosixPath]) -> list[tuple[str, int]]:
    return [(str(n), (root / n).stat().st_size) for n in names]


async def ensure_unpacked(ex: Exchange, package_id: str, root: Path, job: ImportJob | None) -> None:
    """Unpack every archive of the package not unpacked yet, in upload order (protocol.md §10.1 item 6).

    Raises:
        UploadError: a broken or hostile archive (nothing of it kept).
    """
    async with ex.unpack_lock(package_id):
        async with ex.sessionmaker.begin() as db:
            archives = [(a.id, a.name) for a in await journal.pending_archives(db, package_id)]
        for file_id, name in archives:
            if job is not None:
                job.report(MSG_UNPACKING)
            archive = resolve_in(root, PurePosixPath(name))
            sha256, _ = await _sha256(ex, archive)
            names = await asyncio.to_thread(unpack_archive, archive, root, ex.limits)
            entries = await asyncio.to_thread(_sizes, root, names)
            async with ex.sessionmaker.begin() as db:
                await journal.add_unpacked_files(db, package_id, entries)
                await journal.mark_unpacked(db, file_id, sha256=sha256)
            log.info("package %s: unpacked %s (%d files)", package_id, name, len(names))
        if archives and job is not None:
            job.report(MSG_UNPACKED)


async def _start(ex: Exchange, package_id: str, root: Path, name: str) -> tuple[Path, str]:
    """Check the file is there and not empty; journal it as running with its sha256 (returned too)."""
    path = resolve_in(root, PurePosixPath(name))
    if not await asyncio.to_thread(path.is_file):
        raise ImportFailed(IMPORT_BEFORE_UPLOAD.format(name=name))
    sha256, size = await _sha256(ex, path)
    if size == 0:
        raise ImportFailed(MSG_EMPTY_FILE, detail=name)
    async with ex.sessionmaker.begin() as db:
        await journal.set_import_state(
            db,
            package_id,
            name,
            FileState.RUNNING,
            status=MSG_READING.format(name=name),
            sha256=sha256,
            size=size,
        )
    return path, sha256


async def _failed(ex: Exchange, package_id: str, name: str, error: str) -> None:
    try:
        async with ex.sessionmaker.begin() as db:
            await journal.set_import_state(db, package_id, name, FileState.FAILED, error=error)
    except Exception:  # the journal must not hide the import's own error
        log.exception("package %s: could not record the failure of %s", package_id, name)


async def import_catalog_file(
    ex: Exchange, package_id: str, root: Path, name: str, job: ImportJob
) -> JobOutcome:
    """Unpack pending archives, then import one catalog file; record the outcome in the journal.

    Raises:
        ImportFailed / UploadError: the reason 1C gets on the ``failure`` line.
    """
    try:
        await ensure_unpacked(ex, package_id, root, job)
        path, sha256 = await _start(ex, package_id, root, name)
        result = await ex.catalog.import_file(
            path, package_id=package_id, base_dir=root, progress=job.report, sha256=sha256
        )
    except ExchangeError as exc:
        await _failed(ex, package_id, name, exc.reply_text)
        raise
    except Exception as exc:  # step boundary (STYLE.md §2.7): journal it, hand 1C a failure
        error = MSG_INTERNAL.format(name=name, error=type(exc).__name__)
        await _failed(ex, package_id, name, error)
        raise ImportFailed(error, detail=repr(exc)) from exc
    summary = ", ".join(f"{kind}: {n}" for kind, n in sorted(result.counts.items()))
    if result.reused_from is not None:
        summary += MSG_REUSED.format(package=result.reused_from)
    async with ex.sessionmaker.begin() as db:
        await journal.set_import_state(
            db, package_id, name, FileState.DONE, status=summary, remarks=result.warnings
        )
    await _finish_if_complete(ex, package_id)
    return JobOutcome(summary=summary)


async def _finish_if_complete(ex: Exchange, package_id: str) -> None:
    # Classic exchanges never send deactivate/complete (protocol.md §4.1, §5.2 signal 3): once every
    # XML file of the package is imported, close it; the importer sweeps only kinds received as
    # full lists, so a later file of the same package is still welcome.
    async with ex.sessionmaker.begin() as db:
        files = await journal.package_files(db, package_id)
    xml = [f for f in files if not f.is_archive and f.name.lower().endswith(XML_SUFFIXES)]
    if xml and all(f.import_state == FileState.DONE for f in xml):
        await ex.catalog.finish_package(package_id, deactivate_unseen=False)


async def import_order_files(
    ex: Exchange, package_id: str, root: Path, name: str, job: ImportJob | None
) -> JobOutcome:
    """Import orders from 1C: the named XML file, or every XML file an uploaded archive held.

    Returns:
        The remarks 1C shows after ``success`` (documents skipped, orders not found ...).

    Raises:
        ImportFailed / UploadError: the reason for the ``failure`` line.
    """
    remarks: list[str] = []
    targets = [name]
    try:
        await ensure_unpacked(ex, package_id, root, job)
        async with ex.sessionmaker.begin() as db:
            row = await journal.file_row(db, package_id, name)
            if row is not None and row.is_archive:
                files = await journal.package_files(db, package_id)
                targets = [
                    f.name
                    for f in files
                    if f.origin == "archive" and f.name.lower().endswith(XML_SUFFIXES)
                    and f.import_state != FileState.DONE
                ]
        for target in targets:
            path, _ = await _start(ex, package_id, root, target)
            if job is not None:
                job.report(MSG_READING.format(name=target))
            result = await ex.orders.import_file(path, package_id=package_id)
            remarks.extend(result.remarks)
            async with ex.sessionmaker.begin() as db:
                status = ", ".join(f"{k}: {n}" for k, n in sorted(result.counts.items()))
                await journal.set_import_state(
                    db, package_id, target, FileState.DONE, status=status, remarks=result.remarks
                )
    except ExchangeError as exc:
        for target in targets:
            await _failed(ex, package_id, target, exc.reply_text)
        raise
    except Exception as exc:  # step boundary (STYLE.md §2.7)
        error = MSG_INTERNAL.format(name=name, error=type(exc).__name__)
        for target in targets:
            await _failed(ex, package_id, target, error)
        raise ImportFailed(error, detail=repr(exc)) from exc
    if name not in targets:
        async with ex.sessionmaker.begin() as db:
            await journal.set_import_state(db, package_id, name, FileState.DONE, remarks=remarks)
    return JobOutcome(remarks=tuple(remarks))
