"""Jobs a killed server left ``running`` are handed back at once by the next worker of the same host
(they waited for the 10-minute lease before: a restarted server pushed nothing for ten minutes)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge import ManualClock
from b24_bridge.fake import FakePortal, PortalConfig
from b24_bridge.sync.mapping import MappingConfig
from b24_bridge.sync.pusher import Pusher, orphaned_workers, worker_name
from exchange_server.outbox import queue
from tests.b24_sync.conftest import make_client
from tests.b24_sync.test_outbox import T0, Job

HOST = "node-1"


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(child.stdout)


def test_orphaned_workers_are_the_dead_ones_of_this_host() -> None:
    alive = {100, 200}
    names = [
        f"push-{HOST}-100-aaaa",  # another live process here
        f"push-{HOST}-300-bbbb",  # dead
        f"push-{HOST}-555-cccc",  # this process, an earlier incarnation (same pid after a restart)
        f"push-{HOST}-555-dddd",  # this process, a live pusher
        "push-node-2-300-eeee",  # another host: only the lease can tell
        "push-0123456789ab",  # the old format: left to the lease
        f"push-{HOST}-x-ffff",
    ]
    found = orphaned_workers(
        names, host=HOST, pid=555, live={f"push-{HOST}-555-dddd"}, alive=alive.__contains__
    )
    assert found == [f"push-{HOST}-300-bbbb", f"push-{HOST}-555-cccc"]
    assert orphaned_workers([f"push-{HOST}-7-abcd"], host="node", pid=1, alive=lambda _p: False) == []


def test_worker_names_carry_host_and_pid() -> None:
    name = worker_name()
    assert name.startswith(f"push-{socket.gethostname()}-{os.getpid()}-")


async def test_release_orphans_hands_back_the_jobs_of_a_killed_worker(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker.begin() as session:
        await queue.enqueue(session, [Job("product", f"p{i}", 1, f"h{i}") for i in range(4)], T0)
    killed = f"push-{socket.gethostname()}-{_dead_pid()}-0000"
    other_host = "push-elsewhere-1-1111"
    async with sessionmaker.begin() as session:
        assert len((await queue.claim(session, killed, 3, T0)).jobs) == 3
        assert len((await queue.claim(session, other_host, 1, T0)).jobs) == 1
    clock = ManualClock(start=T0.timestamp())
    pusher = Pusher(
        make_client(FakePortal(PortalConfig(), now=clock.now), clock), sessionmaker, MappingConfig()
    )
    assert await pusher.release_orphans() == 3
    async with sessionmaker() as session:
        status = await queue.status(session)
    assert (status["pending"], status["running"]) == (3, 1)
    async with sessionmaker.begin() as session:  # due at once, the attempt still counted
        claim = await queue.claim(session, pusher.worker, 10, T0)
    assert sorted(j.key for j in claim.jobs) == ["p0", "p1", "p2"]
    assert {j.attempts for j in claim.jobs} == {2}
    assert await pusher.release_orphans() == 0  # its own claims are never orphans
