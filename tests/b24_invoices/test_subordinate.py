"""2.10 payment and shipment documents (protocol.md §9.6, §9.9): stored by the order importer and
applied to the invoice of the order their ``Основание`` names (full or partial payment, shipment).

1C's documents go through the real protocol (a 2.10 ``mode=file`` upload) into the fake portal.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lxml import etree

from b24_bridge.invoices.mapping import fold_subordinates, read_facts, subordinate_record
from commerceml.model import Document, Requisite
from tests.b24_invoices.conftest import ADMIN, World, orders_xml
from tests.b24_invoices.test_scenarios import exported_once, invoice
from tests.exchange_server.exchange_client import Node

PAYMENT = "Выплата безналичных денег"
SHIPMENT = "Отпуск товара"


def sub(doc_id: str, operation: str, basis: str, amount: str, *requisites: tuple[str, str], version: str = "1",
        deleted: bool = False) -> Document:  # fmt: skip
    return Document(
        id=doc_id,
        number=doc_id.upper(),
        date=dt.date(2026, 11, 24),
        operation=operation,
        role="Продавец",
        currency="RUB",
        amount=Decimal(amount),
        version=version,
        basis=basis,
        deleted=deleted,
        requisites=tuple(Requisite(n, (v,)) for n, v in requisites),
    )


def test_fold_adds_payments_once_each_and_ignores_void_ones() -> None:
    records = {
        "p1": subordinate_record(sub("p1", PAYMENT, "7", "690", ("Оплачено", "true")), kind="payment"),
        "p2": subordinate_record(
            sub("p2", PAYMENT, "7", "500", ("Признак возврата", "true")), kind="payment"
        ),
        "p3": subordinate_record(sub("p3", PAYMENT, "7", "900", deleted=True), kind="payment"),
    }
    facts = read_facts(fold_subordinates("7", "7", Decimal(2300), records))
    assert facts.paid_share == Decimal("30.00") and not facts.paid_full and not facts.shipped
    records["p1"] = subordinate_record(sub("p1", PAYMENT, "7", "690", version="2"), kind="payment")  # re-sent
    records["p4"] = subordinate_record(sub("p4", PAYMENT, "7", "1610"), kind="payment")
    records["s1"] = subordinate_record(
        sub("s1", SHIPMENT, "7", "2300", ("Отгружено", "true"), ("Дата отгрузки", "2026-11-25T10:00:00")),
        kind="shipment",
    )
    facts = read_facts(fold_subordinates("7", "7", Decimal(2300), records))
    assert facts.paid_full and facts.payment_number == "P1, P4"
    assert facts.shipped and facts.shipment_date == "2026-11-25T10:00:00" and facts.shipment_number == "S1"
    planned = subordinate_record(sub("s2", SHIPMENT, "7", "1", ("Отгружено", "false")), kind="shipment")
    assert not read_facts(fold_subordinates("7", "7", Decimal(2300), {"s2": planned})).shipped


async def upload_210(world: World, documents: list[Document], name: str) -> str:
    node = Node(world.client)
    await node.checkauth("sale")
    await node.init("sale", version="2.10")
    data = orders_xml(documents, version="2.10")
    assert await node.call("sale", "file", data=data, filename=name) == "success\n"
    text, _ = await node.import_until_done("sale", name)
    return text


async def test_payments_and_a_shipment_from_210_documents_reach_the_invoice(world: World) -> None:
    invoice_id, order_id = await exported_once(world)
    node = await world.node()
    body, _ = await node.raw("sale", "query")
    number = etree.fromstring(body).findtext("Документ/Номер")
    assert number
    await node.call("sale", "success")
    # 30 % paid: the stage stays, the share shows
    text = await upload_210(world, [sub("pay-1", PAYMENT, number, "690", ("Оплачено", "true"))], "a.xml")
    assert text.startswith("success"), text
    item = await invoice(world.b24, invoice_id)
    assert (item["stageId"], item["ufCrm1cPaidShare"]) == ("DT31_5:N", 30.0)
    # the same payment again (re-sent file) and the rest: fully paid, counted once each
    text = await upload_210(
        world,
        [sub("pay-1", PAYMENT, number, "690", version="2"), sub("pay-2", PAYMENT, number, "1610")],
        "b.xml",
    )
    assert text.startswith("success"), text
    item = await invoice(world.b24, invoice_id)
    assert (item["stageId"], item["ufCrm1cPaidShare"]) == ("DT31_5:P", 100.0)
    assert item["ufCrm1cPaymentNumber"] == "PAY-1, PAY-2"
    # the shipment moves it to the configured stage
    current = (await (await world.client.get("/api/status-map", headers=ADMIN)).json())["map"]
    current["rules"]["shipped_stage"] = "DT31_5:S"
    assert (await world.client.put("/api/status-map", json=current, headers=ADMIN)).status == 200
    shipment = sub("ship-1", SHIPMENT, number, "2300", ("Отгружено", "true"), ("Дата отгрузки", "2026-11-25"))
    assert (await upload_210(world, [shipment], "c.xml")).startswith("success")
    item = await invoice(world.b24, invoice_id)
    assert (item["stageId"], item["ufCrm1cShipmentNumber"]) == ("DT31_5:S", "SHIP-1")
    # none of this goes back to 1C
    assert (await world.sync.poll_once()).exported == 0
    body, _ = await (await world.node()).raw("sale", "query")
    assert list(etree.fromstring(body).iter("Документ")) == []
    # the documents are kept in the order store as 1C sent them
    listed = await (await world.client.get("/api/orders?limit=50", headers=ADMIN)).json()
    assert {"pay-1", "pay-2", "ship-1"} <= {o["id"] for o in listed["items"]}


async def test_a_payment_for_an_unknown_order_is_remarked(world: World) -> None:
    text = await upload_210(world, [sub("pay-x", PAYMENT, "НЕТ-1", "10")], "x.xml")
    assert "Заказ №НЕТ-1 на сайте не найден." in text
    text = await upload_210(world, [sub("pay-y", PAYMENT, "", "10")], "y.xml")
    assert "pay-y" in text and "Основание" in text
