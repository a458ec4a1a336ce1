"""The fake portal's catalog as the real one reshapes it: product types, the one base price type,
product properties (bitrix24.md §3.5, §3.6; ``catalog.productProperty.*``)."""

from __future__ import annotations

import pytest

from b24_bridge import ApiError

from .conftest import Harness


async def test_a_simple_product_becomes_a_parent_when_a_variation_is_attached(harness: Harness) -> None:
    """§3.5: type 1 turns into type 3 the moment an offer names it as parent."""
    c = harness.client()
    simple = await c.call(
        "catalog.product.add", {"fields": {"iblockId": 23, "name": "Футболка", "xmlId": "p"}}
    )
    product_id = simple["element"]["id"]
    assert simple["element"]["type"] == 1
    await c.call(
        "catalog.product.offer.add",
        {"fields": {"iblockId": 24, "parentId": product_id, "name": "Футболка, M", "xmlId": "p#m"}},
    )
    seen = await c.call("catalog.product.get", {"id": product_id})
    assert seen["product"]["type"] == 3
    units = await c.call(
        "catalog.product.sku.list", {"select": ["id", "iblockId", "xmlId"], "filter": {"iblockId": 23}}
    )
    assert [u["xmlId"] for u in units["units"]] == ["p"]


async def test_a_new_base_price_type_demotes_the_old_one(harness: Harness) -> None:
    """§3.6: one base price type; making another the base takes the flag from the previous one."""
    c = harness.client()
    added = await c.call("catalog.priceType.add", {"fields": {"name": "Опт", "xmlId": "pt2"}})
    new_id = added["priceType"]["id"]
    assert added["priceType"]["base"] == "N"
    await c.call("catalog.priceType.update", {"id": new_id, "fields": {"base": "Y"}})
    types = await c.call("catalog.priceType.list", {"select": ["id", "base"], "order": {"id": "ASC"}})
    assert [(t["id"], t["base"]) for t in types["priceTypes"]] == [(1, "N"), (new_id, "Y")]
    third = await c.call("catalog.priceType.add", {"fields": {"name": "Розница", "base": "Y"}})
    bases = await c.call("catalog.priceType.list", {"filter": {"base": "Y"}, "select": ["id"]})
    assert [t["id"] for t in bases["priceTypes"]] == [third["priceType"]["id"]]


async def test_product_properties_are_listed_added_and_written(harness: Harness) -> None:
    """``catalog.productProperty.*``: a string property per catalog, written as ``propertyN``."""
    c = harness.client()
    made = await c.call(
        "catalog.productProperty.add",
        {"fields": {"iblockId": 23, "name": "Артикул", "code": "CML2_ARTICLE", "propertyType": "S"}},
    )
    prop = made["productProperty"]
    assert prop["code"] == "CML2_ARTICLE" and prop["iblockId"] == 23 and prop["propertyType"] == "S"
    with pytest.raises(ApiError):
        await c.call(
            "catalog.productProperty.add",
            {"fields": {"iblockId": 23, "name": "Артикул 2", "code": "CML2_ARTICLE"}},
        )
    with pytest.raises(ApiError):
        await c.call("catalog.productProperty.add", {"fields": {"iblockId": 99, "name": "x"}})
    listed = await c.call(
        "catalog.productProperty.list",
        {"filter": {"iblockId": 23, "code": "CML2_ARTICLE"}, "select": ["id", "code", "iblockId"]},
    )
    assert listed["productProperties"] == [{"id": prop["id"], "code": "CML2_ARTICLE", "iblockId": 23}]
    field = f"property{prop['id']}"
    element = await c.call(
        "catalog.product.add", {"fields": {"iblockId": 23, "name": "Болт", field: "ART-1"}}
    )
    got = await c.call("catalog.product.get", {"id": element["element"]["id"]})
    assert got["product"][field]["value"] == "ART-1"
