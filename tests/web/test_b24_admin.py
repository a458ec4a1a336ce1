"""The admin pages on the real Bitrix24 side (outbox table, invoice sync on a fake portal), both backends:
the outbox's retry and skip, the sync state of a product and of an order, the status map form, and the
Bitrix24 metrics (calls by method and result, rate-limit waiting, outbox depth)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy import select

from b24_bridge import B24Client, LeakyBucket, Limits, ManualClock
from b24_bridge.errors import MethodNotFound
from b24_bridge.fake import FakePortal, InProcessTransport, PortalConfig
from b24_bridge.fake.app import make_portal_app
from b24_bridge.invoices.statusmap import Problem
from b24_bridge.invoices.web import INVOICE_SYNC
from b24_bridge.sync.pusher import Pusher
from b24_bridge.sync.service import plan_and_enqueue
from exchange_server import metrics
from exchange_server.app import make_app
from exchange_server.outbox.routes import B24_BRIDGE, B24_CLIENT_FACTORY
from exchange_server.outbox.tables import OutboxRow
from exchange_server.web.b24_metrics import MeteredTransport, instrument
from exchange_server.web.extensions import OUTBOX
from exchange_server.web.outbox_source import DbOutbox
from exchange_server.web.status_map_source import split_problems
from tests.b24_invoices.test_scenarios import seed_invoice
from tests.web.b24_world import LIMIT_ERROR, MAPPING, PRODUCT_ID, Site, b24_site, park_a_job
from tests.web.conftest import ADMIN, ADMIN_PASSWORD, settings_for

BASIC = {"Authorization": aiohttp.encode_basic_auth(ADMIN, ADMIN_PASSWORD)}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _token(http: aiohttp.ClientSession, url: str) -> str:
    found = TOKEN.search(await (await http.get(url)).text())
    assert found is not None
    return found.group(1)


async def _state(site: Site, job_id: int) -> tuple[str, int, str | None]:
    async with site.sessionmaker() as session:
        row = (
            await session.execute(
                select(OutboxRow.state, OutboxRow.attempts, OutboxRow.error).where(OutboxRow.id == job_id)
            )
        ).one()
    return row.state, row.attempts, row.error


async def test_outbox_lists_a_parked_job_and_skips_it_for_good(tmp_path: Any, database_url: str) -> None:
    async with b24_site(tmp_path, database_url) as site:
        job = await park_a_job(site)
        base = site.live.base
        async with aiohttp.ClientSession(headers=BASIC) as http:
            page = await (await http.get(f"{base}/admin/outbox")).text()
            assert LIMIT_ERROR in page and job.key in page
            assert "Bridge: pushing to injected client." in page
            assert metrics.outbox_depth()["failed"] == 1
            token = await _token(http, f"{base}/admin/outbox")
            skip = await http.post(f"{base}/admin/outbox/{job.id}/skip", data={"csrf_token": token})
            assert skip.status == 200 and "No failed jobs." in await skip.text()
            assert await _state(site, job.id) == ("skipped", MAPPING.max_attempts, LIMIT_ERROR)
            for path in (f"{job.id}/skip", f"{job.id}/retry", "x1/retry", "99999999/retry"):
                again = await http.post(f"{base}/admin/outbox/{path}", data={"csrf_token": token})
                assert again.status == 404, path
            metrics_page = await (await http.get(f"{base}/metrics")).text()
        assert 'cml_outbox_jobs{state="failed"} 0' in metrics_page
        assert re.search(r'cml_outbox_jobs\{state="pending"\} [1-9]', metrics_page)


async def test_retry_makes_a_parked_job_pending_from_zero(tmp_path: Any, database_url: str) -> None:
    async with b24_site(tmp_path, database_url) as site:
        job = await park_a_job(site)
        async with aiohttp.ClientSession(headers=BASIC) as http:
            token = await _token(http, f"{site.live.base}/admin/outbox")
            retry = await http.post(
                f"{site.live.base}/admin/outbox/{job.id}/retry", data={"csrf_token": token}
            )
            assert retry.status == 200
            pending = await (await http.get(f"{site.live.base}/admin/outbox?state=pending")).text()
        assert (await _state(site, job.id))[:2] == ("pending", 0)
        assert job.key in pending
        assert f'<a href="/admin/catalog/{PRODUCT_ID}">{PRODUCT_ID}</a>' in pending  # its jobs lead to it


async def test_product_page_shows_the_portal_state_after_a_push(tmp_path: Any, database_url: str) -> None:
    async with b24_site(tmp_path, database_url) as site:
        url = f"{site.live.base}/admin/catalog/{PRODUCT_ID}"
        async with aiohttp.ClientSession(headers=BASIC) as http:
            before = await (await http.get(url)).text()
            await plan_and_enqueue(site.sessionmaker, MAPPING)
            report = await Pusher(site.client, site.sessionmaker, MAPPING).drain(wait=False)
            after = await (await http.get(url)).text()
        assert "Not planned for Bitrix24 yet." in before and 'class="b24-sync"' not in before
        assert report.done > 0
        table = after[
            after.index('class="b24-sync"') : after.index("</table>", after.index('class="b24-sync"'))
        ]
        rows = {
            (kind, key): (state, error)
            for kind, key, state, error in re.findall(
                r'<tr><td>(\w+)</td><td class="mono">([^<]+)</td>\s*<td>([^<]+)</td>.*?<td class="error">([^<]*)',
                table,
                re.DOTALL,
            )
        }
        element = rows.get(("sku", PRODUCT_ID)) or rows.get(("product", PRODUCT_ID))
        assert element is not None and element[0] == "in sync", table
        offers = {key: value for (kind, key), value in rows.items() if kind == "offer"}
        assert offers and all(k.startswith(PRODUCT_ID + "#") for k in offers)
        for state, error in offers.values():  # pushed, or waiting for a retry with the portal's reason
            assert state == "in sync" or ("not in the portal yet" in state and error.strip()), (state, error)


async def test_orders_show_their_bitrix24_invoice(tmp_path: Any, database_url: str) -> None:
    async with b24_site(tmp_path, database_url, replay=False) as site:
        invoice_id = await seed_invoice(site.client)
        report = await site.app[INVOICE_SYNC].poll_once()
        assert report.exported == 1
        async with aiohttp.ClientSession(headers=BASIC) as http:
            listing = await (await http.get(f"{site.live.base}/admin/orders")).text()
            assert f"{invoice_id} (exported)" in listing
            order_id = re.findall(r'href="/admin/orders/([^"]+)"', listing)[0]
            detail = await (await http.get(f"{site.live.base}/admin/orders/{order_id}")).text()
            metrics_page = await (await http.get(f"{site.live.base}/metrics")).text()
        assert f"smart invoice {invoice_id} (exported; came from Bitrix24)" in detail
        # the poll went through the instrumented client
        assert re.search(r'cml_b24_calls_total\{method="crm\.item\.list",result="ok"\} [1-9]', metrics_page)


async def test_status_map_form_errors_next_to_the_row_then_saves(tmp_path: Any, database_url: str) -> None:
    async with b24_site(tmp_path, database_url, replay=False) as site:
        sync = site.app[INVOICE_SYNC]
        url = f"{site.live.base}/admin/status-map"
        rows = [(r.stage, r.code, r.name) for r in sync.status_map.rows]
        async with aiohttp.ClientSession(headers=BASIC) as http:
            token = await _token(http, url)
            form = {"csrf_token": token, "rows": str(len(rows))}
            for i, (stage, code, name) in enumerate(rows):
                form |= {f"stage_{i}": stage, f"code_{i}": code, f"name_{i}": name, f"status_1c_{i}": ""}
            form["code_1"] = "bad code!"
            bad = await http.post(url, data=form)
            text = await bad.text()
            assert bad.status == 422
            invalid = re.findall(r'<tr class="invalid">(.*?)</tr>', text, re.DOTALL)
            assert (
                len(invalid) == 1 and "must be 1-32 latin letters" in invalid[0] and rows[1][0] in invalid[0]
            )
            form["code_1"] = rows[0][1]  # a code used twice
            dup = await http.post(url, data=form)
            assert dup.status == 422 and "is used twice" in await dup.text()
            form["code_1"] = "SENT"
            form["status_1c_1"] = "Отгружен"
            ok = await http.post(url, data=form, allow_redirects=False)
            assert ok.status == 303 and ok.headers["Location"] == "/admin/status-map?saved=1"
        assert sync.status_map.rows[1].code == "SENT" and sync.status_map.rows[1].status_1c == "Отгружен"


def test_problems_go_next_to_their_row_or_to_the_whole_map() -> None:
    outcome = split_problems(
        [
            Problem("error", "row 2: unknown stage 'X'; the portal has A"),
            Problem("error", "row 2: code 'P' is used twice"),
            Problem("error", "row 9: out of range"),
            Problem("error", "rules.paid_stage: unknown stage 'Z'"),
            Problem("warning", "stage 'B' (Бэ) is not mapped to a 1C status"),
        ],
        rows=3,
    )
    assert outcome.row_errors == {1: "unknown stage 'X'; the portal has A; code 'P' is used twice"}
    assert outcome.errors == ["row 9: out of range", "rules.paid_stage: unknown stage 'Z'"]
    assert outcome.warnings == ["stage 'B' (Бэ) is not mapped to a 1C status"]
    assert not outcome.saved


async def test_client_calls_and_rate_limit_waits_are_counted() -> None:
    clock = ManualClock()
    portal = FakePortal(PortalConfig(plan="box"), now=clock.now)
    limits = Limits(rate=1.0, capacity=2)
    client = B24Client(
        InProcessTransport(portal, clock=clock), limits=limits, bucket=LeakyBucket(1.0, 2), clock=clock
    )
    calls: list[tuple[str, str]] = []
    waits: list[float] = []
    instrument(client)
    client.transport.record = lambda m, r: calls.append((m, r))  # type: ignore[attr-defined]
    client.clock.add = waits.append  # type: ignore[attr-defined]
    assert instrument(client) is client  # idempotent: not wrapped twice
    for _ in range(4):
        await client.call("crm.category.list", {"entityTypeId": 31})
    with pytest.raises(MethodNotFound):
        await client.call("no.such.method")
    assert calls == [("crm.category.list", "ok")] * 4 + [("no.such.method", "ERROR_METHOD_NOT_FOUND")]
    assert waits and sum(waits) == pytest.approx(sum(clock.slept))
    assert all(w > 0 for w in waits)


async def test_the_bridge_client_is_metered_from_its_first_call(
    tmp_path: Path, sqlite_template: Path
) -> None:
    portal = FakePortal(PortalConfig(plan="box"))
    portal_server = TestServer(make_portal_app(portal, deliver_events=False), host="127.0.0.1")
    await portal_server.start_server()
    shutil.copyfile(sqlite_template, tmp_path / "cml.db")
    webhook = str(portal_server.make_url(portal.webhook_path()))
    settings = settings_for(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'cml.db'}",
        b24_webhook_url=SecretStr(webhook),
        b24_plan="box",
    )
    app = make_app(settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        bridge = app[B24_BRIDGE]
        assert bridge.portal is not None and bridge.worker is not None, bridge.message
        assert isinstance(bridge.worker.client.transport, MeteredTransport)
        assert isinstance(app[OUTBOX], DbOutbox)
    finally:
        await server.close()
        await portal_server.close()
    bare = make_app(settings_for(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'cml.db'}"))
    assert B24_CLIENT_FACTORY not in bare  # no portal: the bridge stays idle, nothing is metered
