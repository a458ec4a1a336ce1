"""Operator side of the server: Basic authentication of ``/api/`` and the journal endpoints.

Credentials are checked by :class:`exchange_server.logins.Logins` (scrypt hash, lockout: ``429`` with
``Retry-After`` while a client is locked out). An unsafe request (POST, PUT, ...) that a browser sent
from another site (``Origin`` of another host, or ``Sec-Fetch-Site: cross-site``) is refused with
``403``: a browser that remembers the operator's Basic credentials would otherwise send them along.

``GET /api/exchanges?limit=&offset=`` lists exchange sessions, newest first, each with its packages
and their files (sizes, sha256, import state and timings); ``GET /api/exchanges/{id}`` is one session
with every step (mode, file, answer, bytes, duration).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from exchange_server import journal
from exchange_server.commands import decode_basic
from exchange_server.errors import AuthError
from exchange_server.keys import SESSIONMAKER
from exchange_server.logins import LOGINS, Verdict
from exchange_server.settings import Settings

__all__ = ["SETTINGS", "admin_auth", "setup_journal_api"]

SETTINGS = web.AppKey("settings", Settings)
API_PREFIX: Final = "/api/"
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 1000
REALM: Final = 'Basic realm="cml-exchange admin", charset="UTF-8"'


UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _authorised(request: web.Request) -> Verdict:
    try:
        auth = decode_basic(request.headers.get("Authorization"))
    except AuthError:
        return Verdict(ok=False)
    if auth is None:
        return Verdict(ok=False)
    logins = request.app[LOGINS]
    return await logins.check(request, logins.admin, auth[0], auth[1], where="/api")


def cross_site(request: web.BaseRequest) -> bool:
    """A browser sent this request from a page of another site."""
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != request.host


@web.middleware
async def admin_auth(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Everything under ``/api/`` needs the operator's Basic credentials (401 with a challenge otherwise)."""
    if request.path.startswith(API_PREFIX) or request.path == API_PREFIX.rstrip("/"):
        verdict = await _authorised(request)
        if verdict.locked:
            seconds = str(int(request.app[SETTINGS].login_lockout_seconds))
            return web.json_response(
                {"error": "too many failed logins; try again later"},
                status=429,
                headers={"Retry-After": seconds},
            )
        if not verdict.ok:
            return web.json_response(
                {"error": "authentication required"}, status=401, headers={"WWW-Authenticate": REALM}
            )
        if request.method in UNSAFE and cross_site(request):
            return web.json_response({"error": "cross-site request refused"}, status=403)
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
