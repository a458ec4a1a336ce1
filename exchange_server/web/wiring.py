"""Connects the admin pages and ``/metrics`` to the Bitrix24 side once the application has started.

The Bitrix24 bridge (``exchange_server.outbox.routes``) and the invoice sync (``b24_bridge.invoices.web``)
start in ``cleanup_ctx``; ``on_startup`` handlers run after every ``cleanup_ctx`` step, so
:func:`connect` sees what they set up:

* the outbox page's source (:class:`DbOutbox`) when the bridge has a portal, and the
  ``cml_outbox_jobs`` gauge fed from its counts (refreshed every :data:`DEPTH_REFRESH` seconds and
  at every outbox page);
* the status-map page's source (:class:`InvoiceStatusMap`) when the invoice sync runs;
* the Bitrix24 metrics on both clients (:func:`exchange_server.web.b24_metrics.instrument`): the
  bridge's from its first call (:func:`meter_bridge_client` puts a metered ``B24_CLIENT_FACTORY`` in
  place when a portal is configured and no factory was given), the invoice sync's once started (its
  first calls, reading the portal's stages, are not counted: it offers no factory to hook).

A source registered explicitly before the start (``app[OUTBOX] = ...``) is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Final

from aiohttp import web

from b24_bridge.client import B24Client
from b24_bridge.invoices.web import INVOICE_SYNC
from b24_bridge.sync.access import describe, open_client
from exchange_server import metrics
from exchange_server.admin import SETTINGS
from exchange_server.keys import SESSIONMAKER
from exchange_server.outbox.routes import B24_BRIDGE, B24_CLIENT_FACTORY
from exchange_server.web.b24_metrics import instrument
from exchange_server.web.extensions import OUTBOX, STATUS_MAP
from exchange_server.web.outbox_source import DbOutbox
from exchange_server.web.status_map_source import InvoiceStatusMap

__all__ = ["DEPTH_REFRESH", "connect", "disconnect", "meter_bridge_client"]

log = logging.getLogger(__name__)
DEPTH_REFRESH: Final = 10.0
_DEPTH_TASK = web.AppKey("cml_outbox_depth_task", asyncio.Task[None])


async def _refresh_depth(outbox: DbOutbox) -> None:
    while True:
        try:
            await outbox.counts()
        except Exception as exc:  # the gauge keeps its last value; the next round retries
            log.warning("outbox depth: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(DEPTH_REFRESH)


def meter_bridge_client(app: web.Application) -> None:
    """Open the bridge's client through :func:`open_client`, metered, when a portal is configured."""
    settings = app[SETTINGS]
    if B24_CLIENT_FACTORY in app or describe(settings) is None:
        return

    @contextlib.asynccontextmanager
    async def factory() -> AsyncIterator[B24Client | None]:
        async with open_client(settings) as client:
            yield None if client is None else instrument(client)

    app[B24_CLIENT_FACTORY] = factory


async def connect(app: web.Application) -> None:
    bridge = app.get(B24_BRIDGE)
    if bridge is not None and bridge.worker is not None:
        instrument(bridge.worker.client)
    sync = app.get(INVOICE_SYNC)
    if sync is not None:
        instrument(sync.client)
        if STATUS_MAP not in app:
            app[STATUS_MAP] = InvoiceStatusMap(sync)
    if OUTBOX not in app and bridge is not None and bridge.portal is not None:
        outbox = DbOutbox(app[SESSIONMAKER])
        app[OUTBOX] = outbox
        metrics.set_outbox_depth_source(lambda: outbox.last_counts)
        app[_DEPTH_TASK] = asyncio.create_task(_refresh_depth(outbox), name="cml-outbox-depth")


async def disconnect(app: web.Application) -> None:
    task = app.get(_DEPTH_TASK)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        metrics.set_outbox_depth_source(None)
