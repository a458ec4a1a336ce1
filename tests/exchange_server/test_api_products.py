"""The operator API: shapes, paging, 404 and 400 answers (both database backends)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange_server.api import setup_api
from exchange_server.importer import CatalogImporter, OrderImporter
from exchange_server.keys import SESSIONMAKER
from tests.exchange_server import cml_samples as cml

Maker = async_sessionmaker[AsyncSession]
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(aiohttp_client: Any, sessionmaker: Maker, tmp_path: Path) -> Client:
    importer = CatalogImporter(sessionmaker)
    goods = cml.goods([cml.product(f"p{i}", f"Товар {i}", article=f"A{i}") for i in range(5)])
    await importer.import_file(cml.write(tmp_path, "import.xml", goods), package_id="k1", base_dir=tmp_path)
    only_two = cml.goods(
        [cml.product("p0", "Товар 0", article="A0"), cml.product("p1", "Товар 1", article="A1")]
    )
    await importer.import_file(
        cml.write(tmp_path, "import.xml", only_two), package_id="k2", base_dir=tmp_path
    )
    await importer.finish_package("k2", deactivate_unseen=False)
    order = (
        "<Документ><Ид>o-1</Ид><Номер>1</Номер><Дата>2024-01-02</Дата><ХозОперация>Заказ товара</ХозОперация>"
        "<Сумма>10</Сумма><Товары><Товар><Ид>p1</Ид><Наименование>Товар 1</Наименование>"
        "<ЦенаЗаЕдиницу>10</ЦенаЗаЕдиницу><Количество>1</Количество><Сумма>10</Сумма></Товар></Товары></Документ>"
    )
    await OrderImporter(sessionmaker).import_file(
        cml.write(tmp_path, "o.xml", cml.root(order)), package_id="s"
    )
    app = web.Application()
    app[SESSIONMAKER] = sessionmaker
    setup_api(app)
    result: Client = await aiohttp_client(app)
    return result


async def test_listing_counts_inactive_products(client: Client) -> None:
    body = await (await client.get("/api/products", params={"limit": "2", "offset": "1"})).json()
    assert body["total"] == 5
    assert [(i["id"], i["name"], i["article"], i["active"]) for i in body["items"]] == [
        ("p1", "Товар 1", "A1", True),
        ("p2", "Товар 2", "A2", False),
    ]


async def test_product_detail_shape(client: Client) -> None:
    response = await client.get("/api/products/p1")
    assert response.status == 200
    body = await response.json()
    assert body["id"] == "p1"
    for key in ("name", "article", "active", "offers", "properties", "groups", "images"):
        assert key in body
    assert body["offers"] == []


@pytest.mark.parametrize("path", ["/api/products/nope", "/api/orders/nope"])
async def test_unknown_ids_404_json(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status == 404
    assert response.content_type == "application/json"
    assert (await response.json())["error"] == "not found"


@pytest.mark.parametrize(
    "query", [{"limit": "x"}, {"limit": "0"}, {"limit": "100000"}, {"offset": "-1"}, {"offset": "1.5"}]
)
@pytest.mark.parametrize("path", ["/api/products", "/api/orders"])
async def test_bad_paging_400(client: Client, path: str, query: dict[str, str]) -> None:
    response = await client.get(path, params=query)
    assert response.status == 400
    assert "limit" in (await response.json())["error"]


async def test_orders(client: Client) -> None:
    body = await (await client.get("/api/orders")).json()
    assert body["total"] == 1
    assert body["items"][0]["id"] == "o-1"
    detail = await (await client.get("/api/orders/o-1")).json()
    assert detail["lines"] == [
        {"product_id": "p1", "name": "Товар 1", "price": "10", "quantity": "1", "amount": "10"}
    ]
    assert detail["changed_by"] == "1c"
