"""The load scenario as tests: a small run in CI, the full one behind ``slow``; and the checker itself.

The small run (4 nodes on two server processes sharing one PostgreSQL database, 40 concurrent order
uploads) fails when anything is lost, duplicated, changed or failed; the full run is what
``python -m tests.load.run_load`` does (results recorded in docs/reliability.md, section Load).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from exchange_server.db.engine import make_engine, upgrade_schema
from exchange_server.importer import CatalogImporter, OrderImporter
from exchange_server.store.orders import FROM_SITE, commit_exported, save_orders
from tests.load.data import LoadData, expected_from_files, make_load_data
from tests.load.harness import PG_URL, pg_admin
from tests.load.run_load import LoadConfig, ModeResult, run_load
from tests.load.verify import check_queries, check_store


async def _postgres_or_skip() -> None:
    try:
        await pg_admin("SELECT 1")
    except Exception as exc:  # refused, auth, DNS: whatever keeps us from the server
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_URL} unavailable under CI: {exc!r}")
        pytest.skip(f"PostgreSQL at {PG_URL} unavailable: {exc!r}")


def _assert_clean(results: Sequence[ModeResult], modes: Sequence[str]) -> None:
    assert [r.mode for r in results] == list(modes)
    for result in results:
        assert result.problems == [], f"{result.mode}: " + "\n".join(result.problems)
        assert all(mb > 0 for mb in result.peak_mb), result.peak_mb


@pytest.mark.postgres
async def test_small_load_two_processes_nothing_lost_or_duplicated(tmp_path: Path) -> None:
    await _postgres_or_skip()
    config = LoadConfig(
        nodes=4, products=60, shared_products=20, orders_per_node=5, uploads=40, site_orders=10
    )
    results = await run_load(config, ["pg-2"], tmp_path)
    _assert_clean(results, ["pg-2"])
    burst = results[0].requests["burst"]
    assert burst["sale/file"]["count"] == 40  # every upload reached a server
    exchange = results[0].requests["exchange"]
    assert exchange["catalog/checkauth"]["count"] == exchange["sale/checkauth"]["count"] == 4


@pytest.mark.slow
@pytest.mark.postgres
async def test_full_load(tmp_path: Path) -> None:
    """20 nodes, 200 concurrent uploads, one and two processes (docs/reliability.md, Load)."""
    await _postgres_or_skip()
    modes = ["pg-1", "pg-2", "pg-2-rr"]
    results = await run_load(LoadConfig(), modes, tmp_path)
    _assert_clean(results, modes)


# --- the checker finds what it must find ----------------------------------------------------------


def _small_data(tmp_path: Path) -> LoadData:
    return make_load_data(
        tmp_path / "files",
        run="chk",
        nodes=2,
        products=6,
        shared_products=4,
        orders_per_node=2,
        uploads=2,
        orders_per_upload=2,
        site_order_count=3,
    )


async def _imported(tmp_path: Path, data: LoadData) -> str:
    """The data imported straight through the importers into a fresh SQLite file (no server)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/check.db"
    await upgrade_schema(url)
    engine = make_engine(url)
    try:
        maker = async_sessionmaker(engine, expire_on_commit=False)
        for catalog in data.catalogs:
            package = f"package-{catalog.node}"
            for _, path in catalog.files:
                await CatalogImporter(maker).import_file(path, package_id=package, base_dir=path.parent)
        for order_file in (*data.node_orders, *data.burst_orders):
            await OrderImporter(maker).import_file(order_file.path, package_id="orders")
        async with maker() as session, session.begin():
            await save_orders(session, data.site_orders, source=FROM_SITE)
            await commit_exported(session, [(d.id, "1") for d in data.site_orders])
    finally:
        await engine.dispose()
    return url


async def _execute(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as db:
            for statement in statements:
                await db.execute(text(statement))
    finally:
        await engine.dispose()


async def test_checker_passes_a_faithful_store_and_names_every_damage(tmp_path: Path) -> None:
    data = _small_data(tmp_path)
    expected = expected_from_files(data.catalog_paths(), data.order_paths())
    url = await _imported(tmp_path, data)
    assert await check_store(url, expected, data.site_orders) == []

    offer_id = sorted(expected.offers)[0]
    product_id = sorted(expected.entities["products"])[1]
    order_id = sorted(expected.orders)[0]
    other_order = sorted(expected.orders)[1]
    site_order = data.site_orders[0].id
    await _execute(
        url,
        f"DELETE FROM offer_prices WHERE offer_id = '{offer_id}'",  # lost prices
        f"UPDATE products SET content_hash = 'x' WHERE id = '{product_id}'",  # changed content
        f"DELETE FROM order_lines WHERE order_id = '{order_id}'",
        f"DELETE FROM orders WHERE id = '{order_id}'",  # a lost order
        f"UPDATE orders SET revision = 2 WHERE id = '{other_order}'",  # written twice
        f"UPDATE orders SET exported_revision = 0 WHERE id = '{site_order}'",  # never confirmed
        "INSERT INTO offer_stock (offer_id, warehouse_id, quantity, updated_at) "
        f"VALUES ('{offer_id}', 'ghost-warehouse', '1', '2024-01-01')",  # a row nobody sent
    )
    problems = "\n".join(await check_store(url, expected, data.site_orders))
    assert f"offer prices missing: 2: ('{offer_id}'" in problems
    assert f"offers with other content than the file: 1: {offer_id}" not in problems  # hash untouched
    assert f"products with other content than the file: 1: {product_id}" in problems
    assert f"orders missing: 1: {order_id}" in problems
    assert f"order_lines rows missing: {len(expected.orders[order_id].children['order_lines'])}" in problems
    assert f"1C orders written more than once or marked as site changes: 1: {other_order}" in problems
    assert f"site orders not confirmed by mode=success: 1: {site_order}" in problems
    assert "offer stock not in the files: 1: " in problems and "ghost-warehouse" in problems


def test_query_check_names_repeats_echoes_and_orders_never_handed_out(tmp_path: Path) -> None:
    data = _small_data(tmp_path)
    site = [d.id for d in data.site_orders]
    assert check_queries([(0, [(i, "1") for i in site]), (1, [])], data.site_orders) == []
    problems = check_queries(
        [(0, [(site[0], "1"), (site[0], "1")]), (1, [("load-chk-n00-x000", "1")])], data.site_orders
    )
    assert problems == [
        f"node 0: query answer repeats orders: 1: {site[0]}",
        "node 1: query answer holds orders 1C sent: 1: load-chk-n00-x000",
        f"site orders no query handed out: 2: {site[1]}, {site[2]}",
    ]
