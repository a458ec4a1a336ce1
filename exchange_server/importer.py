"""Importing CommerceML files into the store: catalogs (goods, offers, prices, stock) and orders from 1C.

The I/O shell around ``commerceml.reader`` and ``exchange_server.store``. Not the protocol (when to
import, the time budget per ``mode=import`` call, the journal): the handlers run
:meth:`CatalogImporter.import_file` as a background job and report its progress.

Theory of operation
-------------------
The streaming reader and the conversion to rows run in a worker thread (``store.batches``) or, for a
large file, a parser process (``store.parsing``); the event loop only writes ready batches of
``batch_size`` rows, each batch in its own transaction on PostgreSQL, several batches per transaction
on SQLite (``store.transactions``). Memory stays flat whatever the file size, and the loop stays
responsive. Because every write is an idempotent upsert keyed by the 1C Ид, an import interrupted at
any point (server killed) is completed by simply importing the same file again. Deactivation of what
a full package did not contain happens only in :meth:`CatalogImporter.finish_package`, once the whole
package is in.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Final

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerceml.errors import CommerceMLError
from commerceml.model import (
    Document,
    FileRole,
)
from commerceml.reader import ReadSummary, iter_file
from exchange_server.errors import ImportFailed
from exchange_server.store import catalog, orders, parsing, queries, reuse, transactions
from exchange_server.store.batches import consume_in_thread
from exchange_server.store.codec import CodecError
from exchange_server.store.retry import retry_transient
from exchange_server.store.rows import Kind

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "CatalogImporter",
    "FinishResult",
    "ImportResult",
    "OrderImporter",
    "OrderImportResult",
    "commit_query",
    "orders_for_query",
]

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE: Final = 2000
"""Entities written per statement and transaction (one statement per table and batch)."""

DEFAULT_CHUNK_SIZE: Final = 64 * 1024
"""Bytes the reader hands lxml at a time. lxml holds the GIL while it parses a chunk: 1 MiB took
15-20 ms, during which the event loop could not answer anyone; 64 KiB costs no measurable speed."""

PIPE_DEPTH: Final = 2
"""Batches the parser may have ready ahead of the database (memory: depth x batch)."""

DEFAULT_PROCESS_THRESHOLD: Final = 16 * 1024 * 1024
"""Files of at least this many bytes are parsed in a parser process (``store.parsing``), smaller ones
in a thread: starting a process costs about as much as parsing a few megabytes."""

LABELS: Final = {
    Kind.GROUP: "groups",
    Kind.PROPERTY: "properties",
    Kind.PRICE_TYPE: "price types",
    Kind.WAREHOUSE: "warehouses",
    Kind.UNIT: "units",
    Kind.PRODUCT: "products",
    Kind.OFFER: "offers",
    Kind.ORDER: "orders",
}

IMPORT_ERROR: Final = "Ошибка импорта файла {name}: {reason}"
DATABASE_ERROR: Final = "Ошибка базы данных при импорте файла {name}"
PARSER_FAILED: Final = "Процесс разбора файла {name} завершился аварийно; повторите обмен"
SKIPPED_DOCUMENT: Final = (
    "Документ {id} ({operation}) пропущен: сайт принимает только заказы, оплаты и отгрузки."
)

Progress = Callable[[str], None]
Sessionmaker = async_sessionmaker[AsyncSession]
Batch = parsing.Batch


@dataclass(slots=True)
class ImportResult:
    """What one file held and what the import did with it.

    ``counts`` are the entities received per kind (``products``, ``offers``, ``groups``, ...),
    ``written`` those stored as new or changed, ``skipped`` those found unchanged. ``reused_from`` is
    the package whose import of the same bytes was reused instead of reading the file
    (``exchange_server.store.reuse``), else None.
    """

    file: str
    role: FileRole
    schema_version: str | None
    changes_only: bool | None
    counts: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    reused_from: str | None = None


@dataclass(slots=True)
class FinishResult:
    """The end of a package: entities deactivated per kind, offers still waiting for their product."""

    deactivated: dict[str, int]
    pending_offers: int


@dataclass(slots=True)
class OrderImportResult:
    """Orders uploaded by 1C: counts, and remarks 1C shows its user after ``success``."""

    file: str
    counts: dict[str, int] = field(default_factory=dict)
    remarks: list[str] = field(default_factory=list)


def display_name(path: Path, base_dir: Path | None) -> str:
    """The file name relative to the package directory (``goods/1/import___x.xml``), else the name."""
    if base_dir is not None:
        try:
            return path.resolve().relative_to(base_dir.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


class CatalogImporter:
    """Imports catalog files (classifier, goods, offers, prices, rests) of a package into the store.

    Args:
        sessionmaker: the application's ``async_sessionmaker``.
        batch_size: entities per write statement and transaction.
        chunk_size: bytes the reader parses at a time.
        process_threshold: files of at least this many bytes are read in a separate parser process
            (the parsing then runs on another core than the database work); None: always a thread.
        sqlite_group_seconds: on SQLite, how long one transaction stays open for more batches
            (``store.transactions``); 0: one transaction per batch.
    """

    def __init__(
        self,
        sessionmaker: Sessionmaker,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        process_threshold: int | None = DEFAULT_PROCESS_THRESHOLD,
        sqlite_group_seconds: float = transactions.SQLITE_GROUP_SECONDS,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self._sessionmaker = sessionmaker
        self._batch_size = batch_size
        self._chunk_size = chunk_size
        self._process_threshold = process_threshold
        self._sqlite_group_seconds = sqlite_group_seconds
        self._finished: list[Callable[[str], None]] = []

    def on_finished(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call ``listener(package_id)`` after every package closes (:meth:`finish_package`).

        The Bitrix24 bridge wakes its worker with it. Listeners must be quick; one that raises is
        logged and skipped. Returns: the function that removes the listener again.
        """
        self._finished.append(listener)

        def remove() -> None:
            if listener in self._finished:
                self._finished.remove(listener)

        return remove

    async def import_file(
        self,
        path: Path,
        *,
        package_id: str,
        base_dir: Path,
        progress: Progress | None = None,
        sha256: str | None = None,
    ) -> ImportResult:
        """Import one file of ``package_id`` (any catalog role; documents inside are ignored).

        With the file's ``sha256`` the import is recorded, and an earlier import of the same bytes is
        reused instead of reading the file when the store proves that reading it would change nothing
        but the package mark (``exchange_server.store.reuse``).

        Returns:
            The counts per entity kind and the reader's warnings.

        Raises:
            ImportFailed: the file is not readable CommerceML (wrapping the ``CommerceMLError``) or the
                database failed (wrapping the ``SQLAlchemyError``). What was written before stays: a
                new import of the file completes it.
        """
        name = display_name(path, base_dir)
        summary = ReadSummary(filename=str(path))
        warnings: list[str] = []
        file_dir = posixpath.dirname(name)  # images are relative to the XML file's folder
        received: Counter[Kind] = Counter()
        written: Counter[Kind] = Counter()
        skipped: Counter[Kind] = Counter()

        def produce(put: Callable[[Batch], None]) -> None:
            parsing.produce_batches(
                path,
                file_dir,
                batch_size=self._batch_size,
                chunk_size=self._chunk_size,
                summary=summary,
                warnings=warnings,
                put=put,
            )

        try:
            try:
                size = (await asyncio.to_thread(path.stat)).st_size
            except OSError:
                size = 0  # the reader reports it below, as for any unreadable file
            if sha256 is not None:
                reused = await retry_transient(partial(self._reuse, name, package_id, sha256, size))
                if reused is not None:
                    return reused
            source: AbstractAsyncContextManager[AsyncIterator[Batch]]
            if self._process_threshold is not None and size >= self._process_threshold:
                source = parsing.consume_in_process(
                    path,
                    file_dir,
                    batch_size=self._batch_size,
                    chunk_size=self._chunk_size,
                    summary=summary,
                    warnings=warnings,
                    depth=PIPE_DEPTH,
                )
            else:
                source = consume_in_thread(produce, depth=PIPE_DEPTH, name=f"import {name}")
            writer = transactions.batch_writer(
                self._sessionmaker, package_id, group_seconds=self._sqlite_group_seconds
            )
            async with source as batches, writer as write:
                async for kind, rows in batches:
                    outcome = await write(kind, rows)
                    received[kind] += len(rows)
                    written[kind] += outcome.written
                    skipped[kind] += outcome.skipped
                    if progress is not None:
                        progress(f"Imported {received[kind]} {LABELS[kind]} of {name}")
            warnings.extend(
                f"line {w.line}: {w.message}" if w.line is not None else w.message for w in summary.warnings
            )
            async with self._sessionmaker() as session, session.begin():
                await catalog.record_scope(session, package_id, name, dict(received), summary.changes_only)
                if sha256 is not None:
                    record = reuse.ImportRecord(
                        sha256=sha256,
                        size=size,
                        role=str(summary.role),
                        schema_version=summary.schema_version,
                        changes_only=summary.changes_only,
                        warnings=tuple(warnings),
                    )
                    await reuse.record_import(session, package_id, name, record)
        except CommerceMLError as exc:
            raise ImportFailed(IMPORT_ERROR.format(name=name, reason=exc.message), detail=str(exc)) from exc
        except SQLAlchemyError as exc:
            raise ImportFailed(DATABASE_ERROR.format(name=name), detail=str(exc)) from exc
        except parsing.ParserProcessFailed as exc:
            raise ImportFailed(PARSER_FAILED.format(name=name), detail=str(exc)) from exc
        return ImportResult(
            file=name,
            role=summary.role,
            schema_version=summary.schema_version,
            changes_only=summary.changes_only,
            counts={str(k): n for k, n in received.items()},
            written={str(k): n for k, n in written.items() if n},
            skipped={str(k): n for k, n in skipped.items() if n},
            warnings=warnings,
        )

    async def _reuse(self, name: str, package_id: str, sha256: str, size: int) -> ImportResult | None:
        async with self._sessionmaker() as session, session.begin():
            found = await reuse.reuse_import(
                session, sha256=sha256, size=size, package_id=package_id, file=name
            )
        if found is None:
            return None
        counts = {str(k): n for k, n in found.counts.items()}
        return ImportResult(
            file=name,
            role=FileRole(found.record.role),
            schema_version=found.record.schema_version,
            changes_only=found.record.changes_only,
            counts=counts,
            skipped=dict(counts),
            warnings=list(found.record.warnings),
            reused_from=found.package_id,
        )

    async def finish_package(self, package_id: str, *, deactivate_unseen: bool) -> FinishResult:
        """Close a package: deactivate what a full package did not contain (never delete).

        Call once all files of the package are imported: after ``mode=deactivate`` with
        ``deactivate_unseen=True``; at ``mode=complete`` or when a classic package ends with ``False``
        (kinds received as full lists are then swept, changes-only ones never).

        Raises:
            ImportFailed: the database failed.
        """
        try:
            async with self._sessionmaker() as session, session.begin():
                swept = await catalog.sweep_package(session, package_id, deactivate_unseen=deactivate_unseen)
                pending = await queries.count_pending_offers(session)
        except SQLAlchemyError as exc:
            raise ImportFailed(DATABASE_ERROR.format(name=package_id), detail=str(exc)) from exc
        for listener in list(self._finished):
            try:
                listener(package_id)
            except Exception:  # a listener must never fail the exchange with 1C
                log.exception("package %s: a finished-package listener failed", package_id)
        return FinishResult(deactivated={str(k): n for k, n in swept.items()}, pending_offers=pending)


class OrderImporter:
    """Imports documents uploaded by 1C (``type=sale&mode=file``): orders and their 2.10 payments and
    shipments stored, other documents remarked."""

    def __init__(
        self,
        sessionmaker: Sessionmaker,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._batch_size = batch_size
        self._chunk_size = chunk_size

    async def _save_batch(self, documents: list[Document], package_id: str) -> orders.SaveResult:
        async with self._sessionmaker() as session, session.begin():
            return await orders.save_orders(session, documents, source=orders.FROM_1C, package_id=package_id)

    async def import_file(self, path: Path, *, package_id: str) -> OrderImportResult:
        """Store the orders of ``path``; documents with an unchanged ``НомерВерсии`` are skipped.

        Raises:
            ImportFailed: unreadable CommerceML or a database error (nothing of the failed batch kept).
        """
        name = path.name
        remarks: list[str] = []
        counts: Counter[str] = Counter()

        def produce(put: Callable[[list[Document]], None]) -> None:
            batch: list[Document] = []
            for entity in iter_file(path, self._chunk_size):
                if not isinstance(entity, Document):
                    continue
                if not orders.is_stored(entity):  # orders and their 2.10 payments/shipments are kept
                    remarks.append(SKIPPED_DOCUMENT.format(id=entity.id, operation=entity.operation))
                    continue
                batch.append(entity)
                if len(batch) >= self._batch_size:
                    put(batch)
                    batch = []
            if batch:
                put(batch)

        try:
            async with consume_in_thread(produce, name=f"orders {name}") as batches:
                async for documents in batches:
                    saved = await retry_transient(partial(self._save_batch, documents, package_id))
                    counts["documents"] += len(documents)
                    counts["written"] += saved.written
                    counts["skipped"] += saved.skipped
        except CommerceMLError as exc:
            raise ImportFailed(IMPORT_ERROR.format(name=name, reason=exc.message), detail=str(exc)) from exc
        except SQLAlchemyError as exc:
            raise ImportFailed(DATABASE_ERROR.format(name=name), detail=str(exc)) from exc
        counts["not_orders"] = len(remarks)
        return OrderImportResult(file=name, counts=dict(counts), remarks=remarks)


async def orders_for_query(sessionmaker: Sessionmaker, *, limit: int) -> list[Document]:
    """Orders for ``type=sale&mode=query``: changed here since 1C last confirmed them, oldest first.

    Each document's ``version`` is the revision to hand back to :func:`commit_query`.
    """
    try:
        async with sessionmaker() as session:
            return await orders.pending_orders(session, limit=limit)
    except (SQLAlchemyError, CodecError) as exc:
        raise ImportFailed("Ошибка чтения заказов из базы данных", detail=str(exc)) from exc


async def commit_query(sessionmaker: Sessionmaker, exported: list[tuple[str, str]]) -> None:
    """``mode=success``: mark exactly these (order id, version) pairs, as returned by the query, exported."""
    try:
        async with sessionmaker() as session, session.begin():
            await orders.commit_exported(session, exported)
    except SQLAlchemyError as exc:
        raise ImportFailed("Ошибка записи в базу данных", detail=str(exc)) from exc
