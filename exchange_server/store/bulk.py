"""Set-based writes of whole batches at the driver level: one statement per table and batch.

The catalog importer writes hundreds of thousands of rows; going through SQLAlchemy Core per row
(bind processors, a parameter dict per row, JSON serialisation) costs more than the database work
itself. This module keeps SQLAlchemy for the connection, the transaction and the error types (every
failure is still a ``sqlalchemy.exc.DBAPIError``) but hands the driver ready row tuples:

* PostgreSQL (asyncpg): one statement per batch. The rows travel as one array per column and the
  statement reads them back with ``unnest`` (``INSERT ... SELECT ... FROM unnest($1::text[], ...)
  ON CONFLICT``, ``UPDATE ... FROM unnest(...)``, ``= ANY($1)``): a single round trip whatever the
  batch size, the arrays encoded by asyncpg's binary codecs.
* SQLite (aiosqlite): inserts are one ``executemany`` of one prepared statement, run in the driver's
  thread (the sqlite3 module binds the tuples in C and releases the GIL while SQLite works). An
  earlier version passed the batch as one JSON array read with ``json_each``: SQLite then parsed each
  row's JSON once per column, and on the 100,000-product catalog the inserts took 1.6x as long.
  Updates and key lists still travel as one JSON array (``json_each``): one statement whatever the
  batch size.

Values are given in their Python types (``str``, ``bool``, ``Decimal``, aware ``datetime``); JSON
columns take the JSON *text* (already serialised by the caller). Conversions the SQLite dialect
needs (exact decimals as text, SQLAlchemy's datetime format) are taken from the column types, so what
is stored reads back exactly as rows written through SQLAlchemy do.

Callers never branch on the dialect. The caller owns the transaction (``session.begin()``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import orjson
from sqlalchemy import JSON, Boolean, Dialect, Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

__all__ = ["Bulk", "Tuple"]

Tuple = tuple[Any, ...]
Converter = Callable[[Any], Any]

SQLITE_CACHE_KIB: Final = 8 * 1024
"""Page cache of a SQLite connection that bulk-writes (default 2 MiB). Every pooled connection that
writes a batch keeps its own cache, so it counts several times towards the server's memory; on the
100,000-product catalog 256 MiB wrote no faster than 32 MiB (random 1C Ид keys defeat any cache)."""

_PRAGMAS_DONE: Final = "cml_bulk_pragmas"


class Bulk:
    """Batch statements on the connection of ``session`` (see the module docstring)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._dialect: Dialect = connection.dialect
        self._pg = self._dialect.name == "postgresql"
        if not self._pg and self._dialect.name != "sqlite":
            raise ValueError(f"unsupported database dialect {self._dialect.name!r}")

    @classmethod
    async def of(cls, session: AsyncSession) -> Bulk:
        """The bulk writer of the session's connection (starting its transaction if needed)."""
        connection = await session.connection()
        bulk = cls(connection)
        if not bulk._pg:
            info = connection.info
            if not info.get(_PRAGMAS_DONE):
                await connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
                await connection.exec_driver_sql("PRAGMA temp_store = MEMORY")
                info[_PRAGMAS_DONE] = True
        return bulk

    @property
    def snapshot_is_locked(self) -> bool:
        """Whether what this transaction read cannot be changed by another writer before it commits.

        True on SQLite: every transaction starts with ``BEGIN IMMEDIATE`` (``db.engine``), so it holds
        the database's write lock from its first statement. False on PostgreSQL (read committed):
        another transaction may insert a row this one has just found missing.
        """
        return not self._pg

    # --- reading -------------------------------------------------------------------------------

    async def select_in(
        self, table: Table, columns: Sequence[str], key: str, ids: Sequence[str]
    ) -> list[Tuple]:
        """``SELECT columns FROM table WHERE key IN ids`` in one statement."""
        if not ids:
            return []
        cols = ", ".join(columns)
        if self._pg:
            sql = f"SELECT {cols} FROM {table.name} WHERE {key} = ANY($1::{self._pg_type(table, key)}[])"
            params: Tuple = (list(ids),)
            result = await self._connection.exec_driver_sql(sql, params)
            return [tuple(r) for r in result.all()]
        # One JSON array for the whole answer: a single sqlite3 step, so the GIL is not handed back
        # and forth with the parser thread once per row.
        sql = (
            f"SELECT json_group_array(json_array({cols})) FROM {table.name} "
            f"WHERE {key} IN (SELECT value FROM json_each(?))"
        )
        result = await self._connection.exec_driver_sql(sql, (_json_text(list(ids)),))
        rows = [tuple(r) for r in orjson.loads(result.scalar_one())]
        converters = [self._result_converter(table, c) for c in columns]
        if any(converters):
            rows = [
                tuple(v if f is None or v is None else f(v) for v, f in zip(row, converters, strict=True))
                for row in rows
            ]
        return rows

    # --- writing -------------------------------------------------------------------------------

    async def insert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[Tuple],
        *,
        consts: Mapping[str, Any] | None = None,
        keys: Sequence[str] = (),
        update: Sequence[str] | None = None,
    ) -> None:
        """Insert ``rows`` (tuples in ``columns`` order), ``consts`` the same for every row.

        Args:
            keys: the conflict target; with ``update=None`` a conflicting row is left alone
                (``DO NOTHING``), else the ``update`` columns are overwritten (``DO UPDATE``).
                Without ``keys`` a conflict is an error.
        """
        if not rows:
            return
        consts = dict(consts or {})
        names = [*columns, *consts]
        conflict = ""
        if keys:
            if update:
                sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in update)
                conflict = f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
            else:
                conflict = f" ON CONFLICT ({', '.join(keys)}) DO NOTHING"
        if self._pg:
            n = len(columns)
            arrays = ", ".join(f"${i + 1}::{self._pg_array(table, c)}" for i, c in enumerate(columns))
            exprs = [f"u.{c}{self._pg_cast(table, c)}" for c in columns]
            exprs += [f"${n + i + 1}::{self._pg_type(table, c)}" for i, c in enumerate(consts)]
            sql = (
                f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(exprs)} "
                f"FROM unnest({arrays}) AS u({', '.join(columns)}){conflict}"
            )
            await self._connection.exec_driver_sql(sql, (*self._columns(rows, n), *consts.values()))
        else:
            marks = ", ".join("?" for _ in names)
            sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks}){conflict}"
            await self._connection.exec_driver_sql(sql, self._sqlite_rows(table, columns, rows, consts))

    async def update(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[Tuple],
        *,
        consts: Mapping[str, Any] | None = None,
        key: str = "id",
    ) -> None:
        """``UPDATE table SET columns[1:], consts WHERE key = columns[0]`` for every row tuple.

        A row whose stored values already equal the new ones is not written at all (no new row
        version on PostgreSQL, no page write on SQLite): re-importing the same data writes nothing.
        """
        if not rows:
            return
        consts = dict(consts or {})
        if columns[0] != key:
            raise ValueError("the first column of an update is its key")
        values = list(columns[1:])
        if self._pg:
            n = len(columns)
            arrays = ", ".join(f"${i + 1}::{self._pg_array(table, c)}" for i, c in enumerate(columns))
            targets = {c: f"u.{c}{self._pg_cast(table, c)}" for c in values}
            targets |= {c: f"${n + i + 1}::{self._pg_type(table, c)}" for i, c in enumerate(consts)}
            sets = ", ".join(f"{c} = {e}" for c, e in targets.items())
            changed = " OR ".join(f"t.{c} IS DISTINCT FROM {e}" for c, e in targets.items())
            sql = (
                f"UPDATE {table.name} AS t SET {sets} FROM unnest({arrays}) AS u({', '.join(columns)}) "
                f"WHERE t.{key} = u.{key} AND ({changed})"
            )
            await self._connection.exec_driver_sql(sql, (*self._columns(rows, n), *consts.values()))
        else:
            names = [*columns, *consts]
            sets = ", ".join(f"{c} = u.{c}" for c in names[1:])
            changed = " OR ".join(f"{table.name}.{c} IS NOT u.{c}" for c in names[1:])
            values_sql = self._sqlite_values(columns, consts)
            sql = (
                f"UPDATE {table.name} SET {sets} FROM (SELECT {values_sql} FROM json_each(?1)) AS u "
                f"WHERE {table.name}.{key} = u.{key} AND ({changed})"
            )
            await self._connection.exec_driver_sql(sql, self._sqlite_params(table, columns, rows, consts))

    async def delete_in(self, table: Table, key: str, ids: Sequence[str]) -> None:
        """``DELETE FROM table WHERE key IN ids`` in one statement."""
        if not ids:
            return
        if self._pg:
            sql = f"DELETE FROM {table.name} WHERE {key} = ANY($1::{self._pg_type(table, key)}[])"
            await self._connection.exec_driver_sql(sql, (list(ids),))
        else:
            sql = f"DELETE FROM {table.name} WHERE {key} IN (SELECT value FROM json_each(?))"
            await self._connection.exec_driver_sql(sql, (_json_text(list(ids)),))

    # --- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _columns(rows: Sequence[Tuple], width: int) -> list[list[Any]]:
        columns = [list(c) for c in zip(*rows, strict=True)]
        if len(columns) != width:
            raise ValueError(f"rows have {len(columns)} values, {width} columns named")
        return columns

    @staticmethod
    def _sqlite_values(columns: Sequence[str], consts: Mapping[str, Any]) -> str:
        """The select list reading one row of the JSON batch (``?1``); constants are ``?2``, ``?3`` ..."""
        exprs = [f"json_extract(value, '$[{i}]') AS {c}" for i, c in enumerate(columns)]
        exprs += [f"?{i + 2} AS {c}" for i, c in enumerate(consts)]
        return ", ".join(exprs)

    def _sqlite_params(
        self, table: Table, columns: Sequence[str], rows: Sequence[Tuple], consts: Mapping[str, Any]
    ) -> Tuple:
        """The whole batch as one JSON array of arrays, then the constants (one sqlite3 step in all)."""
        return (_json_text(self._converted(table, columns, rows, ())), *self._converted_consts(table, consts))

    def _sqlite_rows(
        self, table: Table, columns: Sequence[str], rows: Sequence[Tuple], consts: Mapping[str, Any]
    ) -> Sequence[Tuple]:
        """The rows converted for sqlite3, each followed by the constants (one ``executemany``)."""
        return self._converted(table, columns, rows, self._converted_consts(table, consts))

    def _converted(
        self, table: Table, columns: Sequence[str], rows: Sequence[Tuple], tail: Tuple
    ) -> Sequence[Tuple]:
        """``rows`` with each value converted for SQLite (:meth:`_converter`) and ``tail`` appended."""
        converters = [(i, f) for i, c in enumerate(columns) if (f := self._converter(table, c)) is not None]
        if not converters:
            return [(*row, *tail) for row in rows] if tail else rows
        converted = []
        for row in rows:
            values = list(row)
            for i, f in converters:
                if values[i] is not None:
                    values[i] = f(values[i])
            values.extend(tail)
            converted.append(tuple(values))
        return converted

    def _converted_consts(self, table: Table, consts: Mapping[str, Any]) -> Tuple:
        return tuple(
            v if v is None or (f := self._converter(table, c)) is None else f(v) for c, v in consts.items()
        )

    def _converter(self, table: Table, column: str) -> Converter | None:
        """The SQLite conversion of a Python value (None when the driver takes it as is)."""
        cache_key = (table.name, column)
        try:
            return _SQLITE_CONVERTERS[cache_key]
        except KeyError:
            pass
        kind = table.c[column].type
        converter: Converter | None = None
        if not isinstance(kind, JSON | Boolean):  # JSON arrives as text; sqlite3 stores bool as 0/1
            converter = kind.dialect_impl(self._dialect).bind_processor(self._dialect)
        _SQLITE_CONVERTERS[cache_key] = converter
        return converter

    def _result_converter(self, table: Table, column: str) -> Converter | None:
        cache_key = (table.name, column)
        try:
            return _SQLITE_RESULTS[cache_key]
        except KeyError:
            pass
        kind = table.c[column].type
        converter: Converter | None = None
        if isinstance(kind, Boolean):
            converter = bool
        elif not isinstance(kind, JSON):
            converter = kind.dialect_impl(self._dialect).result_processor(self._dialect, None)
        _SQLITE_RESULTS[cache_key] = converter
        return converter

    def _pg_type(self, table: Table, column: str) -> str:
        kind = table.c[column].type
        if isinstance(kind, JSON):
            return "jsonb"
        return str(kind.compile(dialect=self._dialect))

    def _pg_array(self, table: Table, column: str) -> str:
        if isinstance(table.c[column].type, JSON):
            return "text[]"  # the JSON text travels as text and is cast in the select list
        return f"{self._pg_type(table, column)}[]"

    def _pg_cast(self, table: Table, column: str) -> str:
        return "::jsonb" if isinstance(table.c[column].type, JSON) else ""


def _json_text(value: Any) -> str:
    """A batch or key list as JSON text for SQLite's ``json_each`` (text: a BLOB is not JSON there).

    orjson writes it several times as fast as ``json`` and in one buffer; what it refuses (an int
    beyond 64 bits) goes through ``json``.
    """
    try:
        return orjson.dumps(value).decode("utf-8")
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False)


_SQLITE_CONVERTERS: dict[tuple[str, str], Converter | None] = {}
_SQLITE_RESULTS: dict[tuple[str, str], Converter | None] = {}
