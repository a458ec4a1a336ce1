"""The operator API (JSON): products with offers, prices and stock; orders. Read-only.

Thin aiohttp handlers over ``exchange_server.store.queries``. Authentication is not done here: the
application's admin middleware protects ``/api/``. The session factory is read from the application
under :data:`exchange_server.keys.SESSIONMAKER`.

Decimal values (prices, quantities, sums) are JSON strings, so no digit is lost.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from exchange_server.keys import SESSIONMAKER
from exchange_server.store import queries

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "setup_api"]

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000

NOT_FOUND: Final = "not found"
BAD_PAGING: Final = "limit must be an integer from 1 to {max}, offset an integer >= 0"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _paging(request: web.Request) -> tuple[int, int] | web.Response:
    try:
        limit = int(request.query.get("limit", DEFAULT_LIMIT))
        offset = int(request.query.get("offset", 0))
    except ValueError:
        return _error(400, BAD_PAGING.format(max=MAX_LIMIT))
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        return _error(400, BAD_PAGING.format(max=MAX_LIMIT))
    return limit, offset


async def list_products(request: web.Request) -> web.Response:
    paging = _paging(request)
    if isinstance(paging, web.Response):
        return paging
    limit, offset = paging
    async with request.app[SESSIONMAKER]() as session:
        total, items = await queries.list_products(session, limit=limit, offset=offset)
    return web.json_response({"total": total, "limit": limit, "offset": offset, "items": items})


async def get_product(request: web.Request) -> web.Response:
    async with request.app[SESSIONMAKER]() as session:
        product = await queries.get_product(session, request.match_info["id"])
    if product is None:
        return _error(404, NOT_FOUND)
    return web.json_response(product)


async def list_orders(request: web.Request) -> web.Response:
    paging = _paging(request)
    if isinstance(paging, web.Response):
        return paging
    limit, offset = paging
    async with request.app[SESSIONMAKER]() as session:
        total, items = await queries.list_orders(session, limit=limit, offset=offset)
    return web.json_response({"total": total, "limit": limit, "offset": offset, "items": items})


async def get_order(request: web.Request) -> web.Response:
    async with request.app[SESSIONMAKER]() as session:
        order = await queries.get_order(session, request.match_info["id"])
    if order is None:
        return _error(404, NOT_FOUND)
    return web.json_response(order)


def setup_api(app: web.Application) -> None:
    """Add the ``/api/products`` and ``/api/orders`` routes to ``app``."""
    app.router.add_get("/api/products", list_products)
    app.router.add_get("/api/products/{id}", get_product)
    app.router.add_get("/api/orders", list_orders)
    app.router.add_get("/api/orders/{id}", get_order)
