"""A small 1C node for handler tests: speaks the protocol over an aiohttp TestClient, step by step.

The session cookie is taken from the checkauth body (as 1C does), never from ``Set-Cookie``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

ENDPOINT = "/1c_exchange"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Node:
    """One 1C node exchanging with the server under test."""

    def __init__(
        self,
        client: TestClient[Any, Any],
        *,
        user: str = "1c",
        password: str = "secret",
        path: str = ENDPOINT,
    ) -> None:
        self.client = client
        self.user = user
        self.password = password
        self.path = path
        self.cookie: str | None = None
        self.file_limit = 0

    async def call(
        self,
        kind: str,
        mode: str,
        *,
        data: bytes | None = None,
        auth: bool = False,
        cookie: bool = True,
        **params: str,
    ) -> str:
        """One request; returns the body decoded from windows-1251 (asserting HTTP 200)."""
        body, _ = await self.raw(kind, mode, data=data, auth=auth, cookie=cookie, **params)
        return body.decode("cp1251")

    async def raw(
        self,
        kind: str,
        mode: str,
        *,
        data: bytes | None = None,
        auth: bool = False,
        cookie: bool = True,
        **params: str,
    ) -> tuple[bytes, Mapping[str, str]]:
        headers: dict[str, str] = {}
        if auth:
            headers["Authorization"] = basic(self.user, self.password)
        if cookie and self.cookie:
            headers["Cookie"] = self.cookie
        self.client.session.cookie_jar.clear()  # only what the body said, like 1C
        query = {"type": kind, "mode": mode, **params}
        if data is None:
            response = await self.client.get(self.path, params=query, headers=headers)
        else:
            response = await self.client.post(self.path, params=query, data=data, headers=headers)
        assert response.status == 200, await response.text()
        return await response.read(), response.headers

    async def checkauth(self, kind: str = "catalog") -> list[str]:
        text = await self.call(kind, "checkauth", auth=True, cookie=False)
        lines = text.split("\n")
        assert lines[0] == "success", text
        self.cookie = f"{lines[1]}={lines[2]}"
        return lines

    async def init(self, kind: str = "catalog", **params: str) -> str:
        text = await self.call(kind, "init", **params)  # type: ignore[arg-type]
        for line in text.split("\n"):
            if line.startswith("file_limit="):
                self.file_limit = int(line.split("=", 1)[1])
        return text

    async def upload(self, kind: str, name: str, data: bytes) -> None:
        step = self.file_limit or len(data) or 1
        for start in range(0, max(len(data), 1), step):
            text = await self.call(kind, "file", data=data[start : start + step], filename=name)
            assert text.startswith("success"), text

    async def upload_file(self, kind: str, name: str, path: Path) -> None:
        await self.upload(kind, name, await asyncio.to_thread(path.read_bytes))

    async def import_until_done(self, kind: str, name: str, *, max_calls: int = 200) -> tuple[str, int]:
        """Repeat mode=import while the answer is progress; return the last answer and the call count."""
        for calls in range(1, max_calls + 1):
            text = await self.call(kind, "import", filename=name)
            if not text.startswith("progress"):
                return text, calls
        raise AssertionError(f"import of {name} still in progress after {max_calls} calls")
