"""Acceptance: the server is SIGKILLed in the middle of a large import, restarted, the exchange repeated;
the store ends complete and consistent. The server runs as a real ``cml-exchange serve`` process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from commerceml.generator import CatalogSpec, GeneratedCatalog, generate_catalog
from exchange_server.replay import ReplayNode, replay_catalog
from tests.exchange_server.e2e_support import PASSWORD, USER, check_catalog
from tests.faults.support import Api, catalog_digest, committed_count, db_catalog_digest, serve, sigkill

PRODUCTS = 25_000
"""Large enough that importing import.xml takes seconds: the kill must land in the middle of it."""


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> GeneratedCatalog:
    spec = CatalogSpec(products=PRODUCTS, properties=2, description_sentences=0, seed=7)
    return generate_catalog(tmp_path_factory.mktemp("generated"), spec)


async def test_sigkill_mid_import_then_repeat(
    catalog: GeneratedCatalog, database_url: str, tmp_path: Path
) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    files = [(path.name, path) for path in catalog.paths]
    jar = aiohttp.DummyCookieJar()
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=120)) as http:
        # SQLite groups batches into transactions of up to 2 s (store.transactions): a shorter bound makes
        # the import commit several grouped transactions, so the kill lands between two.
        async with serve(data_dir, database_url, log, CML_SQLITE_IMPORT_TRANSACTION_SECONDS="0.2") as first:
            node = ReplayNode(http, first.url, USER, PASSWORD, report=lambda _l: None)
            await node.checkauth("catalog")
            await node.init("catalog", None)
            for name, path in files:
                await node.upload("catalog", name, await asyncio.to_thread(path.read_bytes))
            # Start the import (it goes on in the background), watch for the first committed products,
            # then kill the server outright: no request in between that would give the import time.
            answer = await node.text("catalog", "import", {"filename": "import.xml"})
            assert answer.startswith("progress"), answer
            partial = 0
            for _ in range(3000):
                partial = await committed_count(database_url, "products")
                if partial > 0:
                    break
                await asyncio.sleep(0.01)
            await sigkill(first)
        assert 0 < partial < PRODUCTS

        async with serve(data_dir, database_url, log) as second:
            api = Api(http, second.base)
            journal = (await api.api("/api/exchanges"))["items"]
            killed = journal[0]
            assert killed["outcome"] == "open"
            assert {f["name"]: f["import_state"] for f in killed["packages"][0]["files"]}["import.xml"] == "running"
            # 1C repeats the whole exchange; imports are idempotent.
            node = ReplayNode(http, second.url, USER, PASSWORD, report=lambda _l: None)
            await replay_catalog(node, files)
            assert (await api.api("/api/products", limit=1))["total"] == PRODUCTS
            checked = await check_catalog(api, [p for _, p in files], max_details=60)
            assert checked >= 60
            # Every product, offer, price and stock row exactly once: counts and a checksum against the files.
            expected = catalog_digest([p for _, p in files])
            expected.assert_equal(await db_catalog_digest(database_url), "catalog after the kill and the repeat")
            latest = (await api.api("/api/exchanges"))["items"][0]
            assert latest["outcome"] == "success"

