"""A finished catalog package wakes the bridge worker at once; the idle poll stays the fallback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge import B24Client, ManualClock
from b24_bridge.fake import FakePortal
from b24_bridge.sync.mapping import MappingConfig
from b24_bridge.sync.service import BridgeWorker
from commerceml.generator import CatalogSpec, generate_catalog
from exchange_server.app import make_app
from exchange_server.importer import CatalogImporter
from exchange_server.outbox import queue
from exchange_server.outbox.routes import B24_CLIENT_FACTORY
from exchange_server.replay import ReplayNode, replay_catalog
from tests.b24_sync.conftest import make_client
from tests.exchange_server.e2e_support import ADMIN, ADMIN_PASSWORD, PASSWORD, USER, settings_for

HOUR = 3600.0


async def test_a_finished_package_plans_without_the_idle_wait(
    tmp_path: Path, portal: FakePortal, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = [100.0]
    worker = BridgeWorker(
        sessionmaker, MappingConfig(idle_seconds=HOUR), make_client(portal, clock), monotonic=lambda: now[0]
    )
    importer = CatalogImporter(sessionmaker)
    unhook = importer.on_finished(worker.wake)
    catalog = generate_catalog(tmp_path / "cml", CatalogSpec(products=6, seed=3))
    for generated in catalog.files:
        await importer.import_file(generated.path, package_id="pkg", base_dir=generated.path.parent)
    assert not await worker.tick()  # changed just now, an hour of idle time to go
    await importer.finish_package("pkg", deactivate_unseen=False)
    assert await worker.tick()  # woken: planned and pushed at once
    assert worker.last_plan is not None and worker.last_plan.jobs
    async with sessionmaker() as s:
        assert (await queue.status(s))["done"] == len(worker.last_plan.jobs)
    assert not await worker.tick()  # the wake is spent; nothing changed since

    # Removed listeners are not called; a failing listener never fails the package.
    unhook()

    def broken(package_id: str) -> None:
        raise RuntimeError("listener bug")

    importer.on_finished(broken)
    await importer.finish_package("pkg", deactivate_unseen=False)
    assert not await worker.tick()


@asynccontextmanager
async def replayed_server(
    tmp_path: Path,
    database_url: str,
    portal: FakePortal,
    clock: ManualClock,
    b24: MappingConfig,
    products: int,
) -> AsyncIterator[tuple[TestServer, aiohttp.ClientSession]]:
    """The server with its push worker on ``portal``, after a generated catalog was replayed into it."""

    @asynccontextmanager
    async def factory() -> AsyncIterator[B24Client | None]:
        yield make_client(portal, clock)

    app = make_app(settings_for(tmp_path / "data", database_url, b24=b24))
    app[B24_CLIENT_FACTORY] = factory
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            node = ReplayNode(
                http, str(server.make_url("/1c_exchange")), USER, PASSWORD, report=lambda _: None
            )
            catalog = generate_catalog(tmp_path / "cml", CatalogSpec(products=products, seed=4))
            await replay_catalog(node, [(f.path.name, f.path) for f in catalog.files])
            yield server, http
    finally:
        await server.close()


async def b24_status(server: TestServer, http: aiohttp.ClientSession) -> dict[str, object]:
    headers = {"Authorization": aiohttp.encode_basic_auth(ADMIN, ADMIN_PASSWORD)}
    async with http.get(server.make_url("/api/b24/status"), headers=headers) as response:
        status: dict[str, object] = await response.json()
    return status


async def test_the_server_pushes_right_after_the_exchange_not_after_the_idle_time(
    tmp_path: Path, database_url: str, portal: FakePortal, clock: ManualClock
) -> None:
    # Without the wake nothing would be planned for an hour (idle) and polled every 10 minutes.
    b24 = MappingConfig(idle_seconds=HOUR, poll_seconds=600.0)
    async with replayed_server(tmp_path, database_url, portal, clock, b24, products=10) as (server, http):
        status: dict[str, object] = {}
        deadline = asyncio.get_running_loop().time() + 120  # generous: CI machines are shared
        while asyncio.get_running_loop().time() < deadline:
            status = await b24_status(server, http)
            if status["done"] and not status["pending"] and not status["running"]:
                break
            await asyncio.sleep(0.05)
        assert status["done"] and status["failed"] == 0, status
    elements = await make_client(portal, clock).list_all(
        "catalog.product.list", {"filter": {"iblockId": 23}, "select": ["id", "iblockId", "xmlId"]}
    )
    assert len(elements) == 10


async def test_without_wake_on_package_the_server_waits_for_the_idle_time(
    tmp_path: Path, database_url: str, portal: FakePortal, clock: ManualClock
) -> None:
    b24 = MappingConfig(idle_seconds=HOUR, poll_seconds=0.05, wake_on_package=False)
    async with replayed_server(tmp_path, database_url, portal, clock, b24, products=5) as (server, http):
        await asyncio.sleep(1.0)  # twenty polls: none may plan before the hour of quiet
        status = await b24_status(server, http)
    assert status["done"] == status["pending"] == status["running"] == 0, status
