"""Import benchmark: a generated catalog into SQLite and PostgreSQL through ``CatalogImporter``.

Run (not a pytest test)::

    python -m tests.benchmarks.bench_import --products 100000 [--backend sqlite --backend postgresql]

The catalog comes from ``commerceml.generator`` (classic ``import.xml`` + ``offers.xml``; reused from
``bench-out/`` like ``bench_reader``). For each backend, in a fresh subprocess and a fresh database
(SQLite file / a new PostgreSQL database, migrated with ``upgrade_schema``), it measures:

* ``first``: importing every file, then ``finish_package``;
* ``resent``: the same package again (everything unchanged: only touches);
* the longest event-loop stall seen by a 10 ms ticker during the import (the parser runs in a worker
  thread, so this stays small);
* peak memory of the process (``ru_maxrss``).

A bare ``lxml.etree.iterparse`` over the same files (``bench_reader``'s baseline) is measured in the
same run for the ratio. The markdown table goes to stdout; progress to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.benchmarks.bench_reader import DEFAULT_DIR, REPO, ensure_catalog, log, work_baseline

HEADER = "| backend | first import | x baseline | re-sent | re-sent / first | max loop stall | peak memory |"
PG_URL = os.environ.get("CML_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


async def _admin(statement: str) -> None:
    from sqlalchemy import text

    from exchange_server.db.engine import make_engine

    engine = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _import_all(url: str, files: list[str], package: str) -> dict[str, Any]:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from exchange_server.db.engine import make_engine
    from exchange_server.importer import CatalogImporter

    engine = make_engine(url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    importer = CatalogImporter(maker)
    stall = 0.0
    running = True

    async def ticker() -> None:
        nonlocal stall
        loop = asyncio.get_running_loop()
        while running:
            before = loop.time()
            await asyncio.sleep(0.01)
            stall = max(stall, loop.time() - before - 0.01)

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    written: dict[str, int] = {}
    try:
        for name in files:
            result = await importer.import_file(Path(name), package_id=package, base_dir=Path(name).parent)
            for kind, n in result.written.items():
                written[kind] = written.get(kind, 0) + n
        finished = await importer.finish_package(package, deactivate_unseen=False)
    finally:
        running = False
        await tick
        await engine.dispose()
    return {
        "seconds": time.perf_counter() - started,
        "max_stall_ms": stall * 1000,
        "written": written,
        "deactivated": finished.deactivated,
    }


async def _run_backend(backend: str, files: list[str]) -> dict[str, Any]:
    from sqlalchemy import make_url

    from exchange_server.db.engine import upgrade_schema

    database: str | None = None
    with tempfile.TemporaryDirectory(prefix="cml-bench-") as tmp:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        else:
            database = f"cml_bench_{uuid.uuid4().hex[:10]}"
            await _admin(f'CREATE DATABASE "{database}"')
            url = make_url(PG_URL).set(database=database).render_as_string(hide_password=False)
        try:
            await upgrade_schema(url)
            first = await _import_all(url, files, "bench-1")
            resent = await _import_all(url, files, "bench-2")
        finally:
            if database is not None:
                await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return {"first": first, "resent": resent}


def worker(kind: str, files: list[str]) -> None:
    if kind == "baseline":
        started = time.perf_counter()
        result: dict[str, Any] = {"result": work_baseline(files)}
        result["seconds"] = time.perf_counter() - started
    else:
        result = asyncio.run(_run_backend(kind, files))
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(kind: str, files: list[str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "tests.benchmarks.bench_import", "--worker", kind, "--files", *files]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} measurement failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_import", description=__doc__)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--encoding", default="utf-8", choices=("utf-8", "windows-1251"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgresql"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, list(args.files or ()))
        return 0

    info = ensure_catalog(args.dir, args.products, args.encoding)
    files: list[str] = list(info["files"])
    log("baseline: lxml iterparse ...")
    baseline = measure("baseline", files)
    rows = []
    for backend in args.backend or ["sqlite", "postgresql"]:
        log(f"{backend}: first import + re-sent package ...")
        got = measure(backend, files)
        rows.append((backend, got))
        log(json.dumps(got))
    size_mb = info["bytes"] / 1e6
    print(f"Catalog: {info['products']:,} products, {info['offers']:,} offers, {size_mb:.0f} MB\n")
    print(f"Baseline lxml iterparse: {baseline['seconds']:.1f} s, peak {baseline['peak_mb']:.0f} MB\n")
    print(HEADER)
    print("|---|---:|---:|---:|---:|---:|---:|")
    for backend, got in rows:
        first, resent = got["first"], got["resent"]
        print(
            f"| {backend} | {first['seconds']:.1f} s | {first['seconds'] / baseline['seconds']:.1f} "
            f"| {resent['seconds']:.1f} s | {resent['seconds'] / first['seconds']:.2f} "
            f"| {max(first['max_stall_ms'], resent['max_stall_ms']):.0f} ms | {got['peak_mb']:.0f} MB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
