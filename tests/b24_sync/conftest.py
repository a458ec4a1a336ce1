"""Fixtures of the Bitrix24 sync tests: both databases, a fake portal, clients on both transports.

The database fixtures are the exchange server's (SQLite file and the real PostgreSQL). The fake portal
and the client share a ``ManualClock`` whose ``sleep`` advances time, so the rate limit, back-off
and retries never wait for real; a push is driven from one task.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from b24_bridge import B24Client, LeakyBucket, Limits, ManualClock, RetryPolicy
from b24_bridge.fake import FakePortal, InProcessTransport, PortalConfig
from b24_bridge.fake.app import make_portal_app
from b24_bridge.http import AiohttpTransport
from tests.exchange_server.conftest import (  # noqa: F401  (fixtures shared with the store tests)
    database_url,
    engine,
    postgres_url,
    sessionmaker,
    sqlite_template,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def portal(clock: ManualClock) -> FakePortal:
    fake = FakePortal(PortalConfig(), now=clock.now)
    fake.state.inventory_mode = True
    return fake


def make_client(portal: FakePortal, clock: ManualClock, transport: Any = None) -> B24Client:
    limits = Limits()
    if transport is None:
        url = f"https://{portal.config.domain}{portal.webhook_path()}"
        transport = InProcessTransport(portal, url, timeout=5.0, clock=clock)
    return B24Client(
        transport,
        limits=limits,
        bucket=LeakyBucket.from_limits(limits),
        clock=clock,
        rng=random.Random(7),
        retry=RetryPolicy(),
    )


@pytest.fixture(params=["in-process", "http"])
async def client(
    request: pytest.FixtureRequest, portal: FakePortal, clock: ManualClock
) -> AsyncIterator[B24Client]:
    """A client of the fake portal, in-process or over real HTTP."""
    if request.param == "in-process":
        yield make_client(portal, clock)
        return
    server = TestServer(make_portal_app(portal, deliver_events=False))
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            url = str(server.make_url(portal.webhook_path()))
            yield make_client(portal, clock, AiohttpTransport(http, url, timeout=5.0))
    finally:
        await server.close()
