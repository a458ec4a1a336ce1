"""The portal goes down in the middle of a goods push and comes back: the fake portal is a separate
process, stopped (its data saved) and started again on the same port. Jobs retry with back-off, none is
parked, and afterwards the portal holds every good exactly once with the content of the files.

CI runs a short outage; the ten-minute one is behind ``slow`` (its last result is in
docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from commerceml.generator import CatalogSpec, generate_catalog
from exchange_server.db.engine import make_engine
from exchange_server.replay import ReplayNode, replay_catalog
from tests.b24_sync.test_acceptance import assert_portal_matches, expected_from_files
from tests.exchange_server.e2e_support import PASSWORD, USER
from tests.faults.support import Api, FakePortalProcess, read_portal_over_http, serve, wait_until


async def _max_attempts(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as db:
            value = (await db.execute(text("SELECT max(attempts) FROM b24_outbox"))).scalar_one()
    finally:
        await engine.dispose()
    return int(value or 0)


async def outage_during_push(
    tmp_path: Path,
    database_url: str,
    *,
    outage: float,
    mapping: dict[str, float | int | bool],
    products: int = 300,
) -> dict[str, int]:
    """Push, stop the portal for ``outage`` seconds, start it again; returns what was observed."""
    spec = CatalogSpec(products=products, price_types=2, warehouses=2, groups=6, properties=2, seed=51)
    catalog = generate_catalog(tmp_path / "cml", spec)
    files = [(f.path.name, f.path) for f in catalog.files]
    portal = FakePortalProcess(tmp_path / "portal.state", tmp_path / "portal.log")
    webhook = portal.start()
    env = {"CML_B24_WEBHOOK_URL": webhook, "CML_B24": json.dumps(mapping)}
    observed: dict[str, int] = {}
    try:
        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
            serve(tmp_path / "data", database_url, tmp_path / "server.log", **env) as served,
        ):
            api = Api(http, served.base)

            async def product_writes() -> int:
                async with http.get(portal.stats_url) as response:
                    return int((await response.json())["calls"].get("catalog.product.add", 0))

            await replay_catalog(ReplayNode(http, served.url, USER, PASSWORD, report=lambda _l: None), files)

            async def pushing() -> bool:
                return await product_writes() >= 40

            await wait_until(pushing, seconds=120, what="the push to start")
            await asyncio.to_thread(portal.stop)
            loop = asyncio.get_running_loop()
            down_until = loop.time() + outage
            while loop.time() < down_until:
                status = await api.api("/api/b24/status")
                assert status["failed"] == 0, f"a job was parked during the outage: {status}"
                await asyncio.sleep(min(1.0, outage / 10))
            status = await api.api("/api/b24/status")
            assert status["pending"] + status["running"] > 0, status  # the outage did cut the push
            observed["attempts_during_outage"] = await _max_attempts(database_url)
            await asyncio.to_thread(portal.start)

            async def settled() -> bool:
                status = await api.api("/api/b24/status")
                assert status["failed"] == 0, status
                return bool(status["done"]) and not status["pending"] and not status["running"]

            await wait_until(settled, seconds=300, every=0.2, what="the push to finish")
        async with aiohttp.ClientSession() as http, http.get(portal.stats_url) as response:
            calls = (await response.json())["calls"]
        observed["product_adds"] = sum(
            int(calls.get(m, 0)) for m in ("catalog.product.add", "catalog.product.sku.add")
        )
        view = await read_portal_over_http(webhook)
        assert_portal_matches(view, expected_from_files([p for _, p in files]))
        observed["goods"] = len([k for k, v in view.elements.items() if v[0] != 4])
        assert observed["goods"] == spec.products
    finally:
        portal.stop()
    return observed


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_short_portal_outage_mid_push(tmp_path: Path, database_url: str) -> None:
    mapping = {
        "idle_seconds": 1.0,
        "poll_seconds": 0.2,
        "images": False,
        "backoff_seconds": 0.5,
        "backoff_max_seconds": 2.0,
        "max_attempts": 30,
    }
    # 120 goods: the push is still running when the portal stops after 40 product writes.
    observed = await outage_during_push(tmp_path, database_url, outage=4.0, mapping=mapping, products=120)
    assert observed["attempts_during_outage"] >= 1, observed


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_ten_minute_portal_outage_mid_push(tmp_path: Path, database_url: str) -> None:
    """Real time: the portal is down for 600 s, every retry setting at its default (the client's 8
    tries over about a minute per call; then the round's jobs go back pending with the attempt not
    counted and the worker polls again after a pause doubling up to 60 s). An outage of any length
    parks nothing: the attempt counts never grow while the portal is unreachable."""
    mapping = {"idle_seconds": 1.0, "poll_seconds": 1.0, "images": False}
    observed = await outage_during_push(tmp_path, database_url, outage=600.0, mapping=mapping)
    print(f"ten-minute outage: {observed}")
    assert observed["attempts_during_outage"] <= 1, observed  # unreachable: never counted against jobs
