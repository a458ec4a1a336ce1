"""The server with its real Bitrix24 side on a fake portal (in-process client), for the admin tests.

The bridge worker gets an in-process client of :class:`FakePortal` through ``B24_CLIENT_FACTORY``
and the invoice sync through ``add_invoice_service`` (poll off), exactly as their own tests wire
them; both poll rarely (3600 s) and a finished package does not wake the push, so the jobs a test creates stay where the test put them. A failed
outbox job is made through the outbox's own API: the plan enqueued, the job claimed, and its
attempts failed up to ``max_attempts`` (parked with the error).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge import B24Client, Limits
from b24_bridge.fake import FakePortal, InProcessTransport, PortalConfig
from b24_bridge.invoices.settings import InvoiceSettings
from b24_bridge.invoices.web import add_invoice_service
from b24_bridge.sync.mapping import MappingConfig
from b24_bridge.sync.service import plan_and_enqueue
from exchange_server.admin import SETTINGS
from exchange_server.app import make_app
from exchange_server.keys import SESSIONMAKER
from exchange_server.outbox import queue
from exchange_server.outbox.routes import B24_CLIENT_FACTORY
from tests.web.conftest import Live, replay_classic, settings_for, upload_orders

MAPPING = MappingConfig(idle_seconds=3600, poll_seconds=3600, max_attempts=3, wake_on_package=False)
PRODUCT_ID = "a1b2c3d4-0000-4000-8000-000000000101"
LIMIT_ERROR = "QUERY_LIMIT_EXCEEDED (503): Too many requests"


@dataclass
class Site:
    live: Live
    app: web.Application
    portal: FakePortal
    client: B24Client

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self.app[SESSIONMAKER]


def portal_client(portal: FakePortal) -> B24Client:
    return B24Client(InProcessTransport(portal), limits=Limits.for_plan("box"), bucket=None)


@asynccontextmanager
async def b24_site(tmp_path: Path, database_url: str, *, replay: bool = True) -> AsyncIterator[Site]:
    """The server after a replay (catalog + orders), with the bridge and the invoice sync on a fake portal."""
    portal = FakePortal(PortalConfig(plan="box"))
    client = portal_client(portal)

    @asynccontextmanager
    async def factory() -> AsyncIterator[B24Client | None]:
        yield client

    app = make_app(settings_for(tmp_path, database_url, b24=MAPPING))
    app[B24_CLIENT_FACTORY] = factory
    add_invoice_service(
        app,
        settings=InvoiceSettings(webhook_url=None, application_token=SecretStr("token-0123456789")),
        client_factory=lambda _http: client,
        background=False,
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        live = Live(base=str(server.make_url("")).rstrip("/"), settings=app[SETTINGS])
        if replay:
            await replay_classic(live.exchange_url)
            await upload_orders(live.exchange_url)
        yield Site(live, app, portal, client)
    finally:
        await server.close()


async def park_a_job(site: Site, error: str = LIMIT_ERROR) -> queue.ClaimedJob:
    """Enqueue the current plan, then fail the first due job until the outbox parks it."""
    now = dt.datetime.now(dt.UTC)
    plan = await plan_and_enqueue(site.sessionmaker, MAPPING, now)
    assert plan.jobs, "the replayed catalog plans jobs"
    chosen: queue.ClaimedJob | None = None
    for attempt in range(1, MAPPING.max_attempts + 1):
        later = now + dt.timedelta(hours=attempt)  # past every back-off
        async with site.sessionmaker.begin() as session:
            claimed = await queue.claim(session, "test", 10_000, later)
            mine = [j for j in claimed.jobs if chosen is None or j.id == chosen.id]
            assert mine, f"attempt {attempt}: the job is due again"
            chosen = mine[0]
            await queue.release(session, [j.id for j in claimed.jobs if j.id != chosen.id], later)
            await queue.fail(
                session,
                [queue.Failure(chosen.id, error, chosen.attempts)],
                later,
                max_attempts=MAPPING.max_attempts,
                base=MAPPING.backoff_seconds,
                ceiling=MAPPING.backoff_max_seconds,
            )
    assert chosen is not None
    return chosen
