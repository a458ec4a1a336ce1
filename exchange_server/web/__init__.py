"""The operator's admin pages under ``/admin/``: server-rendered HTML, no JavaScript, no build step.

``setup_admin(app)`` adds the routes, the static stylesheet and the guard middleware
(:func:`exchange_server.web.auth.admin_guard`, which the application lists in its middlewares). The
pages work without the stylesheet (plain semantic HTML) and at 1280x800. Once the application has
started, :func:`exchange_server.web.wiring.connect` plugs in the Bitrix24 outbox and status map and
their metrics when those are configured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

from aiohttp import web

from exchange_server.keys import ENGINE
from exchange_server.web import auth, pages, wiring
from exchange_server.web.data import install_sqlite_casefold
from exchange_server.web.render import page

__all__ = ["admin_guard", "setup_admin"]

STATIC_DIR: Final = Path(__file__).parent / "static"
admin_guard = auth.admin_guard


def _login_page(
    request: web.Request, token: str, target: str, error: str | None, status: int
) -> web.Response:
    return page(request, "login.html", status=status, csrf_token=token, next=target, error=error, active="")


async def _to_dashboard(request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect("/admin/")


async def _casefold_on_sqlite(app: web.Application) -> AsyncIterator[None]:
    """Before any later start-up step (the Bitrix24 side) opens a pooled connection."""
    install_sqlite_casefold(app[ENGINE])
    yield


def setup_admin(app: web.Application) -> None:
    """Add the admin pages to ``app`` (the guard middleware must be in ``app.middlewares``); call it after
    the database resources are in ``cleanup_ctx`` and before the Bitrix24 side's."""
    app.router.add_get("/admin", _to_dashboard)
    app.router.add_get(auth.LOGIN_PATH, auth.login_form(_login_page))
    app.router.add_post(auth.LOGIN_PATH, auth.login_submit(_login_page))
    app.router.add_post(auth.LOGOUT_PATH, auth.logout)
    app.router.add_static("/admin/static", STATIC_DIR, follow_symlinks=False)
    for method, path, handler in pages.ROUTES:
        app.router.add_route(method, path, handler)
    app.cleanup_ctx.append(_casefold_on_sqlite)
    wiring.meter_bridge_client(app)
    app.on_startup.append(wiring.connect)
    app.on_shutdown.append(wiring.disconnect)
