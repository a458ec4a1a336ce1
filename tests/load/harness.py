"""Running the load scenario: server processes, 1C nodes, timings. The checks are in ``verify.py``.

* :func:`running_servers` starts ``count`` ``cml-exchange serve`` subprocesses on one database and one
  data directory (a new PostgreSQL database per run, dropped afterwards; or a SQLite file for one
  process), each logging JSON to its own file, and reads each one's peak memory (``VmHWM``) before it
  stops.
* :class:`Recorder` times every HTTP request a node sends (aiohttp request tracing), by exchange type
  and mode, with the server it went to.
* :func:`node_exchange` is one 1C node: its catalog exchange (checkauth, init, chunked upload of
  import.xml + offers.xml, the import loop) and, at the same time, its orders exchange in one session
  (checkauth, init, query, success, upload of its orders file).
* :func:`order_upload` is one upload of the concurrent burst: checkauth, init, then ``mode=file`` (the
  classic form imports inside it) or ``mode=file`` + ``mode=import`` (the step-wise form, a version
  given at init), started together behind a barrier.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final

import aiohttp
from sqlalchemy import make_url, text

from commerceml.model import Document
from commerceml.reader import Reader
from exchange_server.db.engine import make_engine
from exchange_server.replay import ExchangeFailed, ReplayNode, replay_catalog

__all__ = [
    "PASSWORD",
    "PG_URL",
    "USER",
    "QueryAnswer",
    "Recorder",
    "Server",
    "node_exchange",
    "order_upload",
    "percentile",
    "pg_admin",
    "running_servers",
]

REPO: Final = Path(__file__).resolve().parents[2]
PG_URL: Final = os.environ.get("CML_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
USER, PASSWORD = "load-1c", "load-node-secret"
ADMIN, ADMIN_PASSWORD = "load-operator", "load-operator-secret"
LISTENING: Final = re.compile(r"listening on (http://\S+)")
STEPWISE_VERSION: Final = "2.08"
EXPECTED_WARNINGS: Final = ("Bitrix24 bridge idle",)
"""Warnings every server logs in this set-up (no portal configured); any other one is a problem."""


# --- timings -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    kind: str
    mode: str
    server: int
    seconds: float


@dataclass(slots=True)
class Recorder:
    """Every request's duration as the 1C node saw it (first byte sent to body read)."""

    servers: dict[str, int]  # "host:port" -> server index
    timings: list[Timing] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def trace(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()

        async def start(_s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: Any) -> None:
            ctx.started = time.perf_counter()

        async def end(
            _s: aiohttp.ClientSession, ctx: SimpleNamespace, p: aiohttp.TraceRequestEndParams
        ) -> None:
            query = p.url.query
            self.timings.append(
                Timing(
                    query.get("type", "?"),
                    query.get("mode", "?"),
                    self.servers.get(f"{p.url.host}:{p.url.port}", -1),
                    time.perf_counter() - ctx.started,
                )
            )

        async def failed(
            _s: aiohttp.ClientSession, ctx: SimpleNamespace, p: aiohttp.TraceRequestExceptionParams
        ) -> None:
            self.errors.append(f"{p.method} {p.url}: {p.exception!r}")

        config.on_request_start.append(start)
        config.on_request_end.append(end)
        config.on_request_exception.append(failed)
        return config

    def session(self, *, limit: int = 100) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=900),
            cookie_jar=aiohttp.DummyCookieJar(),  # the replay client sends the session cookie itself
            connector=aiohttp.TCPConnector(limit=limit),
            trace_configs=[self.trace()],
        )

    def count(self, mode: str | None = None) -> int:
        return sum(1 for t in self.timings if mode is None or t.mode == mode)


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0..1) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarize(timings: Sequence[Timing]) -> dict[str, dict[str, float]]:
    """Per ``type/mode``: count, median, p95 and max in milliseconds."""
    groups: dict[str, list[float]] = {}
    for t in timings:
        groups.setdefault(f"{t.kind}/{t.mode}", []).append(t.seconds * 1000)
    groups["all"] = [t.seconds * 1000 for t in timings]
    return {
        key: {
            "count": len(values),
            "median_ms": statistics.median(values) if values else float("nan"),
            "p95_ms": percentile(values, 0.95),
            "max_ms": max(values, default=float("nan")),
        }
        for key, values in groups.items()
    }


# --- server processes ------------------------------------------------------------------------------


@dataclass(slots=True)
class Server:
    index: int
    process: asyncio.subprocess.Process
    base: str  # http://127.0.0.1:port
    log: Path
    peak_mb: float = float("nan")
    died: int | None = None  # exit code when the process had ended before it was stopped

    @property
    def url(self) -> str:
        return f"{self.base}/1c_exchange"

    @property
    def address(self) -> str:
        host_port = self.base.split("://", 1)[1]
        return host_port


async def pg_admin(statement: str) -> None:
    engine = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def _peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def _start(index: int, env: dict[str, str], log: Path) -> Server:
    err = await asyncio.to_thread(log.open, "wb")
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "exchange_server",
            "serve",
            "--port",
            "0",
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
        )
    finally:
        err.close()  # the child has its own descriptor
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=120)).decode()
    except TimeoutError:
        line = ""
    found = LISTENING.search(line)
    if found is None:
        process.kill()
        await process.wait()
        tail = (await asyncio.to_thread(log.read_text))[-2000:]
        raise RuntimeError(f"server {index} did not start ({line!r}); see {log}: {tail}")
    return Server(index, process, found.group(1).rsplit("/", 1)[0], log)


async def _stop(server: Server) -> None:
    server.peak_mb = _peak_mb(server.process.pid)
    server.died = server.process.returncode
    if server.process.returncode is None:
        server.process.terminate()
        try:
            await asyncio.wait_for(server.process.wait(), timeout=60)
        except TimeoutError:
            server.process.kill()
            await server.process.wait()


@asynccontextmanager
async def running_servers(
    count: int, backend: str, workdir: Path, *, file_limit: int, step_seconds: float, zip: bool = False
) -> AsyncIterator[tuple[str, list[Server]]]:
    """``count`` server processes on one fresh database and data directory; yields (database URL, servers).

    The servers are started together (the first migrates, the others wait on the migration lock). On
    exit each one's peak memory is read, then it is stopped; a PostgreSQL database is dropped.
    """
    database: str | None = None
    if backend == "sqlite":
        if count != 1:
            raise ValueError("SQLite serves one process only (docs/operations.md)")
        url = f"sqlite+aiosqlite:///{workdir}/exchange.db"
    elif backend == "postgresql":
        database = f"cml_load_{uuid.uuid4().hex[:12]}"
        await pg_admin(f'CREATE DATABASE "{database}"')
        url = make_url(PG_URL).set(database=database).render_as_string(hide_password=False)
    else:
        raise ValueError(f"unknown backend {backend!r}")
    env = {
        **os.environ,
        "CML_DATA_DIR": str(workdir / "data"),
        "CML_DATABASE_URL": url,
        "CML_EXCHANGE_USER": USER,
        "CML_EXCHANGE_PASSWORD": PASSWORD,
        "CML_ADMIN_USER": ADMIN,
        "CML_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CML_ZIP": "true" if zip else "false",
        "CML_FILE_LIMIT": str(file_limit),
        "CML_STEP_SECONDS": str(step_seconds),
        "CML_LOG_FORMAT": "json",
    }
    servers: list[Server] = []
    try:
        started = await asyncio.gather(
            *(_start(i, env, workdir / f"server{i}.log") for i in range(count)), return_exceptions=True
        )
        servers = [s for s in started if isinstance(s, Server)]
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        yield url, servers
    finally:
        await asyncio.gather(*(_stop(s) for s in servers))
        if database is not None:
            await pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def server_problems(servers: Sequence[Server]) -> list[str]:
    """Log records at warning level or above, and servers that died: none are expected."""
    problems = []
    for server in servers:
        if server.died is not None:
            problems.append(f"server {server.index} died (exit code {server.died})")
        for line in server.log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                problems.append(f"server {server.index}: unexpected log line {line[:300]!r}")
                continue
            expected = record.get("message", "").startswith(EXPECTED_WARNINGS)
            if record.get("level") in ("warning", "error", "critical") and not expected:
                problems.append(f"server {server.index}: {record.get('level')}: {line[:500]}")
    return problems


# --- 1C nodes ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryAnswer:
    """What one ``mode=query`` handed to a node: the order Ид and versions, in document order."""

    node: int
    documents: tuple[tuple[str, str | None], ...]


@dataclass(slots=True)
class RoundRobinNode(ReplayNode):
    """A 1C node behind a proxy without stickiness: every request goes to the next server in turn."""

    urls: tuple[str, ...] = ()
    turn: int = 0

    async def request(
        self, kind: str, mode: str, params: Mapping[str, str] | None = None, *, data: bytes | None = None
    ) -> bytes:
        self.url = self.urls[self.turn % len(self.urls)]
        self.turn += 1
        return await ReplayNode.request(self, kind, mode, params, data=data)


def _node(http: aiohttp.ClientSession, urls: Sequence[str]) -> ReplayNode:
    """One server: a plain node; several: a node that changes server on every request."""
    if len(urls) == 1:
        return ReplayNode(http, urls[0], USER, PASSWORD, report=lambda _line: None)
    return RoundRobinNode(http, urls[0], USER, PASSWORD, report=lambda _line: None, urls=tuple(urls))


async def node_exchange(
    recorder: Recorder,
    node: int,
    urls: Sequence[str],
    catalog: Sequence[tuple[str, Path]],
    orders_file: Path,
    *,
    use_zip: bool = False,
) -> QueryAnswer:
    """One 1C node: its catalog exchange (as one zip archive with ``use_zip``) and its orders exchange
    at the same time.

    Raises:
        ExchangeFailed: any ``failure`` answer, or remarks after the orders upload (all are orders).
    """
    async with recorder.session() as http:

        async def sale() -> QueryAnswer:
            client = _node(http, urls)
            await client.checkauth("sale")
            await client.init("sale", None)
            body = await client.request("sale", "query")
            if not body.startswith(b"<?xml"):
                raise ExchangeFailed(f"node {node}: query answered {body[:200]!r}")
            documents = tuple((e.id, e.version) for e in await asyncio.to_thread(_documents, body))
            await client.text("sale", "success")
            data = await asyncio.to_thread(orders_file.read_bytes)
            remarks = await client.upload("sale", orders_file.name, data)
            if remarks:
                raise ExchangeFailed(f"node {node}: unexpected remarks {remarks!r}")
            return QueryAnswer(node, documents)

        _, answer = await asyncio.gather(replay_catalog(_node(http, urls), catalog, use_zip=use_zip), sale())
        return answer


def _documents(body: bytes) -> list[Document]:
    reader = Reader("mode=query answer")
    entities = [*reader.feed(body), *reader.close()]
    return [e for e in entities if isinstance(e, Document)]


async def order_upload(
    http: aiohttp.ClientSession, index: int, urls: Sequence[str], path: Path, barrier: asyncio.Barrier
) -> None:
    """One upload of the burst; every upload waits at ``barrier`` after init, then all send at once.

    ``urls``: the server, or the servers to take turns on (per request). Even uploads use the classic form (the orders are imported inside ``mode=file``), odd ones the
    step-wise form (a version at init, then ``mode=import``).

    Raises:
        ExchangeFailed: a ``failure`` answer or remarks.
    """
    client = _node(http, urls)
    version = STEPWISE_VERSION if index % 2 else None
    await client.checkauth("sale")
    await client.init("sale", version)
    data = await asyncio.to_thread(path.read_bytes)
    await barrier.wait()
    remarks = await client.upload("sale", path.name, data)
    if version is not None:
        answer = await client.import_file("sale", path.name)
        if not answer.startswith("success"):
            raise ExchangeFailed(f"upload {index}: import answered {answer!r}")
        remarks = [line for line in answer.split("\n")[1:] if line]
    if remarks:
        raise ExchangeFailed(f"upload {index}: unexpected remarks {remarks!r}")
