"""Expected reading of every real CommerceML file in ``../shared/fixtures/real/`` (a literal table).

Data only: no I/O, no reader. One :class:`Expectation` per CommerceML file of the fixture folder
(every ``.xml``/``.done`` file; the official ``.xsd`` schemas are not CommerceML documents). Every
value below was read from the file itself (lxml/grep), never from our reader, and is written out
literally so that a reader change can never silently move the target.

Definitions (issue 2, ``cml-exchange inspect --json``):

* ``role``: ``protocol.md`` §5.3 by content. ``Классификатор`` without ``Каталог/Товары`` (an empty
  ``Каталог`` header does not count) -> classifier; ``Каталог`` with ``Товары`` -> goods;
  ``ПакетПредложений`` whose offers carry prices and stock/quantity -> offers, only ``Цены`` -> prices,
  only ``Остатки``/stock -> rests, neither (3.1 ``offers___``, a package without offers) -> offers;
  ``Документ``/``Контейнер`` -> documents; ``Контрагенты`` -> counterparties.
* ``schema_version``: the root's ``ВерсияСхемы``; ``encoding``: the XML declaration's, lowercase
  (``utf-8`` without a declaration); ``changes_only``: the ``СодержитТолькоИзменения`` flag
  (attribute or element; None when the file has none).
* ``counts``: groups = every ``Группа`` of the classifier, nested ones too (not a product's group
  references); properties = every ``Свойство``/``СвойствоНоменклатуры`` inside ``Свойства``;
  price_types = every ``ТипЦены`` inside ``ТипыЦен``; warehouses = every ``Склад`` inside a ``Склады``
  list wherever it stands; products = every ``Товар`` of ``Каталог/Товары`` (deleted ones too);
  offers = every ``Предложение``; prices = every ``Цена`` inside ``Цены``; documents = every
  ``Документ`` (inside ``Контейнер`` too).

Samples name an entity by kind and ``Ид`` and a field path resolved against the model of
``commerceml/model.py`` (see ``test_real_fixtures.resolve``)::

    name | base_unit.code | images[0] | counterparties[0].inn     attributes and indexes
    requisite(NAME)        first value of the requisite NAME (ЗначенияРеквизитов)
    property(ID)           the values tuple of the property value ID (ЗначенияСвойств)
    variant(ID)            the value of the property's value variant ID (ВариантыЗначений)
    price(TYPE_ID).value   the offer's price for a price type (also .currency)
    stock(WAREHOUSE_ID)    the offer's quantity in a warehouse
    characteristic(NAME)   the value of a characteristic (ХарактеристикиТовара)
    line(ID).quantity      a document line by Ид (also .price, .amount ...)

Entity kinds: group, property, price_type, warehouse, product, offer, document, and the headers
classifier (ClassifierInfo), catalog (CatalogInfo), package (OfferPackageInfo), found by their Ид.

The malformed cases are generated at test time from real files (every real CommerceML file of
the folder is well-formed), see :data:`MALFORMED`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal as D

__all__ = [
    "COUNT_KEYS",
    "EXPECTATIONS",
    "MALFORMED",
    "Damage",
    "Expectation",
    "Sample",
    "counts",
]

COUNT_KEYS = (
    "groups",
    "properties",
    "price_types",
    "warehouses",
    "products",
    "offers",
    "prices",
    "documents",
)


def counts(**given: int) -> Mapping[str, int]:
    """All eight ``inspect --json`` counts; the ones not given are 0."""
    unknown = set(given) - set(COUNT_KEYS)
    if unknown:
        raise ValueError(f"unknown count keys: {sorted(unknown)}")
    return {key: given.get(key, 0) for key in COUNT_KEYS}


@dataclass(frozen=True, slots=True)
class Sample:
    """One field value of one entity of the file: ``kind`` + ``id`` find it, ``field`` reads it."""

    kind: str
    id: str
    field: str
    expected: object


@dataclass(frozen=True, slots=True)
class Expectation:
    """What reading one real file must give."""

    name: str
    """Path relative to the fixture folder, ``<owner>__<repo>/<file>``."""
    role: str
    schema_version: str
    encoding: str
    changes_only: bool | None
    counts: Mapping[str, int]
    samples: tuple[Sample, ...]


EXPECTATIONS: tuple[Expectation, ...] = (
    Expectation(
        "AnatolyFeteleu__django-cml/tests__tests_fixtures__import.xml",
        role="goods",
        schema_version="2.05",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=36, properties=3, products=282),
        samples=(
            Sample(
                "group",
                "5631f4ae-7206-11d9-ac6c-0080482454f7",
                "parent_id",
                "422eabf6-713e-11d9-ac6c-0080482454f7",
            ),
            Sample("product", "c04853c4-720b-11d9-ac6c-0080482454f7", "base_unit.code", "055"),
            Sample(
                "product",
                "c04853c4-720b-11d9-ac6c-0080482454f7",
                "group_ids",
                ("422eabfa-713e-11d9-ac6c-0080482454f7",),
            ),
            Sample(
                "property",
                "66247602-7381-11d9-ac6d-0080482454f7",
                "variant(66247603-7381-11d9-ac6d-0080482454f7)",
                "Опт",
            ),
        ),
    ),
    Expectation(
        "Katy248__electrotech/example__import.xml",
        role="goods",
        schema_version="2.08",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=3, properties=14, products=3),
        samples=(
            Sample("product", "a09d2dd8-7fa0-11ed-a9dc-e0b9a548d6d8", "base_unit.code", "796"),
            Sample(
                "product",
                "a09d2dd8-7fa0-11ed-a9dc-e0b9a548d6d8",
                "images[0]",
                "import_files/a0/a09d2dd87fa011eda9dce0b9a548d6d8_3df7b55c46a411f0ad0f000c292ac68f.jpeg",
            ),
            Sample(
                "property",
                "b86c05fe-46a0-11f0-ad0f-000c292ac68f",
                "variant(c46c73ef-46a0-11f0-ad0f-000c292ac68f)",
                "DIN-рейка 35 мм",
            ),
            Sample("classifier", "8a62c0f8-358b-49c7-a3e1-f89cee9d1d56", "owner.inn", "9701038746"),
            Sample(
                "classifier", "8a62c0f8-358b-49c7-a3e1-f89cee9d1d56", "owner.address.fields[2].value", "31"
            ),
        ),
    ),
    Expectation(
        "Katy248__electrotech/example__offers.xml",
        role="offers",
        schema_version="2.08",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=1, offers=3, prices=3),
        samples=(
            Sample(
                "offer",
                "7c63329c-7b37-11ee-802b-e0b9a548d6d8",
                "price(84d7160b-7c8d-11ed-bbdb-e0b9a548d6d8).value",
                D("296.4"),
            ),
            Sample(
                "offer",
                "7c63329c-7b37-11ee-802b-e0b9a548d6d8",
                "price(84d7160b-7c8d-11ed-bbdb-e0b9a548d6d8).currency",
                "руб",
            ),
            Sample("offer", "7c63329c-7b37-11ee-802b-e0b9a548d6d8", "quantity", D("220")),
            Sample("price_type", "84d7160b-7c8d-11ed-bbdb-e0b9a548d6d8", "currency", "руб"),
        ),
    ),
    Expectation(
        "KovtunIvan__myBitrixShop/upload__1c_catalog__import.xml",
        role="goods",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=1, products=4),
        samples=(
            Sample(
                "product",
                "05e26d70-01e4-11dc-a411-00055d80a2d1#218a1598-044b-11dc-a414-00055d80a2d1",
                "characteristic(Цвет)",
                "Красный",
            ),
            Sample(
                "product",
                "05e26d70-01e4-11dc-a411-00055d80a2d1#218a1598-044b-11dc-a414-00055d80a2d1",
                "base_unit.code",
                "796",
            ),
            Sample("group", "05e26d6f-01e4-11dc-a411-00055d80a2d1", "name", "Мебель"),
            Sample("group", "05e26d6f-01e4-11dc-a411-00055d80a2d1", "parent_id", None),
        ),
    ),
    Expectation(
        "Kremenchuk__parseXML/data__from_ERP__example__import.xml",
        role="goods",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=28, properties=41, products=249),
        samples=(
            Sample("group", "308", "parent_id", "23"),
            Sample(
                "product",
                "8011",
                "property(d5ad0a41-c7aa-11e3-b328-00163c2d0dbf)",
                ("5b3967f6-cbbf-11e3-b437-00163c2d0dbf",),
            ),
            Sample(
                "product",
                "8011",
                "images[0]",
                "import_files/61/6186f850-e4c0-11e2-9526-00163c2d0dbf_a5948269-e4c0-11e2-9526-00163c2d0dbf.jpeg",
            ),
            Sample("product", "8624e117-1c0e-11e6-a730-005056004a1d", "deleted", True),
        ),
    ),
    Expectation(
        "Kremenchuk__parseXML/data__from_ERP__example__offers.xml",
        role="offers",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=12, warehouses=19, offers=249, prices=2108),
        samples=(
            Sample(
                "offer",
                "ce0272e6-f544-11e3-85fa-00155d13641d",
                "price(f929ee1b-be7e-11e4-afee-005056004a1d).value",
                D("22.32"),
            ),
            Sample(
                "offer",
                "ce0272e6-f544-11e3-85fa-00155d13641d",
                "price(f929ee1b-be7e-11e4-afee-005056004a1d).currency",
                "UAH",
            ),
            Sample("offer", "ce0272e6-f544-11e3-85fa-00155d13641d", "quantity", D("0")),
            Sample("offer", "5590c762-e4c0-11e2-9526-00163c2d0dbf", "deleted", True),
        ),
    ),
    Expectation(
        "Kremenchuk__parseXML/data__from_ERP__example__orders.xml",
        role="documents",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=None,
        counts=counts(documents=216),
        samples=(
            Sample("document", "78c9c898-6d0d-11e5-82da-005056004a1d", "number", "H76X2"),
            Sample("document", "78c9c898-6d0d-11e5-82da-005056004a1d", "amount", D("60.00")),
            Sample("document", "78c9c898-6d0d-11e5-82da-005056004a1d", "taxes[0].amount", D("10.00")),
            Sample("document", "78c9c898-6d0d-11e5-82da-005056004a1d", "line(7951).ratio", D("1")),
            Sample("document", "78c9c898-6d0d-11e5-82da-005056004a1d", "line(7951).article", "343850"),
        ),
    ),
    Expectation(
        "Kremenchuk__parseXML/data__original_file__from_site__from.xml",
        role="documents",
        schema_version="2.03",
        encoding="windows-1251",
        changes_only=None,
        counts=counts(documents=1),
        samples=(
            Sample("document", "36", "date", dt.date(2007, 10, 30)),
            Sample("document", "36", "amount", D("6734.47")),
            Sample("document", "36", "counterparties[0].id", "1#admin# admin"),
            Sample("document", "36", "counterparties[0].last_name", "Иванов"),
            Sample("document", "36", "line(dee6e19a-55bc-11d9-848a-00112f43529a).price", D("6394.47")),
        ),
    ),
    Expectation(
        "Kremenchuk__parseXML/data__original_file__to_site__to.xml",
        role="documents",
        schema_version="2.03",
        encoding="windows-1251",
        changes_only=None,
        counts=counts(documents=1),
        samples=(
            Sample("document", "20", "number", "20"),
            Sample("document", "20", "date", dt.date(2007, 10, 16)),
            Sample("document", "20", "line(ORDER_DELIVERY).price", D("348.00")),
            Sample("document", "20", "requisite(Статус заказа)", "[F] Доставлен"),
        ),
    ),
    Expectation(
        "Sergey37-iv__txt/import.xml",
        role="goods",
        schema_version="2.08",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=2, properties=18, products=3),
        samples=(
            Sample(
                "product",
                "6cdbdbf5-56b8-11ec-aba0-00199997af17",
                "images[0]",
                "import_files/6c/6cdbdbf556b811ecaba000199997af17_3353667c848c11ef8a90f4ce46b652e9.jpg",
            ),
            Sample(
                "product",
                "6cdbdbf5-56b8-11ec-aba0-00199997af17",
                "property(5553a18a-19a5-11ef-8a7d-f4ce46b652e9)",
                ("5b8e1ae3-19a5-11ef-8a7d-f4ce46b652e9",),
            ),
            Sample(
                "property",
                "d9ca29d5-1943-11ef-8a7d-f4ce46b652e9",
                "variant(34c1446d-1944-11ef-8a7d-f4ce46b652e9)",
                "92%-ХБ 8%-эластан",
            ),
            Sample("group", "6e1fdea0-6735-11ec-aba0-00199997af17", "name", "Рубашки"),
        ),
    ),
    Expectation(
        "Sergey37-iv__txt/offers.xml",
        role="offers",
        schema_version="2.08",
        encoding="utf-8",
        changes_only=False,
        counts=counts(properties=6, price_types=2, warehouses=20, offers=167, prices=334),
        samples=(
            Sample(
                "offer",
                "b197e9d6-56ae-11ec-aba0-00199997af17#5ac0dd12-f0a4-11ed-81f2-00199997af17",
                "price(a4ebd658-98d6-11ec-aba0-00199997af17).value",
                D("1815"),
            ),
            Sample(
                "offer",
                "b197e9d6-56ae-11ec-aba0-00199997af17#5ac0dd12-f0a4-11ed-81f2-00199997af17",
                "price(a4ebd658-98d6-11ec-aba0-00199997af17).currency",
                "руб",
            ),
            Sample(
                "offer",
                "b197e9d6-56ae-11ec-aba0-00199997af17#5ac0dd12-f0a4-11ed-81f2-00199997af17",
                "quantity",
                D("1"),
            ),
            Sample(
                "offer",
                "b197e9d6-56ae-11ec-aba0-00199997af17#5ac0dd12-f0a4-11ed-81f2-00199997af17",
                "stock(1d3ff9c1-18b6-11ed-bcc1-00199997af17)",
                D("0"),
            ),
        ),
    ),
    Expectation(
        "alex8bits__php-commerceml/tests__xml__orders.xml",
        role="documents",
        schema_version="2.03",
        encoding="utf-8",
        changes_only=None,
        counts=counts(documents=1),
        samples=(
            Sample("document", "20", "amount", D("9683.42")),
            Sample("document", "20", "counterparties[0].name", "Петр Петров"),
            Sample("document", "20", "line(cbcf498f-55bc-11d9-848a-00112f43529a).quantity", D("1.00")),
            Sample("document", "20", "requisite(Номер платежного документа)", "ТК000000026"),
        ),
    ),
    Expectation(
        "alfredotg__parser1c/tests__data__import.xml",
        role="goods",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(products=2),
        samples=(
            Sample("product", "bcf11d4b-21b4-11e6-80b9-00155d64d004", "barcode", "2000000232607"),
            Sample("product", "bcf11d4b-21b4-11e6-80b9-00155d64d004", "article", "5303018"),
            Sample(
                "product",
                "bcf11d4b-21b4-11e6-80b9-00155d64d004",
                "name",
                'Насос-Дозатор мочевины (ISBe,ISDe) E-4, V=6,7,  24V, н/о "Оригинал"',
            ),
        ),
    ),
    Expectation(
        "alfredotg__parser1c/tests__data__offer.xml",
        role="offers",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(offers=2, prices=6),
        samples=(
            Sample(
                "offer",
                "68cb5ef9-21b5-11e6-80b9-00155d64d004",
                "price(d380ce69-e79f-11e6-80ed-000c29856768).value",
                D("820"),
            ),
            Sample(
                "offer",
                "68cb5ef9-21b5-11e6-80b9-00155d64d004",
                "price(d380ce69-e79f-11e6-80ed-000c29856768).currency",
                "RUB",
            ),
            Sample("offer", "68cb5ef9-21b5-11e6-80b9-00155d64d004", "quantity", D("25")),
            Sample(
                "offer",
                "68cb5ef9-21b5-11e6-80b9-00155d64d004",
                "stock(cfb4624c-b839-11e5-80d5-00155d64cd04)",
                D("0"),
            ),
        ),
    ),
    Expectation(
        "andrtechno__mod-exchange1c/tests__data__import.xml",
        role="goods",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=7, properties=44, products=82),
        samples=(
            Sample(
                "group",
                "7902116c-7cd7-11e0-a78d-00a1b011ee35",
                "parent_id",
                "8bfaf691-99fa-11e0-898f-89fe3cc1e750",
            ),
            Sample("product", "b6e829fa-7cd7-11e0-a78d-00a1b011ee35", "requisite(Вес)", "0"),
            Sample(
                "product",
                "b6e829fa-7cd7-11e0-a78d-00a1b011ee35",
                "images[0]",
                "import_files/b6/b6e829fa-7cd7-11e0-a78d-00a1b011ee35.jpeg",
            ),
            Sample("property", "99cbe336-a3e7-11e0-b0f0-982165b41e6b", "name", "Мінімальна висота, см."),
        ),
    ),
    Expectation(
        "andrtechno__mod-exchange1c/tests__data__offers.xml",
        role="offers",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=2, offers=121, prices=242),
        samples=(
            Sample(
                "offer",
                "b6e8296e-7cd7-11e0-a78d-00a1b011ee35",
                "price(433f9e0f-c7ef-11e0-a785-a07570784707).value",
                D("40.5"),
            ),
            Sample(
                "offer",
                "b6e8296e-7cd7-11e0-a78d-00a1b011ee35",
                "price(433f9e0f-c7ef-11e0-a785-a07570784707).currency",
                "USD",
            ),
            Sample("offer", "b6e8296e-7cd7-11e0-a78d-00a1b011ee35", "quantity", D("0")),
            Sample("price_type", "433f9e0e-c7ef-11e0-a785-a07570784707", "currency", "USD"),
        ),
    ),
    Expectation(
        "bigperson__exchange1c/tests__xml__import.xml",
        role="goods",
        schema_version="2.08",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=5, properties=3, products=2),
        samples=(
            Sample(
                "group",
                "05de4549-c134-11e8-8111-0050569b2b72",
                "parent_id",
                "60bce6f2-cc54-11e8-8112-0050569b2b72",
            ),
            Sample("product", "ffce323e-c133-11e8-8111-0050569b2b72", "base_unit.code", "796"),
            Sample(
                "product",
                "ffce323e-c133-11e8-8111-0050569b2b72",
                "group_ids",
                ("ffce323c-c133-11e8-8111-0050569b2b72",),
            ),
            Sample(
                "property",
                "17b2dc73-a9d0-11e8-8101-0050569b1daf",
                "variant(4076a1e4-c58f-11e8-8111-0050569b2b72)",
                "test2 catalog property",
            ),
        ),
    ),
    Expectation(
        "bigperson__exchange1c/tests__xml__offers.xml",
        role="offers",
        schema_version="2.08",
        encoding="utf-8",
        changes_only=False,
        counts=counts(properties=1, price_types=3, offers=2, prices=6),
        samples=(
            Sample(
                "offer",
                "ffce323d-c133-11e8-8111-0050569b2b72#8a4e5ea9-d129-11e8-8112-0050569b2b72",
                "price(913eb9e7-7df9-11e8-80fc-0050569b0657).value",
                D("10500"),
            ),
            Sample(
                "offer",
                "ffce323d-c133-11e8-8111-0050569b2b72#8a4e5ea9-d129-11e8-8112-0050569b2b72",
                "price(913eb9e7-7df9-11e8-80fc-0050569b0657).currency",
                "руб",
            ),
            Sample(
                "offer",
                "ffce323d-c133-11e8-8111-0050569b2b72#8a4e5ea9-d129-11e8-8112-0050569b2b72",
                "quantity",
                D("2"),
            ),
            Sample(
                "offer",
                "ffce323d-c133-11e8-8111-0050569b2b72#8a4e5ea9-d129-11e8-8112-0050569b2b72",
                "characteristic(Цвет)",
                "Бежевый",
            ),
        ),
    ),
    Expectation(
        "bogutski__1C-CommerceML-to-JSON/in_xml__import.xml",
        role="goods",
        schema_version="2.08",
        encoding="utf-8",
        changes_only=False,
        counts=counts(properties=6, products=540),
        samples=(
            Sample(
                "product",
                "c4c65ba7-927c-11e7-8781-00155d46f506",
                "property(bf698fdc-7ec2-11e7-80cb-0cc47ab4051b)",
                ("5000",),
            ),
            Sample(
                "product",
                "c4c65ba7-927c-11e7-8781-00155d46f506",
                "images[0]",
                "import_files/c4/c4c65ba7927c11e7878100155d46f506_3fab4fc4983911e780ca0cc47ab40621.jpg",
            ),
            Sample(
                "property",
                "bf698fde-7ec2-11e7-80cb-0cc47ab4051b",
                "variant(1c21e153-8ae0-11e7-9fe3-00155d46a005)",
                "120/277V",
            ),
            Sample(
                "product",
                "c4c65ba7-927c-11e7-8781-00155d46f506",
                "name",
                "LED Vapor tights  40W 5200 Lm 5000K 110-277V",
            ),
        ),
    ),
    Expectation(
        "bogutski__1C-CommerceML-to-JSON/in_xml__offers.xml",
        role="offers",
        schema_version="2.08",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=1, offers=523, prices=523),
        samples=(
            Sample(
                "offer",
                "c4c65ba6-927c-11e7-8781-00155d46f506",
                "price(f909c5b1-a338-11e5-91f2-001e675c35ed).value",
                D("37.5"),
            ),
            Sample(
                "offer",
                "c4c65ba6-927c-11e7-8781-00155d46f506",
                "price(f909c5b1-a338-11e5-91f2-001e675c35ed).currency",
                "RUB",
            ),
            Sample("offer", "c4c65ba6-927c-11e7-8781-00155d46f506", "quantity", D("0")),
            Sample("price_type", "f909c5b1-a338-11e5-91f2-001e675c35ed", "currency", "RUB"),
        ),
    ),
    Expectation(
        "carono__php-commerceml/tests__xml__import.xml",
        role="goods",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=22, properties=10, products=2),
        samples=(
            Sample(
                "group",
                "e2ef973c-3804-11e2-ac60-b80305898c48",
                "parent_id",
                "453d6e3a-7233-11e0-8636-0011951d229d",
            ),
            Sample("product", "bd72d913-55bc-11d9-848a-00112f43529a", "article", "Б- 130005"),
            Sample("product", "bd72d913-55bc-11d9-848a-00112f43529a", "base_unit.code", "715"),
            Sample(
                "property",
                "bb14a4b8-6b17-11e0-9819-e0cb4ed5eed4",
                "variant(444bbed2-6b18-11e0-9819-e0cb4ed5eed4)",
                'АОЗТ "Молоко"',
            ),
        ),
    ),
    Expectation(
        "carono__php-commerceml/tests__xml__import_wo_classifier.xml",
        role="goods",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(products=2),
        samples=(
            Sample("product", "bd72d913-55bc-11d9-848a-00112f43529a", "base_unit.code", "715"),
            Sample(
                "product",
                "bd72d913-55bc-11d9-848a-00112f43529a",
                "group_ids",
                ("e5a4c309-a659-11dd-acee-0015e9b8c48d",),
            ),
            Sample("product", "bd72d913-55bc-11d9-848a-00112f43529a", "name", "Ботинки женские демисезонные"),
        ),
    ),
    Expectation(
        "carono__php-commerceml/tests__xml__offers.xml",
        role="offers",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=1, warehouses=5, offers=5, prices=5),
        samples=(
            Sample(
                "offer",
                "bd72d910-55bc-11d9-848a-00112f43529a#90c55447-d3a8-11e4-9423-e0cb4ed5eed4",
                "price(bb14a3a4-6b17-11e0-9819-e0cb4ed5eed4).value",
                D("1719"),
            ),
            Sample(
                "offer",
                "bd72d910-55bc-11d9-848a-00112f43529a#90c55447-d3a8-11e4-9423-e0cb4ed5eed4",
                "price(bb14a3a4-6b17-11e0-9819-e0cb4ed5eed4).currency",
                "RUB",
            ),
            Sample(
                "offer",
                "bd72d910-55bc-11d9-848a-00112f43529a#90c55447-d3a8-11e4-9423-e0cb4ed5eed4",
                "quantity",
                D("20"),
            ),
            Sample(
                "offer",
                "bd72d910-55bc-11d9-848a-00112f43529a#90c55447-d3a8-11e4-9423-e0cb4ed5eed4",
                "stock(b6112590-41ba-11dd-ac9d-0015e9b8c48d)",
                D("20"),
            ),
        ),
    ),
    Expectation(
        "carono__php-commerceml/tests__xml__orders.xml",
        role="documents",
        schema_version="2.03",
        encoding="windows-1251",
        changes_only=None,
        counts=counts(documents=1),
        samples=(
            Sample("document", "20", "number", "20"),
            Sample("document", "20", "time", dt.time(15, 40, 40)),
            Sample("document", "20", "counterparties[0].first_name", "Петр"),
            Sample("document", "20", "line(cbcf498f-55bc-11d9-848a-00112f43529a).amount", D("9335.42")),
            Sample("document", "20", "requisite(Статус заказа)", "[F] Доставлен"),
        ),
    ),
    Expectation(
        "carono__yii2-1c-exchange/files__xml__from.xml",
        role="documents",
        schema_version="2.03",
        encoding="windows-1251",
        changes_only=None,
        counts=counts(documents=1),
        samples=(
            Sample("document", "36", "number", "36"),
            Sample("document", "36", "currency", "руб"),
            Sample("document", "36", "line(ORDER_DELIVERY).amount", D("340.00")),
            Sample("document", "36", "requisite(Статус заказа)", "[N] Принят"),
        ),
    ),
    Expectation(
        "d16izhevsk__1coutlet/import0_1.xml",
        role="goods",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=59, properties=10, products=1197),
        samples=(
            Sample(
                "group",
                "ab8edc47-4476-11e2-ae4d-bcaec5741d46",
                "parent_id",
                "2b96d8a4-6c85-11de-84b4-0011951d229d",
            ),
            Sample("product", "bd72d913-55bc-11d9-848a-00112f43529a", "article", "Б- 130005"),
            Sample("product", "bd72d913-55bc-11d9-848a-00112f43529a", "base_unit.code", "715"),
            Sample(
                "property",
                "bb14a4b8-6b17-11e0-9819-e0cb4ed5eed4",
                "variant(444bbed2-6b18-11e0-9819-e0cb4ed5eed4)",
                'АОЗТ "Молоко"',
            ),
        ),
    ),
    Expectation(
        "d16izhevsk__1coutlet/offers0_1.xml",
        role="offers",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=1, warehouses=6, offers=2641, prices=2642),
        samples=(
            Sample(
                "offer",
                "bd72d910-55bc-11d9-848a-00112f43529a#90c55447-d3a8-11e4-9423-e0cb4ed5eed4",
                "price(bb14a3a4-6b17-11e0-9819-e0cb4ed5eed4).value",
                D("1719"),
            ),
            Sample(
                "offer",
                "bd72d910-55bc-11d9-848a-00112f43529a#90c55447-d3a8-11e4-9423-e0cb4ed5eed4",
                "price(bb14a3a4-6b17-11e0-9819-e0cb4ed5eed4).currency",
                "RUB",
            ),
            Sample(
                "offer",
                "bd72d910-55bc-11d9-848a-00112f43529a#90c55447-d3a8-11e4-9423-e0cb4ed5eed4",
                "quantity",
                D("20"),
            ),
            Sample(
                "offer",
                "bd72d910-55bc-11d9-848a-00112f43529a#90c55447-d3a8-11e4-9423-e0cb4ed5eed4",
                "stock(b6112590-41ba-11dd-ac9d-0015e9b8c48d)",
                D("20"),
            ),
        ),
    ),
    Expectation(
        "d16izhevsk__1coutlet/test.xml",
        role="goods",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=5, properties=1, products=32),
        samples=(
            Sample(
                "group",
                "cbcf493e-55bc-11d9-848a-00112f43529a",
                "parent_id",
                "bd72d924-55bc-11d9-848a-00112f43529a",
            ),
            Sample(
                "product",
                "7b7230cf-9257-11e3-8058-0015e9b8c48d",
                "group_ids",
                ("cbcf4929-55bc-11d9-848a-00112f43529a",),
            ),
            Sample(
                "product",
                "7b7230cf-9257-11e3-8058-0015e9b8c48d",
                "property(621d8c1a-e663-11df-aebd-0015e9b8c48d)",
                ("53a5ebb4-314d-11e1-afd6-0015e9b8c48d",),
            ),
            Sample(
                "property",
                "621d8c1a-e663-11df-aebd-0015e9b8c48d",
                "variant(53a5ebb4-314d-11e1-afd6-0015e9b8c48d)",
                "Двухкамерный, авторазморозка",
            ),
        ),
    ),
    Expectation(
        "devsandk__bitrix_utf8/upload__1c_catalog__import.xml",
        role="goods",
        schema_version="2.05",
        encoding="utf-8",
        changes_only=True,
        counts=counts(groups=34, products=305),
        samples=(
            Sample(
                "group",
                "3308f17c-67d4-11e3-a288-0c84dc35603e",
                "parent_id",
                "3308f16e-67d4-11e3-a288-0c84dc35603e",
            ),
            Sample(
                "product",
                "cc928cf8-79be-11e3-940c-94de80a5655b",
                "group_ids",
                ("3308f18b-67d4-11e3-a288-0c84dc35603e",),
            ),
            Sample(
                "product",
                "cc928cf8-79be-11e3-940c-94de80a5655b",
                "requisite(Полное наименование)",
                "Освидетельствование ККМ при заключении договора на ТО",
            ),
            Sample("group", "3308f17c-67d4-11e3-a288-0c84dc35603e", "name", "ДИСПЛЕИ ПОКУПАТЕЛЯ"),
        ),
    ),
    Expectation(
        "devsandk__bitrix_utf8/upload__1c_catalog__offers.xml",
        role="offers",
        schema_version="2.05",
        encoding="utf-8",
        changes_only=True,
        counts=counts(price_types=1, offers=297, prices=297),
        samples=(
            Sample(
                "offer",
                "77f763e0-6c9c-11e3-809d-0c84dc35603e",
                "price(8bca46a0-8263-420a-a040-bf6859b1a450).value",
                D("575"),
            ),
            Sample(
                "offer",
                "77f763e0-6c9c-11e3-809d-0c84dc35603e",
                "price(8bca46a0-8263-420a-a040-bf6859b1a450).currency",
                "руб",
            ),
            Sample("offer", "77f763e0-6c9c-11e3-809d-0c84dc35603e", "quantity", D("0")),
            Sample("price_type", "8bca46a0-8263-420a-a040-bf6859b1a450", "currency", "руб"),
        ),
    ),
    Expectation(
        "dobromyslov__commerceml-parser/data__import0_1.xml",
        role="goods",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=1, properties=12, products=36),
        samples=(
            Sample("product", "5edfbda4-19c0-11e7-80c2-0cc47ab29cd1", "barcode", "8809288404072"),
            Sample("product", "5edfbda4-19c0-11e7-80c2-0cc47ab29cd1", "article", "PM-421-LE"),
            Sample(
                "property",
                "3268183f-18fa-11e7-80c2-0cc47ab29cd1",
                "variant(af848a7e-18fa-11e7-80c2-0cc47ab29cd1)",
                "КОРЕЯ, РЕСПУБЛИКА",
            ),
            Sample("group", "82cfb8dc-18f9-11e7-80c2-0cc47ab29cd1", "name", "Коврики для дома"),
        ),
    ),
    Expectation(
        "dobromyslov__commerceml-parser/data__import0_1_with_nested_groups.xml",
        role="goods",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=13, properties=20, products=283),
        samples=(
            Sample(
                "group",
                "e9e03c08-c9bd-11e7-80c8-0cc47ab29cd1",
                "parent_id",
                "94878333-8068-11ea-80c9-0cc47ab29cd1",
            ),
            Sample("product", "5edfbda4-19c0-11e7-80c2-0cc47ab29cd1", "article", "PM-421-LE"),
            Sample("product", "5edfbda4-19c0-11e7-80c2-0cc47ab29cd1", "barcode", "8809288404072"),
            Sample(
                "property",
                "3268183f-18fa-11e7-80c2-0cc47ab29cd1",
                "variant(8a91b3b1-e391-11e7-80c8-0cc47ab29cd1)",
                "КИТАЙ",
            ),
        ),
    ),
    Expectation(
        "dobromyslov__commerceml-parser/data__offers0_1.xml",
        role="offers",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=1, warehouses=3, offers=44, prices=44),
        samples=(
            Sample(
                "offer",
                "bd8c4e15-18f9-11e7-80c2-0cc47ab29cd1",
                "price(279b6812-740b-11e8-80c8-0cc47ab29cd1).value",
                D("100"),
            ),
            Sample(
                "offer",
                "bd8c4e15-18f9-11e7-80c2-0cc47ab29cd1",
                "price(279b6812-740b-11e8-80c8-0cc47ab29cd1).currency",
                "RUB",
            ),
            Sample("offer", "bd8c4e15-18f9-11e7-80c2-0cc47ab29cd1", "quantity", D("377")),
            Sample(
                "offer",
                "bd8c4e15-18f9-11e7-80c2-0cc47ab29cd1",
                "stock(dd306af1-19c9-11e7-80c2-0cc47ab29cd1)",
                D("376"),
            ),
        ),
    ),
    Expectation(
        "gillbeits__commerceml/example__import___b815e2db-7a65-4265-9241-5f0c4f0565a7.xml",
        role="classifier",
        schema_version="2.09",
        encoding="utf-8",
        changes_only=True,
        counts=counts(groups=97, properties=1908, price_types=1, warehouses=1),
        samples=(
            Sample(
                "group",
                "e3832df5-4aef-11e4-99fe-003048c64779",
                "parent_id",
                "84592968-4ae9-11e4-99fe-003048c64779",
            ),
            Sample("property", "fe2f0a8a-d6b6-11e4-80c6-001e675ada8d", "variant(false)", "Нет"),
            Sample("warehouse", "5d1caeb1-44b2-11e4-a628-003048c64779", "name", "Оптовый"),
            Sample("property", "53499140-6cb8-11e4-86dd-003048c64779", "deleted", True),
        ),
    ),
    Expectation(
        "gillbeits__commerceml/example__offers___7f304edc-2527-4d3d-b058-6e4ee53de2e0.xml",
        role="offers",
        schema_version="2.09",
        encoding="utf-8",
        changes_only=True,
        counts=counts(offers=978),
        samples=(
            Sample(
                "offer",
                "26b0dc1e-4d66-11e4-99fe-003048c64779",
                "name",
                "Дезодорант для мужчин Чистая линия Фито защита без белых следов 150мл",
            ),
            Sample("offer", "26b0dc1e-4d66-11e4-99fe-003048c64779", "version", "AAAAAADjIlA="),
            Sample("offer", "26b0dc1e-4d66-11e4-99fe-003048c64779", "prices", None),
            Sample("offer", "26b0dc1e-4d66-11e4-99fe-003048c64779", "stock", None),
        ),
    ),
    Expectation(
        "gillbeits__commerceml/example__offers___f0bab95c-14a6-4141-9746-6650b65f1191.xml",
        role="offers",
        schema_version="2.09",
        encoding="utf-8",
        changes_only=True,
        counts=counts(properties=1908),
        samples=(
            Sample("property", "53499140-6cb8-11e4-86dd-003048c64779", "deleted", True),
            Sample("property", "fe2f0a8a-d6b6-11e4-80c6-001e675ada8d", "variant(false)", "Нет"),
        ),
    ),
    Expectation(
        "gillbeits__commerceml/example__prices___d66a6b51-ce9c-4e7a-8c7c-25079721107f.xml",
        role="prices",
        schema_version="2.09",
        encoding="utf-8",
        changes_only=True,
        counts=counts(offers=978, prices=978),
        samples=(
            Sample(
                "offer",
                "26b0dc1e-4d66-11e4-99fe-003048c64779",
                "price(4d968229-47ba-11e4-a628-003048c64779).value",
                D("181"),
            ),
            Sample(
                "offer",
                "26b0dc1e-4d66-11e4-99fe-003048c64779",
                "price(4d968229-47ba-11e4-a628-003048c64779).currency",
                "RUB",
            ),
            Sample("offer", "26b0dc1e-4d66-11e4-99fe-003048c64779", "stock", None),
        ),
    ),
    Expectation(
        "gillbeits__commerceml/example__rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml",
        role="rests",
        schema_version="2.09",
        encoding="utf-8",
        changes_only=True,
        counts=counts(offers=978),
        samples=(
            Sample(
                "offer",
                "26b0dc1e-4d66-11e4-99fe-003048c64779",
                "stock(5d1caeb1-44b2-11e4-a628-003048c64779)",
                D("1"),
            ),
            Sample("offer", "26b0dc1e-4d66-11e4-99fe-003048c64779", "prices", None),
        ),
    ),
    Expectation(
        "gillbeits__commerceml/tests__import.xml",
        role="goods",
        schema_version="2.03",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=2, properties=5, products=6),
        samples=(
            Sample(
                "group",
                "acc7e604-176c-11e1-8c73-bcaec54d0081",
                "parent_id",
                "986abc2d-6aca-11e2-92a5-002590800f44",
            ),
            Sample(
                "product",
                "c84caed5-d7eb-11e1-95c6-00259037962c#792ddcc0-eb8e-11e1-bd18-002590800f44",
                "group_ids",
                ("acc7e604-176c-11e1-8c73-bcaec54d0081",),
            ),
            Sample(
                "product",
                "c84caed5-d7eb-11e1-95c6-00259037962c#792ddcc0-eb8e-11e1-bd18-002590800f44",
                "barcode",
                "2077779018077",
            ),
            Sample("property", "30c606e3-d01a-11e1-95c6-00259037962c", "name", "Ширина"),
        ),
    ),
    Expectation(
        "gillbeits__commerceml/tests__offers.xml",
        role="offers",
        schema_version="2.03",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=2, offers=6, prices=12),
        samples=(
            Sample(
                "offer",
                "c84caed5-d7eb-11e1-95c6-00259037962c#792ddcc1-eb8e-11e1-bd18-002590800f44",
                "price(9510c1e9-06f9-11e2-94e8-002590800f44).value",
                D("555"),
            ),
            Sample(
                "offer",
                "c84caed5-d7eb-11e1-95c6-00259037962c#792ddcc1-eb8e-11e1-bd18-002590800f44",
                "price(9510c1e9-06f9-11e2-94e8-002590800f44).currency",
                "руб",
            ),
            Sample(
                "offer",
                "c84caed5-d7eb-11e1-95c6-00259037962c#792ddcc1-eb8e-11e1-bd18-002590800f44",
                "quantity",
                D("0"),
            ),
            Sample("price_type", "c307a4d3-a998-11e1-8399-00259037962c", "currency", "руб."),
        ),
    ),
    Expectation(
        "iMega__commerceml2teleport/parser__fixture__import.xml",
        role="goods",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=4, properties=26, products=4),
        samples=(
            Sample("group", "2222", "parent_id", "1111"),
            Sample(
                "product",
                "1a4ec9af-1192-11e4-8372-00259079b159#1a4ec9b2-1192-11e4-8372-00259079b159",
                "base_unit.code",
                "796",
            ),
            Sample(
                "product",
                "1a4ec9af-1192-11e4-8372-00259079b159#1a4ec9b2-1192-11e4-8372-00259079b159",
                "group_ids",
                ("b53195b4-1da8-11e2-bdc7-001e8c60f11c",),
            ),
            Sample("property", "7ce6ded9-9cb2-11e0-8b2d-001e8c60f11c", "name", "Цвет передней панели"),
        ),
    ),
    Expectation(
        "iMega__commerceml2teleport/parser__fixture__offer.xml",
        role="offers",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=1, offers=4, prices=4),
        samples=(
            Sample(
                "offer",
                "348fceb0-219f-11e2-8401-001e8c60f11c#18b18a6d-66c6-11e2-8671-00259079b159",
                "price(2e6a724e-0cc1-11de-8f0f-001e8c60f11c).value",
                D("628200"),
            ),
            Sample(
                "offer",
                "348fceb0-219f-11e2-8401-001e8c60f11c#18b18a6d-66c6-11e2-8671-00259079b159",
                "price(2e6a724e-0cc1-11de-8f0f-001e8c60f11c).currency",
                "BYR",
            ),
            Sample(
                "offer",
                "348fceb0-219f-11e2-8401-001e8c60f11c#18b18a6d-66c6-11e2-8671-00259079b159",
                "quantity",
                D("1"),
            ),
            Sample("price_type", "2e6a724e-0cc1-11de-8f0f-001e8c60f11c", "currency", "BYR"),
        ),
    ),
    Expectation(
        "irpsv__commerceml/tests__assets__cs-cart__import.xml",
        role="goods",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=4, properties=1, products=27),
        samples=(
            Sample(
                "group",
                "dee6e1cf-55bc-11d9-848a-00112f43529a",
                "parent_id",
                "bd72d90d-55bc-11d9-848a-00112f43529a",
            ),
            Sample(
                "product",
                "bd72d913-55bc-11d9-848a-00112f43529a",
                "group_ids",
                ("bd72d90e-55bc-11d9-848a-00112f43529a",),
            ),
            Sample("product", "bd72d913-55bc-11d9-848a-00112f43529a", "requisite(Вес)", "1"),
            Sample("property", "28b6895a-24a9-11e0-aeec-0015e9b8c48d", "name", "Экспедитор"),
        ),
    ),
    Expectation(
        "irpsv__commerceml/tests__assets__cs-cart__offers.xml",
        role="offers",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=2, offers=1455, prices=2910),
        samples=(
            Sample(
                "offer",
                "bd72d910-55bc-11d9-848a-00112f43529a#3df1947d-7886-11df-b33a-0011955cba6b",
                "price(ec19169a-c400-11e3-853d-00248cae1f0f).value",
                D("3159.00"),
            ),
            Sample(
                "offer",
                "bd72d910-55bc-11d9-848a-00112f43529a#3df1947d-7886-11df-b33a-0011955cba6b",
                "price(ec19169a-c400-11e3-853d-00248cae1f0f).currency",
                "RUB",
            ),
            Sample(
                "offer",
                "bd72d910-55bc-11d9-848a-00112f43529a#3df1947d-7886-11df-b33a-0011955cba6b",
                "quantity",
                D("10"),
            ),
            Sample(
                "offer",
                "bd72d910-55bc-11d9-848a-00112f43529a#3df1947d-7886-11df-b33a-0011955cba6b",
                "characteristic(Размер)",
                "43",
            ),
        ),
    ),
    Expectation(
        "irpsv__commerceml/tests__assets__off-doc-1c__import.xml",
        role="goods",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=1, products=4),
        samples=(
            Sample(
                "product",
                "05e26d70-01e4-11dc-a411-00055d80a2d1#218a1598-044b-11dc-a414-00055d80a2d1",
                "base_unit.code",
                "796",
            ),
            Sample(
                "product",
                "05e26d70-01e4-11dc-a411-00055d80a2d1#218a1598-044b-11dc-a414-00055d80a2d1",
                "group_ids",
                ("05e26d6f-01e4-11dc-a411-00055d80a2d1",),
            ),
            Sample("group", "05e26d6f-01e4-11dc-a411-00055d80a2d1", "name", "Мебель"),
            Sample("group", "05e26d6f-01e4-11dc-a411-00055d80a2d1", "parent_id", None),
        ),
    ),
    Expectation(
        "irpsv__commerceml/tests__assets__off-doc-1c__offers.xml",
        role="offers",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=4, offers=2, prices=8),
        samples=(
            Sample(
                "offer",
                "05e26d70-01e4-11dc-a411-00055d80a2d1#05e26d76-01e4-11dc-a411-00055d80a2d1",
                "price(cbcf495d-55bc-11d9-848a-00112f43529a).value",
                D("5"),
            ),
            Sample(
                "offer",
                "05e26d70-01e4-11dc-a411-00055d80a2d1#05e26d76-01e4-11dc-a411-00055d80a2d1",
                "price(cbcf495d-55bc-11d9-848a-00112f43529a).currency",
                "USD",
            ),
            Sample(
                "offer",
                "05e26d70-01e4-11dc-a411-00055d80a2d1#05e26d76-01e4-11dc-a411-00055d80a2d1",
                "quantity",
                D("0"),
            ),
            Sample("price_type", "cbcf493b-55bc-11d9-848a-00112f43529a", "currency", "руб"),
        ),
    ),
    Expectation(
        "irpsv__commerceml/tests__assets__off-doc-1c__orders.xml",
        role="documents",
        schema_version="2.03",
        encoding="utf-8",
        changes_only=None,
        counts=counts(documents=3),
        samples=(
            Sample("document", "92", "number", "92"),
            Sample("document", "92", "amount", None),
            Sample("document", "92", "requisite(Статус заказа)", "Открыт"),
            Sample("document", "36", "counterparties[0].id", "1#admin# admin"),
            Sample("document", "36", "line(ORDER_DELIVERY).price", D("340.00")),
        ),
    ),
    Expectation(
        "irpsv__commerceml/tests__assets__ready-script__import.xml",
        role="goods",
        schema_version="2.05",
        encoding="utf-8",
        changes_only=True,
        counts=counts(groups=4, properties=7, products=1),
        samples=(
            Sample(
                "group",
                "643e063e-1812-4ce6-a73c-812255cfc8d8",
                "parent_id",
                "1e131e6a-c737-4518-8dd5-f6c80c183016",
            ),
            Sample(
                "product",
                "421a531a-995e-11e3-9e81-00241d337dcd",
                "group_ids",
                ("643e063e-1812-4ce6-a73c-812255cfc8d8",),
            ),
            Sample(
                "product",
                "421a531a-995e-11e3-9e81-00241d337dcd",
                "property(362babdd-9a02-11e3-b8cf-00241d337dcd)",
                ("38;39;40;41;42;43",),
            ),
            Sample(
                "property",
                "b54d42a9-ab6a-11e3-94cb-00241d337dcd",
                "variant(b54d42ad-ab6a-11e3-94cb-00241d337dcd)",
                "30",
            ),
        ),
    ),
    Expectation(
        "irpsv__commerceml/tests__assets__ready-script__offers.xml",
        role="offers",
        schema_version="2.05",
        encoding="utf-8",
        changes_only=True,
        counts=counts(price_types=1, offers=2, prices=2),
        samples=(
            Sample(
                "offer",
                "421a531a-995e-11e3-9e81-00241d337dcd#fd3fdddb-9964-11e3-9e81-00241d337dcd",
                "price(421a530f-995e-11e3-9e81-00241d337dcd).value",
                D("12356.00"),
            ),
            Sample(
                "offer",
                "421a531a-995e-11e3-9e81-00241d337dcd#fd3fdddb-9964-11e3-9e81-00241d337dcd",
                "price(421a530f-995e-11e3-9e81-00241d337dcd).currency",
                "руб",
            ),
            Sample(
                "offer",
                "421a531a-995e-11e3-9e81-00241d337dcd#fd3fdddb-9964-11e3-9e81-00241d337dcd",
                "quantity",
                D("9"),
            ),
            Sample(
                "offer",
                "421a531a-995e-11e3-9e81-00241d337dcd#fd3fdddb-9964-11e3-9e81-00241d337dcd",
                "characteristic(Размер)",
                "39",
            ),
        ),
    ),
    Expectation(
        "irpsv__commerceml/tests__assets__umi-cms__import.xml",
        role="goods",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=1, properties=1, products=3),
        samples=(
            Sample("product", "bd72d92c-55bc-11d9-848a-00112f43529a", "base_unit.code", "796"),
            Sample(
                "product",
                "bd72d92c-55bc-11d9-848a-00112f43529a",
                "images[0]",
                "import_files/bd/bd72d92c55bc11d9848a00112f43529a_80a7832c39c811e0a35a000b0d4caf68.jpg",
            ),
            Sample(
                "property",
                "14ed8b20-55bd-11d9-848a-00112f43529a",
                "variant(14ed8b25-55bd-11d9-848a-00112f43529a)",
                'ЗАО "Сартан"',
            ),
            Sample("group", "bd72d925-55bc-11d9-848a-00112f43529a", "name", "Кухонные электроприборы"),
        ),
    ),
    Expectation(
        "irpsv__commerceml/tests__assets__umi-cms__offers.xml",
        role="offers",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=5, offers=14, prices=70),
        samples=(
            Sample(
                "offer",
                "bd72d927-55bc-11d9-848a-00112f43529a",
                "price(8c535fda-da37-11e1-86f2-00155d343e29).value",
                D("4293.00"),
            ),
            Sample(
                "offer",
                "bd72d927-55bc-11d9-848a-00112f43529a",
                "price(8c535fda-da37-11e1-86f2-00155d343e29).currency",
                "RUB",
            ),
            Sample("offer", "bd72d927-55bc-11d9-848a-00112f43529a", "quantity", D("26")),
            Sample("price_type", "12c9b2a0-d735-11e1-b0e1-00155d343e29", "currency", "RUB"),
        ),
    ),
    Expectation(
        "newmedia27__OldNew/xml__import.xml",
        role="goods",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=True,
        counts=counts(groups=5, products=9),
        samples=(
            Sample(
                "group",
                "eaf02fe7-ce46-11e5-a1a1-005056a87945",
                "parent_id",
                "de9139b7-ce46-11e5-a1a1-005056a87945",
            ),
            Sample("product", "4737bd04-5f9d-11e6-80dc-005056a7318f", "base_unit.code", "0138"),
            Sample(
                "product",
                "4737bd04-5f9d-11e6-80dc-005056a7318f",
                "group_ids",
                ("5a013bd6-d6dd-11e4-85a6-000c2949dd85",),
            ),
            Sample("group", "eaf02fe7-ce46-11e5-a1a1-005056a87945", "name", "BRANT 1"),
        ),
    ),
    Expectation(
        "newmedia27__OldNew/xml__offers.xml",
        role="offers",
        schema_version="2.04",
        encoding="utf-8",
        changes_only=True,
        counts=counts(price_types=1, offers=9, prices=9),
        samples=(
            Sample(
                "offer",
                "23fe2aef-6ec0-11e6-80e0-005056a7318f",
                "price(65450366-bc0d-11e4-8e16-000c2949dd85).value",
                D("3.2"),
            ),
            Sample(
                "offer",
                "23fe2aef-6ec0-11e6-80e0-005056a7318f",
                "price(65450366-bc0d-11e4-8e16-000c2949dd85).currency",
                "EUR",
            ),
            Sample("offer", "23fe2aef-6ec0-11e6-80e0-005056a7318f", "quantity", D("2778.2")),
            Sample("price_type", "65450366-bc0d-11e4-8e16-000c2949dd85", "currency", "EUR"),
        ),
    ),
    Expectation(
        "oslrz__ndjs_site/import0_1.xml",
        role="goods",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=19, products=271),
        samples=(
            Sample(
                "group",
                "5efe257a-6413-11e8-9572-708bcda42178",
                "parent_id",
                "5efe2579-6413-11e8-9572-708bcda42178",
            ),
            Sample("product", "7ca16727-583a-11e8-8161-708bcda42178", "base_unit.code", "2009"),
            Sample("product", "7ca16727-583a-11e8-8161-708bcda42178", "barcode", "2063753890012"),
            Sample("group", "5efe257a-6413-11e8-9572-708bcda42178", "name", "Мультиварка"),
        ),
    ),
    Expectation(
        "solopovsergey__bxmaker.kits/upload__1c_catalog__import.xml",
        role="goods",
        schema_version="3.1",
        encoding="utf-8",
        changes_only=True,
        counts=counts(price_types=1, warehouses=1, products=3),
        samples=(
            Sample("product", "21720553-4efc-11e1-8614-20cf30ae5c99", "base_unit.ref", "796"),
            Sample("product", "21720553-4efc-11e1-8614-20cf30ae5c99", "weight", D("0.2")),
            Sample(
                "product",
                "21720553-4efc-11e1-8614-20cf30ae5c99",
                "property(676f4348-6d9a-11e6-903b-00155d5b6a06)",
                ("7fa9f7d9-0b8e-11ec-b9c9-2cf05d5995e6",),
            ),
            Sample(
                "product", "21720553-4efc-11e1-8614-20cf30ae5c99", "requisite(ТипНоменклатуры)", "Комплект"
            ),
            Sample(
                "warehouse",
                "277e3391-fb26-11e7-80e9-00155d00930f",
                "name",
                "BXmaker. Комплекты из 1с. Основнйо склад",
            ),
            Sample("price_type", "9f0943e7-44a2-11e5-8bb6-00155d5b6a04", "currency", "руб"),
        ),
    ),
    Expectation(
        "solopovsergey__bxmaker.kits/upload__1c_catalog__offers.xml",
        role="offers",
        schema_version="3.1",
        encoding="utf-8",
        changes_only=True,
        counts=counts(offers=1),
        samples=(
            Sample(
                "offer", "16876289-24be-11e1-a064-20cf30d4a131", "name", "Пижама MIRACLE, размер L, черный"
            ),
            Sample("offer", "16876289-24be-11e1-a064-20cf30d4a131", "version", "AAAAABCjYfg="),
            Sample("offer", "16876289-24be-11e1-a064-20cf30d4a131", "prices", None),
        ),
    ),
    Expectation(
        "solopovsergey__bxmaker.kits/upload__1c_catalog__prices.xml",
        role="prices",
        schema_version="3.1",
        encoding="utf-8",
        changes_only=True,
        counts=counts(offers=3, prices=3),
        samples=(
            Sample(
                "offer",
                "21720551-4efc-11e1-8614-20cf30ae5c99",
                "price(9f0943e7-44a2-11e5-8bb6-00155d5b6a04).value",
                D("2000"),
            ),
            Sample(
                "offer",
                "21720551-4efc-11e1-8614-20cf30ae5c99",
                "price(9f0943e7-44a2-11e5-8bb6-00155d5b6a04).currency",
                "руб",
            ),
            Sample("offer", "21720551-4efc-11e1-8614-20cf30ae5c99", "stock", None),
        ),
    ),
    Expectation(
        "solopovsergey__bxmaker.kits/upload__1c_catalog__rests.xml",
        role="rests",
        schema_version="3.1",
        encoding="utf-8",
        changes_only=True,
        counts=counts(offers=3),
        samples=(
            Sample("offer", "16876289-24be-11e1-a064-20cf30d4a131", "prices", None),
            Sample(
                "offer",
                "16876289-24be-11e1-a064-20cf30d4a131",
                "stock(277e3391-fb26-11e7-80e9-00155d00930f)",
                D("0"),
            ),
        ),
    ),
    Expectation(
        "sosloow__node-CommerceML-parser/spec__files__import.test.done",
        role="goods",
        schema_version="2.05",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=7, properties=2, products=1),
        samples=(
            Sample(
                "group",
                "d6e2eb17-909e-11e3-99ad-bcaec58df7a4",
                "parent_id",
                "d6e2eb16-909e-11e3-99ad-bcaec58df7a4",
            ),
            Sample(
                "product",
                "d3c24179-84be-11e3-8946-bcaec58df7a4",
                "property(ac00f4ac-77b3-11e3-b017-bcaec58df7a4)",
                ("b1f93a18-77b3-11e3-b017-bcaec58df7a4",),
            ),
            Sample(
                "product",
                "d3c24179-84be-11e3-8946-bcaec58df7a4",
                "requisite(Полное наименование)",
                "Проволока стальная вязальная 1,8 мм",
            ),
            Sample(
                "property",
                "ac00f4ac-77b3-11e3-b017-bcaec58df7a4",
                "variant(ac00f4dc-77b3-11e3-b017-bcaec58df7a4)",
                "саморез кровельный по дереву окрашенный",
            ),
        ),
    ),
    Expectation(
        "sosloow__node-CommerceML-parser/spec__files__offers.test.done",
        role="offers",
        schema_version="2.05",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=1, offers=3, prices=3),
        samples=(
            Sample(
                "offer",
                "3c586b6e-dcbd-11e3-9034-bcaec58df7a4",
                "price(50991184-744d-11e3-8261-f81a6721333a).value",
                D("11.50"),
            ),
            Sample(
                "offer",
                "3c586b6e-dcbd-11e3-9034-bcaec58df7a4",
                "price(50991184-744d-11e3-8261-f81a6721333a).currency",
                "руб",
            ),
            Sample("price_type", "50991184-744d-11e3-8261-f81a6721333a", "currency", "руб"),
            Sample("price_type", "50991184-744d-11e3-8261-f81a6721333a", "name", "Типовые правила продаж"),
        ),
    ),
    Expectation(
        "stee1cat__1c-exchange/tests__data__import___29d3f7f0-36dd-4eea-a06c-4c325bed4285.xml",
        role="classifier",
        schema_version="3.1",
        encoding="utf-8",
        changes_only=True,
        counts=counts(groups=25, warehouses=13),
        samples=(
            Sample(
                "group",
                "cbcf4966-55bc-11d9-848a-00112f43529a",
                "parent_id",
                "fad620c2-c719-11e4-8ec3-bcaec56cc144",
            ),
            Sample("warehouse", "a4212b46-730a-11df-b338-0011955cba6b", "name", 'Магазин "Продукты"'),
            Sample("group", "cbcf4966-55bc-11d9-848a-00112f43529a", "name", "Продукты"),
        ),
    ),
    Expectation(
        "sukhikh18__woocommerce-ml/tests__fixtures__import0_1.xml",
        role="goods",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(groups=6, properties=2, products=5),
        samples=(
            Sample(
                "group",
                "e5f5d7fa-fd10-11e8-a436-0025904bff5d",
                "parent_id",
                "7280fea3-45e9-11e7-8e40-0025904bff5d",
            ),
            Sample(
                "product",
                "1719d437-cf01-11e9-81ee-0025904bff5d",
                "group_ids",
                ("31d6843c-4a02-11e2-b16b-00804839140a",),
            ),
            Sample(
                "product",
                "1719d437-cf01-11e9-81ee-0025904bff5d",
                "property(31d6848a-4a02-11e2-b16b-00804839140a)",
                ("35d62727-29b2-11e7-9b04-0025904bff5d",),
            ),
            Sample("property", "b0eff642-d12a-11e7-a4f2-0025904bff5d", "name", "Новинка"),
        ),
    ),
    Expectation(
        "sukhikh18__woocommerce-ml/tests__fixtures__offers0_1.xml",
        role="offers",
        schema_version="2.07",
        encoding="utf-8",
        changes_only=False,
        counts=counts(price_types=1, warehouses=1, offers=3, prices=3),
        samples=(
            Sample(
                "offer",
                "3cd317c2-0105-11e8-8254-0025904bff5d",
                "price(19dda8a9-e321-11e6-a50a-0025904bff5d).value",
                D("70"),
            ),
            Sample(
                "offer",
                "3cd317c2-0105-11e8-8254-0025904bff5d",
                "price(19dda8a9-e321-11e6-a50a-0025904bff5d).currency",
                "RUB",
            ),
            Sample("offer", "3cd317c2-0105-11e8-8254-0025904bff5d", "quantity", D("19")),
            Sample(
                "offer",
                "3cd317c2-0105-11e8-8254-0025904bff5d",
                "stock(a67dede2-e25c-11e8-90c5-0025904bff5d)",
                D("19"),
            ),
        ),
    ),
    Expectation(
        "wagood__commerceml/example__commerce-ml3__import___5335d080-66b0-4355-887c-d54bba6f1f08.xml",
        role="goods",
        schema_version="3.1",
        encoding="utf-8",
        changes_only=True,
        counts=counts(products=1),
        samples=(
            Sample("product", "b9006815-7dde-11e8-80cb-70106fc831cf", "base_unit.ref", "796"),
            Sample("product", "b9006815-7dde-11e8-80cb-70106fc831cf", "version", "AAAGwQAAAAA=40517"),
            Sample(
                "product",
                "b9006815-7dde-11e8-80cb-70106fc831cf",
                "group_ids",
                ("5137eaf1-83f3-11e7-afd4-1c872c77ed7c",),
            ),
            Sample("product", "b9006815-7dde-11e8-80cb-70106fc831cf", "article", "32255"),
        ),
    ),
    Expectation(
        "wagood__commerceml/example__commerce-ml3__import___57c55968-51d1-46f0-b5d7-927f420b8fd4.xml",
        role="classifier",
        schema_version="3.1",
        encoding="utf-8",
        changes_only=True,
        counts=counts(groups=1, price_types=1),
        samples=(
            Sample("price_type", "df3ab54d-8718-11e7-afd4-1c872c77ed7c", "currency", "руб"),
            Sample("group", "e7552734-83d7-11e7-afd4-1c872c77ed7c", "name", "Категория"),
            Sample("group", "e7552734-83d7-11e7-afd4-1c872c77ed7c", "parent_id", None),
            Sample("price_type", "df3ab54d-8718-11e7-afd4-1c872c77ed7c", "name", "Розничные"),
        ),
    ),
    Expectation(
        "wagood__commerceml/example__commerce-ml3__offers___13955e2c-c7d0-4189-8db7-9bc863cde645.xml",
        role="offers",
        schema_version="3.1",
        encoding="utf-8",
        changes_only=True,
        counts=counts(offers=2),
        samples=(
            Sample(
                "offer",
                "b9006815-7dde-11e8-80cb-70106fc831cf#ca3fa92c-8662-11e8-80cb-70106fc831cf",
                "name",
                "Товар (предложение 2)",
            ),
            Sample(
                "offer",
                "b9006815-7dde-11e8-80cb-70106fc831cf#ca3fa92c-8662-11e8-80cb-70106fc831cf",
                "version",
                "AAAAAQAAAlE=",
            ),
            Sample("offer", "b9006815-7dde-11e8-80cb-70106fc831cf", "deleted", False),
            Sample("offer", "b9006815-7dde-11e8-80cb-70106fc831cf", "prices", None),
        ),
    ),
    Expectation(
        "wagood__commerceml/example__commerce-ml3__prices___478f43af-4dba-47c9-b3fa-d9737c14a30f.xml",
        role="prices",
        schema_version="3.1",
        encoding="utf-8",
        changes_only=True,
        counts=counts(offers=2, prices=2),
        samples=(
            Sample(
                "offer",
                "b9006815-7dde-11e8-80cb-70106fc831cf",
                "price(df3ab54d-8718-11e7-afd4-1c872c77ed7c).value",
                D("14240"),
            ),
            Sample(
                "offer",
                "b9006815-7dde-11e8-80cb-70106fc831cf",
                "price(df3ab54d-8718-11e7-afd4-1c872c77ed7c).currency",
                "руб",
            ),
            Sample("offer", "b9006815-7dde-11e8-80cb-70106fc831cf", "stock", None),
        ),
    ),
    Expectation(
        "wagood__commerceml/example__commerce-ml3__rests___9ebdccc5-f70a-43db-8c03-0103301aad32.xml",
        role="rests",
        schema_version="3.1",
        encoding="utf-8",
        changes_only=True,
        counts=counts(offers=2),
        samples=(
            Sample(
                "offer",
                "b9006815-7dde-11e8-80cb-70106fc831cf#ca3fa92c-8662-11e8-80cb-70106fc831cf",
                "quantity",
                D("2"),
            ),
            Sample("offer", "b9006815-7dde-11e8-80cb-70106fc831cf", "quantity", D("0")),
            Sample("offer", "b9006815-7dde-11e8-80cb-70106fc831cf", "prices", None),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class Damage:
    """A broken copy of a real file, made at test time, and the located error reading it must give.

    ``action``: ``truncate`` keeps the lines before ``line`` and the first half of ``line``;
    ``replace`` swaps the first ``old`` on ``line`` for ``new``; ``insert`` puts ``new`` as a line of
    its own at ``line``; ``as_is`` reads the file unchanged. Text is encoded in the file's declared
    encoding; ``new`` given as bytes is inserted raw (an invalid byte sequence).
    """

    id: str
    source: str
    action: str
    line: int
    """1-based line of the damage: the line the error must name."""
    error: str
    """Class name in ``commerceml.errors``."""
    old: str = ""
    new: str | bytes = ""
    path_part: str | None = None
    """For an unreadable value: the element name the error's ``path`` must contain."""


MALFORMED: tuple[Damage, ...] = (
    Damage(
        "truncated-utf8",
        "carono__php-commerceml/tests__xml__import.xml",
        action="truncate",
        line=700,
        error="MalformedXML",
    ),
    Damage(
        "truncated-windows-1251",
        "carono__php-commerceml/tests__xml__orders.xml",
        action="truncate",
        line=60,
        error="MalformedXML",
    ),
    Damage(
        "mismatched-end-tag",
        "carono__php-commerceml/tests__xml__import.xml",
        action="replace",
        line=433,
        old="</Наименование>",
        new="</Наименованиe>",  # a Latin "e" at the end
        error="MalformedXML",
    ),
    Damage(
        "invalid-utf8-byte",
        "carono__php-commerceml/tests__xml__import.xml",
        action="replace",
        line=723,
        old="<Наименование>",
        new="<Наименование>".encode() + b"\xff",
        error="MalformedXML",
    ),
    Damage(
        "doctype-with-entity",
        "carono__php-commerceml/tests__xml__offers.xml",
        action="insert",
        line=2,
        new='<!DOCTYPE КоммерческаяИнформация [<!ENTITY boom "boom">]>',
        error="ForbiddenXML",
    ),
    Damage(
        "doctype-external-dtd",
        "irpsv__commerceml/tests__assets__off-doc-1c__orders.xml",
        action="insert",
        line=2,
        new='<!DOCTYPE КоммерческаяИнформация SYSTEM "http://127.0.0.1:9/commerceml.dtd">',
        error="ForbiddenXML",
    ),
    Damage(
        # The official 2.05 schema declares xmlns:cml="urn:1C.ru:commerceml 2" (a space): lxml rejects
        # the namespace URI as not well-formed, line 2 (SOURCES.md: the one non-well-formed file).
        "xsd-2.05-invalid-namespace-uri",
        "imega-teleport__xml2db/xsd__cml205.xsd",
        action="as_is",
        line=2,
        error="MalformedXML",
    ),
    Damage(
        # Well-formed, but an XML schema is not a CommerceML document: root xsd:schema on line 2.
        "xsd-2.06-not-commerceml",
        "imega-teleport__xml2db/xsd__cml206.xsd",
        action="as_is",
        line=2,
        error="UnsupportedDocument",
    ),
    Damage(
        "bad-price-number",
        "carono__php-commerceml/tests__xml__offers.xml",
        action="replace",
        line=235,
        old="<ЦенаЗаЕдиницу>1719<",
        new="<ЦенаЗаЕдиницу>17,19 руб<",
        error="InvalidValue",
        path_part="ЦенаЗаЕдиницу",
    ),
    Damage(
        "bad-document-date",
        "carono__php-commerceml/tests__xml__orders.xml",
        action="replace",
        line=6,
        old="<Дата>2007-10-16</Дата>",
        new="<Дата>16.10.2007г</Дата>",
        error="InvalidValue",
        path_part="Дата",
    ),
)
