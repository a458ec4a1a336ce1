"""Slots the Bitrix24 side fills in: the outbox (issue 5) and the status map (issue 6).

The admin pages ``/admin/outbox`` and ``/admin/status-map`` render whatever source is registered on
the application before it starts (``app[OUTBOX] = ...``, ``app[STATUS_MAP] = ...``) and show an
explicit "not configured yet" state otherwise; they never invent data. The outbox also feeds the
``cml_outbox_jobs`` gauge through :func:`exchange_server.metrics.set_outbox_depth_source`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from aiohttp import web

__all__ = [
    "OUTBOX",
    "STATUS_MAP",
    "JobNotFound",
    "OutboxJob",
    "OutboxSource",
    "SaveOutcome",
    "StageChoice",
    "StatusMapSource",
    "StatusRow",
]

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
    """One line of the status map as the page edits it (the shape of ``b24_bridge.invoices.StatusRow``):
    a Bitrix24 invoice stage, the site status code and name 1C sees for it, and optionally the 1C
    order status it corresponds to (empty: none)."""

    stage: str
    code: str
    name: str
    status_1c: str = ""


@dataclass(frozen=True, slots=True)
class StageChoice:
    """A stage the portal has, offered as a suggestion next to the stage field."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    """What a save found: errors by row index (into the rows given), errors of the whole map, and
    warnings (which do not block). Saved only when there is no error at all."""

    row_errors: Mapping[int, str] = field(default_factory=dict)
    errors: Sequence[str] = ()
    warnings: Sequence[str] = ()

    @property
    def saved(self) -> bool:
        return not self.row_errors and not self.errors


class StatusMapSource(Protocol):
    async def rows(self) -> Sequence[StatusRow]:
        """The map in force, in display order."""
        ...

    async def stages(self) -> Sequence[StageChoice]:
        """The portal's stages the rows may name."""
        ...

    async def warnings(self) -> Sequence[str]:
        """What the map in force lacks (e.g. a stage no row maps); nothing blocks on it."""
        ...

    async def save(self, rows: Sequence[StatusRow], *, who: str) -> SaveOutcome:
        """Validate ``rows``; when valid, make them the map in force (journaled under ``who``).
        Nothing is saved when any row or the map is bad."""
        ...


OUTBOX = web.AppKey("cml_outbox_source", OutboxSource)
STATUS_MAP = web.AppKey("cml_status_map_source", StatusMapSource)
