"""``cml-exchange inspect``: read a CommerceML file and say what it holds."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import IO

from commerceml.errors import CommerceMLError
from commerceml.jsonable import entity_kind, to_jsonable
from commerceml.reader import ReadSummary, iter_file

__all__ = ["register"]

_PROGRESS_MIN_BYTES = 32 * 1024 * 1024


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the commerceml sub-commands to the cml-exchange parser."""
    inspect = sub.add_parser(
        "inspect",
        help="read a CommerceML file and print what it holds",
        description="Read a CommerceML file (streaming) and print its role, version, encoding and counts.",
    )
    inspect.add_argument("file", type=Path, help="the CommerceML file (import.xml, offers.xml, orders ...)")
    mode = inspect.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="end with one JSON object (the summary)")
    mode.add_argument("--records", action="store_true", help="print one JSON line per entity instead")
    inspect.add_argument("--no-progress", action="store_true", help="never show the progress line on stderr")
    inspect.set_defaults(run=run_inspect)


def run_inspect(args: argparse.Namespace) -> int:
    path: Path = args.file
    summary = ReadSummary(filename=str(path))
    progress = _Progress(path, enabled=not args.no_progress)
    try:
        for entity in iter_file(path, summary=summary):
            progress.tick()
            if args.records:
                record = {"kind": entity_kind(entity), **to_jsonable(entity)}
                print(json.dumps(record, ensure_ascii=False))
    except CommerceMLError as exc:
        progress.done()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    progress.done()
    if args.records:
        return 0
    _print_summary(summary, sys.stdout)
    if args.json:
        print(json.dumps(summary.as_json(), ensure_ascii=False))
    return 0


def _print_summary(summary: ReadSummary, out: IO[str]) -> None:
    flag = {None: "not stated", True: "yes", False: "no (full package)"}[summary.changes_only]
    print(f"file:           {summary.filename}", file=out)
    print(f"role:           {summary.role}", file=out)
    print(f"schema version: {summary.schema_version or 'not stated'}", file=out)
    print(f"encoding:       {summary.encoding}", file=out)
    print(f"changes only:   {flag}", file=out)
    for key, value in summary.counts.items():
        print(f"  {key + ':':<13} {value}", file=out)
    for warning in summary.warnings:
        where = f"line {warning.line}: " if warning.line else ""
        print(f"warning: {where}{warning.message}", file=out)


class _Progress:
    """A one-line progress indicator on stderr for big files (only on a terminal)."""

    def __init__(self, path: Path, *, enabled: bool) -> None:
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0
        self._enabled = enabled and size >= _PROGRESS_MIN_BYTES and sys.stderr.isatty()
        self._count = 0
        self._last = 0.0
        self._start = time.monotonic()

    def tick(self) -> None:
        self._count += 1
        if not self._enabled or self._count % 1000:
            return
        now = time.monotonic()
        if now - self._last >= 0.5:
            self._last = now
            rate = self._count / max(now - self._start, 1e-6)
            print(f"\r{self._count:,} entities read ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self._enabled and self._count >= 1000:
            print(file=sys.stderr)
