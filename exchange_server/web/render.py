"""Jinja2 templates of the admin pages (shipped in the package, autoescaped) and their filters."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any, Final

import jinja2
from aiohttp import web

from exchange_server.web.auth import ADMIN_USER, CSRF_BINDING, CSRF_FIELD, csrf_for

__all__ = ["NAV", "environment", "page"]

NAV: Final = (
    ("dashboard", "/admin/", "Dashboard"),
    ("journal", "/admin/journal", "Exchange journal"),
    ("catalog", "/admin/catalog", "Catalog"),
    ("orders", "/admin/orders", "Orders"),
    ("outbox", "/admin/outbox", "Outbox"),
    ("status_map", "/admin/status-map", "Status map"),
)


def _size(value: int | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"  # pragma: no cover - the loop always returns


def _when(value: str | dt.datetime | dt.date | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.isoformat()


def _seconds(value: float | int | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("exchange_server.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["size"] = _size
    env.filters["when"] = _when
    env.filters["seconds"] = _seconds
    return env


def page(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """Render ``template`` for the viewer of ``request`` (navigation, CSRF token, user)."""
    given_token = context.pop("csrf_token", "")
    html = (
        environment()
        .get_template(template)
        .render(
            nav=NAV,
            csrf_field=CSRF_FIELD,
            csrf_token=csrf_for(request) if CSRF_BINDING in request else given_token,
            user=request.get(ADMIN_USER),
            request_path=request.path,
            **context,
        )
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8", status=status)
