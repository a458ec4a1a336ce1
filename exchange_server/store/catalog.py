"""Writing catalog batches: upserts by 1C Ид, skipping unchanged entities, and the end-of-package sweep.

Each function takes an :class:`AsyncSession` and a batch of rows built by ``exchange_server.store.rows``
and issues a constant number of statements per batch (one select of the stored versions, one
executemany upsert, one delete + one executemany insert per child table, one touch), whatever the
batch size: no per-row round trips. The caller commits.

Theory of operation
-------------------
* A stored entity whose ``НомерВерсии`` equals the received one, or whose content hash does, is
  *unchanged*: it is only touched (``last_seen_package``, and reactivated unless 1C deleted it).
* Anything else is written whole, and its child rows (groups, properties, images, variants) are
  replaced.
* Offers are written per part (:class:`~exchange_server.store.rows.OfferRow`): a part the file does not
  carry is left as stored, so a 3.1 ``prices___`` file never clears stock and vice versa.
* The sweep (:func:`sweep_package`) deactivates, never deletes, the entities of the kinds a package
  carried as full lists that the package did not contain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange_server.db import tables
from exchange_server.db.base import Base
from exchange_server.store.dialect import insert_missing, upsert
from exchange_server.store.rows import CATALOG_KINDS, EntityRow, Kind, OfferRow

__all__ = [
    "CHILD_TABLES",
    "DEACTIVATE_KINDS",
    "TABLES",
    "BatchResult",
    "record_scope",
    "sweep_package",
    "write_entities",
    "write_offers",
]


def _t(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


TABLES: Final[dict[Kind, Table]] = {
    Kind.GROUP: _t(tables.Group),
    Kind.PROPERTY: _t(tables.Property),
    Kind.PRICE_TYPE: _t(tables.PriceType),
    Kind.WAREHOUSE: _t(tables.Warehouse),
    Kind.UNIT: _t(tables.Unit),
    Kind.PRODUCT: _t(tables.Product),
    Kind.OFFER: _t(tables.Offer),
    Kind.ORDER: _t(tables.Order),
}

CHILD_TABLES: Final[dict[Kind, tuple[tuple[Table, str], ...]]] = {
    Kind.PROPERTY: ((_t(tables.PropertyVariant), "property_id"),),
    Kind.PRODUCT: (
        (_t(tables.ProductGroup), "product_id"),
        (_t(tables.ProductProperty), "product_id"),
        (_t(tables.ProductImage), "product_id"),
    ),
    Kind.ORDER: ((_t(tables.OrderLine), "order_id"),),
}

DEACTIVATE_KINDS: Final = (Kind.GROUP, Kind.PRODUCT, Kind.OFFER)
"""What ``mode=deactivate`` hides when not seen (protocol §3.5: products, offers, groups)."""


_OFFER_PRICES = _t(tables.OfferPrice)
_OFFER_STOCK = _t(tables.OfferStock)
_SCOPES = _t(tables.ImportScope)


@dataclass(slots=True)
class BatchResult:
    """What a batch did: entities written (new or changed) and entities skipped as unchanged."""

    written: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class _Stored:
    version: str | None
    content_hash: str
    active: bool
    deleted: bool
    prices_hash: str | None = None
    stock_hash: str | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


R = TypeVar("R", EntityRow, OfferRow)


def _unique_by_id(rows: Iterable[R]) -> list[R]:
    return list({row.id: row for row in rows}.values())


def _unchanged(row: EntityRow, stored: _Stored | None) -> bool:
    if stored is None:
        return False
    if row.version is not None and row.version == stored.version:
        return True  # 1C's НомерВерсии did not move: skip (protocol §9.9, 1C-Bitrix behaviour)
    return row.content_hash == stored.content_hash


async def _stored(session: AsyncSession, table: Table, ids: Sequence[str]) -> dict[str, _Stored]:
    columns = [table.c.id, table.c.version, table.c.content_hash, table.c.active, table.c.deleted]
    if "prices_hash" in table.c:
        columns += [table.c.prices_hash, table.c.stock_hash]
    result = await session.execute(select(*columns).where(table.c.id.in_(ids)))
    return {r[0]: _Stored(*r[1:]) for r in result.all()}


def _main_row(row: EntityRow, package_id: str | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        **row.values,
        "active": not row.deleted,
        "deleted": row.deleted,
        "version": row.version,
        "content_hash": row.content_hash,
        "last_seen_package": package_id,
        "data": row.data,
        "created_at": now,
        "updated_at": now,
    }


async def _touch(session: AsyncSession, table: Table, ids: list[str], package_id: str | None) -> None:
    """Mark unchanged entities as seen in this package; bring back those a sweep had hidden."""
    if ids:
        await session.execute(
            update(table)
            .where(table.c.id.in_(ids))
            .values(last_seen_package=package_id, active=~table.c.deleted)
        )


async def _replace_children(
    session: AsyncSession, kind: Kind, rows: Sequence[EntityRow], existing: set[str]
) -> None:
    for child, parent_key in CHILD_TABLES.get(kind, ()):
        stale = [r.id for r in rows if r.id in existing]
        if stale:
            await session.execute(delete(child).where(child.c[parent_key].in_(stale)))
        fresh = [c for r in rows for c in r.children.get(child.name, ())]
        if fresh:
            await session.execute(child.insert(), fresh)


async def write_entities(
    session: AsyncSession, kind: Kind, rows: Iterable[EntityRow], package_id: str | None
) -> BatchResult:
    """Upsert a batch of classifier entities or products (not offers: :func:`write_offers`)."""
    if kind is Kind.OFFER:
        raise ValueError("offers are written with write_offers")
    table = TABLES[kind]
    batch = _unique_by_id(rows)
    if not batch:
        return BatchResult()
    stored = await _stored(session, table, [r.id for r in batch])
    changed = [r for r in batch if not _unchanged(r, stored.get(r.id))]
    now = _now()
    columns = list(_main_row(batch[0], package_id, now))
    await upsert(
        session,
        table,
        [_main_row(r, package_id, now) for r in changed],
        keys=["id"],
        update=[c for c in columns if c not in ("id", "created_at")],
    )
    await _replace_children(session, kind, changed, set(stored))
    changed_ids = {r.id for r in changed}
    await _touch(session, table, [r.id for r in batch if r.id not in changed_ids], package_id)
    return BatchResult(written=len(changed), skipped=len(batch) - len(changed))


async def write_offers(
    session: AsyncSession, rows: Iterable[OfferRow], package_id: str | None
) -> BatchResult:
    """Upsert a batch of offers part by part (description, prices, stock); see the module docstring."""
    table = TABLES[Kind.OFFER]
    batch = _unique_by_id(rows)
    if not batch:
        return BatchResult()
    stored = await _stored(session, table, [r.id for r in batch])
    now = _now()

    described = [r for r in batch if r.description is not None]
    desc_changed = [r for r in described if not _unchanged(r.description, stored.get(r.id))]  # type: ignore[arg-type]
    desc_rows = [_main_row(r.description, package_id, now) for r in desc_changed]  # type: ignore[arg-type]
    if desc_rows:
        await upsert(
            session,
            table,
            desc_rows,
            keys=["id"],
            update=[c for c in desc_rows[0] if c not in ("id", "created_at")],
        )
    # An offer known only from a prices/rests file: keep it (pending) until its description arrives.
    stubs = [r for r in batch if r.description is None and r.id not in stored]
    await insert_missing(session, table, [_stub(r, package_id, now) for r in stubs], keys=["id"])

    desc_changed_ids = {r.id for r in desc_changed}
    await _touch(session, table, [r.id for r in described if r.id not in desc_changed_ids], package_id)
    seen_only = [r.id for r in batch if r.description is None and r.id in stored]
    if seen_only:
        await session.execute(
            update(table).where(table.c.id.in_(seen_only)).values(last_seen_package=package_id)
        )

    prices = [
        r
        for r in batch
        if r.prices is not None and (r.id not in stored or stored[r.id].prices_hash != r.prices_hash)
    ]
    stock = [
        r
        for r in batch
        if r.stock_hash is not None and (r.id not in stored or stored[r.id].stock_hash != r.stock_hash)
    ]
    await _write_prices(session, table, prices, now)
    await _write_stock(session, table, stock, now)
    written = len(desc_changed_ids | {r.id for r in stubs} | {r.id for r in prices} | {r.id for r in stock})
    return BatchResult(written=written, skipped=len(batch) - written)


def _stub(row: OfferRow, package_id: str | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "product_id": row.product_id,
        "characteristic_id": row.characteristic_id,
        "active": True,
        "deleted": False,
        "version": None,
        "content_hash": "",
        "last_seen_package": package_id,
        "data": {"id": row.id},
        "created_at": now,
        "updated_at": now,
    }


async def _write_prices(session: AsyncSession, table: Table, rows: list[OfferRow], now: dt.datetime) -> None:
    if not rows:
        return
    await session.execute(
        update(table).where(table.c.id == bindparam("b_id")).values(prices_hash=bindparam("b_hash")),
        [{"b_id": r.id, "b_hash": r.prices_hash} for r in rows],
    )
    await session.execute(delete(_OFFER_PRICES).where(_OFFER_PRICES.c.offer_id.in_([r.id for r in rows])))
    fresh = [{**p, "updated_at": now} for r in rows for p in r.prices or ()]
    if fresh:
        await session.execute(_OFFER_PRICES.insert(), fresh)


async def _write_stock(session: AsyncSession, table: Table, rows: list[OfferRow], now: dt.datetime) -> None:
    if not rows:
        return
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(stock_hash=bindparam("b_hash"), quantity=bindparam("b_quantity")),
        [{"b_id": r.id, "b_hash": r.stock_hash, "b_quantity": r.quantity} for r in rows],
    )
    per_warehouse = [r for r in rows if r.stock is not None]
    if per_warehouse:
        await session.execute(
            delete(_OFFER_STOCK).where(_OFFER_STOCK.c.offer_id.in_([r.id for r in per_warehouse]))
        )
        fresh = [{**s, "updated_at": now} for r in per_warehouse for s in r.stock or ()]
        if fresh:
            await session.execute(_OFFER_STOCK.insert(), fresh)


async def record_scope(
    session: AsyncSession, package_id: str, file: str, counts: dict[Kind, int], changes_only: bool | None
) -> None:
    """Remember which kinds ``file`` carried in ``package_id`` (idempotent per file)."""
    rows = [
        {"package_id": package_id, "file": file, "kind": str(kind), "changes_only": changes_only, "count": n}
        for kind, n in counts.items()
        if n
    ]
    await upsert(
        session, _SCOPES, rows, keys=["package_id", "file", "kind"], update=["changes_only", "count"]
    )


async def sweep_package(
    session: AsyncSession, package_id: str, *, deactivate_unseen: bool
) -> dict[Kind, int]:
    """Deactivate what the package should have contained but did not; returns the counts per kind.

    * Kinds that every file of the package carried as a full list (``СодержитТолькоИзменения`` false or
      absent) are swept: a full package is a snapshot (protocol §7.2).
    * With ``deactivate_unseen`` (``mode=deactivate``, protocol §3.5) products, offers and groups the
      package touched are swept as well, unless its catalog files were changes-only.
    * A changes-only package never sweeps.
    """
    result = await session.execute(
        select(_SCOPES.c.kind, _SCOPES.c.changes_only, _SCOPES.c.count).where(
            _SCOPES.c.package_id == package_id
        )
    )
    full: dict[Kind, bool] = {}
    for kind_name, changes_only, count in result.all():
        kind = Kind(kind_name)
        if count:
            full[kind] = full.get(kind, True) and not changes_only
    kinds = {k for k, is_full in full.items() if is_full}
    if deactivate_unseen:
        catalog_flags = [full[k] for k in (Kind.GROUP, Kind.PRODUCT) if k in full] or [
            full[k] for k in (Kind.OFFER,) if k in full
        ]
        if all(catalog_flags):
            kinds |= {k for k in DEACTIVATE_KINDS if k in full}
    swept: dict[Kind, int] = {}
    now = _now()
    for kind in CATALOG_KINDS:
        if kind not in kinds:
            continue
        table = TABLES[kind]
        outcome = await session.execute(
            update(table)
            .where(
                table.c.active.is_(True),
                (table.c.last_seen_package.is_(None)) | (table.c.last_seen_package != package_id),
            )
            .values(active=False, updated_at=now)
        )
        swept[kind] = int(getattr(outcome, "rowcount", 0) or 0)
    return swept
