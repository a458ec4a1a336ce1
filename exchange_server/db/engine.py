"""Engine construction and schema upgrades for SQLite (aiosqlite) and PostgreSQL (asyncpg).

Not the tables (``tables.py``) and not the queries (``exchange_server.store``). Nothing here runs at
import time: callers build one engine per application (``cleanup_ctx``) and dispose of it.

SQLite is tuned for one process with several concurrent sessions (several 1C nodes, the importer and
the operator API at once):

* ``journal_mode=WAL`` so readers never block the writer and vice versa;
* ``foreign_keys=ON`` (off by default in SQLite);
* ``busy_timeout`` so a second writer waits for the lock instead of failing at once;
* every transaction starts with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes
  can fail with ``SQLITE_BUSY`` without waiting (the busy handler is not called when upgrading a read
  snapshot to a write lock). Taking the write lock up front makes concurrent writers queue instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = [
    "POOL_TIMEOUT_SECONDS",
    "SQLITE_BUSY_TIMEOUT_MS",
    "UnsupportedDatabase",
    "alembic_config",
    "make_engine",
    "upgrade_schema",
]

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
"""How long a SQLite writer waits for another writer's lock before giving up."""

POOL_TIMEOUT_SECONDS: Final = 300
"""How long a request waits for a free PostgreSQL connection (SQLAlchemy's default: 30 s). In a burst
(hundreds of 1C uploads at once, tests/load) requests queue for the pool; past 30 s they failed with
"QueuePool limit ... reached". Waiting is the better answer: 1C waits minutes for a reply, while a
failure postpones its orders to the next scheduled exchange."""

MIGRATIONS_LOCATION: Final = "exchange_server:migrations"
"""Alembic script location as a package resource, so the migrations ship inside the wheel."""

_MIGRATION_LOCK_KEY: Final = 0x1C0E_C4A6
"""PostgreSQL advisory lock taken while migrating: two servers starting at once migrate one by one."""

SUPPORTED_DRIVERS: Final = ("sqlite+aiosqlite", "postgresql+asyncpg")


class UnsupportedDatabase(ValueError):
    """The database URL names a backend or driver the exchange node does not run on."""


def _check_url(url: str | URL) -> URL:
    parsed = make_url(url)
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise UnsupportedDatabase(
            f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
            f"use one of {', '.join(d + '://' for d in SUPPORTED_DRIVERS)}"
        )
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for ``url``.

    Args:
        url: ``sqlite+aiosqlite:///path/to/file.db`` or ``postgresql+asyncpg://user@host/db``.
        **kwargs: passed on to :func:`sqlalchemy.ext.asyncio.create_async_engine` (``echo``, pool sizes).

    Returns:
        The engine; the caller disposes of it (``await engine.dispose()``).

    Raises:
        UnsupportedDatabase: any other driver (``sqlite://`` without aiosqlite, ``psycopg2`` ...).
    """
    parsed = _check_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, **kwargs)
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_timeout", POOL_TIMEOUT_SECONDS)
    return create_async_engine(parsed, **kwargs)


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (the "begin" hook below); the sqlite3 module's own
        # implicit BEGIN would be deferred. Documented recipe: SQLAlchemy "pysqlite/aiosqlite
        # serializable isolation / savepoints / transactional DDL".
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_LOCATION)
    if url is not None:
        rendered = make_url(url).render_as_string(hide_password=False)
        # ConfigParser interpolation: a literal '%' in a password must be doubled.
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def _upgrade_on(connection: Connection, config: Config, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade_schema(url: str | URL, revision: str = "head") -> None:
    """Create or upgrade the schema at ``url`` to ``revision`` with the packaged Alembic migrations.

    Runs inside one transaction on the caller's event loop (Alembic's "connection sharing" recipe:
    env.py uses the connection found in ``config.attributes``). Idempotent: at head it does nothing.

    Raises:
        UnsupportedDatabase: the URL is not SQLite+aiosqlite or PostgreSQL+asyncpg.
        sqlalchemy.exc.SQLAlchemyError: the database cannot be reached or a migration failed.
    """
    parsed = _check_url(url)
    engine = make_engine(parsed)
    try:
        config = alembic_config(parsed)
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_on, config, revision)
    finally:
        await engine.dispose()
