"""The two file layouts of the catalog generator: classic 2.08 and the 1C-Bitrix 3.1 split package.

Each form has a ``layout`` (which files, in import order), a ``write`` (streams the synthetic
products into the open documents) and ``counts`` (what each file holds). Element order follows the
official 2.08 XSD for the classic form and the real 3.1 exports for the split form.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

from lxml import etree

from commerceml import _synthetic as synth
from commerceml.model import FileRole

CML2: Final = "urn:1C.ru:commerceml_2"
CML3: Final = "urn:1C.ru:commerceml_3"
XS: Final = "http://www.w3.org/2001/XMLSchema"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
CLASSIFIER_VERSION: Final = "AAAAAQAAAAE="

Layout = list[tuple[FileRole, Path]]


class XmlDoc:
    """One output file: the XML declaration as 1C writes it, then an ``xmlfile`` stream.

    ``root``/``open``/``close`` start and end container elements, kept open while records stream;
    ``write`` adds one built record, indented with tabs like 1C's exports. Records are built without
    a namespace: written inside the root, which declares the CommerceML namespace as the default
    one, they are in that namespace (``xmlfile`` would redeclare it on every record otherwise).
    """

    def __init__(self, path: Path, *, encoding: str, bom: bool, created: dt.datetime) -> None:
        self.path = path
        self.encoding = encoding
        self.bom = bom
        self.created = created
        self._file: IO[bytes] | None = None
        self._xf_cm: Any = None
        self._xf: Any = None
        self._stack: list[Any] = []
        self._ns = CML2

    def __enter__(self) -> XmlDoc:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "wb", buffering=1 << 20)  # noqa: SIM115 - closed in __exit__
        declared = "UTF-8" if self.encoding == "utf-8" else "windows-1251"
        if self.encoding == "utf-8" and self.bom:
            self._file.write(b"\xef\xbb\xbf")
        self._file.write(f'<?xml version="1.0" encoding="{declared}"?>\n'.encode("ascii"))
        self._xf_cm = etree.xmlfile(self._file, encoding=self.encoding)
        self._xf = self._xf_cm.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                while self._stack:
                    self.close()
                self._xf_cm.__exit__(None, None, None)
                assert self._file is not None
                self._file.write(b"\n")
        finally:
            if self._file is not None:
                self._file.close()

    def root(self, namespace: str, version: str) -> None:
        self._ns = namespace
        attrib = {"ВерсияСхемы": version, "ДатаФормирования": self.created.strftime("%Y-%m-%dT%H:%M:%S")}
        nsmap = {None: namespace, "xs": XS, "xsi": XSI}
        self._enter(self._xf.element(f"{{{namespace}}}КоммерческаяИнформация", attrib, nsmap=nsmap))

    def open(self, tag: str, **attrib: str) -> None:
        self._xf.write("\n" + "\t" * len(self._stack))
        self._enter(self._xf.element(f"{{{self._ns}}}{tag}", attrib))

    def close(self) -> None:
        cm = self._stack.pop()
        if self._stack:
            self._xf.write("\n" + "\t" * len(self._stack))
        else:
            self._xf.write("\n")
        cm.__exit__(None, None, None)

    def write(self, *elements: etree._Element) -> None:
        depth = len(self._stack)
        for node in elements:
            etree.indent(node, "\t", level=depth)
            self._xf.write("\n" + "\t" * depth)
            self._xf.write(node)

    def _enter(self, cm: Any) -> None:
        cm.__enter__()
        self._stack.append(cm)


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    """Append a child element (no namespace: it inherits the document's default one).

    An empty or absent text gives an empty element (``<Штрихкод/>``), as 1C writes it.
    """
    child = etree.SubElement(parent, tag, attrib)
    if text:
        child.text = text
    return child


def el(tag: str, text: str | None = None) -> etree._Element:
    node = etree.Element(tag)
    if text:
        node.text = text
    return node


def money(value: Decimal) -> str:
    """``1719`` or ``1719.50``: 1C writes integers without a fraction, never an exponent."""
    return str(value.quantize(Decimal(1))) if value == value.to_integral() else str(value)


def presentation(value: Decimal, currency: str, unit: str) -> str:
    shown = f"{value:,.0f}" if value == value.to_integral() else f"{value:,.2f}"
    return f"{shown.replace(',', ' ')} {currency}. за {unit}"


# --- shared pieces ---------------------------------------------------------------------------


def owner(world: synth.World) -> etree._Element:
    node = el("Владелец")
    sub(node, "Ид", world.owner_id)
    sub(node, "Наименование", world.owner_name)
    sub(node, "ОфициальноеНаименование", world.owner_official_name)
    sub(node, "ИНН", world.owner_inn)
    sub(node, "КПП", world.owner_kpp)
    return node


def _identify(node: etree._Element, ident: str, *, versioned: bool) -> None:
    """``Ид``, then (3.1) the ``НомерВерсии`` and ``ПометкаУдаления`` every classifier entity carries."""
    sub(node, "Ид", ident)
    if versioned:
        sub(node, "НомерВерсии", CLASSIFIER_VERSION)
        sub(node, "ПометкаУдаления", "false")


def groups(world: synth.World, *, versioned: bool) -> etree._Element:
    """``Группы`` with the nesting of ``world.groups`` (parents come first)."""
    top = el("Группы")
    nodes: list[etree._Element] = []
    lists: dict[int, etree._Element] = {}
    for group in world.groups:
        if group.parent is None:
            container = top
        elif group.parent in lists:
            container = lists[group.parent]
        else:
            container = lists[group.parent] = sub(nodes[group.parent], "Группы")
        node = sub(container, "Группа")
        _identify(node, group.id, versioned=versioned)
        sub(node, "Наименование", group.name)
        nodes.append(node)
    return top


def properties(world: synth.World, *, versioned: bool) -> etree._Element:
    top = el("Свойства")
    for prop in world.properties:
        node = sub(top, "Свойство")
        _identify(node, prop.id, versioned=versioned)
        sub(node, "Наименование", prop.name)
        sub(node, "ТипЗначений", prop.value_type)
        if prop.variants:
            variants = sub(node, "ВариантыЗначений")
            for variant_id, value in prop.variants:
                ref = sub(variants, "Справочник")
                sub(ref, "ИдЗначения", variant_id)
                sub(ref, "Значение", value)
        sub(node, "ДляТоваров", "true")
    return top


def price_types(world: synth.World, *, versioned: bool) -> etree._Element:
    top = el("ТипыЦен")
    for price_type in world.price_types:
        node = sub(top, "ТипЦены")
        _identify(node, price_type.id, versioned=versioned)
        sub(node, "Наименование", price_type.name)
        sub(node, "Валюта", price_type.currency)
        tax = sub(node, "Налог")
        sub(tax, "Наименование", "НДС")
        sub(tax, "УчтеноВСумме", "true")
    return top


def warehouses(world: synth.World, *, versioned: bool) -> etree._Element:
    top = el("Склады")
    for warehouse in world.warehouses:
        node = sub(top, "Склад")
        _identify(node, warehouse.id, versioned=versioned)
        sub(node, "Наименование", warehouse.name)
        address = sub(node, "Адрес")
        sub(address, "Представление", warehouse.address)
        part = sub(address, "АдресноеПоле")
        sub(part, "Тип", "Город")
        sub(part, "Значение", warehouse.city)
    return top


def units(world: synth.World) -> etree._Element:
    top = el("ЕдиницыИзмерения")
    for unit in world.units:
        node = sub(top, "ЕдиницаИзмерения")
        sub(node, "Ид", unit.code)
        sub(node, "НомерВерсии", CLASSIFIER_VERSION)
        sub(node, "ПометкаУдаления", "false")
        sub(node, "НаименованиеКраткое", unit.short)
        sub(node, "Код", unit.code)
        sub(node, "НаименованиеПолное", unit.full)
        sub(node, "МеждународноеСокращение", unit.international)
    return top


def product_body(node: etree._Element, product: synth.SynthProduct, *, classic: bool) -> None:
    """The part of ``Товар`` from ``Группы`` on (after the identification and the base unit)."""
    if product.group_id:
        sub(sub(node, "Группы"), "Ид", product.group_id)
    sub(node, "Описание", product.description)
    for image in product.images:
        sub(node, "Картинка", image)
    if not classic:
        sub(node, "Страна", "Россия")
    if product.property_values:
        values = sub(node, "ЗначенияСвойств")
        for property_id, value in product.property_values:
            item = sub(values, "ЗначенияСвойства")
            sub(item, "Ид", property_id)
            sub(item, "Значение", value)
    rate = sub(sub(node, "СтавкиНалогов"), "СтавкаНалога")
    sub(rate, "Наименование", "НДС")
    sub(rate, "Ставка", product.vat)
    requisites = sub(node, "ЗначенияРеквизитов")
    for name, value in (
        ("ВидНоменклатуры", product.kind),
        ("ТипНоменклатуры", "Товар"),
        ("Полное наименование", product.name),
    ):
        requisite = sub(requisites, "ЗначениеРеквизита")
        sub(requisite, "Наименование", name)
        sub(requisite, "Значение", value)
    if not classic:
        sub(node, "Вес", money(product.weight))


def identification(node: etree._Element, item_id: str, barcode: str, article: str, name: str) -> None:
    sub(node, "Ид", item_id)
    if barcode:
        sub(node, "Штрихкод", barcode)
    if article:
        sub(node, "Артикул", article)
    sub(node, "Наименование", name)


def characteristics(node: etree._Element, offer: synth.SynthOffer) -> None:
    if offer.characteristics:
        chars = sub(node, "ХарактеристикиТовара")
        for name, value in offer.characteristics:
            char = sub(chars, "ХарактеристикаТовара")
            sub(char, "Наименование", name)
            sub(char, "Значение", value)


def prices(
    node: etree._Element,
    world: synth.World,
    product: synth.SynthProduct,
    offer: synth.SynthOffer,
    *,
    classic: bool,
) -> None:
    container = sub(node, "Цены")
    for price_type, value in zip(world.price_types, offer.prices, strict=True):
        price = sub(container, "Цена")
        sub(price, "Представление", presentation(value, price_type.currency, product.unit.short))
        sub(price, "ИдТипаЦены", price_type.id)
        sub(price, "ЦенаЗаЕдиницу", money(value))
        sub(price, "Валюта", price_type.currency)
        if classic:
            sub(price, "Коэффициент", "1")
        else:
            tax = sub(price, "Налог")
            sub(tax, "Наименование", "НДС")
            sub(tax, "УчтеноВСумме", "true")


def offers_header(doc: XmlDoc, world: synth.World) -> None:
    doc.open("ПакетПредложений", СодержитТолькоИзменения="false")
    doc.write(
        el("Ид", world.catalog_id + "#"),
        el("Наименование", "Пакет предложений (Основной каталог товаров)"),
        el("ИдКаталога", world.catalog_id),
        el("ИдКлассификатора", world.catalog_id),
        owner(world),
    )


# --- classic 2.08: import.xml + offers.xml ---------------------------------------------------


def classic_layout(out: Path, rng: random.Random) -> Layout:
    del rng
    return [(FileRole.GOODS, out / "import.xml"), (FileRole.OFFERS, out / "offers.xml")]


def write_classic(
    docs: Mapping[FileRole, XmlDoc], world: synth.World, products: Iterable[synth.SynthProduct]
) -> None:
    goods, offers = docs[FileRole.GOODS], docs[FileRole.OFFERS]
    goods.root(CML2, "2.08")
    goods.open("Классификатор")
    goods.write(el("Ид", world.catalog_id), el("Наименование", "Классификатор (Основной каталог товаров)"))
    goods.write(owner(world), groups(world, versioned=False))
    if world.properties:
        goods.write(properties(world, versioned=False))
    goods.close()
    goods.open("Каталог", СодержитТолькоИзменения="false")
    goods.write(
        el("Ид", world.catalog_id),
        el("ИдКлассификатора", world.catalog_id),
        el("Наименование", "Основной каталог товаров"),
        owner(world),
    )
    goods.open("Товары")
    offers.root(CML2, "2.08")
    offers_header(offers, world)
    offers.write(price_types(world, versioned=False))
    if world.warehouses:
        offers.write(warehouses(world, versioned=False))
    offers.open("Предложения")
    for product in products:
        goods.write(classic_product(product))
        for offer in product.offers:
            offers.write(classic_offer(world, product, offer))


def base_unit_2x(node: etree._Element, unit: synth.SynthUnit, *, international: bool = True) -> None:
    attrib = {"Код": unit.code, "НаименованиеПолное": unit.full}
    if international:
        attrib["МеждународноеСокращение"] = unit.international
    sub(node, "БазоваяЕдиница", unit.short, **attrib)


def classic_product(product: synth.SynthProduct) -> etree._Element:
    node = el("Товар")
    identification(node, product.id, product.barcode, product.article, product.name)
    base_unit_2x(node, product.unit)
    product_body(node, product, classic=True)
    return node


def classic_offer(world: synth.World, product: synth.SynthProduct, offer: synth.SynthOffer) -> etree._Element:
    node = el("Предложение")
    barcode = "" if offer.characteristics else product.barcode
    identification(node, offer.id, barcode, product.article, offer.name)
    base_unit_2x(node, product.unit, international=False)
    characteristics(node, offer)
    prices(node, world, product, offer, classic=True)
    sub(node, "Количество", str(sum(offer.stock)))
    for warehouse, quantity in zip(world.warehouses, offer.stock, strict=True):
        sub(node, "Склад", ИдСклада=warehouse.id, КоличествоНаСкладе=str(quantity))
    return node


# --- 3.1 split package ---------------------------------------------------------------------


def split31_layout(out: Path, rng: random.Random) -> Layout:
    def name(kind: str) -> str:
        return f"{kind}___{synth.guid(rng)}.xml"

    goods = out / "goods" / "1"
    return [
        (FileRole.CLASSIFIER, out / name("import")),
        (FileRole.GOODS, goods / name("import")),
        (FileRole.OFFERS, goods / name("offers")),
        (FileRole.PRICES, goods / name("prices")),
        (FileRole.RESTS, goods / name("rests")),
    ]


def write_split31(
    docs: Mapping[FileRole, XmlDoc], world: synth.World, products: Iterable[synth.SynthProduct]
) -> None:
    classifier = docs[FileRole.CLASSIFIER]
    classifier.root(CML3, "3.1")
    classifier.open("Классификатор", СодержитТолькоИзменения="false")
    classifier.write(
        el("Ид", world.catalog_id), el("Наименование", "Классификатор (Основной каталог товаров)")
    )
    classifier.write(owner(world), groups(world, versioned=True))
    if world.properties:
        classifier.write(properties(world, versioned=True))
    classifier.write(price_types(world, versioned=True))
    if world.warehouses:
        classifier.write(warehouses(world, versioned=True))
    classifier.write(units(world))
    classifier.close()

    goods = docs[FileRole.GOODS]
    goods.root(CML3, "3.1")
    goods.open("Каталог", СодержитТолькоИзменения="false")
    goods.write(
        el("Ид", world.catalog_id),
        el("ИдКлассификатора", world.catalog_id),
        el("Наименование", "Основной каталог товаров"),
        owner(world),
    )
    goods.open("Товары")
    packages = [docs[FileRole.OFFERS], docs[FileRole.PRICES], docs[FileRole.RESTS]]
    for doc in packages:
        doc.root(CML3, "3.1")
        offers_header(doc, world)
        doc.open("Предложения")
    offers, prices_doc, rests = packages
    for product in products:
        goods.write(split31_product(product))
        for offer in product.offers:
            offers.write(split31_offer(product, offer))
            price_node = el("Предложение")
            sub(price_node, "Ид", offer.id)
            prices(price_node, world, product, offer, classic=False)
            prices_doc.write(price_node)
            rests.write(split31_rest(world, offer))


def split31_product(product: synth.SynthProduct) -> etree._Element:
    node = el("Товар")
    sub(node, "Ид", product.id)
    sub(node, "НомерВерсии", product.version)
    sub(node, "ПометкаУдаления", "false")
    sub(node, "Штрихкод", product.barcode or None)
    sub(node, "Артикул", product.article or None)
    sub(node, "Наименование", product.name)
    sub(node, "БазоваяЕдиница", product.unit.code)
    product_body(node, product, classic=False)
    return node


def split31_offer(product: synth.SynthProduct, offer: synth.SynthOffer) -> etree._Element:
    node = el("Предложение")
    sub(node, "Ид", offer.id)
    sub(node, "НомерВерсии", offer.version)
    sub(node, "ПометкаУдаления", "false")
    if product.barcode and not offer.characteristics:
        sub(node, "Штрихкод", product.barcode)
    if product.article:
        sub(node, "Артикул", product.article)
    sub(node, "Наименование", offer.name)
    sub(node, "БазоваяЕдиница", product.unit.code)
    characteristics(node, offer)
    return node


def split31_rest(world: synth.World, offer: synth.SynthOffer) -> etree._Element:
    node = el("Предложение")
    sub(node, "Ид", offer.id)
    rest = sub(sub(node, "Остатки"), "Остаток")
    if not world.warehouses:
        sub(rest, "Количество", "0")
    for warehouse, quantity in zip(world.warehouses, offer.stock, strict=True):
        place = sub(rest, "Склад")
        sub(place, "Ид", warehouse.id)
        sub(place, "Количество", str(quantity))
    return node


# --- counts ------------------------------------------------------------------------------------


def counts(classic: bool, role: FileRole, world: synth.World, products: int, offers: int) -> dict[str, int]:
    """What the file of ``role`` holds, keyed like :class:`commerceml.generator.FileCounts`."""
    n_groups, n_props = len(world.groups), len(world.properties)
    n_types, n_wh = len(world.price_types), len(world.warehouses)
    if classic and role is FileRole.GOODS:
        return {"groups": n_groups, "properties": n_props, "products": products}
    if classic and role is FileRole.OFFERS:
        return {
            "price_types": n_types,
            "warehouses": n_wh,
            "offers": offers,
            "prices": offers * n_types,
            "stock_rows": offers * n_wh,
        }
    table: dict[FileRole, dict[str, int]] = {
        FileRole.CLASSIFIER: {
            "groups": n_groups,
            "properties": n_props,
            "price_types": n_types,
            "warehouses": n_wh,
            "units": len(world.units),
        },
        FileRole.GOODS: {"products": products},
        FileRole.OFFERS: {"offers": offers},
        FileRole.PRICES: {"offers": offers, "prices": offers * n_types},
        FileRole.RESTS: {"offers": offers, "stock_rows": offers * n_wh},
    }
    return table[role]
