"""The server process SIGKILLed in the middle of an upload, a goods push and an order import; restarted;
the exchange repeated as 1C repeats it. Everything ends present exactly once: counts and checksums of
the store (and of the portal) equal those computed from the source files.

The kill in the middle of a catalog import is ``tests/exchange_server/test_e2e_sigkill.py`` (both
databases, with the same checksum).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from commerceml.generator import CatalogSpec, GeneratedCatalog, generate_catalog
from commerceml.model import Counterparty, Document, OrderLine, Requisite
from commerceml.writer import write_orders
from exchange_server.db.engine import make_engine
from exchange_server.replay import ReplayNode, replay_catalog, sale_upload
from tests.b24_sync.test_acceptance import assert_portal_matches, expected_from_files
from tests.exchange_server.e2e_support import PASSWORD, USER
from tests.faults.support import (
    Api,
    FakePortalProcess,
    catalog_digest,
    committed_count,
    db_catalog_digest,
    db_orders_digest,
    orders_digest,
    read_portal_over_http,
    serve,
    sigkill,
    wait_until,
)

CHUNK = 64 * 1024
ORDERS = 4100  # three batches of the importer (2000 + 2000 + 100): a kill lands between two


def _files(catalog: GeneratedCatalog) -> list[tuple[str, Path]]:
    return [(f.path.name, f.path) for f in catalog.files]


def _node(http: aiohttp.ClientSession, url: str) -> ReplayNode:
    return ReplayNode(http, url, USER, PASSWORD, report=lambda _line: None)


# --- upload ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow])],
    indirect=True,
)
async def test_sigkill_mid_chunk_then_resend_and_repeat(database_url: str, tmp_path: Path) -> None:
    """Killed while a chunk is half written: 1C resends that chunk in the same session (its answer
    was lost), finishes the exchange, and later repeats the whole exchange; the store is exact."""
    catalog = generate_catalog(tmp_path / "cml", CatalogSpec(products=600, properties=2, seed=21))
    files = _files(catalog)
    target_name, target = files[0]
    data = target.read_bytes()
    assert len(data) > 4 * CHUNK
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    jar = aiohttp.DummyCookieJar()
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=120)) as http:
        async with serve(data_dir, database_url, log, CML_FILE_LIMIT=str(CHUNK)) as first:
            node = _node(http, first.url)
            await node.checkauth("catalog")
            await node.init("catalog", None)
            assert node.file_limit == CHUNK
            for start in range(0, 2 * CHUNK, CHUNK):
                await node.text(
                    "catalog", "file", {"filename": target_name}, data=data[start : start + CHUNK]
                )
            stored = next((data_dir / "packages" / "catalog").iterdir()) / target_name
            assert stored.stat().st_size == 2 * CHUNK
            # The third chunk: half of it arrives, then the server dies before answering.
            half_sent = asyncio.Event()

            async def body() -> AsyncIterator[bytes]:
                yield data[2 * CHUNK : 2 * CHUNK + CHUNK // 2]
                half_sent.set()
                await asyncio.sleep(3600)
                yield b""

            params = {"type": "catalog", "mode": "file", "filename": target_name}
            headers = {"Cookie": node.cookie or ""}

            async def post() -> None:
                async with http.post(first.url, params=params, data=body(), headers=headers) as response:
                    await response.read()

            sending = asyncio.create_task(post())
            await half_sent.wait()
            await wait_until(
                lambda: asyncio.to_thread(lambda: stored.stat().st_size > 2 * CHUNK),
                seconds=30,
                what="the half chunk on disk",
            )
            await sigkill(first)
            with pytest.raises(aiohttp.ClientError):
                await sending
        assert stored.stat().st_size > 2 * CHUNK  # the torn chunk is on disk, the journal knows 2 chunks

        async with serve(data_dir, database_url, log, CML_FILE_LIMIT=str(CHUNK)) as second:
            node.url = second.url
            # The same session goes on: the lost chunk again, the rest, then the imports.
            for start in range(2 * CHUNK, len(data), CHUNK):
                await node.text(
                    "catalog", "file", {"filename": target_name}, data=data[start : start + CHUNK]
                )
            assert stored.read_bytes() == data
            for name, path in files[1:]:
                await node.upload("catalog", name, path.read_bytes())
            for name, _ in files:
                answer = await node.import_file("catalog", name)
                assert answer.startswith("success"), answer
            expected = catalog_digest([p for _, p in files])
            expected.assert_equal(await db_catalog_digest(database_url), "after the resumed session")
            # Next time 1C repeats everything from scratch: still exactly once.
            await replay_catalog(_node(http, second.url), files)
            expected.assert_equal(await db_catalog_digest(database_url), "after the repeated exchange")
            latest = (await Api(http, second.base).api("/api/exchanges"))["items"][0]
            assert latest["outcome"] == "success"


# --- goods push -----------------------------------------------------------------------------------


async def _outbox(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as db:
            rows = (await db.execute(text("SELECT state, count(*) FROM b24_outbox GROUP BY state"))).all()
    finally:
        await engine.dispose()
    return {str(state): int(n) for state, n in rows}


@pytest.mark.slow  # about 50 s a database: the portal's 2 requests/s
async def test_sigkill_mid_push_then_repeat(database_url: str, tmp_path: Path) -> None:
    """Killed while the worker pushes goods to the portal (a separate process that stays up); after a
    restart and the repeated exchange the portal holds every good once, with the files' content."""
    spec = CatalogSpec(products=400, price_types=2, warehouses=2, groups=8, properties=2, seed=23)
    catalog = generate_catalog(tmp_path / "cml", spec)
    files = _files(catalog)
    portal = FakePortalProcess(tmp_path / "portal.state", tmp_path / "portal.log")
    webhook = portal.start()
    b24 = json.dumps({"idle_seconds": 1.5, "poll_seconds": 0.1, "images": False})
    env = {"CML_B24_WEBHOOK_URL": webhook, "CML_B24": b24}
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:

            async def product_writes() -> int:
                async with http.get(portal.stats_url) as response:
                    calls = (await response.json())["calls"]
                return int(calls.get("catalog.product.add", 0))

            async with serve(data_dir, database_url, log, **env) as first:
                await replay_catalog(_node(http, first.url), files)

                async def pushing() -> bool:
                    return await product_writes() >= 60

                await wait_until(pushing, seconds=120, what="the push to start")
                await sigkill(first)
            outbox = await _outbox(database_url)
            assert outbox.get("running", 0) + outbox.get("pending", 0) > 0, outbox  # killed mid-push
            added_at_kill = await product_writes()

            async with serve(data_dir, database_url, log, **env) as second:
                await replay_catalog(_node(http, second.url), files)
                api = Api(http, second.base)

                async def settled() -> bool:
                    status = await api.api("/api/b24/status")
                    assert status["failed"] == 0, status
                    return bool(status["done"]) and not status["pending"] and not status["running"]

                await wait_until(settled, seconds=240, every=0.2, what="the push to finish")
            assert await product_writes() >= added_at_kill
        view = await read_portal_over_http(webhook)
        assert_portal_matches(view, expected_from_files([p for _, p in files]))
        assert len([k for k, v in view.elements.items() if v[0] != 4]) == spec.products
    finally:
        portal.stop()


# --- order import ---------------------------------------------------------------------------------


def write_order_file(path: Path, count: int) -> Path:
    documents = [
        Document(
            id=f"order-{i:05d}",
            number=str(10_000 + i),
            date=dt.date(2024, 6, 1) + dt.timedelta(days=i % 30),
            time=dt.time(12, i % 60),
            operation="Заказ товара",
            role="Продавец",
            currency="руб",
            rate=Decimal(1),
            amount=Decimal(300 + i) + Decimal("0.5"),
            version=f"v{i}",
            counterparties=(Counterparty(id=f"c-{i % 97}", name=f"Покупатель {i % 97}", role="Покупатель"),),
            lines=tuple(
                OrderLine(
                    id=f"p-{(i + n) % 500}",
                    name=f"Товар {(i + n) % 500}",
                    price=Decimal(100 + n),
                    quantity=Decimal(n + 1),
                    amount=Decimal((100 + n) * (n + 1)),
                )
                for n in range(3)
            ),
            requisites=(Requisite("Статус заказа", ("[N] Принят",)),),
        )
        for i in range(count)
    ]
    with open(path, "wb") as out:
        write_orders(out, documents)
    return path


@pytest.mark.parametrize(
    ("database_url", "version"),
    [
        pytest.param("sqlite", None, id="sqlite-classic"),
        pytest.param("sqlite", "3.1", id="sqlite-stepwise", marks=pytest.mark.slow),
        pytest.param(
            "postgresql", None, id="postgresql-classic", marks=[pytest.mark.postgres, pytest.mark.slow]
        ),
        pytest.param(
            "postgresql", "3.1", id="postgresql-stepwise", marks=[pytest.mark.postgres, pytest.mark.slow]
        ),
    ],
    indirect=["database_url"],
)
async def test_sigkill_mid_order_import_then_repeat(
    database_url: str, tmp_path: Path, version: str | None
) -> None:
    """type=sale: killed while 1C's orders are being stored (inside mode=file for the classic
    exchange, inside mode=import for the step-wise one); the repeated upload stores each order once."""
    orders = write_order_file(tmp_path / "orders.xml", ORDERS)
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=300)
    ) as http:
        async with serve(data_dir, database_url, log, CML_FILE_LIMIT=str(8 * 1024 * 1024)) as first:
            uploading = asyncio.create_task(
                sale_upload(_node(http, first.url), orders.name, orders, version=version)
            )

            async def storing() -> bool:
                assert not uploading.done(), "the upload ended before the kill"
                return await committed_count(database_url, "orders") > 0

            await wait_until(storing, seconds=120, every=0.01, what="orders being stored")
            await sigkill(first)
            with pytest.raises(aiohttp.ClientError):
                await uploading
        partial = await committed_count(database_url, "orders")
        assert 0 < partial < ORDERS

        async with serve(data_dir, database_url, log, CML_FILE_LIMIT=str(8 * 1024 * 1024)) as second:
            await sale_upload(_node(http, second.url), orders.name, orders, version=version)
            orders_digest([orders]).assert_equal(
                await db_orders_digest(database_url), "orders after the repeat"
            )
            # And once more: nothing changes, nothing doubles.
            await sale_upload(_node(http, second.url), orders.name, orders, version=version)
            orders_digest([orders]).assert_equal(
                await db_orders_digest(database_url), "orders after a second repeat"
            )
