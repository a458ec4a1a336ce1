"""Fixtures of the security tests: the real application on a SQLite copy of the migrated template.

Security behaviour does not depend on the database backend, so these tests run on SQLite only (the
exchange tests cover both backends). ``app_client(**settings)`` builds the server with the given
settings overrides and returns an aiohttp test client; 1C is played by
``tests.exchange_server.exchange_client.Node``.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from exchange_server.app import make_app
from exchange_server.settings import Settings
from tests.exchange_server.conftest import sqlite_template  # noqa: F401  (fixture)

NODE_USER, NODE_PASSWORD = "1c", "node-Secret-7f3a"
ADMIN_USER, ADMIN_PASSWORD = "operator", "admin-Secret-91bc"

AppClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:  # noqa: F811
    path = tmp_path / "cml.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


def security_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "exchange_user": NODE_USER,
        "exchange_password": SecretStr(NODE_PASSWORD),
        "admin_user": ADMIN_USER,
        "admin_password": SecretStr(ADMIN_PASSWORD),
        "step_seconds": 5,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def app_client(aiohttp_client: Any, tmp_path: Path, sqlite_url: str) -> AppClient:
    async def build(**overrides: Any) -> TestClient[Any, Any]:
        client: TestClient[Any, Any] = await aiohttp_client(
            make_app(security_settings(tmp_path, sqlite_url, **overrides))
        )
        return client

    return build
