"""Load scenario: many 1C nodes exchanging catalogs and orders at once, then a burst of order uploads.

Run (exits non-zero when anything is lost, duplicated, corrupted or failed)::

    python -m tests.load.run_load                         # full: 20 nodes, 200 uploads, 3 modes
    python -m tests.load.run_load --nodes 4 --uploads 40 --products 60 --mode pg-2

Per mode, against fresh server processes on a fresh database (``tests/load/harness.py``):

1. ``--site-orders`` orders are stored as placed on the site (``mode=query`` must hand them out);
2. exchange phase: ``--nodes`` 1C nodes at once, each with its own session and packages, each running
   its catalog exchange (changes-only import.xml + offers.xml: its own products, the shared classifier
   and a block of products every node sends) and, at the same time, its orders exchange (query,
   success, upload of its own orders);
3. burst phase: ``--uploads`` order uploads start together (half classic ``mode=file``, half step-wise
   ``mode=file`` + ``mode=import``), each with distinct orders;
4. checks (``tests/load/verify.py``): every group, property, price type, warehouse, product, offer,
   price, stock row and order of every node present exactly once with the content of its source
   file; no row nobody sent; site orders confirmed; query answers without duplicates or echoes; the
   journal holds every request, session, package and imported file, none failed; no warning or error
   in any server log.

Modes: ``pg-1`` one server process on PostgreSQL; ``pg-2`` two processes on one PostgreSQL database,
each node kept on one process (sticky, as docs/operations.md recommends); ``pg-2-rr`` two processes
with every request of every node sent to the other process than the one before (no stickiness at all);
``sqlite-1`` one process on SQLite.

Reported per mode: wall time of each phase and in total, time per request as the nodes saw it
(median, p95, max per exchange type and mode), and the peak memory (``VmHWM``) of each server process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy.ext.asyncio import async_sessionmaker

from exchange_server.db.engine import make_engine
from exchange_server.store.orders import FROM_SITE, save_orders
from tests.load.data import LoadData, expected_from_files, make_load_data
from tests.load.harness import (
    QueryAnswer,
    Recorder,
    Server,
    node_exchange,
    order_upload,
    running_servers,
    server_problems,
    summarize,
)
from tests.load.verify import check_journal, check_queries, check_store

__all__ = ["MODES", "LoadConfig", "ModeResult", "main", "run_load"]

MODES: Final = {  # name -> (backend, processes, per-request round robin)
    "pg-1": ("postgresql", 1, False),
    "pg-2": ("postgresql", 2, False),
    "pg-2-rr": ("postgresql", 2, True),
    "sqlite-1": ("sqlite", 1, False),
}
DEFAULT_MODES: Final = ("pg-1", "pg-2", "pg-2-rr")


@dataclass(frozen=True, slots=True)
class LoadConfig:
    nodes: int = 20
    products: int = 1000
    shared_products: int = 100
    orders_per_node: int = 5
    uploads: int = 200
    orders_per_upload: int = 2
    site_orders: int = 50
    file_limit: int = 256 * 1024
    step_seconds: float = 2.0
    zip: bool = False  # catalogs sent as one zip archive per node (zip=yes at init)


@dataclass(slots=True)
class ModeResult:
    mode: str
    wall_s: dict[str, float] = field(default_factory=dict)  # exchange, burst, total
    requests: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # phase -> summary
    peak_mb: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def _seed_site_orders(url: str, data: LoadData) -> None:
    engine = make_engine(url)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            await save_orders(session, data.site_orders, source=FROM_SITE)
    finally:
        await engine.dispose()


def _urls(servers: Sequence[Server], index: int, round_robin: bool) -> list[str]:
    """Sticky: the one server of this node; round robin: all servers, starting at this node's one."""
    first = index % len(servers)
    if not round_robin:
        return [servers[first].url]
    return [s.url for s in (*servers[first:], *servers[:first])]


async def _exchange_phase(
    recorder: Recorder,
    servers: Sequence[Server],
    data: LoadData,
    round_robin: bool,
    use_zip: bool,
    problems: list[str],
) -> list[QueryAnswer]:
    outcomes = await asyncio.gather(
        *(
            node_exchange(
                recorder,
                catalog.node,
                _urls(servers, catalog.node, round_robin),
                catalog.files,
                data.node_orders[catalog.node].path,
                use_zip=use_zip,
            )
            for catalog in data.catalogs
        ),
        return_exceptions=True,
    )
    answers = []
    for node, outcome in enumerate(outcomes):
        if isinstance(outcome, BaseException):
            problems.append(f"node {node}: {outcome!r}")
        else:
            answers.append(outcome)
    return answers


async def _burst_phase(
    recorder: Recorder, servers: Sequence[Server], data: LoadData, round_robin: bool, problems: list[str]
) -> None:
    barrier = asyncio.Barrier(len(data.burst_orders))

    async def one(index: int, path: Path) -> None:
        try:
            await order_upload(http, index, _urls(servers, index, round_robin), path, barrier)
        except BaseException:
            await barrier.abort()  # the others must not wait for this one forever
            raise

    async with recorder.session(limit=0) as http:
        outcomes = await asyncio.gather(
            *(one(i, f.path) for i, f in enumerate(data.burst_orders)), return_exceptions=True
        )
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, BaseException):
            problems.append(f"upload {index}: {outcome!r}")


async def run_mode(
    mode: str, data: LoadData, config: LoadConfig, workdir: Path, *, label: str | None = None
) -> ModeResult:
    backend, processes, round_robin = MODES[mode]
    result = ModeResult(label or mode)
    expected = await asyncio.to_thread(expected_from_files, data.catalog_paths(), data.order_paths())
    async with running_servers(
        processes,
        backend,
        workdir,
        file_limit=config.file_limit,
        step_seconds=config.step_seconds,
        zip=config.zip,
    ) as (url, servers):
        await _seed_site_orders(url, data)
        addresses = {s.address: s.index for s in servers}
        exchange, burst = Recorder(addresses), Recorder(addresses)
        started = time.perf_counter()
        answers = await _exchange_phase(exchange, servers, data, round_robin, config.zip, result.problems)
        exchanged = time.perf_counter()
        await _burst_phase(burst, servers, data, round_robin, result.problems)
        finished = time.perf_counter()
        result.wall_s = {
            "exchange": exchanged - started,
            "burst": finished - exchanged,
            "total": finished - started,
        }
        result.requests = {"exchange": summarize(exchange.timings), "burst": summarize(burst.timings)}
        result.problems += [f"client: {e}" for e in exchange.errors + burst.errors]
        result.problems += await check_store(url, expected, data.site_orders)
        result.problems += check_queries(((a.node, a.documents) for a in answers), data.site_orders)
        sent = Counter(t.mode for t in exchange.timings + burst.timings)
        result.problems += await check_journal(
            url,
            sent,
            catalog_files=sum(len(c.files) for c in data.catalogs),
            order_files=len(data.node_orders) + len(data.burst_orders),
        )
    result.peak_mb = [s.peak_mb for s in servers]
    result.problems += server_problems(servers)
    return result


BASELINE: Final = "pg-1, 1 node alone"


async def run_load(
    config: LoadConfig, modes: Sequence[str], workdir: Path, *, baseline: bool = False
) -> list[ModeResult]:
    """Generate the files once, then run every mode on its own database; returns the results.

    With ``baseline``, first the same work of one node alone (its exchange, one upload) on one
    process: the times under load are then also given as ratios to it, measured in the same run
    (the machine may be busy with other work).
    """
    run = uuid.uuid4().hex[:6]
    data = await asyncio.to_thread(
        make_load_data,
        workdir / "files",
        run=run,
        nodes=config.nodes,
        products=config.products,
        shared_products=config.shared_products,
        orders_per_node=config.orders_per_node,
        uploads=config.uploads,
        orders_per_upload=config.orders_per_upload,
        site_order_count=config.site_orders,
    )
    results = []
    if baseline:
        alone = LoadData(data.catalogs[:1], data.node_orders[:1], data.burst_orders[:1], data.site_orders)
        (workdir / "baseline").mkdir()
        results.append(await run_mode("pg-1", alone, config, workdir / "baseline", label=BASELINE))
    for mode in modes:
        mode_dir = workdir / mode
        mode_dir.mkdir()
        results.append(await run_mode(mode, data, config, mode_dir))
    return results


def render(results: Sequence[ModeResult], config: LoadConfig, files_mb: float) -> str:
    """The markdown report: one row per mode and phase."""
    lines = [
        f"{config.nodes} nodes x ({config.products} own + {config.shared_products} shared products, "
        f"{config.orders_per_node} orders), {config.site_orders} site orders, then {config.uploads} "
        f"concurrent uploads x {config.orders_per_upload} orders; {files_mb:.1f} MB of files; "
        f"file_limit {config.file_limit // 1024} KiB, step {config.step_seconds:g} s"
        + (", catalogs zipped." if config.zip else "."),
        "",
        "| mode | phase | wall | requests | median | p95 | max | median / alone | slowest mode (p95) "
        "| server peak RSS | outcome |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    alone = next((r for r in results if r.mode == BASELINE), None)
    for r in results:
        peak = " + ".join(f"{mb:.0f}" for mb in r.peak_mb) + " MB"
        outcome = "OK" if not r.problems else f"{len(r.problems)} problems"
        for phase in ("exchange", "burst"):
            summary = r.requests.get(phase, {})
            every = summary.get("all", {})
            modes = {k: v for k, v in summary.items() if k != "all"}
            slowest = max(modes.items(), key=lambda kv: kv[1]["p95_ms"], default=None)
            slow = f"{slowest[0]} {slowest[1]['p95_ms']:.0f} ms" if slowest else "-"
            base = alone.requests.get(phase, {}).get("all", {}).get("median_ms") if alone else None
            ratio = f"{every['median_ms'] / base:.1f}x" if base and every else "-"
            lines.append(
                f"| {r.mode} | {phase} | {r.wall_s.get(phase, float('nan')):.1f} s "
                f"| {every.get('count', 0):.0f} | {every.get('median_ms', float('nan')):.0f} ms "
                f"| {every.get('p95_ms', float('nan')):.0f} ms | {every.get('max_ms', float('nan')):.0f} ms "
                f"| {ratio} | {slow} | {peak} | {outcome} |"
            )
    lines.append("")
    lines.append("Per mode and request kind (median / p95 / max ms, count):")
    for r in results:
        for phase, summary in r.requests.items():
            parts = [
                f"{k} {v['median_ms']:.0f}/{v['p95_ms']:.0f}/{v['max_ms']:.0f} ({v['count']:.0f})"
                for k, v in sorted(summary.items())
                if k != "all"
            ]
            lines.append(f"- {r.mode} {phase} (total {r.wall_s.get('total', 0):.1f} s): " + "; ".join(parts))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load.run_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = LoadConfig()
    parser.add_argument("--nodes", type=int, default=defaults.nodes)
    parser.add_argument("--products", type=int, default=defaults.products, help="own products per node")
    parser.add_argument("--shared-products", type=int, default=defaults.shared_products)
    parser.add_argument("--orders-per-node", type=int, default=defaults.orders_per_node)
    parser.add_argument("--uploads", type=int, default=defaults.uploads, help="concurrent order uploads")
    parser.add_argument("--orders-per-upload", type=int, default=defaults.orders_per_upload)
    parser.add_argument("--site-orders", type=int, default=defaults.site_orders)
    parser.add_argument("--file-limit", type=int, default=defaults.file_limit)
    parser.add_argument("--step-seconds", type=float, default=defaults.step_seconds)
    parser.add_argument("--zip", action="store_true", help="catalogs as one zip archive per node")
    parser.add_argument(
        "--mode",
        action="append",
        choices=sorted(MODES),
        help="repeatable; default: " + ", ".join(DEFAULT_MODES),
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the run of one node alone (the ratio column)"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (files, server logs)")
    args = parser.parse_args(argv)
    config = LoadConfig(
        nodes=args.nodes,
        products=args.products,
        shared_products=args.shared_products,
        orders_per_node=args.orders_per_node,
        uploads=args.uploads,
        orders_per_upload=args.orders_per_upload,
        site_orders=args.site_orders,
        file_limit=args.file_limit,
        step_seconds=args.step_seconds,
        zip=args.zip,
    )
    workdir = Path(tempfile.mkdtemp(prefix="cml-load-"))
    try:
        results = asyncio.run(
            run_load(config, args.mode or DEFAULT_MODES, workdir, baseline=not args.no_baseline)
        )
        files_mb = sum(p.stat().st_size for p in (workdir / "files").rglob("*.xml")) / 1e6
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work directory kept: {workdir}", file=sys.stderr)
    print(render(results, config, files_mb))
    if args.json:
        payload: dict[str, Any] = {"config": asdict(config), "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    failed = [r for r in results if r.problems]
    for r in failed:
        print(f"\n{r.mode}: {len(r.problems)} problems", file=sys.stderr)
        for problem in r.problems:
            print(f"  {problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
