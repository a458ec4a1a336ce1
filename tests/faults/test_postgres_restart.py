"""PostgreSQL stops (``pg_ctl stop -m immediate``, a crash) in the middle of an import and comes back.

A private throwaway cluster (initdb into a temporary directory, its own port) is used: the machine's
shared PostgreSQL is never restarted. While the database is down the server answers ``failure`` with a
reason (never an HTML 500, never a hang); after it is back the repeated exchange ends complete and the
store matches the files exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from commerceml.generator import CatalogSpec, generate_catalog
from exchange_server.db.engine import upgrade_schema
from exchange_server.replay import ExchangeFailed, ReplayNode, replay_catalog
from tests.exchange_server.e2e_support import PASSWORD, USER
from tests.faults.support import Api, PrivatePostgres, catalog_digest, db_catalog_digest, serve

PRODUCTS = 6000


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.destroy()


async def test_postgres_crash_mid_import_then_repeat(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    catalog = generate_catalog(tmp_path / "cml", CatalogSpec(products=PRODUCTS, properties=2, seed=41))
    files = [(f.path.name, f.path) for f in catalog.files]
    url = private_postgres.url
    await upgrade_schema(url)
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    timeout = aiohttp.ClientTimeout(total=60)
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), timeout=timeout) as http,
        serve(data_dir, url, log) as served,
    ):
        api = Api(http, served.base)
        node = ReplayNode(http, served.url, USER, PASSWORD, report=lambda _line: None)
        await node.checkauth("catalog")
        await node.init("catalog", None)
        for name, path in files:
            await node.upload("catalog", name, path.read_bytes())
        for _ in range(600):
            answer = await node.text("catalog", "import", {"filename": files[0][0]})
            assert answer.startswith("progress"), answer
            if (await api.api("/api/products", limit=1))["total"] > 0:
                break
        await asyncio.to_thread(private_postgres.stop, "immediate")

        # Down: every answer is a failure line with a reason, quickly.
        answers = []
        for _ in range(3):
            loop = asyncio.get_running_loop()
            started = loop.time()
            try:
                answers.append(await node.text("catalog", "import", {"filename": files[0][0]}))
            except ExchangeFailed as exc:
                answers.append(str(exc))
            assert loop.time() - started < 30
        assert all("failure" in a or "import" in a for a in answers), answers
        assert any("баз" in a.lower() for a in answers), answers  # "база данных недоступна ..."
        fresh = ReplayNode(http, served.url, USER, PASSWORD, report=lambda _line: None)
        with pytest.raises(ExchangeFailed):
            await fresh.checkauth("catalog")

        await asyncio.to_thread(private_postgres.start)
        # 1C repeats the exchange; the same server process, its pool reconnects.
        await replay_catalog(ReplayNode(http, served.url, USER, PASSWORD, report=lambda _line: None), files)
        catalog_digest([p for _, p in files]).assert_equal(await db_catalog_digest(url), "after the restart")
        latest = (await api.api("/api/exchanges"))["items"][0]
        assert latest["outcome"] == "success"
