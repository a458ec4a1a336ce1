"""``cml-exchange b24 plan`` (print the pending diff) and ``cml-exchange b24 push`` (drain with a bar).

Both read the same settings as ``serve`` (``--config`` TOML, ``CML_*`` environment). ``plan`` needs
only the database; ``push`` also needs the portal (``CML_B24_WEBHOOK_URL`` or the OAuth settings)
and first enqueues the current plan, then drains the outbox, a progress bar on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from b24_bridge.errors import B24Error
from b24_bridge.sync.access import IDLE_MESSAGE, open_client
from b24_bridge.sync.images import ImageResolver
from b24_bridge.sync.pusher import Pusher, PushReport
from b24_bridge.sync.service import compute_plan, plan_and_enqueue
from exchange_server.db.engine import make_engine, upgrade_schema
from exchange_server.outbox import queue
from exchange_server.settings import Settings

__all__ = ["ProgressBar", "register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``b24 plan`` and ``b24 push`` to the cml-exchange parser."""
    b24 = sub.add_parser("b24", help="the Bitrix24 catalog bridge: plan and push", description=__doc__)
    commands = b24.add_subparsers(dest="b24_command", required=True, metavar="ACTION")
    plan = commands.add_parser("plan", help="print what the next push would change (nothing is sent)")
    plan.add_argument("--config", type=Path, help="TOML file with settings (environment CML_* wins)")
    plan.add_argument("--json", action="store_true", help="machine-readable output")
    plan.set_defaults(run=run_plan)
    push = commands.add_parser("push", help="enqueue the plan and push it to the portal")
    push.add_argument("--config", type=Path, help="TOML file with settings (environment CML_* wins)")
    push.add_argument("--retry-failed", action="store_true", help="first put parked jobs back in the queue")
    push.add_argument("--no-bar", action="store_true", help="no progress bar (a summary line only)")
    push.set_defaults(run=run_push)


def _settings(config: Path | None, command: str) -> Settings | None:
    try:
        return Settings.load(config)
    except (FileNotFoundError, ValidationError, ValueError) as exc:
        print(f"cml-exchange b24 {command}: bad configuration: {exc}", file=sys.stderr)
        return None


def run_plan(args: argparse.Namespace) -> int:
    settings = _settings(args.config, "plan")
    if settings is None:
        return 2
    return asyncio.run(_plan(settings, as_json=args.json))


async def _plan(settings: Settings, *, as_json: bool) -> int:
    url = settings.effective_database_url
    await upgrade_schema(url)
    engine = make_engine(url)
    try:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        plan = await compute_plan(
            sessionmaker, settings.b24, ImageResolver(settings.packages_dir / "catalog")
        )
        async with sessionmaker() as session:
            status = await queue.status(session)
    finally:
        await engine.dispose()
    if as_json:
        print(
            json.dumps(
                {
                    "jobs": len(plan.jobs),
                    "counts": plan.counts(),
                    "warnings": list(plan.warnings),
                    "outbox": status,
                },
                ensure_ascii=False,
            )
        )
    else:
        for line in plan.describe():
            print(line)
        print(
            f"outbox: {status['pending']} pending, {status['running']} running, {status['failed']} failed, "
            f"{status['done']} done; last push {status['last_push'] or 'never'}"
        )
    return 0


class ProgressBar:
    """``[#####.....] 1234/5000 jobs  12 failed  34 calls  1.9 calls/s`` redrawn in place on a terminal."""

    def __init__(self, total: int, out: TextIO = sys.stderr, width: int = 30) -> None:
        self.total = max(total, 1)
        self.out = out
        self.width = width
        self.tty = out.isatty()

    def __call__(self, report: PushReport) -> None:
        handled = report.done + report.failed
        filled = min(self.width, self.width * handled // self.total)
        rate = report.calls / report.seconds if report.seconds > 0 else 0.0
        line = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {report.done}/{self.total} pushed"
            f"  {report.failed} failed  {report.calls} calls  {rate:.2f} calls/s"
        )
        self.out.write(("\r" + line) if self.tty else line + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")


def run_push(args: argparse.Namespace) -> int:
    settings = _settings(args.config, "push")
    if settings is None:
        return 2
    try:
        return asyncio.run(_push(settings, retry_failed=args.retry_failed, bar=not args.no_bar))
    except B24Error as exc:
        print(f"cml-exchange b24 push: the portal refused: {exc}", file=sys.stderr)
        return 1


async def _push(settings: Settings, *, retry_failed: bool, bar: bool) -> int:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    url = settings.effective_database_url
    await upgrade_schema(url)
    engine = make_engine(url)
    try:
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        async with open_client(settings) as client:
            if client is None:
                print(IDLE_MESSAGE, file=sys.stderr)
                return 2
            if retry_failed:
                async with sessionmaker.begin() as session:
                    count = await queue.retry_failed(session, dt.datetime.now(dt.UTC))
                print(f"{count} parked jobs back in the queue", file=sys.stderr)
            images = ImageResolver(settings.packages_dir / "catalog")
            plan = await plan_and_enqueue(sessionmaker, settings.b24, images=images)
            for warning in plan.warnings:
                print(f"warning: {warning}", file=sys.stderr)
            async with sessionmaker() as session:
                status = await queue.status(session)
            progress = ProgressBar(status["pending"] + status["running"]) if bar else None
            pusher = Pusher(client, sessionmaker, settings.b24, progress=progress)
            report = await pusher.drain()
            if progress is not None:
                progress.close()
            async with sessionmaker() as session:
                status = await queue.status(session)
                failures = await queue.failed_jobs(session, limit=10)
    finally:
        await engine.dispose()
    rate = report.calls / report.seconds if report.seconds > 0 else 0.0
    print(
        f"pushed {report.done}, failed attempts {report.failed}, parked {status['failed']}; "
        f"{report.calls} calls, {report.commands} commands in {report.seconds:.1f} s ({rate:.2f} calls/s)"
    )
    for failure in failures:
        print(f"parked: {failure['kind']} {failure['key']}: {failure['error']}", file=sys.stderr)
    return 0 if status["failed"] == 0 else 1
