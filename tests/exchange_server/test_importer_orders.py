"""Orders: uploaded by 1C (skipped when unchanged), queried for 1C, committed by mode=success."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerceml.model import Counterparty, Document, OrderLine, Requisite
from exchange_server.importer import OrderImporter, commit_query, orders_for_query
from exchange_server.store import orders, queries
from tests.exchange_server import cml_samples as cml
from tests.exchange_server.conftest import real_fixture

Maker = async_sessionmaker[AsyncSession]


def _document(
    doc_id: str, *, version: str | None = "1", amount: str = "100", operation: str = "Заказ товара"
) -> str:
    version_xml = f"<НомерВерсии>{version}</НомерВерсии>" if version is not None else ""
    return (
        f"<Документ><Ид>{doc_id}</Ид>{version_xml}<Номер>{doc_id}</Номер><Дата>2024-06-10</Дата>"
        f"<ХозОперация>{operation}</ХозОперация><Роль>Продавец</Роль><Валюта>руб</Валюта>"
        f"<Курс>1</Курс><Сумма>{amount}</Сумма>"
        "<Контрагенты><Контрагент><Ид>c-1</Ид><Наименование>Иванов</Наименование>"
        "<Роль>Покупатель</Роль></Контрагент></Контрагенты>"
        "<Товары><Товар><Ид>p1</Ид><Наименование>Кроссовки</Наименование>"
        f"<ЦенаЗаЕдиницу>{amount}</ЦенаЗаЕдиницу><Количество>1</Количество><Сумма>{amount}</Сумма></Товар>"
        "</Товары><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Статус заказа</Наименование>"
        "<Значение>[N] Принят</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Документ>"
    )


async def _upload(maker: Maker, tmp: Path, *documents: str) -> tuple[dict[str, int], list[str]]:
    path = cml.write(tmp, "documents.xml", cml.root("".join(documents)))
    result = await OrderImporter(maker).import_file(path, package_id="sale-1")
    return result.counts, result.remarks


def _site_order(order_id: str, amount: str = "250") -> Document:
    return Document(
        id=order_id,
        number=order_id,
        date=dt.date(2024, 6, 11),
        time=dt.time(12, 30),
        operation="Заказ товара",
        role="Продавец",
        currency="руб",
        rate=Decimal(1),
        amount=Decimal(amount),
        counterparties=(Counterparty(id="c-9", name="Петров", role="Покупатель"),),
        lines=(
            OrderLine(
                id="p1", name="Кроссовки", price=Decimal(amount), quantity=Decimal(1), amount=Decimal(amount)
            ),
        ),
        requisites=(Requisite("Статус заказа", ("[N] Принят",)),),
    )


async def test_orders_from_1c_stored_and_unchanged_skipped(sessionmaker: Maker, tmp_path: Path) -> None:
    counts, remarks = await _upload(
        sessionmaker,
        tmp_path,
        _document("1057"),
        _document("pay-1", operation="Выплата безналичных денег"),  # 2.10 payment: kept for the order
        _document("ret-1", operation="Возврат товара"),
    )
    assert counts["written"] == 2 and counts["not_orders"] == 1
    assert len(remarks) == 1 and "ret-1" in remarks[0]
    async with sessionmaker() as session:
        order = await queries.get_order(session, "1057")
    assert order is not None
    assert (order["amount"], order["status"], order["counterparty"]) == ("100", "[N] Принят", "Иванов")
    assert order["lines"] == [
        {"product_id": "p1", "name": "Кроссовки", "price": "100", "quantity": "1", "amount": "100"}
    ]

    # Same НомерВерсии, different content: skipped (1C-Bitrix does the same).
    counts, _ = await _upload(sessionmaker, tmp_path, _document("1057", amount="999"))
    assert (counts["written"], counts["skipped"]) == (0, 1)
    counts, _ = await _upload(sessionmaker, tmp_path, _document("1057", version="2", amount="999"))
    assert counts["written"] == 1
    async with sessionmaker() as session:
        order = await queries.get_order(session, "1057")
    assert order is not None and order["amount"] == "999" and order["revision"] == 2


async def test_orders_from_1c_are_not_echoed_back(sessionmaker: Maker, tmp_path: Path) -> None:
    await _upload(sessionmaker, tmp_path, _document("1057"))
    assert await orders_for_query(sessionmaker, limit=10) == []


async def test_query_success_cycle(sessionmaker: Maker) -> None:
    async with sessionmaker() as session, session.begin():
        await orders.save_orders(session, [_site_order("A1"), _site_order("A2")], source=orders.FROM_SITE)
    first = await orders_for_query(sessionmaker, limit=10)
    assert sorted(d.id for d in first) == ["A1", "A2"]
    assert {d.version for d in first} == {"1"}
    a1 = next(d for d in first if d.id == "A1")
    assert a1 == replace(_site_order("A1"), version="1")  # read back losslessly

    # Without success, the next query returns them again.
    assert len(await orders_for_query(sessionmaker, limit=10)) == 2
    # The limit is honoured.
    assert len(await orders_for_query(sessionmaker, limit=1)) == 1

    # An order changed between query and success is exported again.
    async with sessionmaker() as session, session.begin():
        await orders.save_orders(session, [_site_order("A2", amount="300")], source=orders.FROM_SITE)
    await commit_query(sessionmaker, [(d.id, d.version or "") for d in first])
    again = await orders_for_query(sessionmaker, limit=10)
    assert [(d.id, d.version, d.amount) for d in again] == [("A2", "2", Decimal("300"))]
    await commit_query(sessionmaker, [("A2", "2"), ("unknown", "5"), ("A1", "not-a-number")])
    assert await orders_for_query(sessionmaker, limit=10) == []

    # 1C changes the order: not echoed; a later site change is exported.
    async with sessionmaker() as session, session.begin():
        await orders.save_orders(session, [_site_order("A1", amount="1")], source=orders.FROM_1C)
    assert await orders_for_query(sessionmaker, limit=10) == []
    async with sessionmaker() as session, session.begin():
        await orders.save_orders(session, [_site_order("A1", amount="2")], source=orders.FROM_SITE)
    assert [(d.id, d.version) for d in await orders_for_query(sessionmaker, limit=10)] == [("A1", "3")]


async def test_saving_an_unchanged_site_order_changes_nothing(sessionmaker: Maker) -> None:
    for _ in range(2):
        async with sessionmaker() as session, session.begin():
            saved = await orders.save_orders(session, [_site_order("A1")], source=orders.FROM_SITE)
    assert (saved.written, saved.skipped) == (0, 1)
    assert [d.version for d in await orders_for_query(sessionmaker, limit=10)] == ["1"]


async def test_real_erp_orders(sessionmaker: Maker) -> None:
    path = real_fixture("Kremenchuk__parseXML/data__from_ERP__example__orders.xml")
    first = await OrderImporter(sessionmaker, batch_size=50).import_file(path, package_id="s1")
    second = await OrderImporter(sessionmaker, batch_size=50).import_file(path, package_id="s2")
    assert first.counts["documents"] + first.counts["not_orders"] == 216
    assert first.counts["written"] == first.counts["documents"] > 0
    assert second.counts["written"] == 0
    async with sessionmaker() as session:
        total, items = await queries.list_orders(session, limit=5, offset=0)
    assert total == first.counts["written"] and len(items) == 5
