"""The parser process (``exchange_server.store.parsing``): same rows as the thread, errors, early stops."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commerceml.errors import MalformedXML
from commerceml.reader import ReadSummary
from exchange_server.db import tables
from exchange_server.errors import ImportFailed
from exchange_server.importer import CatalogImporter, ImportResult
from exchange_server.store import parsing
from exchange_server.store.rows import Kind
from tests.exchange_server import cml_samples as cml
from tests.exchange_server.catalog_rows import CATALOG_TABLES, table_rows

Maker = async_sessionmaker[AsyncSession]

GOODS = cml.goods(
    [
        cml.product("p1", "Кроссовки", article="A-1", groups=["g1"], images=["img/a.jpg", "../x.jpg"]),
        cml.product("p2", "Куртка", groups=["g2"], properties=[("prop-1", "red")], version="v7"),
        cml.product("p3", "Шапка", groups=["g2"], deletion_mark=True),
    ]
    + [cml.product(f"n{i}", f"Товар {i}") for i in range(40)],
    groups=[("g1", "Обувь"), ("g2", "Одежда")],
)
OFFERS = cml.offers(
    [
        cml.offer(
            "p1#c42", "Кроссовки (42)", prices=[cml.price("pt-retail", "4490.50")], stock=[("w1", "3")]
        ),
        cml.offer("p2", "Куртка", prices=[cml.price("pt-retail", "9000")], quantity="1.500"),
        cml.offer("p9", None, quantity="4"),
    ],
    warehouses=[("w1", "Основной")],
)
_TABLES = tuple(m for m in CATALOG_TABLES if m not in (tables.Property, tables.PropertyVariant, tables.Unit))


async def _rows(maker: Maker) -> dict[str, list[dict[str, Any]]]:
    return await table_rows(maker, _TABLES, without=("created_at", "updated_at"))


async def _import_all(importer: CatalogImporter, root: Path, package: str) -> list[ImportResult]:
    results = []
    for name, xml in (("import.xml", GOODS), ("offers.xml", OFFERS)):
        path = cml.write(root, name, xml)
        results.append(await importer.import_file(path, package_id=package, base_dir=root))
    return results


def _comparable(result: ImportResult) -> tuple[Any, ...]:
    return (result.counts, result.written, result.skipped, result.warnings, result.role, result.changes_only)


async def test_parser_process_stores_what_the_thread_stores(sessionmaker: Maker, tmp_path: Path) -> None:
    in_process = CatalogImporter(sessionmaker, batch_size=7, process_threshold=0)
    in_thread = CatalogImporter(sessionmaker, batch_size=7, process_threshold=None)
    first = await _import_all(in_process, tmp_path / "a", "a")
    stored = await _rows(sessionmaker)
    again = await _import_all(in_thread, tmp_path / "b", "a")  # the thread finds everything unchanged
    assert await _rows(sessionmaker) == stored
    assert [r.written for r in again] == [{}, {}]
    assert [r.counts for r in first] == [r.counts for r in again]
    assert first[0].written == {"groups": 2, "products": 43}
    assert "product p1: image path '../x.jpg' refused (outside the package)" in first[0].warnings
    assert [_comparable(r)[3:] for r in first] == [_comparable(r)[3:] for r in again]
    assert [o["id"] for o in stored["offers"]] == ["p1#c42", "p2", "p9"]


async def test_malformed_xml_fails_the_same_way_in_the_process(sessionmaker: Maker, tmp_path: Path) -> None:
    broken = GOODS[: len(GOODS) // 2]  # cut in the middle of a product
    failures = []
    for threshold in (0, None):
        path = cml.write(tmp_path / str(threshold), "import.xml", broken)
        importer = CatalogImporter(sessionmaker, batch_size=5, process_threshold=threshold)
        with pytest.raises(ImportFailed) as caught:
            await importer.import_file(path, package_id="p", base_dir=path.parent)
        failures.append(caught.value)
    assert failures[0].reply_text == failures[1].reply_text
    assert "Ошибка импорта файла import.xml" in failures[0].reply_text
    assert isinstance(failures[0].__cause__, MalformedXML)
    assert failures[0].__cause__.line == cast(MalformedXML, failures[1].__cause__).line


async def test_a_parser_that_dies_fails_the_import(
    sessionmaker: Maker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'Killed' >&2\nexit 137\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    path = cml.write(tmp_path, "import.xml", GOODS)
    importer = CatalogImporter(sessionmaker, process_threshold=0)
    with pytest.raises(ImportFailed) as caught:
        await importer.import_file(path, package_id="p", base_dir=tmp_path)
    assert "Процесс разбора файла import.xml завершился аварийно" in caught.value.reply_text
    assert "exit code 137" in str(caught.value.__cause__)
    assert "Killed" in str(caught.value.__cause__)


async def test_a_consumer_that_stops_early_ends_the_parser(tmp_path: Path) -> None:
    path = cml.write(tmp_path, "import.xml", GOODS)
    summary = ReadSummary()
    seen = []
    with pytest.raises(RuntimeError, match="database down"):
        async with parsing.consume_in_process(
            path, "", batch_size=5, chunk_size=1024, summary=summary, warnings=[], depth=1
        ) as batches:
            async for kind, rows in batches:
                seen.append((kind, len(rows)))
                raise RuntimeError("database down")
    assert seen == [(Kind.PRODUCT, 5)]
    assert summary.counts["products"] == 0  # never finished
    assert _child_pids() == []  # the parser was killed and reaped


def _child_pids() -> list[str]:
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    return children.read_text().split() if children.exists() else []


def sample_batches(tmp_path: Path) -> list[parsing.Batch]:
    """The batches of the sample goods and offers files, 10 rows each (also used by the frames tests)."""
    batches: list[parsing.Batch] = []
    for name, xml in (("import.xml", GOODS), ("offers.xml", OFFERS)):
        parsing.produce_batches(
            cml.write(tmp_path, name, xml),
            "",
            batch_size=10,
            chunk_size=4096,
            summary=ReadSummary(),
            warnings=[],
            put=batches.append,
        )
    return batches


def test_the_wire_format_round_trips(tmp_path: Path) -> None:
    batches = sample_batches(tmp_path)
    assert {kind for kind, _ in batches} == {
        Kind.GROUP,
        Kind.PRODUCT,
        Kind.OFFER,
        Kind.PRICE_TYPE,
        Kind.WAREHOUSE,
    }
    for kind, rows in batches:
        assert parsing._unwire(kind, parsing._wire(kind, rows)) == rows
