"""HTTP edges of the invoice sync: the portal's event handler and the operator API.

* ``POST /b24/events`` — Bitrix24 event delivery (form-encoded, bitrix24.md §6.2). The
  ``auth[application_token]`` must equal ``CML_B24_APPLICATION_TOKEN`` (403 otherwise, nothing done);
  the invoice id is queued and the answer is 200 at once (§6.4).
* ``GET /api/status-map`` — ``{"map", "stages", "problems", "journal"}``.
* ``PUT /api/status-map`` — body: a status map; 422 ``{"error", "problems"}`` when it does not validate
  against the portal's stages; 200 ``{"map", "diff", "problems"}`` otherwise, in force at once and
  journaled with the operator's login.
* ``GET /api/invoices/waiting`` — invoices kept from 1C and why.
* ``GET /api/invoices/status`` — last poll, warnings (companies sharing an ИНН), pending 1C changes.

:func:`setup_invoices` wires it into the server application (a no-op without ``CML_B24_WEBHOOK_URL``
unless a client factory is given, as the tests do).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Final

import aiohttp
from aiohttp import web
from pydantic import ValidationError

from b24_bridge.client import B24Client
from b24_bridge.invoices import binding, store
from b24_bridge.invoices.binding import EVENTS_PATH, TEST_EVENT, nonce_of
from b24_bridge.invoices.settings import InvoiceSettings
from b24_bridge.invoices.statusmap import StatusMap
from b24_bridge.invoices.sync import InvoiceSync
from b24_bridge.sync.access import open_client
from exchange_server.admin import SETTINGS
from exchange_server.commands import decode_basic
from exchange_server.handlers import ORDER_HOOKS
from exchange_server.keys import SESSIONMAKER

__all__ = ["EVENTS_PATH", "INVOICE_SYNC", "add_invoice_service", "setup_invoices"]

log = logging.getLogger(__name__)
INVOICE_SYNC = web.AppKey("invoice_sync", InvoiceSync)
SMART_EVENTS: Final = frozenset(binding.SMART_EVENTS)
LEGACY_EVENTS: Final = frozenset(binding.LEGACY_EVENTS)
ClientFactory = Callable[[aiohttp.ClientSession], B24Client]


def _sync(request: web.Request) -> InvoiceSync:
    sync = request.app.get(INVOICE_SYNC)
    if sync is None:
        raise web.HTTPServiceUnavailable(
            text='{"error": "the Bitrix24 invoice sync is not configured (CML_B24_WEBHOOK_URL)"}',
            content_type="application/json",
        )
    return sync


async def events(request: web.Request) -> web.Response:
    sync = _sync(request)
    form = await request.post()
    token = str(form.get("auth[application_token]", ""))
    name = str(form.get("event", "")).upper()
    if name == TEST_EVENT:  # the answer to our event.test: proves the token (binding.py)
        if await sync.accept_test(nonce_of(form), token):
            return web.json_response({"ok": True})
        log.warning("ONAPPTEST refused: not the nonce of our event.test")
        return web.json_response({"error": "unexpected ONAPPTEST"}, status=403)
    expected = sync.expected_token()
    if expected is None or not secrets.compare_digest(token.encode(), expected.encode()):
        log.warning("event %r refused: wrong application_token", form.get("event"))
        return web.json_response({"error": "wrong application_token"}, status=403)
    wanted = SMART_EVENTS if sync.settings.invoice_api == "smart" else LEGACY_EVENTS
    if name in wanted:
        entity_type = str(form.get("data[FIELDS][ENTITY_TYPE_ID]", "31"))
        raw_id = str(form.get("data[FIELDS][ID]", ""))
        if entity_type == "31" or sync.settings.invoice_api != "smart":
            if raw_id.isdigit():
                sync.notify(int(raw_id))
    return web.json_response({"ok": True})


def _who(request: web.Request) -> str:
    try:
        auth = decode_basic(request.headers.get("Authorization"))
    except Exception:  # the admin middleware already checked it; this is only the journal's name
        auth = None
    return auth[0] if auth else "unknown"


async def get_status_map(request: web.Request) -> web.Response:
    sync = _sync(request)
    async with request.app[SESSIONMAKER]() as session:
        history = await store.journal(session, limit=20)
    return web.json_response(
        {
            "map": sync.status_map.model_dump(mode="json"),
            "stages": [
                {"id": s.id, "name": s.name, "sort": s.sort, "semantics": s.semantics} for s in sync.stages
            ],
            "problems": [
                {"level": p.level, "message": p.message} for p in await sync.check_map(sync.status_map)
            ],
            "journal": history,
        }
    )


async def put_status_map(request: web.Request) -> web.Response:
    sync = _sync(request)
    try:
        body = await request.json()
        candidate = StatusMap.model_validate(body)
    except ValidationError as exc:
        errors = [
            {"level": "error", "message": f"{'.'.join(map(str, e['loc']))}: {e['msg']}"} for e in exc.errors()
        ]
        return web.json_response({"error": "invalid status map", "problems": errors}, status=422)
    except ValueError as exc:
        return web.json_response({"error": f"invalid JSON: {exc}", "problems": []}, status=400)
    problems, change = await sync.set_map(candidate, who=_who(request))
    shown = [{"level": p.level, "message": p.message} for p in problems]
    if any(p.level == "error" for p in problems):
        return web.json_response(
            {"error": "the status map does not match the portal", "problems": shown}, status=422
        )
    return web.json_response({"map": candidate.model_dump(mode="json"), "diff": change, "problems": shown})


async def waiting_invoices(request: web.Request) -> web.Response:
    _sync(request)
    async with request.app[SESSIONMAKER]() as session:
        return web.json_response({"items": await store.waiting(session)})


async def invoice_status(request: web.Request) -> web.Response:
    sync = _sync(request)
    async with request.app[SESSIONMAKER]() as session:
        pending = await store.pending(session, limit=1000)
    return web.json_response(
        {
            "entity": sync.settings.invoice_api,
            "category_id": sync.category_id,
            "last_poll": sync.last_poll.isoformat() if sync.last_poll else None,
            "poll_seconds": sync.settings.poll_seconds,
            "pending_from_1c": pending,
            "warnings": sync.warnings[-50:],
            "events": {
                "binding": sync.binding.as_json() if sync.binding is not None else None,
                "note": sync.events_note,
                "token": "configured"
                if sync.settings.application_token is not None
                else ("verified" if sync.learned_token else "missing"),
            },
        }
    )


def setup_invoices(
    app: web.Application,
    *,
    settings: InvoiceSettings | None = None,
    client_factory: ClientFactory | None = None,
    background: bool = True,
) -> None:
    """Add the routes and, when configured, the sync service (started with the application)."""
    settings = settings or InvoiceSettings()
    app.router.add_post(EVENTS_PATH, events)
    app.router.add_get("/api/status-map", get_status_map)
    app.router.add_put("/api/status-map", put_status_map)
    app.router.add_get("/api/invoices/waiting", waiting_invoices)
    app.router.add_get("/api/invoices/status", invoice_status)
    server = app.get(SETTINGS)
    oauth = server is not None and server.b24_webhook_url is None and server.b24_oauth_client_id is not None
    if settings.enabled or client_factory is not None or oauth:
        add_invoice_service(app, settings=settings, client_factory=client_factory, background=background)


def add_invoice_service(
    app: web.Application,
    *,
    settings: InvoiceSettings,
    client_factory: ClientFactory | None = None,
    background: bool = True,
) -> None:
    """Start the sync service with the application (after the database resources).

    ``background=False`` skips the poll task (tests drive :meth:`InvoiceSync.poll_once`).
    """

    async def service(app: web.Application) -> AsyncIterator[None]:
        server = app.get(SETTINGS)
        wanted = settings
        if wanted.article_property is None and server is not None and server.b24.article_property:
            wanted = wanted.model_copy(update={"article_property": server.b24.article_property})
        async with contextlib.AsyncExitStack() as stack:
            if client_factory is not None:
                client = client_factory(await stack.enter_async_context(aiohttp.ClientSession()))
            elif wanted.webhook_url is not None:
                http = await stack.enter_async_context(aiohttp.ClientSession())
                client = B24Client.for_webhook(http, wanted.webhook_url)
            else:  # the OAuth application of the server settings (CML_B24_OAUTH_*)
                assert server is not None
                opened = await stack.enter_async_context(open_client(server))
                if opened is None:
                    log.warning("invoice sync idle: no portal configured")
                    yield
                    return
                client = opened
            sync = InvoiceSync(app[SESSIONMAKER], client, wanted)
            await sync.start(poll=background)
            app[INVOICE_SYNC] = sync
            app[ORDER_HOOKS] = sync
            try:
                yield
            finally:
                await sync.stop()

    app.cleanup_ctx.append(service)
