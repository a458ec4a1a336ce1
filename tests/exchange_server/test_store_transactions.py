"""Catalog batches grouped into transactions: several per transaction on SQLite, one each on PostgreSQL.

What a test can see from outside is what another connection reads: a grouped batch is invisible
until its transaction commits, a committed group survives a later failure, and a failed group leaves
nothing of itself behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerceml.model import Product
from exchange_server.db.engine import make_engine
from exchange_server.store import transactions
from exchange_server.store.rows import EntityRow, Kind, entity_row
from tests.faults.support import committed_count

Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
async def maker(database_url: str) -> AsyncIterator[Maker]:
    engine = make_engine(database_url)
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


def _products(start: int, count: int) -> list[EntityRow]:
    rows = []
    for i in range(start, start + count):
        row = entity_row(Product(f"p{i:04d}", f"Товар {i}"))
        assert row is not None
        rows.append(row)
    return rows


async def _stored(database_url: str) -> int:
    """Products committed so far, as another connection reads them (not behind the writer's lock)."""
    return await committed_count(database_url, "products")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_sqlite_batches_share_a_transaction_until_the_time_bound(
    maker: Maker, database_url: str
) -> None:
    sqlite = database_url.startswith("sqlite")
    clock = Clock()
    async with transactions.batch_writer(maker, "pk1", group_seconds=2.0, clock=clock) as write:
        first = await write(Kind.PRODUCT, _products(0, 3))
        assert first.written == 3
        clock.now = 1.0
        await write(Kind.PRODUCT, _products(3, 3))
        # SQLite: both batches are in one open transaction, nothing is visible yet.
        # PostgreSQL: each batch committed on its own.
        assert await _stored(database_url) == (0 if sqlite else 6)
        clock.now = 2.5  # open longer than the bound: the transaction commits after this batch
        await write(Kind.PRODUCT, _products(6, 3))
        assert await _stored(database_url) == 9
        await write(Kind.PRODUCT, _products(9, 1))
        assert await _stored(database_url) == (9 if sqlite else 10)  # SQLite: a new group, open
    assert await _stored(database_url) == 10  # committed on leaving the block


async def test_a_failure_rolls_back_only_the_open_group(maker: Maker, database_url: str) -> None:
    clock = Clock()
    with pytest.raises(RuntimeError, match="stop"):
        async with transactions.batch_writer(maker, "pk1", group_seconds=2.0, clock=clock) as write:
            await write(Kind.PRODUCT, _products(0, 4))
            clock.now = 3.0
            await write(Kind.PRODUCT, _products(4, 4))  # commits the group of 8
            await write(Kind.PRODUCT, _products(8, 4))  # opens the next group
            raise RuntimeError("stop")
    # What was committed stays (a new import completes the file); the open group left nothing.
    # On PostgreSQL every batch is its own transaction, so all three batches were committed.
    expected = 8 if database_url.startswith("sqlite") else 12
    assert await _stored(database_url) == expected


async def test_every_batch_commits_on_its_own_without_grouping(maker: Maker, database_url: str) -> None:
    async with transactions.batch_writer(maker, "pk1", group_seconds=0) as write:
        await write(Kind.PRODUCT, _products(0, 2))
        assert await _stored(database_url) == 2
        await write(Kind.PRODUCT, _products(2, 2))
        assert await _stored(database_url) == 4


async def test_grouped_batches_see_each_other(maker: Maker, database_url: str) -> None:
    """A product sent twice within one group: the second is found stored (unchanged), not inserted twice."""
    async with transactions.batch_writer(maker, "pk1", group_seconds=60) as write:
        first = await write(Kind.PRODUCT, _products(0, 2))
        again = await write(Kind.PRODUCT, _products(0, 2))
    assert (first.written, first.skipped) == (2, 0)
    assert (again.written, again.skipped) == (0, 2)
    assert await _stored(database_url) == 2
