"""The background worker: it plans only once the catalog has stayed still for ``idle_seconds``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge import ManualClock
from b24_bridge.fake import FakePortal
from b24_bridge.sync.mapping import MappingConfig
from b24_bridge.sync.service import BridgeWorker
from commerceml.generator import CatalogSpec, generate_catalog
from exchange_server.importer import CatalogImporter
from exchange_server.outbox import queue
from tests.b24_sync.conftest import make_client


async def test_plans_after_the_catalog_settles(
    tmp_path: Path, portal: FakePortal, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = [100.0]
    worker = BridgeWorker(
        sessionmaker, MappingConfig(idle_seconds=5), make_client(portal, clock), monotonic=lambda: now[0]
    )
    assert not await worker.tick()  # empty store: nothing to plan or push
    catalog = generate_catalog(tmp_path / "cml", CatalogSpec(products=8, seed=9))
    importer = CatalogImporter(sessionmaker)
    goods = catalog.files[0].path
    await importer.import_file(goods, package_id="pkg", base_dir=goods.parent)
    now[0] += 1
    assert not await worker.tick()  # changed just now: wait
    now[0] += 2
    assert not await worker.tick()  # still within the idle time
    offers = catalog.files[1].path
    await importer.import_file(offers, package_id="pkg", base_dir=offers.parent)
    now[0] += 4
    assert not await worker.tick()  # the offers moved the fingerprint: the idle time starts again
    now[0] += 6
    assert await worker.tick()
    assert worker.last_plan is not None and worker.last_plan.jobs
    async with sessionmaker() as s:
        status = await queue.status(s)
    assert status["done"] == len(worker.last_plan.jobs) and status["pending"] == 0
    now[0] += 60
    assert not await worker.tick()  # nothing changed since: no plan, no calls
