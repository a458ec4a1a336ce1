"""Orders: saving documents (from 1C or from the site side), selecting what 1C must fetch, committing it.

Theory of operation (protocol §9.8-§9.9)
-----------------------------------------
Every order has a local ``revision`` (bumped on each change, whoever made it), the
``exported_revision`` 1C confirmed with ``mode=success``, and ``changed_by`` (``1c`` or ``site``).

* ``mode=query`` returns orders with ``revision > exported_revision`` whose last change did not come
  from 1C (1C-Bitrix's ``UPDATED_1C`` flag: no echo of 1C's own changes). The document's
  ``НомерВерсии`` in the answer is the revision.
* ``mode=success`` stores, per order, the revision that query returned; an order changed meanwhile
  has a higher revision and goes out again.
* A document uploaded by 1C whose ``НомерВерсии`` (or content) equals the stored one is skipped.

Functions take an :class:`AsyncSession`; the caller commits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerceml.model import Document
from exchange_server.db import tables
from exchange_server.store.catalog import CHILD_TABLES
from exchange_server.store.codec import CodecError, decode
from exchange_server.store.dialect import upsert
from exchange_server.store.rows import CHILD_COLUMNS, EntityRow, Kind, order_row

__all__ = [
    "FROM_1C",
    "FROM_SITE",
    "ORDER_OPERATIONS",
    "PAYMENT_OPERATIONS",
    "SHIPMENT_OPERATIONS",
    "SUBORDINATE_OPERATIONS",
    "SaveResult",
    "commit_exported",
    "is_order",
    "is_stored",
    "is_subordinate",
    "pending_orders",
    "save_orders",
]

FROM_1C: Final = "1c"
FROM_SITE: Final = "site"

ORDER_OPERATIONS: Final = frozenset({"Заказ товара"})
"""``ХозОперация`` values that are orders; payments and shipments are other documents (§9.9)."""
PAYMENT_OPERATIONS: Final = frozenset(
    {"Выплата безналичных денег", "Выплата наличных денег", "Эквайринговая операция", "Оплата"}
)
SHIPMENT_OPERATIONS: Final = frozenset({"Отпуск товара", "Отгрузка"})
SUBORDINATE_OPERATIONS: Final = PAYMENT_OPERATIONS | SHIPMENT_OPERATIONS
"""2.10 payments and shipments of an order (``Основание`` = the order's number, §9.6): stored as sent,
with ``changed_by`` 1C, so they are never exported back; the invoice sync applies them to the order."""

_ORDERS = cast(Table, tables.Order.__table__)


@dataclass(slots=True)
class SaveResult:
    """Documents written, skipped as unchanged, and the ids written (in the order given)."""

    written: int = 0
    skipped: int = 0
    ids: list[str] = dataclasses.field(default_factory=list)


def is_order(document: Document) -> bool:
    """A document is an order when its ``ХозОперация`` says so (or it does not say anything)."""
    return document.operation is None or document.operation in ORDER_OPERATIONS


def is_subordinate(document: Document) -> bool:
    """A 2.10 payment or shipment document (linked to its order by ``Основание``)."""
    return document.operation is not None and document.operation.strip() in SUBORDINATE_OPERATIONS


def is_stored(document: Document) -> bool:
    """Orders and their payments/shipments are kept; other documents are remarked and dropped."""
    return is_order(document) or is_subordinate(document)


async def save_orders(
    session: AsyncSession, documents: Iterable[Document], *, source: str, package_id: str | None = None
) -> SaveResult:
    """Insert or update orders in one round trip per statement; unchanged documents are skipped.

    Args:
        documents: the orders (call :func:`is_order` first to leave out payments and shipments).
        source: :data:`FROM_1C` for documents uploaded by 1C, :data:`FROM_SITE` for local changes
            (those go to 1C on the next ``mode=query``).
        package_id: the upload package, for the journal.
    """
    if source not in (FROM_1C, FROM_SITE):
        raise ValueError(f"unknown order source {source!r}")
    rows = list({r.id: r for r in map(order_row, documents)}.values())
    if not rows:
        return SaveResult()
    stored_result = await session.execute(
        select(_ORDERS.c.id, _ORDERS.c.version, _ORDERS.c.content_hash, _ORDERS.c.revision).where(
            _ORDERS.c.id.in_([r.id for r in rows])
        )
    )
    stored = {r.id: r for r in stored_result.all()}
    now = dt.datetime.now(dt.UTC)
    changed: list[EntityRow] = []
    values: list[dict[str, Any]] = []
    for row in rows:
        old = stored.get(row.id)
        if old is not None and (
            (row.version is not None and row.version == old.version) or row.content_hash == old.content_hash
        ):
            continue
        changed.append(row)
        values.append(
            {
                "id": row.id,
                **row.values,
                "active": not row.deleted,
                "deleted": row.deleted,
                "version": row.version,
                "content_hash": row.content_hash,
                "last_seen_package": package_id,
                "data": json.loads(row.data_json),
                "created_at": now,
                "updated_at": now,
                "revision": (old.revision + 1) if old is not None else 1,
                "exported_revision": 0,
                "changed_by": source,
            }
        )
    if values:
        await upsert(
            session,
            _ORDERS,
            values,
            keys=["id"],
            update=[c for c in values[0] if c not in ("id", "created_at", "exported_revision")],
        )
        for child, parent_key in CHILD_TABLES[Kind.ORDER]:
            stale = [r.id for r in changed]  # also new ones: a concurrent upload may have added them
            if stale:
                await session.execute(child.delete().where(child.c[parent_key].in_(stale)))
            columns = CHILD_COLUMNS[child.name]
            fresh = [
                dict(zip(columns, c, strict=True)) for r in changed for c in r.children.get(child.name, ())
            ]
            if fresh:
                await session.execute(child.insert(), fresh)
    return SaveResult(written=len(changed), skipped=len(rows) - len(changed), ids=[r.id for r in changed])


async def pending_orders(session: AsyncSession, *, limit: int) -> list[Document]:
    """Orders 1C has not confirmed yet (oldest change first), ``version`` set to the revision.

    Raises:
        CodecError: a stored order cannot be read back (the row was written by something else).
    """
    result = await session.execute(
        select(_ORDERS.c.id, _ORDERS.c.revision, _ORDERS.c.data)
        .where(_ORDERS.c.revision > _ORDERS.c.exported_revision, _ORDERS.c.changed_by != FROM_1C)
        .order_by(_ORDERS.c.updated_at, _ORDERS.c.id)
        .limit(limit)
    )
    documents: list[Document] = []
    for order_id, revision, data in result.all():
        try:
            document = decode(Document, data)
        except CodecError as exc:
            raise CodecError(f"order {order_id}: {exc}") from exc
        documents.append(dataclasses.replace(document, id=order_id, version=str(revision)))
    return documents


async def commit_exported(session: AsyncSession, exported: Sequence[tuple[str, str]]) -> int:
    """Record that 1C received these (order id, version) pairs; returns how many orders moved on.

    A version that is not a revision number we issued is ignored (it cannot come from our query).
    """
    params = []
    for order_id, version in exported:
        try:
            revision = int(version)
        except (TypeError, ValueError):
            continue
        params.append({"b_id": order_id, "b_revision": revision})
    if not params:
        return 0
    result = await session.execute(
        update(_ORDERS)
        .where(_ORDERS.c.id == bindparam("b_id"), _ORDERS.c.exported_revision < bindparam("b_revision"))
        .values(exported_revision=bindparam("b_revision")),
        params,
    )
    return int(getattr(result, "rowcount", 0) or 0)
