"""Database side of the invoice sync: status map (+ journal), invoice links, pending 1C changes, bookmarks.

Functions take an ``AsyncSession``; the caller commits. The orders themselves live in the exchange
server's order store (``exchange_server.store.orders``); this module only reads 1C's uploads from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from b24_bridge.invoices.statusmap import StatusMap, diff
from b24_bridge.invoices.tables import InvoiceLink, InvoicePending, StatusMapJournal, StatusMapRow, SyncState
from commerceml.model import Document
from exchange_server.db import tables
from exchange_server.store.codec import decode
from exchange_server.store.orders import FROM_1C

__all__ = [
    "Link",
    "get_bookmark",
    "get_link",
    "journal",
    "link_by_invoice",
    "load_map",
    "orders_from_package",
    "save_map",
    "set_bookmark",
]

MAP_KEY = "default"
_ORDERS = cast(Table, tables.Order.__table__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def load_map(session: AsyncSession) -> StatusMap | None:
    row = await session.get(StatusMapRow, MAP_KEY)
    return None if row is None else StatusMap.model_validate(row.data)


async def save_map(session: AsyncSession, new: StatusMap, *, who: str) -> dict[str, Any]:
    """Store the map and journal the change; returns the diff (empty when nothing changed)."""
    row = await session.get(StatusMapRow, MAP_KEY)
    old = None if row is None else StatusMap.model_validate(row.data)
    change = diff(old, new)
    if old is not None and not change:
        return {}
    data = new.model_dump(mode="json")
    now = _now()
    if row is None:
        session.add(StatusMapRow(key=MAP_KEY, data=data, updated_at=now, updated_by=who))
    else:
        row.data, row.updated_at, row.updated_by = data, now, who
    session.add(StatusMapJournal(key=MAP_KEY, changed_at=now, changed_by=who, diff=change, data=data))
    await session.flush()
    return change


async def journal(session: AsyncSession, *, limit: int = 50) -> list[dict[str, Any]]:
    result = await session.execute(select(StatusMapJournal).order_by(StatusMapJournal.id.desc()).limit(limit))
    return [
        {"id": j.id, "changed_at": j.changed_at.isoformat(), "changed_by": j.changed_by, "diff": j.diff}
        for j in result.scalars()
    ]


@dataclass(slots=True)
class Link:
    order_id: str
    entity: str
    invoice_id: int
    origin: str
    b24_hash: str | None
    rows_hash: str | None
    state: str
    reason: str | None
    applied_1c: str | None = None  # digest of the last 1C document applied
    export_rows_hash: str | None = None  # rows as last queued for 1C (agreed once 1C confirms)


def _link(row: InvoiceLink) -> Link:
    return Link(
        row.order_id,
        row.entity,
        row.invoice_id,
        row.origin,
        row.b24_hash,
        row.rows_hash,
        row.state,
        row.reason,
        row.applied_1c,
        row.export_rows_hash,
    )


async def get_link(session: AsyncSession, order_id: str) -> Link | None:
    row = await session.get(InvoiceLink, order_id)
    return None if row is None else _link(row)


async def links_by_invoice(session: AsyncSession, entity: str, invoice_ids: list[int]) -> dict[int, Link]:
    out: dict[int, Link] = {}
    for start in range(0, len(invoice_ids), 500):
        block = invoice_ids[start : start + 500]
        result = await session.execute(
            select(InvoiceLink).where(InvoiceLink.entity == entity, InvoiceLink.invoice_id.in_(block))
        )
        out.update({row.invoice_id: _link(row) for row in result.scalars()})
    return out


async def put_links(session: AsyncSession, links: list[Link]) -> None:
    """Insert or update many links (one read, one flush)."""
    existing: dict[str, InvoiceLink] = {}
    ids = [link.order_id for link in links]
    for start in range(0, len(ids), 500):
        result = await session.execute(
            select(InvoiceLink).where(InvoiceLink.order_id.in_(ids[start : start + 500]))
        )
        existing.update({row.order_id: row for row in result.scalars()})
    now = _now()
    for link in links:
        row = existing.get(link.order_id)
        if row is None:
            row = existing[link.order_id] = InvoiceLink(order_id=link.order_id)
            session.add(row)
        row.entity, row.invoice_id, row.origin = link.entity, link.invoice_id, link.origin
        row.b24_hash, row.rows_hash, row.state, row.reason = (
            link.b24_hash,
            link.rows_hash,
            link.state,
            link.reason,
        )
        row.applied_1c, row.export_rows_hash = link.applied_1c, link.export_rows_hash
        row.updated_at = now
    await session.flush()


async def link_by_invoice(session: AsyncSession, entity: str, invoice_id: int) -> Link | None:
    result = await session.execute(
        select(InvoiceLink).where(InvoiceLink.entity == entity, InvoiceLink.invoice_id == invoice_id)
    )
    row = result.scalar_one_or_none()
    return None if row is None else _link(row)


async def put_link(session: AsyncSession, link: Link) -> None:
    row = await session.get(InvoiceLink, link.order_id)
    if row is None:
        row = InvoiceLink(order_id=link.order_id)
        session.add(row)
    row.entity, row.invoice_id, row.origin = link.entity, link.invoice_id, link.origin
    row.b24_hash, row.rows_hash, row.state, row.reason = (
        link.b24_hash,
        link.rows_hash,
        link.state,
        link.reason,
    )
    row.applied_1c, row.export_rows_hash = link.applied_1c, link.export_rows_hash
    row.updated_at = _now()
    await session.flush()


async def confirm_rows(session: AsyncSession, order_ids: list[str]) -> None:
    """1C confirmed these orders: the rows it received become the agreed composition."""
    result = await session.execute(select(InvoiceLink).where(InvoiceLink.order_id.in_(order_ids)))
    for row in result.scalars():
        if row.export_rows_hash is not None:
            row.rows_hash = row.export_rows_hash
    await session.flush()


async def waiting(session: AsyncSession) -> list[dict[str, Any]]:
    result = await session.execute(select(InvoiceLink).where(InvoiceLink.state == "waiting").limit(1000))
    return [
        {"order_id": r.order_id, "invoice_id": r.invoice_id, "entity": r.entity, "reason": r.reason}
        for r in result.scalars()
    ]


async def orders_from_package(session: AsyncSession, package_id: str) -> list[Document]:
    """Orders 1C's upload ``package_id`` changed (documents with an unchanged НомерВерсии are not here)."""
    result = await session.execute(
        select(_ORDERS.c.id, _ORDERS.c.data)
        .where(_ORDERS.c.last_seen_package == package_id, _ORDERS.c.changed_by == FROM_1C)
        .order_by(_ORDERS.c.id)
    )
    return [decode(Document, data) for _, data in result.all()]


async def order_ids_by_number(session: AsyncSession, numbers: list[str]) -> list[str]:
    """Ids of the orders (not payments or shipments) whose ``Номер`` is one of ``numbers``."""
    result = await session.execute(
        select(_ORDERS.c.id, _ORDERS.c.operation)
        .where(_ORDERS.c.number.in_(sorted(set(numbers))))
        .order_by(_ORDERS.c.id)
    )
    return [str(i) for i, operation in result.all() if operation in (None, "Заказ товара")]


async def order_document(session: AsyncSession, order_id: str) -> Document | None:
    result = await session.execute(select(_ORDERS.c.data).where(_ORDERS.c.id == order_id))
    data = result.scalar_one_or_none()
    return None if data is None else decode(Document, data)


async def add_pending(session: AsyncSession, order_id: str, error: str | None) -> None:
    row = await session.get(InvoicePending, order_id)
    if row is None:
        session.add(InvoicePending(order_id=order_id, attempts=1, last_error=error, updated_at=_now()))
    else:
        row.attempts += 1
        row.last_error, row.updated_at = error, _now()
    await session.flush()


async def drop_pending(session: AsyncSession, order_id: str) -> None:
    await session.execute(delete(InvoicePending).where(InvoicePending.order_id == order_id))


async def pending(session: AsyncSession, *, limit: int = 100) -> list[str]:
    result = await session.execute(
        select(InvoicePending.order_id).order_by(InvoicePending.updated_at).limit(limit)
    )
    return list(result.scalars())


async def ids_by_article(session: AsyncSession, articles: list[str]) -> dict[str, str]:
    """1C ``Ид`` of the catalog's products by article (from 1C's own catalog in our store).

    Only articles that name exactly one live product; an article shared by several products is
    ambiguous and left out (the line then goes to 1C without a 1C ``Ид``, as before).
    """
    products = cast(Table, tables.Product.__table__)
    found: dict[str, set[str]] = {}
    wanted = sorted(set(articles))
    for start in range(0, len(wanted), 500):
        result = await session.execute(
            select(products.c.article, products.c.id).where(
                products.c.article.in_(wanted[start : start + 500]), products.c.deleted.is_(False)
            )
        )
        for article, product_id in result.all():
            found.setdefault(str(article), set()).add(str(product_id))
    return {article: next(iter(ids)) for article, ids in found.items() if len(ids) == 1}


async def get_bookmark(session: AsyncSession, key: str) -> str | None:
    row = await session.get(SyncState, key)
    return None if row is None else row.value


async def set_bookmark(session: AsyncSession, key: str, value: str) -> None:
    row = await session.get(SyncState, key)
    if row is None:
        session.add(SyncState(key=key, value=value))
    else:
        row.value = value
    await session.flush()
