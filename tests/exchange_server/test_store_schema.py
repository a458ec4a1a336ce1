"""The schema: migrations equal the models, engine settings, unsupported URLs refused."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

import exchange_server.db
from exchange_server.db.base import Base
from exchange_server.db.engine import UnsupportedDatabase, alembic_config, make_engine, upgrade_schema

# Every module of exchange_server.db registers its tables on Base.metadata (as env.py does); so do the
# outbox's and the invoice bridge's table modules (imported here too, so the test does not depend on
# another test module having imported them first).
for _info in pkgutil.iter_modules(exchange_server.db.__path__, "exchange_server.db."):
    importlib.import_module(_info.name)
importlib.import_module("exchange_server.outbox.tables")
importlib.import_module("b24_bridge.invoices.tables")


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


async def _downgrade(url: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


def _foreign_keys(connection: Connection) -> dict[str, int]:
    inspector = inspect(connection)
    return {t: len(inspector.get_foreign_keys(t)) for t in ("offer_prices", "product_groups", "order_lines")}


async def test_catalog_children_lose_their_foreign_keys_and_keep_their_rows(database_url: str) -> None:
    """Revision 0006 on a database holding rows: rows kept, catalog child foreign keys gone (order lines
    keep theirs); and back."""
    await _downgrade(database_url, "20261123_0005")
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            assert await connection.run_sync(_foreign_keys) == {
                "offer_prices": 1,
                "product_groups": 1,
                "order_lines": 1,
            }
            now = "2026-11-23 00:00:00"
            await connection.execute(
                text(
                    "INSERT INTO offers (id, product_id, active, deleted, content_hash, data, created_at, updated_at)"
                    " VALUES ('o1', 'o1', true, false, 'h', '{}', :now, :now)"
                ),
                {"now": dt.datetime(2026, 11, 23, tzinfo=dt.UTC) if "postgresql" in database_url else now},
            )
            await connection.execute(
                text(
                    "INSERT INTO offer_prices (offer_id, price_type_id, value, updated_at)"
                    " VALUES ('o1', 't1', :value, :now)"
                ),
                {
                    "value": Decimal("12.50") if "postgresql" in database_url else "12.50",
                    "now": dt.datetime(2026, 11, 23, tzinfo=dt.UTC) if "postgresql" in database_url else now,
                },
            )
        await upgrade_schema(database_url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_foreign_keys) == {
                "offer_prices": 0,
                "product_groups": 0,
                "order_lines": 1,
            }
            price = (await connection.execute(text("SELECT value FROM offer_prices WHERE offer_id = 'o1'"))).scalar_one()
            assert str(price) == "12.50"
        await _downgrade(database_url, "20261123_0005")
        await engine.dispose()  # a pooled SQLite connection would read its cached schema
        async with engine.connect() as connection:
            assert (await connection.run_sync(_foreign_keys))["offer_prices"] == 1
    finally:
        await engine.dispose()
        await upgrade_schema(database_url)  # the PostgreSQL database is shared by the session's tests
