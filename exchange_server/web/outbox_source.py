"""The admin pages' view of the Bitrix24 outbox (``exchange_server.outbox``, issue 5) and of the invoice
links (``b24_bridge.invoices``, issue 6): the outbox page's source and the "Bitrix24 sync" state of a
product and of an order. Reads the real tables; writes only through the outbox's own ``retry_failed``,
except *skip* (see :meth:`DbOutbox.skip`).

Every function takes an open session or the sessionmaker; no aiohttp here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from b24_bridge.invoices.tables import InvoiceLink, InvoicePending
from exchange_server.outbox import queue
from exchange_server.outbox.tables import FAILED, PENDING, RUNNING, OutboxRow
from exchange_server.web.extensions import JobNotFound, OutboxJob

__all__ = [
    "SKIPPED",
    "DbOutbox",
    "EntitySync",
    "OrderSync",
    "order_sync",
    "orders_sync",
    "product_sync",
]

T: Table = OutboxRow.__table__  # type: ignore[assignment]
SKIPPED: Final = "skipped"
"""The state *Skip* leaves a failed job in: never claimed, kept with its error; a later change of the
entity in 1C (a new plan with another hash) makes it pending again through the outbox's own upsert."""
_LISTED: Final[Mapping[str, tuple[str, ...]]] = {"pending": (PENDING, RUNNING), "failed": (FAILED,)}


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)  # SQLite hands timestamps back naive


def _job_id(job_id: str) -> int:
    if not job_id.isdigit() or len(job_id) > 18:
        raise JobNotFound(job_id)
    return int(job_id)


class DbOutbox:
    """:class:`exchange_server.web.extensions.OutboxSource` over the ``b24_outbox`` table.

    ``pending`` lists the jobs waiting or being pushed right now (``running``); ``failed`` the parked
    ones with their last error. The counts also feed the ``cml_outbox_jobs`` gauge (see
    :attr:`last_counts`, refreshed at every :meth:`counts`).
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, now: Any = None) -> None:
        self.sessionmaker = sessionmaker
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self.last_counts: dict[str, int] = {"pending": 0, "failed": 0}

    async def counts(self) -> Mapping[str, int]:
        async with self.sessionmaker() as session:
            status = await queue.status(session)
        self.last_counts = {"pending": status[PENDING] + status[RUNNING], "failed": status[FAILED]}
        return dict(self.last_counts)

    async def jobs(self, state: str, *, limit: int, offset: int) -> tuple[int, Sequence[OutboxJob]]:
        states = _LISTED.get(state)
        if states is None:
            raise ValueError(f"unknown outbox state {state!r}")
        where = T.c.state.in_(states)
        async with self.sessionmaker() as session:
            total = await session.scalar(select(func.count()).select_from(T).where(where)) or 0
            rows = await session.execute(
                select(
                    T.c.id, T.c.kind, T.c.key, T.c.state, T.c.attempts, T.c.error, T.c.created_at,
                    T.c.not_before, T.c.updated_at,
                )
                .where(where)
                .order_by(T.c.phase, T.c.id)
                .limit(limit)
                .offset(offset)
            )  # fmt: skip
            jobs = [
                OutboxJob(
                    id=str(r.id),
                    action=f"{r.kind} push",
                    entity_id=r.key,
                    state=r.state,
                    attempts=int(r.attempts),
                    error=r.error,
                    created_at=_utc(r.created_at),
                    next_attempt_at=_utc(r.not_before) or _utc(r.updated_at) if r.state == PENDING else None,
                )
                for r in rows.all()
            ]
        return int(total), jobs

    async def retry(self, job_id: str) -> None:
        """The outbox's own ``retry_failed`` for this one job (pending, attempts from zero)."""
        ident = _job_id(job_id)
        async with self.sessionmaker.begin() as session:
            if not await queue.retry_failed(session, self._now(), [ident]):
                raise JobNotFound(job_id)

    async def skip(self, job_id: str) -> None:
        """Park a failed job for good: state ``skipped``, error kept (``queue`` has no skip of its own)."""
        ident = _job_id(job_id)
        async with self.sessionmaker.begin() as session:
            result = await session.execute(
                update(T)
                .where(T.c.id == ident, T.c.state == FAILED)
                .values(state=SKIPPED, updated_at=self._now())
            )
            if not getattr(result, "rowcount", 0):
                raise JobNotFound(job_id)


# --- sync state of one product / order ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntitySync:
    """One portal entity of a product (the product, its variations, their prices and stock)."""

    kind: str
    key: str
    state: str  # pending | running | failed | done | skipped
    in_sync: bool  # the portal holds the hash the store wants
    portal_id: int | None
    attempts: int
    error: str | None
    pushed_at: dt.datetime | None
    job_id: int


async def product_sync(session: AsyncSession, product_id: str) -> list[EntitySync]:
    """The outbox rows of a product: its element and those of its variations (``product#char``)."""
    escaped = product_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await session.execute(
        select(
            T.c.id, T.c.kind, T.c.key, T.c.state, T.c.want_hash, T.c.pushed_hash, T.c.portal_id,
            T.c.attempts, T.c.error, T.c.pushed_at,
        )
        .where(or_(T.c.key == product_id, T.c.key.like(escaped + "#%", escape="\\")))
        .order_by(T.c.phase, T.c.kind, T.c.key)
        .limit(500)
    )  # fmt: skip
    return [
        EntitySync(
            kind=r.kind,
            key=r.key,
            state=r.state,
            in_sync=r.pushed_hash is not None and r.pushed_hash == r.want_hash,
            portal_id=r.portal_id,
            attempts=int(r.attempts),
            error=r.error,
            pushed_at=_utc(r.pushed_at),
            job_id=int(r.id),
        )
        for r in rows.all()
    ]


@dataclass(frozen=True, slots=True)
class OrderSync:
    """The invoice an order is linked to, and a 1C change still waiting to be written to it."""

    entity: str | None  # smart | legacy; None: no invoice linked yet
    invoice_id: int | None
    origin: str | None  # b24 | 1c
    state: str | None  # exported | waiting | applying | synced
    reason: str | None
    updated_at: dt.datetime | None
    pending_attempts: int = 0
    pending_error: str | None = None

    @property
    def summary(self) -> str:
        if self.invoice_id is None:
            text = "no Bitrix24 invoice linked"
        else:
            kind = "smart invoice" if self.entity == "smart" else "invoice"
            source = "Bitrix24" if self.origin == "b24" else "1C"
            text = f"{kind} {self.invoice_id} ({self.state}; came from {source})"
            if self.reason:
                text += f": waits: {self.reason}"
        if self.pending_attempts:
            text += f"; a 1C change waits to be written ({self.pending_attempts} attempts"
            text += f", last error: {self.pending_error})" if self.pending_error else ")"
        return text


async def orders_sync(session: AsyncSession, order_ids: Sequence[str]) -> dict[str, OrderSync]:
    """The link and pending state of each of ``order_ids`` that has either (others are absent)."""
    wanted = list(dict.fromkeys(order_ids))
    if not wanted:
        return {}
    found = await session.execute(select(InvoiceLink).where(InvoiceLink.order_id.in_(wanted)))
    links = {r.order_id: r for r in found.scalars()}
    pending = {
        r.order_id: r
        for r in (
            await session.execute(select(InvoicePending).where(InvoicePending.order_id.in_(wanted)))
        ).scalars()
    }
    out: dict[str, OrderSync] = {}
    for order_id in wanted:
        link, waiting = links.get(order_id), pending.get(order_id)
        if link is None and waiting is None:
            continue
        out[order_id] = OrderSync(
            entity=link.entity if link else None,
            invoice_id=link.invoice_id if link else None,
            origin=link.origin if link else None,
            state=link.state if link else None,
            reason=link.reason if link else None,
            updated_at=_utc(link.updated_at) if link else None,
            pending_attempts=waiting.attempts if waiting else 0,
            pending_error=waiting.last_error if waiting else None,
        )
    return out


async def order_sync(session: AsyncSession, order_id: str) -> OrderSync | None:
    return (await orders_sync(session, [order_id])).get(order_id)
