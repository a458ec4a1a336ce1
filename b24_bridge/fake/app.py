"""The fake portal over real HTTP: an aiohttp application around one ``FakePortal``.

Routes (bitrix24.md §8.1): ``/rest/<user>/<code>/<method>[.json]`` (webhook), ``/rest/<method>[.json]``
(OAuth, ``auth`` in query or body), ``GET /oauth/token/``, ``GET /_fake/stats``. Parameters are
merged PHP-style (query, then body; JSON body only for ``application/json``, invalid JSON = empty).
A background task POSTs due event deliveries once each (at-most-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, Final

import aiohttp
from aiohttp import web

from b24_bridge.fake.faults import Fault
from b24_bridge.fake.phpquery import listify, merge_params, parse_str
from b24_bridge.fake.portal import FakePortal, Reply

__all__ = ["PORTAL_KEY", "make_portal_app"]

PORTAL_KEY: Final = web.AppKey("portal", FakePortal)
_DELIVERY_TICK: Final = 0.05


async def _params(request: web.Request) -> dict[str, Any]:
    query = listify(parse_str(request.query_string))
    body: dict[str, Any] = {}
    raw = await request.read()
    if raw:
        if request.content_type.startswith("application/json"):
            try:
                decoded = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                decoded = {}  # invalid JSON -> empty params (CRestUtil::getRequestData, §1.2)
            body = decoded if isinstance(decoded, dict) else {}
        else:
            body = listify(parse_str(raw.decode("utf-8", errors="replace")))
    return merge_params(query, body)


def _method_name(raw: str) -> str:
    for suffix in (".json", ".xml"):
        if raw.lower().endswith(suffix):
            return raw[: -len(suffix)]
    return raw


async def _send(request: web.Request, reply: Reply, portal: FakePortal) -> web.StreamResponse:
    if reply.after in (Fault.RESET_BEFORE, Fault.RESET_AFTER):
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise ConnectionResetError("fake portal: connection reset (fault injection)")
    if reply.after is Fault.LOST_RESPONSE:
        await asyncio.sleep(portal.faults.lost_delay)
    if isinstance(reply.body, str):
        return web.Response(status=reply.status, text=reply.body, content_type="text/html")
    return web.json_response(
        reply.body, status=reply.status, dumps=lambda v: json.dumps(v, ensure_ascii=False)
    )


def _moved(request: web.Request, portal: FakePortal) -> web.Response | None:
    if portal.config.moved_to is None:
        return None
    location = f"{portal.config.moved_to.rstrip('/')}{request.path_qs}"
    return web.Response(status=302, headers={"Location": location})


async def _webhook(request: web.Request) -> web.StreamResponse:
    portal = request.app[PORTAL_KEY]
    if (moved := _moved(request, portal)) is not None:
        return moved
    params = await _params(request)
    reply = portal.handle_rest(
        _method_name(request.match_info["method"]),
        params,
        user=request.match_info["user"],
        code=request.match_info["code"],
        https=request.secure,
    )
    return await _send(request, reply, portal)


async def _oauth_rest(request: web.Request) -> web.StreamResponse:
    portal = request.app[PORTAL_KEY]
    if (moved := _moved(request, portal)) is not None:
        return moved
    params = await _params(request)
    token = params.pop("auth", None)
    reply = portal.handle_rest(
        _method_name(request.match_info["method"]),
        params,
        access_token=None if token is None else str(token),
        https=request.secure,
    )
    return await _send(request, reply, portal)


async def _oauth_token(request: web.Request) -> web.Response:
    status, body = request.app[PORTAL_KEY].oauth_token(dict(request.query))
    return web.json_response(body, status=status)


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[PORTAL_KEY].stats.as_json())


async def _deliveries(app: web.Application) -> AsyncIterator[None]:
    portal = app[PORTAL_KEY]

    async def worker(session: aiohttp.ClientSession) -> None:
        while True:
            for delivery in portal.events.take_due():
                try:
                    async with session.post(
                        delivery.url,
                        data=delivery.body.encode(),
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                    ) as resp:
                        await resp.read()
                        portal.events.record(delivery, "delivered" if resp.status < 300 else "failed")
                except (aiohttp.ClientError, TimeoutError, OSError):
                    portal.events.record(delivery, "failed")  # never retried: at-most-once (§6.4)
            await asyncio.sleep(_DELIVERY_TICK)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        task = asyncio.create_task(worker(session))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def make_portal_app(portal: FakePortal, *, deliver_events: bool = True) -> web.Application:
    """An aiohttp application serving ``portal``."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[PORTAL_KEY] = portal
    app.router.add_route("*", r"/rest/{user:\d+}/{code}/{method}", _webhook)
    app.router.add_route("*", r"/rest/{method}", _oauth_rest)
    app.router.add_get("/oauth/token/", _oauth_token)
    app.router.add_get("/_fake/stats", _stats)
    if deliver_events:
        app.cleanup_ctx.append(_deliveries)
    return app
