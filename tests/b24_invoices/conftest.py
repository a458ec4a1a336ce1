"""Fixtures of the invoice tests: the exchange server (SQLite and PostgreSQL) wired to a fake portal.

The server is the real application (``make_app``) with the invoice service added on an in-process
client of :class:`b24_bridge.fake.FakePortal`; the poll task is off (tests call ``poll_once``), the
event worker is on. 1C is played by ``tests.exchange_server.exchange_client.Node``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from b24_bridge import B24Client, LeakyBucket, Limits
from b24_bridge.fake import FakePortal, InProcessTransport, PortalConfig
from b24_bridge.invoices.settings import InvoiceSettings
from b24_bridge.invoices.sync import InvoiceSync, SyncReport
from b24_bridge.invoices.web import INVOICE_SYNC, add_invoice_service
from commerceml.model import Document
from commerceml.writer import write_orders
from exchange_server.app import make_app
from exchange_server.settings import Settings
from tests.exchange_server.conftest import (  # noqa: F401  (fixtures: both database backends)
    database_url,
    engine,
    postgres_url,
    sessionmaker,
    sqlite_template,
)
from tests.exchange_server.exchange_client import Node, basic

ADMIN = {"Authorization": basic("admin", "adminpw")}
TOKEN = "app-token-0123456789"


@dataclass
class World:
    client: TestClient[Any, Any]
    portal: FakePortal
    b24: B24Client

    @property
    def sync(self) -> InvoiceSync:
        sync: InvoiceSync = self.client.app[INVOICE_SYNC]
        return sync

    def sync_report(self) -> SyncReport:
        return SyncReport()

    async def node(self) -> Node:
        node = Node(self.client)
        await node.checkauth("sale")
        await node.init("sale")
        return node


def portal_client(portal: FakePortal, limits: Limits) -> B24Client:
    bucket = LeakyBucket.from_limits(limits) if limits.rate is not None else None
    return B24Client(InProcessTransport(portal), limits=limits, bucket=bucket)


@pytest.fixture
def plan() -> str:
    return "box"


def invoice_app(
    tmp_path: Path,
    database_url: str,  # noqa: F811
    invoice_settings: InvoiceSettings,
    b24: B24Client,
    **server: Any,
) -> web.Application:
    """The exchange server (data in ``tmp_path / "data"``, passwords ``secret`` / ``adminpw``, ``server``
    settings on top) with the invoice service on ``b24``, its poll task off."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        exchange_password=SecretStr("secret"),
        admin_password=SecretStr("adminpw"),
        **server,
    )
    app = make_app(settings)
    add_invoice_service(app, settings=invoice_settings, client_factory=lambda _session: b24, background=False)
    return app


async def invoice_world(
    aiohttp_client: Any,
    tmp_path: Path,
    database_url: str,  # noqa: F811
    invoice_settings: InvoiceSettings,
    *,
    plan: str = "box",
    **server: Any,
) -> World:
    """:func:`invoice_app` on a fresh fake portal of ``plan``, its client within the plan's limits."""
    portal = FakePortal(PortalConfig(plan=plan))
    b24 = portal_client(portal, Limits.for_plan(plan))
    client: TestClient[Any, Any] = await aiohttp_client(
        invoice_app(tmp_path, database_url, invoice_settings, b24, **server)
    )
    return World(client, portal, b24)


@pytest.fixture
async def world(aiohttp_client: Any, tmp_path: Path, database_url: str, plan: str) -> World:  # noqa: F811
    invoice_settings = InvoiceSettings(webhook_url=None, application_token=SecretStr(TOKEN))
    return await invoice_world(
        aiohttp_client, tmp_path, database_url, invoice_settings, plan=plan, step_seconds=5
    )


def orders_xml(documents: Sequence[Document], version: str = "2.08") -> bytes:
    buffer = io.BytesIO()
    write_orders(buffer, documents, schema_version=version, encoding="utf-8")
    return buffer.getvalue()


async def upload_orders(node: Node, documents: Sequence[Document], name: str = "documents.xml") -> str:
    """Classic orders upload (no version at init): imported inside mode=file; returns the answer."""
    return await node.call("sale", "file", data=orders_xml(documents), filename=name)
