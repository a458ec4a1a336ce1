"""Shared pieces of the hostile-input tests: a live server on SQLite, raw HTTP, the file tree, the store.

Every hostile scenario checks the same three things after its attack: 1C (or the attacker) got a
``failure`` line or an HTTP 4xx; no file exists outside the package directories of the data
directory (the whole temporary tree is walked before and after); and the operator API shows exactly
the products and orders it showed before (nothing partial became visible).
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from exchange_server.app import make_app, server_options
from exchange_server.replay import ReplayNode
from exchange_server.settings import Settings
from tests.exchange_server import cml_samples as cml
from tests.exchange_server.e2e_support import ADMIN, ADMIN_PASSWORD, PASSWORD, USER, settings_for

FAILURE = "failure\n"
DB_SUFFIXES = (".db", ".db-wal", ".db-shm", ".db-journal")

CATALOG = cml.goods([cml.product(f"p{i}", f"Товар {i}", article=f"A-{i}") for i in range(3)]).encode()
"""A small valid catalog: the baseline the attacks must not change."""


@dataclass(slots=True)
class Hostile:
    """A running server, its data directory and the temporary tree around it."""

    server: TestServer
    http: aiohttp.ClientSession
    root: Path  # the whole temporary tree that is walked
    settings: Settings

    @property
    def url(self) -> str:
        return str(self.server.make_url("/1c_exchange"))

    @property
    def packages(self) -> Path:
        return self.settings.packages_dir

    def node(self) -> ReplayNode:
        return ReplayNode(self.http, self.url, USER, PASSWORD, report=lambda _line: None)

    async def api(self, path: str, **params: str | int) -> Any:
        headers = {"Authorization": aiohttp.encode_basic_auth(ADMIN, ADMIN_PASSWORD)}
        async with self.http.get(self.server.make_url(path), params=params, headers=headers) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def store(self) -> tuple[int, int, list[str]]:
        """(products, orders, product ids): what the operator sees."""
        products = await self.api("/api/products", limit=1000)
        orders = await self.api("/api/orders", limit=1000)
        return products["total"], orders["total"], sorted(p["id"] for p in products["items"])

    def files(self) -> set[Path]:
        return {p for p in self.root.rglob("*") if p.is_file() and not p.name.endswith(DB_SUFFIXES)}

    def outside_packages(self) -> list[Path]:
        """Files that are not inside ``<data>/packages/<type>/<package id>/`` (plus the server's own)."""
        own = {self.settings.data_dir / "generated-password.txt"}
        bad = []
        for path in self.files():
            if path in own:
                continue
            relative = path.relative_to(self.packages) if path.is_relative_to(self.packages) else None
            if relative is None or len(relative.parts) < 3:
                bad.append(path)
        return bad

    async def baseline(self) -> tuple[int, int, list[str]]:
        """Import the small catalog once (a store with content), then return what the API shows."""
        node = self.node()
        await node.checkauth("catalog")
        await node.init("catalog", None)
        await node.upload("catalog", "import.xml", CATALOG)
        assert (await node.import_file("catalog", "import.xml")).startswith("success")
        store = await self.store()
        assert store[0] == 3
        return store

    async def fresh(self, kind: str = "catalog") -> ReplayNode:
        """A node past checkauth and init (a new package)."""
        node = self.node()
        await node.checkauth(kind)
        await node.init(kind, None)
        return node

    async def raw(self, data: bytes, *, wait: float = 10.0) -> bytes:
        """Send raw bytes on a new connection and read until the server closes it (or ``wait`` passes)."""
        reader, writer = await asyncio.open_connection(self.server.host, self.server.port)
        try:
            writer.write(data)
            await writer.drain()
            return await asyncio.wait_for(reader.read(), wait)
        finally:
            writer.close()
            await writer.wait_closed()


def request_bytes(
    query: str, *, cookie: str | None = None, body: bytes = b"", headers: str = "", method: str = "POST"
) -> bytes:
    """One HTTP/1.1 request with ``Connection: close``; ``query`` goes on the wire exactly as given."""
    head = f"{method} /1c_exchange?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if cookie:
        head += f"Cookie: {cookie}\r\n"
    head += headers + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode("utf-8", "surrogateescape") + body


def split_response(raw: bytes) -> tuple[int, str]:
    """(HTTP status, body decoded from windows-1251) of a raw response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body.decode("cp1251", "replace")


def make_zip(entries: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


@asynccontextmanager
async def hostile_server(root: Path, database_url: str, **overrides: Any) -> AsyncIterator[Hostile]:
    """The real application on ``database_url``, served with :func:`server_options` like ``serve``."""
    settings = settings_for(root / "data", database_url, **overrides)
    server = TestServer(make_app(settings))
    await server.start_server(**server_options(settings))  # TestServer() itself drops these
    try:
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:
            yield Hostile(server, http, root, settings)
    finally:
        await server.close()
