"""Legacy CRM methods of the fake: companies, contacts, deals (+ product rows), requisites, old invoices,
statuses and small directories.

No I/O. Shapes from bitrix24.md §4.2, §4.6, §5.1, §5.2, §5.4 and Appendix B. ИНН is not unique
(REST performs no duplicate check, §5.4): two requisites with one ``RQ_INN`` are both created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from b24_bridge.fake.legacy import BAD_ID, NOT_FOUND, LegacyEntity, legacy_error, legacy_fields, legacy_getter
from b24_bridge.fake.productrows import (
    LEGACY_ROW_FIELDS,
    legacy_row_in,
    legacy_row_out,
    owner_rows,
    replace_rows,
    rows_total,
)
from b24_bridge.fake.query import matches, order_rows, page_rows, parse_filter
from b24_bridge.fake.registry import Call, Result, method
from b24_bridge.fake.store import legacy_value, param, to_int, to_number

_COMMON = (
    "ASSIGNED_BY_ID",
    "OPENED",
    "COMMENTS",
    "ORIGINATOR_ID",
    "ORIGIN_ID",
    "ORIGIN_VERSION",
    "DATE_CREATE",
    "DATE_MODIFY",
    "CREATED_BY_ID",
    "MODIFY_BY_ID",
)
COMPANY = LegacyEntity(
    "company",
    "company",
    "ONCRMCOMPANY",
    (
        "TITLE",
        "COMPANY_TYPE",
        "INDUSTRY",
        "EMPLOYEES",
        "CURRENCY_ID",
        "REVENUE",
        "IS_MY_COMPANY",
        "ADDRESS",
        *_COMMON,
        "PHONE",
        "EMAIL",
        "WEB",
        "IM",
    ),
    money=frozenset({"REVENUE"}),
    defaults={"OPENED": "Y", "IS_MY_COMPANY": "N", "COMPANY_TYPE": "CUSTOMER"},
)
CONTACT = LegacyEntity(
    "contact",
    "contact",
    "ONCRMCONTACT",
    (
        "NAME",
        "LAST_NAME",
        "SECOND_NAME",
        "HONORIFIC",
        "POST",
        "TYPE_ID",
        "COMPANY_ID",
        "COMPANY_IDS",
        "BIRTHDATE",
        *_COMMON,
        "PHONE",
        "EMAIL",
        "WEB",
        "IM",
    ),
    defaults={"OPENED": "Y"},
)


def _deal_validate(call: Call, incoming: dict[str, Any], row: dict[str, Any] | None) -> None:
    if "STAGE_ID" in incoming:
        stages = {r["STATUS_ID"] for r in call.portal.state.t("status") if r["ENTITY_ID"] == "DEAL_STAGE"}
        if str(incoming["STAGE_ID"]) not in stages:
            raise legacy_error(f"Stage '{incoming['STAGE_ID']}' is not found")


def _deal_write(call: Call, row: dict[str, Any], incoming: dict[str, Any]) -> None:
    stage = str(row.get("STAGE_ID") or "NEW")
    row["CLOSED"] = "Y" if stage in ("WON", "LOSE") else "N"
    if row.get("IS_MANUAL_OPPORTUNITY") != "Y" and owner_rows(call.portal, "D", row["ID"]):
        row["OPPORTUNITY"] = rows_total(owner_rows(call.portal, "D", row["ID"]))


DEAL = LegacyEntity(
    "deal",
    "deal",
    "ONCRMDEAL",
    (
        "TITLE",
        "TYPE_ID",
        "CATEGORY_ID",
        "STAGE_ID",
        "CURRENCY_ID",
        "OPPORTUNITY",
        "IS_MANUAL_OPPORTUNITY",
        "TAX_VALUE",
        "COMPANY_ID",
        "CONTACT_ID",
        "CONTACT_IDS",
        "BEGINDATE",
        "CLOSEDATE",
        "CLOSED",
        "SOURCE_ID",
        *_COMMON,
    ),
    money=frozenset({"OPPORTUNITY", "TAX_VALUE"}),
    defaults={
        "CATEGORY_ID": 0,
        "STAGE_ID": "NEW",
        "CURRENCY_ID": "RUB",
        "OPPORTUNITY": 0.0,
        "IS_MANUAL_OPPORTUNITY": "N",
        "OPENED": "Y",
        "CLOSED": "N",
        "COMPANY_ID": 0,
    },
    validate=_deal_validate,
    after_write=_deal_write,
)

_RQ = (
    "RQ_COMPANY_NAME",
    "RQ_COMPANY_FULL_NAME",
    "RQ_INN",
    "RQ_KPP",
    "RQ_OGRN",
    "RQ_OGRNIP",
    "RQ_OKPO",
    "RQ_OKTMO",
    "RQ_OKVED",
    "RQ_IFNS",
    "RQ_DIRECTOR",
    "RQ_ACCOUNTANT",
    "RQ_CEO_NAME",
    "RQ_CEO_WORK_POS",
    "RQ_COMPANY_REG_DATE",
    "RQ_FIRST_NAME",
    "RQ_LAST_NAME",
    "RQ_SECOND_NAME",
    "RQ_NAME",
    "RQ_EMAIL",
    "RQ_PHONE",
    "RQ_VAT_PAYER",
    "RQ_VAT_ID",
)


def _requisite_validate(call: Call, incoming: dict[str, Any], row: dict[str, Any] | None) -> None:
    if row is not None:
        return
    entity_type = to_int(incoming.get("ENTITY_TYPE_ID"))
    if entity_type not in (3, 4):
        raise legacy_error("ENTITY_TYPE_ID is not defined or invalid.")
    if to_int(incoming.get("ENTITY_ID")) <= 0:
        raise legacy_error("ENTITY_ID is not defined or invalid.")
    if not any(p["ID"] == to_int(incoming.get("PRESET_ID")) for p in call.portal.state.presets):
        raise legacy_error("PRESET_ID is not defined or invalid.")
    owner = call.portal.state.t("company" if entity_type == 4 else "contact").get(incoming["ENTITY_ID"])
    if owner is None:
        raise legacy_error("Entity not found.")


REQUISITE = LegacyEntity(
    "requisite",
    "requisite",
    "ONCRMREQUISITE",
    (
        "ENTITY_TYPE_ID",
        "ENTITY_ID",
        "PRESET_ID",
        "NAME",
        "XML_ID",
        "ORIGINATOR_ID",
        "CODE",
        "ACTIVE",
        "SORT",
        "ADDRESS_ONLY",
        *_RQ,
        "DATE_CREATE",
        "DATE_MODIFY",
        "CREATED_BY_ID",
        "MODIFY_BY_ID",
    ),
    required=("NAME",),
    defaults={"ACTIVE": "Y", "SORT": 500, "ADDRESS_ONLY": "N"},
    validate=_requisite_validate,
)
BANKDETAIL = LegacyEntity(
    "requisite.bankdetail",
    "bankdetail",
    "ONCRMBANKDETAIL",
    (
        "ENTITY_ID",
        "COUNTRY_ID",
        "NAME",
        "CODE",
        "XML_ID",
        "ACTIVE",
        "SORT",
        "RQ_BANK_NAME",
        "RQ_BANK_ADDR",
        "RQ_BIK",
        "RQ_ACC_NUM",
        "RQ_ACC_CURRENCY",
        "RQ_COR_ACC_NUM",
        "COMMENTS",
        "DATE_CREATE",
        "DATE_MODIFY",
    ),
    required=("ENTITY_ID", "NAME"),
    defaults={"ACTIVE": "Y", "COUNTRY_ID": 1},
)


def _invoice_validate(call: Call, incoming: dict[str, Any], row: dict[str, Any] | None) -> None:
    if row is None:
        for name in ("ORDER_TOPIC", "PERSON_TYPE_ID", "PAY_SYSTEM_ID"):
            if incoming.get(name) in (None, ""):
                raise legacy_error(f"Required fields are not filled: {name}")
    if "STATUS_ID" in incoming:
        known = {r["STATUS_ID"] for r in call.portal.state.t("status") if r["ENTITY_ID"] == "INVOICE_STATUS"}
        if str(incoming["STATUS_ID"]) not in known:
            raise legacy_error(f"Status '{incoming['STATUS_ID']}' is not found")


def _invoice_write(call: Call, row: dict[str, Any], incoming: dict[str, Any]) -> None:
    if "PRODUCT_ROWS" in incoming:
        raw = incoming["PRODUCT_ROWS"]
        items = list(raw.values()) if isinstance(raw, Mapping) else list(raw or [])
        rows = []
        for index, item in enumerate(items):
            if isinstance(item, Mapping):
                rows.append(
                    {
                        "ID": index + 1 + row["ID"] * 1000,
                        "PRODUCT_ID": to_int(item.get("PRODUCT_ID")),
                        "PRODUCT_NAME": str(item.get("PRODUCT_NAME") or ""),
                        "PRICE": to_number(item.get("PRICE")),
                        "QUANTITY": to_number(item.get("QUANTITY"), 1),
                        "DISCOUNT_PRICE": to_number(item.get("DISCOUNT_PRICE")),
                        "VAT_RATE": to_number(item.get("VAT_RATE")),
                        "VAT_INCLUDED": item.get("VAT_INCLUDED", "Y"),
                        "MEASURE_CODE": to_int(item.get("MEASURE_CODE"), 796),
                        "MEASURE_NAME": str(item.get("MEASURE_NAME") or "шт"),
                    }
                )
        row["PRODUCT_ROWS"] = rows
        row["PRICE"] = round(sum(r["PRICE"] * r["QUANTITY"] for r in rows), 2)
    status = str(row.get("STATUS_ID") or "N")
    previous = row.get("_STATUS_SEEN")
    if status != previous:
        row["DATE_STATUS"] = call.now
        row["_STATUS_SEEN"] = status
        paid = call.portal.state.stage_semantics(status) == "S" or status == "P"
        row["PAYED"] = "Y" if paid else "N"
        row["DATE_PAYED"] = call.now if paid else None
        if previous is not None:
            call.emit("ONCRMINVOICESETSTATUS", {"FIELDS": {"ID": row["ID"]}})
    row["DATE_UPDATE"] = call.now
    if not row.get("ACCOUNT_NUMBER"):
        row["ACCOUNT_NUMBER"] = str(row["ID"])


def _invoice_get(call: Call, row: dict[str, Any], out: dict[str, Any]) -> None:
    out["PRODUCT_ROWS"] = [dict(r) for r in row.get("PRODUCT_ROWS", [])]
    out["INVOICE_PROPERTIES"] = row.get("INVOICE_PROPERTIES") or {}


INVOICE = LegacyEntity(
    "invoice",
    "invoice",
    "ONCRMINVOICE",
    (
        "ACCOUNT_NUMBER",
        "ORDER_TOPIC",
        "STATUS_ID",
        "PERSON_TYPE_ID",
        "PAY_SYSTEM_ID",
        "UF_COMPANY_ID",
        "UF_CONTACT_ID",
        "UF_MYCOMPANY_ID",
        "UF_DEAL_ID",
        "DATE_INSERT",
        "DATE_BILL",
        "DATE_PAY_BEFORE",
        "PAY_VOUCHER_NUM",
        "PAY_VOUCHER_DATE",
        "DATE_MARKED",
        "REASON_MARKED",
        "DATE_PAYED",
        "EMP_PAYED_ID",
        "PAYED",
        "DATE_STATUS",
        "DATE_UPDATE",
        "PRICE",
        "TAX_VALUE",
        "CURRENCY",
        "XML_ID",
        "RESPONSIBLE_ID",
        "COMMENTS",
        "USER_DESCRIPTION",
        "INVOICE_PROPERTIES",
        "PRODUCT_ROWS",
    ),
    money=frozenset({"PRICE", "TAX_VALUE"}),
    dates=frozenset(
        {"DATE_CREATE", "DATE_MODIFY", "DATE_PAYED", "DATE_STATUS", "DATE_UPDATE", "DATE_INSERT"}
    ),
    defaults={
        "STATUS_ID": "N",
        "CURRENCY": "RUB",
        "PRICE": 0.0,
        "TAX_VALUE": 0.0,
        "PAYED": "N",
        "UF_COMPANY_ID": 0,
        "UF_CONTACT_ID": 0,
        "UF_DEAL_ID": 0,
        "UF_MYCOMPANY_ID": 0,
    },
    validate=_invoice_validate,
    after_write=_invoice_write,
    extra_get=_invoice_get,
)
for _entity in (COMPANY, CONTACT, DEAL, REQUISITE, BANKDETAIL, INVOICE):
    _entity.register()


@method("crm.invoice.list", scope="crm")
def invoice_list(call: Call) -> Result:
    """The list of old invoices has no rows and no properties (bitrix24.md §4.2)."""
    result = INVOICE.list(call)
    for row in result.value:
        row.pop("PRODUCT_ROWS", None)
        row.pop("INVOICE_PROPERTIES", None)
    return result


@method("crm.deal.productrows.set", scope="crm")
def deal_rows_set(call: Call) -> bool:
    deal = call.portal.state.t("deal").get(param(call.params, "id"))
    if to_int(param(call.params, "id")) <= 0:
        raise legacy_error(BAD_ID)
    if deal is None:
        raise legacy_error(NOT_FOUND)
    raw = param(call.params, "rows")
    items = list(raw.values()) if isinstance(raw, Mapping) else list(raw or [])
    rows = [legacy_row_in(item) for item in items if isinstance(item, Mapping)]
    for row in rows:
        if row["discountTypeId"] == 2 and row.get("_rate_missing") and row.get("_type_given"):
            raise legacy_error(
                "Discount Rate (DISCOUNT_RATE) is required if Percentage Discount Type "
                "(DISCOUNT_TYPE_ID) is defined"
            )
    replace_rows(call.portal, "D", deal["ID"], rows)
    _deal_write(call, deal, {})
    deal["DATE_MODIFY"] = call.now
    call.emit("ONCRMDEALUPDATE", {"FIELDS": {"ID": deal["ID"]}})
    return True


@method("crm.deal.productrows.get", scope="crm")
def deal_rows_get(call: Call) -> list[dict[str, Any]]:
    if to_int(param(call.params, "id")) <= 0:
        raise legacy_error(BAD_ID)
    deal = call.portal.state.t("deal").get(param(call.params, "id"))
    if deal is None:
        raise legacy_error(NOT_FOUND)
    return [legacy_row_out(r) for r in owner_rows(call.portal, "D", deal["ID"])]


def _directory(rows: list[dict[str, Any]], call: Call, *, legacy_ids: bool = True) -> Result:
    group = parse_filter(param(call.params, "filter"))
    chosen = [r for r in rows if matches(r, group, legacy_getter)]
    chosen = order_rows(chosen, param(call.params, "order"), legacy_getter, "ID")
    page = page_rows(chosen, param(call.params, "start"), legacy=True)
    out = [{k: (legacy_value(v) if legacy_ids or k == "ID" else v) for k, v in r.items()} for r in page.rows]
    return Result(out, page.total, page.next)


@method("crm.status.list", scope="crm")
def status_list(call: Call) -> Result:
    result = _directory(list(call.portal.state.t("status")), call)
    for row in result.value:  # SEMANTICS stays null for process stages, EXTRA stays an object
        source = call.portal.state.t("status").get(row["ID"])
        if source is not None:
            row["SEMANTICS"] = source["SEMANTICS"]
            row["EXTRA"] = source["EXTRA"]
            row["CATEGORY_ID"] = legacy_value(source["CATEGORY_ID"])
    return result


@method("crm.status.entity.types", scope="crm")
def status_entity_types(call: Call) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"ID": "INVOICE_STATUS", "NAME": "Статусы счёта"},
        {"ID": "DEAL_STAGE", "NAME": "Стадии сделки"},
    ]
    for cat in call.portal.state.categories:
        if cat["entityTypeId"] == 31:
            out.append(
                {
                    "ID": f"SMART_INVOICE_STAGE_{cat['id']}",
                    "NAME": cat["name"],
                    "PREFIX": f"DT31_{cat['id']}",
                    "CATEGORY_ID": cat["id"],
                    "ENTITY_TYPE_ID": 31,
                }
            )
    return out


@method("crm.requisite.preset.list", scope="crm")
def preset_list(call: Call) -> Result:
    return _directory([dict(p) for p in call.portal.state.presets], call)


@method("crm.persontype.list", scope="crm")
def persontype_list(call: Call) -> Result:
    return _directory([dict(p) for p in call.portal.state.person_types], call)


@method("crm.paysystem.list", scope="crm")
def paysystem_list(call: Call) -> Result:
    return _directory([dict(p) for p in call.portal.state.pay_systems], call)


@method("crm.requisite.link.register", scope="crm")
def link_register(call: Call) -> bool:
    fields = legacy_fields(call)
    for name in (
        "ENTITY_TYPE_ID",
        "ENTITY_ID",
        "REQUISITE_ID",
        "BANK_DETAIL_ID",
        "MC_REQUISITE_ID",
        "MC_BANK_DETAIL_ID",
    ):
        if name not in fields:
            raise legacy_error(f"{name} is not defined or invalid.")
    key = (to_int(fields["ENTITY_TYPE_ID"]), to_int(fields["ENTITY_ID"]))
    call.portal.state.addresses[(-1, *key)] = {k: to_int(v) for k, v in fields.items()}
    return True


@method("crm.requisite.link.get", scope="crm")
def link_get(call: Call) -> dict[str, Any]:
    key = (-1, to_int(param(call.params, "entityTypeId")), to_int(param(call.params, "entityId")))
    link = call.portal.state.addresses.get(key)
    if link is None:
        raise legacy_error(NOT_FOUND)
    return {k: legacy_value(v) for k, v in link.items()}


@method("crm.duplicate.findbycomm", scope="crm")
def find_by_comm(call: Call) -> Any:
    kind = str(param(call.params, "type") or "").upper()
    raw = param(call.params, "values")
    values = [str(v) for v in (raw.values() if isinstance(raw, Mapping) else raw or [])]
    if kind not in ("PHONE", "EMAIL") or not values:
        raise legacy_error("Parameter 'type' must be PHONE or EMAIL and 'values' must not be empty")
    if len(values) > 20:
        raise legacy_error("Too many values: 20 is the maximum")
    wanted = {v.casefold() for v in values}
    scope = str(param(call.params, "entity_type") or "").upper()
    found: dict[str, list[int]] = {}
    for entity, table in (("CONTACT", "contact"), ("COMPANY", "company")):
        if scope and scope != entity:
            continue
        ids = [
            r["ID"]
            for r in call.portal.state.t(table)
            if any(str(v["VALUE"]).casefold() in wanted for v in r.get(kind) or [])
        ]
        if ids:
            found[entity] = ids
    return found or []


__all__ = ["BANKDETAIL", "COMPANY", "CONTACT", "DEAL", "INVOICE", "LEGACY_ROW_FIELDS", "REQUISITE"]


# -- addresses: no own id, keyed by (TYPE_ID, ENTITY_TYPE_ID, ENTITY_ID) (bitrix24.md §5.3) ---------

_ADDRESS_FIELDS = (
    "TYPE_ID",
    "ENTITY_TYPE_ID",
    "ENTITY_ID",
    "ADDRESS_1",
    "ADDRESS_2",
    "CITY",
    "POSTAL_CODE",
    "REGION",
    "PROVINCE",
    "COUNTRY",
    "COUNTRY_CODE",
    "LOC_ADDR_ID",
)


def _address_key(fields: Mapping[str, Any]) -> tuple[int, int, int]:
    key = (
        to_int(fields.get("TYPE_ID")),
        to_int(fields.get("ENTITY_TYPE_ID")),
        to_int(fields.get("ENTITY_ID")),
    )
    if key[0] not in (1, 4, 6, 8, 9, 11) or key[1] not in (1, 8) or key[2] <= 0:
        raise legacy_error("TYPE_ID, ENTITY_TYPE_ID and ENTITY_ID are not defined or invalid.")
    return key


@method("crm.address.add", scope="crm")
def address_add(call: Call) -> bool:
    fields = legacy_fields(call)
    key = _address_key(fields)
    if key in call.portal.state.addresses:
        raise legacy_error("TypeAddress exists")
    call.portal.state.addresses[key] = {k: fields.get(k) for k in _ADDRESS_FIELDS}
    return True


@method("crm.address.update", scope="crm")
def address_update(call: Call) -> bool:
    fields = legacy_fields(call)
    key = _address_key(fields)
    row = call.portal.state.addresses.get(key)
    if row is None:
        raise legacy_error(NOT_FOUND)
    row.update({k: v for k, v in fields.items() if k in _ADDRESS_FIELDS})
    return True


@method("crm.address.delete", scope="crm")
def address_delete(call: Call) -> bool:
    key = _address_key(legacy_fields(call))
    if call.portal.state.addresses.pop(key, None) is None:
        raise legacy_error(NOT_FOUND)
    return True


@method("crm.address.list", scope="crm")
def address_list(call: Call) -> Result:
    """No ``order``; ``total`` is 50 unless ``start=-1`` (the platform bug of b24phpsdk #144, §2.5)."""
    rows = [dict(v) for k, v in call.portal.state.addresses.items() if k[0] > 0]
    group = parse_filter(param(call.params, "filter"))
    chosen = [r for r in rows if matches(r, group, legacy_getter)]
    page = page_rows(chosen, param(call.params, "start"), legacy=True)
    total = 0 if to_int(param(call.params, "start")) < 0 else 50
    return Result([{k: legacy_value(v) for k, v in r.items()} for r in page.rows], total, page.next)
