"""Reading the portal back through REST, and what it should hold for a snapshot; for the sync tests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from b24_bridge import B24Client
from b24_bridge.sync.mapping import MappingConfig
from b24_bridge.sync.snapshot import (
    CatalogSnapshot,
    GroupRow,
    OfferRow,
    PriceRow,
    PriceTypeRow,
    ProductRow,
    StockRow,
    WarehouseRow,
)
from b24_bridge.sync.targets import build_targets

WRITE_SUFFIXES = (".add", ".update", ".modify", ".conduct", ".delete")


def write_calls(stats: dict[str, Any]) -> int:
    """Commands that change the portal, counted from ``/_fake/stats`` (nested batch commands included)."""
    return sum(n for method, n in stats["calls"].items() if method.lower().endswith(WRITE_SUFFIXES))


@dataclass(frozen=True)
class PortalCatalog:
    sections: dict[str, tuple[str, str | None, str]]  # xmlId -> (name, parent xmlId, active)
    elements: dict[str, tuple[int, str, str, str | None]]  # xmlId -> (type, name, active, parent xmlId)
    prices: dict[tuple[str, str], Decimal]  # (element xmlId, price type xmlId) -> price
    stock: dict[tuple[str, str], Decimal]  # (element xmlId, store xmlId) -> amount
    duplicates: list[str]


async def read_portal(client: B24Client) -> PortalCatalog:
    """Everything the bridge writes, read with plain list calls (paged)."""
    sections_raw = await client.list_all(
        "catalog.section.list",
        {"filter": {"iblockId": 23}, "select": ["id", "xmlId", "name", "iblockSectionId", "active"]},
    )
    section_xml = {int(s["id"]): s["xmlId"] for s in sections_raw}
    sections = {
        s["xmlId"]: (s["name"], section_xml.get(int(s["iblockSectionId"] or 0)), s["active"])
        for s in sections_raw
    }
    rows: list[dict[str, Any]] = []
    for iblock in (23, 24):
        rows += await client.list_all(
            "catalog.product.list",
            {"filter": {"iblockId": iblock}, "select": ["id", "iblockId", "xmlId", "name", "active", "type"]},
        )
    offers = await client.list_all(
        "catalog.product.offer.list",
        {"filter": {"iblockId": 24}, "select": ["id", "iblockId", "xmlId", "parentId"]},
    )
    by_id = {int(r["id"]): r for r in rows}
    parent_of = {int(o["id"]): int(o["parentId"]["value"]) for o in offers if o.get("parentId")}
    elements: dict[str, tuple[int, str, str, str | None]] = {}
    for r in rows:
        parent = parent_of.get(int(r["id"]))
        elements[r["xmlId"]] = (
            int(r["type"]),
            r["name"],
            r["active"],
            None if parent is None else by_id[parent]["xmlId"],
        )
    types = {int(t["id"]): t["xmlId"] for t in await client.list_all("catalog.priceType.list", {})}
    prices = {
        (by_id[int(p["productId"])]["xmlId"], types[int(p["catalogGroupId"])]): Decimal(str(p["price"]))
        for p in await client.list_all("catalog.price.list", {})
    }
    stores = {int(s["id"]): s["xmlId"] for s in await client.list_all("catalog.store.list", {})}
    stock = {
        (by_id[int(s["productId"])]["xmlId"], stores[int(s["storeId"])]): Decimal(str(s["amount"]))
        for s in await client.list_all("catalog.storeproduct.list", {})
        if Decimal(str(s["amount"])) != 0
    }
    counts = Counter([r["xmlId"] for r in rows] + [s["xmlId"] for s in sections_raw])
    return PortalCatalog(sections, elements, prices, stock, sorted(k for k, n in counts.items() if n > 1))


def expected_portal(snapshot: CatalogSnapshot, mapping: MappingConfig) -> PortalCatalog:
    """What :func:`read_portal` must find after a complete push of ``snapshot``."""
    targets = build_targets(snapshot, mapping)
    yn = {True: "Y", False: "N"}
    sections = {
        t.key: (t.payload["name"], t.payload["parent"], yn[t.payload["active"]])
        for t in targets
        if t.kind == "section"
    }
    elements: dict[str, tuple[int, str, str, str | None]] = {}
    for t in targets:
        if t.kind in ("product", "offer"):
            elements[t.key] = (
                4 if t.kind == "offer" else 3 if t.payload["variations"] else 1,
                t.payload["name"],
                yn[t.payload["active"]],
                t.payload.get("parent"),
            )
    prices = {
        (t.key, row[0]): Decimal(row[1]) for t in targets if t.kind == "prices" for row in t.payload["prices"]
    }
    stock = {
        (t.key, w): Decimal(q)
        for t in targets
        if t.kind == "stock"
        for w, q in t.payload["stores"].items()
        if Decimal(q) != 0
    }
    return PortalCatalog(sections, elements, prices, stock, [])


def sample_catalog(products: int = 60, *, seed: int = 1) -> CatalogSnapshot:
    """A catalog like 1C sends: a group tree, 2 price types, 3 warehouses, 20% goods with 3 characteristics."""
    groups = [GroupRow("g0", "Каталог"), GroupRow("g1", "Крепёж", "g0"), GroupRow("g2", "Одежда", "g0")]
    groups += [GroupRow(f"g{i}", f"Группа {i}", f"g{1 + i % 2}") for i in range(3, 6)]
    price_types = (PriceTypeRow("pt-retail", "Розничная", "RUB"), PriceTypeRow("pt-whole", "Оптовая", "RUB"))
    warehouses = tuple(WarehouseRow(f"wh{i}", f"Склад {i}") for i in range(3))
    rows: list[ProductRow] = []
    offers: list[OfferRow] = []
    for i in range(products):
        pid = f"prod-{seed}-{i:05d}"
        rows.append(
            ProductRow(
                pid,
                f"Товар {i}",
                article=f"ART-{i}",
                unit_code="796",
                group_ids=(f"g{i % 6}",),
                tax_rates=(("НДС", "20"),),
                description="Описание" if i % 3 == 0 else None,
            )
        )
        chars = [f"{pid}#c{j}" for j in range(3)] if i % 5 == 0 else [pid]
        for n, oid in enumerate(chars):
            base = Decimal(100 + i) + Decimal(n) / 4
            offers.append(
                OfferRow(
                    oid,
                    pid,
                    None if oid == pid else oid.split("#")[1],
                    name=f"Товар {i} вариант {n}" if oid != pid else None,
                    prices=(PriceRow("pt-retail", base), PriceRow("pt-whole", base * Decimal("0.9"))),
                    stock=tuple(StockRow(f"wh{w}", Decimal((i + n + w) % 7)) for w in range(3)),
                )
            )
    return CatalogSnapshot(tuple(groups), price_types, warehouses, tuple(rows), tuple(offers))
