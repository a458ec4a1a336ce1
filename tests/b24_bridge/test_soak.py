"""Soak: 20,000 mixed calls through the client against the fake at standard limits (bitrix24.md §2.1,
§7.4, §8.3-§8.4).

The default suite runs it in virtual time (``run_virtual``): every timestamp is as in real time, the
wall clock only pays for the Python work. ``-m slow`` runs the same workload over real HTTP in real
time (see docs/bitrix24-client.md for the recorded result).
"""

from __future__ import annotations

import asyncio
import os
import random
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from b24_bridge import B24Client, LeakyBucket, LoopClock, RetryPolicy
from b24_bridge.fake import FakePortal, InProcessTransport, PortalConfig, run_virtual
from b24_bridge.fake.app import make_portal_app
from b24_bridge.http import AiohttpTransport

from .soak import SoakReport, add_faults, check_portal, run_soak

CALLS = 20_000
EPOCH = 1_767_225_600.0


async def _virtual_soak(*, faults: bool) -> tuple[FakePortal, SoakReport, float]:
    clock = LoopClock(epoch=EPOCH)
    portal = FakePortal(PortalConfig(plan="standard"), now=clock.now)
    portal.record_calls = False
    if faults:
        add_faults(portal)
    bucket = LeakyBucket(2.0, 50)  # one bucket for the whole process, as shared_bucket() gives
    transport = InProcessTransport(portal, timeout=30.0, clock=clock)
    start = clock.now()
    report = await run_soak(
        lambda i: B24Client(transport, bucket=bucket, clock=clock, rng=random.Random(i), retry=RetryPolicy()),
        calls=CALLS,
    )
    return portal, report, clock.now() - start


def test_soak_20000_calls_at_standard_limits_virtual_time() -> None:
    """§2.1: 20,000 mixed calls: zero refusals, >= 90 % of the bucket's bound, every result correct."""
    portal, report, elapsed = run_virtual(_virtual_soak(faults=False))
    assert report.calls == CALLS and not report.mismatches
    assert portal.stats.rejected == 0
    assert portal.stats.requests == CALLS  # no call needed a retry
    bound = (50 + 2.0 * elapsed) / elapsed  # requests per second the bucket allows over the run
    assert portal.stats.requests / elapsed >= 0.9 * bound
    assert check_portal(portal, report) == []


def test_soak_with_server_errors_and_lost_answers_virtual_time() -> None:
    """§7.4 / §8.3: with 10 % 5xx and 2 % lost answers: no duplicate entity, no lost call, no refusal."""
    portal, report, _ = run_virtual(_virtual_soak(faults=True))
    assert report.calls == CALLS and not report.mismatches
    fired = {fault for _, fault in portal.faults.log}
    assert len(fired) == 5 and len(portal.faults.log) > 0.1 * CALLS
    assert portal.stats.rejected == 0
    assert check_portal(portal, report) == []


@pytest.mark.slow
async def test_soak_over_http_in_real_time() -> None:
    """§2.1 over real HTTP and real time: set CML_SOAK_CALLS (default 600; 20,000 takes ~2.8 h)."""
    calls = int(os.environ.get("CML_SOAK_CALLS", "600"))
    portal = FakePortal(PortalConfig(plan="standard"))
    portal.record_calls = False
    server = TestServer(make_portal_app(portal, deliver_events=False))
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            transport = AiohttpTransport(session, str(server.make_url(portal.webhook_path())), timeout=30)
            bucket = LeakyBucket(2.0, 50)
            started = time.monotonic()
            report = await run_soak(
                lambda i: B24Client(transport, bucket=bucket, rng=random.Random(i)), calls=calls
            )
            elapsed = time.monotonic() - started
    finally:
        await server.close()
    bound = (50 + 2.0 * elapsed) / elapsed
    print(
        f"\nreal-time soak: {calls} calls in {elapsed:.1f} s, {portal.stats.requests / elapsed:.3f} req/s, "
        f"bound {bound:.3f}, rejected {portal.stats.rejected}"
    )
    assert report.calls == calls and not report.mismatches and portal.stats.rejected == 0
    assert check_portal(portal, report) == []
    await asyncio.sleep(0)
