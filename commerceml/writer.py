"""Writing the orders document answered to ``type=sale&mode=query``. Streams document by document.

The document is what 1C-Bitrix sends (protocol.md §9.1-§9.5): no namespace, windows-1251 by default
(UTF-8 with a BOM as an option), ``Документ`` children in the order of §9.2, which is the order of
the official XSD plus two 1C-Bitrix additions. Those additions (the root's ``ФорматДаты``/... hints
and the document's ``НомерВерсии``, ``Номер1С``, ``ПометкаУдаления``, ``Основание``) are not in the
official schema; ``bitrix_extensions=False`` leaves them out and the output is then valid against
the official XSD of the version it declares. Order lines, counterparties and the rest follow the
XSD's element order.

Characters rule (documented in docs/commerceml.md): a character the target encoding cannot hold is
written as a numeric character reference (``&#128512;``), which 1C decodes; a character XML 1.0
cannot hold at all (control characters other than tab, newline and carriage return; U+FFFE/U+FFFF;
lone surrogates) is replaced by U+FFFD, so the document always parses and the loss stays visible.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import IO, Any

from lxml import etree

from commerceml.errors import WriteError
from commerceml.model import (
    Address,
    Counterparty,
    Discount,
    Document,
    OrderLine,
    Requisite,
    TaxSum,
    Unit,
    Warehouse,
)
from commerceml.ns import ROOT

__all__ = ["BITRIX_FORMAT_ATTRIBUTES", "xml_safe", "write_orders"]

BITRIX_FORMAT_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("ФорматДаты", "ДФ=yyyy-MM-dd; ДЛФ=DT"),
    ("ФорматВремени", "ДФ=ЧЧ:мм:сс; ДЛФ=T"),
    ("РазделительДатаВремя", "T"),
    ("ФорматСуммы", "ЧЦ=18; ЧДЦ=2; ЧРД=."),
    ("ФорматКоличества", "ЧЦ=18; ЧДЦ=2; ЧРД=."),
)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ENCODINGS = {"windows-1251": "windows-1251", "cp1251": "windows-1251", "utf-8": "UTF-8", "utf8": "UTF-8"}


def xml_safe(value: str) -> str:
    """Replace the characters XML 1.0 cannot hold by U+FFFD (the writer's one rule for them)."""
    return _NOT_XML.sub("\ufffd", value)


def write_orders(
    out: IO[bytes],
    documents: Iterable[Document],
    *,
    schema_version: str = "2.08",
    encoding: str = "windows-1251",
    bom: bool = False,
    created: dt.datetime | None = None,
    bitrix_extensions: bool = True,
) -> int:
    """Write a ``КоммерческаяИнформация`` with one ``Документ`` per document; returns how many.

    Documents are rendered one at a time, so any number streams in constant memory. A 3.x
    ``schema_version`` wraps each order and the documents that follow it with the same
    ``container`` number in one ``Контейнер`` (protocol.md §9.6).

    Args:
        out: a binary stream.
        documents: the orders (and, for 2.10+, their payments and shipments).
        schema_version: the ``ВерсияСхемы`` 1C sent at init.
        encoding: ``windows-1251`` (default, what 1C-Bitrix sends) or ``utf-8``.
        bom: write a UTF-8 byte-order mark (some УТ releases need it with UTF-8).
        created: ``ДатаФормирования``; now by default.
        bitrix_extensions: add the 1C-Bitrix-only attributes and elements (see the module doc).

    Raises:
        WriteError: an unknown encoding, or a document that cannot be written (no ``Ид``).
    """
    codec = _ENCODINGS.get(encoding.lower())
    if codec is None:
        raise WriteError(f"unsupported encoding {encoding!r}: use windows-1251 or utf-8")
    if bom:
        if codec != "UTF-8":
            raise WriteError("a byte-order mark is only written with utf-8")
        out.write(b"\xef\xbb\xbf")
    stamp = (created or dt.datetime.now()).replace(microsecond=0).isoformat()
    attributes: dict[str, str] = {"ВерсияСхемы": schema_version, "ДатаФормирования": stamp}
    if bitrix_extensions:
        attributes.update(BITRIX_FORMAT_ATTRIBUTES)
    version = _version_number(schema_version)
    # Each document is rendered to text and encoded by Python's codec with character references
    # for what the encoding cannot hold: libxml2's own windows-1251 output silently drops some
    # characters (U+E0001 and friends), which hypothesis found; Python's codec never does.
    out.write(f'<?xml version="1.0" encoding="{codec.lower()}"?>\n'.encode("ascii"))
    root = etree.tostring(etree.Element(ROOT, attributes), encoding="unicode")
    out.write(root[: -len("/>")].rstrip().encode(codec, "xmlcharrefreplace") + b">")
    written = 0
    for element in _rendered(documents, version, bitrix_extensions):
        out.write(etree.tostring(element, encoding="unicode").encode(codec, "xmlcharrefreplace"))
        written += 1 if element.tag == "Документ" else len(element)
    out.write(f"</{ROOT}>".encode(codec))
    return written


def _rendered(documents: Iterable[Document], version: float, extensions: bool) -> Iterable[Any]:
    """The root's children: one ``Документ`` each, or (3.x) ``Контейнер`` groups by ``container``."""
    if version < 3:
        for document in documents:
            yield render_document(document, version, extensions)
        return
    current: Any = None
    key: object = object()
    for index, document in enumerate(documents):
        group = document.container if document.container is not None else ("alone", index)
        if current is None or group != key:
            if current is not None:
                yield current
            current = etree.Element("Контейнер")
            key = group
        current.append(render_document(document, version, extensions))
    if current is not None:
        yield current


def _version_number(schema_version: str) -> float:
    try:
        return float(schema_version)
    except ValueError:
        raise WriteError(f"schema version {schema_version!r} is not a number") from None


# --- rendering --------------------------------------------------------------------------------


def _add(parent: Any, tag: str, value: str | None) -> Any:
    el = etree.SubElement(parent, tag)
    if value is not None:
        el.text = xml_safe(value)
    return el


def _opt(parent: Any, tag: str, value: str | None) -> None:
    if value is not None:
        _add(parent, tag, value)


def _num(value: Decimal) -> str:
    return format(value, "f")


def _opt_num(parent: Any, tag: str, value: Decimal | None) -> None:
    if value is not None:
        _add(parent, tag, _num(value))


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _opt_bool(parent: Any, tag: str, value: bool | None) -> None:
    if value is not None:
        _add(parent, tag, _bool(value))


def render_document(doc: Document, version: float, extensions: bool) -> Any:
    """One ``Документ`` element, children in the order of protocol.md §9.2."""
    if not doc.id:
        raise WriteError("a document without Ид cannot be written", path="Документ")
    el = etree.Element("Документ")
    _add(el, "Ид", doc.id)
    _add(el, "Номер", doc.number if doc.number is not None else doc.id)
    _add(el, "Дата", (doc.date or dt.date.today()).isoformat())
    _add(el, "ХозОперация", doc.operation or "Заказ товара")
    _add(el, "Роль", doc.role or "Продавец")
    _add(el, "Валюта", doc.currency or "RUB")
    _add(el, "Курс", _num(doc.rate) if doc.rate is not None else "1")
    _add(el, "Сумма", _num(doc.amount) if doc.amount is not None else "0")
    if extensions:
        if version > 2.05:
            # 1C-Bitrix prints both always, empty when unknown (protocol.md §9.2 rows 9-10).
            _add(el, "НомерВерсии", doc.version)
            _add(el, "Номер1С", doc.number_1c)
            if doc.date_1c is not None:
                _add(el, "Дата1С", doc.date_1c.isoformat())
        _opt_bool(el, "ПометкаУдаления", doc.deleted)
        _opt(el, "Основание", doc.basis)
    parties = _add(el, "Контрагенты", None)
    for party in doc.counterparties:
        parties.append(render_counterparty(party))
    if doc.time is not None:
        _add(el, "Время", doc.time.strftime("%H:%M:%S"))
    _opt(el, "Комментарий", doc.comment)
    if doc.taxes:
        _taxes(el, doc.taxes)
    if doc.discounts:
        _discounts(el, doc.discounts)
    if doc.warehouses and (extensions or version >= 2.07):
        # Document-level Склады (pickup stores) exist in the schema from 2.07; 1C-Bitrix prints them
        # whatever the version, so they are left out only of strict output for older versions.
        stores = _add(el, "Склады", None)
        for store in doc.warehouses:
            stores.append(_warehouse(store))
    if doc.lines:
        lines = _add(el, "Товары", None)
        for line in doc.lines:
            lines.append(render_line(line))
    if doc.requisites:
        _requisites(el, doc.requisites)
    return el


def _is_legal(party: Counterparty) -> bool:
    return bool(party.official_name or party.legal_address or party.bank_accounts)


def render_counterparty(party: Counterparty) -> Any:
    """``Контрагент``: the legal-entity or the person group of the XSD, chosen by the data.

    A counterparty with an official name, a legal address or bank accounts is written as a legal
    entity (``ОфициальноеНаименование``, ``ЮридическийАдрес`` ...); any other as a person
    (``ПолноеНаименование``, ``Фамилия``/``Имя``/``Отчество``, ``АдресРегистрации``).
    """
    el = etree.Element("Контрагент")
    _opt(el, "Ид", party.id)
    _opt(el, "Наименование", party.name)
    if _is_legal(party):
        _add(el, "ОфициальноеНаименование", party.official_name or party.name or "")
        if party.legal_address is not None:
            el.append(_address("ЮридическийАдрес", party.legal_address))
        _opt(el, "ИНН", party.inn)
        _opt(el, "КПП", party.kpp)
        _opt(el, "ОКПО", party.okpo)
        if party.bank_accounts:
            accounts = _add(el, "РасчетныеСчета", None)
            for account in party.bank_accounts:
                acc = _add(accounts, "РасчетныйСчет", None)
                _add(acc, "НомерСчета", account.number or "")
                bank = _add(acc, "Банк", None)
                _opt(bank, "СчетКорреспондентский", account.correspondent_account)
                _opt(bank, "Наименование", account.bank_name)
                if account.bank_address is not None:
                    bank.append(_address("Адрес", Address(account.bank_address)))
                _add(bank, "БИК", account.bik or "")
    else:
        _add(el, "ПолноеНаименование", party.full_name or party.name or "")
        _opt(el, "Фамилия", party.last_name)
        _opt(el, "Имя", party.first_name)
        _opt(el, "Отчество", party.middle_name)
        _opt(el, "ИНН", party.inn)
        _opt(el, "КПП", party.kpp)
        if party.registration_address is not None:
            el.append(_address("АдресРегистрации", party.registration_address))
    if party.address is not None:
        el.append(_address("Адрес", party.address))
    if party.contacts:
        contacts = _add(el, "Контакты", None)
        for contact in party.contacts:
            item = _add(contacts, "Контакт", None)
            _add(item, "Тип", contact.type)
            _add(item, "Значение", contact.value)
            _opt(item, "Комментарий", contact.comment)
    if party.representatives:
        reps = _add(el, "Представители", None)
        for rep in party.representatives:
            item = _add(reps, "Представитель", None)
            _opt(item, "Ид", rep.id)
            _opt(item, "Наименование", rep.name)
            _add(item, "ПолноеНаименование", rep.name or "")
            _add(item, "Отношение", rep.relation or "Контактное лицо")
    _add(el, "Роль", party.role or "Покупатель")
    return el


def _address(tag: str, address: Address) -> Any:
    el = etree.Element(tag)
    _add(el, "Представление", address.presentation or "")
    for field in address.fields:
        item = _add(el, "АдресноеПоле", None)
        _add(item, "Тип", field.type)
        _add(item, "Значение", field.value)
    return el


def _warehouse(store: Warehouse) -> Any:
    el = etree.Element("Склад")
    _add(el, "Ид", store.id)
    _opt(el, "Наименование", store.name)
    _opt(el, "Комментарий", store.comment)
    if store.address is not None:
        el.append(_address("Адрес", store.address))
    return el


def _unit(parent: Any, unit: Unit | None) -> None:
    el = _add(parent, "БазоваяЕдиница", None)
    if unit is None:
        return
    if unit.code is not None:
        el.set("Код", xml_safe(unit.code))
    if unit.full_name is not None:
        el.set("НаименованиеПолное", xml_safe(unit.full_name))
    if unit.international is not None:
        el.set("МеждународноеСокращение", xml_safe(unit.international))
    text = unit.name if unit.name is not None else unit.ref
    if text is not None:
        el.text = xml_safe(text)


def render_line(line: OrderLine) -> Any:
    """An order line (``Документ/Товары/Товар``) in the XSD's element order."""
    el = etree.Element("Товар")
    _add(el, "Ид", line.id)
    _opt(el, "Артикул", line.article)
    _add(el, "Наименование", line.name or "")
    _unit(el, line.unit)
    if line.tax_rates:
        rates = _add(el, "СтавкиНалогов", None)
        for rate in line.tax_rates:
            item = _add(rates, "СтавкаНалога", None)
            _add(item, "Наименование", rate.name)
            _add(item, "Ставка", rate.rate)
    if line.characteristics:
        chars = _add(el, "ХарактеристикиТовара", None)
        for char in line.characteristics:
            item = _add(chars, "ХарактеристикаТовара", None)
            _opt(item, "Ид", char.id)
            _add(item, "Наименование", char.name)
            _add(item, "Значение", char.value)
    if line.requisites:
        _requisites(el, line.requisites)
    _opt(el, "ИдКаталога", line.catalog_id)
    _opt_num(el, "ЦенаЗаЕдиницу", line.price)
    _opt_num(el, "Количество", line.quantity)
    _opt_num(el, "Сумма", line.amount)
    _opt_num(el, "Коэффициент", line.ratio)
    if line.taxes:
        _taxes(el, line.taxes)
    if line.discounts:
        _discounts(el, line.discounts)
    return el


def _taxes(parent: Any, taxes: Iterable[TaxSum]) -> None:
    el = _add(parent, "Налоги", None)
    for tax in taxes:
        item = _add(el, "Налог", None)
        _add(item, "Наименование", tax.name)
        _opt_bool(item, "УчтеноВСумме", tax.included)
        _add(item, "Сумма", _num(tax.amount) if tax.amount is not None else "0")
        _opt(item, "Ставка", tax.rate)


def _discounts(parent: Any, discounts: Iterable[Discount]) -> None:
    el = _add(parent, "Скидки", None)
    for discount in discounts:
        item = _add(el, "Скидка", None)
        _add(item, "Наименование", discount.name or "")
        _add(item, "Сумма", _num(discount.amount) if discount.amount is not None else "0")
        _opt_num(item, "Процент", discount.percent)
        _opt_bool(item, "УчтеноВСумме", discount.included)


def _requisites(parent: Any, requisites: Iterable[Requisite]) -> None:
    el = _add(parent, "ЗначенияРеквизитов", None)
    for requisite in requisites:
        item = _add(el, "ЗначениеРеквизита", None)
        _add(item, "Наименование", requisite.name)
        for value in requisite.values or ("",):
            _add(item, "Значение", value)
