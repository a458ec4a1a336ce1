"""Shared pieces of the end-to-end tests: the real fixture sets, a live server, a 1C node, expectations.

The expected catalog of a set is read from its files with the CommerceML reader; the server is only
ever reached over HTTP (the replay client for the exchange, the operator API for the check).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from commerceml.model import Offer, Product
from commerceml.reader import iter_file
from exchange_server.app import make_app
from exchange_server.replay import ReplayNode
from exchange_server.settings import Settings
from tests.exchange_server.conftest import REAL_FIXTURES

USER, PASSWORD = "1c", "node-secret"
ADMIN, ADMIN_PASSWORD = "operator", "operator-secret"


@dataclass(frozen=True, slots=True)
class FixtureSet:
    """Files of one real exchange: (name sent to the server, fixture path under the collection)."""

    id: str
    files: tuple[tuple[str, str], ...]
    version: str | None = None  # "3.1": init with version, then deactivate + complete

    def paths(self) -> list[tuple[str, Path]]:
        return [(name, REAL_FIXTURES / local) for name, local in self.files]


def _pair(set_id: str, folder: str, imp: str, off: str | None = None) -> FixtureSet:
    files = [(imp.rsplit("__", 1)[-1], f"{folder}/{imp}")]
    if off is not None:
        files.append((off.rsplit("__", 1)[-1], f"{folder}/{off}"))
    return FixtureSet(set_id, tuple(files))


WAGOOD = "wagood__commerceml/example__commerce-ml3__"
GILLBEITS = "gillbeits__commerceml/example__"
SOLOPOV = "solopovsergey__bxmaker.kits/upload__1c_catalog__"

FIXTURE_SETS: tuple[FixtureSet, ...] = (
    _pair("django-cml", "AnatolyFeteleu__django-cml", "tests__tests_fixtures__import.xml"),
    _pair("electrotech", "Katy248__electrotech", "example__import.xml", "example__offers.xml"),
    _pair("mybitrixshop", "KovtunIvan__myBitrixShop", "upload__1c_catalog__import.xml"),
    _pair("kremenchuk-erp", "Kremenchuk__parseXML", "data__from_ERP__example__import.xml",
          "data__from_ERP__example__offers.xml"),  # fmt: skip
    _pair("sergey37", "Sergey37-iv__txt", "import.xml", "offers.xml"),
    _pair("parser1c", "alfredotg__parser1c", "tests__data__import.xml", "tests__data__offer.xml"),
    _pair("mod-exchange1c", "andrtechno__mod-exchange1c", "tests__data__import.xml", "tests__data__offers.xml"),
    _pair("bigperson", "bigperson__exchange1c", "tests__xml__import.xml", "tests__xml__offers.xml"),
    _pair("bogutski", "bogutski__1C-CommerceML-to-JSON", "in_xml__import.xml", "in_xml__offers.xml"),
    _pair("carono", "carono__php-commerceml", "tests__xml__import.xml", "tests__xml__offers.xml"),
    _pair("carono-wo-classifier", "carono__php-commerceml", "tests__xml__import_wo_classifier.xml"),
    _pair("1coutlet", "d16izhevsk__1coutlet", "import0_1.xml", "offers0_1.xml"),
    _pair("1coutlet-test", "d16izhevsk__1coutlet", "test.xml"),
    _pair("bitrix-utf8", "devsandk__bitrix_utf8", "upload__1c_catalog__import.xml",
          "upload__1c_catalog__offers.xml"),  # fmt: skip
    _pair("dobromyslov", "dobromyslov__commerceml-parser", "data__import0_1.xml", "data__offers0_1.xml"),
    _pair("dobromyslov-nested", "dobromyslov__commerceml-parser", "data__import0_1_with_nested_groups.xml"),
    FixtureSet(
        "gillbeits-2.09-split",
        (
            ("import___b815e2db.xml", f"{GILLBEITS}import___b815e2db-7a65-4265-9241-5f0c4f0565a7.xml"),
            ("offers___f0bab95c.xml", f"{GILLBEITS}offers___f0bab95c-14a6-4141-9746-6650b65f1191.xml"),
            ("offers___7f304edc.xml", f"{GILLBEITS}offers___7f304edc-2527-4d3d-b058-6e4ee53de2e0.xml"),
            ("prices___d66a6b51.xml", f"{GILLBEITS}prices___d66a6b51-ce9c-4e7a-8c7c-25079721107f.xml"),
            ("rests___1af6e7b8.xml", f"{GILLBEITS}rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml"),
        ),
        version="3.1",
    ),
    _pair("gillbeits-2.03", "gillbeits__commerceml", "tests__import.xml", "tests__offers.xml"),
    _pair("teleport", "iMega__commerceml2teleport", "parser__fixture__import.xml", "parser__fixture__offer.xml"),
    _pair("cs-cart", "irpsv__commerceml", "tests__assets__cs-cart__import.xml", "tests__assets__cs-cart__offers.xml"),
    _pair("off-doc-1c", "irpsv__commerceml", "tests__assets__off-doc-1c__import.xml",
          "tests__assets__off-doc-1c__offers.xml"),  # fmt: skip
    _pair("ready-script", "irpsv__commerceml", "tests__assets__ready-script__import.xml",
          "tests__assets__ready-script__offers.xml"),  # fmt: skip
    _pair("umi-cms", "irpsv__commerceml", "tests__assets__umi-cms__import.xml", "tests__assets__umi-cms__offers.xml"),
    _pair("oldnew", "newmedia27__OldNew", "xml__import.xml", "xml__offers.xml"),
    _pair("ndjs", "oslrz__ndjs_site", "import0_1.xml"),
    FixtureSet(
        "bxmaker-3.1",
        tuple((f"{kind}.xml", f"{SOLOPOV}{kind}.xml") for kind in ("import", "offers", "prices", "rests")),
        version="3.1",
    ),
    FixtureSet(
        "node-commerceml",
        (
            ("import.xml", "sosloow__node-CommerceML-parser/spec__files__import.test.done"),
            ("offers.xml", "sosloow__node-CommerceML-parser/spec__files__offers.test.done"),
        ),
    ),
    FixtureSet(
        "stee1cat-3.1",
        (("import___29d3f7f0.xml", "stee1cat__1c-exchange/tests__data__import___29d3f7f0-36dd-4eea-a06c-4c325bed4285.xml"),),
        version="3.1",
    ),
    _pair("woocommerce-ml", "sukhikh18__woocommerce-ml", "tests__fixtures__import0_1.xml",
          "tests__fixtures__offers0_1.xml"),  # fmt: skip
    FixtureSet(
        "wagood-3.1",  # 1C-Bitrix module 6 layout: classifier at the root, goods in goods/1/
        (
            ("import___57c55968.xml", f"{WAGOOD}import___57c55968-51d1-46f0-b5d7-927f420b8fd4.xml"),
            ("goods/1/import___5335d080.xml", f"{WAGOOD}import___5335d080-66b0-4355-887c-d54bba6f1f08.xml"),
            ("goods/1/offers___13955e2c.xml", f"{WAGOOD}offers___13955e2c-c7d0-4189-8db7-9bc863cde645.xml"),
            ("goods/1/prices___478f43af.xml", f"{WAGOOD}prices___478f43af-4dba-47c9-b3fa-d9737c14a30f.xml"),
            ("goods/1/rests___9ebdccc5.xml", f"{WAGOOD}rests___9ebdccc5-f70a-43db-8c03-0103301aad32.xml"),
        ),
        version="3.1",
    ),
)

ORDER_FILES: tuple[str, ...] = (
    "Kremenchuk__parseXML/data__from_ERP__example__orders.xml",
    "Kremenchuk__parseXML/data__original_file__to_site__to.xml",
    "alex8bits__php-commerceml/tests__xml__orders.xml",
    "carono__php-commerceml/tests__xml__orders.xml",
    "irpsv__commerceml/tests__assets__off-doc-1c__orders.xml",
)
"""Documents sent by 1C (orders); the site->1C samples (from.xml) are the other direction."""

NOT_EXCHANGED: tuple[str, ...] = (
    "Kremenchuk__parseXML/data__original_file__from_site__from.xml",
    "carono__yii2-1c-exchange/files__xml__from.xml",
)
"""Order documents a site sends to 1C (what mode=query produces), not something 1C uploads."""


def settings_for(data_dir: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "exchange_user": USER,
        "exchange_password": SecretStr(PASSWORD),
        "admin_user": ADMIN,
        "admin_password": SecretStr(ADMIN_PASSWORD),
        "file_limit": 256 * 1024,
        "step_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass(slots=True)
class Live:
    """A running server and an HTTP client session (a 1C node and an operator share it)."""

    server: TestServer
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return str(self.server.make_url("/1c_exchange"))

    def node(self) -> ReplayNode:
        return ReplayNode(self.http, self.url, USER, PASSWORD, report=lambda _line: None)

    async def api(self, path: str, **params: str | int) -> Any:
        headers = {"Authorization": aiohttp.encode_basic_auth(ADMIN, ADMIN_PASSWORD)}
        async with self.http.get(self.server.make_url(path), params=params, headers=headers) as response:
            assert response.status == 200, await response.text()
            return await response.json()


@asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[Live]:
    server = TestServer(make_app(settings))
    await server.start_server()
    try:
        timeout = aiohttp.ClientTimeout(total=300)
        async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:
            yield Live(server, http)
    finally:
        await server.close()


# --- expectations --------------------------------------------------------------------------------


def expected_catalog(paths: Sequence[Path]) -> tuple[dict[str, Product], dict[str, dict[str, Any]]]:
    """Products and merged offer parts (prices per type, stock per warehouse, quantity); last file wins."""
    products: dict[str, Product] = {}
    offers: dict[str, dict[str, Any]] = {}
    for path in paths:
        for entity in iter_file(path):
            if isinstance(entity, Product):
                products[entity.id] = entity
            elif isinstance(entity, Offer):
                key = entity.product_id if entity.characteristic_id is None else entity.id
                state = offers.setdefault(key, {"product_id": entity.product_id})
                if entity.prices is not None:
                    state["prices"] = {p.price_type_id: p.value for p in entity.prices}
                if entity.stock is not None:
                    totals: dict[str, Decimal] = {}
                    for s in entity.stock:
                        totals[s.warehouse_id] = totals.get(s.warehouse_id, Decimal(0)) + s.quantity
                    state["stock"] = totals
                    state["quantity"] = entity.quantity if entity.quantity is not None else sum(totals.values())
                elif entity.quantity is not None:
                    state["quantity"] = entity.quantity
    return products, offers


class ApiView(Protocol):
    """Anything that can GET the operator API as the admin."""

    async def api(self, path: str, **params: str | int) -> Any: ...


async def all_products(live: ApiView) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = await live.api("/api/products", limit=1000, offset=len(items))
        items.extend(page["items"])
        if not page["items"] or len(items) >= page["total"]:
            return items


async def check_catalog(live: ApiView, paths: Sequence[Path], *, max_details: int = 400) -> int:
    """Assert the API shows exactly what the files hold; returns how many offers were compared."""
    products, offers = expected_catalog(paths)
    listing = await all_products(live)
    assert len(listing) == len(products)
    assert {item["id"] for item in listing} == set(products)
    for item in listing:
        product = products[item["id"]]
        assert item["name"] == product.name, item["id"]
        assert item["article"] == product.article, item["id"]
        assert item["active"] is (not product.deleted), item["id"]
    with_offers = sorted({o["product_id"] for o in offers.values()} & set(products))
    step = max(1, len(with_offers) // max_details)
    checked = 0
    for product_id in with_offers[::step]:
        detail = await live.api(f"/api/products/{product_id}")
        got = {o["id"]: o for o in detail["offers"]}
        want = {k: v for k, v in offers.items() if v["product_id"] == product_id}
        assert set(got) == set(want), product_id
        for offer_id, state in want.items():
            offer = got[offer_id]
            if "prices" in state:
                assert {p["price_type_id"]: Decimal(p["value"]) for p in offer["prices"]} == state["prices"]
            if "stock" in state:
                assert {s["warehouse_id"]: Decimal(s["quantity"]) for s in offer["stock"]} == state["stock"]
            if "quantity" in state:
                assert Decimal(offer["quantity"]) == state["quantity"]
            checked += 1
    return checked
