"""The streaming reader on our own composed files: every element of protocol.md §6-§9."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commerceml import (
    CatalogInfo,
    Characteristic,
    ClassifierInfo,
    Document,
    DocumentHeader,
    FileRole,
    Group,
    Offer,
    OfferPackageInfo,
    Price,
    PriceType,
    Product,
    Property,
    PropertyValue,
    Requisite,
    Stock,
    TaxRate,
    Unit,
    ValueVariant,
    Warehouse,
    iter_file,
    read_summary,
    split_offer_id,
)
from tests.commerceml.helpers import FIXTURES, by_id, of_type, read_bytes, read_every_way

CLASSIC = FIXTURES / "classic-2.08"
SPLIT = FIXTURES / "split-3.1"
ORDERS = FIXTURES / "orders"


def test_catalog_header_classifier_and_groups_parents_first() -> None:
    entities, summary = read_every_way((CLASSIC / "import.xml").read_bytes())
    assert summary.role is FileRole.GOODS
    assert summary.schema_version == "2.08"
    assert summary.changes_only is False
    assert isinstance(entities[0], DocumentHeader)
    assert entities[0].created == "2024-06-10T09:15:00"
    groups = of_type(entities, Group)
    assert [(g.id, g.parent_id) for g in groups] == [
        ("g-shoes", None),
        ("g-sneakers", "g-shoes"),
        ("g-boots", "g-shoes"),
        ("g-winter", "g-boots"),
        ("g-services", None),
    ]
    classifier = of_type(entities, ClassifierInfo)[0]
    assert classifier.id == "7f1c2a10-0000-4000-8000-000000000001"
    assert classifier.owner is not None and classifier.owner.inn == "7700000000"
    assert classifier.owner.kpp == "770001001"
    catalog = of_type(entities, CatalogInfo)[0]
    assert catalog.classifier_id == "7f1c2a10-0000-4000-8000-000000000001"
    assert catalog.name == "Основной каталог"
    assert catalog.changes_only is False


def test_properties_with_value_variants() -> None:
    entities, _ = read_every_way((CLASSIC / "import.xml").read_bytes())
    brand = by_id(entities, Property, "p-brand")
    assert brand.value_type == "Справочник"
    assert brand.for_products is True
    assert brand.variants == (ValueVariant("v-brand-1", "Runner"), ValueVariant("v-brand-2", "Walker"))
    assert by_id(entities, Property, "p-material").variants == ()


def test_product_every_field_stripped() -> None:
    entities, _ = read_every_way((CLASSIC / "import.xml").read_bytes())
    product = by_id(entities, Product, "a1b2c3d4-0000-4000-8000-000000000101")
    assert product.article == "RUN-42"  # 1C pads values with spaces
    assert product.barcode == "4600000000017"
    assert product.base_unit == Unit(code="715", name="пар", full_name="Пара (2 шт.)", international="NPR")
    assert product.group_ids == ("g-sneakers",)
    assert product.images == (
        "import_files/a1/a1b2c3d4-0000-4000-8000-000000000101_5e6f.jpg",
        "import_files/a1/a1b2c3d4-0000-4000-8000-000000000101_7a8b.jpg",
    )
    assert product.manufacturer is not None and product.manufacturer.name == 'ООО "Раннер"'
    assert product.property_values == (
        PropertyValue("p-brand", ("v-brand-1",)),
        PropertyValue("p-material", ("Текстиль",)),
    )
    assert product.tax_rates == (TaxRate("НДС", "20"),)
    assert product.requisite("Полное наименование") == "Кроссовки беговые Runner"
    assert product.requisite("Вес") == "0.8"
    assert product.deleted is False
    other = by_id(entities, Product, "a1b2c3d4-0000-4000-8000-000000000103")
    assert other.barcode == "4600000000031"  # the ШтрихКод spelling
    assert other.tax_rates == (TaxRate("НДС", "Без налога"),)


def test_deleted_by_status_element_and_attribute_and_mark() -> None:
    entities, _ = read_every_way((CLASSIC / "import.xml").read_bytes())
    assert by_id(entities, Product, "a1b2c3d4-0000-4000-8000-000000000102").deleted is True
    xml = (
        '<КоммерческаяИнформация ВерсияСхемы="2.08"><Каталог><Товары>'
        '<Товар Статус="Удален"><Ид>x1</Ид><Наименование>A</Наименование></Товар>'
        "<Товар><Ид>x2</Ид><Наименование>B</Наименование><ПометкаУдаления>true</ПометкаУдаления></Товар>"
        "<Товар><Ид>x3</Ид><Наименование>C</Наименование><ПометкаУдаления>false</ПометкаУдаления></Товар>"
        "</Товары></Каталог></КоммерческаяИнформация>"
    ).encode()
    entities, _ = read_every_way(xml)
    assert [(p.id, p.deleted) for p in of_type(entities, Product)] == [
        ("x1", True),
        ("x2", True),
        ("x3", False),
    ]


def test_classic_offers_prices_quantity_and_stock_attributes() -> None:
    entities, summary = read_every_way((CLASSIC / "offers.xml").read_bytes())
    assert summary.role is FileRole.OFFERS
    assert summary.counts["prices"] == 5
    price_types = of_type(entities, PriceType)
    assert [(t.id, t.currency) for t in price_types] == [("pt-retail", "RUB"), ("pt-wholesale", "RUB")]
    assert price_types[0].tax is not None and price_types[0].tax.included is True
    assert [w.id for w in of_type(entities, Warehouse)] == ["wh-main", "wh-shop"]
    offer = by_id(
        entities, Offer, "a1b2c3d4-0000-4000-8000-000000000101#c0ffee00-0000-4000-8000-000000000042"
    )
    assert offer.product_id == "a1b2c3d4-0000-4000-8000-000000000101"
    assert offer.characteristic_id == "c0ffee00-0000-4000-8000-000000000042"
    assert offer.characteristics == (Characteristic("Размер", "42"),)
    assert offer.prices is not None
    assert offer.prices[0] == Price(
        "pt-retail",
        Decimal("4990"),
        currency="RUB",
        unit="пар",
        ratio=Decimal(1),
        presentation="4 990 RUB за пар",
    )
    assert offer.prices[1].value == Decimal("3990.50")
    assert offer.quantity == Decimal(7)
    assert offer.stock == (Stock("wh-main", Decimal(5)), Stock("wh-shop", Decimal(2)))
    package = of_type(entities, OfferPackageInfo)[0]
    assert package.id == "7f1c2a10-0000-4000-8000-000000000001#"
    assert package.catalog_id == "7f1c2a10-0000-4000-8000-000000000001"


def test_split_31_classifier_units_and_versions() -> None:
    entities, summary = read_every_way((SPLIT / "import___c1.xml").read_bytes())
    assert summary.role is FileRole.CLASSIFIER
    assert summary.schema_version == "3.1"
    groups = of_type(entities, Group)
    assert [(g.id, g.parent_id, g.deleted) for g in groups] == [
        ("g-tools", None, False),
        ("g-drills", "g-tools", False),
        ("g-old", None, True),
    ]
    assert groups[0].version == "AAAAAQAAAAI="
    price_type = of_type(entities, PriceType)[0]
    assert price_type.tax is not None and price_type.tax.excise is False
    unit = of_type(entities, Unit)[0]
    assert (unit.id, unit.code, unit.name, unit.full_name) == ("796", "796", "шт", "Штука")
    store = by_id(entities, Warehouse, "wh-1")
    assert store.address is not None and store.address.presentation == "Москва, ул. Складская, 1"


def test_split_31_goods_offers_prices_rests_are_partial() -> None:
    goods, summary = read_every_way((SPLIT / "goods/1/import___g1.xml").read_bytes())
    assert summary.role is FileRole.GOODS
    drill = by_id(goods, Product, "d-100")
    assert drill.base_unit == Unit(ref="796")  # 3.1: a reference into ЕдиницыИзмерения
    assert (drill.weight, drill.length, drill.width, drill.height) == (
        Decimal("1.85"),
        Decimal(30),
        Decimal(8),
        Decimal(25),
    )
    assert drill.barcode is None and drill.description is None and drill.country == "Китай"
    assert by_id(goods, Product, "d-200").deleted is True

    offers, summary = read_every_way((SPLIT / "goods/1/offers___o1.xml").read_bytes())
    assert summary.role is FileRole.OFFERS
    red = by_id(offers, Offer, "d-100#red")
    assert red.prices is None and red.stock is None and red.quantity is None  # not cleared
    assert red.property_values == (PropertyValue("p-color", ("c-red",)),)

    prices, summary = read_every_way((SPLIT / "goods/1/prices___p1.xml").read_bytes())
    assert summary.role is FileRole.PRICES
    blue = by_id(prices, Offer, "d-100#blue")
    assert blue.prices is not None and blue.prices[0].value == Decimal("5590.90")
    assert blue.stock is None

    rests, summary = read_every_way((SPLIT / "goods/1/rests___r1.xml").read_bytes())
    assert summary.role is FileRole.RESTS
    red = by_id(rests, Offer, "d-100#red")
    assert red.prices is None
    assert red.stock == (Stock("wh-1", Decimal(12)), Stock("wh-2", Decimal(3)))


def test_stock_in_all_three_forms_and_total_rest() -> None:
    xml = """<КоммерческаяИнформация ВерсияСхемы="2.09"><ПакетПредложений><Предложения>
      <Предложение><Ид>a</Ид><Склад ИдСклада="w1" КоличествоНаСкладе="1.5"/><Склад ИдСклада="w2" Количество="2"/></Предложение>
      <Предложение><Ид>b</Ид><Остатки><Остаток><Склад><Ид>w1</Ид><Количество>3</Количество></Склад></Остаток></Остатки></Предложение>
      <Предложение><Ид>c</Ид><КоличествоНаСкладах><КоличествоНаСкладе><ИдСклада>w3</ИдСклада><Количество>4</Количество></КоличествоНаСкладе></КоличествоНаСкладах></Предложение>
      <Предложение><Ид>d</Ид><Остатки><Остаток><Количество>-2</Количество></Остаток></Остатки></Предложение>
    </Предложения></ПакетПредложений></КоммерческаяИнформация>""".encode()
    entities, summary = read_every_way(xml)
    assert summary.role is FileRole.RESTS
    stock = {o.id: (o.stock, o.quantity) for o in of_type(entities, Offer)}
    assert stock == {
        "a": ((Stock("w1", Decimal("1.5")), Stock("w2", Decimal(2))), None),
        "b": ((Stock("w1", Decimal(3)),), None),
        "c": ((Stock("w3", Decimal(4)),), None),
        "d": ((), Decimal(-2)),  # negative stock occurs in real exports (§8.2) and is kept
    }


def test_changes_only_as_element_and_attribute() -> None:
    element = """<КоммерческаяИнформация ВерсияСхемы="2.03"><Каталог>
      <Ид>c</Ид><СодержитТолькоИзменения>true</СодержитТолькоИзменения>
      <Товары><Товар><Ид>p</Ид><Наименование>P</Наименование></Товар></Товары>
    </Каталог></КоммерческаяИнформация>""".encode()
    _, summary = read_every_way(element)
    assert summary.changes_only is True
    attribute = """<КоммерческаяИнформация ВерсияСхемы="2.09"><ПакетПредложений СодержитТолькоИзменения="true">
      <Предложения/></ПакетПредложений></КоммерческаяИнформация>""".encode()
    _, summary = read_every_way(attribute)
    assert summary.changes_only is True
    absent = (
        """<КоммерческаяИнформация ВерсияСхемы="2.03"><Каталог><Товары/></Каталог></КоммерческаяИнформация>"""
    )
    _, summary = read_every_way(absent.encode())
    assert summary.changes_only is None
    assert summary.role is FileRole.GOODS


@pytest.mark.parametrize(
    "namespace",
    ["", "urn:1C.ru:commerceml_2", "urn:1C.ru:commerceml_210", "urn:1C.ru:commerceml_3", "urn:example:other"],
)
def test_namespace_agnostic(namespace: str) -> None:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    xml = (
        f'<КоммерческаяИнформация{xmlns} ВерсияСхемы="2.07"><Каталог><Товары>'
        "<Товар><Ид>p1</Ид><Наименование> Товар </Наименование><Группы><Ид>g</Ид></Группы></Товар>"
        "</Товары></Каталог></КоммерческаяИнформация>"
    ).encode()
    entities, _ = read_every_way(xml)
    assert of_type(entities, Product) == [Product("p1", "Товар", group_ids=("g",))]


def test_windows_1251_bom_and_no_declaration_read_the_same() -> None:
    text = (CLASSIC / "import.xml").read_text(encoding="utf-8")
    body = text.split("?>", 1)[1]
    utf8, _ = read_every_way(text.encode("utf-8"))
    cp1251, summary = read_every_way(
        ('<?xml version="1.0" encoding="windows-1251"?>' + body).encode("cp1251")
    )
    assert summary.encoding == "windows-1251"
    with_bom, summary = read_every_way(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert summary.encoding == "utf-8"
    bare, summary = read_every_way(body.encode("utf-8"))
    assert summary.encoding == "utf-8"
    assert utf8 == cp1251 == with_bom == bare


def test_unknown_elements_are_kept_as_extra_and_sections_reported() -> None:
    xml = """<КоммерческаяИнформация ВерсияСхемы="3.1" Ид="">
      <Неизвестное><А>1</А></Неизвестное>
      <ПакетПредложений><Предложения>
        <Предложение><Ид>k</Ид><Комплектующие><Комплектующее><Ид>x</Ид><Количество>2</Количество></Комплектующее></Комплектующие></Предложение>
      </Предложения></ПакетПредложений>
      <ЕщёРаздел/>
    </КоммерческаяИнформация>""".encode()
    entities, summary = read_every_way(xml)
    offer = by_id(entities, Offer, "k")
    assert offer.extra == (
        ("Комплектующие/Комплектующее/Ид", "x"),
        ("Комплектующие/Комплектующее/Количество", "2"),
    )
    unknown = [e for e in entities if type(e).__name__ == "UnknownSection"]
    assert [(u.name, u.extra) for u in unknown] == [
        ("Неизвестное", (("Неизвестное/А", "1"),)),
        ("ЕщёРаздел", (("ЕщёРаздел", ""),)),
    ]
    assert {w.message for w in summary.warnings} == {
        "unknown section <Неизвестное> reported, not imported",
        "unknown section <ЕщёРаздел> reported, not imported",
    }
    header = entities[0]
    assert isinstance(header, DocumentHeader) and header.attributes == (("Ид", ""),)


def test_empty_offer_is_counted_and_warned_not_imported() -> None:
    xml = """<КоммерческаяИнформация ВерсияСхемы="2.07"><ПакетПредложений><Предложения>
      <Предложение/><Предложение><Ид>a</Ид></Предложение>
    </Предложения></ПакетПредложений></КоммерческаяИнформация>""".encode()
    entities, summary = read_every_way(xml)
    assert [o.id for o in of_type(entities, Offer)] == ["a"]
    assert summary.counts["offers"] == 2
    assert [(w.message, w.line) for w in summary.warnings] == [("empty <Предложение/> skipped", 2)]


def test_orders_from_1c_every_field() -> None:
    entities, summary = read_every_way((ORDERS / "from-1c-2.08.xml").read_bytes())
    assert summary.role is FileRole.DOCUMENTS
    doc = by_id(entities, Document, "1057")
    assert (doc.number, doc.date, doc.time) == ("1057", dt.date(2024, 6, 10), dt.time(12, 30))
    assert (doc.operation, doc.role, doc.currency, doc.rate, doc.amount) == (
        "Заказ товара",
        "Продавец",
        "руб",
        Decimal(1),
        Decimal(4840),
    )
    party = doc.counterparties[0]
    assert (party.inn, party.kpp, party.official_name) == (
        "7701234567",
        "770101001",
        'Общество с ограниченной ответственностью "Ромашка"',
    )
    assert party.legal_address is not None and party.legal_address.fields[0].value == "101000"
    assert [c.type for c in party.contacts] == ["Электронная почта", "Телефон рабочий"]
    assert party.representatives[0].relation == "Контактное лицо"
    assert party.representatives[0].name == "Петров Пётр"
    line, delivery = doc.lines
    assert line.id.endswith("#c0ffee00-0000-4000-8000-000000000042")
    assert (line.price, line.quantity, line.amount) == (Decimal(4490), Decimal(1), Decimal(4490))
    assert line.discounts[0].percent == Decimal(10)
    assert line.taxes[0].amount == Decimal("748.33")
    assert delivery.is_delivery and not line.is_delivery
    assert doc.taxes[0].amount == Decimal("806.67")
    assert doc.requisite("Дата оплаты по 1С") == "2024-06-11T09:10:00"
    assert doc.requisite("Статуса заказа ИД") == "P"
    assert Requisite("Проведен", ("true",)) in doc.requisites


def test_31_containers_payments_and_padding() -> None:
    entities, summary = read_every_way((ORDERS / "from-1c-3.1-containers.xml").read_bytes())
    assert summary.counts["documents"] == 3
    docs = of_type(entities, Document)
    assert [(d.id, d.container) for d in docs] == [("320", 0), ("pay-320-1", 0), ("321", 1)]
    order = docs[0]
    assert order.number_1c == "L320"  # padded to 11 characters by 1C
    assert order.date_1c == dt.date(2024, 6, 10)
    assert order.deleted is False and docs[2].deleted is True
    line = order.lines[0]
    assert line.price == Decimal("5590.45")  # <Цена>, not <ЦенаЗаЕдиницу>, in the 1C-Bitrix module
    assert line.unit is not None and (line.unit.id, line.unit.full_name) == ("796", "Штука")
    assert order.counterparties[0].okpo == "0123456789"
    payment = docs[1]
    assert (payment.operation, payment.basis) == ("Выплата безналичных денег", "320")


def test_iter_file_fills_summary(tmp_path: object) -> None:
    summary = read_summary(CLASSIC / "offers.xml")
    assert summary.as_json() == {
        "role": "offers",
        "schema_version": "2.08",
        "encoding": "utf-8",
        "changes_only": False,
        "counts": {
            "groups": 0,
            "properties": 0,
            "price_types": 2,
            "warehouses": 2,
            "products": 0,
            "offers": 3,
            "prices": 5,
            "documents": 0,
        },
    }
    assert len([e for e in iter_file(CLASSIC / "offers.xml", chunk_size=100) if isinstance(e, Offer)]) == 3


@pytest.mark.parametrize(
    ("offer_id", "expected"),
    [("p", ("p", None)), ("p#", ("p", None)), ("p#p", ("p", None)), ("p#c", ("p", "c")), ("#c", ("", "c"))],
)
def test_split_offer_id(offer_id: str, expected: tuple[str, str | None]) -> None:
    assert split_offer_id(offer_id) == expected


def test_memory_stays_flat_the_tree_never_grows() -> None:
    """However many products pass through, the retained tree holds a bounded number of elements."""

    def catalog(n: int) -> bytes:
        items = "".join(
            f"<Товар><Ид>p{i}</Ид><Наименование>Товар {i}</Наименование>"
            f"<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Вес</Наименование>"
            f"<Значение>{i}</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Товар>"
            for i in range(n)
        )
        return (
            f'<КоммерческаяИнформация ВерсияСхемы="2.08"><Каталог><Товары>{items}</Товары></Каталог>'.encode()
        )

    from commerceml import Reader

    sizes = {}
    for n in (100, 5000):
        reader = Reader()
        data = catalog(n)
        for start in range(0, len(data), 4096):
            reader.feed(data[start : start + 4096])
        sizes[n] = reader.retained_elements()
    assert sizes[5000] == sizes[100]
    assert sizes[5000] < 10


def test_utf16_with_bom_is_read() -> None:
    text = (
        (CLASSIC / "offers.xml").read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    )
    utf8, _ = read_every_way((CLASSIC / "offers.xml").read_bytes())
    utf16, summary = read_every_way(text.encode("utf-16"))
    assert summary.encoding == "utf-16"
    assert utf16 == utf8


@settings(max_examples=60, deadline=None)
@given(
    path=st.sampled_from(sorted(FIXTURES.rglob("*.xml"))),
    chunks=st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=40),
)
def test_any_chunking_gives_the_same_entities(path: Path, chunks: list[int]) -> None:
    data = path.read_bytes()
    whole, summary = read_bytes(data)
    again, other = read_bytes(data, chunks)
    assert again == whole
    assert other.as_json() == summary.as_json()


def test_unknown_elements_at_any_depth_are_kept_in_the_entity_extra() -> None:
    xml = """<КоммерческаяИнформация ВерсияСхемы="2.08">
    <Классификатор><Ид>c</Ид><Владелец><Ид>o</Ид><РасчетныеСчета><РасчетныйСчет><НомерСчета>40702810900000000001</НомерСчета>
      <Банк><Наименование>Банк</Наименование><БИК>044525225</БИК><Рейтинг>AAA</Рейтинг></Банк>
      <БанкКорреспондент><Наименование>Корр</Наименование></БанкКорреспондент></РасчетныйСчет></РасчетныеСчета></Владелец></Классификатор>
    <Каталог><Товары><Товар><Ид>p</Ид><Наименование>P</Наименование>
      <БазоваяЕдиница Код="796" Новое="1">шт<Пересчет><Единица>уп</Единица><Коэффициент>10</Коэффициент><Штрих>1</Штрих></Пересчет></БазоваяЕдиница>
      <Группы><Ид>g</Ид><Комментарий>к</Комментарий></Группы>
      <ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Вес</Наименование><Значение>1</Значение><Единица>кг</Единица></ЗначениеРеквизита></ЗначенияРеквизитов>
      <ЗначенияСвойств><ЗначенияСвойства><Ид>x</Ид><Значение>1</Значение><Порядок>2</Порядок></ЗначенияСвойства></ЗначенияСвойств>
      <Изготовитель><Ид>m</Ид><Страна>RU</Страна></Изготовитель>
    </Товар></Товары></Каталог></КоммерческаяИнформация>""".encode()
    entities, _ = read_every_way(xml)
    product = by_id(entities, Product, "p")
    assert product.extra == (
        ("БазоваяЕдиница/Пересчет/Штрих", "1"),
        ("БазоваяЕдиница/@Новое", "1"),
        ("Группы/Комментарий", "к"),
        ("ЗначенияРеквизитов/ЗначениеРеквизита/Единица", "кг"),
        ("ЗначенияСвойств/ЗначенияСвойства/Порядок", "2"),
        ("Изготовитель/Страна", "RU"),
    )
    owner = of_type(entities, ClassifierInfo)[0].owner
    assert owner is not None and owner.bank_accounts[0].bik == "044525225"
    assert owner.extra == (
        ("РасчетныеСчета/РасчетныйСчет[1]/Банк/Рейтинг", "AAA"),
        ("РасчетныеСчета/РасчетныйСчет[1]/БанкКорреспондент/Наименование", "Корр"),
    )


def test_counterparties_package() -> None:
    xml = """<КоммерческаяИнформация ВерсияСхемы="2.08"><Контрагенты>
      <Контрагент><Ид>k1</Ид><Наименование>ООО Ромашка</Наименование><ОфициальноеНаименование>ООО "Ромашка"</ОфициальноеНаименование>
        <ИНН>7701234567</ИНН><КПП>770101001</КПП><Роль>Покупатель</Роль></Контрагент>
      <Контрагент><Ид>k2</Ид><Наименование>Иванов</Наименование><ПолноеНаименование>Иванов Иван</ПолноеНаименование><ИНН>500100732259</ИНН></Контрагент>
    </Контрагенты></КоммерческаяИнформация>""".encode()
    entities, summary = read_every_way(xml)
    assert summary.role is FileRole.COUNTERPARTIES
    parties = [e for e in entities if type(e).__name__ == "Counterparty"]
    assert [(p.id, p.inn, p.kpp) for p in parties] == [
        ("k1", "7701234567", "770101001"),
        ("k2", "500100732259", None),
    ]


def test_offers_changes_package_is_an_offers_file() -> None:
    xml = """<КоммерческаяИнформация ВерсияСхемы="2.04"><ИзмененияПакетаПредложений СодержитТолькоИзменения="true">
      <Предложения><Предложение><Ид>a</Ид><Наименование>A</Наименование><Количество>3</Количество></Предложение></Предложения>
    </ИзмененияПакетаПредложений></КоммерческаяИнформация>""".encode()
    entities, summary = read_every_way(xml)
    assert summary.role is FileRole.OFFERS and summary.changes_only is True
    assert by_id(entities, Offer, "a").quantity == Decimal(3)
