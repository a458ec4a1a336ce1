"""Engine CRM methods of the fake: ``crm.item.*`` (smart invoices 31; deals 2, contacts 3, companies 4),
``crm.item.productrow.*``, ``crm.category.list``, ``crm.stagehistory.list``.

No I/O. Shapes from bitrix24.md §4.3-§4.4 and Appendix B: camelCase, int ids, ``{"item": …}`` /
``{"items": […]}`` wrappers, ``crm.item.delete`` -> ``[]``, 400 ``NOT_FOUND`` for a missing item,
``INVALID_ARG_VALUE`` for a filter on an unknown field, stages ``DT31_<cat>:N/S/P/D`` with
``previousStageId``/``movedTime``/``movedBy`` and a stage-history row on each move, ``opportunity``
recomputed from product rows unless ``isManualOpportunity`` is ``Y``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from b24_bridge.fake import crm_legacy
from b24_bridge.fake.legacy import MULTI_FIELDS, LegacyEntity
from b24_bridge.fake.productrows import (
    ROW_FIELDS,
    engine_row_in,
    owner_rows,
    replace_rows,
    row_out,
    rows_total,
    store_row,
)
from b24_bridge.fake.query import (
    FilterError,
    field_names,
    matches,
    order_rows,
    page_rows,
    parse_filter,
    select_rows,
)
from b24_bridge.fake.registry import Call, Result, method
from b24_bridge.fake.store import RestError, camel_to_upper, to_int, to_number, upper_to_camel

__all__ = ["ITEM_FIELDS"]

ITEM_FIELDS: Final = (
    "id",
    "entityTypeId",
    "title",
    "xmlId",
    "accountNumber",
    "categoryId",
    "stageId",
    "previousStageId",
    "begindate",
    "closedate",
    "opportunity",
    "isManualOpportunity",
    "taxValue",
    "currencyId",
    "companyId",
    "contactId",
    "contactIds",
    "mycompanyId",
    "parentId2",
    "assignedById",
    "opened",
    "observers",
    "sourceId",
    "sourceDescription",
    "comments",
    "createdTime",
    "updatedTime",
    "createdBy",
    "updatedBy",
    "movedBy",
    "movedTime",
)
_WRITABLE: Final = frozenset(ITEM_FIELDS) - {
    "id",
    "entityTypeId",
    "previousStageId",
    "createdTime",
    "updatedTime",
    "createdBy",
    "updatedBy",
    "movedBy",
    "movedTime",
}
_TIMES: Final = ("createdTime", "updatedTime", "movedTime")
_DATES: Final = ("begindate", "closedate")
_UF: Final = re.compile(r"^ufCrm\w+$")
_LEGACY_TYPES: Final[dict[int, LegacyEntity]] = {
    2: crm_legacy.DEAL,
    3: crm_legacy.CONTACT,
    4: crm_legacy.COMPANY,
}
_OWNER_TYPES: Final = {"SI": 31, "D": 2}


def _type(call: Call) -> int:
    raw = call.params.get("entityTypeId")
    entity_type = to_int(raw, -1)
    if entity_type in (31, *_LEGACY_TYPES):
        return entity_type
    if entity_type in (1, 5, 7):
        raise RestError("ENTITY_TYPE_NOT_SUPPORTED", f"Entity type {raw} is not supported")
    raise RestError("NOT_FOUND", "Smart process not found")


def _date_out(portal: Any, value: Any) -> Any:
    if value in (None, ""):
        return None
    text = str(value)[:10]
    sign = "+" if portal.config.tz_offset >= 0 else "-"
    hours = abs(portal.config.tz_offset)
    return f"{text}T00:00:00{sign}{int(hours):02d}:{int(hours * 60 % 60):02d}"


def item_view(call: Call, row: Mapping[str, Any], select: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in [*ITEM_FIELDS, *sorted(k for k in row if _UF.match(k))]:
        value = row.get(name)
        if name in _TIMES:
            value = call.portal.iso(value) if value is not None else None
        elif name in _DATES:
            value = _date_out(call.portal, value)
        out[name] = value
    if select and "*" not in select:
        out = {k: v for k, v in out.items() if k in select or k == "id"}
    return out


def _legacy_view(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key.startswith("_"):
            continue
        name = "id" if key == "ID" else upper_to_camel(key)
        if key in MULTI_FIELDS:
            name = "fm"
            value = [
                *(out.get("fm") or []),
                *[
                    {"id": v["ID"], "typeId": key, "valueType": v["VALUE_TYPE"], "value": v["VALUE"]}
                    for v in value or []
                ],
            ]
        out[name] = value
    return out


def _fields(call: Call) -> Mapping[str, Any]:
    fields = call.params.get("fields")
    if not isinstance(fields, Mapping):
        raise RestError("100", "Required parameter 'fields' is missing")
    return fields


def _item(call: Call, table: str) -> dict[str, Any]:
    row = call.portal.state.t(table).get(call.params.get("id"))
    if row is None or (table == "item" and row.get("entityTypeId") != 31):
        raise RestError("NOT_FOUND", "Element not found")
    return row


def _set_stage(call: Call, row: dict[str, Any], stage: str, *, created: bool) -> None:
    category = row["categoryId"]
    if stage not in call.portal.state.stage_ids(category):
        raise RestError("CRM_FIELD_ERROR_VALUE_NOT_VALID", f"Invalid value for field 'Стадия': {stage}")
    if not created and stage == row.get("stageId"):
        return
    row["previousStageId"] = None if created else row.get("stageId")
    row["stageId"] = stage
    row["movedTime"] = call.now
    row["movedBy"] = call.auth.user_id
    semantics = call.portal.state.stage_semantics(stage)
    call.portal.state.t("stagehistory").insert(
        {
            "entityTypeId": 31,
            "TYPE_ID": 1 if created else 2,
            "OWNER_ID": row["id"],
            "CREATED_TIME": call.now,
            "CATEGORY_ID": category,
            "STAGE_SEMANTIC_ID": {"S": "S", "F": "F"}.get(semantics or "", "P"),
            "STAGE_ID": stage,
        },
        id_key="ID",
    )


def _apply(call: Call, row: dict[str, Any], fields: Mapping[str, Any]) -> None:
    for key, value in fields.items():
        if key in _WRITABLE - {"stageId", "categoryId"} or _UF.match(key):
            row[key] = value
    if "contactIds" in fields:
        ids = fields["contactIds"]
        ids = list(ids.values()) if isinstance(ids, Mapping) else ids
        if not isinstance(ids, list):
            raise RestError("100", "Field 'contactIds' expects an array")
        row["contactIds"] = [to_int(v) for v in ids]
        row["contactId"] = row["contactIds"][0] if row["contactIds"] else 0
    for name in ("companyId", "contactId", "mycompanyId", "parentId2", "assignedById"):
        row[name] = to_int(row.get(name))
    row["opportunity"] = to_number(row.get("opportunity"))
    row["taxValue"] = to_number(row.get("taxValue"))
    if row.get("isManualOpportunity") != "Y" and owner_rows(call.portal, "SI", row["id"]):
        row["opportunity"] = rows_total(owner_rows(call.portal, "SI", row["id"]))


@method("crm.item.add", scope="crm")
def item_add(call: Call) -> dict[str, Any]:
    entity_type = _type(call)
    fields = _fields(call)
    if entity_type in _LEGACY_TYPES:
        entity = _LEGACY_TYPES[entity_type]
        upper = {camel_to_upper(k): v for k, v in fields.items()}
        legacy_call = Call(call.portal, call.method, {"fields": upper}, call.auth, call.now, call.events)
        new_id = entity.add(legacy_call)
        return {"item": _legacy_view(call.portal.state.t(entity.table).rows[new_id])}
    cat = to_int(fields.get("categoryId"), call.portal.state.smart_invoice_category)
    if not any(c["id"] == cat and c["entityTypeId"] == 31 for c in call.portal.state.categories):
        raise RestError("NOT_FOUND", "Category not found")
    row: dict[str, Any] = {
        "entityTypeId": 31,
        "categoryId": cat,
        "opportunity": 0.0,
        "isManualOpportunity": "N",
        "taxValue": 0.0,
        "currencyId": "RUB",
        "opened": "Y",
        "observers": [],
        "contactIds": [],
        "xmlId": "",
        "createdTime": call.now,
        "updatedTime": call.now,
        "createdBy": call.auth.user_id,
        "updatedBy": call.auth.user_id,
        "assignedById": call.auth.user_id,
        "begindate": call.portal.iso()[:10],
    }
    call.portal.state.t("item").insert(row)
    try:
        _apply(call, row, fields)
        _set_stage(call, row, str(fields.get("stageId") or f"DT31_{cat}:N"), created=True)
    except RestError:
        call.portal.state.t("item").delete(row["id"])
        raise
    row.setdefault("title", None)
    if not row.get("title"):
        row["title"] = f"Счёт #{row['id']}"
    if not row.get("accountNumber"):
        row["accountNumber"] = str(row["id"])
    call.emit("ONCRMDYNAMICITEMADD", {"FIELDS": {"ID": row["id"], "ENTITY_TYPE_ID": 31}})
    return {"item": item_view(call, row)}


@method("crm.item.update", scope="crm")
def item_update(call: Call) -> dict[str, Any]:
    entity_type = _type(call)
    fields = _fields(call)
    if entity_type in _LEGACY_TYPES:
        entity = _LEGACY_TYPES[entity_type]
        upper = {camel_to_upper(k): v for k, v in fields.items()}
        entity.update(
            Call(
                call.portal,
                call.method,
                {"id": call.params.get("id"), "fields": upper},
                call.auth,
                call.now,
                call.events,
            )
        )
        return {"item": _legacy_view(call.portal.state.t(entity.table).rows[to_int(call.params.get("id"))])}
    row = _item(call, "item")
    _apply(call, row, fields)
    if "stageId" in fields:
        _set_stage(call, row, str(fields["stageId"]), created=False)
    row["updatedTime"] = call.now
    row["updatedBy"] = call.auth.user_id
    call.emit("ONCRMDYNAMICITEMUPDATE", {"FIELDS": {"ID": row["id"], "ENTITY_TYPE_ID": 31}})
    return {"item": item_view(call, row)}


@method("crm.item.get", scope="crm")
def item_get(call: Call) -> dict[str, Any]:
    entity_type = _type(call)
    if entity_type in _LEGACY_TYPES:
        return {"item": _legacy_view(_item(call, _LEGACY_TYPES[entity_type].table))}
    return {"item": item_view(call, _item(call, "item"))}


def _engine_getter(allowed: set[str]) -> Any:
    def getter(row: Mapping[str, Any], name: str) -> Any:
        if name not in allowed and not _UF.match(name):
            raise FilterError(name)
        return row.get(name)

    return getter


@method("crm.item.list", scope="crm")
def item_list(call: Call) -> Result:
    entity_type = _type(call)
    if entity_type in _LEGACY_TYPES:
        rows = [_legacy_view(r) for r in call.portal.state.t(_LEGACY_TYPES[entity_type].table)]
        allowed = set().union(*(r.keys() for r in rows)) | {"id"}
    else:
        rows = [r for r in call.portal.state.t("item") if r["entityTypeId"] == 31]
        allowed = set(ITEM_FIELDS)
    getter = _engine_getter(allowed)
    group = parse_filter(call.params.get("filter"))
    try:
        for name in field_names(group):
            getter({}, name)
        chosen = select_rows(rows, group, getter)
    except FilterError as exc:
        raise RestError(
            "INVALID_ARG_VALUE", f"Invalid filter: field '{exc.field}' is not allowed in filter"
        ) from exc
    order = call.params.get("order")
    if isinstance(order, Mapping):
        for name in order:
            if name not in allowed:
                raise RestError("INVALID_ARG_VALUE", f"Invalid order: field '{name}' is not allowed in order")
    chosen = order_rows(chosen, order, getter, "id", rng=call.portal.list_rng())
    page = page_rows(chosen, call.params.get("start"), legacy=False)
    select = call.params.get("select")
    names = [str(s) for s in (select.values() if isinstance(select, Mapping) else select or [])]
    if entity_type in _LEGACY_TYPES:
        items = [
            r if not names or "*" in names else {k: v for k, v in r.items() if k in names or k == "id"}
            for r in page.rows
        ]
    else:
        items = [item_view(call, r, names) for r in page.rows]
    return Result({"items": items}, page.total, page.next)


@method("crm.item.delete", scope="crm")
def item_delete(call: Call) -> list[Any]:
    entity_type = _type(call)
    if entity_type in _LEGACY_TYPES:
        _LEGACY_TYPES[entity_type].delete(
            Call(call.portal, call.method, {"id": call.params.get("id")}, call.auth, call.now, call.events)
        )
        return []
    row = _item(call, "item")
    call.portal.state.t("item").delete(row["id"])
    for old in owner_rows(call.portal, "SI", row["id"]):
        call.portal.state.t("productrow").delete(old["id"])
    call.emit("ONCRMDYNAMICITEMDELETE", {"FIELDS": {"ID": row["id"], "ENTITY_TYPE_ID": 31}})
    return []


@method("crm.item.fields", scope="crm")
def item_fields(call: Call) -> dict[str, Any]:
    _type(call)
    fields = {
        name: {
            "type": "integer" if name.endswith("Id") or name == "id" else "string",
            "isRequired": False,
            "isReadOnly": name not in _WRITABLE,
            "isImmutable": False,
            "isMultiple": name in ("contactIds", "observers"),
            "isDynamic": False,
            "title": name,
            "upperName": camel_to_upper(name),
        }
        for name in ITEM_FIELDS
    }
    fields["stageId"]["type"] = "crm_status"
    return {"fields": fields}


@method("crm.category.list", scope="crm")
def category_list(call: Call) -> Result:
    entity_type = to_int(call.params.get("entityTypeId"), -1)
    cats = [dict(c) for c in call.portal.state.categories if c["entityTypeId"] == entity_type]
    return Result({"categories": cats}, len(cats))


@method("crm.stagehistory.list", scope="crm")
def stagehistory_list(call: Call) -> Result:
    entity_type = to_int(call.params.get("entityTypeId"), -1)
    rows = [r for r in call.portal.state.t("stagehistory") if r["entityTypeId"] == entity_type]
    group = parse_filter(call.params.get("filter"))

    def getter(row: Mapping[str, Any], name: str) -> Any:
        return row.get(name)

    rows = order_rows([r for r in rows if matches(r, group, getter)], call.params.get("order"), getter, "ID")
    page = page_rows(rows, call.params.get("start"), legacy=False)
    items = [
        {k: (call.portal.iso(v) if k == "CREATED_TIME" else v) for k, v in r.items() if k != "entityTypeId"}
        for r in page.rows
    ]
    return Result({"items": items}, page.total, page.next)


# -- product rows ---------------------------------------------------------------------------------


def _owner(call: Call, owner_type: Any, owner_id: Any) -> tuple[str, int]:
    kind = str(owner_type or "")
    if kind not in _OWNER_TYPES:
        if kind in ("L", "Q") or kind.startswith("T"):
            raise RestError("ENTITY_TYPE_NOT_SUPPORTED", f"Entity type {kind} is not supported here")
        raise RestError("ENTITY_TYPE_NOT_SUPPORTED", f"Unknown owner type '{kind}'")
    ident = to_int(owner_id)
    table = "item" if kind == "SI" else "deal"
    if call.portal.state.t(table).get(ident) is None:
        raise RestError("OWNER_NOT_FOUND", "Owner was not found")
    return kind, ident


def _owner_changed(call: Call, kind: str, ident: int) -> None:
    if kind == "SI":
        row = call.portal.state.t("item").rows[ident]
        if row.get("isManualOpportunity") != "Y":
            row["opportunity"] = rows_total(owner_rows(call.portal, "SI", ident))
        row["updatedTime"] = call.now
        call.emit("ONCRMDYNAMICITEMUPDATE", {"FIELDS": {"ID": ident, "ENTITY_TYPE_ID": 31}})
    else:
        deal = call.portal.state.t("deal").rows[ident]
        if deal.get("IS_MANUAL_OPPORTUNITY") != "Y":
            deal["OPPORTUNITY"] = rows_total(owner_rows(call.portal, "D", ident))
        deal["DATE_MODIFY"] = call.now
        call.emit("ONCRMDEALUPDATE", {"FIELDS": {"ID": ident}})


@method("crm.item.productrow.set", scope="crm")
def productrow_set(call: Call) -> dict[str, Any]:
    for name in ("ownerType", "ownerId", "productRows"):
        if name not in call.params:
            raise RestError("100", f"Required parameter '{name}' is missing")
    kind, ident = _owner(call, call.params["ownerType"], call.params["ownerId"])
    raw = call.params["productRows"]
    items = list(raw.values()) if isinstance(raw, Mapping) else list(raw or [])
    rows = replace_rows(call.portal, kind, ident, [engine_row_in(i) for i in items if isinstance(i, Mapping)])
    _owner_changed(call, kind, ident)
    return {"productRows": [row_out(r) for r in rows]}


@method("crm.item.productrow.add", scope="crm")
def productrow_add(call: Call) -> dict[str, Any]:
    fields = _fields(call)
    kind, ident = _owner(call, fields.get("ownerType"), fields.get("ownerId"))
    row = store_row(call.portal, kind, ident, engine_row_in(fields))
    _owner_changed(call, kind, ident)
    return {"productRow": row_out(row)}


def _row(call: Call) -> dict[str, Any]:
    row = call.portal.state.t("productrow").get(call.params.get("id"))
    if row is None:
        raise RestError("NOT_FOUND", "Product row not found")
    return row


@method("crm.item.productrow.update", scope="crm")
def productrow_update(call: Call) -> dict[str, Any]:
    row = _row(call)
    fields = {k: v for k, v in _fields(call).items() if k in ROW_FIELDS}
    updated = store_row(
        call.portal, row["ownerType"], row["ownerId"], {**engine_row_in(fields, row), "id": row["id"]}
    )
    _owner_changed(call, row["ownerType"], row["ownerId"])
    return {"productRow": row_out(updated)}


@method("crm.item.productrow.get", scope="crm")
def productrow_get(call: Call) -> dict[str, Any]:
    return {"productRow": row_out(_row(call))}


@method("crm.item.productrow.delete", scope="crm")
def productrow_delete(call: Call) -> list[Any]:
    row = _row(call)
    call.portal.state.t("productrow").delete(row["id"])
    _owner_changed(call, row["ownerType"], row["ownerId"])
    return []


@method("crm.item.productrow.list", scope="crm")
def productrow_list(call: Call) -> Result:
    flt = call.params.get("filter")
    if not isinstance(flt, Mapping) or "=ownerType" not in flt or "=ownerId" not in flt:
        raise RestError("INVALID_ARG_VALUE", "Filter must contain =ownerType and =ownerId")
    kind, ident = _owner(call, flt["=ownerType"], flt["=ownerId"])
    rest = {k: v for k, v in flt.items() if k not in ("=ownerType", "=ownerId")}
    group = parse_filter(rest)
    views = [row_out(r) for r in owner_rows(call.portal, kind, ident)]
    getter = _engine_getter(set(views[0]) if views else {"id"})
    try:
        chosen = [v for v in views if matches(v, group, getter)]
    except FilterError as exc:
        raise RestError(
            "INVALID_ARG_VALUE", f"Invalid filter: field '{exc.field}' is not allowed in filter"
        ) from exc
    page = page_rows(
        order_rows(chosen, call.params.get("order"), lambda r, n: r.get(n), "id"),
        call.params.get("start"),
        legacy=False,
    )
    return Result({"productRows": page.rows}, page.total, page.next)


@method("crm.item.productrow.fields", scope="crm")
def productrow_fields(call: Call) -> dict[str, Any]:
    return {
        "fields": {
            name: {
                "type": "string",
                "isRequired": name in ("ownerId", "ownerType"),
                "isReadOnly": False,
                "isMultiple": False,
                "title": name,
            }
            for name in ("id", "ownerId", "ownerType", *ROW_FIELDS)
        }
    }


# -- payments of smart invoices and deals (bitrix24.md §4.5, Appendix B) -------------------------


def _payment_owner(call: Call) -> tuple[int, dict[str, Any]]:
    entity_type = to_int(call.params.get("entityTypeId"))
    if entity_type not in (2, 31):
        raise RestError("ENTITY_TYPE_NOT_SUPPORTED", f"Entity type {entity_type} is not supported")
    table = "item" if entity_type == 31 else "deal"
    owner = call.portal.state.t(table).get(call.params.get("entityId"))
    if owner is None:
        raise RestError("OWNER_NOT_FOUND", "Owner was not found")
    return entity_type, owner


def _payment_view(call: Call, row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **{k: v for k, v in row.items() if k not in ("entityTypeId", "entityId")},
        "datePaid": None if row["datePaid"] is None else call.portal.iso(row["datePaid"]),
    }


@method("crm.item.payment.add", scope="crm")
def payment_add(call: Call) -> int:
    entity_type, owner = _payment_owner(call)
    owner_id = owner.get("id", owner.get("ID"))
    total = owner.get("opportunity", owner.get("OPPORTUNITY", 0.0))
    existing = [p for p in call.portal.state.t("payment") if p["entityId"] == owner_id]
    row = call.portal.state.t("payment").insert(
        {
            "entityTypeId": entity_type,
            "entityId": owner_id,
            "accountNumber": f"{owner_id}/{len(existing) + 1}",
            "paid": "N",
            "datePaid": None,
            "empPaidId": None,
            "paySystemId": 6,
            "sum": to_number(total),
            "currency": owner.get("currencyId", owner.get("CURRENCY_ID", "RUB")),
            "paySystemName": "Cash",
        }
    )
    return int(row["id"])


@method("crm.item.payment.list", scope="crm")
def payment_list(call: Call) -> list[dict[str, Any]]:
    entity_type, owner = _payment_owner(call)
    owner_id = owner.get("id", owner.get("ID"))
    return [
        _payment_view(call, p)
        for p in call.portal.state.t("payment")
        if p["entityTypeId"] == entity_type and p["entityId"] == owner_id
    ]


def _payment(call: Call) -> dict[str, Any]:
    row = call.portal.state.t("payment").get(call.params.get("id"))
    if row is None:
        raise RestError("NOT_FOUND", "Payment not found")
    return row


@method("crm.item.payment.get", scope="crm")
def payment_get(call: Call) -> dict[str, Any]:
    return _payment_view(call, _payment(call))


@method("crm.item.payment.pay", scope="crm")
def payment_pay(call: Call) -> bool:
    row = _payment(call)
    row.update({"paid": "Y", "datePaid": call.now, "empPaidId": call.auth.user_id})
    return True


@method("crm.item.payment.unpay", scope="crm")
def payment_unpay(call: Call) -> bool:
    row = _payment(call)
    row.update({"paid": "N", "datePaid": None, "empPaidId": None})
    return True


@method("crm.item.payment.delete", scope="crm")
def payment_delete(call: Call) -> bool:
    call.portal.state.t("payment").delete(_payment(call)["id"])
    return True
