"""The outbox table: one row per portal entity (``kind``, ``key``), which is also its job.

Declarations only (queries in ``exchange_server.outbox.queue``; schema in migration 20261123_0003).
A row is *in sync* when ``pushed_hash == want_hash``; planning writes ``want_hash``/``payload`` and
sets ``state='pending'``; a worker claims it (``running``), and either acknowledges the hash it
pushed (``done``, or ``pending`` again when a newer plan arrived meanwhile) or records a failure
(``pending`` with ``not_before`` backoff, ``failed`` = parked after N attempts, with ``error``).
``portal_id`` is the entity's id in the portal once known: the store keeps it, so later pushes
update instead of looking up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from sqlalchemy import DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exchange_server.db.base import Base
from exchange_server.db.tables import ID_LENGTH, JsonData

__all__ = ["FAILED", "DONE", "PENDING", "RUNNING", "STATES", "OutboxRow"]

PENDING: Final = "pending"
RUNNING: Final = "running"
DONE: Final = "done"
FAILED: Final = "failed"
STATES: Final = (PENDING, RUNNING, FAILED, DONE)


class OutboxRow(Base):
    __tablename__ = "b24_outbox"
    __table_args__ = (
        UniqueConstraint("kind", "key"),
        Index("ix_b24_outbox_claim", "state", "phase", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(ID_LENGTH))
    phase: Mapped[int] = mapped_column(Integer)
    want_hash: Mapped[str] = mapped_column(String(64))
    pushed_hash: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[Any] = mapped_column(JsonData)
    portal_id: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    pushed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
