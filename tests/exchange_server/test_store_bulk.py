"""The driver-level batch writer on SQLite and PostgreSQL: exact round trips, no-op touches, big batches."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange_server.db import tables
from exchange_server.importer import CatalogImporter
from exchange_server.store import batches, catalog, queries
from exchange_server.store.bulk import Bulk
from exchange_server.store.codec import dumps
from exchange_server.store.rows import Kind, entity_row, offer_row
from tests.exchange_server import cml_samples as cml

Maker = async_sessionmaker[AsyncSession]

OFFERS = cast(Table, tables.Offer.__table__)
PRICES = cast(Table, tables.OfferPrice.__table__)

# Text that a JSON batch or a text array must carry unchanged: quotes, backslashes, control
# characters, Cyrillic, characters outside the BMP, something that looks like JSON or SQL.
TRICKY = [
    "кавычки \"двойные\" и 'одинарные'",
    "back\\slash \\u0041 \\n",
    "строка\nперевод\tтаб\r",
    "emoji 🧦 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    '[1, {"a": null}]',
    "x'); DROP TABLE offers; --",
    "",
]


def _offer(key: str, name: str | None, quantity: Decimal | None) -> tuple[Any, ...]:
    data = dumps({"id": key, "name": name})
    return (key, key, None, name, True, False, None, f"h-{key}", data, quantity)


COLUMNS = (
    "id",
    "product_id",
    "characteristic_id",
    "name",
    "active",
    "deleted",
    "version",
    "content_hash",
    "data",
    "quantity",
)


async def _write(maker: Maker, work: Callable[[Bulk], Any]) -> None:
    async with maker() as session, session.begin():
        await work(await Bulk.of(session))


async def test_values_round_trip_exactly(sessionmaker: Maker) -> None:
    now = dt.datetime(2026, 11, 23, 12, 30, 15, 123456, tzinfo=dt.UTC)
    quantities = [
        Decimal("4490.50"),
        Decimal("0.000001"),
        Decimal("-3"),
        Decimal("12345678901234.5678"),
        None,
    ]
    rows = [_offer(f"o{i}", name, quantities[i % len(quantities)]) for i, name in enumerate([*TRICKY, None])]
    consts = {"last_seen_package": "pk", "created_at": now, "updated_at": now}

    async def insert(bulk: Bulk) -> None:
        await bulk.insert(OFFERS, COLUMNS, rows, consts=consts, keys=("id",), update=["name"])

    await _write(sessionmaker, insert)
    async with sessionmaker() as session:
        stored = (await session.execute(select(OFFERS).order_by(OFFERS.c.id))).all()
    assert len(stored) == len(rows)
    by_id = {r.id: r for r in stored}
    for row in rows:
        got = by_id[row[0]]
        assert got.name == row[3]
        assert got.quantity == row[9] and str(got.quantity) == str(row[9])  # digits kept, no float
        assert got.active is True and got.deleted is False and got.version is None
        assert got.data == json.loads(row[8])
        assert got.last_seen_package == "pk"
        assert got.created_at.replace(tzinfo=dt.UTC) == now or got.created_at == now

    async with sessionmaker() as session:
        bulk = await Bulk.of(session)
        selected = await bulk.select_in(
            OFFERS, ("id", "name", "active", "quantity"), "id", ["o0", "o4", "none"]
        )
    assert sorted(selected) == [
        ("o0", TRICKY[0], True, quantities[0]),
        ("o4", TRICKY[4], True, quantities[4]),
    ]


async def test_upsert_overwrites_only_the_named_columns(sessionmaker: Maker) -> None:
    now = dt.datetime.now(dt.UTC)
    consts = {"last_seen_package": "pk1", "created_at": now, "updated_at": now}

    async def first(bulk: Bulk) -> None:
        await bulk.insert(OFFERS, COLUMNS, [_offer("o1", "old", Decimal(1))], consts=consts, keys=("id",))

    async def second(bulk: Bulk) -> None:
        new = _offer("o1", "new", Decimal(2))
        await bulk.insert(OFFERS, COLUMNS, [new], consts={**consts, "last_seen_package": "pk2"},
                          keys=("id",), update=["name", "last_seen_package"])  # fmt: skip
        # Without an update list a conflict leaves the row alone.
        await bulk.insert(OFFERS, COLUMNS, [_offer("o1", "ignored", None)], consts=consts, keys=("id",))

    await _write(sessionmaker, first)
    await _write(sessionmaker, second)
    async with sessionmaker() as session:
        row = (await session.execute(select(OFFERS))).one()
    assert (row.name, row.quantity, row.last_seen_package) == ("new", Decimal(1), "pk2")


async def test_update_skips_rows_that_would_not_change(sessionmaker: Maker) -> None:
    now = dt.datetime.now(dt.UTC)
    consts = {"last_seen_package": "pk1", "created_at": now, "updated_at": now}

    async def seed(bulk: Bulk) -> None:
        await bulk.insert(OFFERS, COLUMNS, [_offer(f"o{i}", f"n{i}", None) for i in range(3)], consts=consts)

    await _write(sessionmaker, seed)
    counts: list[int] = []

    async def touch(bulk: Bulk, package: str) -> None:
        await bulk.update(
            OFFERS, ("id", "active"), [("o0", True), ("o1", False), ("missing", True)],
            consts={"last_seen_package": package},
        )  # fmt: skip

    for package in ("pk1", "pk2"):
        async with sessionmaker() as session, session.begin():
            bulk = await Bulk.of(session)
            await touch(bulk, package)
            result = await session.execute(
                select(func.count()).select_from(OFFERS).where(OFFERS.c.last_seen_package == package)
            )
            counts.append(int(result.scalar_one()))
    async with sessionmaker() as session:
        rows = {r.id: r for r in (await session.execute(select(OFFERS))).all()}
    assert counts == [3, 2]  # o2 was never touched; "missing" is not created
    assert (rows["o1"].active, rows["o1"].last_seen_package) == (False, "pk2")
    assert (rows["o2"].active, rows["o2"].last_seen_package) == (True, "pk1")

    with pytest.raises(ValueError, match="first column"):
        async with sessionmaker() as session, session.begin():
            await (await Bulk.of(session)).update(OFFERS, ("active", "id"), [(True, "o0")])


async def test_delete_in_and_empty_batches(sessionmaker: Maker) -> None:
    now = dt.datetime.now(dt.UTC)
    consts = {"last_seen_package": "pk", "created_at": now, "updated_at": now}

    async def seed(bulk: Bulk) -> None:
        await bulk.insert(OFFERS, COLUMNS, [_offer(f"o{i}", None, None) for i in range(2)], consts=consts)
        await bulk.insert(
            PRICES,
            ("offer_id", "price_type_id", "value", "currency", "unit", "ratio"),
            [
                ("o0", "t1", Decimal("1.10"), "RUB", None, None),
                ("o1", "t1", Decimal("2"), None, "шт", Decimal(1)),
            ],
            consts={"updated_at": now},
        )
        await bulk.insert(PRICES, ("offer_id",), [])  # nothing to do: no statement
        await bulk.delete_in(PRICES, "offer_id", [])
        assert await bulk.select_in(OFFERS, ("id",), "id", []) == []

    async def delete(bulk: Bulk) -> None:
        await bulk.delete_in(PRICES, "offer_id", ["o0", "unknown"])

    await _write(sessionmaker, seed)
    await _write(sessionmaker, delete)
    async with sessionmaker() as session:
        prices = (await session.execute(select(PRICES.c.offer_id, PRICES.c.value))).all()
    assert [(p.offer_id, p.value) for p in prices] == [("o1", Decimal("2"))]


async def test_a_file_larger_than_two_batches(sessionmaker: Maker, tmp_path: Path) -> None:
    """More rows than SQLite allows bound variables in one statement; batches of the default size."""
    count = 4_321
    products = [
        cml.product(f"p{i:05}", f'Товар «{i}» "{i}"', groups=["g1"], properties=[("pr1", str(i))])
        for i in range(count)
    ]
    path = cml.write(tmp_path, "import.xml", cml.goods(products, groups=[("g1", "Группа")]))
    importer = CatalogImporter(sessionmaker)
    first = await importer.import_file(path, package_id="pk1", base_dir=tmp_path)
    again = await importer.import_file(path, package_id="pk2", base_dir=tmp_path)
    assert first.written["products"] == count
    assert again.skipped["products"] == count and again.written == {}
    async with sessionmaker() as session:
        total = (
            await session.execute(select(func.count()).select_from(tables.Product.__table__))
        ).scalar_one()
        seen = (
            await session.execute(
                select(func.count())
                .select_from(tables.Product.__table__)
                .where(tables.Product.__table__.c.last_seen_package == "pk2")
            )
        ).scalar_one()
        links = (
            await session.execute(select(func.count()).select_from(tables.ProductProperty.__table__))
        ).scalar_one()
        name = (
            await session.execute(
                select(tables.Product.__table__.c.name).where(tables.Product.__table__.c.id == "p04320")
            )
        ).scalar_one()
    assert (total, seen, links) == (count, count, count)
    assert name == 'Товар «4320» "4320"'


async def test_switch_interval_lowered_and_heap_frozen_while_a_producer_runs() -> None:
    before = sys.getswitchinterval()
    assert gc.get_freeze_count() == 0
    seen: list[float] = []

    def produce(put: Callable[[int], None]) -> None:
        seen.append(sys.getswitchinterval())
        assert gc.get_freeze_count() > 0
        put(1)

    async with batches.consume_in_thread(produce) as items:
        assert [i async for i in items] == [1]
        async with batches.consume_in_thread(produce) as nested:  # two imports at once
            assert [i async for i in nested] == [1]
        assert sys.getswitchinterval() == min(before, batches.SWITCH_INTERVAL)
    assert seen == [min(before, batches.SWITCH_INTERVAL)] * 2
    assert sys.getswitchinterval() == before
    assert gc.get_freeze_count() == 0
    await asyncio.sleep(0)


async def test_children_replaced_when_another_import_added_the_entity_meanwhile(
    sessionmaker: Maker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two 1C nodes sending the same new product: the later batch must not trip over the earlier one's
    child rows (its select ran before the other transaction committed)."""
    from commerceml.model import Offer, Price, Product

    product = Product(id="p1", name="A", group_ids=("g1", "g2"))
    offer = Offer(
        id="p1", name="A", prices=(Price(price_type_id="t1", value=Decimal(5)),), quantity=Decimal(1)
    )
    async with sessionmaker() as session, session.begin():
        await catalog.write_entities(session, Kind.PRODUCT, [entity_row(product)], "node-1")  # type: ignore[list-item]
        await catalog.write_offers(session, [offer_row(offer)], "node-1")

    async def nothing_stored(*_args: Any) -> dict[str, Any]:
        return {}

    async with sessionmaker() as session:
        locked = (await Bulk.of(session)).snapshot_is_locked
    # SQLite cannot get here (BEGIN IMMEDIATE holds the write lock from the select on); the path taken
    # on PostgreSQL is exercised on both backends.
    assert locked is (sessionmaker.kw["bind"].dialect.name == "sqlite")
    monkeypatch.setattr(Bulk, "snapshot_is_locked", False)
    monkeypatch.setattr(catalog, "_stored", nothing_stored)
    changed = Product(id="p1", name="B", group_ids=("g2", "g3"))
    repriced = Offer(
        id="p1", name="B", prices=(Price(price_type_id="t1", value=Decimal(7)),), quantity=Decimal(2)
    )
    async with sessionmaker() as session, session.begin():
        await catalog.write_entities(session, Kind.PRODUCT, [entity_row(changed)], "node-2")  # type: ignore[list-item]
        await catalog.write_offers(session, [offer_row(repriced)], "node-2")
    monkeypatch.undo()
    async with sessionmaker() as session:
        got = await queries.get_product(session, "p1")
    assert got is not None
    assert got["name"] == "B"
    assert [g["id"] for g in got["groups"]] == ["g2", "g3"]
    [stored_offer] = got["offers"]
    assert [p["value"] for p in stored_offer["prices"]] == ["7"]
    assert stored_offer["quantity"] == "2"
