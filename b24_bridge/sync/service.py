"""Plan and enqueue, and the background worker that triggers planning and drains the outbox.

Trigger: the worker watches a cheap fingerprint of the catalog tables (row counts and latest
``updated_at``). When it changed and then stayed still for ``idle_seconds``, the worker plans and
enqueues, then drains. A package that finishes (``complete``/``deactivate`` of 3.1, or the last import
of a classic exchange: ``CatalogImporter.on_finished``) wakes it at once through :meth:`BridgeWorker.wake`
and it plans without waiting for the idle time; the idle poll stays the fallback (another process
imported, a wake was missed). It also drains whatever is due (retries after back-off, jobs a planner
in another process enqueued) on every poll.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge.client import B24Client
from b24_bridge.errors import B24Error
from b24_bridge.sync.executor import PortalDown
from b24_bridge.sync.images import ImageResolver
from b24_bridge.sync.mapping import MappingConfig
from b24_bridge.sync.plan import Plan, diff
from b24_bridge.sync.pusher import Pusher, PushReport
from b24_bridge.sync.store_reader import imports_running, read_snapshot, store_fingerprint
from b24_bridge.sync.targets import build_targets
from exchange_server.outbox import queue

#: The longest pause between two polls while the portal is unreachable.
OUTAGE_MAX_SECONDS: Final = 60.0

__all__ = ["BridgeWorker", "compute_plan", "plan_and_enqueue"]

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def compute_plan(
    sessionmaker: async_sessionmaker[AsyncSession],
    mapping: MappingConfig,
    images: ImageResolver | None = None,
) -> Plan:
    """The pending diff: store snapshot against the hashes the portal last acknowledged.

    ``images`` finds the picture files (``<packages>/catalog/<package>/...``); without it no images.
    """
    async with sessionmaker() as session:
        snapshot = await read_snapshot(session)
        pushed = await queue.pushed_hashes(session)
    files = None
    if images is not None and mapping.images:
        wanted = {p.id: (p.package, p.images) for p in snapshot.products if p.images}
        files = await asyncio.to_thread(images.resolve_all, wanted)
    # Without a resolver the pictures are not looked at, so they cannot be said to have left.
    return diff(build_targets(snapshot, mapping, files), pushed, retire_images=files is not None)


async def plan_and_enqueue(
    sessionmaker: async_sessionmaker[AsyncSession],
    mapping: MappingConfig,
    now: dt.datetime | None = None,
    images: ImageResolver | None = None,
) -> Plan:
    """Compute the plan and write its jobs to the outbox (one transaction)."""
    plan = await compute_plan(sessionmaker, mapping, images)
    if plan.jobs:
        async with sessionmaker.begin() as session:
            await queue.enqueue(session, plan.jobs, now or utcnow())
    return plan


class BridgeWorker:
    """The app's background task: plan after the catalog settles, then drain.

    Args:
        sessionmaker: the application's database.
        mapping: the ``[b24]`` configuration.
        client: the portal's client.
        monotonic: time source for the idle detection (injectable for tests).
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        mapping: MappingConfig,
        client: B24Client,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        images: ImageResolver | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.mapping = mapping
        self.client = client
        self.monotonic = monotonic
        self.images = images
        self.pusher = Pusher(client, sessionmaker, mapping)
        self.planned: tuple[Any, ...] | None = None
        self._seen: tuple[Any, ...] | None = None
        self._seen_at = 0.0
        self.last_plan: Plan | None = None
        self.last_report: PushReport | None = None
        self.last_error: str | None = None
        self._woken = False
        self._wake = asyncio.Event()
        self.outage_polls = 0  # polls in a row that found the portal unreachable

    def wake(self, package_id: str = "") -> None:
        """A catalog package finished: plan at the next tick without the idle wait, and tick now."""
        self._woken = True
        self._wake.set()

    async def tick(self) -> bool:
        """One poll: plan when the catalog changed and settled, then push what is due.

        Returns:
            True when something was planned or pushed.
        """
        worked = False
        async with self.sessionmaker() as session:
            fingerprint = await store_fingerprint(session)
            busy = await imports_running(session)
        now = self.monotonic()
        if busy or fingerprint != self._seen:
            self._seen, self._seen_at = fingerprint, now
        settled = now - self._seen_at >= self.mapping.idle_seconds or (self._woken and not busy)
        if not busy:
            self._woken = False  # a wake during an import waits for it to end
        if fingerprint != self.planned and settled:
            plan = await plan_and_enqueue(self.sessionmaker, self.mapping, images=self.images)
            self.planned, self.last_plan = fingerprint, plan
            worked = bool(plan.jobs)
            if plan.jobs:
                log.info("b24: planned %d jobs (%s)", len(plan.jobs), plan.counts())
            for warning in plan.warnings:
                log.warning("b24: %s", warning)
        released = await self.pusher.release_orphans()
        if released:
            log.warning("b24: %d jobs of a stopped worker handed back (the server was killed?)", released)
        report = await self.pusher.drain(wait=False)
        if report.done or report.failed:
            self.last_report = report
            worked = True
            log.info("b24: pushed %d, failed %d in %d calls", report.done, report.failed, report.calls)
        return worked

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; errors are logged and retried on the next poll."""
        while not stop.is_set():
            try:
                await self.tick()
                self.last_error = None
                self.outage_polls = 0
            except PortalDown as exc:
                # Jobs were handed back uncounted; wait longer each time (at most OUTAGE_MAX_SECONDS)
                # instead of knocking every poll, and say so once per doubling.
                self.outage_polls += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "b24 worker: %s; nothing is lost, retrying in %.0f s", exc, self.outage_delay()
                )
            except (B24Error, OSError, RuntimeError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("b24 worker: %s", self.last_error)
            except Exception as exc:  # the worker must outlive one bad poll (logged with traceback)
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("b24 worker failed; retrying at the next poll")
            await self._sleep(stop)

    def outage_delay(self) -> float:
        """The pause before the next poll: ``poll_seconds``, doubled per poll the portal was down."""
        if not self.outage_polls:
            return self.mapping.poll_seconds
        grown: float = self.mapping.poll_seconds * 2.0 ** min(self.outage_polls, 16)
        return max(self.mapping.poll_seconds, min(OUTAGE_MAX_SECONDS, grown))

    async def _sleep(self, stop: asyncio.Event) -> None:
        """Until the next poll, a wake or ``stop``, whichever comes first."""
        if self._wake.is_set():
            self._wake.clear()
            return
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=self.outage_delay(), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        self._wake.clear()
