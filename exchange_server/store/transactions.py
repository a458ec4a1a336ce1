"""Catalog batches -> transactions: one per batch on PostgreSQL, several batches per one on SQLite.

Theory of operation
-------------------
Every catalog batch is an idempotent set of upserts (``store.catalog``), so any grouping of batches
into transactions is correct: an import killed between two commits is completed by importing the
file again. What differs is the cost.

* **SQLite** (WAL, ``synchronous=NORMAL``): a commit appends every page the transaction dirtied to
  the WAL, and once the WAL passes its auto-checkpoint size the committing connection copies those
  pages back into the database file and syncs it. 1C's Ид are random GUIDs, so a batch of 2,000
  rows touches a leaf page of every index almost per row: committing each batch wrote most index
  pages again and again and checkpointed after nearly every batch: the server side of the generated
  100,000-product catalog took 28.7 s with a commit per batch, 15.2 s grouped (docs/performance.md).
  Here batches share one transaction until it has been open for :data:`SQLITE_GROUP_SECONDS`
  (then it commits at the next batch boundary). SQLite has one writer at a time, the import's
  transaction holds that lock while it is open, and every session of the application begins with
  ``BEGIN IMMEDIATE`` (``db.engine``), reads included. So the time bound plus one batch is also the
  longest any other request (a journal entry, another 1C node's upload, the operator API) waits
  behind an import: a few seconds, well inside ``busy_timeout`` and the ``mode=import`` step.
  There are no deadlocks on SQLite (``BEGIN IMMEDIATE`` takes the lock up front), so nothing is
  retried.
* **PostgreSQL**: each batch is its own transaction, run again when PostgreSQL aborts it for a
  concurrent one (``store.retry``): two imports writing the same rows can deadlock, and only a short
  transaction is cheap to repeat. PostgreSQL's commit cost does not grow with the pages touched.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange_server.store import catalog
from exchange_server.store.retry import retry_transient
from exchange_server.store.rows import EntityRow, Kind, OfferRow

__all__ = ["SQLITE_GROUP_SECONDS", "WriteBatch", "batch_writer"]

SQLITE_GROUP_SECONDS: Final = 2.0
"""How long a SQLite import transaction stays open for more batches before it commits."""

Rows = list[EntityRow] | list[OfferRow]
WriteBatch = Callable[[Kind, Rows], Awaitable[catalog.BatchResult]]


async def _write(session: AsyncSession, kind: Kind, rows: Rows, package_id: str) -> catalog.BatchResult:
    if kind is Kind.OFFER:
        return await catalog.write_offers(session, rows, package_id)  # type: ignore[arg-type]
    return await catalog.write_entities(session, kind, rows, package_id)  # type: ignore[arg-type]


@asynccontextmanager
async def batch_writer(
    sessionmaker: async_sessionmaker[AsyncSession],
    package_id: str,
    *,
    group_seconds: float = SQLITE_GROUP_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[WriteBatch]:
    """Yield ``write(kind, rows)``, which stores one batch of ``package_id``; see the module docstring.

    On a normal exit the open SQLite transaction is committed; on an exception it is rolled back (the
    batches written before its start stay committed). ``group_seconds=0`` gives every batch its own
    transaction on SQLite too.
    """
    async with sessionmaker() as probe:
        sqlite = probe.get_bind().dialect.name == "sqlite"

    async def one_per_batch(kind: Kind, rows: Rows) -> catalog.BatchResult:
        async def transaction() -> catalog.BatchResult:
            async with sessionmaker() as session, session.begin():
                return await _write(session, kind, rows, package_id)

        return await retry_transient(transaction)

    if not sqlite or group_seconds <= 0:
        yield one_per_batch
        return

    session: AsyncSession | None = None
    opened = 0.0

    async def grouped(kind: Kind, rows: Rows) -> catalog.BatchResult:
        nonlocal session, opened
        if session is None:
            session = sessionmaker()
            await session.begin()
            opened = clock()
        result = await _write(session, kind, rows, package_id)
        if clock() - opened >= group_seconds:
            await _end(commit=True)
        return result

    async def _end(*, commit: bool) -> None:
        nonlocal session
        current, session = session, None
        if current is None:
            return
        try:
            if commit:
                await current.commit()
            else:
                await current.rollback()
        finally:
            await current.close()

    try:
        yield grouped
    except BaseException:
        await _end(commit=False)
        raise
    await _end(commit=True)

