"""Fixtures of the hostile-input tests: a migrated SQLite file per test (PostgreSQL where it matters)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exchange_server.db.engine import upgrade_schema
from tests.exchange_server.conftest import database_url, postgres_url, sqlite_template  # noqa: F401
from tests.hostile.support import Hostile, hostile_server


@pytest.fixture(scope="session")
def hostile_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile-template") / "template.db"
    asyncio.run(upgrade_schema(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
def sqlite_url(hostile_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "cml.db"
    shutil.copyfile(hostile_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def hostile(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Hostile]:
    """The server on SQLite with the test settings (file_limit 256 KiB, read_timeout 1 s)."""
    async with hostile_server(tmp_path / "srv", sqlite_url, read_timeout=1.0) as running:
        yield running
