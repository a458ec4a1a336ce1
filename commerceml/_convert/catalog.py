"""Converters of the classifier and the catalog: groups, properties, price types, warehouses, goods."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from commerceml import _values
from commerceml._convert.base import (
    LOCAL,
    Element,
    Spill,
    attr,
    dec,
    extra_attrs,
    flag,
    flatten,
    ids,
    keep_extra,
    read_value,
    require,
)
from commerceml._convert.parties import address, contacts, counterparty
from commerceml._convert.parts import base_unit, characteristics, property_values, requisites, tax, tax_rates
from commerceml.model import (
    CatalogInfo,
    Characteristic,
    ClassifierInfo,
    Extra,
    Group,
    Manufacturer,
    OfferPackageInfo,
    PriceType,
    Product,
    Property,
    PropertyValue,
    Requisite,
    Tax,
    TaxRate,
    Unit,
    ValueVariant,
    Warehouse,
)


def group_tree(
    el: Element, path: str, parent_id: str | None, out: list[Group], stray: list[tuple[str, int | None]]
) -> None:
    """Flatten ``Группы`` (recursive) into ``out`` in pre-order: every parent before its children.

    Elements other than ``Группа`` in a list are reported in ``stray`` (path, line).
    """
    index = 0
    for item in el:
        if LOCAL[item.tag] != "Группа":
            if isinstance(item.tag, str):
                stray.append((f"{path}/{LOCAL[item.tag]}", item.sourceline))
            continue
        index += 1
        here = f"{path}/Группа[{index}]"
        gid = name = ""
        description = version = None
        deleted = False
        nested: list[Element] = []
        extra: list[tuple[str, str]] = []
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Ид":
                gid = (child.text or "").strip()
            elif tag == "Наименование":
                name = (child.text or "").strip()
            elif tag == "Описание":
                description = (child.text or "").strip() or None
            elif tag == "НомерВерсии":
                version = (child.text or "").strip() or None
            elif tag == "ПометкаУдаления":
                deleted = bool(flag(child, here))
            elif tag == "Группы":
                nested.append(child)
            elif isinstance(child.tag, str):
                flatten(child, tag, extra)
        gid = require(gid, item, here, "Группа")
        out.append(Group(gid, name, parent_id, description, version, deleted, tuple(extra)))
        for sub in nested:
            group_tree(sub, f"{here}/Группы", gid, out, stray)


def property_def(el: Element, path: str) -> Property:
    values: dict[str, Any] = {}
    variants: list[ValueVariant] = []
    extra: list[tuple[str, str]] = []
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            values["id"] = (child.text or "").strip()
        elif tag == "Наименование":
            values["name"] = (child.text or "").strip()
        elif tag == "ТипЗначений":
            values["value_type"] = (child.text or "").strip() or None
        elif tag == "Обязательное":
            values["required"] = flag(child, path)
        elif tag == "Множественное":
            values["multiple"] = flag(child, path)
        elif tag == "ДляТоваров":
            values["for_products"] = flag(child, path)
        elif tag == "ДляПредложений":
            values["for_offers"] = flag(child, path)
        elif tag == "ДляДокументов":
            values["for_documents"] = flag(child, path)
        elif tag == "НомерВерсии":
            values["version"] = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            values["deleted"] = bool(flag(child, path))
        elif tag == "ВариантыЗначений":
            for variant in child:
                vtag = LOCAL[variant.tag]
                if vtag == "Справочник":
                    vid = value = ""
                    for part in variant:
                        ptag = LOCAL[part.tag]
                        if ptag == "ИдЗначения":
                            vid = (part.text or "").strip()
                        elif ptag == "Значение":
                            value = (part.text or "").strip()
                        else:
                            keep_extra(part, "ВариантыЗначений/Справочник", extra)
                    variants.append(ValueVariant(vid, value))
                elif vtag == "Значение":
                    # Older form: a bare list of allowed literal values.
                    variants.append(ValueVariant("", (variant.text or "").strip()))
                else:
                    keep_extra(variant, "ВариантыЗначений", extra)
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    pid = require(values.pop("id", ""), el, path, "Свойство")
    name = values.pop("name", "")
    return Property(pid, name, **values, variants=tuple(variants), extra=tuple(extra))


def price_type(el: Element, path: str) -> PriceType:
    pid = name = ""
    currency = version = None
    tax_: Tax | None = None
    deleted = False
    extra: list[tuple[str, str]] = []
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            pid = (child.text or "").strip()
        elif tag == "Наименование":
            name = (child.text or "").strip()
        elif tag == "Валюта":
            currency = (child.text or "").strip() or None
        elif tag == "Налог":
            tax_ = tax(child, f"{path}/Налог", extra)
        elif tag == "НомерВерсии":
            version = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            deleted = bool(flag(child, path))
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    return PriceType(require(pid, el, path, "ТипЦены"), name, currency, tax_, version, deleted, tuple(extra))


def warehouse(el: Element, path: str) -> Warehouse:
    wid = ""
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            wid = (child.text or "").strip()
        elif tag == "Наименование":
            values["name"] = (child.text or "").strip() or None
        elif tag == "Комментарий":
            values["comment"] = (child.text or "").strip() or None
        elif tag == "Адрес":
            values["address"] = address(child, extra)
        elif tag == "Контакты":
            values["contacts"] = contacts(child, extra)
        elif tag == "НомерВерсии":
            values["version"] = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            values["deleted"] = bool(flag(child, path))
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    return Warehouse(require(wid, el, path, "Склад"), **values, extra=tuple(extra))


_HEADER_LISTS = frozenset(
    {"Группы", "Свойства", "ТипыЦен", "Склады", "ЕдиницыИзмерения", "Товары", "Предложения"}
)


def _header(el: Element, path: str) -> tuple[dict[str, Any], Extra]:
    """Common header fields of Классификатор / Каталог / ПакетПредложений (their lists removed)."""
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    changes = attr(el, "СодержитТолькоИзменения")
    if changes is not None:
        values["changes_only"] = read_value(
            _values.parse_bool, changes, el, f"{path}/@СодержитТолькоИзменения"
        )
    extra_attrs(el, frozenset({"СодержитТолькоИзменения", "Ид"}), extra)
    if attr(el, "Ид") is not None:
        values["id"] = attr(el, "Ид")
    for child in el:
        tag = LOCAL[child.tag]
        if tag in _HEADER_LISTS or not isinstance(child.tag, str):
            continue
        if tag == "Ид":
            values["id"] = (child.text or "").strip() or None
        elif tag == "Наименование":
            values["name"] = (child.text or "").strip() or None
        elif tag == "ИдКлассификатора":
            values["classifier_id"] = (child.text or "").strip() or None
        elif tag == "ИдКаталога":
            values["catalog_id"] = (child.text or "").strip() or None
        elif tag == "Описание":
            values["description"] = (child.text or "").strip() or None
        elif tag == "Владелец":
            values["owner"] = counterparty(child, f"{path}/Владелец")
        elif tag == "СодержитТолькоИзменения":
            values["changes_only"] = flag(child, path)
        elif tag == "НомерВерсии":
            values["version"] = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            values["deleted"] = bool(flag(child, path))
        else:
            flatten(child, tag, extra)
    return values, tuple(extra)


def classifier_info(el: Element, path: str) -> ClassifierInfo:
    values, extra = _header(el, path)
    if "classifier_id" in values:
        extra = (("ИдКлассификатора", values.pop("classifier_id") or ""),) + extra
    values.pop("catalog_id", None)
    values.pop("description", None)
    return ClassifierInfo(id=values.pop("id", None), name=values.pop("name", None), **values, extra=extra)


def catalog_info(el: Element, path: str) -> CatalogInfo:
    values, extra = _header(el, path)
    for key in ("catalog_id", "version", "deleted"):
        if key in values:
            extra = extra + ((key, str(values.pop(key))),)
    return CatalogInfo(
        id=values.pop("id", None),
        classifier_id=values.pop("classifier_id", None),
        name=values.pop("name", None),
        **values,
        extra=extra,
    )


def offer_package_info(el: Element, path: str) -> OfferPackageInfo:
    values, extra = _header(el, path)
    for key in ("description", "version", "deleted"):
        if key in values:
            extra = extra + ((key, str(values.pop(key))),)
    return OfferPackageInfo(id=values.pop("id", None), name=values.pop("name", None), **values, extra=extra)


# --- goods ----------------------------------------------------------------------------------


_DIMENSIONS = {"Вес": "weight", "Длина": "length", "Ширина": "width", "Высота": "height"}


def product(el: Element, path: str) -> Product:
    pid = name = ""
    version = barcode = article = description = country = None
    unit: Unit | None = None
    maker: Manufacturer | None = None
    props: tuple[PropertyValue, ...] = ()
    rates: tuple[TaxRate, ...] = ()
    reqs: tuple[Requisite, ...] = ()
    chars: tuple[Characteristic, ...] = ()
    dimensions: dict[str, Decimal | None] = {}
    groups: list[str] = []
    images: list[str] = []
    extra: list[tuple[str, str]] = []
    status = None
    if el.keys():
        status = attr(el, "Статус")
        extra_attrs(el, frozenset({"Статус"}), extra)
    deleted = False
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            pid = (child.text or "").strip()
        elif tag == "Наименование":
            name = (child.text or "").strip()
        elif tag == "Артикул":
            article = (child.text or "").strip() or None
        elif tag == "БазоваяЕдиница":
            unit = base_unit(child, path, extra)
        elif tag == "Группы":
            groups.extend(ids(child, extra, tag))
        elif tag == "Описание":
            description = (child.text or "").strip() or None
        elif tag == "Картинка":
            if image := (child.text or "").strip():
                images.append(image)
        elif tag == "ЗначенияСвойств":
            props = property_values(child, extra)
        elif tag == "СтавкиНалогов":
            rates = tax_rates(child, extra)
        elif tag == "ЗначенияРеквизитов":
            reqs = requisites(child, extra)
        elif tag in ("Штрихкод", "ШтрихКод"):
            barcode = (child.text or "").strip() or None
        elif tag == "Картинки":
            images.extend(v for c in child if (v := (c.text or "").strip()))
        elif tag == "ХарактеристикиТовара":
            chars = characteristics(child, extra)
        elif tag == "НомерВерсии":
            version = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            deleted = deleted or bool(flag(child, path))
        elif tag == "Статус":
            status = (child.text or "").strip() or None
        elif tag == "Страна":
            country = (child.text or "").strip() or None
        elif tag == "Изготовитель":
            maker = manufacturer(child, extra)
        elif tag in _DIMENSIONS:
            dimensions[_DIMENSIONS[tag]] = dec(child, path)
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    pid = require(pid, el, path, "Товар")
    return Product(
        pid,
        name,
        version=version,
        deleted=deleted or status == "Удален",
        status=status,
        barcode=barcode,
        article=article,
        base_unit=unit,
        group_ids=tuple(groups),
        description=description,
        images=tuple(images),
        country=country,
        manufacturer=maker,
        property_values=props,
        tax_rates=rates,
        requisites=reqs,
        characteristics=chars,
        extra=tuple(extra),
        **dimensions,
    )


def manufacturer(el: Element, spill: Spill = None, prefix: str = "Изготовитель") -> Manufacturer:
    mid = name = official = None
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            mid = (child.text or "").strip() or None
        elif tag == "Наименование":
            name = (child.text or "").strip() or None
        elif tag == "ОфициальноеНаименование":
            official = (child.text or "").strip() or None
        else:
            keep_extra(child, prefix, spill)
    return Manufacturer(mid, name, official)
