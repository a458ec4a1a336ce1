"""Outbox queries: enqueue a plan, claim jobs, acknowledge or fail them, park and retry, status.

Every function takes an open :class:`AsyncSession` inside the caller's transaction and the current
time (UTC, injectable so tests and the virtual clock agree). Claims on PostgreSQL use
``FOR UPDATE SKIP LOCKED``: several server processes drain one outbox and never take the same job.
SQLite has a single writer (``BEGIN IMMEDIATE``), so claims serialise there by themselves.

Ordering: a claim takes jobs of the lowest phase that still has pending or running jobs (sections
before goods, goods before their prices), oldest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import Table, and_, case, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from exchange_server.outbox.tables import DONE, FAILED, PENDING, RUNNING, STATES, OutboxRow

__all__ = [
    "Ack",
    "Claim",
    "ClaimedJob",
    "Failure",
    "PlannedEntity",
    "acknowledge",
    "claim",
    "enqueue",
    "fail",
    "failed_jobs",
    "portal_ids",
    "pushed_hashes",
    "release",
    "release_workers",
    "retry_failed",
    "running_workers",
    "status",
]

T: Table = OutboxRow.__table__  # type: ignore[assignment]
CHUNK: Final = 500
LEASE: Final = dt.timedelta(minutes=10)


class PlannedEntity(Protocol):
    """What :func:`enqueue` needs of a planned target (``b24_bridge.sync.targets.Target``)."""

    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def phase(self) -> int: ...
    @property
    def hash(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    kind: str
    key: str
    phase: int
    hash: str
    payload: Mapping[str, Any]
    portal_id: int | None
    attempts: int


@dataclass(frozen=True, slots=True)
class Claim:
    """The claimed jobs; when none, whether work remains and when the next one becomes due."""

    jobs: list[ClaimedJob]
    remaining: int
    next_due: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Ack:
    id: int
    hash: str
    portal_id: int | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    id: int
    error: str
    attempts: int
    portal_id: int | None = None
    forget_portal_id: bool = False


def _insert(session: AsyncSession) -> Any:
    name = session.get_bind().dialect.name
    return postgresql.insert(T) if name == "postgresql" else sqlite.insert(T)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def pushed_hashes(session: AsyncSession) -> dict[tuple[str, str], str | None]:
    """``(kind, key) -> hash last acknowledged by the portal`` for every known entity."""
    rows = await session.execute(select(T.c.kind, T.c.key, T.c.pushed_hash))
    return {(r.kind, r.key): r.pushed_hash for r in rows}


async def enqueue(session: AsyncSession, targets: Sequence[PlannedEntity], now: dt.datetime) -> int:
    """Insert or refresh one job per target (a job already wanting the same hash is left alone).

    A running job keeps running with its new payload noted; its acknowledgement then leaves it
    pending for the newer hash. Returns the number of targets written.
    """
    if not targets:
        return 0
    for part in _chunks(targets):
        rows = [
            {
                "kind": t.kind,
                "key": t.key,
                "phase": t.phase,
                "want_hash": t.hash,
                "pushed_hash": None,
                "payload": dict(t.payload),
                "portal_id": None,
                "state": PENDING,
                "attempts": 0,
                "not_before": None,
                "error": None,
                "claimed_by": None,
                "claimed_at": None,
                "created_at": now,
                "updated_at": now,
                "pushed_at": None,
            }
            for t in part
        ]
        stmt = _insert(session)
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={
                "phase": new.phase,
                "want_hash": new.want_hash,
                "payload": new.payload,
                "state": case(
                    (T.c.state == RUNNING, RUNNING),
                    (new.want_hash == T.c.pushed_hash, DONE),
                    else_=PENDING,
                ),
                "attempts": case((T.c.state == RUNNING, T.c.attempts), else_=0),
                "not_before": None,
                "error": None,
                "updated_at": new.updated_at,
            },
            where=T.c.want_hash != new.want_hash,
        )
        await session.execute(stmt, rows)
    return len(targets)


async def claim(
    session: AsyncSession, worker: str, limit: int, now: dt.datetime, *, lease: dt.timedelta = LEASE
) -> Claim:
    """Take up to ``limit`` due jobs of the lowest unfinished phase and mark them running."""
    await session.execute(
        update(T)
        .where(T.c.state == RUNNING, T.c.claimed_at < now - lease)
        .values(state=PENDING, claimed_by=None, updated_at=now)
    )
    phase = (
        await session.execute(select(func.min(T.c.phase)).where(T.c.state.in_((PENDING, RUNNING))))
    ).scalar_one_or_none()
    if phase is None:
        return Claim([], 0)
    due = or_(T.c.not_before.is_(None), T.c.not_before <= now)
    query = (
        select(T.c.id, T.c.kind, T.c.key, T.c.phase, T.c.want_hash, T.c.payload, T.c.portal_id, T.c.attempts)
        .where(T.c.state == PENDING, T.c.phase == phase, due)
        .order_by(T.c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = (await session.execute(query)).all()
    if not rows:
        remaining = (
            await session.execute(select(func.count()).where(T.c.state.in_((PENDING, RUNNING))))
        ).scalar_one()
        next_due = (
            await session.execute(
                select(func.min(T.c.not_before)).where(T.c.state == PENDING, T.c.phase == phase)
            )
        ).scalar_one_or_none()
        return Claim([], remaining, _utc(next_due))
    ids = [r.id for r in rows]
    for part in _chunks(ids):
        await session.execute(
            update(T)
            .where(T.c.id.in_(part))
            .values(
                state=RUNNING, claimed_by=worker, claimed_at=now, attempts=T.c.attempts + 1, updated_at=now
            )
        )
    jobs = [
        ClaimedJob(r.id, r.kind, r.key, r.phase, r.want_hash, r.payload, r.portal_id, r.attempts + 1)
        for r in rows
    ]
    return Claim(jobs, len(jobs))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)  # SQLite hands timestamps back naive


async def acknowledge(session: AsyncSession, acks: Sequence[Ack], now: dt.datetime) -> None:
    """The portal holds these hashes now: done, or pending again when a newer plan came in."""
    for ack in acks:
        await session.execute(
            update(T)
            .where(T.c.id == ack.id)
            .values(
                pushed_hash=ack.hash,
                portal_id=T.c.portal_id if ack.portal_id is None else ack.portal_id,
                pushed_at=now,
                updated_at=now,
                state=case((T.c.want_hash == ack.hash, DONE), else_=PENDING),
                attempts=case((T.c.want_hash == ack.hash, 0), else_=T.c.attempts),
                error=None,
                claimed_by=None,
                not_before=None,
            )
        )


def backoff(attempts: int, base: float, ceiling: float) -> dt.timedelta:
    """``base * 2**(attempts-1)``, at most ``ceiling`` seconds."""
    return dt.timedelta(seconds=min(ceiling, base * 2 ** max(0, min(attempts - 1, 30))))


async def fail(
    session: AsyncSession,
    failures: Sequence[Failure],
    now: dt.datetime,
    *,
    max_attempts: int,
    base: float,
    ceiling: float,
) -> None:
    """Record failed attempts: back off, or park (``failed``) after ``max_attempts``."""
    for failure in failures:
        parked = failure.attempts >= max_attempts
        values: dict[str, Any] = {
            "state": FAILED if parked else PENDING,
            "error": failure.error[:4000],
            "not_before": None if parked else now + backoff(failure.attempts, base, ceiling),
            "claimed_by": None,
            "updated_at": now,
        }
        if failure.portal_id is not None:
            values["portal_id"] = failure.portal_id
        elif failure.forget_portal_id:
            values["portal_id"] = None
        await session.execute(update(T).where(T.c.id == failure.id, T.c.state == RUNNING).values(**values))


async def release(session: AsyncSession, ids: Sequence[int], now: dt.datetime) -> None:
    """Hand claimed jobs back untouched (shutdown): pending, the attempt not counted."""
    for part in _chunks(list(ids)):
        await session.execute(
            update(T)
            .where(T.c.id.in_(part), T.c.state == RUNNING)
            .values(state=PENDING, attempts=T.c.attempts - 1, claimed_by=None, updated_at=now)
        )


async def running_workers(session: AsyncSession) -> list[str]:
    """The names in ``claimed_by`` of the jobs running now (to find those of dead workers)."""
    rows = await session.execute(
        select(T.c.claimed_by).where(T.c.state == RUNNING, T.c.claimed_by.is_not(None)).distinct()
    )
    return sorted(str(name) for name in rows.scalars())


async def release_workers(session: AsyncSession, workers: Sequence[str], now: dt.datetime) -> int:
    """Running jobs of these (dead) workers back to pending, due at once; the attempt stays counted
    (a job that kills its worker every time is still parked after ``max_attempts``)."""
    if not workers:
        return 0
    result = await session.execute(
        update(T)
        .where(T.c.state == RUNNING, T.c.claimed_by.in_(list(workers)))
        .values(state=PENDING, claimed_by=None, not_before=None, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def retry_failed(session: AsyncSession, now: dt.datetime, ids: Sequence[int] | None = None) -> int:
    """Parked jobs back to pending with a fresh attempt count; returns how many."""
    where = [T.c.state == FAILED]
    if ids is not None:
        where.append(T.c.id.in_(list(ids)))
    result = await session.execute(
        update(T).where(and_(*where)).values(state=PENDING, attempts=0, not_before=None, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def status(session: AsyncSession) -> dict[str, Any]:
    """``{"pending", "running", "failed", "done", "last_push"}`` (ISO time or null)."""
    rows = await session.execute(select(T.c.state, func.count()).group_by(T.c.state))
    counts = {state: 0 for state in STATES}
    for state, n in rows:
        counts[state] = int(n)
    last = _utc((await session.execute(select(func.max(T.c.pushed_at)))).scalar_one_or_none())
    return {**counts, "last_push": None if last is None else last.isoformat()}


async def failed_jobs(session: AsyncSession, limit: int = 100) -> list[dict[str, Any]]:
    """The parked jobs, oldest first: what the operator must look at."""
    rows = await session.execute(
        select(T.c.id, T.c.kind, T.c.key, T.c.attempts, T.c.error, T.c.updated_at)
        .where(T.c.state == FAILED)
        .order_by(T.c.id)
        .limit(limit)
    )
    return [
        {"id": r.id, "kind": r.kind, "key": r.key, "attempts": r.attempts, "error": r.error} for r in rows
    ]


async def portal_ids(session: AsyncSession, idents: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Known portal ids of ``(kind, key)`` entities (missing: not created yet)."""
    wanted = sorted(set(idents))
    out: dict[tuple[str, str], int] = {}
    for part in _chunks(wanted, 400):
        rows = await session.execute(
            select(T.c.kind, T.c.key, T.c.portal_id).where(
                tuple_(T.c.kind, T.c.key).in_(list(part)), T.c.portal_id.is_not(None)
            )
        )
        out.update({(r.kind, r.key): int(r.portal_id) for r in rows})
    return out
