"""Retention of uploaded package folders: ``<data_dir>/packages/<type>/<package id>``.

Every ``mode=init`` makes a folder that holds the files 1C sent; without retention they pile up
forever. The rules (``CML_KEEP_PACKAGES_DAYS``, ``CML_KEEP_PACKAGES_LAST``):

* a package is looked at only once it has been still for ``keep_packages_days`` (its journal row's
  last update); ``0`` turns retention off;
* the newest ``keep_packages_last`` packages of each exchange type are always kept, whatever their age;
* never removed: a package whose import runs in this process; a package that is the source of
  pictures of goods still in the store (the Bitrix24 push reads them from there);
* a failed package (an import or an upload that failed) is kept until a later package of the same type
  and 1C user finished well, so the operator can look at what 1C sent until the problem is solved;
* a package still receiving or importing that has been still that long was abandoned (1C gave up, or
  the server died) and is removed like a finished one.

Only folders are removed; the journal keeps its rows (the history of exchanges stays visible).
:func:`select_expired` is the pure rule; :func:`prune_packages` is the I/O around it and
:func:`setup_retention` runs it at start and then hourly inside the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import shutil
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from exchange_server.db import tables
from exchange_server.db.journal_tables import ExchangePackage
from exchange_server.settings import Settings

__all__ = ["PackageInfo", "PruneReport", "prune_packages", "select_expired", "setup_retention"]

log = logging.getLogger(__name__)

INTERVAL_SECONDS: Final = 3600.0
FINISHED_WELL: Final = frozenset({"imported", "completed"})
FAILED: Final = "failed"


@dataclass(frozen=True, slots=True)
class PackageInfo:
    id: str
    kind: str
    user: str
    state: str
    started_at: dt.datetime
    updated_at: dt.datetime


@dataclass(slots=True)
class PruneReport:
    removed: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    kept: int = 0


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)  # SQLite: naive UTC


def select_expired(
    packages: Sequence[PackageInfo],
    *,
    now: dt.datetime,
    keep_days: float,
    keep_last: int,
    protected: Collection[str] = (),
) -> list[PackageInfo]:
    """The packages whose folders may go, by the rules of the module documentation (no I/O)."""
    if keep_days <= 0:
        return []
    cutoff = now - dt.timedelta(days=keep_days)
    newest_first = sorted(packages, key=lambda p: (_aware(p.started_at), p.id), reverse=True)
    seen_per_kind: dict[str, int] = {}
    latest_success: dict[tuple[str, str], dt.datetime] = {}
    for package in packages:
        if package.state in FINISHED_WELL:
            key = (package.kind, package.user)
            stamp = _aware(package.started_at)
            if key not in latest_success or stamp > latest_success[key]:
                latest_success[key] = stamp
    out = []
    for package in newest_first:
        rank = seen_per_kind.get(package.kind, 0)
        seen_per_kind[package.kind] = rank + 1
        if rank < keep_last or package.id in protected or _aware(package.updated_at) > cutoff:
            continue
        if package.state == FAILED:
            solved = latest_success.get((package.kind, package.user))
            if solved is None or solved <= _aware(package.started_at):
                continue
        out.append(package)
    return out


def _remove(folder: Path) -> int | None:
    """Remove ``folder``; the bytes its files held, None when it was gone already."""
    size = 0
    if not folder.is_dir():
        return None
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():
                size += path.stat().st_size
    shutil.rmtree(folder, ignore_errors=True)
    return size


async def prune_packages(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    running: Collection[str] = (),
) -> PruneReport:
    """Remove the folders of expired packages; ``running``: packages with an import job right now."""
    report = PruneReport()
    if settings.keep_packages_days <= 0:
        return report
    async with sessionmaker() as db:
        rows = (
            await db.execute(
                select(
                    ExchangePackage.id,
                    ExchangePackage.kind,
                    ExchangePackage.user,
                    ExchangePackage.state,
                    ExchangePackage.started_at,
                    ExchangePackage.updated_at,
                )
            )
        ).all()
        pictures = (
            await db.execute(
                select(tables.Product.last_seen_package)
                .where(
                    tables.Product.last_seen_package.is_not(None),
                    select(tables.ProductImage.product_id)
                    .where(tables.ProductImage.product_id == tables.Product.id)
                    .exists(),
                )
                .distinct()
            )
        ).scalars()
        protected = {str(p) for p in pictures} | set(running)
    packages = [PackageInfo(*row) for row in rows]
    expired = select_expired(
        packages,
        now=now or dt.datetime.now(dt.UTC),
        keep_days=settings.keep_packages_days,
        keep_last=settings.keep_packages_last,
        protected=protected,
    )
    root = settings.packages_dir.resolve()
    for package in expired:
        folder = (root / package.kind / package.id).resolve()
        if folder.parent.parent != root:  # a kind or id that is not a plain name: never follow it
            continue
        freed = await asyncio.to_thread(_remove, folder)
        if freed is not None:
            report.removed.append(package.id)
            report.bytes_freed += freed
    report.kept = len(packages) - len(expired)
    if report.removed:
        log.info(
            "retention: removed %d package folders (%d bytes), %d kept",
            len(report.removed),
            report.bytes_freed,
            report.kept,
        )
    return report


# --- inside the server ----------------------------------------------------------------------------


def setup_retention(app: web.Application) -> None:
    """Prune at start and every hour; call after the exchange resources are in ``cleanup_ctx``."""
    app.cleanup_ctx.append(_retention)


async def _retention(app: web.Application) -> AsyncIterator[None]:
    from exchange_server.handlers import EXCHANGE

    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            ex = app[EXCHANGE]
            try:
                await prune_packages(ex.sessionmaker, ex.settings, running=ex.jobs.running_packages())
            except Exception:  # retention must never stop the server; retried at the next round
                log.exception("retention: pruning package folders failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), INTERVAL_SECONDS)

    task = asyncio.create_task(loop(), name="package-retention")
    try:
        yield
    finally:
        # A prune in progress is let finish, never cancelled: cancelling it in the middle of a database
        # call left aiosqlite's thread reporting to an event loop that was closed a moment later.
        stop.set()
        await task
