"""Security headers on every response of the server (``app.on_response_prepare``).

The admin pages set their own, page-specific set (``exchange_server.web.auth.SECURITY_HEADERS``, kept);
everything else (``/api``, ``/1c_exchange``, ``/b24/events``, ``/metrics``, error pages) gets a strict
default: no content may load, no framing, no sniffing, no referrer, never cached. HSTS is added only
when the client came over TLS (directly, or through a proxy the operator declared with ``CML_HTTPS``):
sending it over plain HTTP is meaningless, and a wrong one locks browsers out of a plain-HTTP host.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from exchange_server.settings import Settings

__all__ = ["DEFAULT_HEADERS", "HSTS", "add_security_headers"]

DEFAULT_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
HSTS: Final = "max-age=31536000"


Prepare = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def add_security_headers(settings: Settings) -> Prepare:
    """The ``on_response_prepare`` callback for ``settings`` (headers already set are kept)."""

    async def prepare(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in DEFAULT_HEADERS.items():
            response.headers.setdefault(name, value)
        if settings.https or request.secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)

    return prepare
