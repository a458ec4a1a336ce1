"""Converters of the small structures shared by entities: requisites, taxes, units, characteristics."""

from __future__ import annotations

from typing import Any

from commerceml._convert.base import LOCAL, Element, Spill, dec, flag, flatten, keep_extra
from commerceml.model import (
    Characteristic,
    Discount,
    PropertyValue,
    Requisite,
    Tax,
    TaxRate,
    TaxSum,
    Unit,
    UnitRecalculation,
)


def requisites(el: Element, spill: Spill = None, prefix: str = "ЗначенияРеквизитов") -> tuple[Requisite, ...]:
    """``ЗначенияРеквизитов``: name + one or more ``Значение`` (some configurations send several)."""
    result: list[Requisite] = []
    for item in el:
        if LOCAL[item.tag] != "ЗначениеРеквизита":
            keep_extra(item, prefix, spill)
            continue
        name = ""
        values: list[str] = []
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Наименование":
                name = (child.text or "").strip()
            elif tag == "Значение":
                values.append((child.text or "").strip())
            else:
                keep_extra(child, f"{prefix}/ЗначениеРеквизита", spill)
        result.append(Requisite(name, tuple(values)))
    return tuple(result)


def property_values(
    el: Element, spill: Spill = None, prefix: str = "ЗначенияСвойств"
) -> tuple[PropertyValue, ...]:
    result: list[PropertyValue] = []
    for item in el:
        if LOCAL[item.tag] not in ("ЗначенияСвойства", "ЗначениеСвойства"):
            keep_extra(item, prefix, spill)
            continue
        pid = ""
        name: str | None = None
        values: list[str] = []
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Ид":
                pid = (child.text or "").strip()
            elif tag == "Значение" or tag == "ИдЗначения":
                values.append((child.text or "").strip())
            elif tag == "Наименование":
                name = (child.text or "").strip() or None
            else:
                keep_extra(child, f"{prefix}/{LOCAL[item.tag]}", spill)
        result.append(PropertyValue(pid, tuple(values), name))
    return tuple(result)


def tax_rates(el: Element, spill: Spill = None, prefix: str = "СтавкиНалогов") -> tuple[TaxRate, ...]:
    result: list[TaxRate] = []
    for item in el:
        if LOCAL[item.tag] != "СтавкаНалога":
            keep_extra(item, prefix, spill)
            continue
        name = rate = ""
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Наименование":
                name = (child.text or "").strip()
            elif tag == "Ставка":
                rate = (child.text or "").strip()
            else:
                keep_extra(child, f"{prefix}/СтавкаНалога", spill)
        result.append(TaxRate(name, rate))
    return tuple(result)


def tax(el: Element, path: str, spill: Spill = None, prefix: str = "Налог") -> Tax:
    name = ""
    included = excise = None
    for child in el:
        tag = LOCAL[child.tag]
        if tag == "Наименование":
            name = (child.text or "").strip()
        elif tag == "УчтеноВСумме":
            included = flag(child, path)
        elif tag == "Акциз":
            excise = flag(child, path)
        else:
            keep_extra(child, prefix, spill)
    return Tax(name, included, excise)


def tax_sums(el: Element, path: str, spill: Spill = None, prefix: str = "Налоги") -> tuple[TaxSum, ...]:
    result: list[TaxSum] = []
    for item in el:
        if LOCAL[item.tag] != "Налог":
            keep_extra(item, prefix, spill)
            continue
        name = ""
        included = None
        amount = None
        rate = None
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Наименование":
                name = (child.text or "").strip()
            elif tag == "УчтеноВСумме":
                included = flag(child, f"{path}/Налог")
            elif tag == "Сумма":
                amount = dec(child, f"{path}/Налог")
            elif tag == "Ставка":
                rate = (child.text or "").strip() or None
            else:
                keep_extra(child, f"{prefix}/Налог", spill)
        result.append(TaxSum(name, included, amount, rate))
    return tuple(result)


def discounts(el: Element, path: str, spill: Spill = None, prefix: str = "Скидки") -> tuple[Discount, ...]:
    result: list[Discount] = []
    for item in el:
        if LOCAL[item.tag] != "Скидка":
            keep_extra(item, prefix, spill)
            continue
        name = None
        amount = percent = None
        included = None
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Наименование":
                name = (child.text or "").strip() or None
            elif tag == "Сумма":
                amount = dec(child, f"{path}/Скидка")
            elif tag == "Процент":
                percent = dec(child, f"{path}/Скидка")
            elif tag == "УчтеноВСумме":
                included = flag(child, f"{path}/Скидка")
            else:
                keep_extra(child, f"{prefix}/Скидка", spill)
        result.append(Discount(name, amount, percent, included))
    return tuple(result)


def characteristics(
    el: Element, spill: Spill = None, prefix: str = "ХарактеристикиТовара"
) -> tuple[Characteristic, ...]:
    result: list[Characteristic] = []
    for item in el:
        if LOCAL[item.tag] != "ХарактеристикаТовара":
            keep_extra(item, prefix, spill)
            continue
        name = value = ""
        cid = None
        for child in item:
            tag = LOCAL[child.tag]
            if tag == "Наименование":
                name = (child.text or "").strip()
            elif tag == "Значение":
                value = (child.text or "").strip()
            elif tag == "Ид":
                cid = (child.text or "").strip() or None
            else:
                keep_extra(child, f"{prefix}/ХарактеристикаТовара", spill)
        result.append(Characteristic(name, value, cid))
    return tuple(result)


_UNIT_ATTRIBUTES = frozenset({"Код", "НаименованиеПолное", "МеждународноеСокращение"})


def base_unit(el: Element, path: str, spill: Spill = None, prefix: str = "БазоваяЕдиница") -> Unit:
    """``БазоваяЕдиница``: 2.0x attributes + text, or 3.1 text reference, plus ``Пересчет``."""
    recalculations: list[UnitRecalculation] = []
    for child in el if len(el) else ():
        if LOCAL[child.tag] == "Пересчет":
            unit = ""
            ratio = None
            for part in child:
                tag = LOCAL[part.tag]
                if tag == "Единица":
                    unit = (part.text or "").strip()
                elif tag == "Коэффициент":
                    ratio = dec(part, f"{path}/БазоваяЕдиница/Пересчет")
                else:
                    keep_extra(part, f"{prefix}/Пересчет", spill)
            recalculations.append(UnitRecalculation(unit, ratio))
        else:
            keep_extra(child, prefix, spill)
    get = el.get
    code = get("Код")
    full_name = get("НаименованиеПолное")
    international = get("МеждународноеСокращение")
    name = (el.text or "").strip() or None
    if code is not None:
        code = code.strip() or None
    if full_name is not None:
        full_name = full_name.strip() or None
    if international is not None:
        international = international.strip() or None
    if spill is not None and len(el.attrib) > (code is not None) + (full_name is not None) + (
        international is not None
    ):
        for key, value in el.attrib.items():
            if LOCAL[key] not in _UNIT_ATTRIBUTES:
                spill.append((f"{prefix}/@{LOCAL[key]}", value.strip()))
    if code is None and full_name is None and international is None and name is not None:
        # 3.1: the text is a reference into Классификатор/ЕдиницыИзмерения (protocol.md §6.2).
        return Unit(ref=name, recalculations=tuple(recalculations))
    return Unit(
        code=code,
        name=name,
        full_name=full_name,
        international=international,
        recalculations=tuple(recalculations),
    )


_UNIT_FIELDS = {
    "Код": "code",
    "НаименованиеКраткое": "name",
    "НаименованиеПолное": "full_name",
    "МеждународноеСокращение": "international",
    "Ид": "id",
    "НомерВерсии": "version",
}


def unit_element(el: Element, path: str, spill: Spill = None, prefix: str = "Единица") -> Unit:
    """``ЕдиницаИзмерения`` of the classifier, or an order line's ``Единица``: element form."""
    values: dict[str, Any] = {}
    extra: list[tuple[str, str]] = [] if spill is None else spill
    for child in el:
        tag = LOCAL[child.tag]
        field_name = _UNIT_FIELDS.get(tag)
        if field_name is not None:
            values[field_name] = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            values["deleted"] = bool(flag(child, path))
        elif isinstance(child.tag, str):
            flatten(child, tag if spill is None else f"{prefix}/{tag}", extra)
    if spill is None:
        values["extra"] = tuple(extra)
    return Unit(**values)
