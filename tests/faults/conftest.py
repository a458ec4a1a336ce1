"""Fixtures of the fault tests: the exchange server's database fixtures (SQLite file and PostgreSQL)."""

from __future__ import annotations

from tests.exchange_server.conftest import (  # noqa: F401  (fixtures shared with the store tests)
    database_url,
    engine,
    postgres_url,
    sessionmaker,
    sqlite_template,
)
