"""What the planner reads: the catalog as stored, in plain frozen rows (no database types). No I/O.

``exchange_server`` fills it (:mod:`b24_bridge.sync.store_reader`); tests build it by hand or with
Hypothesis. Decimals stay :class:`~decimal.Decimal` so a price never passes through a float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "CatalogSnapshot",
    "GroupRow",
    "OfferRow",
    "PriceRow",
    "PriceTypeRow",
    "ProductRow",
    "StockRow",
    "WarehouseRow",
]


@dataclass(frozen=True, slots=True)
class GroupRow:
    id: str
    name: str
    parent_id: str | None = None
    description: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class PriceTypeRow:
    id: str
    name: str
    currency: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class WarehouseRow:
    id: str
    name: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class ProductRow:
    id: str
    name: str
    active: bool = True
    article: str | None = None
    barcode: str | None = None
    description: str | None = None
    unit_code: str | None = None
    unit_name: str | None = None
    group_ids: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()  # (property Ид, value), in document order
    tax_rates: tuple[tuple[str, str], ...] = ()  # (tax name, rate text)
    images: tuple[str, ...] = ()  # paths relative to the package directory, main image first
    package: str | None = None  # the package that last carried the goods (holds the image files)


@dataclass(frozen=True, slots=True)
class PriceRow:
    price_type_id: str
    value: Decimal
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class StockRow:
    warehouse_id: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class OfferRow:
    """An offer; ``prices``/``stock`` are ``None`` when 1C never sent that part."""

    id: str
    product_id: str
    characteristic_id: str | None = None
    name: str | None = None
    article: str | None = None
    barcode: str | None = None
    active: bool = True
    quantity: Decimal | None = None
    prices: tuple[PriceRow, ...] | None = None
    stock: tuple[StockRow, ...] | None = None


@dataclass(frozen=True, slots=True)
class CatalogSnapshot:
    groups: tuple[GroupRow, ...] = ()
    price_types: tuple[PriceTypeRow, ...] = ()
    warehouses: tuple[WarehouseRow, ...] = ()
    products: tuple[ProductRow, ...] = ()
    offers: tuple[OfferRow, ...] = field(default=())
