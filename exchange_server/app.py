"""The aiohttp application: routes, middlewares and the resources of ``cleanup_ctx``.

``make_app(settings)`` builds everything lazily: the schema is migrated and the engine created when
the application starts (never at import), and disposed of when it stops. Exchange endpoints:
``/1c_exchange`` and the 1C-Bitrix path ``/bitrix/admin/1c_exchange.php`` (GET and POST). Operator
endpoints: ``/api/products``, ``/api/orders`` (``exchange_server.api``) and ``/api/exchanges``; the
admin pages under ``/admin/`` (``exchange_server.web``) and ``GET /metrics`` (``exchange_server.telemetry``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker

from b24_bridge.invoices.web import setup_invoices
from exchange_server.admin import SETTINGS, admin_auth, setup_journal_api
from exchange_server.api import setup_api
from exchange_server.db.engine import make_engine, upgrade_schema
from exchange_server.handlers import EXCHANGE, EXCHANGE_PATHS, exchange, exchange_errors
from exchange_server.keys import ENGINE, SESSIONMAKER
from exchange_server.logins import LOGINS, Logins
from exchange_server.outbox.routes import setup_b24
from exchange_server.packages import Exchange
from exchange_server.retention import setup_retention
from exchange_server.security_headers import add_security_headers
from exchange_server.settings import Settings, with_hashed_passwords
from exchange_server.telemetry import MeteredCatalogImporter, MeteredOrderImporter, request_log, setup_metrics
from exchange_server.uploads import UnpackLimits
from exchange_server.web import admin_guard, setup_admin

__all__ = ["make_app", "server_options"]


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    url = settings.effective_database_url
    await upgrade_schema(url)
    engine = make_engine(url)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    app[ENGINE] = engine
    app[SESSIONMAKER] = sessionmaker
    app[EXCHANGE] = Exchange(
        settings=settings,
        sessionmaker=sessionmaker,
        catalog=MeteredCatalogImporter(
            sessionmaker, sqlite_group_seconds=settings.sqlite_import_transaction_seconds
        ),
        orders=MeteredOrderImporter(sessionmaker),
        limits=UnpackLimits(max_total_bytes=settings.unzip_max_bytes, max_entries=settings.unzip_max_files),
    )
    try:
        yield
    finally:
        await app[EXCHANGE].jobs.close()
        await engine.dispose()


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``web.AppRunner`` (or ``TestServer``) that protect the server itself.

    aiohttp closes a connection whose request headers are not complete ``keepalive_timeout`` seconds
    after it opened (or after its previous answer); its default is an hour, so a client trickling
    headers (slowloris) held a connection that long. ``read_timeout`` bounds it. A trickled body is cut
    by the handlers (``uploads.idle_limited``); after such an answer aiohttp drains the rest of the
    body for at most ``lingering_time`` seconds, then closes.
    """
    return {"keepalive_timeout": settings.read_timeout, "lingering_time": min(settings.read_timeout, 10.0)}


def make_app(settings: Settings) -> web.Application:
    """Build the server application for ``settings`` (passwords must be set, see ``ensure_passwords``).

    Plain passwords are hashed here; the application keeps only the hashes (``app[SETTINGS]``).

    Raises:
        ValueError: the exchange or the admin password is unset.
    """
    if settings.exchange_password is None or settings.admin_password is None:
        raise ValueError("exchange_password and admin_password must be set (see settings.ensure_passwords)")
    settings = with_hashed_passwords(settings)
    app = web.Application(middlewares=[request_log, admin_guard, admin_auth, exchange_errors])
    app[SETTINGS] = settings
    app[LOGINS] = Logins(settings)
    app.on_response_prepare.append(add_security_headers(settings))
    app.cleanup_ctx.append(_resources)
    setup_retention(app)
    for path in EXCHANGE_PATHS:
        app.router.add_get(path, exchange)
        app.router.add_post(path, exchange)
    setup_journal_api(app)
    setup_api(app)
    setup_metrics(app)
    setup_admin(app)
    setup_invoices(app)
    setup_b24(app)
    return app
