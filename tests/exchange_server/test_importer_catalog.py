"""CatalogImporter on SQLite and PostgreSQL: idempotence, versions, sweeps, pending offers, partial files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange_server.db import tables
from exchange_server.db.engine import make_engine
from exchange_server.errors import ImportFailed
from exchange_server.importer import CatalogImporter
from exchange_server.store import queries
from tests.exchange_server import cml_samples as cml

Maker = async_sessionmaker[AsyncSession]


async def _import(maker: Maker, tmp: Path, name: str, xml: str, package: str = "p1", **kw: Any) -> Any:
    path = cml.write(tmp, name, xml)
    return await CatalogImporter(maker, **kw).import_file(path, package_id=package, base_dir=tmp)


async def _product(maker: Maker, pid: str) -> dict[str, Any]:
    async with maker() as session:
        product = await queries.get_product(session, pid)
    assert product is not None, pid
    return product


async def _snapshot(maker: Maker) -> dict[str, list[Any]]:
    """Every row of every catalog table (timestamps included): equal snapshots = nothing changed."""
    out: dict[str, list[Any]] = {}
    async with maker() as session:
        for model in (
            tables.Product,
            tables.ProductGroup,
            tables.ProductImage,
            tables.ProductProperty,
            tables.Offer,
            tables.OfferPrice,
            tables.OfferStock,
            tables.Group,
            tables.PriceType,
            tables.Warehouse,
        ):
            table = cast(Table, model.__table__)
            rows = await session.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(r) for r in rows.all()]
    return out


GROUPS = [("g1", "Обувь"), ("g2", "Одежда")]


def _catalog(**kw: Any) -> str:
    return cml.goods(
        [
            cml.product("p1", "Кроссовки", version="v1", article="A-1", groups=["g1"], images=["img/a.jpg"]),
            cml.product("p2", "Куртка", version="v1", groups=["g2"]),
        ],
        groups=GROUPS,
        **kw,
    )


def _offers(**kw: Any) -> str:
    return cml.offers(
        [
            cml.offer(
                "p1#c42",
                "Кроссовки (42)",
                prices=[cml.price("pt-retail", "4490.50")],
                characteristics=[("Размер", "42")],
                stock=[("w1", "3"), ("w2", "2")],
                quantity="5",
            ),
            cml.offer("p2", "Куртка", prices=[cml.price("pt-retail", "9000")], quantity="1"),
        ],
        warehouses=[("w1", "Основной"), ("w2", "Магазин")],
        **kw,
    )


async def test_goods_and_offers_stored(sessionmaker: Maker, tmp_path: Path) -> None:
    progress: list[str] = []
    path = cml.write(tmp_path, "import.xml", _catalog())
    result = await CatalogImporter(sessionmaker).import_file(
        path, package_id="p1", base_dir=tmp_path, progress=progress.append
    )
    assert result.counts == {"groups": 2, "products": 2}
    assert result.written == {"groups": 2, "products": 2}
    assert result.changes_only is False
    assert "Imported 2 products of import.xml" in progress
    offers = await _import(sessionmaker, tmp_path, "offers.xml", _offers())
    assert offers.counts == {"offers": 2, "price_types": 1, "warehouses": 2}

    p1 = await _product(sessionmaker, "p1")
    assert (p1["name"], p1["article"], p1["active"]) == ("Кроссовки", "A-1", True)
    assert p1["groups"] == [{"id": "g1", "name": "Обувь"}]
    assert p1["images"] == ["img/a.jpg"]
    [offer] = p1["offers"]
    assert offer["id"] == "p1#c42"
    assert offer["characteristics"] == [{"name": "Размер", "value": "42", "id": None}]
    assert offer["prices"] == [
        {"price_type_id": "pt-retail", "price_type": "Розничная", "value": "4490.50", "currency": "RUB"}
    ]
    assert offer["stock"] == [
        {"warehouse_id": "w1", "warehouse": "Основной", "quantity": "3"},
        {"warehouse_id": "w2", "warehouse": "Магазин", "quantity": "2"},
    ]
    assert offer["quantity"] == "5"
    # A product without characteristics: its offer Ид is the product Ид.
    p2 = await _product(sessionmaker, "p2")
    assert [o["id"] for o in p2["offers"]] == ["p2"]


async def test_reimport_is_idempotent(sessionmaker: Maker, tmp_path: Path) -> None:
    await _import(sessionmaker, tmp_path, "import.xml", _catalog())
    await _import(sessionmaker, tmp_path, "offers.xml", _offers())
    before = await _snapshot(sessionmaker)
    again = await _import(sessionmaker, tmp_path, "import.xml", _catalog())
    again_offers = await _import(sessionmaker, tmp_path, "offers.xml", _offers())
    assert again.written == {} and again.skipped == {"groups": 2, "products": 2}
    assert again_offers.written == {}
    assert await _snapshot(sessionmaker) == before


async def test_unchanged_version_is_skipped(sessionmaker: Maker, tmp_path: Path) -> None:
    await _import(sessionmaker, tmp_path, "import.xml", cml.goods([cml.product("p1", "Old", version="v1")]))
    same_version = await _import(
        sessionmaker, tmp_path, "import.xml", cml.goods([cml.product("p1", "New", version="v1")])
    )
    assert same_version.skipped == {"products": 1}
    assert (await _product(sessionmaker, "p1"))["name"] == "Old"
    new_version = await _import(
        sessionmaker, tmp_path, "import.xml", cml.goods([cml.product("p1", "New", version="v2")])
    )
    assert new_version.written == {"products": 1}
    product = await _product(sessionmaker, "p1")
    assert (product["name"], product["version"]) == ("New", "v2")


async def test_unversioned_change_detected_by_content(sessionmaker: Maker, tmp_path: Path) -> None:
    await _import(sessionmaker, tmp_path, "import.xml", cml.goods([cml.product("p1", "Old", groups=["g1"])]))
    await _import(sessionmaker, tmp_path, "import.xml", cml.goods([cml.product("p1", "New", groups=["g2"])]))
    product = await _product(sessionmaker, "p1")
    assert product["name"] == "New"
    assert [g["id"] for g in product["groups"]] == ["g2"]  # child rows replaced, not accumulated


async def test_full_package_sweeps_changes_only_does_not(sessionmaker: Maker, tmp_path: Path) -> None:
    importer = CatalogImporter(sessionmaker)
    both = cml.goods([cml.product("p1", "A"), cml.product("p2", "B")])
    await _import(sessionmaker, tmp_path, "import.xml", both, package="pk1")
    await importer.finish_package("pk1", deactivate_unseen=False)

    delta = cml.goods([cml.product("p1", "A2")], changes_only=True)
    await _import(sessionmaker, tmp_path, "import.xml", delta, package="pk2")
    finished = await importer.finish_package("pk2", deactivate_unseen=False)
    assert finished.deactivated == {}
    assert (await _product(sessionmaker, "p2"))["active"] is True

    # Even mode=deactivate never sweeps after a changes-only package.
    await importer.finish_package("pk2", deactivate_unseen=True)
    assert (await _product(sessionmaker, "p2"))["active"] is True

    full = cml.goods([cml.product("p1", "A3")])
    await _import(sessionmaker, tmp_path, "import.xml", full, package="pk3")
    finished = await importer.finish_package("pk3", deactivate_unseen=False)
    assert finished.deactivated == {"products": 1}
    p2 = await _product(sessionmaker, "p2")
    assert (p2["active"], p2["deleted"], p2["name"]) == (False, False, "B")  # hidden, not deleted

    # Seen again (unchanged) in a later package: active again.
    await _import(sessionmaker, tmp_path, "import.xml", both, package="pk4")
    assert (await _product(sessionmaker, "p2"))["active"] is True


async def test_deactivate_hides_products_and_offers_not_seen(sessionmaker: Maker, tmp_path: Path) -> None:
    importer = CatalogImporter(sessionmaker)
    await _import(sessionmaker, tmp_path, "import.xml", _catalog(), package="pk1")
    await _import(sessionmaker, tmp_path, "offers.xml", _offers(), package="pk1")
    # A 3.1-style package whose offers file says changes-only (1C-Bitrix does not use the flag there).
    await _import(sessionmaker, tmp_path, "import.xml", cml.goods([cml.product("p1", "Кроссовки")]), "pk2")
    await _import(
        sessionmaker,
        tmp_path,
        "offers.xml",
        cml.offers([cml.offer("p1#c42", "Кроссовки (42)")], changes_only=True),
        "pk2",
    )
    finished = await importer.finish_package("pk2", deactivate_unseen=True)
    assert finished.deactivated["products"] == 1
    assert finished.deactivated["offers"] == 1
    p2 = await _product(sessionmaker, "p2")
    assert p2["active"] is False
    assert [(o["id"], o["active"]) for o in p2["offers"]] == [("p2", False)]
    p1 = await _product(sessionmaker, "p1")
    assert p1["active"] is True and p1["offers"][0]["active"] is True


async def test_offers_before_goods_are_linked_later(sessionmaker: Maker, tmp_path: Path) -> None:
    importer = CatalogImporter(sessionmaker)
    await _import(sessionmaker, tmp_path, "offers.xml", _offers(), package="pk1")
    assert (await importer.finish_package("pk1", deactivate_unseen=False)).pending_offers == 2
    async with sessionmaker() as session:
        assert await queries.get_product(session, "p1") is None
    await _import(sessionmaker, tmp_path, "import.xml", _catalog(), package="pk2")
    assert (await importer.finish_package("pk2", deactivate_unseen=False)).pending_offers == 0
    [offer] = (await _product(sessionmaker, "p1"))["offers"]
    assert offer["prices"][0]["value"] == "4490.50"


async def test_split_price_and_rest_files_are_partial(sessionmaker: Maker, tmp_path: Path) -> None:
    await _import(sessionmaker, tmp_path, "import.xml", _catalog())
    descriptive = cml.offers(
        [cml.offer("p1#c42", "Кроссовки (42)", characteristics=[("Размер", "42")])], price_types=()
    )
    await _import(sessionmaker, tmp_path, "goods/offers___1.xml", descriptive)
    prices = cml.offers(
        [cml.offer("p1#c42", None, prices=[cml.price("pt-retail", "100")])], changes_only=True
    )
    rests = cml.offers([cml.offer("p1#c42", None, rests=[("w1", "7")])], price_types=(), changes_only=True)
    result = await _import(sessionmaker, tmp_path, "goods/prices___1.xml", prices)
    assert result.counts["offers"] == 1
    await _import(sessionmaker, tmp_path, "goods/rests___1.xml", rests)

    [offer] = (await _product(sessionmaker, "p1"))["offers"]
    assert offer["name"] == "Кроссовки (42)"
    assert offer["characteristics"] == [{"name": "Размер", "value": "42", "id": None}]
    assert [p["value"] for p in offer["prices"]] == ["100"]
    assert offer["stock"] == [{"warehouse_id": "w1", "warehouse": None, "quantity": "7"}]
    assert offer["quantity"] == "7"

    # A new prices file changes prices only; a new rests file stock only.
    new_prices = cml.offers([cml.offer("p1#c42", None, prices=[cml.price("pt-retail", "120")])])
    await _import(sessionmaker, tmp_path, "goods/prices___2.xml", new_prices)
    [offer] = (await _product(sessionmaker, "p1"))["offers"]
    assert [p["value"] for p in offer["prices"]] == ["120"]
    assert offer["quantity"] == "7" and offer["name"] == "Кроссовки (42)"
    new_rests = cml.offers([cml.offer("p1#c42", None, rests=[("w1", "1"), ("w2", "2")])], price_types=())
    await _import(sessionmaker, tmp_path, "goods/rests___2.xml", new_rests)
    [offer] = (await _product(sessionmaker, "p1"))["offers"]
    assert [p["value"] for p in offer["prices"]] == ["120"]
    assert offer["quantity"] == "3"
    assert [s["quantity"] for s in offer["stock"]] == ["1", "2"]


async def test_deleted_goods_are_deactivated_not_deleted(sessionmaker: Maker, tmp_path: Path) -> None:
    await _import(
        sessionmaker, tmp_path, "import.xml", cml.goods([cml.product("p1", "A"), cml.product("p2", "B")])
    )
    deletions = cml.goods(
        [cml.product("p1", "A", status="Удален"), cml.product("p2", "B", version="2", deletion_mark=True)],
        changes_only=True,
    )
    await _import(sessionmaker, tmp_path, "import.xml", deletions, package="p2")
    await _import(
        sessionmaker,
        tmp_path,
        "offers.xml",
        cml.offers([cml.offer("p1", "A", status="Удален", quantity="0")]),
    )
    for pid in ("p1", "p2"):
        product = await _product(sessionmaker, pid)
        assert (product["active"], product["deleted"]) == (False, True)
    assert (await _product(sessionmaker, "p1"))["offers"][0]["active"] is False
    # Re-seeing a deleted product unchanged does not bring it back.
    await _import(sessionmaker, tmp_path, "import.xml", deletions, package="p3")
    assert (await _product(sessionmaker, "p1"))["active"] is False
    async with sessionmaker() as session:
        total, _ = await queries.list_products(session, limit=10, offset=0)
    assert total == 2


async def test_batches_smaller_than_the_file(sessionmaker: Maker, tmp_path: Path) -> None:
    products = [cml.product(f"p{i:03}", f"Товар {i}") for i in range(23)]
    result = await _import(sessionmaker, tmp_path, "import.xml", cml.goods(products), batch_size=5)
    assert result.counts == {"products": 23}
    async with sessionmaker() as session:
        count = (
            await session.execute(select(func.count()).select_from(tables.Product.__table__))
        ).scalar_one()
    assert count == 23


async def test_duplicate_ids_in_one_batch(sessionmaker: Maker, tmp_path: Path) -> None:
    xml = cml.goods([cml.product("p1", "First"), cml.product("p1", "Second")])
    await _import(sessionmaker, tmp_path, "import.xml", xml)
    assert (await _product(sessionmaker, "p1"))["name"] == "Second"


async def test_truncated_file_fails_and_keeps_data(sessionmaker: Maker, tmp_path: Path) -> None:
    await _import(sessionmaker, tmp_path, "import.xml", _catalog())
    broken = _catalog()[:-200]
    with pytest.raises(ImportFailed) as caught:
        await _import(sessionmaker, tmp_path, "broken.xml", broken)
    assert "broken.xml" in caught.value.reply_text
    assert caught.value.__cause__ is not None
    assert (await _product(sessionmaker, "p1"))["name"] == "Кроссовки"


async def test_missing_file_fails_cleanly(sessionmaker: Maker, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed):
        await CatalogImporter(sessionmaker).import_file(
            tmp_path / "nope.xml", package_id="p", base_dir=tmp_path
        )


async def test_image_paths_relative_to_the_file_and_traversal_refused(
    sessionmaker: Maker, tmp_path: Path
) -> None:
    xml = cml.goods(
        [cml.product("p1", "A", images=["import_files/ab/x.jpg", "../../etc/passwd", "/abs.jpg"])]
    )
    result = await _import(sessionmaker, tmp_path, "goods/1/import.xml", xml)
    assert (await _product(sessionmaker, "p1"))["images"] == ["goods/1/import_files/ab/x.jpg"]
    assert sum("refused" in w for w in result.warnings) == 2


async def test_database_error_is_wrapped(tmp_path: Path) -> None:
    # A database without the schema (never migrated): every write fails. Not the shared test
    # database: dropping a table there would break the tests that follow.
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/unmigrated.db")
    try:
        maker = async_sessionmaker(engine, expire_on_commit=False)
        with pytest.raises(ImportFailed) as caught:
            await _import(maker, tmp_path, "import.xml", _catalog())
    finally:
        await engine.dispose()
    assert "базы данных" in caught.value.reply_text
    assert isinstance(caught.value.__cause__, SQLAlchemyError)
