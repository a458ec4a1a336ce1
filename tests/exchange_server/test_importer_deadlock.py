"""PostgreSQL deadlocks between concurrent imports: the batch is retried, the import does not fail.

Found by the load scenario (tests/load, mode pg-2-rr): two processes importing the same offers at once
classify the same rows differently (one upserts a row the other only touches), so their batches take
row locks in different orders and PostgreSQL aborts one with ``deadlock detected`` (SQLSTATE 40P01).
Every batch is an idempotent transaction of its own, so the importer retries it.

The deadlock is made deterministic here: a competing transaction (``deadlock_timeout`` raised so
PostgreSQL picks the importer as the victim) locks product ``b``; the import of a file in which ``a``
changed and ``b`` did not then upserts ``a`` and waits for ``b``; the competitor asks for ``a``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange_server.db.engine import make_engine
from exchange_server.importer import CatalogImporter
from exchange_server.store import queries
from tests.exchange_server import cml_samples as cml

pytestmark = pytest.mark.postgres


async def _wait_until_blocked(maker: async_sessionmaker[AsyncSession], own_pid: int) -> None:
    """Until another backend of this database waits for a row lock (the importer, stuck on ``b``)."""
    for _ in range(400):
        async with maker() as session:
            waiting = (
                await session.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> :own AND wait_event_type = 'Lock'"
                    ),
                    {"own": own_pid},
                )
            ).scalar_one()
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the import never waited for the competing transaction's lock")


async def test_import_batch_deadlocked_by_a_concurrent_writer_is_retried(
    postgres_url: str, tmp_path: Path
) -> None:
    from tests.exchange_server.conftest import _truncate_all

    await _truncate_all(postgres_url)
    engine = make_engine(postgres_url)
    competitor_engine = make_engine(postgres_url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        first = cml.write(tmp_path, "v1/import.xml", cml.goods([cml.product(p, f"{p} v1") for p in "abc"]))
        await CatalogImporter(maker).import_file(first, package_id="p1", base_dir=first.parent)
        # a and c change, b does not: the batch upserts [a, c], then touches b.
        changed = cml.goods([cml.product("a", "a v2"), cml.product("b", "b v1"), cml.product("c", "c v2")])
        second = cml.write(tmp_path, "v2/import.xml", changed)

        async with competitor_engine.connect() as competitor:
            await competitor.execute(text("SET deadlock_timeout = '30s'"))  # the importer detects first
            own_pid = (await competitor.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await competitor.execute(text("UPDATE products SET name = name WHERE id = 'b'"))
            importing = asyncio.create_task(
                CatalogImporter(maker).import_file(second, package_id="p2", base_dir=second.parent)
            )
            await _wait_until_blocked(maker, own_pid)
            # Needs a, which the importer holds: a cycle; PostgreSQL aborts the importer's transaction.
            await competitor.execute(text("UPDATE products SET article = article WHERE id = 'a'"))
            await competitor.commit()
            result = await asyncio.wait_for(importing, timeout=60)

        assert result.counts == {"products": 3}
        async with maker() as session:
            names = {p: (await queries.get_product(session, p) or {}).get("name") for p in "abc"}
        assert names == {"a": "a v2", "b": "b v1", "c": "c v2"}
    finally:
        await engine.dispose()
        await competitor_engine.dispose()
