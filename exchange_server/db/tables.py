"""Catalog and order tables: the classifier, products, offers, prices, stock, images, orders.

Declarations only: no queries (``exchange_server.store``) and no engine (``engine.py``). The schema
itself is created by the Alembic migrations; these classes must match them (a test compares both).

Every entity received from 1C is keyed by its 1C ``Ид`` (an opaque string) and carries the same
bookkeeping columns (:class:`Tracked`):

* ``active``: false when 1C deleted it (``Статус=Удален`` / ``ПометкаУдаления``) or a full package
  did not contain it. Rows are never deleted: a product can come back.
* ``deleted``: 1C itself marked it deleted (as opposed to "not seen in the last full package").
* ``version``: 1C's ``НомерВерсии``; an entity arriving with the version already stored is skipped.
* ``content_hash``: digest of everything received, so an unversioned entity re-sent unchanged is skipped.
* ``last_seen_package``: the package that last contained it; the sweep at the end of a full package
  deactivates rows whose value is another package.
* ``data``: the whole entity as received (JSON, see ``exchange_server.store.codec``), so nothing 1C
  sent is lost even where no column models it.

Child rows (variants of a property, groups/properties/images of a product, prices and stock of an
offer, lines of an order) are part of their parent's content: when the parent changes they are
replaced with what the new version lists. Only order lines have a foreign key to their parent; the
catalog's child rows are written by ``store.catalog`` alone, in the transaction of their parent, and
catalog rows are never deleted, so a per-row check only slowed the bulk inserts (migration
``20261123_0006``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from exchange_server.db.base import Base

__all__ = [
    "ID_LENGTH",
    "DecimalText",
    "Group",
    "ImportScope",
    "ImportedFile",
    "Offer",
    "OfferPrice",
    "OfferStock",
    "Order",
    "OrderLine",
    "PriceType",
    "Product",
    "ProductGroup",
    "ProductImage",
    "ProductProperty",
    "Property",
    "PropertyVariant",
    "Tracked",
    "Unit",
    "Warehouse",
    "JsonData",
]

ID_LENGTH = 255
"""Longest 1C ``Ид`` stored (1C-Bitrix's XML_ID is varchar(255); ``guid#guid`` is 73)."""

JsonData = JSON().with_variant(JSONB(), "postgresql")


class DecimalText(TypeDecorator[Decimal]):
    """An exact decimal: ``NUMERIC`` on PostgreSQL, text on SQLite (which has no decimal type).

    SQLite would store NUMERIC as a float and lose digits (``1719.10`` ≠ ``1719.1000000001``).
    """

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | str | None, dialect: Dialect) -> Any:
        """A ``Decimal``, or its exact text as the catalog rows carry it (``store.rows.OfferRow``)."""
        if value is None or dialect.name != "sqlite" or type(value) is str:
            return value
        return format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


def _id(primary: bool = False) -> Mapped[str]:
    return mapped_column(String(ID_LENGTH), primary_key=primary)


class Tracked:
    """Bookkeeping columns shared by every entity received from 1C (see the module docstring)."""

    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    content_hash: Mapped[str] = mapped_column(String(64))
    last_seen_package: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    data: Mapped[Any] = mapped_column(JsonData)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# --- classifier ------------------------------------------------------------------------------


class Group(Tracked, Base):
    """``Классификатор/Группы/Группа``; the tree is kept flat with ``parent_id`` (not a foreign key:
    a changes-only package may send a group whose parent came earlier, or never)."""

    __tablename__ = "groups"

    id: Mapped[str] = _id(primary=True)
    parent_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)


class Property(Tracked, Base):
    """``Классификатор/Свойства/Свойство``."""

    __tablename__ = "properties"

    id: Mapped[str] = _id(primary=True)
    name: Mapped[str] = mapped_column(Text)
    value_type: Mapped[str | None] = mapped_column(String(64))
    multiple: Mapped[bool | None] = mapped_column(Boolean)


class PropertyVariant(Base):
    """``ВариантыЗначений/Справочник``: one allowed value of a reference-typed property."""

    __tablename__ = "property_variants"

    property_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    id: Mapped[str] = _id(primary=True)
    position: Mapped[int] = mapped_column(Integer)
    value: Mapped[str] = mapped_column(Text)


class PriceType(Tracked, Base):
    """``ТипЦены``: from the offers package (2.0x) or the classifier (3.1)."""

    __tablename__ = "price_types"

    id: Mapped[str] = _id(primary=True)
    name: Mapped[str] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(32))


class Warehouse(Tracked, Base):
    """``Склад``: from the classifier (3.1) or the offers package (2.04+)."""

    __tablename__ = "warehouses"

    id: Mapped[str] = _id(primary=True)
    name: Mapped[str | None] = mapped_column(Text)


class Unit(Tracked, Base):
    """``ЕдиницаИзмерения`` of the classifier, keyed by its ``Ид`` or, without one, its code."""

    __tablename__ = "units"

    id: Mapped[str] = _id(primary=True)
    code: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    full_name: Mapped[str | None] = mapped_column(Text)


# --- catalog ---------------------------------------------------------------------------------


class Product(Tracked, Base):
    """``Каталог/Товары/Товар``."""

    __tablename__ = "products"

    id: Mapped[str] = _id(primary=True)
    name: Mapped[str] = mapped_column(Text)
    article: Mapped[str | None] = mapped_column(Text)
    barcode: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    unit_code: Mapped[str | None] = mapped_column(String(64))
    unit_name: Mapped[str | None] = mapped_column(Text)


class ProductGroup(Base):
    """``Товар/Группы/Ид``: the groups a product belongs to (a group may arrive later: no foreign key)."""

    __tablename__ = "product_groups"

    product_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class ProductProperty(Base):
    """``ЗначенияСвойств/ЗначенияСвойства``: one value per row; a multi-valued property has several."""

    __tablename__ = "product_properties"

    product_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    property_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    value: Mapped[str] = mapped_column(Text)


class ProductImage(Base):
    """``Товар/Картинка``: the path relative to the package directory; position 0 is the main image."""

    __tablename__ = "product_images"

    product_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text)


class Offer(Tracked, Base):
    """``Предложение``: a sellable product (``Ид`` = product ``Ид``) or one of its characteristics.

    An offer has three parts that may arrive separately (3.1 ``offers___``, ``prices___``,
    ``rests___``): the description (the :class:`Tracked` columns), the prices (``prices_hash``) and
    the stock (``quantity``, ``stock_hash``). Each is replaced only by a file that carries it.

    ``product_id`` is not a foreign key on purpose: an offer may arrive before its product (the goods
    file failed, or came in another package). It is kept and joins its product once that arrives.
    """

    __tablename__ = "offers"

    id: Mapped[str] = _id(primary=True)
    product_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    characteristic_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    name: Mapped[str | None] = mapped_column(Text)
    article: Mapped[str | None] = mapped_column(Text)
    barcode: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[Decimal | None] = mapped_column(DecimalText)
    prices_hash: Mapped[str | None] = mapped_column(String(64))
    stock_hash: Mapped[str | None] = mapped_column(String(64))


class OfferPrice(Base):
    """``Цены/Цена`` of an offer, one per price type (the price type may arrive later: no foreign key)."""

    __tablename__ = "offer_prices"

    offer_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    price_type_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    value: Mapped[Decimal] = mapped_column(DecimalText)
    currency: Mapped[str | None] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(Text)
    ratio: Mapped[Decimal | None] = mapped_column(DecimalText)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class OfferStock(Base):
    """Stock of an offer in one warehouse (``Склад@КоличествоНаСкладе`` or ``Остатки/Остаток/Склад``)."""

    __tablename__ = "offer_stock"

    offer_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(DecimalText)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ImportScope(Base):
    """Which entity kinds each file of a package carried, and whether as a changes-only list.

    Decides the sweep at the end of the package: only kinds received as full lists are swept. Keyed by
    file, so importing the same file again (a restarted import) does not count it twice.
    """

    __tablename__ = "import_scopes"

    package_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    file: Mapped[str] = mapped_column(String(1024), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    changes_only: Mapped[bool | None] = mapped_column(Boolean)
    count: Mapped[int] = mapped_column(Integer)


class ImportedFile(Base):
    """A catalog file imported in full: its sha256, so the same bytes sent again need not be read again.

    Written with the file's :class:`ImportScope` rows when its import succeeds. The importer reuses it
    only when the store proves that importing the file again would change nothing but the mark of the
    new package (``exchange_server.store.reuse``). ``row_format`` is the version of the row building
    (hashes, stored JSON) that imported it: a file imported by another format is read again.
    """

    __tablename__ = "imported_files"

    package_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    file: Mapped[str] = mapped_column(String(1024), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    row_format: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    schema_version: Mapped[str | None] = mapped_column(String(32))
    changes_only: Mapped[bool | None] = mapped_column(Boolean)
    warnings: Mapped[Any] = mapped_column(JsonData)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# --- orders ----------------------------------------------------------------------------------


class Order(Tracked, Base):
    """``Документ`` with ``ХозОперация`` = order: created here (site) or uploaded by 1C.

    ``revision`` counts local changes; ``exported_revision`` is the revision 1C confirmed with
    ``mode=success``. An order goes to 1C while ``revision > exported_revision`` and its last change
    (``changed_by``) did not come from 1C itself.
    """

    __tablename__ = "orders"

    id: Mapped[str] = _id(primary=True)
    number: Mapped[str | None] = mapped_column(Text)
    date: Mapped[dt.date | None] = mapped_column(Date)
    operation: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(String(32))
    amount: Mapped[Decimal | None] = mapped_column(DecimalText)
    number_1c: Mapped[str | None] = mapped_column(Text)
    counterparty: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    exported_revision: Mapped[int] = mapped_column(Integer, default=0)
    changed_by: Mapped[str] = mapped_column(String(16))


class OrderLine(Base):
    """``Документ/Товары/Товар``: a line of an order, in document order."""

    __tablename__ = "order_lines"

    order_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("orders.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal | None] = mapped_column(DecimalText)
    quantity: Mapped[Decimal | None] = mapped_column(DecimalText)
    amount: Mapped[Decimal | None] = mapped_column(DecimalText)
