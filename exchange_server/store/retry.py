"""Retrying a transaction PostgreSQL aborted because of concurrency (deadlock, serialization failure).

Two imports writing the same rows at once (two 1C nodes sending the same goods, or one node's
``mode=import`` repeated on a second server process) can take row locks in different orders: one
upserts a row the other only touches. PostgreSQL then aborts one transaction with ``deadlock
detected`` (SQLSTATE 40P01). Each importer batch is an idempotent transaction of its own, so running it
again is the standard, correct answer; the other transaction has committed or is about to.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from sqlalchemy.exc import DBAPIError

__all__ = ["RETRY_ATTEMPTS", "TRANSIENT_SQLSTATES", "is_transient", "retry_transient"]

log = logging.getLogger(__name__)

TRANSIENT_SQLSTATES: Final = frozenset({"40P01", "40001"})
"""``deadlock_detected`` and ``serialization_failure``: the transaction may simply be run again."""

RETRY_ATTEMPTS: Final = 6
"""Attempts in all; the waits between them grow 0.05, 0.1, 0.2, 0.4, 0.8 s (with jitter)."""

T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """True for a PostgreSQL error that aborts the transaction only because of a concurrent one."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES


async def retry_transient(
    transaction: Callable[[], Awaitable[T]], *, attempts: int = RETRY_ATTEMPTS, first_wait: float = 0.05
) -> T:
    """Run ``transaction`` (a whole transaction, begun and ended inside) again after a transient abort.

    Raises:
        DBAPIError: a non-transient error at once, a transient one after ``attempts`` tries.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await transaction()
        except DBAPIError as exc:
            if attempt >= attempts or not is_transient(exc):
                raise
            wait = first_wait * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)  # noqa: S311 - jitter only
            log.info(
                "transaction aborted by a concurrent one (%s); attempt %d of %d in %.2f s",
                getattr(exc.orig, "sqlstate", None),
                attempt + 1,
                attempts,
                wait,
            )
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
