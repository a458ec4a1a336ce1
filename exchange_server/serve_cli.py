"""Sub-commands ``cml-exchange serve`` (the exchange server) and ``cml-exchange replay`` (a 1C node).

::

    cml-exchange serve [--host H] [--port P] [--config FILE]
    cml-exchange replay FILES... --url URL --user U --password P [--zip] [--version 3.1] [--base DIR]
    cml-exchange replay --sale-query --url URL --user U --password P [--output FILE] [--no-success]
    cml-exchange replay --sale-upload FILE --url URL --user U --password P [--version 3.1]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Final, TextIO

import aiohttp
from aiohttp import web
from pydantic import ValidationError

from exchange_server.app import make_app, server_options
from exchange_server.memory import limit_malloc_arenas
from exchange_server.replay import (
    ExchangeFailed,
    Progress,
    ReplayNode,
    exchange_names,
    replay_catalog,
    sale_query,
    sale_upload,
)
from exchange_server.settings import GENERATED_PASSWORD_FILE, Settings, ensure_passwords
from exchange_server.telemetry import configure_logging

__all__ = ["TerminalProgress", "register", "render_progress"]

DEFAULT_PORT: Final = 8080
LISTENING: Final = "cml-exchange listening on http://{host}:{port}/1c_exchange"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` and ``replay`` to the cml-exchange parser."""
    serve = sub.add_parser("serve", help="run the 1C exchange server", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0: any free")
    serve.add_argument("--config", type=Path, help="TOML file with settings (environment CML_* wins)")
    serve.set_defaults(run=run_serve)

    replay = sub.add_parser("replay", help="act as a 1C node: replay CommerceML files against a server")
    replay.add_argument("files", nargs="*", type=Path, help="catalog files in import order (and images)")
    replay.add_argument("--url", required=True, help="exchange URL, e.g. http://127.0.0.1:8080/1c_exchange")
    replay.add_argument("--user", required=True)
    replay.add_argument("--password", required=True)
    replay.add_argument("--zip", action="store_true", help="send the files as one zip archive")
    replay.add_argument("--version", help="CommerceML version sent at init (3.1: deactivate + complete)")
    replay.add_argument("--base", type=Path, help="name files relative to this folder (keeps sub-folders)")
    replay.add_argument("--sale-query", action="store_true", help="fetch orders (query, then success)")
    replay.add_argument("--no-success", action="store_true", help="with --sale-query: do not confirm")
    replay.add_argument("--output", type=Path, help="with --sale-query: write the XML here (else stdout)")
    replay.add_argument("--sale-upload", type=Path, metavar="FILE", help="send an orders file from 1C")
    replay.add_argument("--timeout", type=float, default=600.0, help="seconds per request (default 600)")
    replay.set_defaults(run=run_replay)


# --- serve ---------------------------------------------------------------------------------------


def run_serve(args: argparse.Namespace) -> int:
    try:
        settings = Settings.load(args.config)
    except (FileNotFoundError, ValidationError, ValueError) as exc:
        print(f"cml-exchange serve: bad configuration: {exc}", file=sys.stderr)
        return 2
    settings, generated = ensure_passwords(settings)
    if generated:
        print(
            f"Generated password (1C user '{settings.exchange_user}', operator '{settings.admin_user}'): "
            f"{generated}\n  shown only now (only its hash is kept, in "
            f"{settings.data_dir / GENERATED_PASSWORD_FILE}); set CML_EXCHANGE_PASSWORD / CML_ADMIN_PASSWORD "
            "to choose your own.",
            flush=True,
        )
    configure_logging(settings.log_format)
    limit_malloc_arenas()  # before any thread starts (exchange_server.memory)
    asyncio.run(_serve(settings, args.host, args.port))
    return 0


async def _serve(settings: Settings, host: str, port: int) -> None:
    runner = web.AppRunner(make_app(settings), access_log=None, **server_options(settings))
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        print(LISTENING.format(host=host, port=bound), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


# --- replay --------------------------------------------------------------------------------------


def run_replay(args: argparse.Namespace) -> int:
    if not args.files and not args.sale_query and args.sale_upload is None:
        print("cml-exchange replay: give FILES, --sale-query or --sale-upload FILE", file=sys.stderr)
        return 2
    missing = [p for p in [*args.files, *([args.sale_upload] if args.sale_upload else [])] if not p.is_file()]
    if missing:
        print(f"cml-exchange replay: no such file: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_replay(args))
    except ExchangeFailed as exc:
        print(f"exchange failed: {exc}", file=sys.stderr)
        return 1
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"cannot talk to {args.url}: {exc!r}", file=sys.stderr)
        return 1


async def _replay(args: argparse.Namespace) -> int:
    bar = TerminalProgress(sys.stderr)
    try:
        return await _replay_with(args, bar)
    finally:
        bar.close()


async def _replay_with(args: argparse.Namespace, bar: TerminalProgress) -> int:
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    report = bar.print if bar.enabled else _report
    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:

        def node() -> ReplayNode:
            progress = bar if bar.enabled else None
            return ReplayNode(http, args.url, args.user, args.password, report=report, progress=progress)

        if args.files:
            try:
                files = exchange_names(args.files, args.base)
            except ValueError as exc:
                print(f"cml-exchange replay: a file is outside --base: {exc}", file=sys.stderr)
                return 2
            await replay_catalog(node(), files, use_zip=args.zip, version=args.version)
            bar.close()
            print("catalog exchange finished: success")
        if args.sale_upload is not None:
            remarks = await sale_upload(node(), args.sale_upload.name, args.sale_upload, version=args.version)
            bar.close()
            print("orders upload finished: success")
            for remark in remarks:
                print(f"  remark: {remark}")
        if args.sale_query:
            body = await sale_query(node(), confirm=not args.no_success, version=args.version)
            if args.output:
                args.output.write_bytes(body)
                print(f"orders written to {args.output} ({len(body)} bytes)")
            else:
                sys.stdout.buffer.write(body)
                sys.stdout.flush()
    return 0


def _report(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --- progress bar --------------------------------------------------------------------------------

BAR_WIDTH: Final = 30


def _kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB" if size >= 10 * 1024 else f"{size} B"


def render_progress(event: Progress, width: int = BAR_WIDTH) -> str:
    """One line: ``upload import.xml [#####.....]  45%  120 KiB/260 KiB`` or ``import x.xml: step 3``."""
    if event.phase == "upload" and event.total is not None:
        share = event.done / event.total if event.total else 1.0
        filled = min(width, int(width * share))
        return (
            f"upload {event.name} [{'#' * filled}{'.' * (width - filled)}] {share:4.0%}"
            f"  {_kib(event.done)}/{_kib(event.total)}"
        )
    state = "done" if event.finished else f"step {event.done}"
    message = " ".join(event.message.split())[:60]
    return f"import {event.name}: {state}" + (f"  {message}" if message else "")


class TerminalProgress:
    """A progress line on ``out`` redrawn in place (``\\r``), only when ``out`` is a terminal.

    Off a terminal it stays silent (``enabled`` is False) and the replay prints its usual lines.
    """

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.enabled = out.isatty()
        self.shown = ""

    def __call__(self, event: Progress) -> None:
        if not self.enabled:
            return
        self.shown = render_progress(event)
        self.out.write("\r\x1b[K" + self.shown)
        self.out.flush()

    def print(self, line: str) -> None:
        """A message line above the bar (the bar is redrawn under it)."""
        if not self.enabled:
            _report(line)
            return
        self.out.write("\r\x1b[K" + line + "\n" + self.shown)
        self.out.flush()

    def close(self) -> None:
        if self.enabled and self.shown:
            self.out.write("\r\x1b[K")
            self.out.flush()
        self.shown = ""
