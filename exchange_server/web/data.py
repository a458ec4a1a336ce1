"""Read queries of the admin pages that the JSON API does not have: the dashboard, catalog search,
a stored package file. No aiohttp here; every function takes an open session and issues a fixed number
of statements.

Case-insensitive search must work for Cyrillic on both backends: PostgreSQL's ``lower()`` does, SQLite's
only folds ASCII, so on SQLite :func:`install_sqlite_casefold` registers ``cml_casefold`` (Python's
``str.casefold``) on every connection and the search uses it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

from sqlalchemy import Table, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from exchange_server.db import tables
from exchange_server.db.journal_tables import ExchangeFile, ExchangePackage, ExchangeSessionRow

__all__ = [
    "CASEFOLD",
    "StoredFile",
    "install_sqlite_casefold",
    "last_errors",
    "recent_session_ids",
    "search_products",
    "stored_file",
]

CASEFOLD: Final = "cml_casefold"
SEARCH_LIMIT: Final = 100
_PRODUCTS = cast(Table, tables.Product.__table__)
_OFFERS = cast(Table, tables.Offer.__table__)


def _casefold(value: object) -> str | None:
    return None if value is None else str(value).casefold()


def install_sqlite_casefold(engine: AsyncEngine) -> None:
    """Register ``cml_casefold(text)`` on every new SQLite connection of ``engine`` (no-op otherwise)."""
    if engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function(CASEFOLD, 1, _casefold, deterministic=True)

    event.listen(engine.sync_engine, "connect", on_connect)


def _fold(session: AsyncSession, column: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return cast(ColumnElement[Any], getattr(func, CASEFOLD)(column))
    return func.lower(column)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_products(
    session: AsyncSession, query: str, *, limit: int = SEARCH_LIMIT, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """Products whose name or article contains ``query`` (any case), or whose Ид (or an offer's Ид or
    article) is ``query``; every product when ``query`` is blank. Ordered by name, then Ид.
    """
    text = query.strip()
    where: list[ColumnElement[bool]] = []
    if text:
        folded = text.casefold() if session.get_bind().dialect.name == "sqlite" else text.lower()
        pattern = _like_pattern(folded)
        offer_match = select(_OFFERS.c.product_id).where(
            or_(_OFFERS.c.id == text, _fold(session, _OFFERS.c.article).like(pattern, escape="\\"))
        )
        where.append(
            or_(
                _PRODUCTS.c.id == text,
                _fold(session, _PRODUCTS.c.name).like(pattern, escape="\\"),
                _fold(session, _PRODUCTS.c.article).like(pattern, escape="\\"),
                _PRODUCTS.c.id.in_(offer_match),
            )
        )
    total = await session.scalar(select(func.count()).select_from(_PRODUCTS).where(*where)) or 0
    offers = (
        select(_OFFERS.c.product_id, func.count().label("offers")).group_by(_OFFERS.c.product_id).subquery()
    )
    rows = await session.execute(
        select(
            _PRODUCTS.c.id,
            _PRODUCTS.c.name,
            _PRODUCTS.c.article,
            _PRODUCTS.c.active,
            _PRODUCTS.c.updated_at,
            offers.c.offers,
        )
        .select_from(_PRODUCTS.outerjoin(offers, offers.c.product_id == _PRODUCTS.c.id))
        .where(*where)
        .order_by(_PRODUCTS.c.name, _PRODUCTS.c.id)
        .limit(limit)
        .offset(offset)
    )
    items = [
        {
            "id": r.id,
            "name": r.name,
            "article": r.article,
            "active": bool(r.active),
            "offers": int(r.offers or 0),
            "updated_at": r.updated_at,
        }
        for r in rows.all()
    ]
    return int(total), items


async def recent_session_ids(session: AsyncSession, kind: str, *, limit: int) -> list[str]:
    """The newest exchange sessions of ``kind`` that got at least as far as ``init``."""
    has_package = select(ExchangePackage.session_id).where(ExchangePackage.kind == kind)
    rows = await session.scalars(
        select(ExchangeSessionRow.id)
        .where(ExchangeSessionRow.kind == kind, ExchangeSessionRow.id.in_(has_package))
        .order_by(ExchangeSessionRow.created_at.desc())
        .limit(limit)
    )
    return list(rows.all())


async def last_errors(session: AsyncSession, *, limit: int = 10) -> list[dict[str, Any]]:
    """The newest failures: sessions that ended in an error and files whose import failed."""
    failed_sessions = await session.execute(
        select(
            ExchangeSessionRow.id,
            ExchangeSessionRow.kind,
            ExchangeSessionRow.error,
            ExchangeSessionRow.updated_at,
        )
        .where(ExchangeSessionRow.error.is_not(None))
        .order_by(ExchangeSessionRow.updated_at.desc())
        .limit(limit)
    )
    failed_files = await session.execute(
        select(
            ExchangePackage.session_id,
            ExchangePackage.kind,
            ExchangeFile.name,
            ExchangeFile.import_error,
            ExchangeFile.import_finished_at,
        )
        .join(ExchangePackage, ExchangePackage.id == ExchangeFile.package_id)
        .where(ExchangeFile.import_error.is_not(None))
        .order_by(ExchangeFile.import_finished_at.desc())
        .limit(limit)
    )
    errors = [
        {"session_id": r.id, "kind": r.kind, "file": None, "error": r.error, "at": r.updated_at}
        for r in failed_sessions.all()
    ]
    errors += [
        {"session_id": r.session_id, "kind": r.kind, "file": r.name, "error": r.import_error,
         "at": r.import_finished_at}
        for r in failed_files.all()
    ]  # fmt: skip
    seen: set[tuple[str, str | None, str]] = set()
    unique = []
    for e in sorted(errors, key=lambda e: str(e["at"] or ""), reverse=True):
        key = (e["session_id"], e["file"], e["error"])
        if key not in seen:
            seen.add(key)
            unique.append(e)
    return unique[:limit]


@dataclass(frozen=True, slots=True)
class StoredFile:
    path: Path
    name: str
    size: int


async def stored_file(
    session: AsyncSession, session_id: str, package_id: str, name: str
) -> StoredFile | None:
    """A file of a package of ``session_id`` as it lies on disk; None when unknown, gone, or outside the
    package directory (a journal row never lets the download leave it).
    """
    row = await session.execute(
        select(ExchangePackage.directory, ExchangeFile.name)
        .join(ExchangeFile, ExchangeFile.package_id == ExchangePackage.id)
        .where(
            ExchangePackage.id == package_id,
            ExchangePackage.session_id == session_id,
            ExchangeFile.name == name,
        )
    )
    found = row.first()
    if found is None:
        return None
    return await asyncio.to_thread(_locate, found.directory, found.name)


def _locate(directory: str, name: str) -> StoredFile | None:
    root = Path(directory).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return StoredFile(path=path, name=path.name, size=path.stat().st_size)
