"""Shared fixtures of the exchange server tests: one database fixture, two backends.

Every storage test runs twice (aiohttp's ``params=`` pattern): on a SQLite file in ``tmp_path`` and on
the real PostgreSQL at ``CML_TEST_PG_URL`` (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``).
The schema always comes from the Alembic migrations (``upgrade_schema``), so they are tested on every run:

* SQLite: migrated once per session into a template file, copied for each test.
* PostgreSQL: a database of its own per test session (``cml_test_<random>``, created from the
  server's ``test`` database, dropped at the end), emptied before each test with ``TRUNCATE``.

Use ``sessionmaker`` (or ``engine``/``database_url``) in a test to get both backends. Keep this file
additive: several engineers put shared fixtures here.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from exchange_server.db.engine import make_engine, upgrade_schema

PG_URL = os.environ.get("CML_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
_DEFAULT_REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "real"
REAL_FIXTURES = Path(os.environ.get("CML_REAL_FIXTURES", _DEFAULT_REAL)).resolve()


def real_fixture(name: str) -> Path:
    """A file of the shared real-fixture collection; skips (never under CI) when the collection is absent."""
    path = REAL_FIXTURES / name
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"real fixture {path} missing (CML_REAL_FIXTURES={REAL_FIXTURES}) and CI is set")
        pytest.skip(f"real fixture {path} not available; set CML_REAL_FIXTURES to the collection")
    return path


async def _admin(statement: str) -> None:
    engine = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    asyncio.run(upgrade_schema(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database migrated to head, private to this test session, dropped afterwards."""
    name = f"cml_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to reach the server: refused, auth, DNS
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_URL} unavailable under CI: {exc!r}")
        pytest.skip(f"PostgreSQL at {PG_URL} unavailable: {exc!r}")
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        asyncio.run(upgrade_schema(url))
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database: SQLite file or PostgreSQL (one test, both backends)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "cml.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_truncate_all(url))
    return url


async def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            names = (
                await connection.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                        "AND tablename <> 'alembic_version'"
                    )
                )
            ).scalars()
            quoted = ", ".join(f'"{n}"' for n in names)
            if quoted:
                await connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database (disposed after the test)."""
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory the application would store under ``exchange_server.keys.SESSIONMAKER``."""
    return async_sessionmaker(engine, expire_on_commit=False)
