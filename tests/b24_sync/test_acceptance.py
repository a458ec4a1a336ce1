"""Acceptance, scaled for CI: a generated catalog goes through the real 1C protocol into the server,
then to the fake portal; everything is read back through REST and compared with the files.

Then: the same package again writes nothing; 1% of prices changed costs at most ceil(changes/50)+2
calls; with faults (10% 5xx, 2% answers lost after the write) the portal ends identical, without
duplicates. Last, the server's own background worker does the whole trip by itself. The full-size
run (10,000 products) is ``tests/benchmarks/bench_push.py``.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge import B24Client, ManualClock
from b24_bridge.fake import FakePortal, Fault, PortalConfig
from b24_bridge.sync.mapping import MappingConfig
from b24_bridge.sync.pusher import Pusher
from b24_bridge.sync.service import compute_plan, plan_and_enqueue
from commerceml.generator import CatalogSpec, GeneratedCatalog, generate_catalog
from exchange_server.app import make_app
from exchange_server.db.engine import make_engine
from exchange_server.outbox.routes import B24_CLIENT_FACTORY
from exchange_server.replay import ReplayNode, replay_catalog
from tests.b24_sync.conftest import make_client
from tests.b24_sync.portal_view import PortalCatalog, read_portal, write_calls
from tests.exchange_server.e2e_support import (
    ADMIN,
    ADMIN_PASSWORD,
    PASSWORD,
    USER,
    expected_catalog,
    live_server,
    settings_for,
)

MAPPING = MappingConfig()
SPEC = CatalogSpec(products=300, price_types=2, warehouses=3, groups=12, properties=3, seed=11)
NS = "urn:1C.ru:commerceml_2"


@pytest.fixture
def generated(tmp_path: Path) -> GeneratedCatalog:
    return generate_catalog(tmp_path / "cml", SPEC)


def files_of(catalog: GeneratedCatalog) -> list[tuple[str, Path]]:
    return [(f.path.name, f.path) for f in catalog.files]


async def send(tmp_path: Path, database_url: str, files: list[tuple[str, Path]]) -> None:
    settings = settings_for(tmp_path / "data", database_url)
    async with live_server(settings) as live:
        await replay_catalog(live.node(), files)


def expected_from_files(paths: list[Path]) -> PortalCatalog:
    """What the portal must hold, derived from the files alone (the CommerceML reader, not the planner)."""
    products, offers = expected_catalog(paths)
    with_variations = {o["product_id"] for key, o in offers.items() if "#" in key}
    elements: dict[str, tuple[int, str, str, str | None]] = {}
    for product in products.values():
        active = "N" if product.deleted else "Y"
        elements[product.id] = (3 if product.id in with_variations else 1, product.name, active, None)
    prices: dict[tuple[str, str], Decimal] = {}
    stock: dict[tuple[str, str], Decimal] = {}
    for key, offer in offers.items():
        if offer["product_id"] not in products or ("#" not in key and offer["product_id"] in with_variations):
            continue
        if "#" in key:
            elements[key] = (4, "", "Y", offer["product_id"])
        for type_id, value in offer.get("prices", {}).items():
            prices[(key, type_id)] = value
        for warehouse, amount in offer.get("stock", {}).items():
            if amount != 0:
                stock[(key, warehouse)] = amount
    return PortalCatalog({}, elements, prices, stock, [])


def assert_portal_matches(view: PortalCatalog, expected: PortalCatalog) -> None:
    assert view.duplicates == []
    got = {k: (t, a, p) for k, (t, _, a, p) in view.elements.items()}
    want = {k: (t, a, p) for k, (t, _, a, p) in expected.elements.items()}
    assert got == want
    names = {k: n for k, (t, n, _, _) in expected.elements.items() if t != 4}
    assert {k: view.elements[k][1] for k in names} == names
    assert view.prices == {k: Decimal(v) for k, v in expected.prices.items()}
    assert view.stock == expected.stock


def change_prices(path: Path, share: float, rng: random.Random) -> int:
    """Raise the first price of ``share`` of the offers in an offers file; returns how many changed."""
    tree = etree.parse(str(path))
    offers = tree.findall(f".//{{{NS}}}Предложение")
    chosen = rng.sample(offers, max(1, round(len(offers) * share)))
    for offer in chosen:
        price = offer.find(f".//{{{NS}}}ЦенаЗаЕдиницу")
        assert price is not None and price.text is not None
        price.text = str(Decimal(price.text) + Decimal("1.5"))
    tree.write(str(path), xml_declaration=True, encoding=tree.docinfo.encoding or "utf-8")
    return len(chosen)


async def test_catalog_from_1c_reaches_the_portal_changes_only(
    tmp_path: Path,
    generated: GeneratedCatalog,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    portal: FakePortal,
    clock: ManualClock,
) -> None:
    client = make_client(portal, clock)
    await send(tmp_path, database_url, files_of(generated))
    plan = await plan_and_enqueue(sessionmaker, MAPPING)
    report = await Pusher(client, sessionmaker, MAPPING).drain()
    assert report.parked == 0 and report.done == len(plan.jobs), report.errors
    assert portal.stats.rejected == 0
    paths = [p for _, p in files_of(generated)]
    assert_portal_matches(await read_portal(client), expected_from_files(paths))

    # The same package again: nothing is planned, nothing written.
    writes, requests = write_calls(portal.stats.as_json()), portal.stats.requests
    await send(tmp_path, database_url, files_of(generated))
    again = await plan_and_enqueue(sessionmaker, MAPPING)
    assert again.empty
    await Pusher(client, sessionmaker, MAPPING).drain()
    assert write_calls(portal.stats.as_json()) == writes and portal.stats.requests == requests

    # 1% of the prices changed: at most ceil(changes / 50) + 2 calls.
    offers_file = next(p for p in paths if p.name.startswith("offers"))
    changed = change_prices(offers_file, 0.01, random.Random(3))
    await send(tmp_path, database_url, files_of(generated))
    plan = await plan_and_enqueue(sessionmaker, MAPPING)
    assert plan.counts() == {"prices": {"create": 0, "update": changed}}
    requests = portal.stats.requests
    await Pusher(client, sessionmaker, MAPPING).drain()
    assert portal.stats.requests - requests <= math.ceil(changed / 50) + 2
    assert_portal_matches(await read_portal(client), expected_from_files(paths))


async def test_faults_end_in_the_same_portal_state(
    tmp_path: Path,
    generated: GeneratedCatalog,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    await send(tmp_path, database_url, files_of(generated))
    await plan_and_enqueue(sessionmaker, MAPPING)
    faulty = FakePortal(PortalConfig(seed=5), now=clock.now)
    faulty.state.inventory_mode = True
    faulty.faults.add(Fault.INTERNAL_ERROR, probability=0.10)
    faulty.faults.add(Fault.LOST_RESPONSE, probability=0.02)
    client = make_client(faulty, clock)
    report = await Pusher(client, sessionmaker, MAPPING).drain()
    assert report.parked == 0, report.errors
    assert {f for _, f in faulty.faults.log} == {Fault.INTERNAL_ERROR, Fault.LOST_RESPONSE}
    faulty.faults.clear()
    paths = [p for _, p in files_of(generated)]
    assert_portal_matches(await read_portal(client), expected_from_files(paths))


async def test_the_server_worker_plans_and_pushes_by_itself(
    tmp_path: Path, generated: GeneratedCatalog, database_url: str, portal: FakePortal, clock: ManualClock
) -> None:
    @asynccontextmanager
    async def factory() -> AsyncIterator[B24Client | None]:
        yield make_client(portal, clock)

    settings = settings_for(
        tmp_path / "data", database_url, b24=MappingConfig(idle_seconds=1.0, poll_seconds=0.05)
    )
    app = make_app(settings)
    app[B24_CLIENT_FACTORY] = factory
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            node = ReplayNode(
                http, str(server.make_url("/1c_exchange")), USER, PASSWORD, report=lambda _: None
            )
            await replay_catalog(node, files_of(generated))
            headers = {"Authorization": aiohttp.encode_basic_auth(ADMIN, ADMIN_PASSWORD)}
            status: dict[str, object] = {}
            deadline = asyncio.get_running_loop().time() + 180  # generous: CI machines are shared
            while asyncio.get_running_loop().time() < deadline:
                async with http.get(server.make_url("/api/b24/status"), headers=headers) as response:
                    assert response.status == 200
                    status = await response.json()
                if status["done"] and not status["pending"] and not status["running"]:
                    engine = make_engine(database_url)
                    try:
                        settled = await compute_plan(async_sessionmaker(engine), settings.b24)
                    finally:
                        await engine.dispose()
                    if settled.empty:
                        break
                await asyncio.sleep(0.05)
            assert status["failed"] == 0 and status["done"], status
            assert set(status) >= {"pending", "running", "failed", "done", "last_push"}
            assert status["portal"] == "injected client"
    finally:
        await server.close()
    client = make_client(portal, clock)
    assert_portal_matches(await read_portal(client), expected_from_files([p for _, p in files_of(generated)]))
