"""Catalog directories of the fake: sections, price types and prices, VAT, measures, stores, stock
documents, images, catalogs — with their legacy ``crm.*`` twins where those exist.

No I/O. bitrix24.md §3.3-§3.9. ``catalog.price.modify`` replaces the whole price set; one price per
(product, price type); parent products carry no prices; with inventory management on, stock changes
only when an inventory document is conducted (A/S/R add to ``storeTo``, D takes from ``storeFrom``,
M moves) and ``catalog.document.cancel`` reverts it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from b24_bridge.fake.legacy import BAD_ID, NOT_FOUND, legacy_error, legacy_fields
from b24_bridge.fake.query import matches, order_rows, page_rows, parse_filter
from b24_bridge.fake.registry import Call, Result, method
from b24_bridge.fake.state import OFFERS_IBLOCK, PRODUCT_IBLOCK, SKU_PROPERTY
from b24_bridge.fake.store import RestError, legacy_value, to_int, to_number, yn

__all__ = ["insert_price", "picture"]

SINGLE_PRICE: Final = (
    "Validate price error. Catalog product is allowed has only single price without ranges in price group"
)
_TRANSLIT: Final = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)


def _err(code: str, description: str) -> RestError:
    return RestError(code, description)


def _fields(call: Call) -> Mapping[str, Any]:
    fields = call.params.get("fields")
    if not isinstance(fields, Mapping):
        raise _err("100", "Required parameter 'fields' is missing")
    return fields


def _plain(row: Mapping[str, Any], call: Call) -> dict[str, Any]:
    return {
        k: (
            call.portal.iso(v)
            if k in ("timestampX", "dateCreate", "dateModify", "createTime") and isinstance(v, float)
            else v
        )
        for k, v in row.items()
        if not k.startswith("_")
    }


def _listing(call: Call, rows: list[dict[str, Any]], key: str, *, require_iblock: bool = False) -> Result:
    flt = call.params.get("filter")
    if require_iblock and (not isinstance(flt, Mapping) or not any(k.lstrip("=") == "iblockId" for k in flt)):
        raise _err("0", "Required filter field: iblockId")
    group = parse_filter(flt)
    chosen = [r for r in rows if matches(r, group, lambda r, n: r.get(n))]
    chosen = order_rows(
        chosen, call.params.get("order"), lambda r, n: r.get(n), "id", rng=call.portal.list_rng()
    )
    page = page_rows(chosen, call.params.get("start"), legacy=False)
    raw_select = call.params.get("select")
    select = [str(s) for s in (raw_select.values() if isinstance(raw_select, Mapping) else raw_select or [])]
    out = [_plain(r, call) for r in page.rows]
    if select and "*" not in select:
        out = [{k: v for k, v in r.items() if k in select} for r in out]
    return Result({key: out}, page.total, page.next)


def _crud(
    prefix: str,
    table: str,
    key: str,
    list_key: str,
    *,
    writable: tuple[str, ...],
    required: tuple[str, ...] = (),
    defaults: Mapping[str, Any] | None = None,
    validate: Callable[[Call, dict[str, Any]], None] | None = None,
    scope: str = "catalog",
    missing: str = "Entity does not exist",
) -> None:
    def get_row(call: Call) -> dict[str, Any]:
        row = call.portal.state.t(table).get(call.params.get("id"))
        if row is None:
            raise _err("0", missing)
        return row

    def add(call: Call) -> dict[str, Any]:
        fields = _fields(call)
        for name in required:
            if fields.get(name) in (None, ""):
                raise _err("0", f"Required fields are not provided: {name}")
        row = dict(defaults or {})
        row.update({k: v for k, v in fields.items() if k in writable})
        if validate is not None:
            validate(call, row)
        row["timestampX"] = call.now
        call.portal.state.t(table).insert(row)
        return {key: _plain(row, call)}

    def update(call: Call) -> dict[str, Any]:
        row = get_row(call)
        candidate = {**row, **{k: v for k, v in _fields(call).items() if k in writable}}
        if validate is not None:
            validate(call, candidate)
        row.update(candidate)
        row["timestampX"] = call.now
        return {key: _plain(row, call)}

    def get(call: Call) -> dict[str, Any]:
        return {key: _plain(get_row(call), call)}

    def delete(call: Call) -> bool:
        call.portal.state.t(table).delete(get_row(call)["id"])
        return True

    def listing(call: Call) -> Result:
        return _listing(call, list(call.portal.state.t(table)), list_key)

    for suffix, handler in (
        ("add", add),
        ("update", update),
        ("get", get),
        ("delete", delete),
        ("list", listing),
    ):
        method(f"{prefix}.{suffix}", scope=scope)(handler)


# -- sections -----------------------------------------------------------------------------------


def _code(name: str) -> str:
    text = "".join(_TRANSLIT.get(ch, ch) for ch in name.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "section"


def _section_validate(call: Call, row: dict[str, Any]) -> None:
    if to_int(row.get("iblockId")) not in (PRODUCT_IBLOCK, OFFERS_IBLOCK):
        raise _err("200700300050", "Iblock does not exist")
    row["iblockId"] = to_int(row["iblockId"])
    parent = row.get("iblockSectionId")
    if parent not in (None, "", 0, "0"):
        if call.portal.state.t("section").get(parent) is None:
            raise _err("0", f"Section {parent} does not exist")
        row["iblockSectionId"] = to_int(parent)
    else:
        row["iblockSectionId"] = None
    if not row.get("code"):
        base = _code(str(row["name"]))
        taken = {s["code"] for s in call.portal.state.t("section") if s.get("id") != row.get("id")}
        row["code"] = base if base not in taken else f"{base}-{call.portal.state.t('section').next_id}"
    elif any(
        s["code"] == row["code"] and s["iblockId"] == row["iblockId"] and s.get("id") != row.get("id")
        for s in call.portal.state.t("section")
    ):
        raise _err("200700300040", "Section code is not unique")
    row["active"] = yn(row.get("active"), "Y")
    row["sort"] = to_int(row.get("sort"), 500)


_crud(
    "catalog.section",
    "section",
    "section",
    "sections",
    writable=(
        "iblockId",
        "name",
        "iblockSectionId",
        "xmlId",
        "code",
        "sort",
        "active",
        "description",
        "descriptionType",
    ),
    required=("iblockId", "name"),
    defaults={"xmlId": None, "description": None, "descriptionType": "text"},
    validate=_section_validate,
    missing="Section does not exist",
)


@method("catalog.section.list", scope="catalog")
def section_list(call: Call) -> Result:
    return _listing(call, list(call.portal.state.t("section")), "sections", require_iblock=True)


_LEGACY_SECTION: Final = {
    "ID": "id",
    "CATALOG_ID": "iblockId",
    "SECTION_ID": "iblockSectionId",
    "NAME": "name",
    "XML_ID": "xmlId",
    "CODE": "code",
}


def _legacy_section(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: legacy_value(row.get(v)) for k, v in _LEGACY_SECTION.items()}


def _legacy_section_row(call: Call) -> dict[str, Any]:
    if to_int(call.params.get("id", call.params.get("ID"))) <= 0:
        raise legacy_error(BAD_ID)
    row = call.portal.state.t("section").get(call.params.get("id", call.params.get("ID")))
    if row is None:
        raise legacy_error(NOT_FOUND)
    return row


@method("crm.productsection.add", scope="crm")
def productsection_add(call: Call) -> int:
    fields = legacy_fields(call)
    if not fields.get("NAME"):
        raise legacy_error("Required fields are not filled: NAME")
    row = {v: fields[k] for k, v in _LEGACY_SECTION.items() if k in fields and k != "ID"}
    row.setdefault("iblockId", PRODUCT_IBLOCK)
    _section_validate(call, row)
    row["timestampX"] = call.now
    call.portal.state.t("section").insert(row)
    call.emit("ONCRMPRODUCTSECTIONADD", {"FIELDS": {"ID": row["id"]}})
    return int(row["id"])


@method("crm.productsection.update", scope="crm")
def productsection_update(call: Call) -> bool:
    row = _legacy_section_row(call)
    fields = legacy_fields(call)
    candidate = {**row, **{v: fields[k] for k, v in _LEGACY_SECTION.items() if k in fields and k != "ID"}}
    _section_validate(call, candidate)
    row.update(candidate)
    call.emit("ONCRMPRODUCTSECTIONUPDATE", {"FIELDS": {"ID": row["id"]}})
    return True


@method("crm.productsection.get", scope="crm")
def productsection_get(call: Call) -> dict[str, Any]:
    return _legacy_section(_legacy_section_row(call))


@method("crm.productsection.delete", scope="crm")
def productsection_delete(call: Call) -> bool:
    row = _legacy_section_row(call)
    call.portal.state.t("section").delete(row["id"])
    call.emit("ONCRMPRODUCTSECTIONDELETE", {"FIELDS": {"ID": row["id"]}})
    return True


@method("crm.productsection.list", scope="crm")
def productsection_list(call: Call) -> Result:
    def getter(row: Mapping[str, Any], name: str) -> Any:
        return row.get(_LEGACY_SECTION.get(name, name))

    group = parse_filter(call.params.get("filter"))
    rows = [r for r in call.portal.state.t("section") if matches(r, group, getter)]
    rows = order_rows(rows, call.params.get("order"), getter, "ID", rng=call.portal.list_rng())
    page = page_rows(rows, call.params.get("start"), legacy=True)
    return Result([_legacy_section(r) for r in page.rows], page.total, page.next)


# -- price types and prices ---------------------------------------------------------------------

def _price_type_validate(call: Call, row: dict[str, Any]) -> None:
    """One base price type: making a type the base demotes the previous one (like the real portal)."""
    row["base"] = yn(row.get("base"), "N")
    if row["base"] == "Y":
        for other in call.portal.state.t("pricetype"):
            if other.get("id") != row.get("id") and other.get("base") == "Y":
                other["base"] = "N"


_crud(
    "catalog.priceType",
    "pricetype",
    "priceType",
    "priceTypes",
    writable=("name", "base", "sort", "xmlId"),
    required=("name",),
    defaults={"base": "N", "sort": 100, "xmlId": None},
    validate=_price_type_validate,
    missing="Price type does not exist",
)


# -- product properties (catalog.productProperty.*) ----------------------------------------------


def _property_validate(call: Call, row: dict[str, Any]) -> None:
    if to_int(row.get("iblockId")) not in (PRODUCT_IBLOCK, OFFERS_IBLOCK):
        raise _err("200040300000", f"Iblock {row.get('iblockId')} is not a trade catalog")
    row["iblockId"] = to_int(row["iblockId"])
    if str(row.get("propertyType") or "S") not in ("S", "N", "L", "F", "E", "G"):
        raise _err("0", f"Unknown property type {row.get('propertyType')!r}")
    code = row.get("code")
    if code and any(
        p.get("code") == code and p["iblockId"] == row["iblockId"] and p.get("id") != row.get("id")
        for p in call.portal.state.t("productproperty")
    ):
        raise _err("0", f"Property with code {code} already exists in iblock {row['iblockId']}")


_crud(
    "catalog.productProperty",
    "productproperty",
    "productProperty",
    "productProperties",
    writable=("iblockId", "name", "code", "propertyType", "multiple", "active", "sort", "xmlId"),
    required=("iblockId", "name"),
    defaults={"propertyType": "S", "multiple": "N", "active": "Y", "sort": 500, "code": None, "xmlId": None},
    validate=_property_validate,
    missing="Property does not exist",
)


def insert_price(
    call: Call,
    product_id: int,
    group: int,
    price: float,
    currency: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Add one price row, enforcing one price per (product, price type) (bitrix24.md §3.6)."""
    state = call.portal.state
    product = state.t("element").get(product_id)
    if product is None:
        raise _err("0", f"Product {product_id} does not exist")
    if product["type"] == 3:
        raise _err("0", "Validate price error. Parent products (type 3) have no prices: price the variations")
    if state.t("pricetype").get(group) is None:
        raise _err("0", "Validate price error. Catalog price group is wrong")
    if any(p["productId"] == product_id and p["catalogGroupId"] == group for p in state.t("price")):
        raise _err("0", SINGLE_PRICE)
    row = {
        "productId": product_id,
        "catalogGroupId": group,
        "price": price,
        "priceScale": price,
        "currency": currency,
        "extraId": None,
        "quantityFrom": None,
        "quantityTo": None,
        "timestampX": call.now,
    }
    row.update(extra or {})
    state.t("price").insert(row)
    call.emit("CATALOG.PRICE.ON.ADD", {"FIELDS": {"ID": row["id"]}})
    return row


def _price_fields(fields: Mapping[str, Any], *, full: bool) -> tuple[int, int, float, str]:
    names = ("productId", "catalogGroupId", "price", "currency") if full else ("price", "currency")
    for name in names:
        if fields.get(name) in (None, ""):
            raise _err("0", f"Required fields are not provided: {name}")
    return (
        to_int(fields.get("productId")),
        to_int(fields.get("catalogGroupId")),
        to_number(fields["price"]),
        str(fields["currency"]),
    )


@method("catalog.price.add", scope="catalog")
def price_add(call: Call) -> dict[str, Any]:
    product, group, price, currency = _price_fields(_fields(call), full=True)
    return {"price": _plain(insert_price(call, product, group, price, currency), call)}


def _price_row(call: Call) -> dict[str, Any]:
    row = call.portal.state.t("price").get(call.params.get("id"))
    if row is None:
        raise _err("0", "Price does not exist")
    return row


@method("catalog.price.update", scope="catalog")
def price_update(call: Call) -> dict[str, Any]:
    row = _price_row(call)
    _, _, price, currency = _price_fields(_fields(call), full=False)
    row.update({"price": price, "priceScale": price, "currency": currency, "timestampX": call.now})
    call.emit("CATALOG.PRICE.ON.UPDATE", {"FIELDS": {"ID": row["id"]}})
    return {"price": _plain(row, call)}


@method("catalog.price.get", scope="catalog")
def price_get(call: Call) -> dict[str, Any]:
    return {"price": _plain(_price_row(call), call)}


@method("catalog.price.delete", scope="catalog")
def price_delete(call: Call) -> bool:
    row = _price_row(call)
    call.portal.state.t("price").delete(row["id"])
    call.emit("CATALOG.PRICE.ON.DELETE", {"FIELDS": {"ID": row["id"]}})
    return True


@method("catalog.price.list", scope="catalog")
def price_list(call: Call) -> Result:
    return _listing(call, list(call.portal.state.t("price")), "prices")


@method("catalog.price.modify", scope="catalog")
def price_modify(call: Call) -> dict[str, Any]:
    """Replace the whole price set of a product: listed ids updated, new rows added, others deleted."""
    product = _fields(call).get("product")
    if not isinstance(product, Mapping) or "id" not in product:
        raise _err("100", "Required parameter 'fields[product][id]' is missing")
    product_id = to_int(product["id"])
    raw = product.get("prices") or []
    items = list(raw.values()) if isinstance(raw, Mapping) else list(raw)
    table = call.portal.state.t("price")
    current = {p["id"]: p for p in table if p["productId"] == product_id}
    keep: set[int] = set()
    groups: set[int] = set()
    for item in items:
        group = to_int(item.get("catalogGroupId"))
        if group in groups:
            raise _err("0", SINGLE_PRICE)
        groups.add(group)
        if item.get("id") not in (None, "") and to_int(item["id"]) in current:
            keep.add(to_int(item["id"]))
    for ident in set(current) - keep:
        table.delete(ident)
    out = []
    for item in items:
        _, group, price, currency = _price_fields({**item, "productId": product_id}, full=True)
        ident = to_int(item.get("id"))
        if ident in keep:
            row = current[ident]
            row.update(
                {
                    "catalogGroupId": group,
                    "price": price,
                    "priceScale": price,
                    "currency": currency,
                    "timestampX": call.now,
                }
            )
        else:
            row = insert_price(call, product_id, group, price, currency)
        out.append(_plain(row, call))
    return {"prices": out}


# -- VAT, measures, catalogs --------------------------------------------------------------------

_crud(
    "catalog.vat",
    "vat",
    "vat",
    "vats",
    writable=("name", "rate", "active", "sort"),
    required=("name",),
    defaults={"active": "Y", "sort": 100, "rate": None},
    missing="VAT rate does not exist",
)


def _measure_validate(call: Call, row: dict[str, Any]) -> None:
    row["code"] = to_int(row.get("code"))
    if any(m["code"] == row["code"] and m.get("id") != row.get("id") for m in call.portal.state.t("measure")):
        raise _err("0", f"Measure with code {row['code']} already exists")


_crud(
    "catalog.measure",
    "measure",
    "measure",
    "measures",
    writable=("code", "measureTitle", "symbol", "symbolIntl", "symbolLetterIntl", "isDefault"),
    required=("code", "measureTitle"),
    defaults={"isDefault": "N"},
    validate=_measure_validate,
    missing="Measure does not exist",
)


@method("crm.vat.list", scope="crm")
def crm_vat_list(call: Call) -> Result:
    rows = [
        {
            "ID": str(v["id"]),
            "TIMESTAMP_X": call.portal.iso(v["timestampX"] or call.now),
            "ACTIVE": v["active"],
            "C_SORT": str(v["sort"]),
            "NAME": v["name"],
            "RATE": None if v["rate"] is None else f"{float(v['rate']):.2f}",
        }
        for v in call.portal.state.t("vat")
    ]
    return Result(rows, len(rows))


@method("crm.measure.list", scope="crm")
def crm_measure_list(call: Call) -> Result:
    rows = [
        {
            "ID": str(m["id"]),
            "CODE": str(m["code"]),
            "MEASURE_TITLE": m["measureTitle"],
            "SYMBOL_RUS": m["symbol"],
            "SYMBOL_INTL": m["symbolIntl"],
            "SYMBOL_LETTER_INTL": m["symbolLetterIntl"],
            "IS_DEFAULT": m["isDefault"],
        }
        for m in call.portal.state.t("measure")
    ]
    return Result(rows, len(rows))


_CATALOGS: Final = (
    {
        "id": PRODUCT_IBLOCK,
        "iblockId": PRODUCT_IBLOCK,
        "iblockTypeId": 0,
        "lid": "s1",
        "name": "CRM product catalog",
        "productIblockId": None,
        "skuPropertyId": None,
        "subscription": "N",
        "vatId": 1,
    },
    {
        "id": OFFERS_IBLOCK,
        "iblockId": OFFERS_IBLOCK,
        "iblockTypeId": 0,
        "lid": "s1",
        "name": "CRM product catalog (offers)",
        "productIblockId": PRODUCT_IBLOCK,
        "skuPropertyId": SKU_PROPERTY,
        "subscription": "N",
        "vatId": 1,
    },
)


@method("catalog.catalog.list", scope="catalog")
def catalog_list(call: Call) -> Result:
    return _listing(call, [dict(c) for c in _CATALOGS], "catalogs")


@method("catalog.catalog.isOffers", scope="catalog")
def catalog_is_offers(call: Call) -> bool:
    return to_int(call.params.get("id")) == OFFERS_IBLOCK


@method("crm.catalog.list", scope="crm")
def crm_catalog_list(call: Call) -> Result:
    rows = [
        {
            "ID": str(PRODUCT_IBLOCK),
            "NAME": "Товары CRM",
            "ORIGINATOR_ID": None,
            "ORIGIN_ID": None,
            "XML_ID": f"crm_external_{PRODUCT_IBLOCK}",
        }
    ]
    return Result(rows, 1)


# -- images -------------------------------------------------------------------------------------


def picture(call: Call, row: Mapping[str, Any], key: str, value: Any) -> Any:
    """``{"fileData": [name, base64]}`` stores a file; ``{"remove": "Y"}`` deletes it."""
    if isinstance(value, Mapping):
        if str(value.get("remove", "")).upper() == "Y":
            return None
        data = value.get("fileData")
        if isinstance(data, (list, tuple)) and len(data) == 2:
            _decode(str(data[1]))
            ident = call.portal.state.t("image").next_id
            call.portal.state.t("image").next_id += 1
            return {"id": ident, "url": f"/upload/iblock/{ident}/{data[0]}"}
    return row.get(key)


def _decode(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except ValueError as exc:
        raise _err("0", "Invalid file type") from exc


def _image_view(row: Mapping[str, Any], call: Call) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "productId": row["productId"],
        "type": row["type"],
        "createTime": call.portal.iso(row["createTime"]),
        "detailUrl": f"/upload/iblock/{row['id']}/{row['name']}",
        "downloadUrl": f"/rest/download/?fileId={row['id']}",
    }


@method("catalog.productImage.add", scope="catalog")
def image_add(call: Call) -> dict[str, Any]:
    fields = _fields(call)
    content = call.params.get("fileContent")
    if isinstance(content, Mapping):
        content = list(content.values())
    if not isinstance(content, list) or len(content) != 2:
        raise _err("100", "Required parameter 'fileContent' is missing")
    product = call.portal.state.t("element").get(fields.get("productId"))
    if product is None:
        raise _err("0", "Product not found")
    name = str(content[0])
    if not re.search(r"\.(jpe?g|png|gif|webp|bmp)$", name, re.IGNORECASE):
        raise _err("0", "Invalid file type")
    size = len(_decode(str(content[1])))
    kind = str(fields.get("type") or "MORE_PHOTO")
    row = call.portal.state.t("image").insert(
        {"productId": product["id"], "type": kind, "name": name, "size": size, "createTime": call.now}
    )
    return {"productImage": _image_view(row, call)}


@method("catalog.productImage.list", scope="catalog")
def image_list(call: Call) -> dict[str, Any]:
    product_id = to_int(call.params.get("productId"))
    if call.portal.state.t("element").get(product_id) is None:
        raise _err("0", "Product not found")
    return {
        "productImages": [
            _image_view(r, call) for r in call.portal.state.t("image") if r.get("productId") == product_id
        ]
    }


def _image(call: Call) -> dict[str, Any]:
    row = call.portal.state.t("image").get(call.params.get("id"))
    if row is None or row.get("productId") != to_int(call.params.get("productId")):
        raise _err("0", "Image not found")
    return row


@method("catalog.productImage.get", scope="catalog")
def image_get(call: Call) -> dict[str, Any]:
    return {"productImage": _image_view(_image(call), call)}


@method("catalog.productImage.delete", scope="catalog")
def image_delete(call: Call) -> bool:
    call.portal.state.t("image").delete(_image(call)["id"])
    return True


# -- stores, stock and inventory documents ------------------------------------------------------

_crud(
    "catalog.store",
    "store",
    "store",
    "stores",
    writable=("title", "address", "code", "xmlId", "active", "sort"),
    required=("address",),
    defaults={"active": "Y", "sort": 100, "code": None, "xmlId": None, "title": ""},
    missing="Store does not exist",
)


@method("catalog.storeproduct.list", scope="catalog")
def storeproduct_list(call: Call) -> Result:
    return _listing(call, list(call.portal.state.t("storeproduct")), "storeProducts")


@method("catalog.storeproduct.get", scope="catalog")
def storeproduct_get(call: Call) -> dict[str, Any]:
    row = call.portal.state.t("storeproduct").get(call.params.get("id"))
    if row is None:
        raise _err("0", "Store product does not exist")
    return {"storeProduct": dict(row)}


@method("catalog.document.mode.status", scope="catalog")
def document_mode(call: Call) -> str:
    return "Y" if call.portal.state.inventory_mode else "N"


_crud(
    "catalog.document",
    "document",
    "document",
    "documents",
    writable=(
        "docType",
        "currency",
        "responsibleId",
        "title",
        "docNumber",
        "dateDocument",
        "commentary",
        "siteId",
    ),
    required=("docType", "currency", "responsibleId"),
    defaults={"status": "N", "siteId": "s1", "title": ""},
    validate=lambda call, row: _document_validate(row),
    missing="Document does not exist",
)


def _document_validate(row: dict[str, Any]) -> None:
    if str(row.get("docType")) not in ("A", "S", "M", "R", "D"):
        raise _err("0", "DOC_TYPE isn't available")
    if row.get("status", "N") == "Y":
        raise RestError("ERROR_DOCUMENT_STATUS", "The document is conducted")


@method("catalog.document.element.add", scope="catalog")
def document_element_add(call: Call) -> dict[str, Any]:
    fields = _fields(call)
    doc = call.portal.state.t("document").get(fields.get("docId"))
    if doc is None or doc["status"] == "Y":
        raise RestError("ERROR_DOCUMENT_STATUS", "Document not found or already conducted")
    if call.portal.state.t("element").get(fields.get("elementId")) is None:
        raise _err("0", "Product not found")
    row = call.portal.state.t("docelement").insert(
        {
            "docId": doc["id"],
            "elementId": to_int(fields["elementId"]),
            "storeFrom": to_int(fields.get("storeFrom")) or None,
            "storeTo": to_int(fields.get("storeTo")) or None,
            "amount": to_number(fields.get("amount")),
            "purchasingPrice": to_number(fields.get("purchasingPrice")),
        }
    )
    return {"documentElement": dict(row)}


@method("catalog.document.element.list", scope="catalog")
def document_element_list(call: Call) -> Result:
    return _listing(call, list(call.portal.state.t("docelement")), "documentElements")


def _stock(call: Call, product_id: int, store_id: int | None, delta: float) -> None:
    if store_id is None or call.portal.state.t("store").get(store_id) is None:
        raise _err("0", f"Store {store_id} does not exist")
    table = call.portal.state.t("storeproduct")
    row = next((r for r in table if r["productId"] == product_id and r["storeId"] == store_id), None)
    if row is None:
        row = table.insert(
            {"productId": product_id, "storeId": store_id, "amount": 0.0, "quantityReserved": 0.0}
        )
    row["amount"] = round(row["amount"] + delta, 4)
    product = call.portal.state.t("element").get(product_id)
    if product is not None:
        product["quantity"] = sum(r["amount"] for r in table if r["productId"] == product_id)


def _move(call: Call, doc: Mapping[str, Any], sign: float) -> None:
    for element in [e for e in call.portal.state.t("docelement") if e["docId"] == doc["id"]]:
        amount = element["amount"] * sign
        kind = doc["docType"]
        if kind in ("A", "S", "R"):
            _stock(call, element["elementId"], element["storeTo"], amount)
        elif kind == "D":
            _stock(call, element["elementId"], element["storeFrom"], -amount)
        elif kind == "M":
            _stock(call, element["elementId"], element["storeFrom"], -amount)
            _stock(call, element["elementId"], element["storeTo"], amount)


@method("catalog.document.conduct", scope="catalog")
def document_conduct(call: Call) -> bool:
    if not call.portal.state.inventory_mode:
        raise _err("0", "Warehouse accounting must be enabled to conduct the document")
    doc = call.portal.state.t("document").get(call.params.get("id"))
    if doc is None or doc["status"] == "Y":
        raise RestError("ERROR_DOCUMENT_STATUS", "Document not found or already conducted")
    _move(call, doc, 1.0)
    doc["status"] = "Y"
    return True


@method("catalog.document.cancel", scope="catalog")
def document_cancel(call: Call) -> bool:
    doc = call.portal.state.t("document").get(call.params.get("id"))
    if doc is None or doc["status"] != "Y":
        raise RestError("ERROR_DOCUMENT_STATUS", "Document not found or not conducted")
    _move(call, doc, -1.0)
    doc["status"] = "C"
    return True


def to_legacy_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k.upper(): v for k, v in fields.items()}
