"""Bitrix24 push benchmark: a generated catalog through the 1C protocol into the server, then to the
fake portal at standard limits (2 req/s, burst 50), read back through REST and compared.

Run (not a pytest test)::

    python -m tests.benchmarks.bench_push --products 10000 [--clock real|virtual] [--faults] [--cost 0.004]

``--faults``: 10% of the requests answer 500 before the write, 2% lose their answer after it (the
client waits its 30 s timeout); the read-back must still be equal with no duplicates and no job
parked. At 10,000 goods this run takes about 40 minutes of wall time, so it lives here, not in CI;
CI runs the same scenario at 300 goods (``tests/b24_sync/test_acceptance.py``).

Phases:

1. ``commerceml.generator``: ``--products`` goods, 20% with 3 characteristics, 2 price types, 3
   warehouses (classic ``import.xml`` + ``offers.xml``);
2. the exchange server on a SQLite file, the files sent by ``exchange_server.replay`` (the 1C protocol);
3. plan + push into a fake portal with inventory management on (stock per warehouse through conducted
   documents). ``--clock real`` (default) runs on wall time, the fake in-process (its CPU time
   counts). ``--clock virtual`` runs the push on the fake's virtual-time event loop (bucket, back-off
   and the portal on loop time); it stalled in our runs with SQLite's worker threads, so the
   published numbers are wall time;
4. everything read back through REST (list pages, 50 per batch) and compared with the files;
5. the same package again (zero write calls expected), then 1% of the prices changed (at most
   ``ceil(changes/50)+2`` calls expected).

The markdown for docs/performance.md goes to stdout; progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import async_sessionmaker

from b24_bridge import B24Client, BatchCommand, Limits, LoopClock, RetryPolicy
from b24_bridge.fake import FakePortal, Fault, InProcessTransport, PortalConfig, run_virtual
from b24_bridge.sync.mapping import MappingConfig
from b24_bridge.sync.pusher import Pusher, PushReport
from b24_bridge.sync.service import plan_and_enqueue
from commerceml.generator import CatalogSpec, generate_catalog
from exchange_server.app import make_app
from exchange_server.db.engine import make_engine
from exchange_server.outbox import queue
from exchange_server.replay import ReplayNode, replay_catalog
from exchange_server.settings import Settings
from tests.b24_sync.portal_view import write_calls
from tests.b24_sync.test_acceptance import change_prices, expected_from_files

T = TypeVar("T")
MAPPING = MappingConfig()
USER, PASSWORD = "1c", "bench-secret"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def send_package(data_dir: Path, url: str, files: list[tuple[str, Path]]) -> float:
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        exchange_user=USER,
        exchange_password=SecretStr(PASSWORD),
        admin_password=SecretStr("admin-secret"),
        step_seconds=5.0,
    )
    runner = web.AppRunner(make_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    started = time.perf_counter()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3600)) as http:
            node = ReplayNode(
                http, f"http://127.0.0.1:{port}/1c_exchange", USER, PASSWORD, report=lambda _: None
            )
            node.file_limit = 8 * 1024 * 1024
            await replay_catalog(node, files)
    finally:
        await runner.cleanup()
    return time.perf_counter() - started


class Run:
    """One fake portal and the client the pushes go through (built inside the push loop)."""

    def __init__(self, faults: bool, cost: float) -> None:
        self.clock = LoopClock()
        self.portal = FakePortal(PortalConfig(plan="standard", default_cost=cost), now=self.clock.now)
        self.portal.state.inventory_mode = True
        self.portal.record_calls = False
        if faults:
            self.portal.faults.add(Fault.INTERNAL_ERROR, probability=0.10)
            self.portal.faults.add(Fault.LOST_RESPONSE, probability=0.02)
        url = f"https://{self.portal.config.domain}{self.portal.webhook_path()}"
        self.client = B24Client(
            InProcessTransport(self.portal, url, timeout=30.0, clock=self.clock),
            limits=Limits(),
            clock=self.clock,
            retry=RetryPolicy(),
            portal=f"bench-{id(self)}",
        )


async def push(run: Run, url: str) -> tuple[PushReport, float, int]:
    engine = make_engine(url)
    try:
        sm = async_sessionmaker(engine, expire_on_commit=False)
        plan = await plan_and_enqueue(sm, MAPPING)
        last = [0.0]

        def progress(report: PushReport) -> None:
            if time.monotonic() - last[0] > 10:
                last[0] = time.monotonic()
                log(f"  pushed {report.done} / {len(plan.jobs)}, {report.calls} calls")

        started = run.clock.now()
        report = await Pusher(run.client, sm, MAPPING, progress=progress).drain()
        elapsed = run.clock.now() - started
        async with sm() as s:
            parked = (await queue.status(s))["failed"]
        return report, elapsed, parked
    finally:
        await engine.dispose()


async def read_all(client: B24Client, method: str, params: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Every row of a list method through REST, 50 pages per batch call."""
    first = await client.call_envelope(method, {**params, "order": {"id": "ASC"}, "start": 0})
    rows: list[dict[str, Any]] = list(first.result[key] if isinstance(first.result, dict) else first.result)
    total = first.total or len(rows)
    starts = list(range(50, total, 50))
    for block in range(0, len(starts), 50):
        commands = [
            BatchCommand(f"p{s}", method, {**params, "order": {"id": "ASC"}, "start": s})
            for s in starts[block : block + 50]
        ]
        answer = await client.batch(commands)
        answer.raise_for_errors()
        for command in commands:
            result = answer.results[command.id]
            rows.extend(result[key] if isinstance(result, dict) else result)
    return rows


async def read_back(client: B24Client) -> Any:
    """The portal catalog in the shape of ``tests.b24_sync.portal_view.PortalCatalog``."""
    from collections import Counter
    from decimal import Decimal

    from tests.b24_sync.portal_view import PortalCatalog

    elements: list[dict[str, Any]] = []
    for iblock in (23, 24):
        elements += await read_all(
            client,
            "catalog.product.list",
            {"filter": {"iblockId": iblock}, "select": ["id", "iblockId", "xmlId", "name", "active", "type"]},
            "products",
        )
    offers = await read_all(
        client,
        "catalog.product.offer.list",
        {"filter": {"iblockId": 24}, "select": ["id", "iblockId", "parentId"]},
        "offers",
    )
    by_id = {int(r["id"]): r for r in elements}
    parent = {int(o["id"]): int(o["parentId"]["value"]) for o in offers if o.get("parentId")}
    types = {int(t["id"]): t["xmlId"] for t in await client.list_all("catalog.priceType.list", {})}
    stores = {int(s["id"]): s["xmlId"] for s in await client.list_all("catalog.store.list", {})}
    prices = await read_all(client, "catalog.price.list", {}, "prices")
    stock = await read_all(client, "catalog.storeproduct.list", {}, "storeProducts")
    counts = Counter(r["xmlId"] for r in elements)
    return PortalCatalog(
        {},
        {
            r["xmlId"]: (
                int(r["type"]),
                r["name"],
                r["active"],
                by_id[parent[int(r["id"])]]["xmlId"] if int(r["id"]) in parent else None,
            )
            for r in elements
        },
        {
            (by_id[int(p["productId"])]["xmlId"], types[int(p["catalogGroupId"])]): Decimal(str(p["price"]))
            for p in prices
        },
        {
            (by_id[int(s["productId"])]["xmlId"], stores[int(s["storeId"])]): Decimal(str(s["amount"]))
            for s in stock
            if Decimal(str(s["amount"])) != 0
        },
        sorted(k for k, n in counts.items() if n > 1),
    )


def compare(view: Any, expected: Any) -> list[str]:
    problems = []
    if view.duplicates:
        problems.append(f"{len(view.duplicates)} duplicate xmlIds")
    got = {k: (t, a, p) for k, (t, _, a, p) in view.elements.items()}
    want = {k: (t, a, p) for k, (t, _, a, p) in expected.elements.items()}
    if got != want:
        problems.append(
            f"elements differ: {len(set(got) ^ set(want))} keys, {sum(got.get(k) != v for k, v in want.items())} values"
        )
    if view.prices != expected.prices:
        problems.append(
            f"prices differ: {sum(view.prices.get(k) != v for k, v in expected.prices.items())} of {len(expected.prices)}"
        )
    if view.stock != expected.stock:
        problems.append(
            f"stock differs: {sum(view.stock.get(k) != v for k, v in expected.stock.items())} of {len(expected.stock)}"
        )
    return problems


def in_clock(clock: str, factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    return run_virtual(main(), start=time.time()) if clock == "virtual" else asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--clock", choices=("real", "virtual"), default="real")
    parser.add_argument("--faults", action="store_true", help="10%% 5xx and 2%% lost answers")
    parser.add_argument("--workdir", type=Path, help="keep files here (default: a temporary folder)")
    parser.add_argument(
        "--cost",
        type=float,
        default=0.004,
        help="simulated execution seconds per command (operating-time limit: 480 s per method per 10 min)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cml-push-") as tmp:
        root = args.workdir or Path(tmp)
        spec = CatalogSpec(products=args.products, price_types=2, warehouses=3, seed=24)
        log(f"generating {args.products:,} products ...")
        catalog = generate_catalog(root / "cml", spec)
        files = [(f.path.name, f.path) for f in catalog.files]
        url = f"sqlite+aiosqlite:///{root}/bench.db"
        import_seconds = asyncio.run(send_package(root / "data", url, files))
        log(f"1C exchange: {import_seconds:.0f} s")
        run_holder: dict[str, Run] = {}

        async def first() -> tuple[PushReport, float, int]:
            run_holder["run"] = Run(args.faults, args.cost)
            return await push(run_holder["run"], url)

        report, elapsed, parked = in_clock(args.clock, first)
        run = run_holder["run"]
        rejected = run.portal.stats.rejected
        first_requests = run.portal.stats.requests
        fired = {fault: sum(1 for _, f in run.portal.faults.log if f is fault) for fault in Fault}
        log(f"push: {report.calls} calls, {report.commands} commands in {elapsed:.0f} s ({args.clock} clock)")
        run.portal.faults.clear()
        view = in_clock(args.clock, lambda: read_back(run.client))
        problems = compare(view, expected_from_files([p for _, p in files]))
        log(f"read back: {'equal' if not problems else problems}")

        writes_before = write_calls(run.portal.stats.as_json())
        requests_before = run.portal.stats.requests
        asyncio.run(send_package(root / "data", url, files))
        again, _, _ = in_clock(args.clock, lambda: push(run, url))
        same_writes = write_calls(run.portal.stats.as_json()) - writes_before
        same_requests = run.portal.stats.requests - requests_before

        offers_file = next(p for _, p in files if p.name.startswith("offers"))
        changed = change_prices(offers_file, 0.01, random.Random(7))
        asyncio.run(send_package(root / "data", url, files))
        requests_before = run.portal.stats.requests
        one_pct, _, _ = in_clock(args.clock, lambda: push(run, url))
        one_pct_requests = run.portal.stats.requests - requests_before
        view2 = in_clock(args.clock, lambda: read_back(run.client))
        problems2 = compare(view2, expected_from_files([p for _, p in files]))
        elements = len(expected_from_files([p for _, p in files]).elements)

    bucket = 2.0
    calls_rate = report.calls / elapsed
    print(
        f"| products | elements | jobs | calls | commands | push time ({args.clock}) | calls/s | commands/s | of 2 req/s x 50 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.products:,} | {elements:,} | {report.done:,} | {report.calls:,} | {report.commands:,} | "
        f"{elapsed:.0f} s | {calls_rate:.2f} | {report.commands / elapsed:.1f} | "
        f"{report.commands / elapsed / (bucket * 50):.0%} |"
    )
    print()
    print(f"* 1C exchange of the package (replay over HTTP into SQLite): {import_seconds:.0f} s")
    print(
        f"* rate-limit refusals: {rejected}; parked jobs: {parked}; faults: {'10% 5xx + 2% lost' if args.faults else 'none'}; simulated cost {args.cost} s per command"
    )
    if args.faults:
        print(
            f"* faults fired in the first push: {fired[Fault.INTERNAL_ERROR]} × 500, "
            f"{fired[Fault.LOST_RESPONSE]} answers lost after the write, of {first_requests} requests "
            "(each lost answer costs the client's 30 s timeout)"
        )
    print(f"* read back through REST: {'equal, no duplicates' if not problems else '; '.join(problems)}")
    print(f"* same package again: {again.done} jobs, {same_writes} write commands, {same_requests} requests")
    print(
        f"* 1% of prices changed ({changed} offers): {one_pct.done} jobs in {one_pct_requests} requests "
        f"(limit ceil({changed}/50)+2 = {math.ceil(changed / 50) + 2}); read back: "
        f"{'equal' if not problems2 else '; '.join(problems2)}"
    )
    return 0 if not problems and not problems2 and same_writes == 0 and parked == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
