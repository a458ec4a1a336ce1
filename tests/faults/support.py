"""Shared machinery of the fault tests: real server and fake-portal processes, a private PostgreSQL
cluster, and the "exactly once" checks (counts and checksums computed from the source files with the
CommerceML reader, compared with the database and the portal).

The server always runs as a real ``cml-exchange serve`` child process (``python -m exchange_server``),
so a SIGKILL is a real one: no ``finally`` blocks, no flushed buffers, no journal updates.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
from sqlalchemy import make_url, text

from b24_bridge import B24Client
from commerceml.model import Document
from commerceml.reader import iter_file
from exchange_server.db.engine import make_engine
from exchange_server.store import orders as order_store
from tests.b24_sync.portal_view import PortalCatalog, read_portal
from tests.exchange_server.e2e_support import ADMIN, ADMIN_PASSWORD, PASSWORD, USER, expected_catalog

__all__ = [
    "CLI",
    "Api",
    "Digest",
    "FakePortalProcess",
    "PrivatePostgres",
    "Served",
    "catalog_digest",
    "db_catalog_digest",
    "db_orders_digest",
    "free_port",
    "orders_digest",
    "portal_client",
    "read_portal_over_http",
    "serve",
    "sigkill",
    "wait_until",
]

CLI: Final = (sys.executable, "-m", "exchange_server")
STARTUP_SECONDS: Final = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, seconds: float, every: float = 0.05, what: str = "condition"
) -> None:
    """Poll ``check`` until it is true; fail the test after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(every)


# --- the exchange server as a process -------------------------------------------------------------


@dataclass
class Served:
    """A ``cml-exchange serve`` child process and the URL it printed."""

    process: asyncio.subprocess.Process
    url: str

    @property
    def base(self) -> str:
        return self.url.removesuffix("/1c_exchange")


def _sqlite_count(path: str, table: str) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - test tables


async def committed_count(database_url: str, table: str) -> int:
    """The rows of ``table`` committed so far, read without waiting for a writer's transaction.

    The application's SQLite engine opens every transaction with ``BEGIN IMMEDIATE`` (a write lock), so
    counting through it queues behind an import's transactions and can see all of them done at once; a
    plain read-only connection reads the WAL snapshot at once. PostgreSQL readers never wait for writers.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return await asyncio.to_thread(_sqlite_count, url.database, table)
    engine = make_engine(database_url)
    try:
        async with engine.connect() as db:
            return int((await db.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())  # noqa: S608
    finally:
        await engine.dispose()


def server_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CML_")}
    env.update(
        CML_DATA_DIR=str(data_dir),
        CML_DATABASE_URL=database_url,
        CML_EXCHANGE_USER=USER,
        CML_EXCHANGE_PASSWORD=PASSWORD,
        CML_ADMIN_USER=ADMIN,
        CML_ADMIN_PASSWORD=ADMIN_PASSWORD,
        CML_STEP_SECONDS="0.2",
        CML_FILE_LIMIT=str(4 * 1024 * 1024),
    )
    env.update(extra)
    return env


@asynccontextmanager
async def serve(data_dir: Path, database_url: str, log: Path, **extra_env: str) -> AsyncIterator[Served]:
    """Run the server until the block ends (SIGTERM then), unless the test killed it already."""
    env = server_env(data_dir, database_url, **extra_env)
    stderr = await asyncio.to_thread(open, log, "ab")
    with stderr:
        process = await asyncio.create_subprocess_exec(
            *CLI, "serve", "--port", "0", env=env, stdout=asyncio.subprocess.PIPE, stderr=stderr
        )
    try:
        assert process.stdout is not None
        url = ""
        async with asyncio.timeout(STARTUP_SECONDS):
            while not url:
                line = (await process.stdout.readline()).decode()
                assert line, f"server exited early, see {log}:\n{_tail(log)}"
                if "listening on " in line:
                    url = line.strip().rsplit(" ", 1)[-1]
        yield Served(process, url)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


async def sigkill(served: Served) -> None:
    served.process.send_signal(signal.SIGKILL)
    assert await served.process.wait() == -signal.SIGKILL


class Api:
    """The operator API of one server, as the admin."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base_url = http, base

    async def api(self, path: str, **params: str | int) -> Any:
        headers = {"Authorization": aiohttp.encode_basic_auth(ADMIN, ADMIN_PASSWORD)}
        async with self.http.get(self.base_url + path, params=params, headers=headers) as response:
            assert response.status == 200, await response.text()
            return await response.json()


# --- the fake portal as a process -----------------------------------------------------------------


class FakePortalProcess:
    """``cml-exchange fake-portal`` on one port for its whole life, its data kept in ``state`` across restarts.

    The first start asks for any free port (``--port 0``: the kernel picks it while binding, so a parallel
    test worker can never take it between a probe and the bind); restarts reuse the port it got.
    """

    def __init__(self, state: Path, log: Path, plan: str = "standard") -> None:
        self.state, self.log, self.plan = state, log, plan
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> str:
        with open(self.log, "a") as stderr:
            self.process = subprocess.Popen(
                [*CLI, "fake-portal", "--port", str(self.port), "--plan", self.plan, "--state", str(self.state),
                 "--inventory"],
                stdout=subprocess.PIPE, stderr=stderr, text=True,
            )  # fmt: skip
        assert self.process.stdout is not None
        url = self.process.stdout.readline().strip()
        assert url.startswith("http://"), f"fake portal did not start: {_tail(self.log)}"
        assert not self.url or url == self.url, "the webhook changed across a restart"
        self.url = url
        self.port = int(url.split("/")[2].rsplit(":", 1)[1])
        return url

    def stop(self) -> None:
        """SIGTERM: the portal saves its data and exits (the port refuses connections from now)."""
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    @property
    def stats_url(self) -> str:
        return self.url.split("/rest/")[0] + "/_fake/stats"


@asynccontextmanager
async def portal_client(url: str) -> AsyncIterator[B24Client]:
    async with aiohttp.ClientSession() as http:
        yield B24Client.for_webhook(http, url)


async def read_portal_over_http(url: str) -> PortalCatalog:
    async with portal_client(url) as client:
        return await read_portal(client)


# --- checksums ------------------------------------------------------------------------------------


def _num(value: Decimal | str | None) -> str:
    if value is None:
        return "-"
    number = Decimal(value)
    return format(number.normalize(), "f") if number == number.to_integral_value() else format(number, "f")


@dataclass(frozen=True)
class Digest:
    """Counts per kind and a SHA-256 over the sorted canonical lines (kept to show differences)."""

    counts: dict[str, int]
    lines: tuple[str, ...]

    @classmethod
    def of(cls, lines: Iterable[str]) -> Digest:
        ordered = tuple(sorted(lines))
        counts: dict[str, int] = {}
        for line in ordered:
            kind = line.split("|", 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
        return cls(counts, ordered)

    @property
    def sha256(self) -> str:
        return hashlib.sha256("\n".join(self.lines).encode()).hexdigest()

    def assert_equal(self, other: Digest, what: str) -> None:
        if self.counts == other.counts and self.sha256 == other.sha256:
            return
        mine, theirs = set(self.lines), set(other.lines)
        missing, extra = sorted(mine - theirs)[:5], sorted(theirs - mine)[:5]
        raise AssertionError(
            f"{what}: counts {other.counts} != expected {self.counts}; missing {missing}, unexpected {extra}"
        )


def _offer_line(key: str, product_id: str, prices: dict[str, Any], stock: dict[str, Any], qty: Any) -> str:
    price_text = ",".join(f"{k}={_num(v)}" for k, v in sorted(prices.items()))
    stock_text = ",".join(f"{k}={_num(v)}" for k, v in sorted(stock.items()))
    return f"offer|{key}|{product_id}|{price_text}|{stock_text}|{_num(qty)}"


def catalog_digest(paths: Sequence[Path]) -> Digest:
    """What the store must hold after importing ``paths``, read from the files alone."""
    products, offers = expected_catalog(paths)
    lines = [f"product|{p.id}|{p.name}|{p.article or ''}|{not p.deleted}" for p in products.values()]
    for key, state in offers.items():
        lines.append(
            _offer_line(key, state["product_id"], state.get("prices", {}), state.get("stock", {}),
                        state.get("quantity"))
        )  # fmt: skip
    return Digest.of(lines)


async def db_catalog_digest(database_url: str) -> Digest:
    """The same lines read from the database the server wrote."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as db:
            products = (await db.execute(text("SELECT id, name, article, active FROM products"))).all()
            offers = (await db.execute(text("SELECT id, product_id, quantity FROM offers"))).all()
            prices = (await db.execute(text("SELECT offer_id, price_type_id, value FROM offer_prices"))).all()
            stock = (await db.execute(text("SELECT offer_id, warehouse_id, quantity FROM offer_stock"))).all()
    finally:
        await engine.dispose()
    by_offer_prices: dict[str, dict[str, Any]] = {}
    for offer_id, type_id, value in prices:
        by_offer_prices.setdefault(offer_id, {})[type_id] = value
    by_offer_stock: dict[str, dict[str, Any]] = {}
    for offer_id, warehouse, quantity in stock:
        by_offer_stock.setdefault(offer_id, {})[warehouse] = quantity
    lines = [f"product|{i}|{n}|{a or ''}|{bool(active)}" for i, n, a, active in products]
    lines += [
        _offer_line(i, p, by_offer_prices.get(i, {}), by_offer_stock.get(i, {}), q) for i, p, q in offers
    ]
    return Digest.of(lines)


def _order_lines(document: Document) -> list[str]:
    rows = ";".join(
        f"{line.id}:{_num(line.price)}x{_num(line.quantity)}={_num(line.amount)}" for line in document.lines
    )
    return [f"order|{document.id}|{document.number or ''}|{_num(document.amount)}|{rows}"]


def orders_digest(paths: Sequence[Path]) -> Digest:
    """The documents of 1C's files the store keeps (orders, payments, shipments; the last version wins)."""
    latest: dict[str, Document] = {}
    for path in paths:
        for entity in iter_file(path):
            if isinstance(entity, Document) and order_store.is_stored(entity):
                latest[entity.id] = entity
    return Digest.of(line for document in latest.values() for line in _order_lines(document))


async def db_orders_digest(database_url: str) -> Digest:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as db:
            orders = (await db.execute(text("SELECT id, number, amount FROM orders"))).all()
            rows = (
                await db.execute(
                    text(
                        "SELECT order_id, product_id, price, quantity, amount FROM order_lines "
                        "ORDER BY order_id, position"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    lines_of: dict[str, list[str]] = {}
    for order_id, product_id, price, quantity, amount in rows:
        lines_of.setdefault(order_id, []).append(
            f"{product_id}:{_num(price)}x{_num(quantity)}={_num(amount)}"
        )
    return Digest.of(
        f"order|{i}|{number or ''}|{_num(amount)}|{';'.join(lines_of.get(i, []))}"
        for i, number, amount in orders
    )


# --- a private PostgreSQL cluster -----------------------------------------------------------------


def _pg_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return candidates[0].parent if candidates else None


class PrivatePostgres:
    """A throwaway cluster (initdb into a temporary directory, own port) this test may stop at will.

    The machine's shared PostgreSQL is never touched. initdb refuses root, so the cluster runs as the
    ``postgres`` system user when the tests run as root.
    """

    def __init__(self) -> None:
        bin_dir = _pg_bin()
        if bin_dir is None:
            reason = "PostgreSQL server binaries (/usr/lib/postgresql/*/bin) not installed"
            if os.environ.get("CI"):
                pytest.fail(reason + " and CI is set")
            pytest.skip(reason)
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="cml-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.root.chmod(0o700)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/faults"

    def _run(self, *args: str, timeout: float = 120) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")  # fmt: skip
        # The port was free when probed, but another process (a parallel test worker, say) may bind it
        # before the postmaster does: then start again on a newly probed port.
        for attempt in range(1, 6):
            logged = self.log.stat().st_size if self.log.exists() else 0
            try:
                self.start()
                break
            except subprocess.CalledProcessError:
                if attempt == 5 or "could not bind" not in self._log_since(logged):
                    raise
                self.port = free_port()
        self._run(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "faults"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log, "rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: the server dies like a crash (recovery at the next start)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
