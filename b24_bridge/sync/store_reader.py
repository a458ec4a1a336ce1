"""Reads the catalog store into a :class:`CatalogSnapshot` (read-only; one transaction, a few scans).

Also :func:`store_fingerprint`: a cheap "did the catalog change" value (row counts and the latest
``updated_at`` per table) the worker compares before planning again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

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
from exchange_server.db import tables as t
from exchange_server.db.journal_tables import ExchangeFile

__all__ = ["imports_running", "read_snapshot", "store_fingerprint"]


def _tax_rates(data: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(data, dict):
        return ()
    out = []
    for rate in data.get("tax_rates") or ():
        if isinstance(rate, dict) and rate.get("rate") is not None:
            out.append((str(rate.get("name") or ""), str(rate["rate"])))
    return tuple(out)


async def read_snapshot(session: AsyncSession) -> CatalogSnapshot:
    """The whole catalog as stored (inactive rows included: they become inactive in the portal)."""
    groups = tuple(
        GroupRow(r.id, r.name, r.parent_id, r.description, r.active)
        for r in await session.execute(
            select(t.Group.id, t.Group.name, t.Group.parent_id, t.Group.description, t.Group.active).order_by(
                t.Group.id
            )
        )
    )
    price_types = tuple(
        PriceTypeRow(r.id, r.name, r.currency, r.active)
        for r in await session.execute(
            select(t.PriceType.id, t.PriceType.name, t.PriceType.currency, t.PriceType.active).order_by(
                t.PriceType.id
            )
        )
    )
    warehouses = tuple(
        WarehouseRow(r.id, r.name, r.active)
        for r in await session.execute(
            select(t.Warehouse.id, t.Warehouse.name, t.Warehouse.active).order_by(t.Warehouse.id)
        )
    )
    group_ids: dict[str, list[str]] = defaultdict(list)
    for r in await session.execute(
        select(t.ProductGroup.product_id, t.ProductGroup.group_id).order_by(
            t.ProductGroup.product_id, t.ProductGroup.position
        )
    ):
        group_ids[r.product_id].append(r.group_id)
    images: dict[str, list[str]] = defaultdict(list)
    for im in await session.execute(
        select(t.ProductImage.product_id, t.ProductImage.path).order_by(
            t.ProductImage.product_id, t.ProductImage.position
        )
    ):
        images[im.product_id].append(im.path)
    properties: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for pr in await session.execute(
        select(t.ProductProperty.product_id, t.ProductProperty.property_id, t.ProductProperty.value).order_by(
            t.ProductProperty.product_id, t.ProductProperty.position
        )
    ):
        properties[pr.product_id].append((pr.property_id, pr.value))
    products = tuple(
        ProductRow(
            id=r.id,
            name=r.name,
            active=r.active,
            article=r.article,
            barcode=r.barcode,
            description=r.description,
            unit_code=r.unit_code,
            unit_name=r.unit_name,
            group_ids=tuple(group_ids.get(r.id, ())),
            properties=tuple(properties.get(r.id, ())),
            tax_rates=_tax_rates(r.data),
            images=tuple(images.get(r.id, ())),
            package=r.last_seen_package,
        )
        for r in await session.execute(
            select(
                t.Product.id,
                t.Product.name,
                t.Product.active,
                t.Product.article,
                t.Product.barcode,
                t.Product.description,
                t.Product.unit_code,
                t.Product.unit_name,
                t.Product.data,
                t.Product.last_seen_package,
            ).order_by(t.Product.id)
        )
    )
    prices: dict[str, list[PriceRow]] = defaultdict(list)
    for p in await session.execute(
        select(t.OfferPrice.offer_id, t.OfferPrice.price_type_id, t.OfferPrice.value, t.OfferPrice.currency)
    ):
        prices[p.offer_id].append(PriceRow(p.price_type_id, p.value, p.currency))
    stock: dict[str, list[StockRow]] = defaultdict(list)
    for q in await session.execute(
        select(t.OfferStock.offer_id, t.OfferStock.warehouse_id, t.OfferStock.quantity)
    ):
        stock[q.offer_id].append(StockRow(q.warehouse_id, q.quantity))
    offers = tuple(
        OfferRow(
            id=r.id,
            product_id=r.product_id,
            characteristic_id=r.characteristic_id,
            name=r.name,
            article=r.article,
            barcode=r.barcode,
            active=r.active,
            quantity=r.quantity,
            prices=tuple(sorted(prices[r.id], key=lambda p: p.price_type_id))
            if r.prices_hash is not None or r.id in prices
            else None,
            stock=tuple(sorted(stock[r.id], key=lambda s: s.warehouse_id))
            if r.stock_hash is not None or r.id in stock
            else None,
        )
        for r in await session.execute(
            select(
                t.Offer.id,
                t.Offer.product_id,
                t.Offer.characteristic_id,
                t.Offer.name,
                t.Offer.article,
                t.Offer.barcode,
                t.Offer.active,
                t.Offer.quantity,
                t.Offer.prices_hash,
                t.Offer.stock_hash,
            ).order_by(t.Offer.id)
        )
    )
    return CatalogSnapshot(groups, price_types, warehouses, products, offers)


STALE_IMPORT: Final = dt.timedelta(hours=2)


async def imports_running(session: AsyncSession, now: dt.datetime | None = None) -> int:
    """Files of the exchange journal being imported right now (planning waits for them).

    An import marked running for longer than two hours is taken for one a crash left behind.
    """
    since = (now or dt.datetime.now(dt.UTC)) - STALE_IMPORT
    query = (
        select(func.count())
        .select_from(ExchangeFile)
        .where(ExchangeFile.import_state == "running", ExchangeFile.import_started_at > since)
    )
    return int((await session.execute(query)).scalar_one())


async def store_fingerprint(session: AsyncSession) -> tuple[Any, ...]:
    """Counts and latest ``updated_at`` of the catalog tables: equal fingerprints, nothing to plan."""
    parts: list[Any] = []
    for model in (t.Group, t.PriceType, t.Warehouse, t.Product, t.Offer):
        row = (await session.execute(select(func.count(), func.max(model.updated_at)))).one()
        parts.extend((int(row[0]), str(row[1])))
    for child in (t.OfferPrice, t.OfferStock):
        row = (await session.execute(select(func.count(), func.max(child.updated_at)))).one()
        parts.extend((int(row[0]), str(row[1])))
    return tuple(parts)
