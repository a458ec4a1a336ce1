"""A live exchange server on loopback (SQLite or PostgreSQL) with the classic 2.08 fixture set
replayed through HTTP as 1C would, for the admin page and metrics tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from exchange_server.app import make_app
from exchange_server.replay import ReplayNode, replay_catalog, sale_upload
from exchange_server.settings import Settings
from tests.exchange_server.conftest import database_url, postgres_url, sqlite_template

__all__ = ["database_url", "postgres_url", "sqlite_template"]

REPO = Path(__file__).resolve().parents[2]
CLASSIC = REPO / "fixtures" / "commerceml" / "classic-2.08"
ORDERS = REPO / "fixtures" / "commerceml" / "orders" / "from-1c-2.08.xml"
NODE_USER, NODE_PASSWORD = "1c", "node-secret"
ADMIN, ADMIN_PASSWORD = "operator", "operator-secret"


@dataclass(frozen=True, slots=True)
class Live:
    base: str  # http://127.0.0.1:PORT
    settings: Settings

    @property
    def exchange_url(self) -> str:
        return f"{self.base}/1c_exchange"


def settings_for(tmp_path: Path, database_url: str, **extra: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        exchange_user=NODE_USER,
        exchange_password=SecretStr(NODE_PASSWORD),
        admin_user=ADMIN,
        admin_password=SecretStr(ADMIN_PASSWORD),
        step_seconds=5,
        **extra,  # type: ignore[arg-type]
    )


async def replay_classic(url: str) -> None:
    """The classic catalog exchange of fixtures/commerceml/classic-2.08 (import.xml, offers.xml)."""
    files = [("import.xml", CLASSIC / "import.xml"), ("offers.xml", CLASSIC / "offers.xml")]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        await replay_catalog(ReplayNode(http, url, NODE_USER, NODE_PASSWORD, report=lambda _: None), files)


async def upload_orders(url: str) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        node = ReplayNode(http, url, NODE_USER, NODE_PASSWORD, report=lambda _: None)
        await sale_upload(node, ORDERS.name, ORDERS)


@pytest.fixture
async def live(tmp_path: Path, database_url: str) -> AsyncIterator[Live]:
    """The server on a free loopback port, after one catalog exchange and one orders upload."""
    settings = settings_for(tmp_path, database_url)
    server = TestServer(make_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        live = Live(base=str(server.make_url("")).rstrip("/"), settings=settings)
        await replay_classic(live.exchange_url)
        await upload_orders(live.exchange_url)
        yield live
    finally:
        await server.close()
