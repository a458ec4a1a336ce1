"""Converters of the offers package: offers with prices and stock in every form."""

from __future__ import annotations

from decimal import Decimal

from commerceml import _values
from commerceml._convert.base import (
    LOCAL,
    PLAIN_NUMBER_MATCH,
    Element,
    Spill,
    attr,
    dec,
    extra_attrs,
    flag,
    flatten,
    keep_extra,
    read_value,
    require,
)
from commerceml._convert.parts import base_unit, characteristics, property_values, requisites, tax
from commerceml.errors import CommerceMLError, MissingElement
from commerceml.model import (
    Characteristic,
    Offer,
    Price,
    PropertyValue,
    Requisite,
    Stock,
    Tax,
    Unit,
)


def prices(el: Element, path: str) -> tuple[Price, ...]:
    result: list[Price] = []
    index = 0
    try:
        for item in el:
            if LOCAL[item.tag] != "Цена":
                continue
            index += 1
            result.append(_price(item))
    except CommerceMLError as exc:
        # Paths inside a price are relative ("/ЦенаЗаЕдиницу"); the price's own is built only now.
        exc.path = f"{path}/Цены/Цена[{index}]{exc.path or ''}"
        raise
    return tuple(result)


def _price(item: Element) -> Price:
    type_id = ""
    value = ratio = min_quantity = None
    currency = unit = presentation = None
    tax_: Tax | None = None
    extra: list[tuple[str, str]] = []
    for child in item:
        tag = LOCAL[child.tag]
        if tag == "ИдТипаЦены":
            type_id = (child.text or "").strip()
        elif tag == "ЦенаЗаЕдиницу":
            value = dec(child, "")
        elif tag == "Валюта":
            currency = (child.text or "").strip() or None
        elif tag == "Коэффициент":
            ratio = dec(child, "")
        elif tag == "Представление":
            presentation = (child.text or "").strip() or None
        elif tag == "Единица":
            unit = (child.text or "").strip() or None
        elif tag in ("МинКоличество", "КоличествоОт"):
            min_quantity = dec(child, "")
        elif tag == "Налог":
            tax_ = tax(child, "/Налог", extra, "Цены/Цена/Налог")
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    if not type_id:
        raise MissingElement("Цена has no ИдТипаЦены", line=item.sourceline)
    if value is None:
        raise MissingElement("Цена has no ЦенаЗаЕдиницу", line=item.sourceline)
    return Price(
        type_id,
        value,
        currency=currency,
        unit=unit,
        ratio=ratio,
        presentation=presentation,
        min_quantity=min_quantity,
        tax=tax_,
        extra=tuple(extra),
    )


def _rests(el: Element, path: str, stock: list[Stock], spill: Spill = None) -> Decimal | None:
    """``Остатки/Остаток/{Склад{Ид, Количество} | Количество}``; returns the total when given."""
    total: Decimal | None = None
    for rest in el:
        if LOCAL[rest.tag] != "Остаток":
            keep_extra(rest, "Остатки", spill)
            continue
        for child in rest:
            tag = LOCAL[child.tag]
            if tag == "Склад":
                wid = ""
                qty: Decimal | None = None
                for part in child:
                    ptag = LOCAL[part.tag]
                    if ptag == "Ид":
                        wid = (part.text or "").strip()
                    elif ptag == "Количество":
                        qty = dec(part, f"{path}/Остатки/Остаток/Склад")
                    else:
                        keep_extra(part, "Остатки/Остаток/Склад", spill)
                if not wid:
                    raise MissingElement(
                        "Остаток/Склад has no Ид", line=child.sourceline, path=f"{path}/Остатки/Остаток/Склад"
                    )
                stock.append(Stock(wid, qty if qty is not None else Decimal(0)))
            elif tag == "Количество":
                quantity = dec(child, f"{path}/Остатки/Остаток")
                if quantity is not None:
                    total = quantity if total is None else total + quantity
            else:
                keep_extra(child, "Остатки/Остаток", spill)
    return total


def _stock_attr(el: Element, path: str) -> Stock:
    """``<Склад ИдСклада="..." КоличествоНаСкладе="7"/>`` (2.04+; ``Количество`` also seen)."""
    get = el.get
    wid = (get("ИдСклада") or "").strip()
    raw = get("КоличествоНаСкладе")
    if raw is None:
        raw = get("Количество")
    if not wid:
        raise MissingElement("Склад has no ИдСклада", line=el.sourceline, path=f"{path}/Склад")
    if raw is not None and PLAIN_NUMBER_MATCH(raw.strip()):
        return Stock(wid, Decimal(raw.strip()))
    qty = read_value(_values.parse_decimal, raw, el, f"{path}/Склад/@КоличествоНаСкладе")
    return Stock(wid, qty if qty is not None else Decimal(0))


def _stock_list(el: Element, path: str, stock: list[Stock], spill: Spill = None) -> None:
    """``КоличествоНаСкладах/КоличествоНаСкладе{ИдСклада, Количество}`` (1C-Bitrix vocabulary)."""
    for item in el:
        if LOCAL[item.tag] != "КоличествоНаСкладе":
            keep_extra(item, "КоличествоНаСкладах", spill)
            continue
        wid = ""
        qty: Decimal | None = None
        for child in item:
            tag = LOCAL[child.tag]
            if tag in ("ИдСклада", "Ид"):
                wid = (child.text or "").strip()
            elif tag == "Количество":
                qty = dec(child, f"{path}/КоличествоНаСкладах/КоличествоНаСкладе")
            else:
                keep_extra(child, "КоличествоНаСкладах/КоличествоНаСкладе", spill)
        if not wid:
            raise MissingElement(
                "КоличествоНаСкладе has no ИдСклада",
                line=item.sourceline,
                path=f"{path}/КоличествоНаСкладах",
            )
        stock.append(Stock(wid, qty if qty is not None else Decimal(0)))


def offer(el: Element, path: str) -> Offer:
    oid = ""
    name = version = barcode = article = None
    unit: Unit | None = None
    chars: tuple[Characteristic, ...] = ()
    props: tuple[PropertyValue, ...] = ()
    reqs: tuple[Requisite, ...] = ()
    price_list: tuple[Price, ...] | None = None
    quantity: Decimal | None = None
    stock: list[Stock] | None = None
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
            oid = (child.text or "").strip()
        elif tag == "Цены":
            price_list = prices(child, path)
        elif tag == "Склад":
            if stock is None:
                stock = []
            stock.append(_stock_attr(child, path))
        elif tag == "Количество":
            quantity = dec(child, path)
        elif tag == "Наименование":
            name = (child.text or "").strip() or None
        elif tag == "Артикул":
            article = (child.text or "").strip() or None
        elif tag == "БазоваяЕдиница":
            unit = base_unit(child, path, extra)
        elif tag == "ХарактеристикиТовара":
            chars = characteristics(child, extra)
        elif tag in ("Штрихкод", "ШтрихКод"):
            barcode = (child.text or "").strip() or None
        elif tag == "Остатки":
            if stock is None:
                stock = []
            total = _rests(child, path, stock, extra)
            if total is not None:
                quantity = total
        elif tag == "КоличествоНаСкладах":
            if stock is None:
                stock = []
            _stock_list(child, path, stock, extra)
        elif tag == "ЗначенияСвойств":
            props = property_values(child, extra)
        elif tag == "ЗначенияРеквизитов":
            reqs = requisites(child, extra)
        elif tag == "НомерВерсии":
            version = (child.text or "").strip() or None
        elif tag == "ПометкаУдаления":
            deleted = deleted or bool(flag(child, path))
        elif tag == "Статус":
            status = (child.text or "").strip() or None
        elif tag == "Картинка":
            if image := (child.text or "").strip():
                images.append(image)
        elif isinstance(child.tag, str):
            flatten(child, tag, extra)
    oid = require(oid, el, path, "Предложение")
    if status is not None:
        extra.insert(0, ("Статус", status))
    return Offer(
        oid,
        name=name,
        version=version,
        deleted=deleted or status == "Удален",
        barcode=barcode,
        article=article,
        base_unit=unit,
        characteristics=chars,
        property_values=props,
        prices=price_list,
        quantity=quantity,
        stock=tuple(stock) if stock is not None else None,
        requisites=reqs,
        images=tuple(images),
        extra=tuple(extra),
    )
