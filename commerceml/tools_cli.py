"""CLI sub-commands for integrators and benchmarks: ``generate-catalog`` and ``validate``.

``cml-exchange generate-catalog --products N ... --out DIR`` writes a realistic catalog (see
:mod:`commerceml.generator`) and prints the files with their counts; the last line is one JSON
object (``files``: path, role and counts of each file; ``totals``).

``cml-exchange validate FILE [--schema-dir DIR]`` checks a file against the official XSD of the
version it declares (see :mod:`commerceml.schema`) and lists every violation with its line and
path. Exit codes: 0 valid, 1 invalid, 2 unreadable file or no schema found.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from commerceml.errors import CommerceMLError
from commerceml.generator import CatalogForm, CatalogSpec, generate_catalog
from commerceml.schema import SCHEMA_DIR_ENV, validate

__all__ = ["register", "run_generate_catalog", "run_validate"]

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_ERROR = 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``generate-catalog`` and ``validate`` to the cml-exchange parser."""
    gen = sub.add_parser(
        "generate-catalog",
        help="write a realistic generated CommerceML catalog (tests, benchmarks)",
        description="Write a realistic CommerceML catalog: classic import.xml + offers.xml (2.08) "
        "or the 3.1 split package. Deterministic for a given --seed.",
    )
    gen.add_argument("--products", type=int, required=True, metavar="N", help="number of products")
    gen.add_argument(
        "--characteristics-share",
        type=float,
        default=0.2,
        metavar="SHARE",
        help="share of products sold as characteristics (variants); default 0.2",
    )
    gen.add_argument(
        "--characteristics-per-product",
        type=int,
        default=3,
        metavar="C",
        help="offers per product with characteristics; default 3",
    )
    gen.add_argument("--price-types", type=int, default=2, metavar="P", help="default 2")
    gen.add_argument("--warehouses", type=int, default=2, metavar="W", help="default 2")
    gen.add_argument("--groups", type=int, default=40, metavar="G", help="classifier groups; default 40")
    gen.add_argument(
        "--properties", type=int, default=6, metavar="K", help="classifier properties; default 6"
    )
    gen.add_argument(
        "--description-sentences",
        type=int,
        default=2,
        metavar="S",
        help="mean description length of described products; tunes the size (default 2)",
    )
    gen.add_argument("--form", choices=[f.value for f in CatalogForm], default=CatalogForm.CLASSIC.value)
    gen.add_argument("--encoding", choices=["utf-8", "windows-1251"], default="utf-8")
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    gen.set_defaults(run=run_generate_catalog)

    val = sub.add_parser(
        "validate",
        help="check a CommerceML file against the official XSD of its version",
        description="Validate FILE against the official CommerceML XSD of the version it declares "
        "(ВерсияСхемы) and list every violation with its line and path. "
        "Exit 0 valid, 1 invalid, 2 unreadable file or no schema found.",
    )
    val.add_argument("file", type=Path, metavar="FILE")
    val.add_argument(
        "--schema-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"folder holding the official XSDs (searched recursively); default ${SCHEMA_DIR_ENV}",
    )
    val.set_defaults(run=run_validate)


def run_generate_catalog(args: argparse.Namespace) -> int:
    try:
        spec = CatalogSpec(
            products=args.products,
            characteristics_share=args.characteristics_share,
            characteristics_per_product=args.characteristics_per_product,
            price_types=args.price_types,
            warehouses=args.warehouses,
            groups=args.groups,
            properties=args.properties,
            description_sentences=args.description_sentences,
            form=CatalogForm(args.form),
            encoding=args.encoding,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"generate-catalog: {exc}", file=sys.stderr)
        return EXIT_ERROR
    started = time.perf_counter()
    try:
        catalog = generate_catalog(args.out, spec)
    except OSError as exc:
        print(f"generate-catalog: cannot write to {args.out}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    elapsed = time.perf_counter() - started
    files = []
    for item in catalog.files:
        size = item.path.stat().st_size
        print(f"{item.path}  {item.role.value}  {size:,} bytes")
        files.append(
            {
                "path": str(item.path),
                "role": item.role.value,
                "bytes": size,
                "counts": {**item.counts.inspect_counts(), "stock_rows": item.counts.stock_rows},
            }
        )
    print(
        f"{catalog.products:,} products, {catalog.offers:,} offers, {catalog.prices:,} prices, "
        f"{catalog.stock_rows:,} stock rows, {catalog.total_bytes / 1e6:.1f} MB in {elapsed:.1f} s"
    )
    totals = {
        "products": catalog.products,
        "offers": catalog.offers,
        "prices": catalog.prices,
        "stock_rows": catalog.stock_rows,
        "groups": catalog.groups,
        "properties": catalog.properties,
        "price_types": catalog.price_types,
        "warehouses": catalog.warehouses,
        "characteristic_offers": catalog.characteristic_offers,
        "bytes": catalog.total_bytes,
    }
    print(
        json.dumps(
            {
                "form": spec.form.value,
                "encoding": spec.encoding,
                "seed": spec.seed,
                "files": files,
                "totals": totals,
            },
            ensure_ascii=False,
        )
    )
    return 0


def run_validate(args: argparse.Namespace) -> int:
    try:
        result = validate(args.file, args.schema_dir)
    except CommerceMLError as exc:
        print(f"validate: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{result.source}: CommerceML {result.schema_version}, schema {result.schema.path}")
    for note in result.notes:
        print(f"note: {note}")
    for violation in result.violations:
        print(violation)
    if result.valid:
        print("valid")
        return EXIT_VALID
    print(f"invalid: {len(result.violations)} violation(s)")
    return EXIT_INVALID
