"""The one product catalog of the fake, seen through ``catalog.*`` and legacy ``crm.product.*`` alike.

No I/O. Elements (products, parents with variations, variations, services) live in one table, so
``crm.product.*`` and ``catalog.product.*`` see the same ids, and variations (offers iblock) appear
in ``crm.product.list`` (bitrix24.md §3.1-§3.5). Legacy ``PRICE``/``CURRENCY_ID`` read and write the
base price type's price row. ``xmlId``/``XML_ID`` are not unique.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from b24_bridge.fake import catalog_stock
from b24_bridge.fake.legacy import BAD_ID, NOT_FOUND, legacy_error, legacy_fields
from b24_bridge.fake.query import order_rows, page_rows, parse_filter, select_rows
from b24_bridge.fake.registry import Call, Result, method
from b24_bridge.fake.state import OFFERS_IBLOCK, PRODUCT_IBLOCK
from b24_bridge.fake.store import RestError, legacy_value, to_int, to_number, yn

__all__ = ["KINDS", "LEGACY_PRODUCT_MAP"]

_PROP: Final = re.compile(r"^property(\d+)$")
ELEMENT_FIELDS: Final = (
    "id",
    "iblockId",
    "type",
    "name",
    "xmlId",
    "code",
    "active",
    "available",
    "iblockSectionId",
    "measure",
    "vatId",
    "vatIncluded",
    "previewText",
    "detailText",
    "previewTextType",
    "detailTextType",
    "previewPicture",
    "detailPicture",
    "quantity",
    "quantityReserved",
    "quantityTrace",
    "canBuyZero",
    "purchasingPrice",
    "purchasingCurrency",
    "weight",
    "width",
    "height",
    "length",
    "sort",
    "parentId",
    "timestampX",
    "dateCreate",
    "createdBy",
    "modifiedBy",
)
_READ_ONLY: Final = frozenset(
    {"id", "type", "available", "timestampX", "dateCreate", "createdBy", "modifiedBy", "parentId"}
)
_QUANTITY: Final = frozenset({"quantity", "quantityReserved"})
# kind -> (method prefix, product type on add, add/update key, get key, list key, iblock)
KINDS: Final[dict[str, tuple[str, int, str, str, str, int]]] = {
    "product": ("catalog.product", 1, "element", "product", "products", PRODUCT_IBLOCK),
    "sku": ("catalog.product.sku", 3, "sku", "sku", "units", PRODUCT_IBLOCK),
    "offer": ("catalog.product.offer", 4, "offer", "offer", "offers", OFFERS_IBLOCK),
    "service": ("catalog.product.service", 7, "service", "service", "services", PRODUCT_IBLOCK),
}
_KIND_TYPES: Final = {"product": None, "sku": {3, 6}, "offer": {4, 5}, "service": {7}}
LEGACY_PRODUCT_MAP: Final = {
    "ID": "id",
    "NAME": "name",
    "ACTIVE": "active",
    "CATALOG_ID": "iblockId",
    "SECTION_ID": "iblockSectionId",
    "XML_ID": "xmlId",
    "VAT_ID": "vatId",
    "VAT_INCLUDED": "vatIncluded",
    "MEASURE": "measure",
    "DESCRIPTION": "detailText",
    "DESCRIPTION_TYPE": "detailTextType",
    "SORT": "sort",
    "CODE": "code",
    "PREVIEW_PICTURE": "previewPicture",
    "DETAIL_PICTURE": "detailPicture",
    "DATE_CREATE": "dateCreate",
    "TIMESTAMP_X": "timestampX",
    "CREATED_BY": "createdBy",
    "MODIFIED_BY": "modifiedBy",
}


def _catalog_error(code: str, description: str) -> RestError:
    return RestError(code, description)


def _fields(call: Call) -> Mapping[str, Any]:
    fields = call.params.get("fields")
    if not isinstance(fields, Mapping):
        raise _catalog_error("100", "Required parameter 'fields' is missing")
    return fields


def _check_refs(call: Call, fields: Mapping[str, Any]) -> None:
    state = call.portal.state
    section = fields.get("iblockSectionId")
    if section not in (None, "", 0, "0") and state.t("section").get(section) is None:
        raise _catalog_error("0", f"Section {section} does not exist")
    vat = fields.get("vatId")
    if vat not in (None, "", 0, "0") and state.t("vat").get(vat) is None:
        raise _catalog_error("0", f"VAT rate {vat} does not exist")
    measure = fields.get("measure")
    if measure not in (None, "") and state.t("measure").get(measure) is None:
        raise _catalog_error("0", f"Measure {measure} does not exist")


def _write(call: Call, row: dict[str, Any], fields: Mapping[str, Any]) -> None:
    for key, value in fields.items():
        prop = _PROP.match(key)
        if prop is not None:
            row.setdefault("properties", {})[prop.group(1)] = (
                value.get("value") if isinstance(value, Mapping) else value
            )
        elif key in _QUANTITY and call.portal.state.inventory_mode:
            continue  # read-only while inventory management is on (bitrix24.md §3.9)
        elif key in ("previewPicture", "detailPicture"):
            row[key] = catalog_stock.picture(call, row, key, value)
        elif key in ELEMENT_FIELDS and key not in _READ_ONLY:
            row[key] = value
    # Inside a batch every value arrives as a string (PHP's parse_str); the portal casts ids.
    for name in ("iblockId", "iblockSectionId", "measure", "vatId", "sort"):
        if row.get(name) not in (None, ""):
            row[name] = to_int(row[name])
    for name in ("quantity", "purchasingPrice", "weight"):
        if row.get(name) not in (None, ""):
            row[name] = to_number(row[name])
    for name in ("active", "vatIncluded", "canBuyZero"):
        row[name] = yn(row.get(name), "Y" if name == "active" else "N")
    row["timestampX"] = call.now
    row["modifiedBy"] = call.auth.user_id


def new_element(call: Call, kind_type: int, iblock: int, fields: Mapping[str, Any]) -> dict[str, Any]:
    if not fields.get("name"):
        raise _catalog_error("0", "Required fields are not provided: name")
    _check_refs(call, fields)
    row: dict[str, Any] = {
        "iblockId": iblock,
        "type": kind_type,
        "active": "Y",
        "available": "Y",
        "quantity": 0.0,
        "quantityTrace": "D",
        "canBuyZero": "N",
        "vatIncluded": "N",
        "sort": 500,
        "measure": _default_measure(call),
        "dateCreate": call.now,
        "createdBy": call.auth.user_id,
        "xmlId": None,
        "code": None,
        "previewTextType": "text",
        "detailTextType": "text",
        "properties": {},
    }
    _write(call, row, fields)
    if kind_type == 4:
        parent = call.portal.state.t("element").get(fields.get("parentId"))
        if parent is None or parent["iblockId"] != PRODUCT_IBLOCK:
            raise _catalog_error("0", f"Parent product {fields.get('parentId')} does not exist")
        row["parentId"] = parent["id"]
        if parent["type"] in (1, 6):
            # A simple product (or a parent without variations) becomes a parent with variations
            # the moment a variation is attached, as the real portal does (bitrix24.md §3.5).
            parent["type"] = 3
    call.portal.state.t("element").insert(row)
    _emit(call, row, "ADD")
    return row


def _default_measure(call: Call) -> int | None:
    return next((m["id"] for m in call.portal.state.t("measure") if m["isDefault"] == "Y"), None)


def _emit(call: Call, row: Mapping[str, Any], action: str) -> None:
    call.emit(f"CATALOG.PRODUCT.ON.{action}", {"FIELDS": {"ID": row["id"], "TYPE": row["type"]}})
    call.emit(f"ONCRMPRODUCT{action}", {"FIELDS": {"ID": row["id"]}})


def element_view(row: Mapping[str, Any], select: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ELEMENT_FIELDS:
        if name == "parentId" and row["type"] not in (4, 5):
            continue
        value = row.get(name)
        if name == "parentId" and value is not None:
            value = {"value": str(value), "valueId": str(9000 + int(row["id"]))}
        out[name] = value
    for number, value in sorted(row.get("properties", {}).items()):
        out[f"property{number}"] = {
            "value": value,
            "valueId": str(9000 + int(row["id"]) * 10 + int(number) % 10),
        }
    if select and "*" not in select:
        out = {k: v for k, v in out.items() if k in select}
    return out


def _element(call: Call, kind: str) -> dict[str, Any]:
    row = call.portal.state.t("element").get(call.params.get("id"))
    types = _KIND_TYPES[kind]
    if row is None or (types is not None and row["type"] not in types):
        raise _catalog_error("0", "Product does not exist")
    return row


def _timestamps(call: Call, view: dict[str, Any]) -> dict[str, Any]:
    for name in ("timestampX", "dateCreate"):
        if isinstance(view.get(name), float):
            view[name] = call.portal.iso(view[name])
    return view


def _register_kind(kind: str) -> None:
    prefix, kind_type, add_key, get_key, list_key, iblock = KINDS[kind]

    def add(call: Call) -> dict[str, Any]:
        fields = _fields(call)
        if to_int(fields.get("iblockId")) != iblock:
            raise _catalog_error(
                "200040300000", f"Iblock {fields.get('iblockId')} does not exist or is wrong here"
            )
        return {add_key: _timestamps(call, element_view(new_element(call, kind_type, iblock, fields)))}

    def update(call: Call) -> dict[str, Any]:
        row = _element(call, kind)
        fields = _fields(call)
        _check_refs(call, fields)
        _write(call, row, fields)
        _emit(call, row, "UPDATE")
        return {add_key: _timestamps(call, element_view(row))}

    def get(call: Call) -> dict[str, Any]:
        return {get_key: _timestamps(call, element_view(_element(call, kind)))}

    def delete(call: Call) -> bool:
        row = _element(call, kind)
        delete_element(call, row)
        return True

    def listing(call: Call) -> Result:
        select = _names(call.params.get("select"))
        if not select or "id" not in select or "iblockId" not in select:
            raise _catalog_error("0", "Required select fields: id, iblockId")
        flt = call.params.get("filter")
        if not isinstance(flt, Mapping) or not any(k.lstrip("=") == "iblockId" for k in flt):
            raise _catalog_error("0", "Required filter field: iblockId")
        types = _KIND_TYPES[kind]
        group = parse_filter(flt)
        rows = select_rows(
            (r for r in call.portal.state.t("element") if types is None or r["type"] in types),
            group,
            _raw_getter,
        )
        rows = order_rows(rows, call.params.get("order"), _raw_getter, "id", rng=call.portal.list_rng())
        page = page_rows(rows, call.params.get("start"), legacy=False)
        views = [element_view(r) for r in page.rows]
        return Result(
            {list_key: [_timestamps(call, {k: v for k, v in r.items() if k in select}) for r in views]},
            page.total,
            page.next,
        )

    def describe(call: Call) -> dict[str, Any]:
        return {
            "product": {
                name: {
                    "type": "string",
                    "isRequired": name in ("iblockId", "name"),
                    "isReadOnly": name in _READ_ONLY,
                    "isImmutable": False,
                    "isMultiple": False,
                    "name": name,
                }
                for name in ELEMENT_FIELDS
            }
        }

    for suffix, handler in (
        ("add", add),
        ("update", update),
        ("get", get),
        ("delete", delete),
        ("list", listing),
        ("getFieldsByFilter", describe),
    ):
        method(f"{prefix}.{suffix}", scope="catalog")(handler)


def _raw_getter(row: Mapping[str, Any], name: str) -> Any:
    prop = _PROP.match(name)
    if prop is not None:
        return row.get("properties", {}).get(prop.group(1))
    return row.get(name)


def _flat_getter(row: Mapping[str, Any], name: str) -> Any:
    value = row.get(name)
    return value.get("value") if isinstance(value, Mapping) else value


def _names(raw: Any) -> list[str]:
    if isinstance(raw, Mapping):
        return [str(v) for v in raw.values()]
    if isinstance(raw, list):
        return [str(v) for v in raw]
    return []


def delete_element(call: Call, row: Mapping[str, Any]) -> None:
    state = call.portal.state
    for child in [e for e in state.t("element") if e.get("parentId") == row["id"]]:
        state.t("element").delete(child["id"])
    for price in [p for p in state.t("price") if p["productId"] == row["id"]]:
        state.t("price").delete(price["id"])
    state.t("element").delete(row["id"])
    _emit(call, row, "DELETE")


for _kind in KINDS:
    _register_kind(_kind)


# -- legacy crm.product.* -----------------------------------------------------------------------


def _base_price(call: Call, product_id: int) -> dict[str, Any] | None:
    base = next((t["id"] for t in call.portal.state.t("pricetype") if t["base"] == "Y"), 1)
    return next(
        (
            p
            for p in call.portal.state.t("price")
            if p["productId"] == product_id and p["catalogGroupId"] == base
        ),
        None,
    )


def legacy_product(call: Call, row: Mapping[str, Any], select: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for legacy, camel in LEGACY_PRODUCT_MAP.items():
        value = row.get(camel)
        if legacy in ("DATE_CREATE", "TIMESTAMP_X") and isinstance(value, float):
            out[legacy] = call.portal.iso(value)
        else:
            out[legacy] = legacy_value(value)
    price = _base_price(call, row["id"])
    out["PRICE"] = None if price is None else legacy_value(price["price"], money=True)
    out["CURRENCY_ID"] = None if price is None else price["currency"]
    wants_props = not select or "PROPERTY_*" in select
    for number, value in sorted(row.get("properties", {}).items()):
        name = f"PROPERTY_{number}"
        if wants_props or name in (select or []):
            out[name] = {"valueId": str(9000 + int(row["id"]) * 10 + int(number) % 10), "value": value}
    if select and "*" not in select:
        out = {k: v for k, v in out.items() if k in select or k == "ID" or k.startswith("PROPERTY_")}
    return out


def _legacy_getter(call: Call) -> Any:
    def getter(row: Mapping[str, Any], name: str) -> Any:
        if name == "PRICE":
            price = _base_price(call, row["id"])
            return None if price is None else price["price"]
        if name.startswith("PROPERTY_"):
            return row.get("properties", {}).get(name[9:])
        return row.get(LEGACY_PRODUCT_MAP.get(name, name))

    return getter


def _legacy_to_camel(fields: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key in LEGACY_PRODUCT_MAP:
            out[LEGACY_PRODUCT_MAP[key]] = value
        elif key.startswith("PROPERTY_"):
            out[f"property{key[9:]}"] = value
    return out


def _set_legacy_price(call: Call, product_id: int, fields: Mapping[str, Any]) -> None:
    if "PRICE" not in fields and "CURRENCY_ID" not in fields:
        return
    price = _base_price(call, product_id)
    if price is None:
        catalog_stock.insert_price(
            call, product_id, 1, to_number(fields.get("PRICE")), str(fields.get("CURRENCY_ID") or "RUB")
        )
    else:
        if "PRICE" in fields:
            price["price"] = to_number(fields["PRICE"])
        if "CURRENCY_ID" in fields:
            price["currency"] = str(fields["CURRENCY_ID"])
        price["timestampX"] = call.now


def _legacy_row(call: Call) -> dict[str, Any]:
    ident = call.params.get("id", call.params.get("ID"))
    if to_int(ident) <= 0:
        raise legacy_error(BAD_ID)
    row = call.portal.state.t("element").get(ident)
    if row is None:
        raise legacy_error(NOT_FOUND)
    return row


@method("crm.product.add", scope="crm")
def product_add(call: Call) -> int:
    fields = legacy_fields(call)
    if not fields.get("NAME"):
        raise legacy_error("Required fields are not filled: NAME")
    iblock = to_int(fields.get("CATALOG_ID"), PRODUCT_IBLOCK)
    if iblock not in (PRODUCT_IBLOCK, OFFERS_IBLOCK):
        raise legacy_error("Catalog not found")
    row = new_element(call, 1 if iblock == PRODUCT_IBLOCK else 5, iblock, _legacy_to_camel(fields))
    _set_legacy_price(call, row["id"], fields)
    return int(row["id"])


@method("crm.product.update", scope="crm")
def product_update(call: Call) -> bool:
    row = _legacy_row(call)
    fields = legacy_fields(call)
    camel = _legacy_to_camel(fields)
    _check_refs(call, camel)
    _write(call, row, camel)
    _set_legacy_price(call, row["id"], fields)
    _emit(call, row, "UPDATE")
    return True


@method("crm.product.get", scope="crm")
def product_get(call: Call) -> dict[str, Any]:
    return legacy_product(call, _legacy_row(call))


@method("crm.product.delete", scope="crm")
def product_delete(call: Call) -> bool:
    delete_element(call, _legacy_row(call))
    return True


@method("crm.product.list", scope="crm")
def product_list(call: Call) -> Result:
    """Products *and* variations (bitrix24.md §3.2); default order ``{sort: asc}``."""
    getter = _legacy_getter(call)
    group = parse_filter(call.params.get("filter"))
    rows = select_rows(call.portal.state.t("element"), group, getter)
    order = call.params.get("order") or {"SORT": "ASC"}
    rows = order_rows(rows, order, getter, "ID", rng=call.portal.list_rng())
    page = page_rows(rows, call.params.get("start"), legacy=True)
    select = _names(call.params.get("select"))
    return Result([legacy_product(call, r, select) for r in page.rows], page.total, page.next)


@method("crm.product.fields", scope="crm")
def product_fields(call: Call) -> dict[str, Any]:
    names = [*LEGACY_PRODUCT_MAP, "PRICE", "CURRENCY_ID"]
    return {
        n: {
            "type": "string",
            "isRequired": n == "NAME",
            "isReadOnly": n in ("ID", "DATE_CREATE", "TIMESTAMP_X"),
            "isMultiple": False,
            "title": n,
        }
        for n in names
    }
