"""Model entities -> table rows, with the content hashes that let unchanged entities be skipped.

Pure: no database, no I/O. Runs in the importer's worker thread next to the XML reader, so the event
loop only sends ready rows to the database.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar

from commerceml.model import (
    Document,
    Group,
    Offer,
    PriceType,
    Product,
    Property,
    Unit,
    Warehouse,
)
from exchange_server.store.codec import content_hash, encode

__all__ = [
    "CATALOG_KINDS",
    "EntityRow",
    "Kind",
    "OfferRow",
    "ORDER_STATUS_REQUISITE",
    "entity_row",
    "offer_row",
    "order_row",
]

ORDER_STATUS_REQUISITE = "Статус заказа"

T = TypeVar("T")


class Kind(enum.StrEnum):
    """The kinds of catalog entity, named after their tables."""

    GROUP = "groups"
    PROPERTY = "properties"
    PRICE_TYPE = "price_types"
    WAREHOUSE = "warehouses"
    UNIT = "units"
    PRODUCT = "products"
    OFFER = "offers"
    ORDER = "orders"


CATALOG_KINDS = tuple(k for k in Kind if k is not Kind.ORDER)


@dataclass(slots=True)
class EntityRow:
    """One entity ready to write: key, bookkeeping, kind-specific columns and child rows.

    ``children`` maps a child table to its rows (the parent key filled in); the child rows replace the
    stored ones whenever the entity is written.
    """

    kind: Kind
    id: str
    version: str | None
    deleted: bool
    content_hash: str
    values: dict[str, Any]
    data: dict[str, Any]
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(slots=True)
class OfferRow:
    """An offer split into the parts a file may carry; ``None`` parts are left as stored.

    Attributes:
        description: the descriptive part (name, characteristics, properties ...), or None for an offer
            of a 3.1 ``prices___``/``rests___`` file, which carries only its Ид and prices or stock.
        prices: replacement price rows, or None when the offer has no ``Цены`` section.
        stock: replacement stock rows, or None when the offer has no stock section.
        quantity: the total stock: ``Количество``, else the sum of the warehouses, else None.
    """

    id: str
    product_id: str
    characteristic_id: str | None
    description: EntityRow | None
    prices: list[dict[str, Any]] | None
    prices_hash: str | None
    stock: list[dict[str, Any]] | None
    stock_hash: str | None
    quantity: Decimal | None


def _row(kind: Kind, entity: Any, values: dict[str, Any], **children: list[dict[str, Any]]) -> EntityRow:
    data = encode(entity)
    return EntityRow(
        kind=kind,
        id=entity.id,
        version=entity.version,
        deleted=bool(entity.deleted),
        content_hash=content_hash(data),
        values=values,
        data=data,
        children=children,
    )


def entity_row(entity: Group | Property | PriceType | Warehouse | Unit | Product) -> EntityRow | None:
    """The row of a classifier entity or product; None for a unit with neither Ид nor code."""
    match entity:
        case Group():
            return _row(
                Kind.GROUP,
                entity,
                {"name": entity.name, "parent_id": entity.parent_id, "description": entity.description},
            )
        case Property():
            variants = [
                {"property_id": entity.id, "id": v.id, "position": i, "value": v.value}
                for i, v in enumerate(_unique(entity.variants, key=lambda v: v.id))
            ]
            return _row(
                Kind.PROPERTY,
                entity,
                {"name": entity.name, "value_type": entity.value_type, "multiple": entity.multiple},
                property_variants=variants,
            )
        case PriceType():
            return _row(Kind.PRICE_TYPE, entity, {"name": entity.name, "currency": entity.currency})
        case Warehouse():
            return _row(Kind.WAREHOUSE, entity, {"name": entity.name})
        case Unit():
            return _unit_row(entity)
        case Product():
            return _product_row(entity)


def _unit_row(unit: Unit) -> EntityRow | None:
    key = unit.id or unit.code
    if not key:
        return None
    data = encode(unit)
    return EntityRow(
        kind=Kind.UNIT,
        id=key,
        version=unit.version,
        deleted=unit.deleted,
        content_hash=content_hash(data),
        values={"code": unit.code, "name": unit.name, "full_name": unit.full_name},
        data=data,
    )


def _product_row(product: Product) -> EntityRow:
    unit = product.base_unit
    groups = [
        {"product_id": product.id, "group_id": gid, "position": i}
        for i, gid in enumerate(_unique(product.group_ids, key=lambda g: g))
    ]
    properties: list[dict[str, Any]] = []
    for pv in product.property_values:
        for value in pv.values:
            if value:  # an empty <Значение/> means "no value" (protocol §7.2)
                properties.append(
                    {
                        "product_id": product.id,
                        "position": len(properties),
                        "property_id": pv.property_id,
                        "value": value,
                    }
                )
    images = [{"product_id": product.id, "position": i, "path": p} for i, p in enumerate(product.images)]
    return _row(
        Kind.PRODUCT,
        product,
        {
            "name": product.name,
            "article": product.article,
            "barcode": product.barcode,
            "description": product.description,
            "unit_code": (unit.code or unit.ref) if unit else None,
            "unit_name": unit.name if unit else None,
        },
        product_groups=groups,
        product_properties=properties,
        product_images=images,
    )


def _is_descriptive(offer: Offer) -> bool:
    if offer.prices is None and offer.stock is None and offer.quantity is None:
        return True  # a bare offer: its presence is its description
    return bool(
        offer.name is not None
        or offer.article is not None
        or offer.barcode is not None
        or offer.base_unit is not None
        or offer.version is not None
        or offer.deleted
        or offer.characteristics
        or offer.property_values
        or offer.requisites
        or offer.images
    )


def offer_row(offer: Offer) -> OfferRow:
    """Split an offer into description, prices and stock (each None when the file does not carry it)."""
    product_id, characteristic_id = offer.product_id, offer.characteristic_id
    # The stored key: the product Ид for a sellable product (``X``, ``X#``, ``X#X`` all mean X,
    # protocol §7.2), ``X#Y`` for a characteristic.
    key = product_id if characteristic_id is None else f"{product_id}#{characteristic_id}"
    if key != offer.id:
        offer = replace(offer, id=key)
    description: EntityRow | None = None
    if _is_descriptive(offer):
        data = encode(_without_prices_and_stock(offer))
        description = EntityRow(
            kind=Kind.OFFER,
            id=offer.id,
            version=offer.version,
            deleted=offer.deleted,
            content_hash=content_hash(data),
            values={
                "product_id": product_id,
                "characteristic_id": characteristic_id,
                "name": offer.name,
                "article": offer.article,
                "barcode": offer.barcode,
            },
            data=data,
        )
    prices: list[dict[str, Any]] | None = None
    prices_hash: str | None = None
    if offer.prices is not None:
        unique_prices = _unique(offer.prices, key=lambda p: p.price_type_id)
        prices = [
            {
                "offer_id": offer.id,
                "price_type_id": p.price_type_id,
                "value": p.value,
                "currency": p.currency,
                "unit": p.unit,
                "ratio": p.ratio,
            }
            for p in unique_prices
        ]
        prices_hash = content_hash([encode(p) for p in unique_prices])
    stock: list[dict[str, Any]] | None = None
    stock_hash: str | None = None
    quantity = offer.quantity
    totals: dict[str, Decimal] = {}
    if offer.stock is not None:
        for s in offer.stock:  # a warehouse listed twice: its quantities add up
            totals[s.warehouse_id] = totals.get(s.warehouse_id, Decimal(0)) + s.quantity
        stock = [{"offer_id": offer.id, "warehouse_id": w, "quantity": q} for w, q in totals.items()]
        if quantity is None:
            quantity = sum(totals.values(), Decimal(0))
    if offer.stock is not None or offer.quantity is not None:
        stock_hash = content_hash(
            {
                "quantity": None if quantity is None else format(quantity, "f"),
                "stock": None if stock is None else sorted((w, format(q, "f")) for w, q in totals.items()),
            }
        )
    return OfferRow(
        id=offer.id,
        product_id=product_id,
        characteristic_id=characteristic_id,
        description=description,
        prices=prices,
        prices_hash=prices_hash,
        stock=stock,
        stock_hash=stock_hash,
        quantity=quantity,
    )


def _without_prices_and_stock(offer: Offer) -> Offer:
    return replace(offer, prices=None, stock=None, quantity=None)


def order_row(document: Document) -> EntityRow:
    """The row of an order document, its lines as children."""
    data = encode(document)
    counterparty = next((c for c in document.counterparties if c.name or c.full_name), None)
    lines = [
        {
            "order_id": document.id,
            "position": i,
            "product_id": line.id,
            "name": line.name,
            "price": line.price,
            "quantity": line.quantity,
            "amount": line.amount,
        }
        for i, line in enumerate(document.lines)
    ]
    return EntityRow(
        kind=Kind.ORDER,
        id=document.id,
        version=document.version,
        deleted=bool(document.deleted),
        content_hash=content_hash(data),
        values={
            "number": document.number,
            "date": document.date,
            "operation": document.operation,
            "status": document.requisite(ORDER_STATUS_REQUISITE),
            "currency": document.currency,
            "amount": document.amount,
            "number_1c": document.number_1c,
            "counterparty": (counterparty.name or counterparty.full_name) if counterparty else None,
        },
        data=data,
        children={"order_lines": lines},
    )


def _unique(items: tuple[T, ...], *, key: Callable[[T], Any]) -> list[T]:
    """Items with a repeated key dropped (the last one wins, in first-seen position)."""
    seen: dict[Any, int] = {}
    out: list[T] = []
    for item in items:
        k = key(item)
        if k in seen:
            out[seen[k]] = item
        else:
            seen[k] = len(out)
            out.append(item)
    return out
