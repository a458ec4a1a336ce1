"""The PostgreSQL engine lets a request wait for a pooled connection instead of failing after 30 s.

Found by the load scenario (``python -m tests.load.run_load --uploads 400 --mode pg-1``): with
SQLAlchemy's default ``pool_timeout`` of 30 s, uploads of a 400-upload burst failed with ``QueuePool
limit of size 5 overflow 10 reached``; with the longer wait all of them are stored.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from exchange_server.db.engine import POOL_TIMEOUT_SECONDS, make_engine
from tests.exchange_server.conftest import PG_URL


async def test_postgres_pool_waits_minutes_not_seconds() -> None:
    engine = make_engine(PG_URL)
    try:
        pool = engine.sync_engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.timeout() == POOL_TIMEOUT_SECONDS >= 120
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_requests_queue_for_a_busy_pool(postgres_url: str) -> None:
    """More concurrent transactions than connections: all complete, none times out."""
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    try:

        async def work() -> int:
            async with engine.connect() as connection:
                await asyncio.sleep(0.05)  # holds the only connection; the others wait for it
                return int((await connection.execute(text("SELECT 1"))).scalar_one())

        assert await asyncio.gather(*(work() for _ in range(20))) == [1] * 20
    finally:
        await engine.dispose()
