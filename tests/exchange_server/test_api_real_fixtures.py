"""Real 1C files imported, then checked through the operator API against what the files hold.

The expected values are read from the files with the CommerceML reader, independently of the store.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange_server.api import setup_api
from exchange_server.importer import CatalogImporter
from exchange_server.keys import SESSIONMAKER
from tests.exchange_server.conftest import REAL_FIXTURES, real_fixture
from tests.exchange_server.e2e_support import expected_catalog

Maker = async_sessionmaker[AsyncSession]
Client = TestClient[web.Request, web.Application]

KREMENCHUK = (
    "Kremenchuk__parseXML/data__from_ERP__example__import.xml",
    "Kremenchuk__parseXML/data__from_ERP__example__offers.xml",
)
WAGOOD_31 = tuple(
    f"wagood__commerceml/example__commerce-ml3__{name}.xml"
    for name in (
        "import___57c55968-51d1-46f0-b5d7-927f420b8fd4",  # classifier (groups, price types)
        "import___5335d080-66b0-4355-887c-d54bba6f1f08",  # goods
        "offers___13955e2c-c7d0-4189-8db7-9bc863cde645",
        "prices___478f43af-4dba-47c9-b3fa-d9737c14a30f",
        "rests___9ebdccc5-f70a-43db-8c03-0103301aad32",
    )
)


async def _client(aiohttp_client: Any, maker: Maker) -> Client:
    app = web.Application()
    app[SESSIONMAKER] = maker
    setup_api(app)
    client: Client = await aiohttp_client(app)
    return client


async def _import_and_check(
    aiohttp_client: Any, maker: Maker, names: tuple[str, ...], tmp_path: Path
) -> None:
    paths = [real_fixture(name) for name in names]
    importer = CatalogImporter(maker, batch_size=100)
    for path in paths:
        await importer.import_file(path, package_id="real", base_dir=REAL_FIXTURES)
    finished = await importer.finish_package("real", deactivate_unseen=False)
    products, offers = expected_catalog(paths)
    client = await _client(aiohttp_client, maker)

    listing = await (await client.get("/api/products", params={"limit": 1000})).json()
    assert listing["total"] == len(products)
    assert {item["id"] for item in listing["items"]} == set(products)
    for item in listing["items"]:
        product = products[item["id"]]
        assert item["name"] == product.name
        assert item["article"] == product.article
        assert item["active"] is (not product.deleted)

    assert finished.pending_offers == sum(1 for o in offers.values() if o["product_id"] not in products)
    checked = 0
    for product_id in sorted({o["product_id"] for o in offers.values()} & set(products)):
        response = await client.get(f"/api/products/{product_id}")
        assert response.status == 200
        detail = await response.json()
        got = {o["id"]: o for o in detail["offers"]}
        want = {k: v for k, v in offers.items() if v["product_id"] == product_id}
        assert set(got) == set(want)
        for offer_id, state in want.items():
            offer = got[offer_id]
            if "prices" in state:
                assert {p["price_type_id"]: Decimal(p["value"]) for p in offer["prices"]} == state["prices"]
            if "stock" in state:
                assert {s["warehouse_id"]: Decimal(s["quantity"]) for s in offer["stock"]} == state["stock"]
            if "quantity" in state:
                assert Decimal(offer["quantity"]) == state["quantity"]
            checked += 1
    assert checked > 0


async def test_kremenchuk_erp_pair(aiohttp_client: Any, sessionmaker: Maker, tmp_path: Path) -> None:
    await _import_and_check(aiohttp_client, sessionmaker, KREMENCHUK, tmp_path)


async def test_31_split_set(aiohttp_client: Any, sessionmaker: Maker, tmp_path: Path) -> None:
    await _import_and_check(aiohttp_client, sessionmaker, WAGOOD_31, tmp_path)
    client = await _client(aiohttp_client, sessionmaker)
    # Price types come from the 3.1 classifier: the API names them.
    listing = await (await client.get("/api/products")).json()
    detail = await (await client.get(f"/api/products/{listing['items'][0]['id']}")).json()
    named = [p for o in detail["offers"] for p in o["prices"]]
    assert named and all(p["price_type"] for p in named)


async def test_kremenchuk_reimport_changes_nothing(sessionmaker: Maker) -> None:
    paths = [real_fixture(name) for name in KREMENCHUK]
    importer = CatalogImporter(sessionmaker)
    for path in paths:
        await importer.import_file(path, package_id="a", base_dir=REAL_FIXTURES)
    for path in paths:
        result = await importer.import_file(path, package_id="b", base_dir=REAL_FIXTURES)
        assert result.written == {}, result.written
    finished = await importer.finish_package("b", deactivate_unseen=True)
    assert sum(finished.deactivated.values()) == 0
