"""``retry_transient``: only PostgreSQL's concurrency aborts are retried, and only so often."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from exchange_server.store.retry import is_transient, retry_transient


class _DriverError(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _error(sqlstate: str | None) -> DBAPIError:
    return DBAPIError("UPDATE products ...", None, _DriverError(sqlstate))


def test_transient_means_deadlock_or_serialization_failure_only() -> None:
    assert is_transient(_error("40P01")) and is_transient(_error("40001"))
    assert not is_transient(_error("23505"))  # unique violation: a real error
    assert not is_transient(_error(None))  # SQLite: no SQLSTATE
    assert not is_transient(ValueError("40P01"))


async def test_retried_until_it_succeeds_other_errors_raised_at_once() -> None:
    calls: list[str] = []

    async def flaky() -> str:
        calls.append("x")
        if len(calls) < 3:
            raise _error("40P01")
        return "done"

    assert await retry_transient(flaky, first_wait=0.001) == "done"
    assert len(calls) == 3

    calls.clear()

    async def broken() -> str:
        calls.append("x")
        raise _error("23505")

    with pytest.raises(DBAPIError):
        await retry_transient(broken, first_wait=0.001)
    assert len(calls) == 1


async def test_gives_up_after_the_attempts() -> None:
    calls: list[str] = []

    async def always() -> None:
        calls.append("x")
        raise _error("40001")

    with pytest.raises(DBAPIError):
        await retry_transient(always, attempts=4, first_wait=0.001)
    assert len(calls) == 4
