"""The pusher against the fake portal, in-process and over HTTP, on both databases.

Everything is read back through REST and compared with what the snapshot calls for; an unchanged
store writes nothing; one changed price is one command; faults never duplicate or lose anything.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge import B24Client, ManualClock
from b24_bridge.fake import FakePortal, Fault
from b24_bridge.sync.executor import PortalDown
from b24_bridge.sync.mapping import MappingConfig
from b24_bridge.sync.plan import Plan, diff
from b24_bridge.sync.pusher import Pusher
from b24_bridge.sync.snapshot import CatalogSnapshot
from b24_bridge.sync.targets import build_targets
from exchange_server.outbox import queue
from tests.b24_sync.conftest import make_client
from tests.b24_sync.portal_view import expected_portal, read_portal, sample_catalog, write_calls

MAPPING = MappingConfig()


async def plan_into(sm: async_sessionmaker[AsyncSession], snapshot: CatalogSnapshot) -> Plan:
    async with sm() as s:
        pushed = await queue.pushed_hashes(s)
    plan = diff(build_targets(snapshot, MAPPING), pushed)
    async with sm.begin() as s:
        await queue.enqueue(s, plan.jobs, dt.datetime.now(dt.UTC))
    return plan


async def test_push_reads_back_equal_and_changes_only(
    client: B24Client, portal: FakePortal, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    snapshot = sample_catalog(60)
    plan = await plan_into(sessionmaker, snapshot)
    pusher = Pusher(client, sessionmaker, MAPPING)
    report = await pusher.drain()
    assert report.done == len(plan.jobs) and report.failed == 0
    assert report.commands / report.calls > 10  # batched, not one call per entity
    assert await read_portal(client) == expected_portal(snapshot, MAPPING)
    async with sessionmaker() as s:
        status = await queue.status(s)
    assert (status["pending"], status["running"], status["failed"], status["done"]) == (
        0,
        0,
        0,
        len(plan.jobs),
    )

    before = portal.stats.as_json()
    again = await plan_into(sessionmaker, snapshot)
    assert again.empty
    assert (await pusher.drain()).calls == 0
    assert write_calls(portal.stats.as_json()) == write_calls(before)

    offer = next(o for o in snapshot.offers if o.prices)
    assert offer.prices is not None
    changed = dataclasses.replace(
        offer, prices=(dataclasses.replace(offer.prices[0], value=Decimal("1.23")),)
    )
    snapshot2 = dataclasses.replace(
        snapshot, offers=tuple(changed if o is offer else o for o in snapshot.offers)
    )
    requests = portal.stats.requests
    plan2 = await plan_into(sessionmaker, snapshot2)
    assert [(t.kind, t.key) for t in plan2.jobs] == [("prices", offer.id)]
    report2 = await Pusher(client, sessionmaker, MAPPING).drain()  # fresh pusher: reads directories again
    assert report2.done == 1 and report2.calls == 1
    assert portal.stats.requests - requests <= math.ceil(1 / 50) + 2
    assert await read_portal(client) == expected_portal(snapshot2, MAPPING)


async def test_deactivation_travels_as_an_update(
    client: B24Client, portal: FakePortal, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    snapshot = sample_catalog(6)
    await plan_into(sessionmaker, snapshot)
    await Pusher(client, sessionmaker, MAPPING).drain()
    gone = snapshot.products[1]
    snapshot2 = dataclasses.replace(
        snapshot,
        products=tuple(dataclasses.replace(p, active=False) if p is gone else p for p in snapshot.products),
    )
    plan = await plan_into(sessionmaker, snapshot2)
    assert [(t.kind, t.key) for t in plan.jobs] == [("product", gone.id)]
    adds = portal.stats.calls["catalog.product.add"]
    await Pusher(client, sessionmaker, MAPPING).drain()
    view = await read_portal(client)
    assert view.elements[gone.id][2] == "N"
    assert portal.stats.calls["catalog.product.add"] == adds  # updated in place, nothing created


async def test_faults_never_duplicate_or_lose(
    portal: FakePortal, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = make_client(portal, clock)
    portal.faults.add(Fault.INTERNAL_ERROR, probability=0.10)
    portal.faults.add(Fault.LOST_RESPONSE, probability=0.02)
    portal.faults.add(Fault.LOST_RESPONSE, method="batch", every=7, times=6)  # surely some lost writes
    snapshot = sample_catalog(80, seed=2)
    plan = await plan_into(sessionmaker, snapshot)
    report = await Pusher(client, sessionmaker, MAPPING).drain()
    async with sessionmaker() as s:
        status = await queue.status(s)
    assert status["done"] == len(plan.jobs) and status["failed"] == 0, report.errors
    assert any(f is Fault.LOST_RESPONSE for _, f in portal.faults.log)
    portal.faults.clear()
    view = await read_portal(client)
    assert view.duplicates == []
    assert view == expected_portal(snapshot, MAPPING)


async def test_lost_create_answer_is_found_by_xml_id(
    portal: FakePortal, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = make_client(portal, clock)
    snapshot = dataclasses.replace(sample_catalog(3), groups=(), warehouses=(), price_types=())
    snapshot = dataclasses.replace(
        snapshot, products=tuple(dataclasses.replace(p, group_ids=()) for p in snapshot.products)
    )
    # The article/barcode properties exist already, so no batch adds them before the creates.
    for code in ("CML2_ARTICLE", "CML2_BAR_CODE"):
        await client.call("catalog.productProperty.add", {"fields": {"iblockId": 23, "name": code, "code": code}})
    await plan_into(sessionmaker, snapshot)
    # Directories, the lookup, then the creates: the answer of the creates' batch is lost.
    portal.faults.add(Fault.LOST_RESPONSE, method="batch", every=3, times=1)
    report = await Pusher(client, sessionmaker, MAPPING).drain()
    assert report.failed >= 1 and report.parked == 0
    view = await read_portal(client)
    assert view.duplicates == []
    assert set(view.elements) == {
        t.key for t in build_targets(snapshot, MAPPING) if t.kind in ("product", "offer")
    }


async def test_missing_units_are_added_or_parked_with_their_reason(
    portal: FakePortal, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = make_client(portal, clock)
    catalog = sample_catalog(2)
    odd = dataclasses.replace(
        catalog,
        products=tuple(dataclasses.replace(p, unit_code="999", unit_name="Пачка") for p in catalog.products),
    )
    await plan_into(sessionmaker, odd)
    strict = MappingConfig(max_attempts=2, backoff_seconds=1, create_measures=False)
    report = await Pusher(client, sessionmaker, strict).drain()
    assert report.parked >= 1
    async with sessionmaker() as s:
        parked = await queue.failed_jobs(s)
    assert parked and all("OKEI code 999" in p["error"] for p in parked if p["kind"] == "product")

    async with sessionmaker.begin() as s:
        await queue.retry_failed(s, dt.datetime.now(dt.UTC))
    report = await Pusher(client, sessionmaker, MAPPING).drain()
    assert report.parked == 0
    (measure,) = [m for m in await client.list_all("catalog.measure.list", {}) if int(m["code"]) == 999]
    assert measure["measureTitle"] == "Пачка"
    assert await read_portal(client) == expected_portal(odd, MAPPING)


async def test_an_unreachable_portal_hands_jobs_back_without_counting_the_attempt(
    portal: FakePortal, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """An outage longer than the client's retries (every batch a proxy's 502 page) is not the jobs'
    fault: they go back pending with the attempt uncounted, so even ``max_attempts=1`` parks none."""
    strict = MAPPING.model_copy(update={"max_attempts": 1})
    client = make_client(portal, clock)
    snapshot = sample_catalog(30, seed=5)
    plan = await plan_into(sessionmaker, snapshot)
    portal.faults.add(Fault.GATEWAY_HTML, method="batch", times=10_000)
    pusher = Pusher(client, sessionmaker, strict)
    with pytest.raises(PortalDown):
        await pusher.drain()
    async with sessionmaker() as s:
        status = await queue.status(s)
        attempts = await s.scalar(select(func.max(queue.T.c.attempts)))
    assert (status["pending"], status["running"], status["failed"]) == (len(plan.jobs), 0, 0), status
    assert attempts == 0
    portal.faults.clear()
    report = await Pusher(client, sessionmaker, strict).drain()
    assert report.done == len(plan.jobs) and report.parked == 0
    view = await read_portal(client)
    assert view.duplicates == [] and view == expected_portal(snapshot, MAPPING)
