"""Acceptance scenarios through the real protocol (aiohttp test client) and the fake portal.

Each test runs on SQLite and PostgreSQL. The portal is driven through the same REST client the
service uses (so every write raises the portal's own events).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

from lxml import etree

from b24_bridge import B24Client
from commerceml.model import Counterparty, Document, OrderLine, Requisite
from tests.b24_invoices.conftest import ADMIN, TOKEN, World, orders_xml, upload_orders
from tests.exchange_server.exchange_client import Node

PRODUCT_XML_ID = "a1b2c3d4-0000-4000-8000-000000000101#c0ffee00-0000-4000-8000-000000000042"
INN, KPP = "7707083893", "770701001"


async def seed_invoice(
    b24: B24Client, *, inn: str | None = INN, price: float = 1000.0, qty: float = 2
) -> int:
    """A product with a 1C Ид, a company (with requisite unless ``inn`` is None) and an invoice on it."""
    product = await b24.call(
        "crm.product.add", {"fields": {"NAME": "Болт М8", "XML_ID": PRODUCT_XML_ID, "PRICE": price}}
    )
    company = await b24.call(
        "crm.company.add",
        {"fields": {"TITLE": "ООО Ромашка", "EMAIL": [{"VALUE": "buh@romashka.ru", "VALUE_TYPE": "WORK"}]}},
    )
    if inn is not None:
        rq = await b24.call(
            "crm.requisite.add",
            {
                "fields": {
                    "ENTITY_TYPE_ID": 4,
                    "ENTITY_ID": company,
                    "PRESET_ID": 1,
                    "NAME": "Организация",
                    "RQ_INN": inn,
                    "RQ_KPP": KPP,
                    "RQ_COMPANY_FULL_NAME": 'ООО "Ромашка"',
                }
            },
        )
        await b24.call(
            "crm.address.add",
            {
                "fields": {
                    "TYPE_ID": 6,
                    "ENTITY_TYPE_ID": 8,
                    "ENTITY_ID": rq,
                    "CITY": "Москва",
                    "ADDRESS_1": "ул. Ленина, 1",
                }
            },
        )
    item = await b24.call(
        "crm.item.add", {"entityTypeId": 31, "fields": {"title": "Счёт", "companyId": company}}
    )
    invoice_id = int(item["item"]["id"])
    await b24.call(
        "crm.item.productrow.set",
        {
            "ownerType": "SI",
            "ownerId": invoice_id,
            "productRows": [
                {
                    "productId": int(product),
                    "price": price,
                    "quantity": qty,
                    "taxRate": 20,
                    "taxIncluded": "Y",
                },
                {"productId": 0, "productName": "Доставка", "price": 300, "quantity": 1},
            ],
        },
    )
    return invoice_id


async def invoice(b24: B24Client, invoice_id: int) -> dict[str, Any]:
    return (await b24.call("crm.item.get", {"entityTypeId": 31, "id": invoice_id}))["item"]  # type: ignore[no-any-return]


def _text(doc: etree._Element, path: str) -> list[str]:
    return [e.text or "" for e in doc.iterfind(path)]


def _requisite(doc: etree._Element, name: str) -> str | None:
    for item in doc.iterfind("ЗначенияРеквизитов/ЗначениеРеквизита"):
        if item.findtext("Наименование") == name:
            return item.findtext("Значение")
    return None


def answer(
    order_id: str,
    total: Decimal,
    *requisites: tuple[str, str],
    version: str = "1",
    lines: tuple[OrderLine, ...] = (),
) -> Document:
    return Document(
        id=order_id,
        number=order_id,
        date=dt.date(2026, 11, 23),
        operation="Заказ товара",
        role="Продавец",
        currency="RUB",
        amount=total,
        version=version,
        counterparties=(Counterparty(id="c-1", name="ООО Ромашка", inn=INN, kpp=KPP, role="Покупатель"),),
        lines=lines,
        requisites=tuple(Requisite(n, (v,)) for n, v in requisites),
    )


async def exported_once(world: World) -> tuple[int, str]:
    invoice_id = await seed_invoice(world.b24)
    report = await world.sync.poll_once()
    assert report.exported == 1, report
    return invoice_id, str(invoice_id)


async def test_portal_invoice_reaches_the_next_query_once(world: World) -> None:
    invoice_id, order_id = await exported_once(world)
    node = await world.node()
    body, _ = await node.raw("sale", "query")
    docs = list(etree.fromstring(body).iter("Документ"))
    assert len(docs) == 1
    doc = docs[0]
    assert doc.findtext("Ид") == order_id and doc.findtext("Номер") == str(invoice_id)
    assert _text(doc, "Контрагенты/Контрагент/ИНН") == [INN]
    assert _text(doc, "Контрагенты/Контрагент/КПП") == [KPP]
    assert _text(doc, "Товары/Товар/Ид") == [PRODUCT_XML_ID, "ORDER_DELIVERY"]
    assert Decimal(doc.findtext("Сумма") or "0") == Decimal("2300")
    assert _requisite(doc, "Статуса заказа ИД") == "N"
    assert await node.call("sale", "success") == "success\n"
    body, _ = await node.raw("sale", "query")
    assert list(etree.fromstring(body).iter("Документ")) == []
    # nothing changed in the portal: the poll finds nothing new to send
    assert (await world.sync.poll_once()).exported == 0


async def test_payment_from_1c_moves_the_invoice_to_paid_and_is_not_echoed(world: World) -> None:
    invoice_id, order_id = await exported_once(world)
    node = await world.node()
    await node.raw("sale", "query")
    await node.call("sale", "success")
    paid = answer(
        order_id, Decimal(2300), ("Номер оплаты по 1С", "ПП-45"), ("Дата оплаты по 1С", "2026-11-23T09:10:00")
    )
    assert (await upload_orders(node, [paid])).startswith("success")
    item = await invoice(world.b24, invoice_id)
    assert item["stageId"] == "DT31_5:P"
    assert item["ufCrm1cPaymentNumber"] == "ПП-45" and item["ufCrm1cPaidShare"] == 100.0
    # the portal raised ONCRMDYNAMICITEMUPDATE for our own write: the poll sees it and does not echo it
    assert (await world.sync.poll_once()).exported == 0
    body, _ = await (await world.node()).raw("sale", "query")
    assert list(etree.fromstring(body).iter("Документ")) == []


async def test_thirty_percent_keeps_the_stage_and_shows_the_share(world: World) -> None:
    invoice_id, order_id = await exported_once(world)
    node = await world.node()
    part = answer(
        order_id, Decimal(2300), ("Сумма оплаты по 1С", "690"), ("Дата оплаты по 1С", "2026-11-23T09:10:00")
    )
    assert (await upload_orders(node, [part])).startswith("success")
    item = await invoice(world.b24, invoice_id)
    assert item["stageId"] == "DT31_5:N"
    assert item["ufCrm1cPaidShare"] == 30.0


async def test_shipment_moves_to_the_configured_stage(world: World) -> None:
    invoice_id, order_id = await exported_once(world)
    current = await (await world.client.get("/api/status-map", headers=ADMIN)).json()
    wanted = current["map"]
    wanted["rules"]["shipped_stage"] = "DT31_5:S"
    response = await world.client.put("/api/status-map", json=wanted, headers=ADMIN)
    assert response.status == 200, await response.text()
    assert (await response.json())["diff"]["rules"]["shipped_stage"] == {"from": None, "to": "DT31_5:S"}
    node = await world.node()
    shipped = answer(
        order_id,
        Decimal(2300),
        ("Дата отгрузки по 1С", "2026-11-23T12:22:01"),
        ("Номер отгрузки по 1С", "РТ-9"),
    )
    assert (await upload_orders(node, [shipped])).startswith("success")
    item = await invoice(world.b24, invoice_id)
    assert item["stageId"] == "DT31_5:S" and item["ufCrm1cShipmentNumber"] == "РТ-9"
    journal = (await (await world.client.get("/api/status-map", headers=ADMIN)).json())["journal"]
    assert journal[0]["changed_by"] == "admin"


async def test_composition_replaced_while_unpaid_then_remarked(world: World) -> None:
    invoice_id, order_id = await exported_once(world)
    node = await world.node()
    line = OrderLine(
        id=PRODUCT_XML_ID, name="Болт М8", price=Decimal(1000), quantity=Decimal(3), amount=Decimal(3000)
    )
    changed = answer(order_id, Decimal(3000), lines=(line,))
    assert (await upload_orders(node, [changed])).startswith("success")
    rows = await world.b24.call(
        "crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": invoice_id}}
    )
    assert [(r["quantity"], r["price"]) for r in rows["productRows"]] == [(3, 1000)]
    paid = answer(order_id, Decimal(3000), ("Дата оплаты по 1С", "2026-11-23"), version="2", lines=(line,))
    assert (await upload_orders(node, [paid])).startswith("success")
    more = OrderLine(
        id=PRODUCT_XML_ID, name="Болт М8", price=Decimal(1000), quantity=Decimal(5), amount=Decimal(5000)
    )
    late = answer(order_id, Decimal(5000), ("Дата оплаты по 1С", "2026-11-23"), version="3", lines=(more,))
    text = await upload_orders(node, [late])
    assert text.startswith("success") and "не может быть изменен" in text
    rows = await world.b24.call(
        "crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": invoice_id}}
    )
    assert [r["quantity"] for r in rows["productRows"]] == [3]


async def test_new_order_from_1c_creates_one_company_and_one_invoice_when_sent_three_times(
    world: World,
) -> None:
    node = await world.node()
    party = Counterparty(
        id="guid-kontragent-9",
        name="ООО Новые",
        official_name='ООО "Новые"',
        inn="5003052454",
        kpp="500301001",
        role="Покупатель",
    )
    line = OrderLine(id="guid-p-1", name="Товар", price=Decimal(10), quantity=Decimal(1), amount=Decimal(10))
    docs = [
        Document(
            id="guid-order-1",
            number="УТ-1",
            operation="Заказ товара",
            currency="руб",
            amount=Decimal(10),
            version=str(v),
            counterparties=(party,),
            lines=(line,),
        )
        for v in (1, 1, 2)
    ]
    for doc in docs:  # the same document twice, then a new version
        assert (await upload_orders(node, [doc])).startswith("success")
    requisites = await world.b24.list_all("crm.requisite.list", {"filter": {"RQ_INN": "5003052454"}})
    assert len(requisites) == 1
    items = (
        await world.b24.call("crm.item.list", {"entityTypeId": 31, "filter": {"xmlId": "guid-order-1"}})
    )["items"]
    assert len(items) == 1 and items[0]["companyId"] == int(requisites[0]["ENTITY_ID"])
    # concurrently, three more versions: still one company and one invoice
    await asyncio.gather(
        *(
            world.sync.apply(
                Document(
                    id="guid-order-2",
                    number="УТ-2",
                    amount=Decimal(10),
                    version="1",
                    counterparties=(party,),
                    lines=(line,),
                ),
                report,
            )
            for report in [world.sync_report() for _ in range(3)]
        )
    )
    assert len(await world.b24.list_all("crm.requisite.list", {"filter": {"RQ_INN": "5003052454"}})) == 1
    items = (
        await world.b24.call("crm.item.list", {"entityTypeId": 31, "filter": {"xmlId": "guid-order-2"}})
    )["items"]
    assert len(items) == 1
    # the invoice created from 1C is not sent back to 1C
    assert (await world.sync.poll_once()).exported == 0


async def test_companies_sharing_an_inn_give_a_warning_and_no_third(world: World) -> None:
    for title in ("Дубль 1", "Дубль 2"):
        company = await world.b24.call("crm.company.add", {"fields": {"TITLE": title}})
        await world.b24.call(
            "crm.requisite.add",
            {
                "fields": {
                    "ENTITY_TYPE_ID": 4,
                    "ENTITY_ID": company,
                    "PRESET_ID": 1,
                    "NAME": "Организация",
                    "RQ_INN": "7727563778",
                }
            },
        )
    node = await world.node()
    party = Counterparty(id="guid-dup", name="Дубль", inn="7727563778", role="Покупатель")
    doc = Document(
        id="guid-order-dup", number="УТ-7", amount=Decimal(5), version="1", counterparties=(party,)
    )
    assert (await upload_orders(node, [doc])).startswith("success")
    companies = await world.b24.list_all("crm.company.list", {})
    assert len(companies) == 2
    status = await (await world.client.get("/api/invoices/status", headers=ADMIN)).json()
    assert any("already share ИНН 7727563778" in w for w in status["warnings"])


async def test_company_without_requisites_waits_with_a_reason(world: World) -> None:
    invoice_id = await seed_invoice(world.b24, inn=None)
    report = await world.sync.poll_once()
    assert report.waiting == 1 and report.exported == 0
    waiting = await (await world.client.get("/api/invoices/waiting", headers=ADMIN)).json()
    assert waiting["items"][0]["invoice_id"] == invoice_id
    assert "ИНН" in waiting["items"][0]["reason"]


async def test_events_need_the_application_token(world: World) -> None:
    invoice_id = await seed_invoice(world.b24)
    form = {
        "event": "ONCRMDYNAMICITEMUPDATE",
        "data[FIELDS][ID]": str(invoice_id),
        "data[FIELDS][ENTITY_TYPE_ID]": "31",
        "auth[application_token]": "wrong",
    }
    assert (await world.client.post("/b24/events", data=form)).status == 403
    form["auth[application_token]"] = TOKEN
    assert (await world.client.post("/b24/events", data=form)).status == 200
    for _ in range(200):
        body, _ = await (await world.node()).raw("sale", "query")
        if list(etree.fromstring(body).iter("Документ")):
            break
        await asyncio.sleep(0.02)
    assert [d.findtext("Ид") for d in etree.fromstring(body).iter("Документ")] == [str(invoice_id)]


async def test_mode_info_lists_the_table_and_bad_maps_are_refused(world: World) -> None:
    node = await world.node()
    body, _ = await node.raw("sale", "info")
    root = etree.fromstring(body)
    assert [e.findtext("Ид") for e in root.iterfind("Cтатусы/Элемент")] == ["N", "S", "P", "D"]
    current = (await (await world.client.get("/api/status-map", headers=ADMIN)).json())["map"]
    current["rows"].append({"stage": "DT31_5:ZZ", "code": "Z", "name": "Нет такой"})
    response = await world.client.put("/api/status-map", json=current, headers=ADMIN)
    assert response.status == 422
    problems = (await response.json())["problems"]
    assert any("unknown stage 'DT31_5:ZZ'" in p["message"] for p in problems)
    current["rows"] = [r for r in current["rows"] if r["stage"] != "DT31_5:ZZ"]
    current["rows"][0]["name"] = "Новый счёт"
    assert (await world.client.put("/api/status-map", json=current, headers=ADMIN)).status == 200
    body, _ = await node.raw("sale", "info")  # in force at once, no restart
    assert etree.fromstring(body).findtext("Cтатусы/Элемент/Название") == "Новый счёт"


async def test_composition_edited_on_both_sides_keeps_the_portal_rows(world: World) -> None:
    invoice_id, order_id = await exported_once(world)
    node = await world.node()
    await node.raw("sale", "query")
    assert await node.call("sale", "success") == "success\n"  # 1C now has the portal's composition
    rows = (
        await world.b24.call(
            "crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": invoice_id}}
        )
    )["productRows"]
    edited = [{"productId": r["productId"], "productName": r["productName"], "price": r["price"],
               "quantity": 7 if i == 0 else r["quantity"]} for i, r in enumerate(rows)]  # fmt: skip
    await world.b24.call(
        "crm.item.productrow.set", {"ownerType": "SI", "ownerId": invoice_id, "productRows": edited}
    )
    line = OrderLine(
        id=PRODUCT_XML_ID, name="Болт М8", price=Decimal(1000), quantity=Decimal(4), amount=Decimal(4000)
    )
    text = await upload_orders(
        node, [answer(order_id, Decimal(4000), ("Дата оплаты по 1С", "2026-11-23"), lines=(line,))]
    )
    assert "состав изменён в Битрикс24" in text
    item = await invoice(world.b24, invoice_id)
    assert item["stageId"] == "DT31_5:P"  # the payment (an accounting fact) applies anyway
    rows = (
        await world.b24.call(
            "crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": invoice_id}}
        )
    )["productRows"]
    assert rows[0]["quantity"] == 7
    body, _ = await (await world.node()).raw("sale", "query")  # the portal's version goes to 1C again
    docs = list(etree.fromstring(body).iter("Документ"))
    assert [d.findtext("Ид") for d in docs] == [order_id]
    assert _text(docs[0], "Товары/Товар/Количество")[0] == "7"


async def test_stepwise_import_applies_the_payment_and_returns_remarks(world: World) -> None:
    invoice_id, order_id = await exported_once(world)
    node = Node(world.client)
    await node.checkauth("sale")
    await node.init("sale", version="2.10")
    paid = answer(order_id, Decimal(2300), ("Дата оплаты по 1С", "2026-11-23T09:10:00"))
    assert await node.call("sale", "file", data=orders_xml([paid]), filename="documents.xml") == "success\n"
    text, _ = await node.import_until_done("sale", "documents.xml")
    assert text.startswith("success"), text
    assert (await invoice(world.b24, invoice_id))["stageId"] == "DT31_5:P"
    unknown = Document(id="no-such-order", number="X-1", amount=Decimal(1), version="1")
    world.sync.settings = world.sync.settings.model_copy(update={"create_from_1c": False})
    assert await node.call("sale", "file", data=orders_xml([unknown]), filename="second.xml") == "success\n"
    text, _ = await node.import_until_done("sale", "second.xml")
    assert "Заказ №X-1 на сайте не найден." in text
