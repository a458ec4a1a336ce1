"""The CommerceML domain model: dataclasses, one per entity a 1C node sends or receives.

No I/O and no XML here. The reader produces these objects one at a time (streaming); the writer
renders them. Values are stripped strings, ``Decimal`` for numbers, ``datetime.date``/``time`` for
dates. Identifiers (``Ид``) are opaque strings: ``123``, ``abc#``, ``guid#guid`` all occur.

Entities are slotted dataclasses compared by value. Treat them as immutable values: nothing in
the project mutates one (``dataclasses.replace`` makes a changed copy). They are deliberately not
``frozen``: a frozen dataclass costs about three times as much to construct, and the reader builds
several hundred thousand of them per catalog (docs/performance.md).

Elements the reader does not model are never dropped silently: they are kept in ``extra`` as
``(path, value)`` pairs, the path relative to the entity (``Страна``, ``Комплектующие/Комплектующее/Ид``,
``БазоваяЕдиница/@Код``).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "Address",
    "AddressField",
    "BankAccount",
    "CatalogInfo",
    "Characteristic",
    "ClassifierInfo",
    "Contact",
    "Counterparty",
    "Discount",
    "Document",
    "DocumentHeader",
    "Entity",
    "Extra",
    "FileRole",
    "Group",
    "Manufacturer",
    "Offer",
    "OfferPackageInfo",
    "OrderLine",
    "Price",
    "PriceType",
    "Product",
    "Property",
    "PropertyValue",
    "Representative",
    "Requisite",
    "Stock",
    "Tax",
    "TaxRate",
    "TaxSum",
    "Unit",
    "UnitRecalculation",
    "UnknownSection",
    "ValueVariant",
    "Warehouse",
    "split_offer_id",
]

Extra = tuple[tuple[str, str], ...]
"""Unmodelled data kept as ``(relative path, value)`` pairs, in document order."""

DELIVERY_LINE_ID = "ORDER_DELIVERY"


class FileRole(enum.StrEnum):
    """What a CommerceML file carries, decided by its content (never by its name)."""

    CLASSIFIER = "classifier"
    GOODS = "goods"
    OFFERS = "offers"
    PRICES = "prices"
    RESTS = "rests"
    DOCUMENTS = "documents"
    COUNTERPARTIES = "counterparties"
    UNKNOWN = "unknown"


def split_offer_id(offer_id: str) -> tuple[str, str | None]:
    """Split ``product#characteristic`` into its halves.

    ``X`` -> ``(X, None)``; ``X#`` -> ``(X, None)``; ``X#X`` -> ``(X, None)`` (1C-Bitrix normalises
    identical halves to the product itself); ``X#Y`` -> ``(X, Y)``.
    """
    product, sep, characteristic = offer_id.partition("#")
    if not sep or not characteristic or characteristic == product:
        return product, None
    return product, characteristic


# --- small value objects -------------------------------------------------------------------


@dataclass(slots=True)
class Requisite:
    """``ЗначениеРеквизита``: a free-form name with one or more values."""

    name: str
    values: tuple[str, ...] = ()

    @property
    def value(self) -> str:
        """The first value, or '' when the requisite has none."""
        return self.values[0] if self.values else ""


@dataclass(slots=True)
class PropertyValue:
    """``ЗначенияСвойства``: a property Ид and its values (a literal or a variant Ид; may repeat)."""

    property_id: str
    values: tuple[str, ...] = ()
    name: str | None = None


@dataclass(slots=True)
class ValueVariant:
    """``ВариантыЗначений/Справочник``: one allowed value of a reference-typed property."""

    id: str
    value: str


@dataclass(slots=True)
class TaxRate:
    """``СтавкаНалога``: ``НДС`` at ``20`` / ``10`` / ``0`` / ``Без налога``."""

    name: str
    rate: str


@dataclass(slots=True)
class Tax:
    """``Налог`` of a price type or price: its name and whether it is included in the sum."""

    name: str
    included: bool | None = None
    excise: bool | None = None


@dataclass(slots=True)
class TaxSum:
    """``Налоги/Налог`` of a document or line: name, included flag, sum and optional rate."""

    name: str
    included: bool | None = None
    amount: Decimal | None = None
    rate: str | None = None


@dataclass(slots=True)
class Discount:
    """``Скидки/Скидка``: name, sum, percent, included flag."""

    name: str | None = None
    amount: Decimal | None = None
    percent: Decimal | None = None
    included: bool | None = None


@dataclass(slots=True)
class UnitRecalculation:
    """``БазоваяЕдиница/Пересчет``: another unit and its ratio to the base unit."""

    unit: str
    ratio: Decimal | None = None


@dataclass(slots=True)
class Unit:
    """A unit of measure.

    Three shapes occur: 2.05-2.08 ``<БазоваяЕдиница Код="796" НаименованиеПолное="Штука">шт</...>``;
    3.1 ``<БазоваяЕдиница>796</БазоваяЕдиница>`` (a reference, kept in ``ref``); and the classifier's
    and orders' element form ``<Единица><Ид/><Код/><НаименованиеКраткое/><НаименованиеПолное/>``.
    """

    code: str | None = None
    name: str | None = None
    full_name: str | None = None
    international: str | None = None
    id: str | None = None
    ref: str | None = None
    recalculations: tuple[UnitRecalculation, ...] = ()
    version: str | None = None
    deleted: bool = False
    extra: Extra = ()


@dataclass(slots=True)
class AddressField:
    """``АдресноеПоле``: ``Тип`` (Почтовый индекс, Город, Улица ...) and ``Значение``."""

    type: str
    value: str


@dataclass(slots=True)
class Address:
    """``Адрес`` / ``АдресРегистрации`` / ``ЮридическийАдрес``."""

    presentation: str | None = None
    fields: tuple[AddressField, ...] = ()


@dataclass(slots=True)
class Contact:
    """``Контакт``: ``Тип`` (Электронная почта, Телефон рабочий, Почта ...) and ``Значение``."""

    type: str
    value: str
    comment: str | None = None


@dataclass(slots=True)
class Representative:
    """``Представители/Представитель``: relation (Контактное лицо) and the person."""

    relation: str | None
    id: str | None
    name: str | None


@dataclass(slots=True)
class BankAccount:
    """``РасчетныеСчета/РасчетныйСчет``."""

    number: str | None = None
    bank_name: str | None = None
    bik: str | None = None
    bank_address: str | None = None
    correspondent_account: str | None = None


@dataclass(slots=True)
class Characteristic:
    """``ХарактеристикаТовара``: a variant attribute (Размер = 42)."""

    name: str
    value: str
    id: str | None = None


@dataclass(slots=True)
class Manufacturer:
    """``Изготовитель``."""

    id: str | None = None
    name: str | None = None
    official_name: str | None = None


# --- parties ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Counterparty:
    """``Контрагент`` (also ``Владелец`` of a catalog): a company or a person."""

    id: str | None = None
    name: str | None = None
    full_name: str | None = None
    official_name: str | None = None
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    inn: str | None = None
    kpp: str | None = None
    okpo: str | None = None
    role: str | None = None
    version: str | None = None
    deleted: bool = False
    registration_address: Address | None = None
    legal_address: Address | None = None
    address: Address | None = None
    contacts: tuple[Contact, ...] = ()
    representatives: tuple[Representative, ...] = ()
    bank_accounts: tuple[BankAccount, ...] = ()
    extra: Extra = ()


# --- classifier ----------------------------------------------------------------------------


@dataclass(slots=True)
class Group:
    """``Группа`` of the classifier; nested groups are flattened with ``parent_id`` (parents first)."""

    id: str
    name: str
    parent_id: str | None = None
    description: str | None = None
    version: str | None = None
    deleted: bool = False
    extra: Extra = ()


@dataclass(slots=True)
class Property:
    """``Свойство`` (or 2.03's ``СвойствоНоменклатуры``) of the classifier."""

    id: str
    name: str
    value_type: str | None = None
    required: bool | None = None
    multiple: bool | None = None
    variants: tuple[ValueVariant, ...] = ()
    for_products: bool | None = None
    for_offers: bool | None = None
    for_documents: bool | None = None
    version: str | None = None
    deleted: bool = False
    extra: Extra = ()


@dataclass(slots=True)
class PriceType:
    """``ТипЦены``: in the offers package (2.0x) or the classifier (3.1)."""

    id: str
    name: str
    currency: str | None = None
    tax: Tax | None = None
    version: str | None = None
    deleted: bool = False
    extra: Extra = ()


@dataclass(slots=True)
class Warehouse:
    """``Склад`` of a ``Склады`` list (classifier, offers package or document)."""

    id: str
    name: str | None = None
    comment: str | None = None
    address: Address | None = None
    contacts: tuple[Contact, ...] = ()
    version: str | None = None
    deleted: bool = False
    extra: Extra = ()


@dataclass(slots=True)
class ClassifierInfo:
    """The ``Классификатор`` header, emitted when the classifier element ends."""

    id: str | None
    name: str | None
    owner: Counterparty | None = None
    changes_only: bool | None = None
    version: str | None = None
    deleted: bool = False
    extra: Extra = ()


# --- catalog -------------------------------------------------------------------------------


@dataclass(slots=True)
class CatalogInfo:
    """The ``Каталог`` header, emitted when the catalog element ends (after its products)."""

    id: str | None
    classifier_id: str | None
    name: str | None
    description: str | None = None
    owner: Counterparty | None = None
    changes_only: bool | None = None
    extra: Extra = ()


@dataclass(slots=True)
class Product:
    """``Товар`` of ``Каталог/Товары``."""

    id: str
    name: str
    version: str | None = None
    deleted: bool = False
    status: str | None = None
    barcode: str | None = None
    article: str | None = None
    base_unit: Unit | None = None
    group_ids: tuple[str, ...] = ()
    description: str | None = None
    images: tuple[str, ...] = ()
    country: str | None = None
    manufacturer: Manufacturer | None = None
    property_values: tuple[PropertyValue, ...] = ()
    tax_rates: tuple[TaxRate, ...] = ()
    requisites: tuple[Requisite, ...] = ()
    characteristics: tuple[Characteristic, ...] = ()
    weight: Decimal | None = None
    length: Decimal | None = None
    width: Decimal | None = None
    height: Decimal | None = None
    extra: Extra = ()

    def requisite(self, name: str) -> str | None:
        """The first value of the requisite ``name`` (``Полное наименование``, ``Вес`` ...)."""
        for requisite in self.requisites:
            if requisite.name == name:
                return requisite.value
        return None


# --- offers ----------------------------------------------------------------------------------


@dataclass(slots=True)
class OfferPackageInfo:
    """The ``ПакетПредложений`` header, emitted when the package element ends."""

    id: str | None
    name: str | None
    catalog_id: str | None = None
    classifier_id: str | None = None
    owner: Counterparty | None = None
    changes_only: bool | None = None
    extra: Extra = ()


@dataclass(slots=True)
class Price:
    """``Цена`` of an offer for one price type."""

    price_type_id: str
    value: Decimal
    currency: str | None = None
    unit: str | None = None
    ratio: Decimal | None = None
    presentation: str | None = None
    min_quantity: Decimal | None = None
    tax: Tax | None = None
    extra: Extra = ()


@dataclass(slots=True)
class Stock:
    """Stock of an offer in one warehouse."""

    warehouse_id: str
    quantity: Decimal


@dataclass(slots=True)
class Offer:
    """``Предложение``: a sellable product or one of its characteristics.

    ``prices``/``stock``/``quantity`` are ``None`` when the offer does not carry that section (the
    split 3.1 files carry prices and stock separately: an absent section must not be cleared).
    """

    id: str
    name: str | None = None
    version: str | None = None
    deleted: bool = False
    barcode: str | None = None
    article: str | None = None
    base_unit: Unit | None = None
    characteristics: tuple[Characteristic, ...] = ()
    property_values: tuple[PropertyValue, ...] = ()
    prices: tuple[Price, ...] | None = None
    quantity: Decimal | None = None
    stock: tuple[Stock, ...] | None = None
    requisites: tuple[Requisite, ...] = ()
    images: tuple[str, ...] = ()
    extra: Extra = ()

    @property
    def product_id(self) -> str:
        return split_offer_id(self.id)[0]

    @property
    def characteristic_id(self) -> str | None:
        return split_offer_id(self.id)[1]


# --- documents (orders, payments, shipments) -------------------------------------------------


@dataclass(slots=True)
class OrderLine:
    """``Документ/Товары/Товар``: a line of an order (``ORDER_DELIVERY`` is the delivery line)."""

    id: str
    name: str | None = None
    catalog_id: str | None = None
    unit: Unit | None = None
    ratio: Decimal | None = None
    price: Decimal | None = None
    quantity: Decimal | None = None
    amount: Decimal | None = None
    discounts: tuple[Discount, ...] = ()
    tax_rates: tuple[TaxRate, ...] = ()
    taxes: tuple[TaxSum, ...] = ()
    characteristics: tuple[Characteristic, ...] = ()
    requisites: tuple[Requisite, ...] = ()
    article: str | None = None
    extra: Extra = ()

    @property
    def is_delivery(self) -> bool:
        return self.id == DELIVERY_LINE_ID


@dataclass(slots=True)
class DocumentHeader:
    """Attributes of the root element: schema version, creation date and Bitrix's format hints."""

    schema_version: str | None
    created: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Document:
    """``Документ``: an order (``ХозОперация`` = Заказ товара), a payment or a shipment.

    ``container`` numbers the 3.x ``Контейнер`` the document came in (0-based), None outside one.
    """

    id: str
    number: str | None = None
    date: dt.date | None = None
    time: dt.time | None = None
    operation: str | None = None
    role: str | None = None
    currency: str | None = None
    rate: Decimal | None = None
    amount: Decimal | None = None
    version: str | None = None
    number_1c: str | None = None
    date_1c: dt.date | None = None
    deleted: bool | None = None
    basis: str | None = None
    comment: str | None = None
    counterparties: tuple[Counterparty, ...] = ()
    taxes: tuple[TaxSum, ...] = ()
    discounts: tuple[Discount, ...] = ()
    warehouses: tuple[Warehouse, ...] = ()
    lines: tuple[OrderLine, ...] = ()
    requisites: tuple[Requisite, ...] = ()
    container: int | None = None
    extra: Extra = field(default=())

    def requisite(self, name: str) -> str | None:
        """The first value of the requisite ``name`` (``Статус заказа``, ``Дата оплаты по 1С`` ...)."""
        for requisite in self.requisites:
            if requisite.name == name:
                return requisite.value
        return None


@dataclass(slots=True)
class UnknownSection:
    """A child of the root element the reader does not know; reported, not dropped."""

    name: str
    line: int | None
    extra: Extra = ()


Entity = (
    DocumentHeader
    | ClassifierInfo
    | Group
    | Property
    | PriceType
    | Warehouse
    | Unit
    | CatalogInfo
    | Product
    | OfferPackageInfo
    | Offer
    | Document
    | Counterparty
    | UnknownSection
)
"""Everything the reader yields."""
