"""The schema: migrations equal the models, engine settings, unsupported URLs refused."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

import exchange_server.db
from exchange_server.db.base import Base
from exchange_server.db.engine import UnsupportedDatabase, make_engine, upgrade_schema

# Every module of exchange_server.db registers its tables on Base.metadata (as env.py does).
for _info in pkgutil.iter_modules(exchange_server.db.__path__, "exchange_server.db."):
    importlib.import_module(_info.name)


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_create_exactly_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    assert diff == []


async def test_upgrade_is_idempotent(database_url: str, engine: AsyncEngine) -> None:
    await upgrade_schema(database_url)
    async with engine.connect() as connection:
        version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert version.startswith("2026")


async def test_sqlite_pragmas(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/sub/dir/x.db")
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one() == 30000
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "url", ["sqlite:///x.db", "postgresql://u@h/db", "postgresql+psycopg2://u@h/db", "mysql+aiomysql://u@h/d"]
)
def test_unsupported_urls_refused(url: str) -> None:
    with pytest.raises(UnsupportedDatabase, match="unsupported database URL"):
        make_engine(url)
