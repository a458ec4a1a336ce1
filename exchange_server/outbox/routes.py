"""``GET /api/b24/status`` and the bridge's background worker in the application's ``cleanup_ctx``.

Without a portal (no ``CML_B24_WEBHOOK_URL`` and no OAuth settings) the worker is not started: the
server logs that the bridge is idle, the status says so, and the 1C exchange works on. Tests inject
a client (the fake portal in-process) with :data:`B24_CLIENT_FACTORY` before the app starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from aiohttp import web

from b24_bridge.client import B24Client
from b24_bridge.sync.access import IDLE_MESSAGE, describe, open_client
from b24_bridge.sync.images import ImageResolver
from b24_bridge.sync.service import BridgeWorker
from exchange_server.admin import SETTINGS
from exchange_server.handlers import EXCHANGE
from exchange_server.keys import SESSIONMAKER
from exchange_server.outbox import queue

__all__ = ["B24_BRIDGE", "B24_CLIENT_FACTORY", "BridgeState", "setup_b24"]

log = logging.getLogger(__name__)

ClientFactory = Callable[[], AbstractAsyncContextManager[B24Client | None]]


@dataclass(slots=True)
class BridgeState:
    portal: str | None
    message: str
    worker: BridgeWorker | None = None
    task: asyncio.Task[None] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)


B24_BRIDGE = web.AppKey("b24_bridge", BridgeState)
B24_CLIENT_FACTORY: web.AppKey[ClientFactory] = web.AppKey("b24_client_factory")


async def status(request: web.Request) -> web.Response:
    """``{"pending", "running", "failed", "done", "last_push"}`` + ``portal``, ``message``, ``failures``."""
    async with request.app[SESSIONMAKER]() as db:
        counts = await queue.status(db)
        failures = await queue.failed_jobs(db, limit=20) if counts["failed"] else []
    state = request.app.get(B24_BRIDGE)
    body = {
        **counts,
        "portal": None if state is None else state.portal,
        "message": "no portal configured" if state is None else state.message,
        "failures": failures,
    }
    if state is not None and state.worker is not None and state.worker.last_error:
        body["worker_error"] = state.worker.last_error
    return web.json_response(body)


async def retry(request: web.Request) -> web.Response:
    """``POST /api/b24/retry``: parked jobs back to pending."""
    async with request.app[SESSIONMAKER].begin() as db:
        count = await queue.retry_failed(db, dt.datetime.now(dt.UTC))
    return web.json_response({"retried": count})


async def _bridge(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    factory = app.get(B24_CLIENT_FACTORY)
    portal = describe(settings)
    if factory is None and portal is None:
        log.warning(IDLE_MESSAGE)
        app[B24_BRIDGE] = BridgeState(None, IDLE_MESSAGE)
        yield
        return
    opener = factory() if factory is not None else open_client(settings)
    state = BridgeState(portal or "injected client", "starting")
    app[B24_BRIDGE] = state
    async with contextlib.AsyncExitStack() as stack:
        try:
            client = await stack.enter_async_context(opener)
        except Exception as exc:  # the 1C exchange must work on whatever the portal does
            state.message = f"Bitrix24 bridge idle: cannot open the portal: {type(exc).__name__}: {exc}"
            log.error(state.message)
            yield
            return
        if client is None:
            state.message = IDLE_MESSAGE
            yield
            return
        images = ImageResolver(settings.packages_dir / "catalog")
        state.worker = BridgeWorker(app[SESSIONMAKER], settings.b24, client, images=images)
        state.message = f"pushing to {state.portal}"
        log.info("Bitrix24 bridge: %s", state.message)
        # A finished catalog package wakes the worker at once (the idle poll stays the fallback).
        exchange = app.get(EXCHANGE)
        unhook = (
            exchange.catalog.on_finished(state.worker.wake)
            if exchange is not None and settings.b24.wake_on_package
            else None
        )
        state.task = asyncio.create_task(state.worker.run(state.stop), name="b24-bridge")
        try:
            yield
        finally:
            if unhook is not None:
                unhook()
            state.stop.set()
            state.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await state.task


def setup_b24(app: web.Application) -> None:
    """Routes and the worker; call after the database resources are in ``cleanup_ctx``."""
    app.router.add_get("/api/b24/status", status)
    app.router.add_post("/api/b24/retry", retry)
    app.cleanup_ctx.append(_bridge)
