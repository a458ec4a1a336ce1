"""The fake portal's entities through the client (both transports): catalog, invoices, deals, companies.

Each docstring names its source section of ``shared/docs/bitrix24.md``.
"""

from __future__ import annotations

import base64

import pytest

from b24_bridge import ApiError, InvalidArgument, NotFound

from .conftest import Harness


async def test_one_catalog_for_crm_product_and_catalog_methods(harness: Harness) -> None:
    """§3.1 / §3.2: crm.product.* and catalog.product.* share ids; variations appear in crm.product.list."""
    c = harness.client()
    legacy_id = await c.call(
        "crm.product.add",
        {
            "fields": {
                "NAME": "Болт М8",
                "XML_ID": "g1",
                "PRICE": 12.5,
                "CURRENCY_ID": "RUB",
                "VAT_ID": 4,
                "MEASURE": 5,
            }
        },
    )
    seen = await c.call("catalog.product.get", {"id": legacy_id})
    assert (
        seen["product"]["name"] == "Болт М8"
        and seen["product"]["xmlId"] == "g1"
        and seen["product"]["type"] == 1
    )
    parent = await c.call(
        "catalog.product.sku.add", {"fields": {"iblockId": 23, "name": "Футболка", "xmlId": "p"}}
    )
    assert parent["sku"]["type"] == 3
    offer = await c.call(
        "catalog.product.offer.add",
        {"fields": {"iblockId": 24, "parentId": parent["sku"]["id"], "name": "Футболка, M", "xmlId": "p#m"}},
    )
    assert offer["offer"]["parentId"]["value"] == str(parent["sku"]["id"]) and offer["offer"]["type"] == 4
    legacy = await c.call(
        "crm.product.list", {"order": {"ID": "ASC"}, "select": ["ID", "NAME", "PRICE", "CATALOG_ID"]}
    )
    assert [(r["ID"], r["CATALOG_ID"]) for r in legacy] == [("1", "23"), ("2", "23"), ("3", "24")]
    assert legacy[0]["PRICE"] == "12.50"
    got = await c.call("crm.product.get", {"id": legacy_id})
    assert got["ID"] == "1" and got["VAT_ID"] == "4" and got["CURRENCY_ID"] == "RUB"
    listed = await c.call(
        "catalog.product.offer.list",
        {
            "select": ["id", "iblockId", "xmlId", "parentId"],
            "filter": {"iblockId": 24, "parentId": parent["sku"]["id"]},
        },
    )
    assert [o["xmlId"] for o in listed["offers"]] == ["p#m"]


async def test_catalog_list_requires_iblock_and_id_in_select(harness: Harness) -> None:
    """§3.5 / §8.7 item 3: product lists need ``iblockId`` in the filter and ``id``+``iblockId`` in select."""
    c = harness.client()
    with pytest.raises(ApiError):
        await c.call("catalog.product.list", {"select": ["id", "iblockId"], "filter": {"xmlId": "x"}})
    with pytest.raises(ApiError):
        await c.call("catalog.product.list", {"select": ["name"], "filter": {"iblockId": 23}})
    with pytest.raises(ApiError) as info:
        await c.call("catalog.product.add", {"fields": {"iblockId": 23, "name": "x", "vatId": 99}})
    assert info.value.code == "0" and "VAT" in info.value.description


async def test_xml_id_is_not_unique(harness: Harness) -> None:
    """§3.1: ``xmlId`` is not unique in Bitrix24: two products with one xmlId are both created."""
    c = harness.client()
    for _ in range(2):
        await c.call("catalog.product.add", {"fields": {"iblockId": 23, "name": "dup", "xmlId": "same"}})
    found = await c.call(
        "catalog.product.list", {"select": ["id", "iblockId"], "filter": {"iblockId": 23, "xmlId": "same"}}
    )
    assert [p["id"] for p in found["products"]] == [1, 2]


async def test_sections_shared_with_crm_productsection(harness: Harness) -> None:
    """§3.4 / §3.2: catalog.section.* and crm.productsection.* see the same sections; code unique."""
    c = harness.client()
    section = await c.call(
        "catalog.section.add", {"fields": {"iblockId": 23, "name": "Крепёж", "xmlId": "grp"}}
    )
    assert section["section"]["code"] == "krepezh"
    legacy = await c.call("crm.productsection.list", {"filter": {"XML_ID": "grp"}})
    assert legacy == [
        {
            "ID": "1",
            "CATALOG_ID": "23",
            "SECTION_ID": None,
            "NAME": "Крепёж",
            "XML_ID": "grp",
            "CODE": "krepezh",
        }
    ]
    with pytest.raises(ApiError) as info:
        await c.call("catalog.section.add", {"fields": {"iblockId": 23, "name": "Другой", "code": "krepezh"}})
    assert info.value.code == "200700300040"
    with pytest.raises(ApiError):
        await c.call("catalog.section.list", {"select": ["id"]})


async def test_price_modify_replaces_the_set_and_one_price_per_type(harness: Harness) -> None:
    """§3.6: price.modify replaces all prices; a second price of one type is refused with code 0."""
    c = harness.client()
    product = (await c.call("catalog.product.add", {"fields": {"iblockId": 23, "name": "p"}}))["element"][
        "id"
    ]
    wholesale = (await c.call("catalog.priceType.add", {"fields": {"name": "Опт", "xmlId": "opt"}}))[
        "priceType"
    ]
    first = await c.call(
        "catalog.price.add",
        {"fields": {"productId": product, "catalogGroupId": 1, "price": 10, "currency": "RUB"}},
    )
    with pytest.raises(ApiError) as info:
        await c.call(
            "catalog.price.add",
            {"fields": {"productId": product, "catalogGroupId": 1, "price": 11, "currency": "RUB"}},
        )
    assert info.value.code == "0" and "single price" in info.value.description
    modified = await c.call(
        "catalog.price.modify",
        {
            "fields": {
                "product": {
                    "id": product,
                    "prices": [{"catalogGroupId": wholesale["id"], "price": 9, "currency": "RUB"}],
                }
            }
        },
    )
    assert [(p["catalogGroupId"], p["price"]) for p in modified["prices"]] == [(wholesale["id"], 9.0)]
    left = await c.call("catalog.price.list", {"filter": {"productId": product}})
    assert [p["id"] for p in left["prices"]] == [modified["prices"][0]["id"]] != [first["price"]["id"]]
    legacy = await c.call("crm.product.get", {"id": product})
    assert legacy["PRICE"] is None  # no base price any more


async def test_vat_measures_and_catalogs_are_seeded(harness: Harness) -> None:
    """§3.3 / §3.7 / §8.7 item 2: VAT none/0/10/20/22 %, OKEI measures with 796 default, two catalogs."""
    c = harness.client()
    vats = (await c.call("catalog.vat.list"))["vats"]
    assert [v["rate"] for v in vats] == [None, 0.0, 10.0, 20.0, 22.0]
    legacy_vats = await c.call("crm.vat.list")
    assert legacy_vats[3]["RATE"] == "20.00" and legacy_vats[0]["RATE"] is None
    measures = (await c.call("catalog.measure.list"))["measures"]
    assert {m["code"]: m["isDefault"] for m in measures}[796] == "Y"
    catalogs = (await c.call("catalog.catalog.list"))["catalogs"]
    assert catalogs[1]["productIblockId"] == 23 and catalogs[1]["skuPropertyId"] == 97


async def test_product_images(harness: Harness) -> None:
    """§3.8: productImage add/list/delete with base64 file content; bad types refused."""
    c = harness.client()
    product = (await c.call("catalog.product.add", {"fields": {"iblockId": 23, "name": "p"}}))["element"][
        "id"
    ]
    content = base64.b64encode(b"\x89PNG fake").decode()
    image = await c.call(
        "catalog.productImage.add",
        {"fields": {"productId": product, "type": "DETAIL_PICTURE"}, "fileContent": ["bolt.png", content]},
    )
    assert image["productImage"]["type"] == "DETAIL_PICTURE"
    assert len((await c.call("catalog.productImage.list", {"productId": product}))["productImages"]) == 1
    with pytest.raises(ApiError):
        await c.call(
            "catalog.productImage.add", {"fields": {"productId": product}, "fileContent": ["a.exe", content]}
        )
    assert await c.call(
        "catalog.productImage.delete", {"productId": product, "id": image["productImage"]["id"]}
    )


async def test_stock_changes_only_through_conducted_documents(harness: Harness) -> None:
    """§3.9: with inventory management on, conduct moves stock (S adds, D takes) and cancel reverts."""
    c = harness.client()
    product = (await c.call("catalog.product.add", {"fields": {"iblockId": 23, "name": "p"}}))["element"][
        "id"
    ]
    doc = (
        await c.call(
            "catalog.document.add", {"fields": {"docType": "S", "currency": "RUB", "responsibleId": 1}}
        )
    )["document"]
    await c.call(
        "catalog.document.element.add",
        {"fields": {"docId": doc["id"], "elementId": product, "storeTo": 1, "amount": 15}},
    )
    with pytest.raises(ApiError):
        await c.call("catalog.document.conduct", {"id": doc["id"]})
    harness.portal.state.inventory_mode = True
    assert await c.call("catalog.document.mode.status") == "Y"
    await c.call("catalog.document.conduct", {"id": doc["id"]})
    stock = (await c.call("catalog.storeproduct.list", {"filter": {"productId": product}}))["storeProducts"]
    assert [(s["storeId"], s["amount"]) for s in stock] == [(1, 15.0)]
    await c.call("catalog.product.update", {"id": product, "fields": {"quantity": 99}})
    assert (await c.call("catalog.product.get", {"id": product}))["product"]["quantity"] == 15.0
    await c.call("catalog.document.cancel", {"id": doc["id"]})
    stock = (await c.call("catalog.storeproduct.list", {"filter": {"productId": product}}))["storeProducts"]
    assert stock[0]["amount"] == 0.0


async def test_smart_invoice_stages_and_history(harness: Harness) -> None:
    """§4.1 / §4.3: smart invoices start at DT31_<cat>:N; a move sets previousStageId and adds history."""
    c = harness.client()
    item = (
        await c.call(
            "crm.item.add",
            {"entityTypeId": 31, "fields": {"title": "Заказ", "xmlId": "o1", "begindate": "2026-08-21"}},
        )
    )["item"]
    assert (
        item["stageId"] == "DT31_5:N" and item["categoryId"] == 5 and item["accountNumber"] == str(item["id"])
    )
    assert item["begindate"] == "2026-08-21T00:00:00+03:00"
    moved = (
        await c.call(
            "crm.item.update", {"entityTypeId": 31, "id": item["id"], "fields": {"stageId": "DT31_5:P"}}
        )
    )["item"]
    assert (moved["stageId"], moved["previousStageId"]) == ("DT31_5:P", "DT31_5:N")
    history = await c.call("crm.stagehistory.list", {"entityTypeId": 31, "filter": {"OWNER_ID": item["id"]}})
    assert [h["STAGE_ID"] for h in history["items"]] == ["DT31_5:N", "DT31_5:P"]
    with pytest.raises(InvalidArgument):
        await c.call(
            "crm.item.update", {"entityTypeId": 31, "id": item["id"], "fields": {"stageId": "DT31_9:N"}}
        )
    assert await c.call("crm.item.delete", {"entityTypeId": 31, "id": item["id"]}) == []
    with pytest.raises(ApiError) as info:
        await c.call("crm.item.get", {"entityTypeId": 5, "id": 1})
    assert info.value.code == "ENTITY_TYPE_NOT_SUPPORTED"


async def test_status_and_category_directories(harness: Harness) -> None:
    """§4.1 / Appendix B: crm.status.list per pipeline with semantics; crm.category.list default category."""
    c = harness.client()
    stages = await c.call(
        "crm.status.list", {"filter": {"ENTITY_ID": "SMART_INVOICE_STAGE_5"}, "order": {"SORT": "ASC"}}
    )
    assert [(s["STATUS_ID"], s["SEMANTICS"]) for s in stages] == [
        ("DT31_5:N", None),
        ("DT31_5:S", None),
        ("DT31_5:P", "S"),
        ("DT31_5:D", "F"),
    ]
    assert stages[2]["EXTRA"]["SEMANTICS"] == "success" and stages[0]["SORT"] == "100"
    old = await c.call("crm.status.list", {"filter": {"ENTITY_ID": "INVOICE_STATUS"}})
    assert [s["STATUS_ID"] for s in old] == ["N", "S", "P", "D"]
    categories = await c.call("crm.category.list", {"entityTypeId": 31})
    assert categories["categories"][0]["id"] == 5 and categories["categories"][0]["isDefault"] == "Y"


async def test_product_rows_recompute_opportunity(harness: Harness) -> None:
    """§4.4: productrow.set replaces rows, computes price parts, and opportunity = Σ price × quantity."""
    c = harness.client()
    product = await c.call("crm.product.add", {"fields": {"NAME": "Болт М8", "MEASURE": 5}})
    item = (await c.call("crm.item.add", {"entityTypeId": 31, "fields": {"title": "t"}}))["item"]
    rows = await c.call(
        "crm.item.productrow.set",
        {
            "ownerType": "SI",
            "ownerId": item["id"],
            "productRows": [
                {"productId": product, "price": 12.5, "quantity": 10, "taxRate": 20, "taxIncluded": "Y"},
                {
                    "productName": "Доставка",
                    "price": 80000,
                    "quantity": 1,
                    "taxRate": 20,
                    "taxIncluded": "Y",
                    "discountTypeId": 2,
                    "discountRate": 20,
                },
            ],
        },
    )
    first, second = rows["productRows"]
    assert (first["productName"], first["measureCode"], first["priceExclusive"]) == ("Болт М8", 796, 10.42)
    assert (second["priceExclusive"], second["priceNetto"], second["priceBrutto"], second["discountSum"]) == (
        66666.67,
        83333.34,
        100000.01,
        16666.67,
    )
    got = (await c.call("crm.item.get", {"entityTypeId": 31, "id": item["id"]}))["item"]
    assert got["opportunity"] == 80125.0
    listed = await c.call(
        "crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": item["id"]}}
    )
    assert len(listed["productRows"]) == 2
    await c.call("crm.item.productrow.delete", {"id": first["id"]})
    assert (await c.call("crm.item.get", {"entityTypeId": 31, "id": item["id"]}))["item"][
        "opportunity"
    ] == 80000
    with pytest.raises(NotFound) as info:
        await c.call("crm.item.productrow.set", {"ownerType": "SI", "ownerId": 999, "productRows": []})
    assert info.value.code == "OWNER_NOT_FOUND"
    with pytest.raises(InvalidArgument):
        await c.call("crm.item.productrow.list", {"filter": {"ownerId": item["id"]}})


async def test_deal_product_rows_are_legacy_shaped(harness: Harness) -> None:
    """§4.6: crm.deal.productrows.set replaces rows; get answers UPPER_CASE; OPPORTUNITY follows rows."""
    c = harness.client()
    deal = await c.call(
        "crm.deal.add", {"fields": {"TITLE": "Заказ", "ORIGIN_ID": "o", "ORIGINATOR_ID": "1C"}}
    )
    assert (
        await c.call(
            "crm.deal.productrows.set",
            {"id": deal, "rows": [{"PRODUCT_ID": 0, "PRODUCT_NAME": "x", "PRICE": 12.5, "QUANTITY": 10}]},
        )
        is True
    )
    await c.call(
        "crm.deal.productrows.set",
        {
            "id": deal,
            "rows": [{"PRODUCT_NAME": "y", "PRICE": 5, "QUANTITY": 2, "TAX_RATE": 20, "TAX_INCLUDED": "Y"}],
        },
    )
    rows = await c.call("crm.deal.productrows.get", {"id": deal})
    assert [(r["OWNER_TYPE"], r["PRODUCT_NAME"], r["OWNER_ID"]) for r in rows] == [("D", "y", str(deal))]
    got = await c.call("crm.deal.get", {"id": deal})
    assert (got["OPPORTUNITY"], got["STAGE_ID"], got["CATEGORY_ID"]) == ("10.00", "NEW", "0")
    with pytest.raises(NotFound):
        await c.call("crm.deal.productrows.get", {"id": 999})
    items = await c.call("crm.item.list", {"entityTypeId": 2, "filter": {"originId": "o"}})
    assert [i["id"] for i in items["items"]] == [deal]


async def test_legacy_invoice_status_and_rows(harness: Harness) -> None:
    """§4.2: STATUS_ID P sets PAYED=Y and DATE_PAYED; get has PRODUCT_ROWS, list does not."""
    c = harness.client()
    invoice = await c.call(
        "crm.invoice.add",
        {
            "fields": {
                "ORDER_TOPIC": "Заказ 123",
                "PERSON_TYPE_ID": 2,
                "PAY_SYSTEM_ID": 6,
                "XML_ID": "o",
                "PRODUCT_ROWS": [
                    {"ID": 0, "PRODUCT_ID": 0, "PRODUCT_NAME": "Болт", "QUANTITY": 10, "PRICE": 12.5}
                ],
            }
        },
    )
    await c.call(
        "crm.invoice.update", {"id": invoice, "fields": {"STATUS_ID": "P", "PAY_VOUCHER_NUM": "ПП-1"}}
    )
    got = await c.call("crm.invoice.get", {"id": invoice})
    assert (got["STATUS_ID"], got["PAYED"], got["PRICE"]) == ("P", "Y", "125.00") and got["DATE_PAYED"]
    assert got["PRODUCT_ROWS"][0]["PRODUCT_NAME"] == "Болт"
    listed = await c.call("crm.invoice.list", {"filter": {"XML_ID": "o"}})
    assert "PRODUCT_ROWS" not in listed[0] and listed[0]["ID"] == str(invoice)
    with pytest.raises(ApiError) as info:
        await c.call("crm.invoice.add", {"fields": {"ORDER_TOPIC": "x", "PERSON_TYPE_ID": 2}})
    assert info.value.code == "" and "PAY_SYSTEM_ID" in info.value.description


async def test_requisites_have_no_inn_uniqueness(harness: Harness) -> None:
    """§5.2 / §5.4: two requisites with one ИНН are both created; the list finds both; validation texts."""
    c = harness.client()
    company = await c.call("crm.company.add", {"fields": {"TITLE": "Ромашка"}})
    fields = {
        "ENTITY_TYPE_ID": 4,
        "ENTITY_ID": company,
        "PRESET_ID": 1,
        "NAME": "Организация",
        "RQ_INN": "7707083893",
        "RQ_KPP": "770701001",
    }
    assert await c.call("crm.requisite.add", {"fields": fields}) == 1
    assert await c.call("crm.requisite.add", {"fields": fields}) == 2
    found = await c.call(
        "crm.requisite.list",
        {"filter": {"ENTITY_TYPE_ID": 4, "RQ_INN": "7707083893"}, "select": ["ID", "ENTITY_ID", "RQ_KPP"]},
    )
    assert found == [
        {"ID": "1", "ENTITY_ID": str(company), "RQ_KPP": "770701001"},
        {"ID": "2", "ENTITY_ID": str(company), "RQ_KPP": "770701001"},
    ]
    for bad, text in (
        ({**fields, "ENTITY_TYPE_ID": 7}, "ENTITY_TYPE_ID is not defined or invalid."),
        ({**fields, "PRESET_ID": 99}, "PRESET_ID is not defined or invalid."),
        ({**fields, "ENTITY_ID": 999}, "Entity not found."),
    ):
        with pytest.raises(ApiError) as info:
            await c.call("crm.requisite.add", {"fields": bad})
        assert (info.value.code, info.value.description) == ("", text)


async def test_multi_fields_update_by_id(harness: Harness) -> None:
    """§5.1: multi-field items with ID update (empty VALUE deletes); without ID they are added."""
    c = harness.client()
    company = await c.call(
        "crm.company.add", {"fields": {"TITLE": "t", "PHONE": [{"VALUE": "+7495", "VALUE_TYPE": "WORK"}]}}
    )
    phone = (await c.call("crm.company.get", {"id": company}))["PHONE"][0]
    assert phone["TYPE_ID"] == "PHONE" and phone["VALUE"] == "+7495"
    await c.call(
        "crm.company.update",
        {
            "id": company,
            "fields": {
                "PHONE": [{"ID": phone["ID"], "VALUE": "+7499"}, {"VALUE": "+7812", "VALUE_TYPE": "MOBILE"}]
            },
        },
    )
    phones = (await c.call("crm.company.get", {"id": company}))["PHONE"]
    assert [p["VALUE"] for p in phones] == ["+7499", "+7812"]
    await c.call(
        "crm.company.update", {"id": company, "fields": {"PHONE": [{"ID": phone["ID"], "VALUE": ""}]}}
    )
    assert [p["VALUE"] for p in (await c.call("crm.company.get", {"id": company}))["PHONE"]] == ["+7812"]
    listed = await c.call("crm.company.list", {"select": ["ID", "TITLE"]})
    assert "PHONE" not in listed[0]
    found = await c.call(
        "crm.duplicate.findbycomm", {"type": "PHONE", "values": ["+7812"], "entity_type": "COMPANY"}
    )
    assert found == {"COMPANY": [company]}
    assert await c.call("crm.duplicate.findbycomm", {"type": "EMAIL", "values": ["none@x"]}) == []


async def test_smart_invoice_payments(harness: Harness) -> None:
    """§4.5 / Appendix B: payments of a smart invoice: add -> id, pay/unpay, list with accountNumber."""
    c = harness.client()
    item = (await c.call("crm.item.add", {"entityTypeId": 31, "fields": {"title": "t"}}))["item"]
    await c.call(
        "crm.item.productrow.set",
        {
            "ownerType": "SI",
            "ownerId": item["id"],
            "productRows": [{"productName": "x", "price": 218, "quantity": 1}],
        },
    )
    payment = await c.call("crm.item.payment.add", {"entityTypeId": 31, "entityId": item["id"]})
    assert await c.call("crm.item.payment.pay", {"id": payment}) is True
    listed = await c.call("crm.item.payment.list", {"entityTypeId": 31, "entityId": item["id"]})
    assert [(p["accountNumber"], p["paid"], p["sum"]) for p in listed] == [(f"{item['id']}/1", "Y", 218.0)]
    assert listed[0]["datePaid"].endswith("+03:00")
    await c.call("crm.item.payment.unpay", {"id": payment})
    assert (await c.call("crm.item.payment.get", {"id": payment}))["paid"] == "N"
    with pytest.raises(NotFound):
        await c.call("crm.item.payment.add", {"entityTypeId": 31, "entityId": 999})


async def test_variation_of_a_parent_created_in_the_same_batch(harness: Harness) -> None:
    """§2.4 / §3.5: inside a batch every value is a string; the portal casts ids, so a variation
    whose parent was added by an earlier command of the same batch is accepted (a regression: the
    fake kept ``iblockId`` as ``"23"`` and refused the parent)."""
    from b24_bridge.batch import BatchCommand

    c = harness.client()
    result = await c.batch(
        [
            BatchCommand(
                "parent",
                "catalog.product.sku.add",
                {"fields": {"iblockId": 23, "name": "Куртка", "xmlId": "j"}},
            ),
            BatchCommand(
                "offer",
                "catalog.product.offer.add",
                {
                    "fields": {
                        "iblockId": 24,
                        "parentId": "$result[parent][sku][id]",
                        "name": "Куртка, L",
                        "xmlId": "j#l",
                    }
                },
            ),
        ]
    )
    result.raise_for_errors()
    parent = await c.call("catalog.product.sku.get", {"id": result.results["parent"]["sku"]["id"]})
    assert parent["sku"]["iblockId"] == 23
    assert result.results["offer"]["offer"]["xmlId"] == "j#l"
