"""Product rows shared by deals (``crm.deal.productrows.*``, owner type ``D``) and ``crm.item.productrow.*``.

No I/O. Price arithmetic of bitrix24.md §4.4, rounded to kopecks at each step as the documented
example requires (price 80000, tax 20 % included, discount 20 % -> exclusive 66666.67, netto
83333.34, brutto 100000.01, discount sum 16666.67).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from b24_bridge.fake.store import to_int, to_number, yn

if TYPE_CHECKING:
    from b24_bridge.fake.portal import FakePortal

__all__ = [
    "LEGACY_ROW_FIELDS",
    "ROW_FIELDS",
    "engine_row_in",
    "legacy_row_in",
    "legacy_row_out",
    "owner_rows",
    "price_parts",
    "replace_rows",
    "row_out",
    "rows_total",
]

ROW_FIELDS: Final = (
    "productId",
    "productName",
    "price",
    "quantity",
    "discountTypeId",
    "discountRate",
    "discountSum",
    "taxRate",
    "taxIncluded",
    "measureCode",
    "measureName",
    "sort",
    "xmlId",
    "storeId",
)
LEGACY_ROW_FIELDS: Final = {
    "PRODUCT_ID": "productId",
    "PRODUCT_NAME": "productName",
    "PRICE": "price",
    "QUANTITY": "quantity",
    "DISCOUNT_TYPE_ID": "discountTypeId",
    "DISCOUNT_RATE": "discountRate",
    "DISCOUNT_SUM": "discountSum",
    "TAX_RATE": "taxRate",
    "TAX_INCLUDED": "taxIncluded",
    "MEASURE_CODE": "measureCode",
    "MEASURE_NAME": "measureName",
    "SORT": "sort",
    "XML_ID": "xmlId",
    "STORE_ID": "storeId",
}


def price_parts(row: Mapping[str, Any]) -> dict[str, float]:
    """priceExclusive, priceNetto, priceBrutto, discountSum of a row (bitrix24.md §4.4)."""
    price = to_number(row.get("price"))
    tax = row.get("taxRate")
    tax_rate = 0.0 if tax is None or tax == "" else to_number(tax)
    exclusive = round(price / (1 + tax_rate / 100), 2) if row.get("taxIncluded") == "Y" else round(price, 2)
    if to_int(row.get("discountTypeId"), 2) == 2:
        rate = to_number(row.get("discountRate"))
        netto = round(exclusive / (1 - rate / 100), 2) if rate < 100 else exclusive
    else:
        netto = round(exclusive + to_number(row.get("discountSum")), 2)
    return {
        "priceExclusive": exclusive,
        "priceNetto": netto,
        "priceBrutto": round(netto * (1 + tax_rate / 100), 2),
        "discountSum": round(netto - exclusive, 2),
    }


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def engine_row_in(item: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A row as stored, from camelCase input over ``base`` (an existing row on update)."""
    row: dict[str, Any] = dict(
        base
        or {
            "productId": 0,
            "productName": "",
            "price": 0.0,
            "quantity": 1.0,
            "discountTypeId": 2,
            "discountRate": 0.0,
            "discountSum": 0.0,
            "taxRate": None,
            "taxIncluded": "N",
            "measureCode": None,
            "measureName": None,
            "sort": 10,
            "xmlId": "",
            "storeId": None,
        }
    )
    for name in ROW_FIELDS:
        if name in item:
            row[name] = item[name]
    row["productId"] = to_int(row["productId"])
    row["price"] = to_number(row["price"])
    row["quantity"] = to_number(row["quantity"], 1.0)
    row["discountTypeId"] = to_int(row["discountTypeId"], 2)
    row["discountRate"] = to_number(row["discountRate"])
    row["discountSum"] = to_number(row["discountSum"])
    row["taxRate"] = None if row["taxRate"] in (None, "") else to_number(row["taxRate"])
    row["taxIncluded"] = yn(row["taxIncluded"])
    row["sort"] = to_int(row["sort"], 10)
    return row


def legacy_row_in(item: Mapping[str, Any]) -> dict[str, Any]:
    converted = {LEGACY_ROW_FIELDS[k.upper()]: v for k, v in item.items() if k.upper() in LEGACY_ROW_FIELDS}
    row = engine_row_in(converted)
    row["_type_given"] = "DISCOUNT_TYPE_ID" in {k.upper() for k in item}
    row["_rate_missing"] = "DISCOUNT_RATE" not in {k.upper() for k in item} and "DISCOUNT_SUM" not in {
        k.upper() for k in item
    }
    return row


def owner_rows(portal: FakePortal, owner_type: str, owner_id: int) -> list[dict[str, Any]]:
    rows = [
        r for r in portal.state.t("productrow") if r["ownerType"] == owner_type and r["ownerId"] == owner_id
    ]
    return sorted(rows, key=lambda r: (r["sort"], r["id"]))


def _fill_from_catalog(portal: FakePortal, row: dict[str, Any]) -> None:
    product = portal.state.t("element").get(row["productId"]) if row["productId"] else None
    if product is not None:
        if not row.get("productName"):
            row["productName"] = product["name"]
        measure = portal.state.t("measure").get(product.get("measure"))
        if row.get("measureCode") in (None, "") and measure is not None:
            row["measureCode"] = measure["code"]
            row["measureName"] = measure["symbol"]
        row["type"] = product["type"]
    else:
        row["type"] = row.get("type") or 1
    if row.get("measureCode") in (None, ""):
        row["measureCode"] = 796
    row["measureCode"] = to_int(row["measureCode"], 796)
    if not row.get("measureName"):
        measure = next((m for m in portal.state.t("measure") if m["code"] == row["measureCode"]), None)
        row["measureName"] = measure["symbol"] if measure else ""


def store_row(portal: FakePortal, owner_type: str, owner_id: int, row: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in row.items() if not k.startswith("_")}
    row.update({"ownerType": owner_type, "ownerId": owner_id, "customized": "Y"})
    _fill_from_catalog(portal, row)
    if "id" in row:
        portal.state.t("productrow").rows[row["id"]] = row
        return row
    return portal.state.t("productrow").insert(row)


def replace_rows(
    portal: FakePortal, owner_type: str, owner_id: int, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``*.productrows.set`` / ``productrow.set``: all rows replaced (bitrix24.md §4.4, §4.6)."""
    table = portal.state.t("productrow")
    for old in owner_rows(portal, owner_type, owner_id):
        table.delete(old["id"])
    return [store_row(portal, owner_type, owner_id, r) for r in rows]


def rows_total(rows: list[dict[str, Any]]) -> float:
    return round(sum(to_number(r["price"]) * to_number(r["quantity"]) for r in rows), 2)


def row_out(row: Mapping[str, Any]) -> dict[str, Any]:
    """An engine row as ``crm.item.productrow.*`` answers it."""
    parts = price_parts(row)
    out = {
        "id": row["id"],
        "ownerId": row["ownerId"],
        "ownerType": row["ownerType"],
        "productId": row["productId"],
        "productName": row["productName"],
        "price": _num(row["price"]),
        "priceAccount": _num(row["price"]),
        "priceExclusive": _num(parts["priceExclusive"]),
        "priceNetto": _num(parts["priceNetto"]),
        "priceBrutto": _num(parts["priceBrutto"]),
        "quantity": _num(row["quantity"]),
        "discountTypeId": row["discountTypeId"],
        "discountRate": _num(row["discountRate"]),
        "discountSum": _num(parts["discountSum"] if row["discountTypeId"] == 2 else row["discountSum"]),
        "taxRate": None if row["taxRate"] is None else _num(row["taxRate"]),
        "taxIncluded": row["taxIncluded"],
        "customized": row.get("customized", "Y"),
        "measureCode": row["measureCode"],
        "measureName": row["measureName"],
        "sort": row["sort"],
        "xmlId": row.get("xmlId") or "",
        "type": row.get("type", 1),
        "storeId": row.get("storeId"),
    }
    return out


def legacy_row_out(row: Mapping[str, Any]) -> dict[str, Any]:
    engine = row_out(row)
    return {
        "ID": str(engine["id"]),
        "OWNER_ID": str(engine["ownerId"]),
        "OWNER_TYPE": engine["ownerType"],
        "PRODUCT_ID": engine["productId"],
        "PRODUCT_NAME": engine["productName"],
        "ORIGINAL_PRODUCT_NAME": engine["productName"],
        "PRICE": engine["price"],
        "PRICE_EXCLUSIVE": engine["priceExclusive"],
        "PRICE_NETTO": engine["priceNetto"],
        "PRICE_BRUTTO": engine["priceBrutto"],
        "PRICE_ACCOUNT": engine["priceAccount"],
        "QUANTITY": engine["quantity"],
        "DISCOUNT_TYPE_ID": engine["discountTypeId"],
        "DISCOUNT_RATE": engine["discountRate"],
        "DISCOUNT_SUM": engine["discountSum"],
        "TAX_RATE": engine["taxRate"],
        "TAX_INCLUDED": engine["taxIncluded"],
        "CUSTOMIZED": engine["customized"],
        "MEASURE_CODE": engine["measureCode"],
        "MEASURE_NAME": engine["measureName"],
        "SORT": engine["sort"],
        "XML_ID": engine["xmlId"],
        "TYPE": engine["type"],
        "STORE_ID": engine["storeId"],
    }
