"""Pictures of the goods: found in the package directory, sent once per content, replaced on change."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge import ManualClock
from b24_bridge.fake import FakePortal, Fault
from b24_bridge.sync.images import ImageResolver
from b24_bridge.sync.mapping import MappingConfig
from b24_bridge.sync.plan import Plan, diff
from b24_bridge.sync.pusher import Pusher
from b24_bridge.sync.snapshot import CatalogSnapshot, ProductRow
from b24_bridge.sync.targets import build_targets
from exchange_server.outbox import queue
from tests.b24_sync.conftest import make_client

MAPPING = MappingConfig()
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


async def plan_into(
    sm: async_sessionmaker[AsyncSession], snapshot: CatalogSnapshot, resolver: ImageResolver
) -> Plan:
    async with sm() as s:
        pushed = await queue.pushed_hashes(s)
    files = resolver.resolve_all({p.id: (p.package, p.images) for p in snapshot.products})
    plan = diff(build_targets(snapshot, MAPPING, files), pushed)
    async with sm.begin() as s:
        await queue.enqueue(s, plan.jobs, dt.datetime.now(dt.UTC))
    return plan


async def names(portal: FakePortal, clock: ManualClock, product_id: int) -> list[str]:
    listed = await make_client(portal, clock).call("catalog.productImage.list", {"productId": product_id})
    return sorted((row["name"] for row in listed["productImages"]), key=lambda n: n.split("-", 1)[1])


async def test_images_sent_once_and_replaced_on_change(
    tmp_path: Path, portal: FakePortal, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    package = tmp_path / "catalog" / "pkg-1" / "import_files"
    package.mkdir(parents=True)
    (package / "main.png").write_bytes(PNG)
    (package / "side.jpg").write_bytes(PNG + b"side")
    resolver = ImageResolver(tmp_path / "catalog")
    product = ProductRow(
        "p",
        "Bolt",
        images=("import_files/main.png", "import_files/side.jpg", "import_files/gone.png"),
        package="pkg-1",
    )
    snapshot = CatalogSnapshot(products=(product,))
    plan = await plan_into(sessionmaker, snapshot, resolver)
    assert [t.kind for t in plan.jobs] == ["product", "images"]
    assert plan.warnings == ("1 image files named by 1C are missing from the package directories",)
    client = make_client(portal, clock)
    portal.faults.add(Fault.LOST_RESPONSE, method="catalog.productImage.add", every=1, times=1)
    report = await Pusher(client, sessionmaker, MAPPING).drain()
    assert report.parked == 0 and report.failed == 1  # the lost upload, then found by its name
    (element,) = [r["id"] for r in portal.state.t("element")]
    first = await names(portal, clock, element)
    assert len(first) == 2 and first[0].endswith("-main.png") and first[1].endswith("-side.jpg")
    kinds = sorted(r["type"] for r in portal.state.t("image"))
    assert kinds == ["DETAIL_PICTURE", "MORE_PHOTO"]

    # The same package again (another package id, same pictures): nothing planned.
    moved = tmp_path / "catalog" / "pkg-2" / "import_files"
    moved.mkdir(parents=True)
    for f in package.iterdir():
        (moved / f.name).write_bytes(f.read_bytes())
    again = dataclasses.replace(snapshot, products=(dataclasses.replace(product, package="pkg-2"),))
    assert (await plan_into(sessionmaker, again, resolver)).empty

    # A changed picture: the old one goes, the new one comes.
    (moved / "side.jpg").write_bytes(PNG + b"new side")
    changed = await plan_into(sessionmaker, again, resolver)
    assert [t.kind for t in changed.jobs] == ["images"]
    await Pusher(client, sessionmaker, MAPPING).drain()
    second = await names(portal, clock, element)
    assert second[0] == first[0] and second[1] != first[1] and second[1].endswith("-side.jpg")
