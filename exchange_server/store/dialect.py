"""The few statements whose SQL differs between SQLite and PostgreSQL, behind one interface.

Callers never branch on the dialect: they call :func:`upsert` / :func:`insert_missing` with a session.
Both dialects spell ``INSERT ... ON CONFLICT (key) DO UPDATE SET col = excluded.col``; SQLAlchemy
has one ``insert`` construct per dialect, chosen here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["insert_missing", "upsert"]

Row = Mapping[str, Any]


def _insert(session: AsyncSession, table: Table) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported database dialect {name!r}")  # make_engine refuses these earlier


async def upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Row],
    *,
    keys: Sequence[str],
    update: Iterable[str],
) -> None:
    """Insert ``rows`` (one executemany round trip); on a key conflict update the ``update`` columns.

    Args:
        keys: the primary-key (or unique) columns the conflict is detected on.
        update: columns overwritten with the new row's value.
    """
    if not rows:
        return
    stmt = _insert(session, table)
    set_: dict[str, Any] = {name: stmt.excluded[name] for name in update}
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)
    await session.execute(stmt, list(rows))


async def insert_missing(
    session: AsyncSession, table: Table, rows: Sequence[Row], *, keys: Sequence[str]
) -> None:
    """Insert the ``rows`` whose key is not stored yet; leave existing rows untouched."""
    if not rows:
        return
    stmt = _insert(session, table).on_conflict_do_nothing(index_elements=list(keys))
    await session.execute(stmt, list(rows))
