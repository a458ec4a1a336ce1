"""A 1C node in a box: replays CommerceML files against an exchange server over HTTP.

Integrators use it (``cml-exchange replay``) to test a setup without 1C; the acceptance tests use it
to drive the server exactly as 1C does: checkauth (Basic), the session cookie taken from the answer
body (never from ``Set-Cookie``), init, uploads cut at the server's ``file_limit``, the import loop
while the answer is ``progress``, and for ``--version 3.1`` deactivate + complete. Orders:
query + success, or upload (classic synchronous, or step-wise when a version is given).
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

import aiohttp

__all__ = [
    "ExchangeFailed",
    "Progress",
    "ReplayNode",
    "Step",
    "pack_zip",
    "replay_catalog",
    "sale_query",
    "sale_upload",
]

ARCHIVE_NAME: Final = "v8_replay.zip"
Report = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a long step is: bytes of a file uploaded so far, or import answers received so far."""

    phase: str  # "upload" | "import"
    name: str
    done: int  # upload: bytes sent; import: answers received (each "progress" is one step)
    total: int | None = None  # upload: the file's size; import: unknown
    message: str = ""  # import: the server's last message
    finished: bool = False


class ExchangeFailed(Exception):
    """The server answered ``failure`` (or something that is not the protocol)."""


@dataclass(slots=True)
class Step:
    mode: str
    filename: str | None
    answer: str


@dataclass(slots=True)
class ReplayNode:
    """One exchange session against ``url`` (``http://host:port/1c_exchange``)."""

    http: aiohttp.ClientSession
    url: str
    user: str
    password: str
    report: Report = print
    cookie: str | None = None
    sessid: str | None = None
    timestamp: str | None = None
    file_limit: int = 200 * 1024
    zip: bool = False
    steps: list[Step] = field(default_factory=list)
    progress: Callable[[Progress], None] | None = None

    async def request(
        self, kind: str, mode: str, params: Mapping[str, str] | None = None, *, data: bytes | None = None
    ) -> bytes:
        params = dict(params or {})
        if mode != "checkauth" and self.sessid:
            params.setdefault("sessid", self.sessid)  # the 1C-Bitrix module appends it everywhere
        query = {"type": kind, "mode": mode, **params}
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if mode == "checkauth":
            headers = {"Authorization": aiohttp.encode_basic_auth(self.user, self.password)}
        method = "POST" if data is not None else "GET"
        # A file-like body: aiohttp streams it (raw bytes over 1 MiB would block the loop).
        payload = io.BytesIO(data) if data is not None else None
        async with self.http.request(method, self.url, params=query, data=payload, headers=headers) as r:
            body = await r.read()
            if r.status != 200:
                raise ExchangeFailed(f"{mode}: HTTP {r.status}: {body[:200]!r}")
        if not body.startswith(b"<?xml"):
            text = body.decode("cp1251", "replace")
            self.steps.append(Step(mode, params.get("filename"), text))
            if text.startswith(("failure", "error")):
                raise ExchangeFailed(f"{mode} {params.get('filename') or ''}: {text}".strip())
        return body

    async def text(
        self, kind: str, mode: str, params: Mapping[str, str] | None = None, *, data: bytes | None = None
    ) -> str:
        return (await self.request(kind, mode, params, data=data)).decode("cp1251", "replace")

    async def checkauth(self, kind: str) -> None:
        lines = (await self.text(kind, "checkauth")).split("\n")
        if lines[0] != "success" or len(lines) < 3:
            raise ExchangeFailed(f"checkauth: unexpected answer {lines!r}")
        self.cookie = f"{lines[1]}={lines[2]}"
        for line in lines[3:]:
            key, _, value = line.partition("=")
            if key == "sessid":
                self.sessid = value
            elif key == "timestamp":
                self.timestamp = value

    async def init(self, kind: str, version: str | None) -> None:
        params = {"version": version} if version else {}
        for line in (await self.text(kind, "init", params)).split("\n"):
            key, _, value = line.partition("=")
            if key == "zip":
                self.zip = value == "yes"
            elif key == "file_limit" and value.strip().isdigit():
                self.file_limit = int(value)

    async def upload(self, kind: str, name: str, data: bytes) -> list[str]:
        """Send ``data`` in ``file_limit`` pieces; returns the remark lines of the last answer."""
        answer = ""
        step = max(self.file_limit, 1)
        for start in range(0, max(len(data), 1), step):
            answer = await self.text(kind, "file", {"filename": name}, data=data[start : start + step])
            if self.progress is not None:
                sent = min(start + step, len(data))
                self.progress(Progress("upload", name, sent, len(data), finished=sent >= len(data)))
        return [line for line in answer.split("\n")[1:] if line]

    async def import_file(self, kind: str, name: str) -> str:
        """Repeat ``mode=import`` while the answer is ``progress``; return the final answer."""
        steps = 0
        while True:
            answer = await self.text(kind, "import", {"filename": name})
            steps += 1
            status, _, message = answer.partition("\n")
            if self.progress is not None:
                self.progress(Progress("import", name, steps, None, message, finished=status != "progress"))
            if status != "progress":
                return answer
            self.report(f"  {name}: {message}")


def pack_zip(files: Sequence[tuple[str, Path]]) -> bytes:
    """One archive with every file under its exchange name (as 1C does with zip=yes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in files:
            archive.write(path, name)
    return buffer.getvalue()


def exchange_names(paths: Sequence[Path], base: Path | None) -> list[tuple[str, Path]]:
    """Name each file as 1C would: relative to ``base`` (sub-folders kept), else its base name."""
    named = []
    for path in paths:
        if base is not None:
            name = PurePosixPath(path.resolve().relative_to(base.resolve()).as_posix())
        else:
            name = PurePosixPath(path.name)
        named.append((str(name), path))
    return named


async def replay_catalog(
    node: ReplayNode,
    files: Sequence[tuple[str, Path]],
    *,
    use_zip: bool = False,
    version: str | None = None,
) -> None:
    """A whole ``type=catalog`` exchange: every file uploaded, every XML file imported in order.

    Raises:
        ExchangeFailed: the server answered ``failure``.
    """
    await node.checkauth("catalog")
    await node.init("catalog", version)
    if use_zip:
        archive = await asyncio.to_thread(pack_zip, files)
        node.report(f"upload {ARCHIVE_NAME} ({len(archive)} bytes, {len(files)} files)")
        await node.upload("catalog", ARCHIVE_NAME, archive)
    else:
        for name, path in files:
            data = await asyncio.to_thread(path.read_bytes)
            node.report(f"upload {name} ({len(data)} bytes)")
            await node.upload("catalog", name, data)
    for name, _ in files:
        if name.lower().endswith(".xml"):
            answer = await node.import_file("catalog", name)
            node.report(f"import {name}: {answer.replace(chr(10), ' ')}")
    if version and version.startswith("3"):
        answer = await node.text("catalog", "deactivate", {"timestamp": node.timestamp or "0"})
        node.report("deactivate: " + answer.replace("\n", " "))
        answer = await node.text("catalog", "complete")
        node.report("complete: " + answer.replace("\n", " "))


async def sale_query(node: ReplayNode, *, confirm: bool = True, version: str | None = None) -> bytes:
    """``type=sale``: checkauth, init, query (the XML is returned), then success unless ``confirm=False``."""
    await node.checkauth("sale")
    await node.init("sale", version)
    body = await node.request("sale", "query")
    if not body.startswith(b"<?xml"):
        raise ExchangeFailed(f"query: not an XML answer: {body[:200]!r}")
    if confirm:
        await node.text("sale", "success")
    return body


async def sale_upload(node: ReplayNode, name: str, path: Path, *, version: str | None = None) -> list[str]:
    """``type=sale`` orders from 1C: classic (import inside ``file``) or step-wise when ``version`` is set.

    Returns:
        The remarks the server sent after ``success``.
    """
    await node.checkauth("sale")
    await node.init("sale", version)
    data = await asyncio.to_thread(path.read_bytes)
    remarks = await node.upload("sale", name, data)
    if version:
        answer = await node.import_file("sale", name)
        remarks = [line for line in answer.split("\n")[1:] if line]
    return remarks
