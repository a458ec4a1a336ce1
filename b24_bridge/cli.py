"""``cml-exchange fake-portal``: serve a fake Bitrix24 portal over HTTP for manual and integration tests.

The first line of output is the webhook URL ``http://H:P/rest/1/<code>/`` (a contract: scripts read it).

``--state FILE`` keeps the portal's data across restarts (the fault tests stop the portal and start it
again): read at start when the file exists, written on SIGTERM/SIGINT. The file is a pickle the fake
itself wrote; never point it at a file from elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import signal
import sys
from pathlib import Path

from aiohttp import web

from b24_bridge.fake.app import make_portal_app
from b24_bridge.fake.portal import PLANS, FakePortal, PortalConfig

__all__ = ["register", "run_fake_portal"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the b24_bridge sub-commands to the cml-exchange parser."""
    fake = sub.add_parser(
        "fake-portal",
        help="serve a fake Bitrix24 portal (REST, OAuth, limits, events) for tests",
        description="Serve an in-memory Bitrix24 portal. Prints its webhook URL on the first line.",
    )
    fake.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    fake.add_argument(
        "--port", type=int, default=8024, help="port to listen on (default 8024; 0 = any free port)"
    )
    fake.add_argument(
        "--plan",
        choices=sorted(PLANS),
        default="standard",
        help="limits of the plan: standard 2/s burst 50, enterprise 5/s burst 250, box none",
    )
    fake.add_argument(
        "--state",
        type=Path,
        help="keep the portal's data in this file: loaded at start if present, saved on SIGTERM/SIGINT",
    )
    fake.add_argument(
        "--inventory",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="inventory management (складской учёт): on = stock moves only by conducted documents and "
        "quantity is read-only; --no-inventory (default, as a fresh portal) = quantity writable",
    )
    fake.add_argument(
        "--cost",
        type=_cost,
        default=PortalConfig.default_cost,
        metavar="SECONDS",
        help="simulated execution time of every call, counted against the operating-time limit "
        f"(480 s per method per 10 min; default {PortalConfig.default_cost})",
    )
    fake.set_defaults(run=run_fake_portal)


def _cost(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 600:
        raise argparse.ArgumentTypeError(f"must be within 0..600 seconds, got {text}")
    return value


def _load_state(portal: FakePortal, path: Path) -> None:
    with open(path, "rb") as handle:
        portal.state = pickle.load(handle)  # noqa: S301 - the fake's own file (see the module doc)


def _save_state(portal: FakePortal, path: Path) -> None:
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as handle:
        pickle.dump(portal.state, handle)
    os.replace(part, path)


async def _serve(
    host: str,
    port: int,
    plan: str,
    state: Path | None = None,
    *,
    inventory: bool = False,
    cost: float = PortalConfig.default_cost,
) -> None:
    portal = FakePortal(PortalConfig(plan=plan, default_cost=cost))
    portal.state.inventory_mode = inventory
    if state is not None and await asyncio.to_thread(state.is_file):
        await asyncio.to_thread(_load_state, portal, state)
    app = make_portal_app(portal)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = port
    server = getattr(site, "_server", None)
    if server is not None and server.sockets:
        bound = server.sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"http://{shown}:{bound}{portal.webhook_path()}", flush=True)
    print(
        f"plan={plan} inventory={'on' if inventory else 'off'} cost={cost} "
        f"stats=http://{shown}:{bound}/_fake/stats oauth=http://{shown}:{bound}/oauth/token/",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        if state is not None:
            await asyncio.to_thread(_save_state, portal, state)


def run_fake_portal(args: argparse.Namespace) -> int:
    try:
        asyncio.run(
            _serve(args.host, args.port, args.plan, args.state, inventory=args.inventory, cost=args.cost)
        )
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    return 0
