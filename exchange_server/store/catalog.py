"""Writing catalog batches: upserts by 1C Ид, skipping unchanged entities, and the end-of-package sweep.

Each function takes an :class:`AsyncSession` and a batch of rows built by ``exchange_server.store.rows``
and issues a constant number of set-based statements per batch (one select of the stored versions,
one upsert, one delete + one insert per child table, one touch; see ``exchange_server.store.bulk``),
whatever the batch size: no per-row round trips, no per-row ORM or Core work. The caller commits.

Theory of operation
-------------------
* A stored entity whose ``НомерВерсии`` equals the received one, or whose content hash does, is
  *unchanged*: it is only touched (``last_seen_package``, and reactivated unless 1C deleted it); a
  touch that would not change the row writes nothing (the same package imported again).
* Anything else is written whole, and its child rows (groups, properties, images, variants) are
  replaced.
* Offers are written per part (:class:`~exchange_server.store.rows.OfferRow`): a part the file does not
  carry is left as stored, so a 3.1 ``prices___`` file never clears stock and vice versa.
* The sweep (:func:`sweep_package`) deactivates, never deletes, the entities of the kinds a package
  carried as full lists that the package did not contain.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange_server.db import tables
from exchange_server.db.base import Base
from exchange_server.store.bulk import Bulk
from exchange_server.store.codec import dumps
from exchange_server.store.dialect import upsert
from exchange_server.store.rows import (
    CATALOG_KINDS,
    CHILD_COLUMNS,
    PRICE_COLUMNS,
    STOCK_COLUMNS,
    EntityRow,
    Kind,
    OfferRow,
)

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
    """The last row of each Ид, in Ид order: concurrent imports then lock shared rows in one order."""
    return sorted({row.id: row for row in rows}.values(), key=_by_id)


def _by_id(row: EntityRow | OfferRow) -> str:
    return row.id


def _unchanged(row: EntityRow, stored: _Stored | None) -> bool:
    if stored is None:
        return False
    if row.version is not None and row.version == stored.version:
        return True  # 1C's НомерВерсии did not move: skip (protocol §9.9, 1C-Bitrix behaviour)
    return row.content_hash == stored.content_hash


_STORED_COLUMNS: Final = ("id", "version", "content_hash", "active", "deleted")
_OFFER_STORED_COLUMNS: Final = (*_STORED_COLUMNS, "prices_hash", "stock_hash")
_TRACKED: Final = ("active", "deleted", "version", "content_hash", "data")
"""Bookkeeping columns of a written row, after the key and the kind's own columns."""


async def _stored(bulk: Bulk, table: Table, ids: Sequence[str]) -> dict[str, _Stored]:
    columns = _OFFER_STORED_COLUMNS if "prices_hash" in table.c else _STORED_COLUMNS
    return {r[0]: _Stored(*r[1:]) for r in await bulk.select_in(table, columns, "id", ids)}


def _main_columns(row: EntityRow) -> tuple[str, ...]:
    return ("id", *row.values, *_TRACKED)


def _main_values(row: EntityRow) -> tuple[Any, ...]:
    return (
        row.id,
        *row.values.values(),
        not row.deleted,
        row.deleted,
        row.version,
        row.content_hash,
        row.data_json,
    )


def _stamps(package_id: str | None, now: dt.datetime) -> dict[str, Any]:
    return {"last_seen_package": package_id, "created_at": now, "updated_at": now}


def _overwritten(columns: Sequence[str], consts: dict[str, Any]) -> list[str]:
    return [c for c in (*columns, *consts) if c not in ("id", "created_at")]


def _maybe_stored(bulk: Bulk, ids: Iterable[str], stored: dict[str, _Stored]) -> list[str]:
    """The parents whose child rows may exist: those stored before this batch; on PostgreSQL all.

    There a concurrent import (another 1C node) may have inserted the same new entity and its children
    since our select; our upsert waited for that transaction to commit, so the delete sees them now.
    """
    if bulk.snapshot_is_locked:
        return [i for i in ids if i in stored]
    return list(ids)


async def _replace_children(
    bulk: Bulk, kind: Kind, rows: Sequence[EntityRow], stored: dict[str, _Stored]
) -> None:
    stale = _maybe_stored(bulk, (r.id for r in rows), stored)
    for child, parent_key in CHILD_TABLES.get(kind, ()):
        await bulk.delete_in(child, parent_key, stale)
        fresh = [c for r in rows for c in r.children.get(child.name, ())]
        await bulk.insert(child, CHILD_COLUMNS[child.name], fresh)


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
    bulk = await Bulk.of(session)
    stored = await _stored(bulk, table, [r.id for r in batch])
    changed: list[EntityRow] = []
    touched: list[tuple[Any, ...]] = []
    for r in batch:
        old = stored.get(r.id)
        if _unchanged(r, old):
            touched.append((r.id, not old.deleted))  # type: ignore[union-attr]  # unchanged => stored
        else:
            changed.append(r)
    if changed:
        columns = _main_columns(changed[0])
        consts = _stamps(package_id, _now())
        await bulk.insert(
            table,
            columns,
            [_main_values(r) for r in changed],
            consts=consts,
            keys=("id",),
            update=_overwritten(columns, consts),
        )
        await _replace_children(bulk, kind, changed, stored)
    # Unchanged: only marked as seen in this package (and brought back if a sweep had hidden them).
    await bulk.update(table, ("id", "active"), touched, consts={"last_seen_package": package_id})
    return BatchResult(written=len(changed), skipped=len(batch) - len(changed))


async def write_offers(
    session: AsyncSession, rows: Iterable[OfferRow], package_id: str | None
) -> BatchResult:
    """Upsert a batch of offers part by part (description, prices, stock); see the module docstring.

    Every offer costs one row write at most: the parts a row needs (description, prices hash, stock
    hash and quantity) are grouped into one insert or update per combination of parts.
    """
    table = TABLES[Kind.OFFER]
    batch = _unique_by_id(rows)
    if not batch:
        return BatchResult()
    bulk = await Bulk.of(session)
    stored = await _stored(bulk, table, [r.id for r in batch])
    now = _now()
    consts = _stamps(package_id, now)
    upserts: defaultdict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
    stubs: defaultdict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
    updates: defaultdict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
    prices: list[OfferRow] = []
    stock: list[OfferRow] = []
    written = 0
    for r in batch:
        old = stored.get(r.id)
        part_columns: tuple[str, ...] = ()
        part_values: tuple[Any, ...] = ()
        if r.prices is not None and (old is None or old.prices_hash != r.prices_hash):
            prices.append(r)
            part_columns, part_values = ("prices_hash",), (r.prices_hash,)
        if r.stock_hash is not None and (old is None or old.stock_hash != r.stock_hash):
            stock.append(r)
            part_columns += ("stock_hash", "quantity")
            part_values += (r.stock_hash, r.quantity)
        desc = r.description
        if desc is not None and not _unchanged(desc, old):
            upserts[_main_columns(desc) + part_columns].append(_main_values(desc) + part_values)
        elif old is None:
            # Known only from a prices/rests file: kept (pending) until its description arrives.
            stubs[_STUB_COLUMNS + part_columns].append(_stub(r) + part_values)
        else:
            if desc is not None:  # unchanged description: touched, reactivated unless 1C deleted it
                updates[("id", "active", *part_columns)].append((r.id, not old.deleted, *part_values))
            else:
                updates[("id", *part_columns)].append((r.id, *part_values))
            if not part_columns:
                continue
        written += 1
    for columns, group in upserts.items():
        await bulk.insert(
            table, columns, group, consts=consts, keys=("id",), update=_overwritten(columns, consts)
        )
    for columns, group in stubs.items():
        update = [c for c in columns if c in _PART_COLUMNS] + ["last_seen_package"]
        await bulk.insert(table, columns, group, consts=consts, keys=("id",), update=update)
    for columns, group in updates.items():
        await bulk.update(table, columns, group, consts={"last_seen_package": package_id})
    await bulk.delete_in(_OFFER_PRICES, "offer_id", _maybe_stored(bulk, (r.id for r in prices), stored))
    await bulk.insert(
        _OFFER_PRICES, PRICE_COLUMNS, [p for r in prices for p in r.prices or ()], consts={"updated_at": now}
    )
    per_warehouse = [r for r in stock if r.stock is not None]
    await bulk.delete_in(_OFFER_STOCK, "offer_id", _maybe_stored(bulk, (r.id for r in per_warehouse), stored))
    await bulk.insert(
        _OFFER_STOCK,
        STOCK_COLUMNS,
        [s for r in per_warehouse for s in r.stock or ()],
        consts={"updated_at": now},
    )
    return BatchResult(written=written, skipped=len(batch) - written)


_STUB_COLUMNS: Final = ("id", "product_id", "characteristic_id", *_TRACKED)
_PART_COLUMNS: Final = ("prices_hash", "stock_hash", "quantity")


def _stub(row: OfferRow) -> tuple[Any, ...]:
    return (row.id, row.product_id, row.characteristic_id, True, False, None, "", dumps({"id": row.id}))


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
