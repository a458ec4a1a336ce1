"""End-to-end exchange benchmark: a generated catalog through HTTP into a real ``cml-exchange serve``.

Run (not a pytest test)::

    python -m tests.benchmarks.bench_exchange --products 100000 --runs 3 [--backend sqlite ...]

Per run and backend: a fresh data directory and database (a SQLite file / a new PostgreSQL
database), a ``cml-exchange serve`` subprocess on loopback, and ``exchange_server.replay`` acting as
the 1C node (checkauth, init, the files uploaded in ``file_limit`` chunks, the import loop). Measured:

* ``first``: the whole exchange (first request to the last ``success``), split into upload and
  import; the number of HTTP requests;
* ``resent``: the same unchanged package again in a new exchange session;
* the server's peak memory (``VmHWM`` of its process, read from ``/proc`` before it stops);
* the slowest answer to a trivial request sent every 100 ms during the exchange (event-loop stalls);
* the product count the operator API reports afterwards (checked against the generator's).

A bare ``lxml.etree.iterparse`` pass over the same files (``bench_reader``'s baseline) runs in its
own subprocess in the same run, before each backend, so load from other work falls on both. The
median of the runs goes to stdout as markdown; single runs to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.benchmarks.bench_reader import DEFAULT_DIR, REPO, ensure_catalog, log

PG_URL = os.environ.get("CML_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
USER, PASSWORD = "bench", "bench-password"
LISTENING = re.compile(r"listening on (http://\S+)")


async def _admin(statement: str) -> None:
    from sqlalchemy import text

    from exchange_server.db.engine import make_engine

    engine = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def baseline(files: list[str]) -> float:
    code = (
        "import sys, time\n"
        "from tests.benchmarks.bench_reader import work_baseline\n"
        "t = time.perf_counter(); work_baseline(sys.argv[1:]); print(time.perf_counter() - t)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *files], cwd=REPO, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in task.read_text().split()]
        except OSError:
            pass
    return found


async def watch_children(pid: int, stop: asyncio.Event) -> float:
    """Largest peak memory (MB) of any child of ``pid`` (the parser processes), sampled every 50 ms."""
    worst = 0.0
    while not stop.is_set():
        for child in children_of(pid):
            try:
                worst = max(worst, peak_mb(child))
            except OSError:
                pass  # ended meanwhile
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.05)
        except TimeoutError:
            pass
    return worst


async def probe(base: str, stop: asyncio.Event) -> float:
    """Longest answer time of a trivial request (an unknown path: no database) sent every 100 ms.

    Shows whether the server's event loop stays responsive while it imports.
    """
    import aiohttp

    worst = 0.0
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            started = time.perf_counter()
            async with http.get(f"{base}/bench-probe") as response:
                await response.read()
            worst = max(worst, time.perf_counter() - started)
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.1)
            except TimeoutError:
                pass
    return worst


async def exchange(url: str, files: list[str]) -> dict[str, Any]:
    """One catalog exchange as 1C runs it; times the upload and the import phases."""
    import aiohttp

    from exchange_server.replay import ReplayNode

    timeout = aiohttp.ClientTimeout(total=3600)
    stop = asyncio.Event()
    prober = asyncio.create_task(probe(url.rsplit("/", 1)[0], stop))
    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:
        node = ReplayNode(http, url, USER, PASSWORD, report=lambda _line: None)
        started = time.perf_counter()
        await node.checkauth("catalog")
        await node.init("catalog", None)
        for name in files:
            data = await asyncio.to_thread(Path(name).read_bytes)
            await node.upload("catalog", Path(name).name, data)
            del data
        uploaded = time.perf_counter()
        for name in files:
            answer = await node.import_file("catalog", Path(name).name)
            if not answer.startswith("success"):
                raise RuntimeError(f"import of {name}: {answer}")
        finished = time.perf_counter()
    stop.set()
    return {
        "max_probe_ms": (await prober) * 1000,
        "seconds": finished - started,
        "upload": uploaded - started,
        "import": finished - uploaded,
        "requests": len(node.steps),
    }


async def product_total(base: str) -> int:
    import aiohttp

    headers = {"Authorization": aiohttp.encode_basic_auth(USER, PASSWORD)}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{base}/api/products", params={"limit": "1"}) as response:
            return int((await response.json())["total"])


async def run_backend(backend: str, files: list[str]) -> dict[str, Any]:
    from sqlalchemy import make_url

    database: str | None = None
    with tempfile.TemporaryDirectory(prefix="cml-bench-exchange-") as tmp:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp}/exchange.db"
        else:
            database = f"cml_bench_{uuid.uuid4().hex[:10]}"
            await _admin(f'CREATE DATABASE "{database}"')
            url = make_url(PG_URL).set(database=database).render_as_string(hide_password=False)
        env = {
            **os.environ,
            "CML_DATA_DIR": f"{tmp}/data",
            "CML_DATABASE_URL": url,
            "CML_EXCHANGE_USER": USER,
            "CML_EXCHANGE_PASSWORD": PASSWORD,
            "CML_ADMIN_USER": USER,
            "CML_ADMIN_PASSWORD": PASSWORD,
            "CML_ZIP": "false",
        }
        server = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "exchange_server", "serve", "--port", "0"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert server.stdout is not None
            line = (await server.stdout.readline()).decode()
            found = LISTENING.search(line)
            if found is None:
                raise RuntimeError(f"server did not start: {line!r}")
            endpoint = found.group(1)
            base = endpoint.rsplit("/", 1)[0]
            stop_watch = asyncio.Event()
            watcher = asyncio.create_task(watch_children(server.pid, stop_watch))
            first = await exchange(endpoint, files)
            resent = await exchange(endpoint, files)
            stop_watch.set()
            parser_mb = await watcher
            total = await product_total(base)
            memory = peak_mb(server.pid)
        finally:
            server.terminate()
            try:
                await asyncio.wait_for(server.wait(), timeout=60)
            except TimeoutError:
                server.kill()
                await server.wait()
            if database is not None:
                await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return {"first": first, "resent": resent, "products": total, "peak_mb": memory, "parser_peak_mb": parser_mb}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_exchange", description=__doc__)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--encoding", default="utf-8", choices=("utf-8", "windows-1251"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgresql"))
    args = parser.parse_args(argv)

    info = ensure_catalog(args.dir, args.products, args.encoding)
    files: list[str] = list(info["files"])
    backends: list[str] = args.backend or ["sqlite", "postgresql"]
    results: dict[str, list[dict[str, Any]]] = {b: [] for b in backends}
    for run in range(args.runs):
        for backend in backends:
            base_s = baseline(files)
            got = asyncio.run(run_backend(backend, files))
            got["baseline"] = base_s
            if got["products"] != info["products"]:
                raise SystemExit(
                    f"{backend}: the API shows {got['products']} products, not {info['products']}"
                )
            results[backend].append(got)
            log(f"run {run + 1} {backend}: {json.dumps(got)}")

    def med(rows: list[dict[str, Any]], *path: str) -> float:
        values = []
        for row in rows:
            value: Any = row
            for key in path:
                value = value[key]
            values.append(float(value))
        return statistics.median(values)

    size_mb = info["bytes"] / 1e6
    print(f"Catalog: {info['products']:,} products, {info['offers']:,} offers, {size_mb:.0f} MB; ")
    print(f"median of {args.runs} runs.\n")
    print(
        "| backend | lxml iterparse | first exchange | upload | import | x baseline | requests "
        "| re-sent | re-sent / first | server peak | parser peak | slowest probe |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for backend, rows in results.items():
        ratios = [r["first"]["seconds"] / r["baseline"] for r in rows]
        resent_ratios = [r["resent"]["seconds"] / r["first"]["seconds"] for r in rows]
        print(
            f"| {backend} | {med(rows, 'baseline'):.1f} s | {med(rows, 'first', 'seconds'):.1f} s "
            f"| {med(rows, 'first', 'upload'):.1f} s | {med(rows, 'first', 'import'):.1f} s "
            f"| {statistics.median(ratios):.1f}x | {med(rows, 'first', 'requests'):.0f} "
            f"| {med(rows, 'resent', 'seconds'):.1f} s | {statistics.median(resent_ratios):.2f} "
            f"| {max(r['peak_mb'] for r in rows):.0f} MB | {max(r['parser_peak_mb'] for r in rows):.0f} MB "
            f"| {max(max(r['first']['max_probe_ms'], r['resent']['max_probe_ms']) for r in rows):.0f} ms |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
