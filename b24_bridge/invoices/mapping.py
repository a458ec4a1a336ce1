"""Invoice <-> CommerceML order, both ways. Pure functions: no I/O, no clock.

Bitrix24 -> 1C (:func:`to_document`): an :class:`InvoiceSnapshot` (the invoice, its product rows, its
company with requisite and legal address, or its contact, and the 1C ``Ид`` of each catalog product)
becomes a ``Документ`` as Bitrix prints it (protocol.md §9.2-§9.5): number kept, counterparty with ИНН/КПП,
lines with the product ``Ид``, VAT and discounts, delivery as ``ORDER_DELIVERY``, status requisites from
the status map.

1C -> Bitrix24 (:func:`read_facts`, :func:`plan_update`, :func:`new_invoice_fields`): a document 1C
uploaded becomes the stage, fields and rows to write, and the remarks to hand back to 1C.

Rule for edits on both sides between two exchanges (``portal_changed``): 1C's accounting facts
(payment, shipment, cancellation, stage) always apply; 1C's composition is applied only when the
invoice's composition did not change in Bitrix24 since the last sync and the invoice is unpaid.
Otherwise the portal's rows stay, 1C gets a remark, and the invoice goes to 1C again.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from b24_bridge.invoices.statusmap import PortalStage, StatusMap, effective_stage
from commerceml.model import (
    Address,
    AddressField,
    Contact,
    Counterparty,
    Discount,
    Document,
    OrderLine,
    Requisite,
    TaxRate,
    TaxSum,
    Unit,
)

__all__ = [
    "DELIVERY_NAMES",
    "InvoiceSnapshot",
    "OneCFacts",
    "UpdatePlan",
    "export_blocker",
    "fold_subordinates",
    "manager_email",
    "new_invoice_fields",
    "plan_update",
    "read_facts",
    "rows_from_document",
    "subordinate_record",
    "to_document",
]

DELIVERY_ID: Final = "ORDER_DELIVERY"
DELIVERY_NAMES: Final = frozenset({"доставка", "доставка заказа"})
ORDER_OPERATION: Final = "Заказ товара"
REMARK_LOCKED: Final = (
    "Заказ №{number} не может быть изменен (находится в финальном статусе, оплачен или разрешена доставка)."
)
REMARK_CONFLICT: Final = (
    "Заказ №{number}: состав изменён в Битрикс24 после последнего обмена; состав из 1С не применён, "
    "счёт будет выгружен повторно."
)
_TRUE: Final = frozenset({"true", "истина", "1", "да", "y", "yes"})
_STATUS: Final = re.compile(r"^\s*\[([^\]]+)\]\s*(.*)$")
_CURRENCIES: Final = {"руб": "RUB", "руб.": "RUB", "643": "RUB", "rub": "RUB", "usd": "USD", "eur": "EUR"}
TWO: Final = Decimal("0.01")
MANAGER: Final = "Ответственный"
MANAGER_EMAIL: Final = "Ответственный e-mail"
_MANAGER_EMAILS: Final = (MANAGER_EMAIL, "Менеджер e-mail", "E-mail ответственного", "Email менеджера")
_MANAGER_NAMES: Final = (MANAGER, "Менеджер")


@dataclass(slots=True)
class InvoiceSnapshot:
    """Everything :func:`to_document` needs about one invoice, fetched by the I/O layer.

    ``item`` uses the smart-invoice (camelCase) field names; old invoices are converted to them.
    ``company``/``contact`` keep the legacy UPPER_CASE names of ``crm.company.get``/``crm.contact.get``.
    """

    item: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    company: dict[str, Any] | None = None
    requisite: dict[str, Any] | None = None
    address: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    product_xml_ids: dict[int, str] = field(default_factory=dict)
    product_articles: dict[int, str] = field(default_factory=dict)  # products without a 1C Ид
    manager: dict[str, Any] | None = None  # the responsible user (user.get: NAME, LAST_NAME, EMAIL)


def _dec(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _date(value: Any) -> dt.date | None:
    text = str(value or "").strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text[:10], pattern).date()
        except ValueError:
            continue
    return None


def _multi(entity: dict[str, Any] | None, key: str) -> list[str]:
    values = (entity or {}).get(key) or []
    return [str(v.get("VALUE")) for v in values if isinstance(v, dict) and v.get("VALUE")]


def is_delivery_row(row: dict[str, Any]) -> bool:
    return row.get("xmlId") == DELIVERY_ID or (
        not int(row.get("productId") or 0)
        and str(row.get("productName") or "").strip().casefold() in DELIVERY_NAMES
    )


def export_blocker(snapshot: InvoiceSnapshot, *, require_requisites: bool) -> str | None:
    """Why this invoice must wait before going to 1C (None: it may go)."""
    item = snapshot.item
    if not int(item.get("companyId") or 0) and not int(item.get("contactId") or 0):
        return "the invoice has neither a company nor a contact"
    if int(item.get("companyId") or 0):
        if snapshot.company is None:
            return f"company {item.get('companyId')} not found in the portal"
        if require_requisites and not (snapshot.requisite or {}).get("RQ_INN"):
            return f"company {item.get('companyId')} has no requisite with an ИНН"
    if not snapshot.rows:
        return "the invoice has no product rows"
    return None


def _counterparty(snapshot: InvoiceSnapshot) -> Counterparty | None:
    contacts = []
    if snapshot.company is not None:
        company, rq = snapshot.company, snapshot.requisite or {}
        for value in _multi(company, "EMAIL"):
            contacts.append(Contact("Электронная почта", value))
        for value in _multi(company, "PHONE"):
            contacts.append(Contact("Телефон рабочий", value))
        address = None
        if snapshot.address:
            a = snapshot.address
            parts = [
                ("Почтовый индекс", a.get("POSTAL_CODE")),
                ("Страна", a.get("COUNTRY")),
                ("Регион", a.get("REGION")),
                ("Город", a.get("CITY")),
                ("Улица", a.get("ADDRESS_1")),
            ]
            fields = tuple(AddressField(t, str(v)) for t, v in parts if v)
            text = ", ".join(str(v) for _, v in parts if v)
            address = Address(presentation=text or None, fields=fields)
        title = str(company.get("TITLE") or rq.get("RQ_COMPANY_NAME") or "")
        return Counterparty(
            id=str(company.get("ORIGIN_ID") or f"b24-company-{company.get('ID')}"),
            name=title or None,
            official_name=str(rq.get("RQ_COMPANY_FULL_NAME") or rq.get("RQ_COMPANY_NAME") or title) or None,
            inn=str(rq["RQ_INN"]) if rq.get("RQ_INN") else None,
            kpp=str(rq["RQ_KPP"]) if rq.get("RQ_KPP") else None,
            okpo=str(rq["RQ_OKPO"]) if rq.get("RQ_OKPO") else None,
            role="Покупатель",
            legal_address=address,
            contacts=tuple(contacts),
        )
    if snapshot.contact is not None:
        c = snapshot.contact
        names = [str(c.get(k) or "").strip() for k in ("LAST_NAME", "NAME", "SECOND_NAME")]
        full = " ".join(p for p in names if p)
        for value in _multi(c, "EMAIL"):
            contacts.append(Contact("Электронная почта", value))
        for value in _multi(c, "PHONE"):
            contacts.append(Contact("Телефон рабочий", value))
        return Counterparty(
            id=str(c.get("ORIGIN_ID") or f"b24-contact-{c.get('ID')}"),
            name=full or None,
            full_name=full or None,
            last_name=names[0] or None,
            first_name=names[1] or None,
            middle_name=names[2] or None,
            role="Покупатель",
            contacts=tuple(contacts),
        )
    return None


def _line(row: dict[str, Any], xml_ids: dict[int, str]) -> OrderLine:
    price = _dec(row.get("price")) or Decimal(0)
    quantity = _dec(row.get("quantity")) or Decimal(1)
    amount = (price * quantity).quantize(TWO)
    product_id = int(row.get("productId") or 0)
    delivery = is_delivery_row(row)
    line_id = (
        DELIVERY_ID if delivery else xml_ids.get(product_id) or f"b24-product-{product_id or row.get('id')}"
    )
    rate = _dec(row.get("taxRate"))
    included = row.get("taxIncluded") == "Y"
    taxes: tuple[TaxSum, ...] = ()
    rates: tuple[TaxRate, ...] = ()
    if rate is not None:
        rates = (TaxRate("НДС", f"{rate.normalize():f}"),)
        tax = amount * rate / (100 + rate) if included else amount * rate / 100
        taxes = (TaxSum("НДС", included=included, amount=tax.quantize(TWO)),)
    discount_sum = _dec(row.get("discountSum")) or Decimal(0)
    discounts: tuple[Discount, ...] = ()
    if discount_sum > 0:
        discounts = (
            Discount("Скидка на товар", amount=(discount_sum * quantity).quantize(TWO), included=True),
        )
    kind = "Услуга" if delivery else "Товар"
    return OrderLine(
        id=line_id,
        name=str(row.get("productName") or ("Доставка заказа" if delivery else line_id)),
        unit=Unit(code=str(row.get("measureCode") or 796), name=str(row.get("measureName") or "шт")),
        ratio=Decimal(1),
        price=price,
        quantity=quantity,
        amount=amount,
        discounts=discounts,
        tax_rates=rates,
        taxes=taxes,
        requisites=(Requisite("ВидНоменклатуры", (kind,)), Requisite("ТипНоменклатуры", (kind,))),
    )


def to_document(
    snapshot: InvoiceSnapshot,
    status_map: StatusMap,
    stages: list[PortalStage],
    *,
    order_id: str,
    number_prefix: str = "",
) -> Document:
    """The order 1C receives for this invoice (``version`` left to the order store)."""
    item = snapshot.item
    lines = tuple(_line(r, snapshot.product_xml_ids) for r in sorted(snapshot.rows, key=_row_key))
    total = sum((line.amount or Decimal(0) for line in lines), Decimal(0))
    stage = str(item.get("stageId") or "")
    row = status_map.row_for_stage(stage)
    semantics = next((s.semantics for s in stages if s.id == stage), None)
    paid_stage = effective_stage(status_map, "paid", stages)
    requisites = [
        Requisite("Заказ оплачен", ("true" if semantics == "S" or stage == paid_stage else "false",)),
        Requisite("Отменен", ("true" if semantics == "F" else "false",)),
        Requisite("Финальный статус", ("true" if semantics in ("S", "F") else "false",)),
    ]
    if row is not None:
        requisites.append(Requisite("Статус заказа", (f"[{row.code}] {row.name}",)))
        requisites.append(Requisite("Статуса заказа ИД", (row.code,)))
    share = _dec(item.get(status_map.rules.paid_share_field))
    if share is not None and share > 0:
        requisites.append(Requisite("Процент оплаты", (f"{share.normalize():f}",)))
    requisites.extend(_manager_requisites(snapshot.manager))
    party = _counterparty(snapshot)
    begindate = _date(item.get("begindate")) or _date(item.get("createdTime"))
    taxes = _sum_taxes(lines)
    return Document(
        id=order_id,
        number=f"{number_prefix}{item.get('accountNumber') or item.get('id')}",
        date=begindate,
        time=dt.time(0, 0),
        operation=ORDER_OPERATION,
        role="Продавец",
        currency=str(item.get("currencyId") or "RUB"),
        rate=Decimal(1),
        amount=total,
        comment=str(item.get("comments") or "") or None,
        counterparties=(party,) if party is not None else (),
        taxes=taxes,
        lines=lines,
        requisites=tuple(requisites),
    )


def _manager_requisites(user: dict[str, Any] | None) -> list[Requisite]:
    """``Ответственный`` (name) and ``Ответственный e-mail`` (the work e-mail 1C matches its user by)."""
    if not user:
        return []
    email = str(user.get("EMAIL") or "").strip()
    name = " ".join(str(user.get(k) or "").strip() for k in ("LAST_NAME", "NAME")).strip()
    out = []
    if name or email:
        out.append(Requisite(MANAGER, (name or email,)))
    if email:
        out.append(Requisite(MANAGER_EMAIL, (email,)))
    return out


def manager_email(doc: Document) -> str | None:
    """The e-mail of the responsible manager 1C names (``Ответственный e-mail``, or an e-mail as the
    value of ``Ответственный``/``Менеджер``), or None."""
    for name in _MANAGER_EMAILS:
        value = (doc.requisite(name) or "").strip()
        if "@" in value:
            return value
    for name in _MANAGER_NAMES:
        value = (doc.requisite(name) or "").strip()
        if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            return value
    return None


def _row_key(row: dict[str, Any]) -> tuple[int, int]:
    return int(row.get("sort") or 0), int(row.get("id") or 0)


def _sum_taxes(lines: tuple[OrderLine, ...]) -> tuple[TaxSum, ...]:
    amount = Decimal(0)
    included = None
    for line in lines:
        for tax in line.taxes:
            amount += tax.amount or Decimal(0)
            included = tax.included
    return (TaxSum("НДС", included=included, amount=amount),) if amount else ()


# --- 1C -> Bitrix24 ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OneCFacts:
    """What a document uploaded by 1C says happened (protocol.md §9.9)."""

    cancelled: bool = False
    paid_full: bool = False
    paid_share: Decimal | None = None  # percent, 0 < share < 100 for partial payments
    payment_number: str | None = None
    payment_date: str | None = None
    shipped: bool = False
    shipment_number: str | None = None
    shipment_date: str | None = None
    status_code: str | None = None
    status_name: str | None = None


def _flag(doc: Document, name: str) -> bool:
    return doc.requisite(name) is not None and (doc.requisite(name) or "").strip().casefold() in _TRUE


def read_facts(doc: Document) -> OneCFacts:
    """Payment, shipment, cancellation and status requisites of a 1C order document."""
    cancelled = bool(doc.deleted) or _flag(doc, "Отменен") or _flag(doc, "ПометкаУдаления")
    pay_date = (doc.requisite("Дата оплаты по 1С") or "").strip() or None
    pay_number = (doc.requisite("Номер оплаты по 1С") or "").strip() or None
    paid_amount = _dec(doc.requisite("Сумма оплаты по 1С") or doc.requisite("Сумма оплаты"))
    percent = _dec(doc.requisite("Процент оплаты"))
    share: Decimal | None = None
    if percent is not None:
        share = percent
    elif paid_amount is not None and doc.amount:
        share = (paid_amount * 100 / doc.amount).quantize(TWO)
    paid_full = share is not None and share >= 100 or (share is None and pay_date is not None)
    partial = share if share is not None and 0 < share < 100 else None
    ship_date = (doc.requisite("Дата отгрузки по 1С") or "").strip() or None
    shipped = ship_date is not None or _flag(doc, "Отгружен")
    code = (doc.requisite("Статуса заказа ИД") or "").strip() or None
    name = (doc.requisite("Статус заказа") or "").strip() or None
    if code is None and name:
        match = _STATUS.match(name)
        if match:
            code, name = match.group(1).strip(), match.group(2).strip()
    return OneCFacts(
        cancelled=cancelled,
        paid_full=paid_full,
        paid_share=partial,
        payment_number=pay_number,
        payment_date=pay_date,
        shipped=shipped,
        shipment_number=(doc.requisite("Номер отгрузки по 1С") or "").strip() or None,
        shipment_date=ship_date,
        status_code=code,
        status_name=name,
    )


@dataclass(slots=True)
class UpdatePlan:
    """The writes one 1C document causes: item fields, the new rows (None: keep), remarks, log notes."""

    fields: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] | None = None
    remarks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requeue: bool = False  # the portal's version must go to 1C again (conflict rule)

    @property
    def empty(self) -> bool:
        return not self.fields and self.rows is None


def _tax_rate(line: OrderLine) -> float | None:
    for rate in line.tax_rates:
        value = _dec(rate.rate.replace("%", ""))
        if value is not None:
            return float(value)
    for tax in line.taxes:
        value = _dec(tax.rate)
        if value is not None:
            return float(value)
    return None


def _measure(line: OrderLine) -> int:
    code = (line.unit.code or "").strip() if line.unit is not None else ""
    return int(code) if code.isdigit() else 796


def rows_from_document(doc: Document, product_ids: dict[str, int]) -> list[dict[str, Any]]:
    """Product rows for ``crm.item.productrow.set`` from 1C's lines (price = final unit price)."""
    rows = []
    for index, line in enumerate(doc.lines, 1):
        quantity = line.quantity or Decimal(1)
        price = line.price if line.price is not None else ((line.amount or Decimal(0)) / quantity)
        included = next((t.included for t in line.taxes if t.included is not None), True)
        row: dict[str, Any] = {
            "productId": 0 if line.is_delivery else product_ids.get(line.id, 0),
            "productName": line.name or ("Доставка заказа" if line.is_delivery else line.id),
            "price": float(price),
            "quantity": float(quantity),
            "taxRate": _tax_rate(line),
            "taxIncluded": "Y" if included else "N",
            "measureCode": _measure(line),
            "sort": index * 10,
            "xmlId": DELIVERY_ID if line.is_delivery else line.id,
        }
        rows.append(row)
    return rows


def _rows_signature(rows: list[dict[str, Any]]) -> list[tuple[str, Decimal, Decimal]]:
    out = []
    for row in rows:
        key = str(row.get("xmlId") or row.get("productId") or row.get("productName"))
        if is_delivery_row(row):
            key = DELIVERY_ID
        out.append(
            (
                key,
                (_dec(row.get("price")) or Decimal(0)).quantize(TWO),
                (_dec(row.get("quantity")) or Decimal(0)).quantize(Decimal("0.001")),
            )
        )
    return sorted(out)


def plan_update(
    doc: Document,
    snapshot: InvoiceSnapshot,
    status_map: StatusMap,
    stages: list[PortalStage],
    product_ids: dict[str, int],
    *,
    portal_changed: bool = False,
    manager_id: int | None = None,
) -> UpdatePlan:
    """What to write to the invoice for 1C's document ``doc`` (see the module doc for the rules)."""
    plan = UpdatePlan()
    item = snapshot.item
    rules = status_map.rules
    facts = read_facts(doc)
    current = str(item.get("stageId") or "")
    semantics = {s.id: s.semantics for s in stages}
    paid_stage = effective_stage(status_map, "paid", stages)
    was_paid = semantics.get(current) == "S" or current == paid_stage
    number = doc.number or doc.id
    target: str | None = None
    if facts.cancelled:
        target = effective_stage(status_map, "cancelled", stages)
        plan.notes.append("cancelled by 1C")
    elif facts.shipped and rules.shipped_stage:
        target = rules.shipped_stage
        plan.notes.append("shipped in 1C")
    elif facts.paid_full:
        target = paid_stage
        plan.notes.append("paid in 1C")
    elif facts.paid_share is not None and rules.partial_stage:
        target = rules.partial_stage
    elif rules.status_from_1c and (facts.status_code or facts.status_name):
        row = (status_map.row_for_code(facts.status_code) if facts.status_code else None) or (
            status_map.row_for_name(facts.status_name) if facts.status_name else None
        )
        if row is not None:
            target = row.stage
        else:
            plan.notes.append(
                f"status {facts.status_code or facts.status_name!r} from 1C is not in the table"
            )
    if target and target != current:
        plan.fields["stageId"] = target
    if facts.paid_full or facts.paid_share is not None:
        share = Decimal(100) if facts.paid_full else facts.paid_share
        assert share is not None
        _set(plan, item, rules.paid_share_field, float(share))
        if facts.payment_number:
            _set(plan, item, rules.payment_number_field, facts.payment_number)
        if facts.payment_date:
            _set(plan, item, rules.payment_date_field, facts.payment_date)
    if manager_id:
        _set(plan, item, "assignedById", manager_id)
    if facts.shipped:
        if facts.shipment_date:
            _set(plan, item, rules.shipment_date_field, facts.shipment_date)
        if facts.shipment_number:
            _set(plan, item, rules.shipment_number_field, facts.shipment_number)
    if doc.lines:
        wanted = rows_from_document(doc, product_ids)
        if _rows_signature(wanted) != _rows_signature(snapshot.rows):
            if portal_changed:
                plan.remarks.append(REMARK_CONFLICT.format(number=number))
                plan.notes.append("composition edited on both sides: the portal's rows kept")
                plan.requeue = True
            elif was_paid or semantics.get(current) == "F":
                plan.remarks.append(REMARK_LOCKED.format(number=number))
            else:
                plan.rows = wanted
    return plan


def _set(plan: UpdatePlan, item: dict[str, Any], name: str, value: Any) -> None:
    if item.get(name) != value:
        plan.fields[name] = value


def currency_code(value: str | None) -> str:
    text = (value or "").strip()
    return _CURRENCIES.get(text.casefold(), text.upper() or "RUB")


def new_invoice_fields(
    doc: Document,
    status_map: StatusMap,
    stages: list[PortalStage],
    *,
    company_id: int | None,
    contact_id: int | None,
    category_id: int | None,
    manager_id: int | None = None,
) -> dict[str, Any]:
    """``crm.item.add`` fields of an invoice for an order created in 1C (stage: the first mapped one)."""
    first = status_map.rows[0].stage if status_map.rows else (stages[0].id if stages else None)
    fields: dict[str, Any] = {
        "title": f"Заказ 1С № {(doc.number or doc.number_1c or doc.id).strip()}",
        "xmlId": doc.id,
        "currencyId": currency_code(doc.currency),
        "isManualOpportunity": "N",
    }
    if doc.number:
        fields["accountNumber"] = doc.number.strip()
    if doc.date:
        fields["begindate"] = doc.date.isoformat()
    if first:
        fields["stageId"] = first
    if category_id is not None:
        fields["categoryId"] = category_id
    if company_id:
        fields["companyId"] = company_id
    if contact_id:
        fields["contactIds"] = [contact_id]
    if doc.comment:
        fields["comments"] = doc.comment
    if manager_id:
        fields["assignedById"] = manager_id
    return fields


# --- 2.10 payments and shipments ----------------------------------------------------------------

PAYMENT_KIND: Final = "payment"
SHIPMENT_KIND: Final = "shipment"


def subordinate_record(doc: Document, *, kind: str) -> dict[str, Any]:
    """What one 2.10 payment or shipment document says (protocol.md §9.6), as a JSON-able record.

    ``counted`` is False for a document marked deleted or cancelled, a refund (``Признак возврата``),
    a payment with ``Оплачено`` = false, or a shipment with ``Отгружено`` = false.
    """
    void = bool(doc.deleted) or _flag(doc, "ПометкаУдаления") or _flag(doc, "Отменен")
    if kind == PAYMENT_KIND:
        void = void or _flag(doc, "Признак возврата") or _flag(doc, "ПризнакВозврата")
        flag = doc.requisite("Оплачено")
        date = doc.requisite("Дата оплаты")
    else:
        flag = doc.requisite("Отгружено")
        if flag is None:
            flag = doc.requisite("Отгружен")
        date = doc.requisite("Дата отгрузки")
    if flag is not None and flag.strip().casefold() not in _TRUE:
        void = True
    when = (date or "").strip() or (doc.date.isoformat() if doc.date else "")
    return {
        "kind": kind,
        "amount": str(doc.amount) if doc.amount is not None else None,
        "number": (doc.number or doc.number_1c or doc.id).strip(),
        "date": when,
        "counted": not void,
    }


def fold_subordinates(
    order_id: str, number: str | None, total: Decimal, records: dict[str, dict[str, Any]]
) -> Document:
    """The order as the 2.08 single-document form would report it, from its payments and shipments.

    Payments add up (``Сумма оплаты по 1С`` against ``total``: full or partial, :func:`read_facts`);
    the latest date and every number are kept. Any counted shipment ships the order. Documents not
    counted (deleted, cancelled, refunds) contribute nothing; records are keyed by document ``Ид``, so
    a re-sent document replaces itself instead of adding twice.
    """
    payments = [r for _, r in sorted(records.items()) if r["kind"] == PAYMENT_KIND and r["counted"]]
    shipments = [r for _, r in sorted(records.items()) if r["kind"] == SHIPMENT_KIND and r["counted"]]
    requisites: list[Requisite] = []
    if payments:
        paid = sum((_dec(r["amount"]) or Decimal(0) for r in payments), Decimal(0))
        requisites.append(Requisite("Сумма оплаты по 1С", (f"{paid:f}",)))
        requisites.append(Requisite("Номер оплаты по 1С", (", ".join(r["number"] for r in payments),)))
        dates = sorted(r["date"] for r in payments if r["date"])
        if dates:
            requisites.append(Requisite("Дата оплаты по 1С", (dates[-1],)))
    if shipments:
        dates = sorted(r["date"] for r in shipments if r["date"])
        requisites.append(Requisite("Отгружен", ("true",)))
        requisites.append(Requisite("Дата отгрузки по 1С", (dates[-1] if dates else "",)))
        requisites.append(Requisite("Номер отгрузки по 1С", (", ".join(r["number"] for r in shipments),)))
    return Document(
        id=order_id, number=number, operation=ORDER_OPERATION, amount=total, requisites=tuple(requisites)
    )
