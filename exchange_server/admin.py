"""Operator side of the server: Basic authentication of ``/api/`` and the journal endpoints.

``GET /api/exchanges?limit=&offset=`` lists exchange sessions, newest first, each with its packages
and their files (sizes, sha256, import state and timings); ``GET /api/exchanges/{id}`` is one session
with every step (mode, file, answer, bytes, duration).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from exchange_server import journal
from exchange_server.commands import decode_basic
from exchange_server.errors import AuthError
from exchange_server.keys import SESSIONMAKER
from exchange_server.settings import Settings

__all__ = ["SETTINGS", "admin_auth", "setup_journal_api"]

SETTINGS = web.AppKey("settings", Settings)
API_PREFIX: Final = "/api/"
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 1000
REALM: Final = 'Basic realm="cml-exchange admin", charset="UTF-8"'


def _authorised(request: web.Request, settings: Settings) -> bool:
    if settings.admin_password is None:
        return False
    try:
        auth = decode_basic(request.headers.get("Authorization"))
    except AuthError:
        return False
    if auth is None:
        return False
    user_ok = secrets.compare_digest(auth[0].encode(), settings.admin_user.encode())
    expected = settings.admin_password.get_secret_value().encode()
    password_ok = secrets.compare_digest(auth[1].encode(), expected)
    return user_ok and password_ok


@web.middleware
async def admin_auth(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Everything under ``/api/`` needs the operator's Basic credentials (401 with a challenge otherwise)."""
    if request.path.startswith(API_PREFIX) or request.path == API_PREFIX.rstrip("/"):
        if not _authorised(request, request.app[SETTINGS]):
            return web.json_response(
                {"error": "authentication required"}, status=401, headers={"WWW-Authenticate": REALM}
            )
    return await handler(request)


def _paging(request: web.Request) -> tuple[int, int]:
    try:
        limit = int(request.query.get("limit", DEFAULT_LIMIT))
        offset = int(request.query.get("offset", 0))
    except ValueError:
        limit = offset = -1
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise web.HTTPBadRequest(
            text=f'{{"error": "limit must be 1..{MAX_LIMIT}, offset >= 0"}}', content_type="application/json"
        )
    return limit, offset


async def list_exchanges(request: web.Request) -> web.Response:
    limit, offset = _paging(request)
    async with request.app[SESSIONMAKER]() as db:
        page = await journal.list_exchanges(db, limit=limit, offset=offset)
    return web.json_response(page)


async def get_exchange(request: web.Request) -> web.Response:
    async with request.app[SESSIONMAKER]() as db:
        page = await journal.list_exchanges(
            db, limit=1, offset=0, with_steps=True, session_id=request.match_info["id"]
        )
    if not page["items"]:
        return web.json_response({"error": "not found"}, status=404)
    return web.json_response(page["items"][0])


def setup_journal_api(app: web.Application) -> None:
    app.router.add_get("/api/exchanges", list_exchanges)
    app.router.add_get("/api/exchanges/{id}", get_exchange)
