"""Old invoices (``crm.invoice.*``, ``CML_B24_INVOICE_API=legacy``) through the real protocol and the
fake portal's legacy methods: export to 1C, a payment and a shipment back, an order created in 1C.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from pydantic import SecretStr

from b24_bridge import B24Client
from b24_bridge.invoices.settings import InvoiceSettings
from commerceml.model import Counterparty, Document, OrderLine
from tests.b24_invoices.conftest import ADMIN, TOKEN, World, invoice_world, upload_orders
from tests.b24_invoices.test_scenarios import INN, KPP, PRODUCT_XML_ID, _requisite, _text, answer


@pytest.fixture
async def legacy(aiohttp_client: Any, tmp_path: Path, database_url: str) -> World:
    invoice_settings = InvoiceSettings(application_token=SecretStr(TOKEN), invoice_api="legacy")
    return await invoice_world(aiohttp_client, tmp_path, database_url, invoice_settings)


async def seed_legacy(b24: B24Client) -> int:
    product = await b24.call("crm.product.add", {"fields": {"NAME": "Болт М8", "XML_ID": PRODUCT_XML_ID}})
    company = await b24.call("crm.company.add", {"fields": {"TITLE": "ООО Ромашка"}})
    await b24.call(
        "crm.requisite.add",
        {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company, "PRESET_ID": 1, "NAME": "Организация",
                    "RQ_INN": INN, "RQ_KPP": KPP}},
    )  # fmt: skip
    fields = {
        "ORDER_TOPIC": "Счёт",
        "PERSON_TYPE_ID": 2,
        "PAY_SYSTEM_ID": 6,
        "UF_COMPANY_ID": company,
        "PRODUCT_ROWS": [
            {"PRODUCT_ID": product, "PRODUCT_NAME": "Болт М8", "PRICE": 1000, "QUANTITY": 2, "VAT_RATE": 0.2},
            {"PRODUCT_ID": 0, "PRODUCT_NAME": "Доставка", "PRICE": 300, "QUANTITY": 1},
        ],
    }
    return int(await b24.call("crm.invoice.add", {"fields": fields}))


async def legacy_invoice(b24: B24Client, invoice_id: int) -> dict[str, Any]:
    result: dict[str, Any] = await b24.call("crm.invoice.get", {"id": invoice_id})
    return result


async def test_legacy_invoice_exported_paid_and_shipped(legacy: World) -> None:
    world = legacy
    invoice_id = await seed_legacy(world.b24)
    assert (await world.sync.poll_once()).exported == 1
    node = await world.node()
    body, _ = await node.raw("sale", "query")
    (doc,) = etree.fromstring(body).iter("Документ")
    order_id = doc.findtext("Ид")
    assert order_id == str(invoice_id)
    assert _text(doc, "Контрагенты/Контрагент/ИНН") == [INN]
    assert _text(doc, "Товары/Товар/Ид") == [PRODUCT_XML_ID, "ORDER_DELIVERY"]
    assert Decimal(doc.findtext("Сумма") or "0") == Decimal("2300")
    assert _requisite(doc, "Статуса заказа ИД") == "N"
    assert await node.call("sale", "success") == "success\n"
    body, _ = await node.raw("sale", "query")
    assert list(etree.fromstring(body).iter("Документ")) == []
    paid = answer(
        order_id, Decimal(2300), ("Номер оплаты по 1С", "ПП-45"), ("Дата оплаты по 1С", "2026-11-23")
    )
    assert (await upload_orders(node, [paid])).startswith("success")
    row = await legacy_invoice(world.b24, invoice_id)
    assert (row["STATUS_ID"], row["PAY_VOUCHER_NUM"], row["PAYED"]) == ("P", "ПП-45", "Y")
    assert (await world.sync.poll_once()).exported == 0  # no echo of 1C's own change
    current = (await (await world.client.get("/api/status-map", headers=ADMIN)).json())["map"]
    current["rules"]["shipped_stage"] = "S"
    response = await world.client.put("/api/status-map", json=current, headers=ADMIN)
    assert response.status == 200, await response.text()
    shipped = answer(order_id, Decimal(2300), ("Дата отгрузки по 1С", "2026-11-24"), version="2")
    assert (await upload_orders(node, [shipped])).startswith("success")
    assert (await legacy_invoice(world.b24, invoice_id))["STATUS_ID"] == "S"


async def test_legacy_order_created_in_1c(legacy: World) -> None:
    world = legacy
    node = await world.node()
    party = Counterparty(id="c-new", name="ООО Новые", inn="5003052454", kpp="500301001", role="Покупатель")
    line = OrderLine(id="p-1", name="Товар", price=Decimal(10), quantity=Decimal(3), amount=Decimal(30))
    doc = Document(
        id="guid-legacy-1", number="УТ-5", date=dt.date(2026, 11, 23), operation="Заказ товара",
        amount=Decimal(30), version="1", counterparties=(party,), lines=(line,),
    )  # fmt: skip
    for _ in range(2):
        assert (await upload_orders(node, [doc])).startswith("success")
    rows = await world.b24.list_all("crm.invoice.list", {"filter": {"XML_ID": "guid-legacy-1"}})
    assert len(rows) == 1
    full = await legacy_invoice(world.b24, int(rows[0]["ID"]))
    assert int(full["UF_COMPANY_ID"]) > 0 and float(full["PRICE"]) == 30.0
    assert [(r["PRODUCT_NAME"], r["QUANTITY"]) for r in full["PRODUCT_ROWS"]] == [("Товар", 3)]
