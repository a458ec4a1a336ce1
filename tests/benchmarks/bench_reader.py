"""Reader benchmark: reading a generated catalog into models vs a bare lxml iterparse pass.

Run (not a pytest test)::

    python -m tests.benchmarks.bench_reader --products 100000

It generates the catalog (100,000 products, 140,000 offers with the default 20% share of 3
characteristics, 2 price types, 2 warehouses; classic import.xml + offers.xml) into
``--dir`` (default ``bench-out/`` in the repository, reused when the same spec is already there),
then measures in the same run, each measurement in a fresh subprocess, ``--runs`` times
(median; baseline and models runs interleaved):

* baseline: ``lxml.etree.iterparse(events=("end",))`` over the same files, clearing every element
  and dropping finished siblings, touching nothing else;
* models: ``commerceml.reader.iter_file`` over the same files, every entity built.

It reports the time ratio models/baseline and the peak memory (``ru_maxrss`` of the measuring
subprocess) for each catalog size in ``--memory-at`` (default 10,000 and the ``--products``
value), to show memory is flat. The markdown table goes to stdout; progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from commerceml.generator import CatalogSpec, generate_catalog

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO / "bench-out"
MARKER = "catalog.json"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_catalog(root: Path, products: int, encoding: str) -> dict[str, Any]:
    """Generate the catalog of ``products`` into ``root/<products>-<encoding>`` unless already there."""
    spec = CatalogSpec(products=products, encoding=encoding)
    target = root / f"classic-{products}-{encoding}"
    marker = target / MARKER
    wanted = {"products": products, "encoding": encoding, "spec": repr(spec)}
    if marker.is_file():
        known = json.loads(marker.read_text())
        if known.get("wanted") == wanted and all(Path(p).is_file() for p in known["files"]):
            log(f"reusing {target} ({known['bytes'] / 1e6:.0f} MB)")
            return dict(known)
    log(f"generating {products:,} products into {target} ...")
    started = time.perf_counter()
    catalog = generate_catalog(target, spec)
    info = {
        "wanted": wanted,
        "files": [str(p) for p in catalog.paths],
        "bytes": catalog.total_bytes,
        "products": catalog.products,
        "offers": catalog.offers,
        "prices": catalog.prices,
        "seconds": time.perf_counter() - started,
    }
    marker.write_text(json.dumps(info))
    log(f"generated {catalog.total_bytes / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s")
    return info


# --- the measured work (runs inside a subprocess) --------------------------------------------------


def work_baseline(files: list[str]) -> dict[str, int]:
    from lxml import etree

    elements = 0
    for name in files:
        for _, elem in etree.iterparse(name, events=("end",), resolve_entities=False, huge_tree=True):
            elements += 1
            elem.clear(keep_tail=True)
            while elem.getprevious() is not None:
                del elem.getparent()[0]
    return {"elements": elements}


def work_models(files: list[str]) -> dict[str, int]:
    from commerceml.model import Offer, Product
    from commerceml.reader import iter_file

    kinds: Counter[str] = Counter()
    prices = 0
    for name in files:
        for entity in iter_file(name):
            kinds[type(entity).__name__] += 1
            if isinstance(entity, Offer) and entity.prices:
                prices += len(entity.prices)
            elif isinstance(entity, Product):
                pass
    return {
        "products": kinds["Product"],
        "offers": kinds["Offer"],
        "prices": prices,
        "entities": sum(kinds.values()),
    }


def worker(kind: str, files: list[str]) -> None:
    started = time.perf_counter()
    result = work_baseline(files) if kind == "baseline" else work_models(files)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024, "result": result}))


def measure(kind: str, files: list[str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "tests.benchmarks.bench_reader", "--worker", kind, "--files", *files]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} measurement failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def reader_available() -> bool:
    try:
        from commerceml.reader import iter_file  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.bench_reader", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument(
        "--memory-at",
        type=int,
        nargs="*",
        default=None,
        metavar="N",
        help="catalog sizes for the memory comparison (default: 10000 and --products)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--encoding", choices=["utf-8", "windows-1251"], default="utf-8")
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, help="where catalogs are generated and reused"
    )
    parser.add_argument("--worker", choices=["baseline", "models"], help=argparse.SUPPRESS)
    parser.add_argument("--files", nargs="*", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.files)
        return 0

    sizes = sorted(
        set(args.memory_at if args.memory_at is not None else [min(10_000, args.products), args.products])
    )
    kinds = ["baseline", "models"] if reader_available() else ["baseline"]
    if "models" not in kinds:
        log("commerceml.reader.iter_file is not available yet: measuring the baseline only")
    rows = []
    for products in sizes:
        info = ensure_catalog(args.dir, products, args.encoding)
        row: dict[str, Any] = {"products": products, "offers": info["offers"], "mb": info["bytes"] / 1e6}
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
        for run in range(args.runs):  # interleaved, so load drift on a shared machine hits both alike
            for kind in kinds:
                result = measure(kind, info["files"])
                seconds, peak = result["seconds"], result["peak_mb"]
                log(f"{products:,} {kind} run {run + 1}: {seconds:.1f} s, peak {peak:.0f} MB")
                runs[kind].append(result)
        for kind in kinds:
            row[kind] = {
                "seconds": statistics.median(r["seconds"] for r in runs[kind]),
                "peak_mb": max(r["peak_mb"] for r in runs[kind]),
                "result": runs[kind][0]["result"],
            }
        if "models" in row:
            got = row["models"]["result"]
            expected = (info["products"], info["offers"], info["prices"])
            if (got["products"], got["offers"], got["prices"]) != expected:
                raise SystemExit(f"reader counts {got} differ from the generated {expected}")
        rows.append(row)

    print(
        f"Reader benchmark: classic import.xml + offers.xml, {args.encoding}, "
        f"median of {args.runs} runs, each in a fresh process; {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}.\n"
    )
    header = (
        "| products | offers | size (MB) | lxml iterparse (s) | reader → models (s) | ratio "
        "| iterparse peak (MB) | reader peak (MB) |"
    )
    print(header)
    print("|" + "---:|" * 8)
    for row in rows:
        base = row["baseline"]
        models = row.get("models")
        model_s = f"{models['seconds']:.1f}" if models else "n/a"
        ratio = f"{models['seconds'] / base['seconds']:.2f}x" if models else "n/a"
        model_mb = f"{models['peak_mb']:.0f}" if models else "n/a"
        print(
            f"| {row['products']:,} | {row['offers']:,} | {row['mb']:.0f} | {base['seconds']:.1f} "
            f"| {model_s} | {ratio} | {base['peak_mb']:.0f} | {model_mb} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
