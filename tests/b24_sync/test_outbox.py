"""The durable outbox on SQLite and PostgreSQL: enqueue, claim by phase, acknowledge, back off, park, retry.

PostgreSQL also runs two workers at once: with ``FOR UPDATE SKIP LOCKED`` they never take one job twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from exchange_server.db.engine import make_engine
from exchange_server.outbox import queue
from exchange_server.outbox.queue import Ack, Failure

T0 = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Job:
    kind: str
    key: str
    phase: int
    hash: str
    payload: dict[str, Any] = field(default_factory=dict)


async def _enqueue(sm: async_sessionmaker[AsyncSession], jobs: list[Job], now: dt.datetime = T0) -> None:
    async with sm.begin() as s:
        await queue.enqueue(s, jobs, now)


async def _claim(
    sm: async_sessionmaker[AsyncSession], worker: str, limit: int, now: dt.datetime = T0
) -> queue.Claim:
    async with sm.begin() as s:
        return await queue.claim(s, worker, limit, now)


async def _status(sm: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with sm() as s:
        return await queue.status(s)


async def test_enqueue_claim_acknowledge(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _enqueue(sessionmaker, [Job("product", f"p{i}", 100, f"h{i}", {"name": f"P{i}"}) for i in range(5)])
    claim = await _claim(sessionmaker, "w1", 3)
    assert [j.key for j in claim.jobs] == ["p0", "p1", "p2"]
    assert all(j.attempts == 1 and j.payload["name"] == f"P{j.key[1:]}" for j in claim.jobs)
    async with sessionmaker.begin() as s:
        await queue.acknowledge(s, [Ack(j.id, j.hash, 100 + i) for i, j in enumerate(claim.jobs)], T0)
    status = await _status(sessionmaker)
    assert {k: status[k] for k in ("pending", "running", "failed", "done")} == {
        "pending": 2,
        "running": 0,
        "failed": 0,
        "done": 3,
    }
    assert status["last_push"] == T0.isoformat()
    async with sessionmaker() as s:
        assert await queue.portal_ids(s, [("product", "p0"), ("product", "p4")]) == {("product", "p0"): 100}
        hashes = await queue.pushed_hashes(s)
    assert hashes[("product", "p1")] == "h1" and hashes[("product", "p4")] is None


async def test_same_hash_again_is_a_no_op_and_a_new_one_reopens(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _enqueue(sessionmaker, [Job("prices", "p", 200, "a")])
    (job,) = (await _claim(sessionmaker, "w", 10)).jobs
    async with sessionmaker.begin() as s:
        await queue.acknowledge(s, [Ack(job.id, "a")], T0)
    await _enqueue(sessionmaker, [Job("prices", "p", 200, "a")])
    assert (await _status(sessionmaker))["done"] == 1
    await _enqueue(sessionmaker, [Job("prices", "p", 200, "b")])
    assert (await _status(sessionmaker))["pending"] == 1


async def test_plan_arriving_while_running_stays_pending_after_the_ack(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _enqueue(sessionmaker, [Job("prices", "p", 200, "old")])
    (job,) = (await _claim(sessionmaker, "w", 10)).jobs
    await _enqueue(sessionmaker, [Job("prices", "p", 200, "new", {"v": 2})])
    assert (await _status(sessionmaker))["running"] == 1
    async with sessionmaker.begin() as s:
        await queue.acknowledge(s, [Ack(job.id, "old")], T0)
    (again,) = (await _claim(sessionmaker, "w", 10)).jobs
    assert again.hash == "new" and again.payload == {"v": 2}


async def test_lower_phases_first(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _enqueue(
        sessionmaker,
        [Job("prices", "p", 200, "x"), Job("product", "p", 100, "y"), Job("section", "g", 10, "z")],
    )
    first = await _claim(sessionmaker, "w", 10)
    assert [j.kind for j in first.jobs] == ["section"]
    assert (await _claim(sessionmaker, "w", 10)).jobs == []  # the section is still running
    async with sessionmaker.begin() as s:
        await queue.acknowledge(s, [Ack(first.jobs[0].id, "z")], T0)
    assert [j.kind for j in (await _claim(sessionmaker, "w", 10)).jobs] == ["product"]


async def test_backoff_then_park_then_retry(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _enqueue(sessionmaker, [Job("product", "p", 100, "h")])
    now = T0
    for attempt in (1, 2, 3):
        (job,) = (await _claim(sessionmaker, "w", 10, now)).jobs
        assert job.attempts == attempt
        async with sessionmaker.begin() as s:
            await queue.fail(
                s, [Failure(job.id, f"boom {attempt}", job.attempts)], now, max_attempts=3, base=2, ceiling=60
            )
        if attempt < 3:
            waiting = await _claim(sessionmaker, "w", 10, now)
            assert waiting.jobs == [] and waiting.remaining == 1
            assert waiting.next_due == now + dt.timedelta(seconds=2 * 2 ** (attempt - 1))
            now = waiting.next_due
    status = await _status(sessionmaker)
    assert status["failed"] == 1 and status["pending"] == 0
    async with sessionmaker() as s:
        (parked,) = await queue.failed_jobs(s)
    assert parked["error"] == "boom 3" and parked["attempts"] == 3
    assert (await _claim(sessionmaker, "w", 10, now + dt.timedelta(days=1))).remaining == 0
    async with sessionmaker.begin() as s:
        assert await queue.retry_failed(s, now) == 1
    (job,) = (await _claim(sessionmaker, "w", 10, now)).jobs
    assert job.attempts == 1


async def test_stale_running_jobs_are_reclaimed_and_release_gives_back(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _enqueue(sessionmaker, [Job("product", "a", 100, "h"), Job("product", "b", 100, "h")])
    (a,) = (await _claim(sessionmaker, "dead", 1)).jobs
    (b,) = (await _claim(sessionmaker, "w", 1)).jobs
    async with sessionmaker.begin() as s:
        await queue.release(s, [b.id], T0)
    later = T0 + queue.LEASE + dt.timedelta(seconds=1)
    keys = sorted(j.key for j in (await _claim(sessionmaker, "w2", 10, later)).jobs)
    assert keys == ["a", "b"] and a.key == "a"


@pytest.mark.postgres
async def test_two_postgres_workers_never_share_a_job(postgres_url: str) -> None:
    engines: list[AsyncEngine] = [make_engine(postgres_url) for _ in range(2)]
    try:
        makers = [async_sessionmaker(e, expire_on_commit=False) for e in engines]
        async with makers[0].begin() as s:
            await s.execute(text("TRUNCATE b24_outbox"))
        await _enqueue(makers[0], [Job("product", f"p{i:04d}", 100, "h") for i in range(300)])

        # One worker holds its claim open while the other claims: the locked rows are skipped.
        async with makers[0].begin() as held:
            first = await queue.claim(held, "w0", 40, T0)
            # Without SKIP LOCKED this claim would wait for the held transaction: fail, don't hang.
            second = await asyncio.wait_for(_claim(makers[1], "w1", 40), timeout=10)
            assert len(first.jobs) == len(second.jobs) == 40
            assert not {j.id for j in first.jobs} & {j.id for j in second.jobs}

        taken: dict[str, list[int]] = {"w0": [j.id for j in first.jobs], "w1": [j.id for j in second.jobs]}

        async def worker(name: str, maker: async_sessionmaker[AsyncSession]) -> None:
            while True:
                claim = await _claim(maker, name, 7)
                if not claim.jobs:
                    return
                taken[name].extend(j.id for j in claim.jobs)
                await asyncio.sleep(0)

        await asyncio.gather(worker("w0", makers[0]), worker("w1", makers[1]))
        ids = taken["w0"] + taken["w1"]
        assert len(ids) == len(set(ids)) == 300
        assert taken["w0"] and taken["w1"]
    finally:
        for e in engines:
            await e.dispose()
