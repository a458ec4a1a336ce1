"""Slots the Bitrix24 side fills in: the outbox (issue 5) and the status map (issue 6).

The admin pages ``/admin/outbox`` and ``/admin/status-map`` render whatever source is registered on
the application before it starts (``app[OUTBOX] = ...``, ``app[STATUS_MAP] = ...``) and show an
explicit "not configured yet" state otherwise; they never invent data. The outbox also feeds the
``cml_outbox_jobs`` gauge through :func:`exchange_server.metrics.set_outbox_depth_source`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from aiohttp import web

__all__ = [
    "DIRECTIONS",
    "OUTBOX",
    "STATUS_MAP",
    "JobNotFound",
    "OutboxJob",
    "OutboxSource",
    "StatusMapSource",
    "StatusRow",
]

DIRECTIONS: Final = ("both", "1c_to_b24", "b24_to_1c")
OUTBOX_STATES: Final = ("pending", "failed")


class JobNotFound(LookupError):
    """The outbox has no job with that id (or it is no longer in a state that allows the action)."""


@dataclass(frozen=True, slots=True)
class OutboxJob:
    """One job waiting to go to Bitrix24, as the outbox page lists it."""

    id: str
    action: str  # e.g. "product.upsert", "invoice.update"
    entity_id: str  # the 1C Ид (or Bitrix24 id) the job is about
    state: str  # pending | failed
    attempts: int
    error: str | None
    created_at: dt.datetime | None
    next_attempt_at: dt.datetime | None


class OutboxSource(Protocol):
    async def counts(self) -> Mapping[str, int]:
        """Jobs per state: ``{"pending": n, "failed": m}``."""
        ...

    async def jobs(self, state: str, *, limit: int, offset: int) -> tuple[int, Sequence[OutboxJob]]:
        """One page of jobs in ``state`` (oldest first) and their total."""
        ...

    async def retry(self, job_id: str) -> None:
        """Make a failed job pending again. Raises :class:`JobNotFound`."""
        ...

    async def skip(self, job_id: str) -> None:
        """Give a failed job up for good (kept, marked skipped). Raises :class:`JobNotFound`."""
        ...


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One correspondence between a 1C order status and a Bitrix24 invoice stage."""

    status_1c: str
    stage_b24: str
    direction: str = "both"


class StatusMapSource(Protocol):
    async def rows(self) -> Sequence[StatusRow]:
        """The saved map, in display order."""
        ...

    async def save(self, rows: Sequence[StatusRow]) -> Mapping[int, str]:
        """Validate ``rows``; save them all when valid. Returns the error of each bad row by its index
        (empty: saved). Nothing is saved when any row is bad.
        """
        ...


OUTBOX = web.AppKey("cml_outbox_source", OutboxSource)
STATUS_MAP = web.AppKey("cml_status_map_source", StatusMapSource)
