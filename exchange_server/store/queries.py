"""Read queries for the operator API: products with offers, prices and stock; orders with lines.

Returns plain JSON-ready dicts (decimals as strings, so no digit is lost). Each function issues a
fixed number of statements whatever the size of the result (no lazy loading, no N+1).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from exchange_server.db import tables

__all__ = [
    "count_pending_offers",
    "get_order",
    "get_product",
    "list_orders",
    "list_products",
]

Json = dict[str, Any]

_PRODUCTS = cast(Table, tables.Product.__table__)
_OFFERS = cast(Table, tables.Offer.__table__)
_PRICES = cast(Table, tables.OfferPrice.__table__)
_STOCK = cast(Table, tables.OfferStock.__table__)
_PRICE_TYPES = cast(Table, tables.PriceType.__table__)
_GROUPS = cast(Table, tables.Group.__table__)
_PRODUCT_GROUPS = cast(Table, tables.ProductGroup.__table__)
_PRODUCT_PROPERTIES = cast(Table, tables.ProductProperty.__table__)
_PRODUCT_IMAGES = cast(Table, tables.ProductImage.__table__)
_PROPERTIES = cast(Table, tables.Property.__table__)
_VARIANTS = cast(Table, tables.PropertyVariant.__table__)
_WAREHOUSES = cast(Table, tables.Warehouse.__table__)
_ORDERS = cast(Table, tables.Order.__table__)
_ORDER_LINES = cast(Table, tables.OrderLine.__table__)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _when(value: dt.datetime | dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


async def count_pending_offers(session: AsyncSession) -> int:
    """Offers whose product has not arrived yet (kept; they join the product when it does)."""
    product_exists = exists().where(_PRODUCTS.c.id == _OFFERS.c.product_id)
    result = await session.execute(select(func.count()).select_from(_OFFERS).where(~product_exists))
    return int(result.scalar_one())


def _product_summary(row: Any) -> Json:
    return {
        "id": row.id,
        "name": row.name,
        "article": row.article,
        "barcode": row.barcode,
        "active": bool(row.active),
        "deleted": bool(row.deleted),
        "version": row.version,
        "updated_at": _when(row.updated_at),
    }


async def list_products(session: AsyncSession, *, limit: int, offset: int) -> tuple[int, list[Json]]:
    """Every product ever received (active or not), ordered by Ид; and the total count."""
    total = (await session.execute(select(func.count()).select_from(_PRODUCTS))).scalar_one()
    rows = await session.execute(select(_PRODUCTS).order_by(_PRODUCTS.c.id).limit(limit).offset(offset))
    return int(total), [_product_summary(r) for r in rows.all()]


async def get_product(session: AsyncSession, product_id: str) -> Json | None:
    """One product with its groups, property values, images and offers (prices, stock); None if unknown."""
    product = (await session.execute(select(_PRODUCTS).where(_PRODUCTS.c.id == product_id))).first()
    if product is None:
        return None
    out = _product_summary(product)
    data = product.data or {}
    unit = data.get("base_unit") or {}
    out.update(
        {
            "description": product.description,
            "unit": {"code": product.unit_code, "name": product.unit_name} if unit else None,
            "requisites": [
                {"name": r.get("name"), "values": r.get("values", [])} for r in data.get("requisites", [])
            ],
            "groups": await _product_groups(session, product_id),
            "properties": await _product_properties(session, product_id),
            "images": [
                r.path
                for r in await session.execute(
                    select(_PRODUCT_IMAGES.c.path)
                    .where(_PRODUCT_IMAGES.c.product_id == product_id)
                    .order_by(_PRODUCT_IMAGES.c.position)
                )
            ],
            "offers": await _offers(session, product_id),
        }
    )
    return out


async def _product_groups(session: AsyncSession, product_id: str) -> list[Json]:
    rows = await session.execute(
        select(_PRODUCT_GROUPS.c.group_id, _GROUPS.c.name)
        .select_from(_PRODUCT_GROUPS.outerjoin(_GROUPS, _GROUPS.c.id == _PRODUCT_GROUPS.c.group_id))
        .where(_PRODUCT_GROUPS.c.product_id == product_id)
        .order_by(_PRODUCT_GROUPS.c.position)
    )
    return [{"id": r.group_id, "name": r.name} for r in rows.all()]


async def _product_properties(session: AsyncSession, product_id: str) -> list[Json]:
    pp = _PRODUCT_PROPERTIES
    rows = await session.execute(
        select(pp.c.property_id, pp.c.value, _PROPERTIES.c.name, _VARIANTS.c.value.label("variant"))
        .select_from(
            pp.outerjoin(_PROPERTIES, _PROPERTIES.c.id == pp.c.property_id).outerjoin(
                _VARIANTS, (_VARIANTS.c.property_id == pp.c.property_id) & (_VARIANTS.c.id == pp.c.value)
            )
        )
        .where(pp.c.product_id == product_id)
        .order_by(pp.c.position)
    )
    return [
        {
            "id": r.property_id,
            "name": r.name,
            "value": r.value,
            # A reference-typed property stores the variant Ид; show its text too (protocol §7.2).
            "value_text": r.variant if r.variant is not None else r.value,
        }
        for r in rows.all()
    ]


async def _offers(session: AsyncSession, product_id: str) -> list[Json]:
    offers = (
        await session.execute(
            select(_OFFERS).where(_OFFERS.c.product_id == product_id).order_by(_OFFERS.c.id)
        )
    ).all()
    if not offers:
        return []
    ids = [o.id for o in offers]
    prices: defaultdict[str, list[Json]] = defaultdict(list)
    for r in await session.execute(
        select(
            _PRICES, _PRICE_TYPES.c.name.label("price_type"), _PRICE_TYPES.c.currency.label("type_currency")
        )
        .select_from(_PRICES.outerjoin(_PRICE_TYPES, _PRICE_TYPES.c.id == _PRICES.c.price_type_id))
        .where(_PRICES.c.offer_id.in_(ids))
        .order_by(_PRICES.c.offer_id, _PRICES.c.price_type_id)
    ):
        prices[r.offer_id].append(
            {
                "price_type_id": r.price_type_id,
                "price_type": r.price_type,
                "value": _dec(r.value),
                "currency": r.currency if r.currency is not None else r.type_currency,
            }
        )
    stock: defaultdict[str, list[Json]] = defaultdict(list)
    for r in await session.execute(
        select(_STOCK, _WAREHOUSES.c.name.label("warehouse"))
        .select_from(_STOCK.outerjoin(_WAREHOUSES, _WAREHOUSES.c.id == _STOCK.c.warehouse_id))
        .where(_STOCK.c.offer_id.in_(ids))
        .order_by(_STOCK.c.offer_id, _STOCK.c.warehouse_id)
    ):
        stock[r.offer_id].append(
            {"warehouse_id": r.warehouse_id, "warehouse": r.warehouse, "quantity": _dec(r.quantity)}
        )
    return [
        {
            "id": o.id,
            "name": o.name,
            "article": o.article,
            "barcode": o.barcode,
            "active": bool(o.active),
            "deleted": bool(o.deleted),
            "version": o.version,
            "characteristics": [
                {"name": c.get("name"), "value": c.get("value"), "id": c.get("id")}
                for c in (o.data or {}).get("characteristics", [])
            ],
            "prices": prices.get(o.id, []),
            "stock": stock.get(o.id, []),
            "quantity": _dec(o.quantity),
        }
        for o in offers
    ]


def _order_summary(row: Any) -> Json:
    return {
        "id": row.id,
        "number": row.number,
        "date": _when(row.date),
        "operation": row.operation,
        "status": row.status,
        "currency": row.currency,
        "amount": _dec(row.amount),
        "number_1c": row.number_1c,
        "counterparty": row.counterparty,
        "active": bool(row.active),
        "deleted": bool(row.deleted),
        "version": row.version,
        "revision": row.revision,
        "exported_revision": row.exported_revision,
        "changed_by": row.changed_by,
        "updated_at": _when(row.updated_at),
    }


async def list_orders(session: AsyncSession, *, limit: int, offset: int) -> tuple[int, list[Json]]:
    """Every stored order, most recently changed first; and the total count."""
    total = (await session.execute(select(func.count()).select_from(_ORDERS))).scalar_one()
    rows = await session.execute(
        select(_ORDERS).order_by(_ORDERS.c.updated_at.desc(), _ORDERS.c.id).limit(limit).offset(offset)
    )
    return int(total), [_order_summary(r) for r in rows.all()]


async def get_order(session: AsyncSession, order_id: str) -> Json | None:
    """One order with its lines and the whole document as received; None if unknown."""
    order = (await session.execute(select(_ORDERS).where(_ORDERS.c.id == order_id))).first()
    if order is None:
        return None
    lines = await session.execute(
        select(_ORDER_LINES).where(_ORDER_LINES.c.order_id == order_id).order_by(_ORDER_LINES.c.position)
    )
    out = _order_summary(order)
    out["lines"] = [
        {
            "product_id": r.product_id,
            "name": r.name,
            "price": _dec(r.price),
            "quantity": _dec(r.quantity),
            "amount": _dec(r.amount),
        }
        for r in lines.all()
    ]
    out["document"] = order.data
    return out
