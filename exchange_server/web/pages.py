"""Handlers of the admin pages: dashboard, journal, catalog, orders, outbox, status map. Thin.

Reads go through ``exchange_server.journal``, ``exchange_server.store.queries`` and ``web.data``;
the outbox and the status map through the sources of ``web.extensions`` when registered.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

from aiohttp import web

from exchange_server import journal
from exchange_server.keys import SESSIONMAKER
from exchange_server.outbox.routes import B24_BRIDGE
from exchange_server.store import queries
from exchange_server.web import auth, data
from exchange_server.web.extensions import (
    OUTBOX,
    OUTBOX_STATES,
    STATUS_MAP,
    JobNotFound,
    SaveOutcome,
    StatusMapSource,
    StatusRow,
)
from exchange_server.web.outbox_source import order_sync, orders_sync, product_sync
from exchange_server.web.render import page

__all__ = ["ROUTES"]

PAGE_SIZE: Final = 50
DASHBOARD_SESSIONS: Final = 5
ROW_FIELDS: Final = ("stage", "code", "name", "status_1c")
KINDS: Final = (("catalog", "Catalog (goods, offers, prices, stock)"), ("sale", "Orders"))


def _page_number(request: web.Request) -> int:
    try:
        number = int(request.query.get("page", "1"))
    except ValueError:
        raise web.HTTPBadRequest(text="page must be a whole number\n") from None
    if number < 1:
        raise web.HTTPBadRequest(text="page must be 1 or more\n")
    return number


def _pages(total: int, number: int, size: int = PAGE_SIZE) -> dict[str, int]:
    last = max(1, (total + size - 1) // size)
    return {"page": number, "last": last, "total": total, "size": size}


async def _outbox_counts(request: web.Request) -> dict[str, int] | None:
    source = request.app.get(OUTBOX)
    if source is None:
        return None
    return dict(await source.counts())


# --- dashboard -----------------------------------------------------------------------------------


async def dashboard(request: web.Request) -> web.Response:
    sections = []
    async with request.app[SESSIONMAKER]() as db:
        for kind, title in KINDS:
            items = []
            for sid in await data.recent_session_ids(db, kind, limit=DASHBOARD_SESSIONS):
                found = await journal.list_exchanges(db, limit=1, offset=0, session_id=sid)
                items += found["items"]
            sections.append({"kind": kind, "title": title, "sessions": items})
        errors = await data.last_errors(db)
        product_total, _ = await queries.list_products(db, limit=1, offset=0)
        order_total, _ = await queries.list_orders(db, limit=1, offset=0)
        pending_offers = await queries.count_pending_offers(db)
    return page(
        request,
        "dashboard.html",
        active="dashboard",
        sections=sections,
        errors=errors,
        outbox=await _outbox_counts(request),
        totals={"products": product_total, "orders": order_total, "pending_offers": pending_offers},
    )


# --- journal -------------------------------------------------------------------------------------


async def journal_list(request: web.Request) -> web.Response:
    number = _page_number(request)
    async with request.app[SESSIONMAKER]() as db:
        found = await journal.list_exchanges(db, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    return page(
        request,
        "journal.html",
        active="journal",
        sessions=found["items"],
        pages=_pages(found["total"], number),
    )


async def journal_session(request: web.Request) -> web.Response:
    sid = request.match_info["sid"]
    async with request.app[SESSIONMAKER]() as db:
        found = await journal.list_exchanges(db, limit=1, offset=0, with_steps=True, session_id=sid)
    if not found["items"]:
        raise web.HTTPNotFound(text=f"no exchange session {sid}\n")
    session = found["items"][0]
    for package in session["packages"]:
        for f in package["files"]:
            f["download"] = (
                f"/admin/journal/{quote(sid, safe='')}/packages/{quote(package['id'], safe='')}"
                f"/file?name={quote(f['name'], safe='')}"
            )
    return page(request, "session.html", active="journal", session=session)


async def journal_file(request: web.Request) -> web.StreamResponse:
    name = request.query.get("name", "")
    async with request.app[SESSIONMAKER]() as db:
        stored = await data.stored_file(db, request.match_info["sid"], request.match_info["package"], name)
    if stored is None:
        raise web.HTTPNotFound(text="this file is not stored (unknown, or removed from the data directory)\n")
    disposition = f"attachment; filename*=UTF-8''{quote(stored.name, safe='')}"
    return web.FileResponse(
        stored.path,
        headers={"Content-Disposition": disposition, "Content-Type": "application/octet-stream"},
    )


# --- catalog -------------------------------------------------------------------------------------


async def catalog(request: web.Request) -> web.Response:
    number = _page_number(request)
    query = request.query.get("q", "")[:200]
    async with request.app[SESSIONMAKER]() as db:
        total, items = await data.search_products(db, query, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    return page(
        request, "catalog.html", active="catalog", q=query, products=items, pages=_pages(total, number)
    )


async def product(request: web.Request) -> web.Response:
    pid = request.match_info["pid"]
    async with request.app[SESSIONMAKER]() as db:
        found = await queries.get_product(db, pid)
        b24_sync = await product_sync(db, pid) if found is not None else []
    if found is None:
        raise web.HTTPNotFound(text=f"no product with Ид {pid}\n")
    price_types: dict[str, str] = {}
    warehouses: dict[str, str] = {}
    for offer in found["offers"]:
        for price in offer["prices"]:
            price_types.setdefault(price["price_type_id"], price["price_type"] or price["price_type_id"])
        for stock in offer["stock"]:
            warehouses.setdefault(stock["warehouse_id"], stock["warehouse"] or stock["warehouse_id"])
        offer["price_by_type"] = {p["price_type_id"]: p for p in offer["prices"]}
        offer["stock_by_warehouse"] = {s["warehouse_id"]: s["quantity"] for s in offer["stock"]}
    return page(
        request,
        "product.html",
        active="catalog",
        product=found,
        price_types=price_types,
        warehouses=warehouses,
        b24_configured=request.app.get(OUTBOX) is not None,
        b24_sync=b24_sync,
    )


# --- orders --------------------------------------------------------------------------------------


async def orders(request: web.Request) -> web.Response:
    number = _page_number(request)
    async with request.app[SESSIONMAKER]() as db:
        total, items = await queries.list_orders(db, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
        synced = await orders_sync(db, [o["id"] for o in items])
    return page(
        request, "orders.html", active="orders", orders=items, b24_sync=synced, pages=_pages(total, number)
    )


async def order(request: web.Request) -> web.Response:
    oid = request.match_info["oid"]
    async with request.app[SESSIONMAKER]() as db:
        found = await queries.get_order(db, oid)
        b24_sync = await order_sync(db, oid) if found is not None else None
    if found is None:
        raise web.HTTPNotFound(text=f"no order with Ид {oid}\n")
    return page(
        request,
        "order.html",
        active="orders",
        order=found,
        b24_configured=request.app.get(STATUS_MAP) is not None,
        b24_sync=b24_sync,
    )


# --- outbox (issue 5 fills the source) -----------------------------------------------------------


async def outbox(request: web.Request) -> web.Response:
    source = request.app.get(OUTBOX)
    state = request.query.get("state", "failed")
    if state not in OUTBOX_STATES:
        raise web.HTTPBadRequest(text=f"state must be one of {', '.join(OUTBOX_STATES)}\n")
    context: dict[str, Any] = {"configured": source is not None, "state": state, "states": OUTBOX_STATES}
    if source is not None:
        number = _page_number(request)
        total, jobs = await source.jobs(state, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
        context.update(counts=dict(await source.counts()), jobs=jobs, pages=_pages(total, number))
    context["message"] = request.query.get("done")
    bridge = request.app.get(B24_BRIDGE)
    context["bridge"] = None if bridge is None else bridge.message
    context["worker_error"] = None if bridge is None or bridge.worker is None else bridge.worker.last_error
    return page(request, "outbox.html", active="outbox", **context)


async def outbox_action(request: web.Request) -> web.Response:
    source = request.app.get(OUTBOX)
    if source is None:
        raise web.HTTPConflict(text="the Bitrix24 outbox is not configured yet\n")
    job_id, action = request.match_info["job"], request.match_info["action"]
    try:
        if action == "retry":
            await source.retry(job_id)
        else:
            await source.skip(job_id)
    except JobNotFound:
        raise web.HTTPNotFound(text=f"no failed outbox job {job_id}\n") from None
    done = quote(f"{action} {job_id}", safe="")
    raise web.HTTPSeeOther(f"/admin/outbox?state=failed&done={done}")


# --- status map (issue 6 fills the source) -------------------------------------------------------


def _rows_from_form(form: Any) -> list[StatusRow]:
    rows = []
    for index in range(int(form.get("rows", "0") or 0)):
        values = [str(form.get(f"{name}_{index}", "")).strip() for name in ROW_FIELDS]
        if form.get(f"delete_{index}") or not any(values):
            continue
        rows.append(StatusRow(stage=values[0], code=values[1], name=values[2], status_1c=values[3]))
    return rows


async def _status_map_page(
    request: web.Request,
    source: StatusMapSource | None,
    rows: list[StatusRow],
    outcome: SaveOutcome,
    *,
    status: int = 200,
    saved: bool = False,
) -> web.Response:
    stages = list(await source.stages()) if source is not None else []
    return page(
        request,
        "status_map.html",
        status=status,
        active="status_map",
        configured=source is not None,
        rows=rows,
        stages=stages,
        outcome=outcome,
        saved=saved,
    )


async def status_map(request: web.Request) -> web.Response:
    source = request.app.get(STATUS_MAP)
    if source is None:
        return await _status_map_page(request, None, [], SaveOutcome())
    rows = list(await source.rows())
    outcome = SaveOutcome(warnings=list(await source.warnings()))
    return await _status_map_page(request, source, rows, outcome, saved=request.query.get("saved") == "1")


async def status_map_save(request: web.Request) -> web.Response:
    source = request.app.get(STATUS_MAP)
    if source is None:
        raise web.HTTPConflict(text="the status map is not configured yet\n")
    form = await request.post()
    try:
        rows = _rows_from_form(form)
    except ValueError:
        raise web.HTTPBadRequest(text="malformed status map form\n") from None
    outcome = await source.save(rows, who=request[auth.ADMIN_USER])
    if outcome.saved:
        raise web.HTTPSeeOther("/admin/status-map?saved=1")
    return await _status_map_page(request, source, rows, outcome, status=422)


ROUTES: Final = (
    ("GET", "/admin/", dashboard),
    ("GET", "/admin/journal", journal_list),
    ("GET", "/admin/journal/{sid}", journal_session),
    ("GET", "/admin/journal/{sid}/packages/{package}/file", journal_file),
    ("GET", "/admin/catalog", catalog),
    ("GET", "/admin/catalog/{pid}", product),
    ("GET", "/admin/orders", orders),
    ("GET", "/admin/orders/{oid}", order),
    ("GET", "/admin/outbox", outbox),
    ("POST", "/admin/outbox/{job}/{action:retry|skip}", outbox_action),
    ("GET", "/admin/status-map", status_map),
    ("POST", "/admin/status-map", status_map_save),
)
