"""Reusing the import of identical bytes (``exchange_server.store.reuse``) on SQLite and PostgreSQL.

Each scenario is a sequence of packages (files imported, then the package closed as classic, with
``complete`` or with ``deactivate``). It runs twice on the same database: once with the files' sha256
given, so identical files may be reused, and once without, so every file is read. The catalog tables
must end up equal (timestamps aside), and reuse must happen exactly where the scenario expects it:
whenever anything touched the file's rows in between, the file is read again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange_server.db import tables
from exchange_server.importer import CatalogImporter, ImportResult
from exchange_server.store import reuse
from exchange_server.store.rows import ROW_FORMAT
from tests.exchange_server import cml_samples as cml
from tests.exchange_server.catalog_rows import CATALOG_TABLES, table_rows

Maker = async_sessionmaker[AsyncSession]

_CATALOG = CATALOG_TABLES
_BOOKKEEPING = (tables.ImportScope, tables.ImportedFile)
_TIMESTAMPS = frozenset({"created_at", "updated_at", "imported_at"})

GROUPS = [("g1", "Обувь"), ("g2", "Одежда")]
GOODS = cml.goods(
    [
        cml.product("p1", "Кроссовки", article="A-1", groups=["g1"], images=["img/a.jpg"]),
        cml.product("p2", "Куртка", groups=["g2"], properties=[("prop-1", "red")]),
        cml.product("p3", "Шапка", groups=["g2"], deletion_mark=True),
    ],
    groups=GROUPS,
)
GOODS_WITHOUT_P2 = cml.goods(
    [
        cml.product("p1", "Кроссовки", article="A-1", groups=["g1"], images=["img/a.jpg"]),
        cml.product("p3", "Шапка", groups=["g2"], deletion_mark=True),
    ],
    groups=GROUPS,
)
P2_RENAMED = cml.goods([cml.product("p2", "Куртка зимняя", groups=["g2"])], changes_only=True)
P2_SAME = cml.goods(
    [cml.product("p2", "Куртка", groups=["g2"], properties=[("prop-1", "red")])], changes_only=True
)
DUPLICATE_IDS = cml.goods([cml.product("p1", "Old"), cml.product("p1", "Кроссовки")])
OFFERS = cml.offers(
    [
        cml.offer(
            "p1#c42", "Кроссовки (42)", prices=[cml.price("pt-retail", "4490.50")], stock=[("w1", "3")]
        ),
        cml.offer("p2", "Куртка", prices=[cml.price("pt-retail", "9000")], quantity="1"),
    ],
    warehouses=[("w1", "Основной")],
)
PRICES_ONLY = cml.offers(
    [cml.offer("p2", None, prices=[cml.price("pt-retail", "9500")]), cml.offer("p9", None, quantity="4")],
    changes_only=True,
)


@dataclass(frozen=True)
class Step:
    """One file of a package; ``reused`` is what the run with sha256 must do with it."""

    package: str
    name: str
    xml: str
    reused: bool = False


@dataclass(frozen=True)
class Close:
    """The end of a package: ``deactivate=True`` as after ``mode=deactivate``."""

    package: str
    deactivate: bool = False


Action = Step | Close

SCENARIOS: dict[str, list[Action]] = {
    "resent unchanged": [
        Step("a", "import.xml", GOODS),
        Step("a", "offers.xml", OFFERS),
        Close("a"),
        Step("b", "import.xml", GOODS, reused=True),
        Step("b", "offers.xml", OFFERS, reused=True),
        Close("b"),
        Step("c", "import.xml", GOODS, reused=True),
        Close("c", deactivate=True),
    ],
    "with deactivate, then only the goods": [
        Step("a", "import.xml", GOODS),
        Step("a", "offers.xml", OFFERS),
        Close("a", deactivate=True),
        Step("b", "import.xml", GOODS, reused=True),
        Close("b", deactivate=True),
        Step("c", "import.xml", GOODS, reused=True),
        Step("c", "offers.xml", OFFERS, reused=True),  # b carried no offers: its sweep left them alone
        Close("c", deactivate=True),
    ],
    "a full package without p2 in between": [
        Step("a", "import.xml", GOODS),
        Close("a"),
        Step("b", "import.xml", GOODS_WITHOUT_P2),  # sweeps p2
        Close("b"),
        Step("c", "import.xml", GOODS),  # must bring p2 back
        Close("c"),
    ],
    "a changes-only package changed p2": [
        Step("a", "import.xml", GOODS),
        Close("a"),
        Step("b", "import.xml", P2_RENAMED),
        Close("b"),
        Step("c", "import.xml", GOODS),  # p2's name goes back
        Close("c"),
        Step("d", "import.xml", GOODS, reused=True),
        Close("d"),
    ],
    "a changes-only package only touched p2": [
        Step("a", "import.xml", GOODS),
        Close("a"),
        Step("b", "import.xml", P2_SAME),  # nothing changes but p2's package mark
        Close("b"),
        Step("c", "import.xml", GOODS),
        Close("c"),
    ],
    "a prices file between offers files": [
        Step("a", "offers.xml", OFFERS),
        Close("a"),
        Step("b", "prices.xml", PRICES_ONLY),
        Close("b"),
        Step("c", "offers.xml", OFFERS),  # the price of p2 must go back to 9000
        Close("c"),
        Step("d", "prices.xml", PRICES_ONLY),
        Close("d"),
    ],
    "another file of the same package carried the same kind": [
        Step("a", "import.xml", GOODS),
        Step("a", "import2.xml", P2_RENAMED),
        Close("a"),
        Step("b", "import2.xml", P2_RENAMED),
        Step("b", "import.xml", GOODS),
        Close("b"),
    ],
    "a later file of the same package changed one of its products": [
        Step("a", "import.xml", GOODS),
        Step("a", "import2.xml", P2_RENAMED),  # p2 still marked a, but renamed
        Close("a"),
        Step("b", "import.xml", GOODS),  # p2's name goes back
        Close("b"),
    ],
    "duplicate Ид in one file": [
        Step("a", "import.xml", DUPLICATE_IDS),
        Close("a"),
        Step("b", "import.xml", DUPLICATE_IDS),
        Close("b"),
    ],
    "same bytes under two names in one package": [
        Step("a", "import.xml", GOODS),
        Step("a", "copy.xml", GOODS, reused=True),
        Close("a"),
        Step("b", "copy.xml", GOODS),  # two files of a carried products: read
        Close("b"),
    ],
    "another folder": [
        Step("a", "import.xml", GOODS),
        Close("a"),
        Step("b", "goods/import.xml", GOODS),  # image paths are relative to the file's folder
        Close("b"),
    ],
}


async def _run(maker: Maker, root: Path, actions: list[Action], *, with_sha256: bool) -> list[ImportResult]:
    importer = CatalogImporter(maker)
    results: list[ImportResult] = []
    for action in actions:
        if isinstance(action, Close):
            await importer.finish_package(action.package, deactivate_unseen=action.deactivate)
            continue
        base = root / action.package
        path = cml.write(base / Path(action.name).parent, Path(action.name).name, action.xml)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if with_sha256 else None
        results.append(
            await importer.import_file(path, package_id=action.package, base_dir=base, sha256=digest)
        )
    return results


async def _catalog_rows(maker: Maker) -> dict[str, list[dict[str, Any]]]:
    return await table_rows(maker, _CATALOG, without=_TIMESTAMPS)


async def _clear(maker: Maker) -> None:
    async with maker() as session, session.begin():
        for model in (*reversed(_CATALOG), *_BOOKKEEPING):  # children first
            await session.execute(delete(cast(Table, model.__table__)))


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_reuse_ends_where_reading_ends(sessionmaker: Maker, tmp_path: Path, name: str) -> None:
    actions = SCENARIOS[name]
    steps = [a for a in actions if isinstance(a, Step)]
    with_reuse = await _run(sessionmaker, tmp_path / "reuse", actions, with_sha256=True)
    reused = await _catalog_rows(sessionmaker)
    await _clear(sessionmaker)
    read = await _run(sessionmaker, tmp_path / "read", actions, with_sha256=False)
    assert reused == await _catalog_rows(sessionmaker)
    assert [r.reused_from is not None for r in with_reuse] == [s.reused for s in steps]
    assert all(r.reused_from is None for r in read)
    for got, want in zip(with_reuse, read, strict=True):
        assert (got.counts, got.role, got.changes_only, got.warnings) == (
            want.counts,
            want.role,
            want.changes_only,
            want.warnings,
        )


async def test_reused_import_names_its_source_and_skips_everything(
    sessionmaker: Maker, tmp_path: Path
) -> None:
    first = await _run(sessionmaker, tmp_path, [Step("a", "import.xml", GOODS)], with_sha256=True)
    [again] = await _run(sessionmaker, tmp_path, [Step("b", "import.xml", GOODS)], with_sha256=True)
    assert again.reused_from == "a"
    assert again.written == {}
    assert again.skipped == again.counts == first[0].counts == {"groups": 2, "products": 3}


async def test_a_sweep_in_between_forces_a_read(sessionmaker: Maker, tmp_path: Path) -> None:
    """A product deactivated by another package's sweep keeps its package mark: the active flag decides."""
    await _run(sessionmaker, tmp_path, [Step("a", "import.xml", GOODS), Close("a")], with_sha256=True)
    async with sessionmaker() as session, session.begin():
        products = cast(Table, tables.Product.__table__)
        await session.execute(update(products).where(products.c.id == "p1").values(active=False))
    [again] = await _run(sessionmaker, tmp_path, [Step("b", "import.xml", GOODS)], with_sha256=True)
    assert again.reused_from is None
    async with sessionmaker() as session:
        active = (await session.execute(select(products.c.active).where(products.c.id == "p1"))).scalar_one()
    assert active is True


async def test_another_row_format_forces_a_read(sessionmaker: Maker, tmp_path: Path) -> None:
    await _run(sessionmaker, tmp_path, [Step("a", "import.xml", GOODS)], with_sha256=True)
    async with sessionmaker() as session, session.begin():
        files = cast(Table, tables.ImportedFile.__table__)
        await session.execute(update(files).values(row_format=ROW_FORMAT - 1))
    [again] = await _run(sessionmaker, tmp_path, [Step("b", "import.xml", GOODS)], with_sha256=True)
    assert again.reused_from is None


async def test_unknown_bytes_are_not_reused(sessionmaker: Maker) -> None:
    async with sessionmaker() as session, session.begin():
        found = await reuse.reuse_import(session, sha256="0" * 64, size=1, package_id="x", file="import.xml")
    assert found is None
