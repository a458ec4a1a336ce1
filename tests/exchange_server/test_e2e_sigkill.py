"""Acceptance: the server is SIGKILLed in the middle of a large import, restarted, the exchange repeated;
the store ends complete and consistent. The server runs as a real ``cml-exchange serve`` process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from commerceml.generator import CatalogSpec, GeneratedCatalog, generate_catalog
from exchange_server.replay import ReplayNode, replay_catalog
from tests.exchange_server.e2e_support import ADMIN, ADMIN_PASSWORD, PASSWORD, USER, check_catalog
from tests.faults.support import catalog_digest, db_catalog_digest

PRODUCTS = 10_000
STARTUP_SECONDS = 60


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> GeneratedCatalog:
    spec = CatalogSpec(products=PRODUCTS, properties=2, description_sentences=0, seed=7)
    return generate_catalog(tmp_path_factory.mktemp("generated"), spec)


class Served:
    """A ``cml-exchange serve`` child process and the URL it printed."""

    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url

    @property
    def base(self) -> str:
        return self.url.removesuffix("/1c_exchange")


@asynccontextmanager
async def serve(data_dir: Path, database_url: str, log: Path) -> AsyncIterator[Served]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CML_")}
    env.update(
        CML_DATA_DIR=str(data_dir),
        CML_DATABASE_URL=database_url,
        CML_EXCHANGE_USER=USER,
        CML_EXCHANGE_PASSWORD=PASSWORD,
        CML_ADMIN_USER=ADMIN,
        CML_ADMIN_PASSWORD=ADMIN_PASSWORD,
        CML_STEP_SECONDS="0.2",
        CML_FILE_LIMIT=str(4 * 1024 * 1024),
    )
    stderr = await asyncio.to_thread(open, log, "ab")
    with stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "exchange_server", "serve", "--port", "0",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        url = ""
        async with asyncio.timeout(STARTUP_SECONDS):
            while not url:
                line = (await process.stdout.readline()).decode()
                assert line, f"server exited early, see {log}"
                if "listening on " in line:
                    url = line.strip().rsplit(" ", 1)[-1]
        yield Served(process, url)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


class Api:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base_url = http, base

    async def api(self, path: str, **params: str | int) -> Any:
        headers = {"Authorization": aiohttp.encode_basic_auth(ADMIN, ADMIN_PASSWORD)}
        async with self.http.get(self.base_url + path, params=params, headers=headers) as response:
            assert response.status == 200, await response.text()
            return await response.json()


async def test_sigkill_mid_import_then_repeat(
    catalog: GeneratedCatalog, database_url: str, tmp_path: Path
) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    files = [(path.name, path) for path in catalog.paths]
    jar = aiohttp.DummyCookieJar()
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=120)) as http:
        async with serve(data_dir, database_url, log) as first:
            node = ReplayNode(http, first.url, USER, PASSWORD, report=lambda _l: None)
            await node.checkauth("catalog")
            await node.init("catalog", None)
            for name, path in files:
                await node.upload("catalog", name, await asyncio.to_thread(path.read_bytes))
            api = Api(http, first.base)
            # Ask for the import until products are being written, then kill the server outright.
            for _ in range(600):
                answer = await node.text("catalog", "import", {"filename": "import.xml"})
                assert answer.startswith("progress"), answer
                if (await api.api("/api/products", limit=1))["total"] > 0:
                    break
            partial = (await api.api("/api/products", limit=1))["total"]
            first.process.send_signal(signal.SIGKILL)
            assert await first.process.wait() == -signal.SIGKILL
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

