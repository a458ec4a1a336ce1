"""Alembic environment: async, and able to run on a connection handed over by ``upgrade_schema``.

Two ways in:

* programmatic (the server, the tests): :func:`exchange_server.db.engine.upgrade_schema` opens an
  async connection and passes its sync facade in ``config.attributes["connection"]``;
* the ``alembic`` command line with ``sqlalchemy.url`` set: an async engine is created here.

``render_as_batch`` lets future migrations alter tables on SQLite (copy-and-move).
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import async_engine_from_config

import exchange_server.db
from exchange_server.db.base import Base

# Every module of exchange_server.db declaring tables registers them on Base.metadata when imported
# (needed by autogenerate only; upgrades run the revision files).
for _info in pkgutil.iter_modules(exchange_server.db.__path__, "exchange_server.db."):
    importlib.import_module(_info.name)

target_metadata = Base.metadata
config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = async_engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
elif (shared := config.attributes.get("connection")) is not None:
    _run(shared)
else:
    asyncio.run(_run_async())
