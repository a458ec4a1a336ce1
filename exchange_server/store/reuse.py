"""Answering the import of a file whose exact bytes were imported before, without reading it again.

1C re-sends a package unchanged (a retried exchange, a scheduler that sends the whole catalog each
time). Reading 100,000 products again only to find every one unchanged costs as much as the first
import. This module proves from the store that importing the file again would change nothing but the
mark of the new package, and then applies exactly that mark.

Theory of operation
-------------------
What importing a catalog file does to the store (``exchange_server.store.catalog``): every entity it
holds is written when new or changed, else *touched*: ``last_seen_package`` set to the package, and
``active`` set to ``not deleted`` (offers of a prices-only or stock-only file keep ``active`` as it
is); then the file's :class:`~exchange_server.db.tables.ImportScope` rows say which kinds it carried,
as a full or changes-only list, for the sweep at the end of the package.

A successful import of file F in package P0 records F's sha256 (``imported_files``) next to its scope
rows. When the same bytes arrive as file F' in package P, the previous import is reused if:

1. the latest import of these bytes was made with the same row format (:data:`ROW_FORMAT`) and F lies
   in the same folder as F' (image paths are resolved against it);
2. no other file of P0 carried any kind F carried. Then the rows of those kinds marked with P0 are
   exactly the rows F wrote or touched, as long as nothing marked them with another package since;
3. for each kind F carried, the rows still marked with P0 number exactly what F held (counting every
   occurrence). Every import marks each row it writes or touches with its own package, so a row of F
   written or touched by any other package since lowers that count, and a file that lists an Ид
   twice never matches (its rows are fewer than its entries). Only imports write these tables;
4. none of those rows has ``active = deleted``. A sweep deactivates without changing the mark, and
   reading F again would bring such a row back.

Given 1 to 4, each of F's rows holds exactly what F's import left, so reading F again would find
every entity unchanged (its content hash or НомерВерсии equal to what is stored) and only touch it;
the touch would find ``active`` already equal to ``not deleted`` and change only the mark. Reuse
performs that in one statement per kind (``last_seen_package`` P0 -> P, the same rows as the
touches) and records F' with F's scope rows (kinds, counts, changes-only flag) in P, so the sweep at
the end of P, after ``deactivate``, ``complete`` or the last classic file, does exactly what it would
do after a real import, full or changes-only alike.

The checks and the re-marking run in one transaction: on SQLite it holds the write lock from its first
statement; on PostgreSQL a concurrent import that marks one of the rows with its own package between
the check and the update makes the update skip that row, the same end state as if this import had
happened first and the other after it.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from dataclasses import dataclass, field
from typing import Final, cast

from sqlalchemy import Table, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from exchange_server.db import tables
from exchange_server.store.catalog import TABLES, record_scope
from exchange_server.store.dialect import upsert
from exchange_server.store.rows import ROW_FORMAT, Kind

__all__ = ["ImportRecord", "Reused", "record_import", "reuse_import"]

_FILES: Final = cast(Table, tables.ImportedFile.__table__)
_SCOPES: Final = cast(Table, tables.ImportScope.__table__)


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """What a successful import of one file leaves for a later reuse (besides its scope rows)."""

    sha256: str
    size: int
    role: str
    schema_version: str | None
    changes_only: bool | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reused:
    """An import answered from the store: the earlier import it repeats and what that file held."""

    package_id: str
    file: str
    record: ImportRecord
    counts: dict[Kind, int] = field(default_factory=dict)


async def record_import(session: AsyncSession, package_id: str, file: str, record: ImportRecord) -> None:
    """Remember that ``file`` of ``package_id`` was imported in full (same transaction as its scopes)."""
    row = {
        "package_id": package_id,
        "file": file,
        "sha256": record.sha256,
        "size": record.size,
        "row_format": ROW_FORMAT,
        "role": record.role,
        "schema_version": record.schema_version,
        "changes_only": record.changes_only,
        "warnings": list(record.warnings),
        "imported_at": dt.datetime.now(dt.UTC),
    }
    overwritten = [k for k in row if k not in ("package_id", "file")]
    await upsert(session, _FILES, [row], keys=["package_id", "file"], update=overwritten)


async def reuse_import(
    session: AsyncSession, *, sha256: str, size: int, package_id: str, file: str
) -> Reused | None:
    """Mark the rows of an identical earlier import as seen in ``package_id``, if provably the same.

    Returns None (nothing changed) when the file must be read (module docstring, conditions 1 to 4).
    The caller commits.
    """
    found = (
        await session.execute(
            select(_FILES)
            .where(_FILES.c.sha256 == sha256, _FILES.c.size == size)
            .order_by(_FILES.c.imported_at.desc())
            .limit(1)
        )
    ).first()
    if found is None or found.row_format != ROW_FORMAT:
        return None
    if posixpath.dirname(found.file) != posixpath.dirname(file):
        return None
    source = found.package_id
    scopes = (
        await session.execute(
            select(_SCOPES.c.file, _SCOPES.c.kind, _SCOPES.c.count).where(_SCOPES.c.package_id == source)
        )
    ).all()
    counts: dict[Kind, int] = {}
    others: set[str] = set()
    for scope_file, kind, count in scopes:
        if not count:
            continue
        if scope_file == found.file:
            counts[Kind(kind)] = count
        else:
            others.add(kind)
    if any(str(kind) in others for kind in counts):
        return None
    for kind, count in counts.items():
        table = TABLES[kind]
        marked, inconsistent = (
            await session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((table.c.active == table.c.deleted, 1), else_=0)), 0),
                ).where(table.c.last_seen_package == source)
            )
        ).one()
        if marked != count or inconsistent:
            return None
    if source != package_id:
        for kind in counts:
            table = TABLES[kind]
            await session.execute(
                update(table).where(table.c.last_seen_package == source).values(last_seen_package=package_id)
            )
    record = ImportRecord(
        sha256=found.sha256,
        size=found.size,
        role=found.role,
        schema_version=found.schema_version,
        changes_only=found.changes_only,
        warnings=tuple(found.warnings or ()),
    )
    await record_scope(session, package_id, file, dict(counts), found.changes_only)
    await record_import(session, package_id, file, record)
    return Reused(package_id=source, file=found.file, record=record, counts=counts)
