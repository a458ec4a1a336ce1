"""``cml-exchange status-map show|check|set``: the invoice status-mapping table from the shell.

::

    cml-exchange status-map show  [--config FILE]          # the map in force (JSON), its journal
    cml-exchange status-map check [FILE] [--config FILE]   # FILE (or the stored map) vs the portal
    cml-exchange status-map set FILE [--by NAME] [--config FILE]

``check`` and ``set`` read the portal's stages through ``CML_B24_WEBHOOK_URL``. Exit codes: 0 fine,
1 the map has errors (each printed on stderr), 2 bad usage or configuration.
A running server reads the stored map when its ``PUT /api/status-map`` or its restart loads it; use
the API to change the map of a running server without a restart.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path

import aiohttp
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker

from b24_bridge.client import B24Client
from b24_bridge.errors import B24Error
from b24_bridge.invoices import store
from b24_bridge.invoices.portal import InvoicePortal
from b24_bridge.invoices.settings import InvoiceSettings
from b24_bridge.invoices.statusmap import Problem, StatusMap, check
from exchange_server.db.engine import make_engine, upgrade_schema
from exchange_server.settings import Settings

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "status-map",
        help="show, check or set the invoice status-mapping table",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="print the map in force and its journal")
    chk = actions.add_parser("check", help="validate a map file (or the stored map) against the portal")
    chk.add_argument("file", nargs="?", type=Path, help="JSON status map; default: the stored one")
    put = actions.add_parser("set", help="validate and store a map (journaled)")
    put.add_argument("file", type=Path, help="JSON status map")
    put.add_argument("--by", default=None, help="name recorded in the journal (default: the OS user)")
    for p in (show, chk, put):
        p.add_argument("--config", type=Path, help="TOML settings of the server (for the database)")
        p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except (ValidationError, ValueError, FileNotFoundError) as exc:
        print(f"status-map: {exc}", file=sys.stderr)
        return 2
    except B24Error as exc:
        print(f"status-map: the portal refused: {exc}", file=sys.stderr)
        return 2


def _read(path: Path) -> StatusMap:
    return StatusMap.model_validate(json.loads(path.read_text(encoding="utf-8")))


def _print(problems: list[Problem]) -> int:
    for problem in problems:
        print(f"{problem.level}: {problem.message}", file=sys.stderr)
    return 1 if any(p.level == "error" for p in problems) else 0


async def _problems(candidate: StatusMap, invoice: InvoiceSettings) -> list[Problem]:
    if not invoice.webhook_url:
        raise ValueError("CML_B24_WEBHOOK_URL is not set; the portal's stages cannot be read")
    async with aiohttp.ClientSession() as http:
        portal = InvoicePortal(B24Client.for_webhook(http, invoice.webhook_url), entity=candidate.entity)
        category = (
            candidate.category_id if candidate.category_id is not None else await portal.default_category()
        )
        return check(candidate, await portal.stages(category))


async def _run(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)
    invoice = InvoiceSettings()
    url = settings.effective_database_url
    await upgrade_schema(url)
    engine = make_engine(url)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        if args.action == "show":
            async with sessionmaker() as session:
                current = await store.load_map(session)
                history = await store.journal(session, limit=20)
            if current is None:
                print("no status map stored yet (the server creates one from the portal's stages on start)")
                return 0
            print(
                json.dumps(
                    {"map": current.model_dump(mode="json"), "journal": history}, ensure_ascii=False, indent=2
                )
            )
            return 0
        if args.action == "check":
            if args.file is not None:
                candidate = _read(args.file)
            else:
                async with sessionmaker() as session:
                    stored = await store.load_map(session)
                if stored is None:
                    print("status-map: no stored map to check", file=sys.stderr)
                    return 2
                candidate = stored
            code = _print(await _problems(candidate, invoice))
            if code == 0:
                print("ok")
            return code
        candidate = _read(args.file)
        if _print(await _problems(candidate, invoice)):
            return 1
        async with sessionmaker.begin() as session:
            change = await store.save_map(session, candidate, who=args.by or getpass.getuser())
        print(json.dumps({"diff": change}, ensure_ascii=False, indent=2))
        return 0
    finally:
        await engine.dispose()
