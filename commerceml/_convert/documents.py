"""Converters of documents: orders, payments and shipments with their lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from commerceml import _values
from commerceml._convert.base import LOCAL, Element, T, dec, flag, flatten, keep_extra, read_value, require
from commerceml._convert.catalog import warehouse
from commerceml._convert.parties import counterparty
from commerceml._convert.parts import (
    base_unit,
    characteristics,
    discounts,
    requisites,
    tax_rates,
    tax_sums,
    unit_element,
)
from commerceml.model import (
    Counterparty,
    Document,
    OrderLine,
    Warehouse,
)

_LINE_DECIMALS = {
    "ЦенаЗаЕдиницу": "price",
    "Цена": "price",
    "Количество": "quantity",
    "Сумма": "amount",
    "Коэффициент": "ratio",
}


def order_line(el: Element, path: str) -> OrderLine:
    lid = ""
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            lid = (child.text or "").strip()
        elif tag in _LINE_DECIMALS:
            values[_LINE_DECIMALS[tag]] = dec(child, path)
        elif tag == "Наименование":
            values["name"] = (child.text or "").strip() or None
        elif tag == "ИдКаталога":
            values["catalog_id"] = (child.text or "").strip() or None
        elif tag == "Артикул":
            values["article"] = (child.text or "").strip() or None
        elif tag == "БазоваяЕдиница":
            values["unit"] = base_unit(child, path, extra)
        elif tag == "Единица":
            values["unit"] = unit_element(child, f"{path}/Единица", extra)
        elif tag == "Скидки":
            values["discounts"] = discounts(child, f"{path}/Скидки", extra)
        elif tag == "СтавкиНалогов":
            values["tax_rates"] = tax_rates(child, extra)
        elif tag == "Налоги":
            values["taxes"] = tax_sums(child, f"{path}/Налоги", extra)
        elif tag == "ХарактеристикиТовара":
            values["characteristics"] = characteristics(child, extra)
        elif tag == "ЗначенияРеквизитов":
            values["requisites"] = requisites(child, extra)
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    return OrderLine(require(lid, el, path, "Товар документа"), **values, extra=tuple(extra))


def _items(
    el: Element, item: str, convert: Callable[[Element, str], T], path: str, extra: list[tuple[str, str]]
) -> list[T]:
    """The ``item`` children of a document's list, converted with their numbered paths; anything
    else in the list is kept in the document's ``extra``."""
    result: list[T] = []
    for child in el:
        if LOCAL[child.tag] == item:
            result.append(convert(child, f"{path}/{item}[{len(result) + 1}]"))
        else:
            keep_extra(child, LOCAL[el.tag], extra)
    return result


def document(el: Element, path: str, container: int | None) -> Document:
    did = ""
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = []
    parties: list[Counterparty] = []
    lines: list[OrderLine] = []
    stores: list[Warehouse] = []
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Ид":
            did = (child.text or "").strip()
        elif tag == "Номер":
            values["number"] = (child.text or "").strip() or None
        elif tag == "Дата":
            values["date"] = read_value(_values.parse_date, child.text, child, f"{path}/Дата")
        elif tag == "Время":
            values["time"] = read_value(_values.parse_time, child.text, child, f"{path}/Время")
        elif tag == "ХозОперация":
            values["operation"] = (child.text or "").strip() or None
        elif tag == "Роль":
            values["role"] = (child.text or "").strip() or None
        elif tag == "Валюта":
            values["currency"] = (child.text or "").strip() or None
        elif tag == "Курс":
            values["rate"] = dec(child, path)
        elif tag == "Сумма":
            values["amount"] = dec(child, path)
        elif tag == "НомерВерсии":
            values["version"] = (child.text or "").strip() or None
        elif tag == "Номер1С":
            values["number_1c"] = (child.text or "").strip() or None
        elif tag == "Дата1С":
            values["date_1c"] = read_value(_values.parse_date, child.text, child, f"{path}/Дата1С")
        elif tag == "ПометкаУдаления":
            values["deleted"] = flag(child, path)
        elif tag == "Основание":
            values["basis"] = (child.text or "").strip() or None
        elif tag == "Комментарий":
            values["comment"] = (child.text or "").strip() or None
        elif tag == "Контрагенты":
            parties.extend(_items(child, "Контрагент", counterparty, f"{path}/{tag}", extra))
        elif tag == "Налоги":
            values["taxes"] = tax_sums(child, f"{path}/Налоги", extra)
        elif tag == "Скидки":
            values["discounts"] = discounts(child, f"{path}/Скидки", extra)
        elif tag == "Склады":
            stores.extend(_items(child, "Склад", warehouse, f"{path}/{tag}", extra))
        elif tag == "Товары":
            lines.extend(_items(child, "Товар", order_line, f"{path}/{tag}", extra))
        elif tag == "ЗначенияРеквизитов":
            values["requisites"] = requisites(child, extra)
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    return Document(
        require(did, el, path, "Документ"),
        **values,
        counterparties=tuple(parties),
        warehouses=tuple(stores),
        lines=tuple(lines),
        container=container,
        extra=tuple(extra),
    )
