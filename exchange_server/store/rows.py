"""Model entities -> table rows, with the content hashes that let unchanged entities be skipped.

Pure: no database, no I/O. Runs in the importer's worker thread next to the XML reader, so the event
loop only sends ready rows to the database. Each entity is serialised to JSON once: the text is both
stored (the ``data`` column) and hashed (``content_hash``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, TypeVar

from commerceml.model import (
    Document,
    Group,
    Offer,
    PriceType,
    Product,
    Property,
    Unit,
    Warehouse,
    split_offer_id,
)
from exchange_server.store.codec import content_hash, dumps_and_hash, encode, encode_without

__all__ = [
    "CATALOG_KINDS",
    "CHILD_COLUMNS",
    "ORDER_STATUS_REQUISITE",
    "PRICE_COLUMNS",
    "ROW_FORMAT",
    "STOCK_COLUMNS",
    "EntityRow",
    "Kind",
    "OfferRow",
    "decimal_text",
    "entity_row",
    "offer_row",
    "order_row",
]

ORDER_STATUS_REQUISITE = "Статус заказа"

ROW_FORMAT: Final = 1
"""Version of what this module builds (stored JSON, content hashes). Raise it whenever the rows of the
same entity change: a file imported under another format is read again, not reused
(``exchange_server.store.reuse``)."""

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

CHILD_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "property_variants": ("property_id", "id", "position", "value"),
    "product_groups": ("product_id", "group_id", "position"),
    "product_properties": ("product_id", "position", "property_id", "value"),
    "product_images": ("product_id", "position", "path"),
    "order_lines": ("order_id", "position", "product_id", "name", "price", "quantity", "amount"),
}
"""The columns of each child table's row tuples (:attr:`EntityRow.children`), parent key first."""

PRICE_COLUMNS: Final = ("offer_id", "price_type_id", "value", "currency", "unit", "ratio")
STOCK_COLUMNS: Final = ("offer_id", "warehouse_id", "quantity")

Tuple = tuple[Any, ...]


@dataclass(slots=True)
class EntityRow:
    """One entity ready to write: key, bookkeeping, kind-specific columns and child rows.

    ``data_json`` is the canonical JSON text of the entity (:func:`~exchange_server.store.codec.encode`
    then :func:`~exchange_server.store.codec.dumps`): stored as is and hashed into ``content_hash``,
    so each entity is serialised once. ``values`` holds the kind's own columns, the same keys in the
    same order for every row of a kind. ``children`` maps
    a child table to its row tuples (columns as in :data:`CHILD_COLUMNS`, the parent key filled in);
    the child rows replace the stored ones whenever the entity is written.
    """

    kind: Kind
    id: str
    version: str | None
    deleted: bool
    content_hash: str
    values: dict[str, Any]
    data_json: str
    children: dict[str, list[Tuple]] = field(default_factory=dict)


@dataclass(slots=True)
class OfferRow:
    """An offer split into the parts a file may carry; ``None`` parts are left as stored.

    Attributes:
        description: the descriptive part (name, characteristics, properties ...), or None for an offer
            of a 3.1 ``prices___``/``rests___`` file, which carries only its Ид and prices or stock.
        prices: replacement price rows (:data:`PRICE_COLUMNS`), or None when the offer has no
            ``Цены`` section.
        stock: replacement stock rows (:data:`STOCK_COLUMNS`), or None when the offer has no stock
            section.
        quantity: the total stock: ``Количество``, else the sum of the warehouses, else None.

    Decimals (price value and ratio, stock quantities, ``quantity``) are their exact text
    (``format(d, "f")``): what SQLite stores, what asyncpg takes for ``numeric``, and several times
    cheaper than ``Decimal`` to send from the parser process (``store.parsing``).
    """

    id: str
    product_id: str
    characteristic_id: str | None
    description: EntityRow | None
    prices: list[Tuple] | None
    prices_hash: str | None
    stock: list[Tuple] | None
    stock_hash: str | None
    quantity: str | None


def _entity_row(
    kind: Kind,
    key: str,
    version: str | None,
    deleted: bool,
    values: dict[str, Any],
    data: dict[str, Any],
    children: dict[str, list[Tuple]] | None = None,
) -> EntityRow:
    text, digest = dumps_and_hash(data)
    return EntityRow(
        kind=kind,
        id=key,
        version=version,
        deleted=deleted,
        content_hash=digest,
        values=values,
        data_json=text,
        children=children if children is not None else {},
    )


def _row(kind: Kind, entity: Any, values: dict[str, Any], **children: list[Tuple]) -> EntityRow:
    return _entity_row(
        kind, entity.id, entity.version, bool(entity.deleted), values, encode(entity), children
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
                (entity.id, v.id, i, v.value)
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
    return _entity_row(
        Kind.UNIT,
        key,
        unit.version,
        unit.deleted,
        {"code": unit.code, "name": unit.name, "full_name": unit.full_name},
        encode(unit),
    )


def _product_row(product: Product) -> EntityRow:
    unit = product.base_unit
    pid = product.id
    group_ids = product.group_ids
    if len(set(group_ids)) != len(group_ids):
        group_ids = tuple(_unique(group_ids, key=lambda g: g))
    groups = [(pid, gid, i) for i, gid in enumerate(group_ids)]
    properties: list[Tuple] = []
    for pv in product.property_values:
        for value in pv.values:
            if value:  # an empty <Значение/> means "no value" (protocol §7.2)
                properties.append((pid, len(properties), pv.property_id, value))
    images = [(pid, i, p) for i, p in enumerate(product.images)]
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


_OFFER_PARTS: Final = ("prices", "stock", "quantity")


def offer_row(offer: Offer) -> OfferRow:
    """Split an offer into description, prices and stock (each None when the file does not carry it)."""
    product_id, characteristic_id = split_offer_id(offer.id)
    # The stored key: the product Ид for a sellable product (``X``, ``X#``, ``X#X`` all mean X,
    # protocol §7.2), ``X#Y`` for a characteristic.
    key = product_id if characteristic_id is None else f"{product_id}#{characteristic_id}"
    description: EntityRow | None = None
    if _is_descriptive(offer):
        data = encode_without(offer, _OFFER_PARTS)
        data["id"] = key
        description = _entity_row(
            Kind.OFFER,
            key,
            offer.version,
            offer.deleted,
            {
                "product_id": product_id,
                "characteristic_id": characteristic_id,
                "name": offer.name,
                "article": offer.article,
                "barcode": offer.barcode,
            },
            data,
        )
    prices: list[Tuple] | None = None
    prices_hash: str | None = None
    if offer.prices is not None:
        unique_prices = _unique(offer.prices, key=lambda p: p.price_type_id)
        prices = [
            (key, p.price_type_id, _exact(p.value), p.currency, p.unit, decimal_text(p.ratio))
            for p in unique_prices
        ]
        prices_hash = content_hash([encode(p) for p in unique_prices])
    stock: list[Tuple] | None = None
    stock_hash: str | None = None
    quantity = offer.quantity
    totals: dict[str, Decimal] = {}
    texts: dict[str, str] = {}
    if offer.stock is not None:
        for s in offer.stock:  # a warehouse listed twice: its quantities add up
            totals[s.warehouse_id] = totals.get(s.warehouse_id, Decimal(0)) + s.quantity
        texts = {w: _exact(q) for w, q in totals.items()}
        stock = [(key, w, q) for w, q in texts.items()]
        if quantity is None:
            quantity = sum(totals.values(), Decimal(0))
    quantity_text = decimal_text(quantity)
    if offer.stock is not None or offer.quantity is not None:
        stock_hash = content_hash(
            {"quantity": quantity_text, "stock": None if stock is None else sorted(texts.items())}
        )
    return OfferRow(
        id=key,
        product_id=product_id,
        characteristic_id=characteristic_id,
        description=description,
        prices=prices,
        prices_hash=prices_hash,
        stock=stock,
        stock_hash=stock_hash,
        quantity=quantity_text,
    )


def _exact(value: Decimal) -> str:
    return format(value, "f")


def decimal_text(value: Decimal | None) -> str | None:
    """The exact text a decimal is stored and sent as (``format(d, "f")``); None stays None."""
    return None if value is None else format(value, "f")


def order_row(document: Document) -> EntityRow:
    """The row of an order document, its lines as children."""
    counterparty = next((c for c in document.counterparties if c.name or c.full_name), None)
    lines: list[Tuple] = [
        (document.id, i, line.id, line.name, line.price, line.quantity, line.amount)
        for i, line in enumerate(document.lines)
    ]
    return _entity_row(
        Kind.ORDER,
        document.id,
        document.version,
        bool(document.deleted),
        {
            "number": document.number,
            "date": document.date,
            "operation": document.operation,
            "status": document.requisite(ORDER_STATUS_REQUISITE),
            "currency": document.currency,
            "amount": document.amount,
            "number_1c": document.number_1c,
            "counterparty": (counterparty.name or counterparty.full_name) if counterparty else None,
        },
        encode(document),
        {"order_lines": lines},
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
