"""What the settings and the 1C catalog change after a first push: entities leaving the plan, a new base
price type, the article and the barcode out of the box. Against the fake portal, read back through REST."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge import B24Client, ManualClock
from b24_bridge.fake import FakePortal
from b24_bridge.sync.mapping import MappingConfig
from b24_bridge.sync.plan import Plan, diff
from b24_bridge.sync.pusher import Pusher
from b24_bridge.sync.snapshot import CatalogSnapshot, PriceTypeRow
from b24_bridge.sync.targets import build_targets
from exchange_server.outbox import queue
from tests.b24_sync.conftest import make_client
from tests.b24_sync.portal_view import expected_portal, read_portal, sample_catalog


async def push(
    sm: async_sessionmaker[AsyncSession], client: B24Client, snapshot: CatalogSnapshot, mapping: MappingConfig
) -> Plan:
    async with sm() as s:
        pushed = await queue.pushed_hashes(s)
    plan = diff(build_targets(snapshot, mapping), pushed)
    async with sm.begin() as s:
        await queue.enqueue(s, plan.jobs, dt.datetime.now(dt.UTC))
    report = await Pusher(client, sm, mapping).drain()
    assert report.failed == 0 and report.done == len(plan.jobs), report.errors
    return plan


async def rows(client: B24Client, method: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return list(await client.list_all(method, params))


async def element(client: B24Client, xml_id: str, iblock: int = 23) -> dict[str, Any]:
    (row,) = await rows(
        client,
        "catalog.product.list",
        {"filter": {"iblockId": iblock, "xmlId": xml_id}, "select": ["id", "iblockId", "xmlId", "active"]},
    )
    got = await client.call("catalog.product.get", {"id": row["id"]})
    return dict(got["product"])


async def test_entities_leaving_the_plan_become_inactive_or_lose_their_price_rows(
    client: B24Client, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    mapping = MappingConfig()
    snapshot = sample_catalog(20)
    await push(sessionmaker, client, snapshot, mapping)
    assert await read_portal(client) == expected_portal(snapshot, mapping)

    # A price type deselected, a warehouse and a group gone, a variation removed.
    narrow = MappingConfig(price_types=["pt-retail"])
    variation = next(o for o in snapshot.offers if o.characteristic_id)
    product = next(p for p in snapshot.products if not p.group_ids or p.group_ids[0] == "g5")
    after = dataclasses.replace(
        snapshot,
        warehouses=snapshot.warehouses[:2],
        groups=tuple(g for g in snapshot.groups if g.id != "g5"),
        products=tuple(
            dataclasses.replace(p, group_ids=()) if p.group_ids == ("g5",) else p for p in snapshot.products
        ),
        offers=tuple(
            dataclasses.replace(o, stock=tuple(s for s in o.stock or () if s.warehouse_id != "wh2"))
            for o in snapshot.offers
            if o.id != variation.id
        ),
    )
    plan = await push(sessionmaker, client, after, narrow)
    assert {k: n.get("retire", 0) for k, n in plan.counts().items() if n.get("retire")} == {
        "pricetype": 1,
        "store": 1,
        "section": 1,
        "offer": 1,
        "prices": 1,
        "stock": 1,
    }
    view = await read_portal(client)
    want = expected_portal(after, narrow)
    # Every price row of the deselected type is gone (modify sends the whole set); the rest is equal.
    assert {k: v for k, v in view.prices.items() if k[0] != variation.id} == want.prices
    assert all(t != "pt-whole" for (k, t) in view.prices if k != variation.id)
    # The variation that left is inactive, not deleted, and keeps its last prices; nothing duplicated.
    assert view.elements[variation.id][2] == "N" and view.duplicates == []
    assert view.prices[(variation.id, "pt-retail")] == variation.prices[0].value  # type: ignore[index]
    assert {k: v for k, v in view.elements.items() if k != variation.id} == want.elements
    assert view.sections["g5"][2] == "N" and product is not None
    types = {t["xmlId"] for t in await rows(client, "catalog.priceType.list", {})}
    assert "pt-whole" in types  # a price type is kept (no active flag, may serve others)
    stores = {s["xmlId"]: s["active"] for s in await rows(client, "catalog.store.list", {})}
    assert stores["wh2"] == "N" and stores["wh0"] == stores["wh1"] == "Y"

    # Pushed once: the same state again plans nothing.
    async with sessionmaker() as s:
        assert diff(build_targets(after, narrow), await queue.pushed_hashes(s)).empty

    # The price type selected again: its rows come back, the store and the variation too.
    plan = await push(sessionmaker, client, snapshot, mapping)
    assert not plan.retired
    assert await read_portal(client) == expected_portal(snapshot, mapping)


async def test_a_new_base_price_type_is_pushed_as_base_and_the_old_one_demoted(
    portal: FakePortal, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = make_client(portal, clock)
    snapshot = sample_catalog(10)
    first = MappingConfig(base_price_type="pt-retail")
    await push(sessionmaker, client, snapshot, first)

    async def bases() -> dict[str, str]:
        return {t["xmlId"]: t["base"] for t in await rows(client, "catalog.priceType.list", {})}

    assert await bases() == {"pt-retail": "Y", "pt-whole": "N"}  # the portal's BASE taken over

    second = MappingConfig(base_price_type="pt-whole")
    plan = await push(sessionmaker, client, snapshot, second)
    assert {t.key for t in plan.jobs} == {"pt-retail", "pt-whole"}  # only the two types travel
    assert await bases() == {"pt-retail": "N", "pt-whole": "Y"}
    assert await read_portal(client) == expected_portal(snapshot, second)

    # A type never pushed before becomes the base: a new portal type, the taken-over one stays.
    with_new = dataclasses.replace(
        snapshot, price_types=(*snapshot.price_types, PriceTypeRow("pt-new", "Новая", "RUB"))
    )
    third = MappingConfig(base_price_type="pt-new")
    await push(sessionmaker, client, with_new, third)
    assert await bases() == {"pt-retail": "N", "pt-whole": "N", "pt-new": "Y"}
    assert len(await rows(client, "catalog.priceType.list", {})) == 3
    assert await read_portal(client) == expected_portal(with_new, third)


async def test_article_and_barcode_reach_the_portal_out_of_the_box(
    portal: FakePortal, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = make_client(portal, clock)
    # The portal has the usual ARTNUMBER in the products catalog only.
    made = await client.call(
        "catalog.productProperty.add", {"fields": {"iblockId": 23, "name": "Артикул", "code": "ARTNUMBER"}}
    )
    artnumber = f"property{made['productProperty']['id']}"
    base = sample_catalog(10)
    products = tuple(
        dataclasses.replace(p, barcode=f"46000000000{i:02d}") for i, p in enumerate(base.products)
    )
    snapshot = dataclasses.replace(base, products=products)
    mapping = MappingConfig()
    await push(sessionmaker, client, snapshot, mapping)

    props = await rows(client, "catalog.productProperty.list", {"select": ["id", "iblockId", "code"]})
    fields = {(p["iblockId"], p["code"]): f"property{p['id']}" for p in props}
    assert set(fields) == {
        (23, "ARTNUMBER"),
        (23, "CML2_BAR_CODE"),
        (24, "CML2_ARTICLE"),
        (24, "CML2_BAR_CODE"),
    }
    simple = next(
        p for p in products if not any(o.characteristic_id for o in base.offers if o.product_id == p.id)
    )
    got = await element(client, simple.id)
    assert got[artnumber]["value"] == simple.article
    assert got[fields[(23, "CML2_BAR_CODE")]]["value"] == simple.barcode
    variation = next(o for o in base.offers if o.characteristic_id)
    parent = next(p for p in products if p.id == variation.product_id)
    got_offer = await element(client, variation.id, iblock=24)
    assert got_offer[fields[(24, "CML2_ARTICLE")]]["value"] == parent.article  # inherited by variations
    assert got_offer[fields[(24, "CML2_BAR_CODE")]]["value"] == parent.barcode

    # The article removed in 1C is cleared in the portal.
    cleared = dataclasses.replace(
        snapshot,
        products=tuple(dataclasses.replace(p, article=None) if p.id == simple.id else p for p in products),
    )
    plan = await push(sessionmaker, client, cleared, mapping)
    assert [(t.kind, t.key) for t in plan.jobs] == [("product", simple.id)]
    assert (await element(client, simple.id))[artnumber]["value"] == ""


async def test_article_and_barcode_off_add_no_property(
    portal: FakePortal, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = make_client(portal, clock)
    mapping = MappingConfig(article_property="off", barcode_property="off")
    snapshot = sample_catalog(5)
    await push(sessionmaker, client, snapshot, mapping)
    assert await rows(client, "catalog.productProperty.list", {}) == []
    assert await read_portal(client) == expected_portal(snapshot, mapping)


def test_article_and_barcode_settings_are_validated() -> None:
    assert MappingConfig().article_property == "auto" and MappingConfig().barcode_property == "auto"
    assert MappingConfig(article_property=None, barcode_property="").barcode_property == "off"
    assert MappingConfig(article_property="property7").article_property == "property7"
    with pytest.raises(ValidationError, match='"auto", "off" or look like property123'):
        MappingConfig(barcode_property="barcode")
    with pytest.raises(ValidationError, match="used for two things"):
        MappingConfig(article_property="property7", properties={"x": "property7"})
    # "auto" puts the codes in the payload for the pusher; a named field goes straight into the fields.
    snap = sample_catalog(1)
    (auto,) = [t for t in build_targets(snap, MappingConfig()) if t.kind == "product"]
    (named,) = [
        t for t in build_targets(snap, MappingConfig(article_property="property7")) if t.kind == "product"
    ]
    assert auto.payload["article"] == "ART-0" and "property7" not in auto.payload["fields"]
    assert named.payload["fields"]["property7"] == "ART-0" and "article" not in named.payload


async def test_goods_that_gain_characteristics_become_a_parent_without_prices(
    portal: FakePortal, clock: ManualClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    client = make_client(portal, clock)
    mapping = MappingConfig()
    snapshot = sample_catalog(6)
    await push(sessionmaker, client, snapshot, mapping)
    simple = next(
        p
        for p in snapshot.products
        if not any(o.characteristic_id for o in snapshot.offers if o.product_id == p.id)
    )
    own = next(o for o in snapshot.offers if o.id == simple.id)
    assert (await read_portal(client)).elements[simple.id][0] == 1
    variations = tuple(
        dataclasses.replace(own, id=f"{simple.id}#v{n}", characteristic_id=f"v{n}", name=f"{simple.name} {n}")
        for n in range(2)
    )
    after = dataclasses.replace(
        snapshot, offers=tuple(o for o in snapshot.offers if o.id != simple.id) + variations
    )
    plan = await push(sessionmaker, client, after, mapping)
    assert plan.counts()["prices"] == {"create": 2, "update": 0, "retire": 1}
    view = await read_portal(client)
    assert view.elements[simple.id][0] == 3  # the portal's own element, now a parent (never a second one)
    assert not any(k == simple.id for k, _ in view.prices)  # a parent has no prices of its own
    want = expected_portal(after, mapping)
    assert dataclasses.replace(view, stock={k: v for k, v in view.stock.items() if k[0] != simple.id}) == want
    # The parent's own stock is left as it was: the portal counts a parent's variations, not the parent.
    assert {k: v for k, v in view.stock.items() if k[0] == simple.id} == {
        (simple.id, s.warehouse_id): s.quantity for s in own.stock or () if s.quantity
    }
