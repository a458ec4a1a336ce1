"""Product ``Ид`` by article for products not from 1C, and the responsible manager by work e-mail.

Through the real server (1C uploads its catalog over the protocol, so the article lookup reads the
store the importer wrote) and the fake portal (``user.get``, ``crm.product`` properties).
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
from b24_bridge.fake.users import add_user
from b24_bridge.invoices.mapping import InvoiceSnapshot, manager_email, to_document
from b24_bridge.invoices.portal import article_field
from b24_bridge.invoices.settings import InvoiceSettings
from b24_bridge.invoices.statusmap import StatusMap
from b24_bridge.invoices.sync import InvoiceSync
from b24_bridge.invoices.web import INVOICE_SYNC
from commerceml.model import Counterparty, Document, OrderLine, Requisite
from tests.b24_invoices.conftest import TOKEN, World, invoice_world, upload_orders
from tests.b24_invoices.test_scenarios import PRODUCT_XML_ID, _requisite, answer, exported_once, invoice
from tests.exchange_server import cml_samples

ONEC_ID = "f00dcafe-0000-4000-8000-000000000007"


@pytest.fixture
async def article_world(aiohttp_client: Any, tmp_path: Path, database_url: str) -> World:
    invoice_settings = InvoiceSettings(application_token=SecretStr(TOKEN), article_property="property45")
    return await invoice_world(aiohttp_client, tmp_path, database_url, invoice_settings)


async def seed(b24: B24Client, product_fields: dict[str, Any], *, assigned: int | None = None) -> int:
    product = await b24.call("crm.product.add", {"fields": {"NAME": "Кабель", "PRICE": 50, **product_fields}})
    company = await b24.call("crm.company.add", {"fields": {"TITLE": "ООО Ромашка"}})
    await b24.call(
        "crm.requisite.add",
        {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company, "PRESET_ID": 1, "NAME": "Орг",
                    "RQ_INN": "7707083893"}},
    )  # fmt: skip
    fields: dict[str, Any] = {"title": "Счёт", "companyId": company}
    if assigned is not None:
        fields["assignedById"] = assigned
    item = await b24.call("crm.item.add", {"entityTypeId": 31, "fields": fields})
    invoice_id = int(item["item"]["id"])
    await b24.call(
        "crm.item.productrow.set",
        {"ownerType": "SI", "ownerId": invoice_id,
         "productRows": [{"productId": int(product), "price": 50, "quantity": 4}]},
    )  # fmt: skip
    return invoice_id


async def queried(world: World) -> list[etree._Element]:
    node = await world.node()
    body, _ = await node.raw("sale", "query")
    return list(etree.fromstring(body).iter("Документ"))


def test_pure_article_field_and_manager_email() -> None:
    assert article_field("property45") == "PROPERTY_45" == article_field("PROPERTY_45")
    assert article_field("auto") is None and article_field(None) is None
    doc = Document(id="1", requisites=(Requisite("Ответственный", ("Петров П.",)),))
    assert manager_email(doc) is None
    doc = Document(id="1", requisites=(Requisite("Менеджер", ("petrov@firm.ru",)),))
    assert manager_email(doc) == "petrov@firm.ru"
    doc = Document(id="1", requisites=(Requisite("Ответственный e-mail", ("a@b.ru",)),))
    assert manager_email(doc) == "a@b.ru"
    user = {"ID": "7", "NAME": "Анна", "LAST_NAME": "Иванова", "EMAIL": "ivanova@firm.ru"}
    snapshot = InvoiceSnapshot(item={"id": 1, "stageId": "DT31_5:N"}, manager=user)
    mapped = to_document(snapshot, StatusMap(), [], order_id="1")
    assert mapped.requisite("Ответственный") == "Иванова Анна"
    assert mapped.requisite("Ответственный e-mail") == "ivanova@firm.ru"


async def test_a_product_from_elsewhere_gets_the_1c_id_of_its_article(article_world: World) -> None:
    world = article_world
    node = await world.node()
    catalog = cml_samples.goods(
        [
            cml_samples.product(ONEC_ID, "Кабель ВВГ", article="ART-7"),
            cml_samples.product("dup-1", "Дубль 1", article="ART-DUP"),
            cml_samples.product("dup-2", "Дубль 2", article="ART-DUP"),
        ]
    ).encode()
    await node.checkauth("catalog")
    await node.init("catalog")
    await node.upload("catalog", "import.xml", catalog)
    text, _ = await node.import_until_done("catalog", "import.xml")
    assert text.startswith("success"), text
    matched = await seed(world.b24, {"PROPERTY_45": "ART-7"})  # created in the portal: no XML_ID
    ambiguous = await seed(world.b24, {"PROPERTY_45": "ART-DUP"})
    report = await world.sync.poll_once()
    assert report.exported == 2, report
    lines = {
        d.findtext("Ид"): [t.findtext("Ид") for t in d.iterfind("Товары/Товар")] for d in await queried(world)
    }
    assert lines[str(matched)] == [ONEC_ID]
    assert (lines[str(ambiguous)][0] or "").startswith("b24-product-")  # two 1C products share it: not guessed


async def test_the_responsible_manager_goes_to_1c_with_the_work_email(world: World) -> None:
    anna = add_user(world.portal, email="ivanova@firm.ru", name="Анна", last_name="Иванова")
    await seed(world.b24, {"XML_ID": PRODUCT_XML_ID}, assigned=anna)
    assert (await world.sync.poll_once()).exported == 1
    (doc,) = await queried(world)
    assert _requisite(doc, "Ответственный") == "Иванова Анна"
    assert _requisite(doc, "Ответственный e-mail") == "ivanova@firm.ru"


async def test_the_manager_1c_names_by_email_becomes_the_responsible(world: World) -> None:
    petrov = add_user(world.portal, email="petrov@firm.ru", name="Пётр", last_name="Петров")
    invoice_id, order_id = await exported_once(world)
    node = await world.node()
    await node.raw("sale", "query")
    await node.call("sale", "success")
    doc = answer(order_id, Decimal(2300), ("Ответственный e-mail", "PETROV@firm.ru"))
    assert (await upload_orders(node, [doc])).startswith("success")
    assert (await invoice(world.b24, invoice_id))["assignedById"] == petrov
    assert (await world.sync.poll_once()).exported == 0  # 1C's own change is not sent back
    # an e-mail no employee has: the responsible stays, a warning says why
    sync: InvoiceSync = world.client.app[INVOICE_SYNC]
    report = world.sync_report()
    await sync.apply(
        answer(order_id, Decimal(2300), ("Ответственный e-mail", "gone@firm.ru"), version="2"), report
    )
    assert (await invoice(world.b24, invoice_id))["assignedById"] == petrov
    assert any("gone@firm.ru" in w for w in report.warnings)


async def test_an_order_created_in_1c_gets_its_manager(world: World) -> None:
    sidorova = add_user(world.portal, email="sidorova@firm.ru", name="Ольга", last_name="Сидорова")
    node = await world.node()
    party = Counterparty(id="c-new", name="ООО Новые", inn="5003052454", kpp="500301001", role="Покупатель")
    line = OrderLine(id="p-1", name="Товар", price=Decimal(10), quantity=Decimal(1), amount=Decimal(10))
    doc = Document(
        id="guid-order-m",
        number="УТ-9",
        date=dt.date(2026, 11, 23),
        operation="Заказ товара",
        amount=Decimal(10),
        version="1",
        counterparties=(party,),
        lines=(line,),
        requisites=(Requisite("Менеджер", ("sidorova@firm.ru",)),),
    )
    assert (await upload_orders(node, [doc])).startswith("success")
    items = (
        await world.b24.call("crm.item.list", {"entityTypeId": 31, "filter": {"xmlId": "guid-order-m"}})
    )["items"]
    assert [i["assignedById"] for i in items] == [sidorova]
