"""Orders created in 1C: the two-batch path (lookups, then company + requisite + invoice + rows).

Through the real protocol and the fake portal, on SQLite and PostgreSQL: the request count, refused
commands inside the write batch (fault ``COMMAND_ERROR``), lost answers (after the commit and
before it), the three-times-sent new-ИНН order with a lost answer, and concurrent orders of one ИНН.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from b24_bridge import B24Client
from b24_bridge.batch import BatchCommand
from b24_bridge.errors import CoreError
from b24_bridge.fake import InProcessTransport
from b24_bridge.fake.faults import Fault
from b24_bridge.invoices.creation import CompanyPlan, Party, create_commands
from commerceml.model import Address, AddressField, Counterparty, Document, OrderLine
from tests.b24_invoices.conftest import World, upload_orders

INN, KPP = "5003052454", "500301001"
PRODUCT = "guid-product-7"


def party(ident: str | None = "guid-kontragent-1", inn: str = INN) -> Counterparty:
    return Counterparty(
        id=ident,
        name="ООО Новые",
        official_name='ООО "Новые"',
        inn=inn,
        kpp=KPP,
        role="Покупатель",
        legal_address=Address(
            presentation="Москва, ул. Ленина, 1",
            fields=(AddressField("Город", "Москва"), AddressField("Улица", "ул. Ленина, 1")),
        ),
    )


def order(order_id: str = "guid-order-1", *, version: str = "1", who: Counterparty | None = None) -> Document:
    return Document(
        id=order_id,
        number=f"УТ-{order_id[-1]}",
        operation="Заказ товара",
        currency="руб",
        amount=Decimal(30),
        version=version,
        counterparties=(who or party(),),
        lines=(
            OrderLine(id=PRODUCT, name="Болт", price=Decimal(10), quantity=Decimal(3), amount=Decimal(30)),
        ),
    )


def short_timeout(b24: B24Client) -> None:
    """A lost answer waits the client timeout: 50 ms here (the transport may be wrapped for metrics)."""
    transport: Any = b24.transport
    while not isinstance(transport, InProcessTransport):
        transport = transport.inner
    transport.timeout = 0.05


async def add_product(b24: B24Client) -> int:
    return int(await b24.call("crm.product.add", {"fields": {"NAME": "Болт", "XML_ID": PRODUCT}}))


async def portal_state(b24: B24Client, inn: str = INN) -> dict[str, Any]:
    requisites = await b24.list_all("crm.requisite.list", {"filter": {"ENTITY_TYPE_ID": 4, "RQ_INN": inn}})
    companies = await b24.list_all("crm.company.list", {"select": ["ID", "ORIGIN_ID"]})
    items = (await b24.call("crm.item.list", {"entityTypeId": 31, "filter": {}}))["items"]
    rows = {
        int(i["id"]): (
            await b24.call(
                "crm.item.productrow.list", {"filter": {"=ownerType": "SI", "=ownerId": int(i["id"])}}
            )
        )["productRows"]
        for i in items
    }
    addresses = await b24.list_all("crm.address.list", {"filter": {"ENTITY_TYPE_ID": 8}})
    return {
        "requisites": requisites,
        "companies": companies,
        "items": items,
        "rows": rows,
        "addresses": addresses,
    }


def assert_one_of_each(state: dict[str, Any], product_id: int, *, invoices: int = 1) -> None:
    assert len(state["companies"]) == 1, state["companies"]
    assert len(state["requisites"]) == 1, state["requisites"]
    company_id = int(state["companies"][0]["ID"])
    assert int(state["requisites"][0]["ENTITY_ID"]) == company_id
    assert len(state["items"]) == invoices, state["items"]
    for item in state["items"]:
        assert item["companyId"] == company_id
        assert item["opportunity"] == 30
        rows = state["rows"][int(item["id"])]
        assert [(r["productId"], r["quantity"]) for r in rows] == [(product_id, 3)]


async def test_a_new_inn_costs_two_requests_and_is_not_echoed(world: World) -> None:
    product_id = await add_product(world.b24)
    node = await world.node()
    before = world.portal.stats.requests
    assert (await upload_orders(node, [order()])).startswith("success")
    assert world.portal.stats.requests - before == 2  # one batch of reads, one batch of writes
    state = await portal_state(world.b24)
    assert_one_of_each(state, product_id)
    assert state["companies"][0]["ORIGIN_ID"] == "guid-kontragent-1"
    assert [a["CITY"] for a in state["addresses"]] == ["Москва"]
    assert state["items"][0]["xmlId"] == "guid-order-1"
    # the cached company/requisite/address equal the portal's: nothing goes back to 1C
    assert (await world.sync.poll_once()).exported == 0
    # a second order of the same (now known, cached) company: two requests again, no new company
    before = world.portal.stats.requests
    assert (await upload_orders(node, [order("guid-order-2")])).startswith("success")
    assert world.portal.stats.requests - before == 2
    assert_one_of_each(await portal_state(world.b24), product_id, invoices=2)
    assert (await world.sync.poll_once()).exported == 0


@pytest.mark.parametrize("fault", [Fault.RESET_AFTER, Fault.GATEWAY_TIMEOUT_HTML, Fault.LOST_RESPONSE,
                                   Fault.INTERNAL_ERROR])  # fmt: skip
async def test_a_lost_write_batch_is_looked_up_before_anything_is_created_again(
    world: World, fault: Fault
) -> None:
    product_id = await add_product(world.b24)
    short_timeout(world.b24)
    node = await world.node()
    world.portal.faults.add(fault, method="batch", every=2, times=1)  # the second batch: the writes
    assert (await upload_orders(node, [order()])).startswith("success")
    assert world.portal.faults.log == [("batch", fault)]
    assert_one_of_each(await portal_state(world.b24), product_id)
    # resolved within the upload: nothing pending, and the answer's state is what the poll reads
    report = await world.sync.poll_once()
    assert report.exported == 0 and report.applied == 0


async def test_sent_three_times_with_the_first_answer_lost_one_company_one_invoice(world: World) -> None:
    product_id = await add_product(world.b24)
    short_timeout(world.b24)
    node = await world.node()
    world.portal.faults.add(Fault.LOST_RESPONSE, method="batch", every=2, times=1)
    for version in ("1", "1", "2"):  # the same document twice, then a new version
        assert (await upload_orders(node, [order(version=version)])).startswith("success")
    assert_one_of_each(await portal_state(world.b24), product_id)
    assert (await world.sync.poll_once()).exported == 0


@pytest.mark.parametrize("ident", ["guid-kontragent-1", None], ids=["with-id", "without-id"])
async def test_a_refused_requisite_leaves_a_reported_orphan_the_retry_completes(
    world: World, ident: str | None
) -> None:
    product_id = await add_product(world.b24)
    node = await world.node()
    world.portal.faults.add(Fault.COMMAND_ERROR, method="crm.requisite.add", times=1)
    assert (await upload_orders(node, [order(who=party(ident))])).startswith("success")
    state = await portal_state(world.b24)
    assert len(state["companies"]) == 1 and not state["requisites"] and not state["items"]
    orphan = int(state["companies"][0]["ID"])
    warning = next(w for w in world.sync.warnings if "refused 'requisite'" in w)
    assert f"company {orphan}" in warning and "company created" in warning
    # the poll retries the pending order: the same company gets its requisite, then the invoice
    await world.sync.poll_once()
    state = await portal_state(world.b24)
    assert_one_of_each(state, product_id)
    assert int(state["companies"][0]["ID"]) == orphan
    assert (await world.sync.poll_once()).exported == 0


async def test_refused_rows_leave_the_invoice_linked_and_the_retry_sets_them(world: World) -> None:
    product_id = await add_product(world.b24)
    node = await world.node()
    world.portal.faults.add(Fault.COMMAND_ERROR, method="crm.item.productrow.set", times=1)
    assert (await upload_orders(node, [order()])).startswith("success")
    state = await portal_state(world.b24)
    assert len(state["items"]) == 1 and state["rows"][int(state["items"][0]["id"])] == []
    assert any("refused 'rows'" in w and "invoice created" in w for w in world.sync.warnings)
    await world.sync.poll_once()
    assert_one_of_each(await portal_state(world.b24), product_id)


async def test_concurrent_orders_of_one_new_inn_make_one_company(world: World) -> None:
    product_id = await add_product(world.b24)
    await world.node()
    reports = [world.sync_report() for _ in range(4)]
    docs = [order(f"guid-order-{n}") for n in range(4)]
    await asyncio.gather(*(world.sync.apply(d, r) for d, r in zip(docs, reports, strict=True)))
    assert_one_of_each(await portal_state(world.b24), product_id, invoices=4)
    assert sum(r.created for r in reports) == 1


async def test_two_companies_sharing_the_inn_are_reported_and_the_oldest_used(world: World) -> None:
    product_id = await add_product(world.b24)
    companies = []
    for title in ("Дубль 1", "Дубль 2"):
        company = int(await world.b24.call("crm.company.add", {"fields": {"TITLE": title}}))
        await world.b24.call(
            "crm.requisite.add",
            {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": company, "PRESET_ID": 1, "NAME": "Орг",
                        "RQ_INN": INN, "RQ_KPP": KPP}},
        )  # fmt: skip
        companies.append(company)
    node = await world.node()
    before = world.portal.stats.requests
    assert (await upload_orders(node, [order()])).startswith("success")
    assert world.portal.stats.requests - before == 2
    state = await portal_state(world.b24)
    assert len(state["companies"]) == 2
    assert state["items"][0]["companyId"] == min(companies)
    assert state["rows"][int(state["items"][0]["id"])][0]["productId"] == product_id
    assert any(f"already share ИНН {INN}" in w for w in world.sync.warnings)


async def test_fake_portal_refuses_one_batch_command_and_halt_stops_there(world: World) -> None:
    world.portal.faults.add(Fault.COMMAND_ERROR, method="crm.requisite.add", times=2)
    answer = await world.b24.batch(
        [
            BatchCommand("company", "crm.company.add", {"fields": {"TITLE": "X"}}),
            BatchCommand(
                "requisite",
                "crm.requisite.add",
                {
                    "fields": {
                        "ENTITY_TYPE_ID": 4,
                        "ENTITY_ID": "$result[company]",
                        "PRESET_ID": 1,
                        "NAME": "X",
                    }
                },
            ),
            BatchCommand("read", "crm.company.get", {"id": "$result[company]"}),
        ],
        halt=True,
    )
    assert set(answer.results) == {"company"} and isinstance(answer.errors["requisite"], CoreError)
    with pytest.raises(CoreError):  # at the top level too
        await world.b24.call("crm.requisite.add", {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": 1}})
    await world.b24.call(  # the rule is spent: the next one runs
        "crm.requisite.add", {"fields": {"ENTITY_TYPE_ID": 4, "ENTITY_ID": 1, "PRESET_ID": 1, "NAME": "X"}}
    )


def test_write_batch_chains_the_new_company_by_reference() -> None:
    doc = order()
    who = Party.of(doc)
    assert who is not None
    commands = create_commands(
        who,
        CompanyPlan(create=True, add_requisite=True),
        {"title": "t", "xmlId": doc.id},
        [{"productId": 7, "price": 10.0, "quantity": 3.0}],
        preset_id=3,
        read_company=True,
        user="assigned",
    )
    by_id = {c.id: c for c in commands}
    assert [c.id for c in commands] == [
        "company", "requisite", "address", "invoice", "rows", "item", "co_read", "rq_read", "ad_read", "user",
    ]  # fmt: skip
    assert by_id["requisite"].params["fields"]["ENTITY_ID"] == "$result[company]"
    assert by_id["requisite"].params["fields"]["RQ_INN"] == INN
    assert by_id["address"].params["fields"]["ENTITY_ID"] == "$result[requisite]"
    assert by_id["invoice"].params["fields"]["companyId"] == "$result[company]"
    assert by_id["rows"].params["ownerId"] == "$result[invoice][item][id]"
    assert by_id["user"].params["FILTER"]["ID"] == "$result[item][item][assignedById]"
    # an existing, cached company: only the invoice part
    commands = create_commands(
        who, CompanyPlan(12), {"title": "t"}, None, preset_id=3, read_company=False, user=None
    )
    assert [c.id for c in commands] == ["invoice"] and commands[0].params["fields"]["companyId"] == 12
